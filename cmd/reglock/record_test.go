package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/providers/simulator"
)

// The record, end to end on a running service: a domain's history (who
// asked, with which token, why; drift and its fix; forgetting), the richer
// status, sweeps as records with their reports, and the compliance
// summary, through the API and each CLI command, in both CLI modes.
func TestE2E_theRecord(t *testing.T) {
	t.Parallel()
	hook := newWebhook(t)
	e := newE2E(t, `  - name: enom-two
    type: enom
    endpoint: {{SIM}}/enom/interface.asp
    username: other
    password: other-password
`, hook.config("drift_confirmed, drift_fixed, sweep_finished"))
	e.sim.AddAccount(simulator.ENom, "other", "other-password")
	for i := range 10 {
		e.enom.AddDomain(fmt.Sprintf("owned%02d.com", i), true)
	}
	if out, err := e.run("import", "--provider", "enom-main", "--adopt"); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	e.start("serve")
	e.eventually("the API", 15*time.Second, e.apiUp)
	viaAPI := []string{"--api", "http://" + e.api, "--token", e.token}
	cli := func(args ...string) string {
		t.Helper()
		out, err := e.run(args...)
		if err != nil {
			t.Fatalf("reglock %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}

	// An unlock through the API with the CLI: recorded under the token's
	// name, not a self-asserted identity.
	cli(append([]string{"unlock", "owned01.com", "--reason", "ticket 42", "--relock-after", "1h"}, viaAPI...)...)
	var h client.History
	if err := json.Unmarshal([]byte(cli(append([]string{"history", "owned01.com", "--format", "json"}, viaAPI...)...)), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Events) != 2 {
		t.Fatalf("history of owned01.com: %+v", h.Events)
	}
	if in := h.Events[0]; in.Kind != "intent" || in.Intent != "unlock" || in.Token != "billing" || in.RequestedBy != "token:billing" ||
		in.Reason != "ticket 42" || in.Generation != 2 || in.RelockAt == nil {
		t.Fatalf("the unlock's history entry: %+v", in)
	}
	if imp := h.Events[1]; imp.Kind != "intent" || imp.Intent != "lock" || imp.Generation != 1 {
		t.Fatalf("the import's history entry: %+v", imp)
	}
	e.eventually("the unlock to converge", 15*time.Second, func() bool { return e.inSync("owned01.com", false) })
	// The richer status: who asked and why, and the relock ahead.
	var d client.Domain
	if err := json.Unmarshal([]byte(cli("status", "owned01.com", "--json")), &d); err != nil {
		t.Fatal(err)
	}
	if d.Intent == nil || d.Intent.Token != "billing" || d.Intent.Reason != "ticket 42" || d.Relock == nil || d.Relock.State != "scheduled" {
		t.Fatalf("status of owned01.com: intent %+v relock %+v", d.Intent, d.Relock)
	}
	table := cli("status", "owned01.com")
	for _, want := range []string{"asked by:    token:billing (token billing)", "reason:      ticket 42", "relock:", "(scheduled)"} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}
	// In --config mode the CLI's identity is the token.
	cli("lock", "owned02.com", "--reason", "audit", "--requested-by", "alice@example.com")
	hist := cli("history", "owned02.com")
	if !strings.Contains(hist, "alice@example.com [token cli:"+os.Getenv("USER")) || !strings.Contains(hist, "audit") {
		t.Fatalf("history table of owned02.com:\n%s", hist)
	}

	// Another provider for a domain in the inventory: 409, nothing recorded.
	out, err := e.run(append([]string{"lock", "owned03.com", "--provider", "enom-two"}, viaAPI...)...)
	if err == nil || !strings.Contains(out, "provider_conflict") || !strings.Contains(out, `"enom-main"`) {
		t.Fatalf("lock with another provider: %v\n%s", err, out)
	}
	if n := strings.Count(cli("history", "owned03.com", "--format", "csv"), "\n"); n != 2 {
		t.Fatalf("a refused request changed owned03.com's history (%d lines)", n)
	}

	// Drift behind reglock's back: a sweep finds and fixes it; the report,
	// the list and the domain's history say so.
	e.sim.SetLocked("owned04.com", false)
	out = cli("sweep")
	id := strings.Fields(out)[1]
	e.eventually("sweep "+id+" to finish", 20*time.Second, func() bool {
		st, err := e.client().Sweep(context.Background(), id)
		return err == nil && st.State == "done"
	})
	e.eventually("the fix", 15*time.Second, func() bool { l, _ := e.sim.Locked("owned04.com"); return l })
	// The drift and its fix were notified, signed, once each.
	e.eventually("the notifications", 15*time.Second, func() bool {
		return len(hook.Heard("drift_confirmed owned04.com")) == 1 && len(hook.Heard("drift_fixed owned04.com")) == 1 &&
			len(hook.Heard("sweep_finished ")) == 1
	})
	var list client.SweepList
	if err := json.Unmarshal([]byte(cli(append([]string{"sweep", "list", "--format", "json", "--state", "done"}, viaAPI...)...)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Sweeps) != 1 || list.Sweeps[0].SweepID != id || list.Sweeps[0].Drifted != 1 {
		t.Fatalf("sweep list: %+v (want %s)", list.Sweeps, id)
	}
	if paused, err := e.client().Sweeps(context.Background(), "paused", ""); err != nil || len(paused.Sweeps) != 0 {
		t.Fatalf("paused sweeps: %+v %v", paused, err)
	}
	e.eventually("the report to say fixed", 15*time.Second, func() bool {
		rows, err := csv.NewReader(strings.NewReader(cli("sweep", "report", id, "--format", "csv"))).ReadAll()
		return err == nil && len(rows) == 2 && strings.Join(rows[1][:5], ",") == "owned04.com,enom-main,unlocked,locked,fixed"
	})
	if rep := cli("sweep", "report", id); !strings.Contains(rep, "owned04.com") || !strings.Contains(rep, "fixed") {
		t.Fatalf("sweep report table:\n%s", rep)
	}
	if err := json.Unmarshal([]byte(cli("history", "owned04.com", "--format", "json")), &h); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ev := range h.Events {
		kinds = append(kinds, ev.Kind+":"+ev.Cause)
	}
	if strings.Join(kinds, " ") != "change:sweep drift:sweep intent:" {
		t.Fatalf("history of owned04.com: %v", kinds)
	}

	// Compliance: ten domains, all but the unlocked one's window read in
	// their desired state after the sweep; one window open.
	var c client.Compliance
	if err := json.Unmarshal([]byte(cli("compliance", "--format", "json")), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.Providers) != 2 || c.Providers[0].Provider != "enom-main" || c.Providers[1].Domains != 0 {
		t.Fatalf("compliance: %+v", c.Providers)
	}
	if p := c.Providers[0]; p.Domains != 10 || p.WindowsOpen != 1 || p.NeverRead != 0 || p.OldestReading == nil || p.InDesiredState < 9 {
		t.Fatalf("compliance of enom-main: %+v", p)
	}
	if tbl := cli("compliance"); !strings.Contains(tbl, "enom-main") || !strings.Contains(tbl, "IN DESIRED STATE") {
		t.Fatalf("compliance table:\n%s", tbl)
	}

	// Forgetting: admin only, recorded in the history, gone from the inventory.
	if out := cli(append([]string{"forget", "owned09.com", "--reason", "expired"}, viaAPI...)...); !strings.Contains(out, "forgot owned09.com (provider enom-main)") {
		t.Fatalf("forget: %s", out)
	}
	if _, err := e.domain("owned09.com"); !isAPIError(err, 404, "not_found") {
		t.Fatalf("a forgotten domain answers %v", err)
	}
	if err := json.Unmarshal([]byte(cli("history", "owned09.com", "--format", "json")), &h); err != nil {
		t.Fatal(err)
	}
	if f := h.Events[0]; f.Kind != "forgotten" || f.Reason != "expired" || f.Token != "billing" {
		t.Fatalf("forgotten entry: %+v", f)
	}
	if out, err := e.run("forget", "owned09.com"); err == nil || !strings.Contains(out, "not in the inventory") {
		t.Fatalf("forgetting twice: %v\n%s", err, out)
	}
	// The record ships out of Redis as JSON lines, forgotten domains
	// included; a state file makes the next run start where this one did.
	state := t.TempDir() + "/audit.state"
	jsonLines := func(out string) []string {
		var ls []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "{") { // the count goes to stderr
				ls = append(ls, l)
			}
		}
		return ls
	}
	lines := jsonLines(cli("audit", "export", "--state-file", state))
	seen := map[string]bool{}
	for _, l := range lines {
		var ev struct {
			Domain string `json:"domain"`
			Kind   string `json:"kind"`
			Token  string `json:"token"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("export line %q: %v", l, err)
		}
		seen[ev.Domain+" "+ev.Kind+" "+ev.Token] = true
	}
	for _, want := range []string{"owned01.com intent billing", "owned09.com forgotten billing", "owned04.com drift ", "owned04.com change "} {
		if !seen[want] {
			t.Errorf("audit export lacks %q (%d lines)", want, len(lines))
		}
	}
	cli(append([]string{"lock", "owned05.com", "--reason", "after the export"}, viaAPI...)...)
	if next := jsonLines(cli("audit", "export", "--state-file", state)); len(next) != 1 || !strings.Contains(next[0], `"reason":"after the export"`) {
		t.Fatalf("second export from the state file: %q", next)
	}

	// Bad input is named.
	if out, err := e.run("history", "owned01.com", "--format", "xml"); err == nil || !strings.Contains(out, `--format: "xml"`) {
		t.Fatalf("history --format xml: %v\n%s", err, out)
	}
	if _, err := e.client().History(context.Background(), "owned01.com", "bogus", 0); apiError(err) == nil ||
		apiError(err).Status != 400 || !strings.Contains(apiError(err).Message, "cursor") {
		t.Fatalf("bad cursor: %v", err)
	}
}
