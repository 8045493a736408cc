package enom_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/secret"
)

// simBundle is the real client against the real simulator.
type simBundle struct {
	sim      *simulator.Simulator
	acct     *simulator.Account
	client   *enom.Client
	endpoint string
}

func setupSim(t *testing.T, opts simulator.Options) *simBundle {
	t.Helper()
	sim := simulator.New(opts)
	acct := sim.AddAccount(simulator.ENom, "resellid", "resellpw")
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	endpoint := srv.URL + "/enom/interface.asp"
	return &simBundle{sim: sim, acct: acct, client: newClient(t, endpoint, "resellpw"), endpoint: endpoint}
}

func newClient(t *testing.T, endpoint string, pw secret.String) *enom.Client {
	t.Helper()
	c, err := enom.New(enom.Config{Endpoint: endpoint, UID: "resellid", PW: pw, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSimulator_roundTrip(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.acct.AddDomain("example.co.uk", false)
	ctx := context.Background()
	for _, locked := range []bool{true, false, true} {
		if err := b.client.SetLock(ctx, "example.co.uk", locked); err != nil {
			t.Fatalf("SetLock(%v) = %v", locked, err)
		}
		st, err := b.client.LockState(ctx, "example.co.uk")
		if err != nil || st != (providers.State{Locked: locked}) {
			t.Fatalf("LockState = %+v, %v; want Locked %v", st, err, locked)
		}
		if got, _ := b.sim.Locked("example.co.uk"); got != locked {
			t.Fatalf("simulator says locked = %v, want %v", got, locked)
		}
	}
	if w, r := b.sim.Writes("example.co.uk"), b.sim.Reads("example.co.uk"); w != 3 || r != 3 {
		t.Errorf("writes, reads = %d, %d; want 3, 3", w, r)
	}
}

// SetLock to the state the domain already has is nil, in both directions
// and with either simulator setting for "lock when locked".
func TestSimulator_alreadyInState(t *testing.T) {
	for _, fails := range []bool{false, true} {
		t.Run(fmt.Sprintf("ENomLockWhenLockedFails=%v", fails), func(t *testing.T) {
			b := setupSim(t, simulator.Options{ENomLockWhenLockedFails: fails})
			b.acct.AddDomain("unlocked.com", false)
			b.acct.AddDomain("locked.com", true)
			if err := b.client.SetLock(context.Background(), "unlocked.com", false); err != nil {
				t.Errorf("unlocking an unlocked domain = %v, want nil", err)
			}
			if err := b.client.SetLock(context.Background(), "locked.com", true); err != nil {
				t.Errorf("locking a locked domain = %v, want nil", err)
			}
			if b.sim.Writes("unlocked.com") != 1 || b.sim.Writes("locked.com") != 1 {
				t.Error("want one write each")
			}
		})
	}
}

func TestSimulator_permanentErrors(t *testing.T) {
	b := setupSim(t, simulator.Options{NotLockableTLDs: []string{"ch"}})
	b.sim.AddAccount(simulator.ENom, "other", "otherpw").AddDomain("theirs.com", true)
	b.acct.AddDomain("mine.ch", false)
	ctx := context.Background()

	_, err := b.client.LockState(ctx, "nosuch.com")
	assertIs(t, "unknown domain", err, providers.ErrNotFound)
	assertIs(t, "another account's domain", b.client.SetLock(ctx, "theirs.com", false), providers.ErrNotFound)
	assertIs(t, "not lockable", b.client.SetLock(ctx, "mine.ch", true), providers.ErrNotLockable)

	bad := newClient(t, b.endpoint, "wrong-pw")
	_, err = bad.LockState(ctx, "mine.ch")
	assertIs(t, "bad pw", err, providers.ErrAuth)
	for _, err := range bad.Domains(ctx) {
		assertIs(t, "bad pw listing", err, providers.ErrAuth)
	}
}

func assertIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) || !providers.IsPermanent(err) {
		t.Errorf("%s: err = %v, want permanent %v", what, err, want)
	}
}

// A caller that retries transient errors gets through three 503s.
func TestSimulator_unavailableThenSuccess(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.acct.AddDomain("example.com", true)
	b.acct.FailNext(3, simulator.FaultUnavailable)
	var failures int
	for range 10 {
		st, err := b.client.LockState(context.Background(), "example.com")
		if err == nil {
			if !st.Locked {
				t.Errorf("LockState = %+v, want locked", st)
			}
			break
		}
		var se *providers.StatusError
		if !errors.As(err, &se) || se.Code != 503 || providers.IsPermanent(err) {
			t.Fatalf("err = %v, want a transient 503", err)
		}
		failures++
	}
	if failures != 3 {
		t.Errorf("%d failures before success, want 3", failures)
	}
}

func TestSimulator_faults(t *testing.T) {
	tests := []struct {
		fault simulator.Fault
		check func(t *testing.T, err error)
	}{
		{simulator.FaultBusy, func(t *testing.T, err error) {
			var ra *providers.RetryAfterError
			if !errors.As(err, &ra) || ra.After != time.Second {
				t.Errorf("err = %v, want a *RetryAfterError of 1s", err)
			}
		}},
		{simulator.FaultError, func(t *testing.T, err error) {
			if err == nil || providers.IsPermanent(err) {
				t.Errorf("err = %v, want a transient error", err)
			}
		}},
		{simulator.FaultMalformed, func(t *testing.T, err error) {
			if err == nil || providers.IsPermanent(err) {
				t.Errorf("err = %v, want a transient error", err)
			}
		}},
		{simulator.FaultDrop, func(t *testing.T, err error) {
			if err == nil || providers.IsPermanent(err) {
				t.Errorf("err = %v, want a transient error", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			b := setupSim(t, simulator.Options{})
			b.acct.AddDomain("example.com", false)
			b.acct.FailNext(1, tt.fault)
			tt.check(t, b.client.SetLock(context.Background(), "example.com", true))
			if locked, _ := b.sim.Locked("example.com"); locked {
				t.Error("a faulted call locked the domain")
			}
			// The next call goes through.
			if err := b.client.SetLock(context.Background(), "example.com", true); err != nil {
				t.Errorf("SetLock after the fault = %v", err)
			}
		})
	}
}

func TestSimulator_contextCancel(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.acct.AddDomain("example.com", true)
	b.acct.SetLatency(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := b.client.LockState(ctx, "example.com")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("LockState returned after %v, want soon after the deadline", d)
	}
}

func TestSimulator_domains(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	var want []string
	for i := range 250 {
		name := fmt.Sprintf("name%03d.com", i)
		if i%5 == 0 {
			name = fmt.Sprintf("name%03d.co.uk", i)
		}
		want = append(want, name)
		b.acct.AddDomain(name, i%2 == 0)
	}
	b.sim.AddAccount(simulator.ENom, "other", "otherpw").AddDomain("notmine.com", false)
	var got []string
	for name, err := range b.client.Domains(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Domains listed %d names, want the account's 250 exactly", len(got))
	}
	calls := 0
	for _, r := range b.sim.Log() {
		if r.Op == "GetDomains" {
			calls++
		}
	}
	if calls != 3 {
		t.Errorf("%d GetDomains calls, want 3 pages", calls)
	}
}

func TestSimulator_concurrentClient(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	const n = 20
	for i := range n {
		b.acct.AddDomain(fmt.Sprintf("c%02d.com", i), false)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("c%02d.com", i)
			if err := b.client.SetLock(context.Background(), name, true); err != nil {
				t.Error(err)
			}
			if st, err := b.client.LockState(context.Background(), name); err != nil || !st.Locked {
				t.Errorf("%s: %+v, %v", name, st, err)
			}
		})
	}
	wg.Wait()
}
