package store

import (
	"context"
	"testing"
	"time"
)

// WorkStats counts the marks by kind with their oldest request, and the
// unlock windows with the earliest end, splitting off those before the
// cutoff; an empty store owes nothing.
func TestStore_WorkStats(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		st, err := s.WorkStats(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Marks) != 4 || st.Windows != (Owing{}) {
			t.Fatalf("an empty store: %+v", st)
		}
		for k, o := range st.Marks {
			if o != (Owing{}) {
				t.Fatalf("an empty store owes %s: %+v", k, o)
			}
		}
		fold := func(c Change) {
			t.Helper()
			if _, _, err := s.Fold(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		// Two locks owed (one asked 7h before the cutoff), an unlock with
		// its window ending an hour before the cutoff, another ending after
		// it, and a domain with nothing owed.
		fold(Change{Domain: "a.com", Kind: KindLock, Provider: "p", RequestedAt: t0.Add(-7 * time.Hour), Work: &WorkNote{Kind: MarkLock}})
		fold(Change{Domain: "b.com", Kind: KindLock, Provider: "p", RequestedAt: t0.Add(time.Minute), Work: &WorkNote{Kind: MarkLock}})
		fold(Change{Domain: "c.com", Kind: KindUnlock, Provider: "q", RequestedAt: t0.Add(-3 * time.Hour), RelockAt: t0.Add(-time.Hour)})
		fold(Change{Domain: "d.com", Kind: KindUnlock, Provider: "q", RequestedAt: t0.Add(-3 * time.Hour), RelockAt: t0.Add(time.Hour)})
		fold(Change{Domain: "e.com", Kind: KindLock, Provider: "q", RequestedAt: t0})
		// A fix armed at the cutoff.
		if ok, err := s.Arm(ctx, "e.com", 1, WorkNote{Kind: MarkFix}, t0); err != nil || !ok {
			t.Fatalf("Arm: %v %v", ok, err)
		}
		st, err = s.WorkStats(ctx, t0)
		if err != nil {
			t.Fatal(err)
		}
		want := map[MarkKind]Owing{
			MarkLock:   {Count: 2, Before: 1, Oldest: t0.Add(-7 * time.Hour)},
			MarkFix:    {Count: 1, Before: 0, Oldest: t0},
			MarkTrade:  {},
			MarkRelock: {},
		}
		for k, w := range want {
			if got := st.Marks[k]; got.Count != w.Count || got.Before != w.Before || !got.Oldest.Equal(w.Oldest) {
				t.Errorf("marks %s = %+v, want %+v", k, got, w)
			}
		}
		if w := st.Windows; w.Count != 2 || w.Before != 1 || !w.Oldest.Equal(t0.Add(-time.Hour)) {
			t.Errorf("windows = %+v", w)
		}
	})
}
