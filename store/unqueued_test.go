package store

import (
	"context"
	"testing"
	"time"
)

// notes returns the unqueued notes recorded before at.
func notes(t *testing.T, s *Store, at time.Time) []Unqueued {
	t.Helper()
	var out []Unqueued
	if err := s.ScanUnqueued(context.Background(), at, func(us []Unqueued) error {
		out = append(out, us...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestStore_unqueuedNotes(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		note := &TaskNote{RequestedBy: "billing|7", Reason: "customer asked | by phone"}
		// Only a ModeRecord change with a note leaves one.
		if _, _, err := s.Fold(ctx, Change{Domain: "plain.com", Kind: KindLock, Provider: "p", RequestedAt: t0}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Fold(ctx, Change{Domain: "task.com", Kind: KindLock, Mode: ModeFold, Provider: "p", RequestedAt: t0, Task: note}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Fold(ctx, Change{Domain: "a.com", Kind: KindUnlock, Provider: "p", RequestedAt: t0, Task: note}); err != nil {
			t.Fatal(err)
		}
		if got := notes(t, s, t0); len(got) != 0 {
			t.Fatalf("notes recorded before t0: %+v", got)
		}
		got := notes(t, s, t0.Add(time.Millisecond))
		if len(got) != 1 {
			t.Fatalf("notes = %+v, want a.com's alone", got)
		}
		u := got[0]
		if u.Domain != "a.com" || u.Trade || u.Generation != 1 || !u.RequestedAt.Equal(t0) ||
			u.RequestedBy != "billing/7" || u.Reason != note.Reason || u.Desired.Generation != 1 || u.Desired.Locked {
			t.Fatalf("note = %+v", u)
		}

		// A reading in sync but started before the intent was recorded
		// settles nothing; one out of sync neither; one in sync and later does.
		if _, _, err := s.Observe(ctx, "a.com", Reading{Locked: false, StartedAt: t0.Add(-time.Second)}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Observe(ctx, "a.com", Reading{Locked: true, StartedAt: t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		if got := notes(t, s, t0.Add(time.Hour)); len(got) != 1 {
			t.Fatalf("notes after stale and out-of-sync readings = %d, want 1", len(got))
		}
		if _, _, err := s.Observe(ctx, "a.com", Reading{Locked: false, StartedAt: t0.Add(2 * time.Second)}); err != nil {
			t.Fatal(err)
		}
		if got := notes(t, s, t0.Add(time.Hour)); len(got) != 0 {
			t.Fatalf("notes after an in-sync reading = %+v, want none", got)
		}

		// Settle removes a note only if it is still the one read.
		if _, _, err := s.Fold(ctx, Change{Domain: "b.com", Kind: KindLock, Provider: "p", RequestedAt: t0, Task: note}); err != nil {
			t.Fatal(err)
		}
		read := notes(t, s, t0.Add(time.Hour))
		if _, _, err := s.Fold(ctx, Change{Domain: "b.com", Kind: KindUnlock, RequestedAt: t0.Add(time.Minute), Task: note}); err != nil {
			t.Fatal(err)
		}
		if err := s.Settle(ctx, read); err != nil {
			t.Fatal(err)
		}
		got = notes(t, s, t0.Add(time.Hour))
		if len(got) != 1 || got[0].Generation != 2 {
			t.Fatalf("after settling a replaced note: %+v, want generation 2's note", got)
		}
		if err := s.Settle(ctx, got); err != nil {
			t.Fatal(err)
		}
		if got := notes(t, s, t0.Add(time.Hour)); len(got) != 0 {
			t.Fatalf("after settling: %+v", got)
		}

		// A trade note has its own field, survives lock readings, and goes
		// when the registrar accepts the setting.
		if _, _, err := s.Fold(ctx, Change{Domain: "t.com", Kind: KindTrade, Provider: "p", RequestedAt: t0, TradeEnable: true,
			Task: &TaskNote{ConsentIP: "192.0.2.1"}}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Observe(ctx, "t.com", Reading{Locked: true, StartedAt: t0.Add(time.Second)}); err != nil {
			t.Fatal(err)
		}
		got = notes(t, s, t0.Add(time.Hour))
		if len(got) != 1 || !got[0].Trade || got[0].Domain != "t.com" || got[0].ConsentIP != "192.0.2.1" {
			t.Fatalf("trade note = %+v", got)
		}
		if ok, err := s.MarkTradeApplied(ctx, "t.com", true); err != nil || !ok {
			t.Fatalf("MarkTradeApplied = %v, %v", ok, err)
		}
		if got := notes(t, s, t0.Add(time.Hour)); len(got) != 0 {
			t.Fatalf("trade note after the setting was applied: %+v", got)
		}
	})
}
