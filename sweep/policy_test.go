package sweep

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/store"
)

// A domain the registry keeps locked by policy (its transfer lock after a
// registration or a transfer) while its intent is unlocked is reported
// "locked by policy until T", not as drift; the same domain without a
// policy window is unfixable drift.
func TestRunner_policyLockIsNotDrift(t *testing.T) {
	env := redistest.New(t)
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC))
	st := store.New(env.Client, env.StorePrefix())
	for _, d := range []string{"new.com", "old.com"} {
		if _, _, err := st.Fold(ctx, store.Change{Domain: d, Kind: store.KindUnlock, Provider: "single", RequestedAt: clk.Now().Add(-48 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	reg := &fakeRegistrars{clock: clk, attempts: map[string]uint64{}, accounts: []Account{{Name: "single"}},
		locked: map[string]bool{"new.com": true, "old.com": true}, owner: map[string]string{"new.com": "single", "old.com": "single"},
		byRegistry: map[string]bool{"new.com": true, "old.com": true}, flap: map[string]bool{}, broken: map[string]bool{},
		reads: map[string]int{}, unlisted: map[string]bool{}}
	const why = "locked by policy (transfer lock after registration) until 2027-01-31T03:00:00Z"
	q := &taskQueue{rng: rand.New(rand.NewPCG(1, 2)), seen: map[string]bool{}}
	r := &Runner{Records: New(env.Client, env.StorePrefix()), Inventory: st, Registrars: reg, Queue: q, Fixes: &fixes{got: map[string]bool{}},
		Guard: Guard{MaxDriftShare: 1}, Log: zerolog.Nop(), Clock: clk,
		PolicyLock: func(_ context.Context, d store.Domain) string {
			if d.Name == "new.com" {
				return why
			}
			return ""
		}}
	starter := &Starter{Records: r.Records, Queue: q, Fixes: r.Fixes, Clock: clk}
	if _, err := starter.Start(ctx, "s1", Options{}); err != nil {
		t.Fatal(err)
	}
	for len(q.pending) > 0 {
		p := q.pending[0]
		q.pending = q.pending[1:]
		if err := r.Run(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	status, entries, err := r.Records.Report(ctx, "s1", st.GetMany)
	if err != nil {
		t.Fatal(err)
	}
	if status.Drifted != 1 || status.Unfixable != 1 || status.Checked != 2 {
		t.Fatalf("counts: %+v (want old.com alone as drift)", status.Counts)
	}
	got := map[string]Entry{}
	for _, e := range entries {
		got[e.Domain] = e
	}
	if e := got["new.com"]; e.Outcome != OutcomeUnfixable || e.Detail != why {
		t.Fatalf("new.com: %+v", e)
	}
	if e := got["old.com"]; e.Outcome != OutcomeUnfixable || !strings.Contains(e.Detail, "registry holds its own lock") {
		t.Fatalf("old.com: %+v", e)
	}
}
