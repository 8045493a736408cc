package opensrs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/opensrs"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/secret"
)

const (
	simUser = "resellerx"
	simKey  = "simulated-private-key-0123456789"
)

// simBundle is the real client against the real simulator.
type simBundle struct {
	sim      *simulator.Simulator
	acct     *simulator.Account
	client   *opensrs.Client
	endpoint string
}

func setupSim(t *testing.T, opts simulator.Options) *simBundle {
	t.Helper()
	sim := simulator.New(opts)
	acct := sim.AddAccount(simulator.OpenSRS, simUser, simKey)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	endpoint := srv.URL + "/opensrs/"
	return &simBundle{sim: sim, acct: acct, client: newClient(t, endpoint, simUser, simKey), endpoint: endpoint}
}

func newClient(t *testing.T, endpoint, user string, key secret.String) *opensrs.Client {
	t.Helper()
	c, err := opensrs.New(opensrs.Config{Endpoint: endpoint, Username: user, Key: key, Timeout: 10 * time.Second})
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

// SetLock to the state the domain already has is nil, in both directions,
// in one write each and without a read back.
func TestSimulator_alreadyInState(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.acct.AddDomain("unlocked.com", false)
	b.acct.AddDomain("locked.com", true)
	if err := b.client.SetLock(context.Background(), "unlocked.com", false); err != nil {
		t.Errorf("unlocking an unlocked domain = %v, want nil", err)
	}
	if err := b.client.SetLock(context.Background(), "locked.com", true); err != nil {
		t.Errorf("locking a locked domain = %v, want nil", err)
	}
	for _, name := range []string{"unlocked.com", "locked.com"} {
		if b.sim.Writes(name) != 1 || b.sim.Reads(name) != 0 {
			t.Errorf("%s: %d writes, %d reads; want 1, 0", name, b.sim.Writes(name), b.sim.Reads(name))
		}
	}
}

func TestSimulator_errors(t *testing.T) {
	b := setupSim(t, simulator.Options{NotLockableTLDs: []string{"ch"}})
	b.sim.AddAccount(simulator.OpenSRS, "other", "otherkey").AddDomain("theirs.com", true)
	b.acct.AddDomain("mine.ch", false)
	b.acct.AddDomain("moving.com", false)
	b.sim.SetPending("moving.com", true)
	ctx := context.Background()

	_, err := b.client.LockState(ctx, "nosuch.com")
	assertIs(t, "unknown domain", err, providers.ErrNotFound)
	assertIs(t, "another account's domain", b.client.SetLock(ctx, "theirs.com", false), providers.ErrNotFound)
	assertIs(t, "trade lock of another account's domain", b.client.SetTradeLock(ctx, "theirs.com", false, netip.MustParseAddr("192.0.2.1")), providers.ErrNotFound)
	if l, _ := b.sim.Locked("theirs.com"); !l {
		t.Error("another account's domain was unlocked")
	}

	if err := b.client.SetLock(ctx, "mine.ch", true); err == nil || !providers.IsPermanent(err) || !strings.Contains(err.Error(), "465") {
		t.Errorf("locking a TLD without a lock = %v, want a permanent 465", err)
	}
	if err := b.client.SetLock(ctx, "mine.ch", false); err != nil {
		t.Errorf("unlocking it = %v, want nil", err)
	}

	st, err := b.client.LockState(ctx, "moving.com")
	if err != nil || st != (providers.State{Pending: true}) {
		t.Errorf("LockState of a pending domain = %+v, %v; want Pending", st, err)
	}
	var ra *providers.RetryAfterError
	if err := b.client.SetLock(ctx, "moving.com", true); !errors.As(err, &ra) || ra.After != 5*time.Second {
		t.Errorf("SetLock of a pending domain = %v, want a RetryAfterError of 5s (486)", err)
	}
}

func assertIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) || !providers.IsPermanent(err) {
		t.Errorf("%s: err = %v, want permanent %v", what, err, want)
	}
}

// By default the simulator drops a call with a bad signature, as OpenSRS
// does for callers outside the IP allow-list: a transient error that says
// so. With OpenSRSBadAuthReply it answers 415 instead: ErrAuth.
func TestSimulator_badCredentials(t *testing.T) {
	for _, reply := range []bool{false, true} {
		t.Run(fmt.Sprintf("OpenSRSBadAuthReply=%v", reply), func(t *testing.T) {
			b := setupSim(t, simulator.Options{OpenSRSBadAuthReply: reply})
			b.acct.AddDomain("guarded.com", true)
			ctx := context.Background()
			for _, bad := range []*opensrs.Client{
				newClient(t, b.endpoint, simUser, "wrong-key-0123456789"),
				newClient(t, b.endpoint, "nobody", simKey),
			} {
				_, err1 := bad.LockState(ctx, "guarded.com")
				err2 := bad.SetLock(ctx, "guarded.com", false)
				var err3 error
				for _, err := range bad.Domains(ctx) {
					err3 = err
				}
				for _, err := range []error{err1, err2, err3} {
					switch {
					case reply && (!errors.Is(err, providers.ErrAuth) || !providers.IsPermanent(err)):
						t.Errorf("err = %v, want a permanent ErrAuth", err)
					case !reply && (err == nil || providers.IsPermanent(err) || !strings.Contains(err.Error(), "allow-list")):
						t.Errorf("err = %v, want a transient error mentioning the allow-list", err)
					}
					if err != nil && strings.Contains(err.Error(), simKey) {
						t.Errorf("error reveals the key: %v", err)
					}
				}
			}
			if l, _ := b.sim.Locked("guarded.com"); !l || b.sim.Writes("guarded.com") != 0 {
				t.Error("a refused caller changed the domain")
			}
		})
	}
}

func TestSimulator_faults(t *testing.T) {
	transient := func(t *testing.T, err error) {
		var ra *providers.RetryAfterError
		if err == nil || providers.IsPermanent(err) || errors.As(err, &ra) {
			t.Errorf("err = %v, want a transient error", err)
		}
	}
	retryAfter := func(d time.Duration) func(t *testing.T, err error) {
		return func(t *testing.T, err error) {
			var ra *providers.RetryAfterError
			if !errors.As(err, &ra) || ra.After != d || providers.IsPermanent(err) {
				t.Errorf("err = %v, want a *RetryAfterError of %v", err, d)
			}
		}
	}
	tests := []struct {
		fault simulator.Fault
		check func(t *testing.T, err error)
	}{
		{simulator.FaultBusy, retryAfter(5 * time.Second)},
		{simulator.FaultRateLimited, retryAfter(time.Second)},
		{simulator.FaultError, transient},
		{simulator.FaultMalformed, transient},
		{simulator.FaultUnavailable, func(t *testing.T, err error) {
			var se *providers.StatusError
			if !errors.As(err, &se) || se.Code != 503 {
				t.Errorf("err = %v, want a *StatusError 503", err)
			}
			transient(t, err)
		}},
		{simulator.FaultDrop, func(t *testing.T, err error) {
			transient(t, err)
			if err != nil && !strings.Contains(err.Error(), "allow-list") {
				t.Errorf("err = %v, want the allow-list hint", err)
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

// FaultFalseUnlocked makes a status read answer "unlocked", whatever the
// state; the lock itself is untouched.
func TestSimulator_falseUnlocked(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.acct.AddDomain("example.com", true)
	b.acct.FailNext(1, simulator.FaultFalseUnlocked)
	st, err := b.client.LockState(context.Background(), "example.com")
	if err != nil || st.Locked {
		t.Errorf("LockState = %+v, %v; want unlocked", st, err)
	}
	if st, err := b.client.LockState(context.Background(), "example.com"); err != nil || !st.Locked {
		t.Errorf("LockState after the fault = %+v, %v; want locked", st, err)
	}
}

func TestSimulator_tradeLock(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.acct.AddDomain("example.com", true)
	ctx := context.Background()
	for _, tt := range []struct {
		enable bool
		ip     string
	}{{false, "203.0.113.7"}, {true, "2001:db8::7"}} {
		if err := b.client.SetTradeLock(ctx, "example.com", tt.enable, netip.MustParseAddr(tt.ip)); err != nil {
			t.Fatalf("SetTradeLock = %v", err)
		}
		enable, ip, set := b.sim.TradeLock("example.com")
		if !set || enable != tt.enable || ip != tt.ip {
			t.Errorf("trade lock = set %v, enable %v, ip %q; want %v, %q", set, enable, ip, tt.enable, tt.ip)
		}
	}
	if l, _ := b.sim.Locked("example.com"); !l {
		t.Error("the trade lock setting changed the registrar lock")
	}
	_, err := b.client.LockState(ctx, "example.com")
	if err != nil || b.sim.Writes("example.com") != 2 {
		t.Errorf("LockState = %v after %d writes; want nil after 2", err, b.sim.Writes("example.com"))
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

// The listing pages through the account (500 a page), skipping other
// accounts' domains.
func TestSimulator_domains(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	var want []string
	for i := range 1234 {
		name := fmt.Sprintf("name%04d.com", i)
		if i%5 == 0 {
			name = fmt.Sprintf("name%04d.co.uk", i)
		}
		want = append(want, name)
		b.acct.AddDomain(name, i%2 == 0)
	}
	b.sim.AddAccount(simulator.OpenSRS, "other", "otherkey").AddDomain("notmine.com", false)
	var got []string
	for name, err := range b.client.Domains(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Domains listed %d names, want the account's 1234 exactly, in name order", len(got))
	}
	calls := 0
	for _, r := range b.sim.Log() {
		if r.Op == "get_domains_by_expiredate" {
			calls++
		}
	}
	if calls != 3 {
		t.Errorf("%d get_domains_by_expiredate calls, want 3 pages", calls)
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
