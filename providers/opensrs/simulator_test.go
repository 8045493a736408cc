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

// The client against the simulator, for what the conformance suite
// (conformance_test.go) does not check: how many requests a call takes,
// OpenSRS's own answers (465, 486, a dropped connection), the trade lock's
// IPv6 addresses, a listing of several pages, concurrency.

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

// A TLD without a registrar lock refuses to lock (465: permanent), and a
// domain in a registry operation asks to wait (486).
func TestSimulator_refusals(t *testing.T) {
	b := setupSim(t, simulator.Options{NotLockableTLDs: []string{"ch"}})
	b.acct.AddDomain("mine.ch", false)
	b.acct.AddDomain("moving.com", false)
	b.sim.SetPending("moving.com", true)
	ctx := context.Background()

	if err := b.client.SetLock(ctx, "mine.ch", true); err == nil || !providers.IsPermanent(err) || !strings.Contains(err.Error(), "465") {
		t.Errorf("locking a TLD without a lock = %v, want a permanent 465", err)
	}
	if err := b.client.SetLock(ctx, "mine.ch", false); err != nil {
		t.Errorf("unlocking it = %v, want nil", err)
	}
	var ra *providers.RetryAfterError
	if err := b.client.SetLock(ctx, "moving.com", true); !errors.As(err, &ra) || ra.After != 5*time.Second {
		t.Errorf("SetLock of a pending domain = %v, want a RetryAfterError of 5s (486)", err)
	}
}

// By default the simulator drops a call with a bad signature, as OpenSRS
// does for callers outside the IP allow-list: a transient error that says
// so, for every call. (The conformance suite runs with the simulator
// answering 415 instead.)
func TestSimulator_badKeyDropped(t *testing.T) {
	b := setupSim(t, simulator.Options{})
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
			if err == nil || providers.IsPermanent(err) || !strings.Contains(err.Error(), "allow-list") {
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
}

// The listing's own refusal is the account's (the suite checks only
// LockState and SetLock with bad credentials).
func TestSimulator_badKeyListing(t *testing.T) {
	b := setupSim(t, simulator.Options{OpenSRSBadAuthReply: true})
	bad := newClient(t, b.endpoint, simUser, "wrong-key-0123456789")
	var errs []error
	for _, err := range bad.Domains(context.Background()) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], providers.ErrAuth) || errors.Is(errs[0], providers.ErrNotFound) {
		t.Errorf("Domains = %v, want one ErrAuth", errs)
	}
}

// The trade lock setting takes IPv6 addresses too, and leaves the
// registrar lock alone.
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
}

// The listing pages through the account (500 a page: the suite's listing
// fits in one), skipping other accounts' domains.
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
