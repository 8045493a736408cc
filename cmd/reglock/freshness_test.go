package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Freshness mode on the real service: with no cron sweep at all, the
// domains an import just added (recently changed, so at risk) are read
// within the at-risk interval, a drift behind reglock's back is found,
// confirmed and fixed by a pass, the passes are in the sweeps' list with
// what their reads cost, and the compliance report and the metrics say
// whether the account's budget covers its inventory.
func TestE2E_freshness(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "scheduler:\n  sweep: \"\"\n  freshness: 1m\n  confirm_delay: 200ms\n")
	for i := range 12 {
		e.enom.AddDomain(fmt.Sprintf("fresh%02d.com", i), true)
	}
	if out, err := e.run("import", "--provider", "enom-main", "--adopt"); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	e.sim.SetLocked("fresh03.com", false) // behind reglock's back
	p := e.start("serve")
	e.eventually("the freshness pass to fix the drift", 60*time.Second, func() bool {
		l, _ := e.sim.Locked("fresh03.com")
		return l && e.inSync("fresh03.com", true)
	})
	var pass map[string]any
	e.eventually("a finished freshness pass in the sweeps' list", 20*time.Second, func() bool {
		code, out := e.http("GET", "/v1/sweeps?state=done")
		if code != 200 {
			return false
		}
		sweeps, _ := out["sweeps"].([]any)
		for _, s := range sweeps {
			s := s.(map[string]any)
			if s["trigger"] == "freshness" && s["checked"].(float64) > 0 {
				pass = s
				return true
			}
		}
		return false
	})
	per := pass["per_provider"].(map[string]any)["enom-main"].(map[string]any)
	// eNom lists its locks (GetAllDomains): a page for the twelve.
	if calls, checked := per["calls"].(float64), per["checked"].(float64); calls < 1 || calls >= checked {
		t.Errorf("a pass took %v registrar calls for %v domains, want a listing's few: %v", calls, checked, pass)
	}
	code, out := e.http("GET", "/v1/compliance")
	if code != 200 {
		t.Fatalf("compliance: %d %v", code, out)
	}
	var fresh map[string]any
	for _, p := range out["providers"].([]any) {
		if p := p.(map[string]any); p["provider"] == "enom-main" {
			fresh, _ = p["freshness"].(map[string]any)
		}
	}
	if fresh == nil || fresh["period"] != "1m0s" || fresh["short"] != false || !strings.Contains(fresh["message"].(string), "12 domains") {
		t.Errorf("compliance freshness: %v", fresh)
	}
	metrics := e.metrics()
	for _, want := range []string{`reglock_oldest_reading_age_seconds{provider="enom-main"}`, `reglock_freshness_cover_seconds{provider="enom-main"}`,
		`reglock_freshness_period_seconds{provider="enom-main"} 60`, `reglock_sweep_registrar_calls_total{provider="enom-main"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if !strings.Contains(p.out.String(), "freshness: every domain read once per period") {
		t.Errorf("the start of freshness mode is not in the log:\n%s", p.out.String())
	}
}

// metrics reads the service's /metrics.
func (e *e2e) metrics() string {
	e.t.Helper()
	resp, err := http.Get("http://" + e.api + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
