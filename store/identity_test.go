package store

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/redistest"
)

// wipe deletes every key of the store, as a FLUSHALL (or a Redis restarted
// without persistence) would, without touching other tests' keys.
func wipe(t *testing.T, s *Store) {
	t.Helper()
	ctx := context.Background()
	iter := s.Redis().Scan(ctx, 0, s.Prefix()+"*", 1000).Iterator()
	var keys []string
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := s.Redis().Del(ctx, k).Err(); err != nil {
			t.Fatal(err)
		}
	}
}

// changes records a watch's state changes.
type changes struct {
	mu  sync.Mutex
	got []string
}

func (c *changes) on(from, to IdentityStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, string(from.State)+">"+string(to.State))
}

func (c *changes) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.got, " ")
}

func watch(s *Store) (*IdentityWatch, *changes) {
	c := &changes{}
	return &IdentityWatch{Store: s, OnChange: c.on}, c
}

func mustState(t *testing.T, what string, got IdentityState, err error, want IdentityState) {
	t.Helper()
	if err != nil || got != want {
		t.Fatalf("%s: state %q, %v; want %q", what, got, err, want)
	}
}

// A fresh installation gets a marker, which every process adopts; a wipe
// under running processes is noticed by the first to look, which writes a
// lost marker that every process (and every one started later) follows,
// until an operator restores the store.
func TestIdentityWatch_wipeUnderRunningProcesses(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		w1, c1 := watch(s)
		w2, c2 := watch(s)
		st, err := w1.Adopt(ctx)
		mustState(t, "first process", st, err, StateOK)
		st, err = w2.Adopt(ctx)
		mustState(t, "second process", st, err, StateOK)
		first := w1.Status().Adopted
		if first == "" || w2.Status().Adopted != first {
			t.Fatalf("adopted %q and %q, want one id", first, w2.Status().Adopted)
		}
		if w1.Err() != nil {
			t.Fatalf("Err while ok: %v", w1.Err())
		}
		st, err = w1.Check(ctx)
		mustState(t, "look while nothing happened", st, err, StateOK)

		wipe(t, s)
		st, err = w1.Check(ctx)
		mustState(t, "first look after the wipe", st, err, StateLost)
		m, ok, err := s.Identity(ctx)
		if err != nil || !ok || m.State != StateLost || m.LostID != first || m.ID == first || m.DetectedAt.IsZero() {
			t.Fatalf("marker after the wipe: %+v %v %v", m, ok, err)
		}
		st, err = w2.Check(ctx)
		mustState(t, "the other process", st, err, StateLost)
		if w2.Status().Adopted != m.ID {
			t.Fatalf("the other process adopted %q, want the lost marker %q", w2.Status().Adopted, m.ID)
		}
		err = w2.Err()
		if !errors.Is(err, ErrStoreLost) || !strings.Contains(err.Error(), "marker "+first+" gone") ||
			!strings.Contains(err.Error(), "reglock restore FILE") || !strings.Contains(err.Error(), "reglock restore --accept-empty") {
			t.Fatalf("Err = %v", err)
		}
		// A process started now is lost too.
		w3, _ := watch(s)
		st, err = w3.Adopt(ctx)
		mustState(t, "a process started while lost", st, err, StateLost)
		// A one-shot command sees it.
		w4, _ := watch(s)
		st, err = w4.Check(ctx)
		mustState(t, "a one-shot command", st, err, StateLost)

		if _, err := s.Resolve(ctx, ResolvedByRestore); err != nil {
			t.Fatal(err)
		}
		for i, w := range []*IdentityWatch{w1, w2, w3, w4} {
			st, err := w.Check(ctx)
			mustState(t, "after the restore", st, err, StateOK)
			if w.Err() != nil || w.Status().Adopted != m.ID {
				t.Fatalf("process %d after the restore: %v, adopted %q", i+1, w.Err(), w.Status().Adopted)
			}
		}
		if m, _, _ := s.Identity(ctx); m.State != StateOK || m.Resolution != ResolvedByRestore || m.ResolvedAt.IsZero() || m.LostID != first {
			t.Fatalf("marker after the restore: %+v", m)
		}
		if c1.String() != "ok>lost lost>ok" || c2.String() != "ok>lost lost>ok" {
			t.Fatalf("changes reported: %q, %q", c1, c2)
		}
	})
}

// A process that starts between a wipe and its detection writes a fresh
// marker; the processes that remember the old one see a marker created
// after they last saw theirs, and call the store lost for everyone.
func TestIdentityWatch_wipedThenReinitialisedByANewProcess(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		old, _ := watch(s)
		if _, err := old.Adopt(ctx); err != nil {
			t.Fatal(err)
		}
		wipe(t, s)
		time.Sleep(5 * time.Millisecond) // Redis's clock moves on
		fresh, _ := watch(s)
		st, err := fresh.Adopt(ctx)
		mustState(t, "the new process (it cannot know)", st, err, StateOK)
		st, err = old.Check(ctx)
		mustState(t, "the process that remembers", st, err, StateLost)
		st, err = fresh.Check(ctx)
		mustState(t, "the new process, told", st, err, StateLost)
		if old.Status().Adopted != fresh.Status().Adopted {
			t.Fatalf("adopted %q and %q", old.Status().Adopted, fresh.Status().Adopted)
		}
	})
}

// Redis holding another installation's store (created before this process
// last saw its own): replaced, nothing written to the other store's
// marker, and red until the process restarts.
func TestIdentityWatch_replaced(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		other := New(s.Redis(), s.Prefix()+"other:")
		t.Cleanup(func() { wipe(t, other) })
		if _, err := other.Identify(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
		w, c := watch(s)
		if _, err := w.Adopt(ctx); err != nil {
			t.Fatal(err)
		}
		mine, _, _ := s.Identity(ctx)
		theirs, _, _ := other.Identity(ctx)
		// The other installation's marker where ours was.
		k := s.identityKey()
		if err := s.Redis().Rename(ctx, other.identityKey(), k).Err(); err != nil {
			t.Fatal(err)
		}
		st, err := w.Check(ctx)
		mustState(t, "another installation's store", st, err, StateReplaced)
		if got, _, _ := s.Identity(ctx); got != theirs {
			t.Fatalf("the other store's marker was written: %+v, was %+v", got, theirs)
		}
		err = w.Err()
		if !errors.Is(err, ErrStoreLost) || !strings.Contains(err.Error(), "store replaced") || !strings.Contains(err.Error(), mine.ID) ||
			!strings.Contains(err.Error(), theirs.ID) || !strings.Contains(err.Error(), "restart") {
			t.Fatalf("Err = %v", err)
		}
		// Our marker back: still replaced, until a restart.
		if err := s.Redis().HSet(ctx, k, "id", mine.ID).Err(); err != nil {
			t.Fatal(err)
		}
		st, err = w.Check(ctx)
		mustState(t, "after the marker came back", st, err, StateReplaced)
		if c.String() != "ok>replaced" {
			t.Fatalf("changes: %q", c)
		}
	})
}

// A one-shot command adopts a marker as it finds it and never writes one;
// a watch nobody started reports ok without looking.
func TestIdentityWatch_oneShotWritesNothing(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		w, _ := watch(s)
		if err := w.Verify(ctx); err != nil {
			t.Fatalf("Verify on a watch nobody started: %v", err)
		}
		st, err := w.Check(ctx)
		mustState(t, "no marker", st, err, StateUnknown)
		if _, ok, _ := s.Identity(ctx); ok {
			t.Fatal("a one-shot look wrote a marker")
		}
		if _, err := s.Identify(ctx); err != nil {
			t.Fatal(err)
		}
		st, err = w.Check(ctx)
		mustState(t, "a marker", st, err, StateOK)
	})
}

// Verify looks again only when its last look is older than MaxAge.
func TestIdentityWatch_verifyMaxAge(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		clk := clock.NewManual(t0)
		w := &IdentityWatch{Store: s, Clock: clk, MaxAge: time.Second}
		if _, err := w.Adopt(ctx); err != nil {
			t.Fatal(err)
		}
		wipe(t, s)
		if err := w.Verify(ctx); err != nil {
			t.Fatalf("Verify within MaxAge looked again: %v", err)
		}
		clk.Add(time.Second)
		if err := w.Verify(ctx); !errors.Is(err, ErrStoreLost) {
			t.Fatalf("Verify after MaxAge = %v, want the loss", err)
		}
	})
}

// Run looks every Interval on the watch's clock.
func TestIdentityWatch_run(t *testing.T) {
	rt := redistest.New(t)
	env := New(rt.Client, rt.StorePrefix())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := &IdentityWatch{Store: env, Interval: 10 * time.Millisecond}
	if _, err := w.Adopt(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	wipe(t, env)
	deadline := time.Now().Add(5 * time.Second)
	for w.State() != StateLost {
		if time.Now().After(deadline) {
			t.Fatal("Run did not notice the wipe")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
