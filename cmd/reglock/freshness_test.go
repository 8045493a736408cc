package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
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
	var pass client.Sweep
	e.eventually("a finished freshness pass in the sweeps' list", 20*time.Second, func() bool {
		list, err := e.client().Sweeps(context.Background(), "done", "")
		if err != nil {
			return false
		}
		for _, s := range list.Sweeps {
			if s.Trigger == "freshness" && s.Checked > 0 {
				pass = s
				return true
			}
		}
		return false
	})
	per, ok := pass.PerProvider["enom-main"]
	if !ok {
		t.Fatalf("a pass without enom-main's counts: %+v", pass)
	}
	// eNom lists its locks (GetAllDomains): a page for the twelve.
	if per.Calls < 1 || per.Calls >= per.Checked {
		t.Errorf("a pass took %d registrar calls for %d domains, want a listing's few: %+v", per.Calls, per.Checked, pass)
	}
	comp, err := e.client().Compliance(context.Background())
	if err != nil {
		t.Fatalf("compliance: %v", err)
	}
	var fresh *client.Freshness
	for _, p := range comp.Providers {
		if p.Provider == "enom-main" {
			fresh = p.Freshness
		}
	}
	if fresh == nil || fresh.Period != "1m0s" || fresh.Short || !strings.Contains(fresh.Message, "12 domains") {
		t.Errorf("compliance freshness: %+v", fresh)
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
