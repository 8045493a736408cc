package sweep

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/store"
)

// queuedFixes is a FixQueue that remembers what it queued.
type queuedFixes struct{ got []string }

func (q *queuedFixes) QueueFix(_ context.Context, d reconcile.Drift) (bool, error) {
	q.got = append(q.got, d.Domain)
	return true, nil
}

// A sweep's report lists every drifted domain with its outcome: fixed once
// it reads back in sync, queued until then, an error the fix met, moved on
// when its intent changed, held for an operator, unfixable with the reason.
func TestReport_outcomes(t *testing.T) {
	env := redistest.New(t)
	ctx := context.Background()
	r := New(env.Client, env.StorePrefix())
	now := time.Now()
	run := func(id string, fixes []Fix, unfixable []Unfixable, checked map[string]int64) {
		t.Helper()
		if _, err := r.Create(ctx, id, Options{}, now); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Plan(ctx, id, StageBulk, []string{"b:all"}); err != nil {
			t.Fatal(err)
		}
		tally := Tally{}
		for p, n := range checked {
			tally.Add(p).Checked = n
		}
		for _, u := range unfixable {
			c := tally.Add(u.Provider)
			c.Drifted++
			c.Unfixable++
		}
		if _, _, err := r.Commit(ctx, id, "b:all", "", "", true, tally, Found{Unfixable: unfixable}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Plan(ctx, id, StageConfirm, []string{"k:all"}); err != nil {
			t.Fatal(err)
		}
		tally = Tally{}
		for _, f := range fixes {
			tally.Add(f.Provider).Drifted++
		}
		if _, _, err := r.Commit(ctx, id, "k:all", "", "", true, tally, Found{Fixes: fixes}); err != nil {
			t.Fatal(err)
		}
	}
	fixes := []Fix{
		{Domain: "fixed.com", Provider: "enom", Lock: true, Generation: 3},
		{Domain: "queued.com", Provider: "enom", Lock: true, Generation: 1},
		{Domain: "failed.com", Provider: "enom", Lock: true, Generation: 1},
		{Domain: "moved.com", Provider: "enom", Lock: true, Generation: 1},
		{Domain: "held.net", Provider: "opensrs", Lock: true, Generation: 2},
		{Domain: "held2.net", Provider: "opensrs", Lock: true, Generation: 2},
	}
	unfixable := []Unfixable{{Fix: Fix{Domain: "registry.com", Provider: "enom", Lock: false, Generation: 1}, Why: "the registry holds its own lock"}}
	run("s1", fixes, unfixable, map[string]int64{"enom": 100, "opensrs": 4})
	q := &queuedFixes{}
	st, err := r.Finalize(ctx, "s1", Guard{MaxDriftShare: 0.1}, q, now)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != StatePaused || st.Paused["opensrs"] == "" || len(q.got) != 4 {
		t.Fatalf("finalized: %+v, queued %v", st, q.got)
	}
	// The guard's hint names the sweep.
	if want := "reglock sweep apply s1"; !strings.Contains(st.Paused["opensrs"], want) {
		t.Fatalf("paused reason %q lacks %q", st.Paused["opensrs"], want)
	}
	at := now
	domains := map[string]store.Domain{
		"fixed.com":  {Name: "fixed.com", Desired: store.Desired{Provider: "enom", Locked: true, Generation: 3}, Observed: store.Observed{Known: true, Locked: true, CheckedAt: at}},
		"queued.com": {Name: "queued.com", Desired: store.Desired{Provider: "enom", Locked: true, Generation: 1}, Observed: store.Observed{Known: true, Locked: false, CheckedAt: at}},
		"failed.com": {Name: "failed.com", Desired: store.Desired{Provider: "enom", Locked: true, Generation: 1}, Observed: store.Observed{Error: "eNom: domain not found"}},
		"moved.com":  {Name: "moved.com", Desired: store.Desired{Provider: "enom", Locked: false, Generation: 2}},
		"held.net":   {Name: "held.net", Desired: store.Desired{Provider: "opensrs", Locked: true, Generation: 2}},
		"held2.net":  {},
	}
	get := func(_ context.Context, names []string) ([]store.Domain, error) {
		out := make([]store.Domain, len(names))
		for i, n := range names {
			out[i] = domains[n]
		}
		return out, nil
	}
	_, entries, err := r.Report(ctx, "s1", get)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"failed.com": OutcomeError, "fixed.com": OutcomeFixed, "held.net": OutcomeHeld, "held2.net": OutcomeHeld,
		"moved.com": OutcomeMovedOn, "queued.com": OutcomeQueued, "registry.com": OutcomeUnfixable}
	if len(entries) != len(want) {
		t.Fatalf("report: %+v", entries)
	}
	for i, e := range entries {
		if want[e.Domain] != e.Outcome {
			t.Errorf("%s: outcome %q, want %q (%s)", e.Domain, e.Outcome, want[e.Domain], e.Detail)
		}
		if i > 0 && entries[i-1].Domain >= e.Domain {
			t.Errorf("report not sorted at %s", e.Domain)
		}
	}
	// The unfixable entry is reported, never queued as a fix.
	if fx, err := r.Fixes(ctx, "s1"); err != nil || len(fx) != len(fixes) {
		t.Fatalf("Fixes = %d, %v", len(fx), err)
	}

	// A dry run reports; the list is newest first and filters by state.
	if _, err := r.Create(ctx, "s2", Options{DryRun: true}, now.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	page, err := r.List(ctx, "", "", 1)
	if err != nil || len(page.Sweeps) != 1 || page.Sweeps[0].ID != "s2" || page.Next != "s2" {
		t.Fatalf("List page 1 = %+v, %v", page, err)
	}
	page, err = r.List(ctx, "", page.Next, 1)
	if err != nil || len(page.Sweeps) != 1 || page.Sweeps[0].ID != "s1" || page.Next != "" {
		t.Fatalf("List page 2 = %+v, %v", page, err)
	}
	if page, _ := r.List(ctx, StatePaused, "", 10); len(page.Sweeps) != 1 || page.Sweeps[0].ID != "s1" {
		t.Fatalf("paused sweeps = %+v", page.Sweeps)
	}
	if _, err := r.List(ctx, "", "nosuch", 10); err == nil {
		t.Fatal("a bad cursor was accepted")
	}
}
