package store

import (
	"context"
	"errors"
	"testing"
	"time"
)

func owed(t *testing.T, s *Store, cutoff time.Time) []Owed {
	t.Helper()
	var out []Owed
	if err := s.ScanOwed(context.Background(), cutoff, func(b []Owed) error {
		out = append(out, b...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// A recorded intent is owed (a mark) until a worker holding the lease reads
// the registrar in the new state; the janitor finds marks past their due
// time and windows past their end.
func TestStore_workMarksAndLeases(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		note := &WorkNote{Kind: MarkLock, Due: t0.Add(time.Minute), RequestedBy: "billing|7", Reason: "customer asked | by phone"}
		d, _, err := s.Fold(ctx, Change{Domain: "a.com", Kind: KindUnlock, Provider: "p", RequestedAt: t0, RelockAt: t0.Add(time.Hour), Work: note})
		if err != nil || !d.Work.Pending {
			t.Fatalf("Fold: %v %+v", err, d.Work)
		}
		m := d.Work.Mark
		if m.Generation != 1 || !m.RequestedAt.Equal(t0) || !m.Due.Equal(t0.Add(time.Minute)) || m.Kind != MarkLock ||
			m.RequestedBy != "billing/7" || m.Reason != note.Reason || m.Fails != 0 {
			t.Fatalf("mark = %+v", m)
		}
		if got := owed(t, s, t0.Add(time.Minute)); len(got) != 0 {
			t.Fatalf("owed before the mark is due: %+v", got)
		}
		got := owed(t, s, t0.Add(time.Minute+time.Millisecond))
		if len(got) != 1 || got[0].Domain != "a.com" || got[0].Mark == nil || got[0].Desired.Generation != 1 {
			t.Fatalf("owed = %+v, want a.com's mark", got)
		}

		// A worker takes the lease; a second one finds it busy.
		d, out, lr, err := s.Begin(ctx, Change{Domain: "a.com", Kind: KindUnlock, Mode: ModeFold, Generation: 1}, Lease{Token: "w1", Until: t0.Add(2 * time.Minute)}, t0)
		if err != nil || out != Current || !lr.Acquired || !d.Work.Pending || !d.Work.Mark.Due.Equal(t0.Add(time.Minute)) {
			t.Fatalf("Begin: %v %v %+v %+v", out, err, lr, d.Work)
		}
		_, _, lr, _ = s.Begin(ctx, Change{Domain: "a.com", Mode: ModeCheck}, Lease{Token: "w2", Until: t0.Add(3 * time.Minute)}, t0.Add(time.Second))
		if lr.Acquired || !lr.BusyUntil.Equal(t0.Add(2*time.Minute)) {
			t.Fatalf("second Begin: %+v, want busy until the first lease ends", lr)
		}
		if d, _ := s.Get(ctx, "a.com"); !d.Work.InDoubt(t0.Add(time.Minute)) || d.Work.InDoubt(t0.Add(2*time.Minute)) {
			t.Fatalf("Get: lease until %v", d.Work.LeaseUntil)
		}
		// An out-of-sync reading settles nothing, and a token that is not
		// the holder's releases nothing.
		d, settled, err := s.Finish(ctx, Finish{Domain: "a.com", Token: "w2", Reading: &Reading{Locked: true, StartedAt: t0.Add(2 * time.Second)}, SettleGen: 1, Lease: Release})
		if err != nil || settled || !d.Work.Pending {
			t.Fatalf("Finish out of sync: %v %v %+v", settled, err, d.Work)
		}
		if _, _, lr, _ := s.Begin(ctx, Change{Domain: "a.com", Mode: ModeCheck}, Lease{Token: "w3", Until: t0.Add(time.Hour)}, t0.Add(3*time.Second)); lr.Acquired {
			t.Fatal("a foreign token released the lease")
		}
		// A write whose outcome is unknown holds the lease longer.
		if _, _, err := s.Finish(ctx, Finish{Domain: "a.com", Token: "w1", Lease: Hold, HoldUntil: t0.Add(5 * time.Minute), MarkDue: t0.Add(20 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if _, _, lr, _ := s.Begin(ctx, Change{Domain: "a.com", Mode: ModeCheck}, Lease{Token: "w3", Until: t0.Add(time.Hour)}, t0.Add(4*time.Minute)); lr.Acquired || !lr.BusyUntil.Equal(t0.Add(5*time.Minute)) {
			t.Fatalf("held lease: %+v", lr)
		}
		// Once it ends, another worker takes over and settles the mark in
		// sync; the lease is released with it.
		_, _, lr, _ = s.Begin(ctx, Change{Domain: "a.com", Kind: KindUnlock, Mode: ModeFold, Generation: 1}, Lease{Token: "w3", Until: t0.Add(8 * time.Minute)}, t0.Add(6*time.Minute))
		if !lr.Acquired {
			t.Fatalf("lease after the hold: %+v", lr)
		}
		d, settled, err = s.Finish(ctx, Finish{Domain: "a.com", Token: "w3", Reading: &Reading{Locked: false, StartedAt: t0.Add(6 * time.Minute)}, SettleGen: 1, Lease: ReleaseIfSettled})
		if err != nil || !settled || d.Work.Pending || !d.InSync() {
			t.Fatalf("Finish in sync: %v %v %+v", settled, err, d)
		}
		if d, _ := s.Get(ctx, "a.com"); d.Work.Pending || !d.Work.LeaseUntil.IsZero() {
			t.Fatalf("after settling: %+v", d.Work)
		}
		// A duplicate of the settled task finds nothing to do, and takes no
		// lease.
		_, out, lr, _ = s.Begin(ctx, Change{Domain: "a.com", Kind: KindUnlock, Mode: ModeFold, Generation: 1}, Lease{Token: "w4", Until: t0.Add(time.Hour)}, t0.Add(7*time.Minute))
		if out != Current || !lr.Settled || lr.Acquired {
			t.Fatalf("duplicate: %v %+v", out, lr)
		}
		// The window is owed once it has ended.
		if got := owed(t, s, t0.Add(time.Hour)); len(got) != 0 {
			t.Fatalf("owed at the window's end: %+v", got)
		}
		got = owed(t, s, t0.Add(time.Hour+time.Millisecond))
		if len(got) != 1 || !got[0].RelockAt.Equal(t0.Add(time.Hour)) || got[0].Mark != nil {
			t.Fatalf("owed after the window = %+v", got)
		}
		// The relock applies, owes itself, and leaves the windows.
		d, out, lr, err = s.Begin(ctx, Change{Domain: "a.com", Kind: KindLock, Mode: ModeRelock, RequestedAt: t0.Add(time.Hour),
			Work: &WorkNote{Kind: MarkRelock, TaskID: "relock:a.com@x"}}, Lease{Token: "w5", Until: t0.Add(2 * time.Hour)}, t0.Add(time.Hour+time.Second))
		if err != nil || out != Applied || !lr.Acquired || !d.Desired.Locked || d.Work.Mark.Kind != MarkRelock || d.Work.Mark.TaskID != "relock:a.com@x" {
			t.Fatalf("relock: %v %v %+v %+v", out, err, lr, d)
		}
		for _, o := range owed(t, s, t0.Add(3*time.Hour)) {
			if !o.RelockAt.IsZero() {
				t.Fatalf("window still listed after its relock: %+v", o)
			}
		}
	})
}

// A permanent failure counts on the mark; the janitor claims a mark once
// (another janitor's claim of the same mark fails), and a note in the format
// before marks becomes a mark.
func TestStore_workClaimAndLegacy(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.Fold(ctx, Change{Domain: "b.com", Kind: KindLock, Provider: "p", RequestedAt: t0, Work: &WorkNote{Kind: MarkLock, Due: t0}})
		_, _, lr, _ := s.Begin(ctx, Change{Domain: "b.com", Mode: ModeCheck}, Lease{Token: "w", Until: t0.Add(time.Minute)}, t0)
		d, _, err := s.Finish(ctx, Finish{Domain: "b.com", Token: "w", Reading: &Reading{Err: "not found", StartedAt: t0}, Lease: Release,
			MarkFailed: true, MarkDue: t0.Add(time.Hour)})
		if err != nil || !lr.Acquired || d.Work.Mark.Fails != 1 || !d.Work.Mark.Due.Equal(t0.Add(time.Hour)) || d.Observed.Error != "not found" {
			t.Fatalf("after a permanent failure: %v %+v", err, d)
		}
		got := owed(t, s, t0.Add(2*time.Hour))
		if len(got) != 1 {
			t.Fatalf("owed = %+v", got)
		}
		m, ok, err := s.Claim(ctx, got[0], t0.Add(3*time.Hour), t0.Add(2*time.Hour))
		if err != nil || !ok || !m.Due.Equal(t0.Add(3*time.Hour)) || m.Fails != 1 {
			t.Fatalf("Claim: %v %v %+v", ok, err, m)
		}
		if _, ok, _ := s.Claim(ctx, got[0], t0.Add(3*time.Hour), t0.Add(2*time.Hour)); ok {
			t.Fatal("a mark was claimed twice")
		}

		// A note of the format before marks (steps 1-6).
		s.Fold(ctx, Change{Domain: "c.net", Kind: KindTrade, Provider: "opensrs", RequestedAt: t0, ConsentIP: "203.0.113.7"})
		k := s.keys(Bucket("c.net"))
		s.Redis().HSet(ctx, k[keyWork], "trade:c.net", "1|1763805600000|203.0.113.7|billing|customer | phone")
		var legacy *Owed
		for _, o := range owed(t, s, t0) {
			if o.Domain == "c.net" {
				legacy = &o
			}
		}
		if legacy == nil || !legacy.Legacy {
			t.Fatalf("legacy note not found")
		}
		m, ok, err = s.Claim(ctx, *legacy, t0.Add(5*time.Minute), t0)
		if err != nil || !ok || m.Kind != MarkTrade || m.Generation != 1 || m.RequestedBy != "billing" || m.Reason != "customer | phone" {
			t.Fatalf("legacy claim: %v %v %+v", ok, err, m)
		}
		if d, _ := s.Get(ctx, "c.net"); !d.Work.Pending {
			t.Fatal("the legacy note did not become a mark")
		}
		if n, _ := s.Redis().HExists(ctx, k[keyWork], "trade:c.net").Result(); n {
			t.Fatal("the legacy note is still there")
		}
	})
}

// Arm owes a fix only while the intent is the one the drift was seen
// against.
func TestStore_Arm(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.Fold(ctx, Change{Domain: "e.com", Kind: KindLock, Provider: "p", RequestedAt: t0})
		if ok, err := s.Arm(ctx, "e.com", 2, WorkNote{Kind: MarkFix}, t0); ok || err != nil {
			t.Fatalf("Arm of a generation that is not the stored one: %v %v", ok, err)
		}
		if ok, err := s.Arm(ctx, "e.com", 1, WorkNote{Kind: MarkFix, TaskID: "fix:e.com@1:s", Due: t0.Add(time.Minute)}, t0); !ok || err != nil {
			t.Fatalf("Arm: %v %v", ok, err)
		}
		d, _ := s.Get(ctx, "e.com")
		if !d.Work.Pending || d.Work.Mark.Kind != MarkFix || d.Work.Mark.TaskID != "fix:e.com@1:s" {
			t.Fatalf("after Arm: %+v", d.Work)
		}
		oks, err := s.ArmMany(ctx, []string{"e.com", "nope.com"}, []int64{1, 1}, WorkNote{Kind: MarkFix}, t0)
		if err != nil || !oks[0] || oks[1] {
			t.Fatalf("ArmMany: %v %v", oks, err)
		}
		if _, _, err := s.Finish(ctx, Finish{Domain: "nope.com", Token: "x", Lease: Release}); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Finish of an unknown domain: %v", err)
		}
	})
}
