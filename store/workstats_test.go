package store

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/redistest"
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

// SharedWorkStats: the processes of an installation read the inventory
// once per maxAge between them, whoever asks and however many at once, and
// all export the same figures.
func TestStore_SharedWorkStats(t *testing.T) {
	env := redistest.New(t)
	ctx := context.Background()
	const procs = 8
	stores := make([]*Store, procs)
	for i := range stores {
		stores[i] = New(env.Client, env.StorePrefix())
	}
	if _, _, err := stores[0].Fold(ctx, Change{Domain: "a.com", Kind: KindLock, Provider: "p", RequestedAt: t0, Work: &WorkNote{Kind: MarkLock}}); err != nil {
		t.Fatal(err)
	}
	scans := func() (n int64) {
		for _, s := range stores {
			n += s.workScans.Load()
		}
		return n
	}
	const maxAge = 600 * time.Millisecond
	round := func() {
		t.Helper()
		var wg sync.WaitGroup
		got := make([]WorkStats, procs)
		for i, s := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _, err := s.SharedWorkStats(ctx, time.Now(), maxAge, t0.Add(time.Hour))
				if err != nil {
					t.Error(err)
				}
				got[i] = st
			}()
		}
		wg.Wait()
		for i, st := range got {
			if st.Marks[MarkLock].Count != 1 || st.Marks[MarkLock].Before != 1 || !st.Marks[MarkLock].Oldest.Equal(t0) {
				t.Fatalf("process %d exports %+v", i, st.Marks[MarkLock])
			}
		}
	}
	// The first round: nothing cached yet, one process scans (the others
	// may scan too only if they found neither figures nor the lock).
	round()
	first := scans()
	if first < 1 {
		t.Fatal("nobody read the inventory")
	}
	for range 3 {
		round() // within maxAge: from the cache
	}
	if n := scans(); n != first {
		t.Fatalf("%d reads of the inventory within maxAge, want %d", n, first)
	}
	time.Sleep(maxAge + 50*time.Millisecond) // the figures and the lock are old
	round()
	if n := scans(); n != first+1 {
		t.Fatalf("after maxAge: %d reads of the inventory by %d processes at once, want 1", n-first, procs)
	}
}
