package simulation

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
)

var consent = netip.MustParseAddr("203.0.113.7")

func setupRegistrar(t *testing.T, seed uint64, f RegistrarFaults) (*Sim, *Registrar) {
	t.Helper()
	s := setup(t, seed)
	r := s.NewRegistrar("acct")
	r.Add("example.com", false)
	r.SetFaults(f)
	return s, r
}

func TestRegistrar_noFaults(t *testing.T) {
	s, r := setupRegistrar(t, 1, RegistrarFaults{MaxDelay: 2 * time.Second})
	var took time.Duration
	inActor(t, s, func(ctx context.Context) {
		from := s.Now()
		if err := r.SetLock(ctx, "example.com", true); err != nil {
			t.Errorf("SetLock: %v", err)
		}
		if err := r.SetLock(ctx, "example.com", true); err != nil {
			t.Errorf("SetLock to the state it has: %v", err)
		}
		if st, err := r.LockState(ctx, "example.com"); err != nil || !st.Locked {
			t.Errorf("LockState: %+v, %v", st, err)
		}
		if err := r.SetTradeLock(ctx, "example.com", false, consent); err != nil {
			t.Errorf("SetTradeLock: %v", err)
		}
		if _, err := r.LockState(ctx, "missing.com"); !errors.Is(err, providers.ErrNotFound) || !providers.IsPermanent(err) {
			t.Errorf("LockState of a missing domain: %v", err)
		}
		if err := r.SetTradeLock(ctx, "example.com", false, netip.Addr{}); !providers.IsPermanent(err) {
			t.Errorf("SetTradeLock without a consent address: %v", err)
		}
		took = s.Now().Sub(from)
	})
	if locked, ok := r.Locked("example.com"); !locked || !ok {
		t.Errorf("Locked: %v, %v", locked, ok)
	}
	if enabled, set := r.TradeLock("example.com"); enabled || !set {
		t.Errorf("TradeLock: %v, %v", enabled, set)
	}
	calls := r.Calls()
	if len(calls) != 5 || calls[0].Op != "set_lock" || calls[2].Op != "lock_state" || calls[3].Op != "set_trade_lock" || calls[4].Domain != "missing.com" {
		t.Fatalf("Calls: %+v", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i].At.Before(calls[i-1].At) {
			t.Fatalf("calls out of order: %+v", calls)
		}
	}
	if took > 10*time.Second+100*time.Millisecond {
		t.Errorf("five calls of at most 2s took %s", took)
	}
}

func TestRegistrar_faults(t *testing.T) {
	tests := []struct {
		name        string
		faults      RegistrarFaults
		check       func(error) bool
		wantApplied bool
	}{
		{"FailBefore", RegistrarFaults{FailBefore: 1}, func(err error) bool {
			var se *providers.StatusError
			return errors.As(err, &se) && se.Code == 503 && !providers.IsPermanent(err)
		}, false},
		{"Busy", RegistrarFaults{Busy: 1}, func(err error) bool {
			var ra *providers.RetryAfterError
			return errors.As(err, &ra) && ra.After >= time.Second && ra.After <= 5*time.Second
		}, false},
		{"ApplyThenFail", RegistrarFaults{ApplyThenFail: 1}, func(err error) bool {
			var te *TimeoutError
			return errors.As(err, &te) && !providers.IsPermanent(err)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, r := setupRegistrar(t, 2, tt.faults)
			var err error
			inActor(t, s, func(ctx context.Context) { err = r.SetLock(ctx, "example.com", true) })
			if !tt.check(err) {
				t.Errorf("SetLock: %v", err)
			}
			if locked, _ := r.Locked("example.com"); locked != tt.wantApplied {
				t.Errorf("applied: %v, want %v", locked, tt.wantApplied)
			}
		})
	}
}

func TestRegistrar_hang(t *testing.T) {
	s, r := setupRegistrar(t, 3, RegistrarFaults{Hang: 1, HangFor: 30 * time.Second})
	var err error
	var took time.Duration
	inActor(t, s, func(ctx context.Context) {
		from := s.Now()
		_, err = r.LockState(ctx, "example.com")
		took = s.Now().Sub(from)
	})
	var te *TimeoutError
	if !errors.As(err, &te) || took < 30*time.Second || took > 31*time.Second {
		t.Fatalf("a hung call: %v after %s, want a timeout after 30s", err, took)
	}

	// The caller's own deadline ends the hang sooner.
	inActor(t, s, func(ctx context.Context) {
		ctx, cancel := s.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		from := s.Now()
		_, err = r.LockState(ctx, "example.com")
		took = s.Now().Sub(from)
	})
	if !errors.Is(err, context.DeadlineExceeded) || took > 6*time.Second {
		t.Fatalf("a hung call with a 5s deadline: %v after %s", err, took)
	}
}

func TestRegistrar_landLate(t *testing.T) {
	s, r := setupRegistrar(t, 4, RegistrarFaults{ApplyThenFail: 1, LandLate: 1, LandWithin: time.Minute})
	var err error
	var appliedAtReturn bool
	var failedAt time.Time
	inActor(t, s, func(ctx context.Context) {
		err = r.SetLock(ctx, "example.com", true)
		appliedAtReturn, _ = r.Locked("example.com")
		failedAt = s.Now()
	})
	if err == nil || appliedAtReturn {
		t.Fatalf("SetLock: %v, applied at once: %v; want a failure and nothing applied yet", err, appliedAtReturn)
	}
	if err := s.Run(func() bool { locked, _ := r.Locked("example.com"); return locked }, failedAt.Add(time.Minute+time.Second)); err != nil {
		t.Fatalf("the late write never landed: %v", err)
	}
}

// A caller killed in the middle of a write leaves it applied or not, by a
// draw, and never fails the run.
func TestRegistrar_killMidCall(t *testing.T) {
	applied := map[bool]int{}
	for seed := range uint64(40) {
		s, r := setupRegistrar(t, seed, RegistrarFaults{MaxDelay: 10 * time.Second})
		caller := s.Go("caller", func(ctx context.Context) {
			for {
				_ = r.SetLock(ctx, "example.com", true)
				_ = r.SetLock(ctx, "example.com", false)
			}
		})
		s.Go("killer", func(ctx context.Context) {
			_ = s.Clock().Sleep(ctx, time.Duration(s.Rand().Int64N(int64(time.Minute))))
			s.Kill(caller)
		})
		if err := s.Run(caller.Done, start.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		// Only a write that was under way could land: compare the truth
		// with the last call's intent.
		calls := r.Calls()
		last := calls[len(calls)-1]
		locked, _ := r.Locked("example.com")
		wantIfApplied := len(calls)%2 == 1 // odd calls lock
		applied[locked == wantIfApplied && last.Op == "set_lock"]++
	}
	if applied[true] == 0 || applied[false] == 0 {
		t.Fatalf("over 40 seeds, a killed write applied %d times and not %d times: want both", applied[true], applied[false])
	}
}
