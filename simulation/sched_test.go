package simulation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

var start = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// setup returns a simulation that is closed when the test ends.
func setup(t *testing.T, seed uint64) *Sim {
	t.Helper()
	s := New(seed, start)
	t.Cleanup(s.Close)
	return s
}

// allDone reports whether every actor has finished.
func allDone(actors ...*Actor) func() bool {
	return func() bool {
		for _, a := range actors {
			if !a.Done() {
				return false
			}
		}
		return true
	}
}

func TestSim_sleepsWakeInTimeOrder(t *testing.T) {
	s := setup(t, 1)
	type wake struct {
		name string
		at   time.Time
	}
	var wakes []wake
	var actors []*Actor
	sleeps := map[string]time.Duration{"c": 3 * time.Second, "a": time.Second, "d": 4 * time.Second, "b": 2 * time.Second}
	for _, name := range []string{"d", "b", "a", "c"} {
		actors = append(actors, s.Go(name, func(ctx context.Context) {
			from := s.Now()
			if err := s.Clock().Sleep(ctx, sleeps[name]); err != nil {
				t.Errorf("%s: Sleep: %v", name, err)
			}
			if got := s.Now().Sub(from); got < sleeps[name] || got > sleeps[name]+50*time.Millisecond {
				t.Errorf("%s slept %s, want %s", name, got, sleeps[name])
			}
			wakes = append(wakes, wake{name, s.Now()})
		}))
	}
	if err := s.Run(allDone(actors...), start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var order []string
	for i, w := range wakes {
		order = append(order, w.name)
		if i > 0 && !w.at.After(wakes[i-1].at) {
			t.Errorf("%s woke at %s, not after %s", w.name, w.at, wakes[i-1].at)
		}
	}
	if want := []string{"a", "b", "c", "d"}; !slices.Equal(order, want) {
		t.Fatalf("wake order %v, want %v", order, want)
	}
}

func TestSim_stepsTakeDistinctMilliseconds(t *testing.T) {
	s := setup(t, 2)
	var stamps []int64
	var actors []*Actor
	for i := range 3 {
		actors = append(actors, s.Go(fmt.Sprint(i), func(ctx context.Context) {
			for range 50 {
				stamps = append(stamps, s.Now().UnixMilli())
				s.Yield(ctx)
			}
		}))
	}
	if err := s.Run(allDone(actors...), start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(stamps); i++ {
		// An actor's last step (it returns) leaves no stamp: two steps.
		if d := stamps[i] - stamps[i-1]; d < 1 || d > 6 {
			t.Fatalf("stamp %d came %d ms after the one before, want 1 to 6", i, d)
		}
	}
}

func TestSim_Kill(t *testing.T) {
	s := setup(t, 3)
	var steps, stepsAtKill int
	deferRan, pastYieldInDefer := false, false
	victim := s.Go("victim", func(ctx context.Context) {
		defer func() { deferRan = true }()
		defer func() {
			s.Yield(ctx) // a dead actor's scheduling point unwinds it again
			pastYieldInDefer = true
		}()
		for {
			steps++
			s.Yield(ctx)
		}
	})
	killer := s.Go("killer", func(ctx context.Context) {
		for steps < 10 {
			s.Yield(ctx)
		}
		stepsAtKill = steps
		s.Kill(victim)
		for range 20 {
			s.Yield(ctx)
		}
	})
	if err := s.Run(allDone(killer), start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if !victim.Done() {
		t.Fatal("the killed actor has not finished")
	}
	if steps != stepsAtKill {
		t.Errorf("the victim took %d steps after it was killed", steps-stepsAtKill)
	}
	if !deferRan || pastYieldInDefer {
		t.Errorf("deferred functions: ran %v, past a scheduling point %v; want true, false", deferRan, pastYieldInDefer)
	}
}

func TestSim_killSelf(t *testing.T) {
	s := setup(t, 4)
	after := false
	var a *Actor
	a = s.Go("suicide", func(ctx context.Context) {
		s.Kill(a)
		s.Yield(ctx)
		after = true
	})
	if err := s.Run(allDone(a), start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if after {
		t.Fatal("an actor that killed itself ran past its next scheduling point")
	}
}

func TestSim_Run_panic(t *testing.T) {
	s := setup(t, 5)
	s.Go("quiet", func(ctx context.Context) {
		for {
			_ = s.Clock().Sleep(ctx, time.Second)
		}
	})
	s.Go("boom", func(ctx context.Context) {
		_ = s.Clock().Sleep(ctx, 3*time.Second)
		panic("kaboom")
	})
	err := s.Run(func() bool { return false }, start.Add(time.Minute))
	if err == nil {
		t.Fatal("Run: no error for a panicking actor")
	}
	for _, want := range []string{`actor "boom" panicked`, "seed 5", "kaboom", "sched_test.go"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Run: %v\nwant it to contain %q", err, want)
		}
	}
}

func TestSim_Run_deadlockAndLimit(t *testing.T) {
	s := setup(t, 6)
	s.Go("returns", func(ctx context.Context) { s.Yield(ctx) })
	if err := s.Run(func() bool { return false }, start.Add(time.Minute)); err == nil || !strings.Contains(err.Error(), "deadlock") {
		t.Fatalf("Run with nothing left to run: %v, want a deadlock", err)
	}

	s.Go("sleeper", func(ctx context.Context) {
		for {
			_ = s.Clock().Sleep(ctx, time.Hour)
		}
	})
	limit := s.Now().Add(3 * time.Hour)
	err := s.Run(func() bool { return false }, limit)
	if err == nil || !strings.Contains(err.Error(), "passed the limit") || !strings.Contains(err.Error(), `"sleeper" sleeping until`) {
		t.Fatalf("Run past the limit: %v", err)
	}
}

func TestSim_outsideActors(t *testing.T) {
	s := setup(t, 7)
	ctx := context.Background()
	s.Yield(ctx)
	if err := s.Clock().Sleep(ctx, time.Hour); err != nil {
		t.Fatal(err)
	}
	if !s.Now().Equal(start) {
		t.Fatalf("time moved to %s outside actors", s.Now())
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Clock().Sleep(cctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context outside actors: %v", err)
	}
}

func TestSim_Sleep_contextEnds(t *testing.T) {
	s := setup(t, 8)
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	var slept time.Duration
	sleeper := s.Go("sleeper", func(actx context.Context) {
		// The actor's identity rides along in any context derived from it;
		// here the caller's context is a plain one, and the running actor
		// is the one that sleeps.
		from := s.Now()
		err = s.Clock().Sleep(ctx, time.Hour)
		slept = s.Now().Sub(from)
	})
	s.Go("canceller", func(actx context.Context) {
		_ = s.Clock().Sleep(actx, time.Second)
		cancel()
	})
	if err := s.Run(allDone(sleeper), start.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(err, context.Canceled) || slept > 2*time.Second {
		t.Fatalf("Sleep: %v after %s, want context.Canceled after about a second", err, slept)
	}
}

func TestSim_WithDeadline(t *testing.T) {
	s := setup(t, 9)
	var ended time.Time
	var err, childErr error
	a := s.Go("a", func(ctx context.Context) {
		dctx, cancel := s.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		child, cancelChild := context.WithCancel(dctx)
		defer cancelChild()
		if err := s.Clock().Sleep(child, time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sleep on a context that ends: %v", err)
		}
		ended, err, childErr = s.Now(), dctx.Err(), child.Err()
	})
	if err := s.Run(allDone(a), start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if d := ended.Sub(start); d < 5*time.Second || d > 5*time.Second+10*time.Millisecond {
		t.Errorf("the deadline ended the context after %s, want 5s", d)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(childErr, context.DeadlineExceeded) {
		t.Errorf("Err: %v, child's %v; want context.DeadlineExceeded for both", err, childErr)
	}
}

func TestSim_GoFromActor(t *testing.T) {
	s := setup(t, 10)
	var children []*Actor
	parent := s.Go("parent", func(ctx context.Context) {
		for i := range 3 {
			children = append(children, s.Go(fmt.Sprint("child ", i), func(ctx context.Context) {
				_ = s.Clock().Sleep(ctx, time.Duration(i)*time.Second)
			}))
		}
	})
	err := s.Run(func() bool { return parent.Done() && len(children) == 3 && allDone(children...)() }, start.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if children[1].Name() != "child 1" {
		t.Fatalf("Name: %q", children[1].Name())
	}
}

func TestSim_Close(t *testing.T) {
	s := New(11, start)
	sleeper := s.Go("sleeper", func(ctx context.Context) {
		for {
			_ = s.Clock().Sleep(ctx, time.Second)
		}
	})
	if err := s.Run(func() bool { return s.Now().After(start.Add(5 * time.Second)) }, start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	never := s.Go("never scheduled", func(ctx context.Context) { t.Error("ran after Close") })
	s.Close()
	if !sleeper.Done() || !never.Done() {
		t.Fatal("actors left after Close")
	}
	if err := s.Run(func() bool { return false }, start.Add(time.Hour)); err == nil {
		t.Fatal("Run after Close: no error")
	}
}

func TestSim_Trace(t *testing.T) {
	trace := func(seed uint64) uint64 {
		s := setup(t, seed)
		var actors []*Actor
		for i := range 4 {
			actors = append(actors, s.Go(fmt.Sprint(i), func(ctx context.Context) {
				for range 20 {
					_ = s.Clock().Sleep(ctx, time.Duration(s.Rand().IntN(100))*time.Millisecond)
				}
			}))
		}
		if err := s.Run(allDone(actors...), start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		return s.Trace()
	}
	if a, b := trace(42), trace(42); a != b {
		t.Fatalf("seed 42 traced %x, then %x", a, b)
	}
	if a, b := trace(42), trace(43); a == b {
		t.Fatalf("seeds 42 and 43 both traced %x", a)
	}
}
