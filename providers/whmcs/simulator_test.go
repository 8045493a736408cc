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

// The real client against the real simulator, for what the conformance
// suite (conformance_test.go: round trips, idempotent sets, drift, unknown
// domains, bad credentials, faults, bounded reads, cancellation, paced
// requests, listing) does not check: WHMCS's false "unlocked", "Unknown"
// lock states, the IP allow-list and its access key, a domain that comes
// back under a new id, and one client shared by many goroutines.

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

// A TLD whose registrar module has no lock support reads "Unknown", which
// WHMCS also answers for a failed registrar call: an error, never a reading,
// and not permanent.
func TestSimulator_unknownIsTransient(t *testing.T) {
	b := setupSim(t, simulator.Options{NotLockableTLDs: []string{"ch"}})
	b.acct.AddDomain("mine.ch", false)
	_, err := b.client.LockState(context.Background(), "mine.ch")
	if err == nil || providers.IsPermanent(err) || !strings.Contains(err.Error(), `"Unknown"`) {
		t.Errorf("LockState of a domain WHMCS answers Unknown for = %v, want a transient error", err)
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

// One client, its id cache and its connections shared by many goroutines
// (run under -race).
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
