package whmcs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/providers/whmcs"
	"github.com/reglock/reglock/secret"
)

const (
	simIdentifier = "IDENTIFIER_OR_ADMIN_USERNAME"
	simSecret     = "SECRET_OR_HASHED_PASSWORD"
)

// simBundle is the real client against the real simulator.
type simBundle struct {
	sim      *simulator.Simulator
	acct     *simulator.Account
	client   *whmcs.Client
	endpoint string
}

func setupSim(t *testing.T, opts simulator.Options) *simBundle {
	t.Helper()
	sim := simulator.New(opts)
	acct := sim.AddAccount(simulator.WHMCS, simIdentifier, simSecret)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	endpoint := srv.URL + "/whmcs/includes/api.php"
	return &simBundle{sim: sim, acct: acct, client: newClient(t, endpoint, simSecret, ""), endpoint: endpoint}
}

func newClient(t *testing.T, endpoint string, sec, accessKey secret.String) *whmcs.Client {
	t.Helper()
	c, err := whmcs.New(whmcs.Config{Endpoint: endpoint, Identifier: simIdentifier, Secret: sec, AccessKey: accessKey, Timeout: 10 * time.Second})
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
		if err != nil || st != (providers.State{Locked: locked, Indirect: true}) {
			t.Fatalf("LockState = %+v, %v; want Locked %v, Indirect", st, err, locked)
		}
		if got, _ := b.sim.Locked("example.co.uk"); got != locked {
			t.Fatalf("simulator says locked = %v, want %v", got, locked)
		}
	}
	if w, r := b.sim.Writes("example.co.uk"), b.sim.Reads("example.co.uk"); w != 3 || r != 3 {
		t.Errorf("writes, reads = %d, %d; want 3, 3", w, r)
	}
	// One lookup, then one call per operation.
	if n := b.acct.Calls(); n != 7 {
		t.Errorf("%d calls, want 7 (one lookup, six commands)", n)
	}
}

// TestSimulator_falseUnlocked is the quirk the reconciler must not trust
// blindly: a failed registrar call reads "unlocked" through WHMCS, marked
// Indirect.
func TestSimulator_falseUnlocked(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.acct.AddDomain("example.com", true)
	ctx := context.Background()
	if st, err := b.client.LockState(ctx, "example.com"); err != nil || !st.Locked {
		t.Fatalf("LockState = %+v, %v; want locked", st, err)
	}
	b.acct.FailNext(1, simulator.FaultFalseUnlocked)
	st, err := b.client.LockState(ctx, "example.com")
	if err != nil || st != (providers.State{Locked: false, Indirect: true}) {
		t.Fatalf("LockState during the fault = %+v, %v; want unlocked and Indirect", st, err)
	}
	if locked, _ := b.sim.Locked("example.com"); !locked {
		t.Fatal("the domain is unlocked at the registrar")
	}
	if st, err := b.client.LockState(ctx, "example.com"); err != nil || !st.Locked || !st.Indirect {
		t.Errorf("LockState after the fault = %+v, %v; want locked", st, err)
	}
}

func TestSimulator_permanentErrors(t *testing.T) {
	b := setupSim(t, simulator.Options{NotLockableTLDs: []string{"ch"}})
	b.sim.AddAccount(simulator.WHMCS, "other", "otherpw").AddDomain("theirs.com", true)
	b.sim.AddAccount(simulator.ENom, "resellid", "resellpw").AddDomain("enoms.com", true)
	b.acct.AddDomain("mine.ch", false)
	ctx := context.Background()

	for _, name := range []string{"nosuch.com", "theirs.com", "enoms.com"} {
		_, err := b.client.LockState(ctx, name)
		assertIs(t, "LockState "+name, err, providers.ErrNotFound)
		assertIs(t, "SetLock "+name, b.client.SetLock(ctx, name, false), providers.ErrNotFound)
	}
	// "Unknown" may be a failed registrar call: an error, not permanent.
	if _, err := b.client.LockState(ctx, "mine.ch"); err == nil || providers.IsPermanent(err) || !strings.Contains(err.Error(), `"Unknown"`) {
		t.Errorf("LockState of a domain WHMCS answers Unknown for = %v, want a transient error", err)
	}
	var err error

	bad := newClient(t, b.endpoint, "wrong-secret", "")
	_, err = bad.LockState(ctx, "mine.ch")
	assertIs(t, "bad secret", err, providers.ErrAuth)
	for _, err := range bad.Domains(ctx) {
		assertIs(t, "bad secret listing", err, providers.ErrAuth)
	}
	if locked, _ := b.sim.Locked("theirs.com"); !locked {
		t.Error("another installation's domain was unlocked")
	}
}

func assertIs(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) || !providers.IsPermanent(err) {
		t.Errorf("%s: err = %v, want permanent %v", what, err, want)
	}
}

// The IP allow-list refuses the client unless it has the access key.
func TestSimulator_accessKey(t *testing.T) {
	b := setupSim(t, simulator.Options{WHMCSAllowedIPs: []string{"192.0.2.1"}, WHMCSAccessKey: "the-access-key"})
	b.acct.AddDomain("example.com", true)
	ctx := context.Background()
	_, err := b.client.LockState(ctx, "example.com")
	assertIs(t, "outside the allow-list", err, providers.ErrAuth)
	withKey := newClient(t, b.endpoint, simSecret, "the-access-key")
	if st, err := withKey.LockState(ctx, "example.com"); err != nil || !st.Locked {
		t.Errorf("LockState with the access key = %+v, %v", st, err)
	}
}

// A domain deleted and registered again gets a new id; the client's cached
// id answers "Domain ID Not Found" and the client finds the new one.
func TestSimulator_newID(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.acct.AddDomain("example.com", false)
	ctx := context.Background()
	if _, err := b.client.LockState(ctx, "example.com"); err != nil {
		t.Fatal(err)
	}
	b.acct.AddDomain("example.com", true) // a new record, a new id
	if st, err := b.client.LockState(ctx, "example.com"); err != nil || !st.Locked {
		t.Fatalf("LockState = %+v, %v; want the new record's lock", st, err)
	}
	var ops []string
	for _, r := range b.sim.Log() {
		ops = append(ops, r.Op+":"+r.Outcome)
	}
	want := []string{"GetClientsDomains:ok", "DomainGetLockingStatus:ok", "DomainGetLockingStatus:Domain ID Not Found",
		"GetClientsDomains:ok", "DomainGetLockingStatus:ok"}
	if !slices.Equal(ops, want) {
		t.Errorf("calls %v, want %v", ops, want)
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
		{simulator.FaultError, transient},
		{simulator.FaultMalformed, transient},
		{simulator.FaultDrop, transient},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			b := setupSim(t, simulator.Options{})
			b.acct.AddDomain("example.com", false)
			if _, err := b.client.LockState(context.Background(), "example.com"); err != nil {
				t.Fatal(err) // the id is cached: the fault hits the write itself
			}
			b.acct.FailNext(1, tt.fault)
			tt.check(t, b.client.SetLock(context.Background(), "example.com", true))
			if locked, _ := b.sim.Locked("example.com"); locked {
				t.Error("a faulted call locked the domain")
			}
			if err := b.client.SetLock(context.Background(), "example.com", true); err != nil {
				t.Errorf("SetLock after the fault = %v", err)
			}
		})
	}
}

func transient(t *testing.T, err error) {
	t.Helper()
	if err == nil || providers.IsPermanent(err) {
		t.Errorf("err = %v, want a transient error", err)
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
	for i := range 520 {
		name := fmt.Sprintf("name%03d.com", i)
		want = append(want, name)
		b.acct.AddDomain(name, i%2 == 0)
	}
	b.sim.AddAccount(simulator.WHMCS, "other", "otherpw").AddDomain("notmine.com", false)
	var got []string
	for name, err := range b.client.Domains(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, name)
	}
	// WHMCS lists by id, which is the order of registration here.
	if !slices.Equal(got, want) {
		t.Errorf("Domains listed %d names, want the account's 520 in id order", len(got))
	}
	calls := 0
	for _, r := range b.sim.Log() {
		if r.Op == "GetClientsDomains" {
			calls++
		}
	}
	if calls != 3 {
		t.Errorf("%d GetClientsDomains calls, want 3 pages of 250", calls)
	}
	// The listing filled the id cache: a read is one call.
	before := b.acct.Calls()
	if _, err := b.client.LockState(context.Background(), "name400.com"); err != nil {
		t.Fatal(err)
	}
	if n := b.acct.Calls() - before; n != 1 {
		t.Errorf("%d calls for a read after listing, want 1", n)
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
			for range 3 {
				if err := b.client.SetLock(context.Background(), name, true); err != nil {
					t.Error(err)
				}
				if st, err := b.client.LockState(context.Background(), name); err != nil || !st.Locked {
					t.Errorf("%s: %+v, %v", name, st, err)
				}
			}
		})
	}
	wg.Wait()
}
