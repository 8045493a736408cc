package ee_test

// The client against the simulator, for what the conformance suite
// (conformance_test.go) does not check: the .ee registry's own cases that
// reach the client (a pending domain, a technical contact, locks set by
// someone else, force delete, a lock of before 2021), UUIDs that change,
// token renewal on one clock, and concurrency. The answers' shapes over
// HTTP are the simulator's own tests' business (simulator/ee_test.go).

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
	"github.com/reglock/reglock/providers/ee"
	"github.com/reglock/reglock/providers/simulator"
)

// The registry's own test fixtures (test/fixtures/*.yml): the user is
// users(:registrant), ident US-1234; airport.test has no statuses, shop.test
// is Best Names' with John as registrant.
const (
	fixtureUser  = "US-1234"
	fixtureToken = "registrant-us-1234-static-token"
	airport      = "airport.test"
	airportUUID  = "2df2c1a1-8f6a-490a-81be-8bdf29866880"
	shop         = "shop.test"
	shopUUID     = "1b3ee442-e8fe-4922-9492-8fcb9dccc69c"
)

var (
	lockStatuses       = []string{"serverObjUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited"}
	lockStatusesBefore = []string{"serverUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited"}
)

// simBundle is the real client against the real simulator, holding the
// registry's fixture domains.
type simBundle struct {
	sim    *simulator.Simulator
	acct   *simulator.Account
	url    string
	client *ee.Client
}

func setupSim(t *testing.T, opts simulator.Options) *simBundle {
	t.Helper()
	sim := simulator.New(opts)
	acct := sim.AddAccount(simulator.EE, fixtureUser, fixtureToken)
	acct.AddDomain(airport, false)
	acct.AddDomain(shop, false)
	if !sim.EESetUUID(airport, airportUUID) || !sim.EESetUUID(shop, shopUUID) || !sim.EESetStatuses(airport, []string{}, nil) {
		t.Fatal("fixture setup failed")
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	b := &simBundle{sim: sim, acct: acct, url: srv.URL + "/ee"}
	b.client = b.newClient(t, ee.Config{Token: fixtureToken})
	return b
}

func (b *simBundle) newClient(t *testing.T, cfg ee.Config) *ee.Client {
	t.Helper()
	cfg.Endpoint = b.url
	cfg.Timeout = 10 * time.Second
	c, err := ee.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (b *simBundle) info(t *testing.T, name string) simulator.EEDomainInfo {
	t.Helper()
	info, ok := b.sim.EEDomain(name)
	if !ok {
		t.Fatalf("%s is not a .ee domain", name)
	}
	return info
}

func hasAll(statuses []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(statuses, w) {
			return false
		}
	}
	return true
}

// Acceptance case 3 (registrant_api_registry_locks_test.rb): the registry
// refuses to lock a pending domain; through the client that is a
// transient error naming the state, not a permanent refusal.
func TestSimulator_lockPendingDomain(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.sim.SetPending(airport, true)
	err := b.client.SetLock(context.Background(), airport, true)
	if err == nil || providers.IsPermanent(err) || !strings.Contains(err.Error(), "pendingUpdate") {
		t.Errorf("SetLock on a pending domain = %v, want a transient error about pendingUpdate", err)
	}
	if b.info(t, airport).LockedByRegistrantAt != nil {
		t.Error("a pending domain was locked")
	}
}

// Acceptance case 8: a technical contact may read the domain but not lock
// it: ErrNotPermitted, not ErrAuth (the credentials are good). The default
// listing leaves such domains out; an administrative contact may lock.
func TestSimulator_technicalContact(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	b.sim.EESetRole(shop, simulator.EERoleTech)
	err := b.client.SetLock(ctx, shop, true)
	if !errors.Is(err, providers.ErrNotPermitted) || errors.Is(err, providers.ErrAuth) || !providers.IsPermanent(err) {
		t.Errorf("SetLock as a technical contact = %v, want a permanent ErrNotPermitted", err)
	}
	if _, err := b.client.LockState(ctx, shop); err != nil {
		t.Errorf("LockState as a technical contact = %v", err)
	}
	if l, _ := b.sim.Locked(shop); l {
		t.Error("a technical contact locked the domain")
	}
	var names []string
	for name, err := range b.client.Domains(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if !slices.Equal(names, []string{airport}) {
		t.Errorf("Domains = %v, want the registrant's only", names)
	}
	b.sim.EESetRole(shop, simulator.EERoleAdmin)
	if err := b.client.SetLock(ctx, shop, true); err != nil {
		t.Errorf("SetLock as an administrative contact = %v", err)
	}
}

// The supporting model cases (registry_lockable_test.rb) as reglock meets
// them through the client.
func TestSimulator_registryLockedByAdmin(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	// An admin set the three statuses without a timestamp: not ours.
	b.sim.EESetStatuses(airport, lockStatuses, nil)
	st, err := b.client.LockState(ctx, airport)
	if err != nil || st != (providers.State{Locked: true, ByRegistry: true}) {
		t.Fatalf("LockState = %+v, %v; want locked by the registry", st, err)
	}
	err = b.client.SetLock(ctx, airport, false)
	if err == nil || !providers.IsPermanent(err) || !strings.Contains(err.Error(), "cannot remove a registry lock") {
		t.Errorf("SetLock(false) = %v, want a permanent error about the registry lock", err)
	}
	// Locking it makes it a registrant lock.
	if err := b.client.SetLock(ctx, airport, true); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.client.LockState(ctx, airport); st != (providers.State{Locked: true}) {
		t.Errorf("after locking: %+v", st)
	}
}

func TestSimulator_adminRemovedALockStatus(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	if err := b.client.SetLock(ctx, airport, true); err != nil {
		t.Fatal(err)
	}
	b.sim.EESetStatuses(airport, []string{"serverDeleteProhibited", "serverTransferProhibited"}, b.info(t, airport).LockedByRegistrantAt)
	// Transfers are still blocked, by someone else's status.
	if st, _ := b.client.LockState(ctx, airport); st != (providers.State{Locked: true, ByRegistry: true}) {
		t.Errorf("LockState = %+v", st)
	}
	// A new lock is allowed and restores the registrant's lock.
	if err := b.client.SetLock(ctx, airport, true); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.client.LockState(ctx, airport); st != (providers.State{Locked: true}) {
		t.Errorf("after relocking: %+v", st)
	}
}

func TestSimulator_forceDelete(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	b.sim.EESetForceDelete(airport, true)
	if err := b.client.SetLock(ctx, airport, true); err != nil {
		t.Fatalf("locking during force delete = %v", err)
	}
	if err := b.client.SetLock(ctx, airport, false); err != nil {
		t.Fatal(err)
	}
	if info := b.info(t, airport); !hasAll(info.Statuses, "serverForceDelete", "serverTransferProhibited", "serverRenewProhibited") {
		t.Errorf("after unlocking: statuses %v, want the force delete ones kept", info.Statuses)
	}
	// Force delete blocks transfers itself: locked, not by reglock.
	if st, _ := b.client.LockState(ctx, airport); st != (providers.State{Locked: true, ByRegistry: true}) {
		t.Errorf("LockState = %+v", st)
	}
}

// Case 6 of step 8 against the simulator, which keeps the registry's rule
// since 2021: a registrant's lock of before then reads as the registrant's
// (locked, not the registry's), and the registry's refusal to remove it is
// a permanent error that says why; the lock stays.
func TestSimulator_lockOfBefore2021(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	at := time.Date(2018, 11, 2, 16, 33, 18, 0, time.UTC)
	b.sim.EESetStatuses(shop, lockStatusesBefore, &at)
	if st, err := b.client.LockState(ctx, shop); err != nil || st != (providers.State{Locked: true}) {
		t.Fatalf("LockState = %+v, %v; want the registrant's lock", st, err)
	}
	err := b.client.SetLock(ctx, shop, false)
	if err == nil || !providers.IsPermanent(err) || !strings.Contains(err.Error(), "before the registry's 2021 status change") {
		t.Errorf("SetLock(false) = %v, want a permanent error that explains", err)
	}
	if info := b.info(t, shop); !slices.Equal(info.Statuses, lockStatusesBefore) || info.LockedByRegistrantAt == nil {
		t.Errorf("the lock changed: %+v", info)
	}
	// The same statuses without the timestamp are someone else's.
	b.sim.EESetStatuses(shop, lockStatusesBefore, nil)
	if st, _ := b.client.LockState(ctx, shop); st != (providers.State{Locked: true, ByRegistry: true}) {
		t.Errorf("without locked_by_registrant_at: %+v, want the registry's", st)
	}
}

// A domain re-registered under a new UUID is found again.
func TestSimulator_uuidChanged(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	if _, err := b.client.LockState(ctx, shop); err != nil {
		t.Fatal(err)
	}
	b.sim.EESetUUID(shop, "0f0f0f0f-0000-4000-8000-000000000001")
	if err := b.client.SetLock(ctx, shop, true); err != nil {
		t.Fatalf("SetLock after the UUID changed = %v", err)
	}
	if l, _ := b.sim.Locked(shop); !l {
		t.Error("not locked")
	}
}

// A domain moved to another account after the client cached its UUID is
// ErrNotFound, and never touched.
func TestSimulator_domainMovedAway(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	if _, err := b.client.LockState(ctx, shop); err != nil {
		t.Fatal(err)
	}
	b.sim.AddAccount(simulator.EE, "EE-1", "other-token-123456").AddDomain(shop, true)
	err := b.client.SetLock(ctx, shop, false)
	if !errors.Is(err, providers.ErrNotFound) || !providers.IsPermanent(err) {
		t.Errorf("SetLock = %v, want a permanent ErrNotFound", err)
	}
	if l, _ := b.sim.Locked(shop); !l {
		t.Error("another account's domain was unlocked")
	}
}

// Token renewal against the simulator, both on one injected clock: the
// client logs in again five minutes before the two hours run out.
func TestSimulator_eidTokenRenewal(t *testing.T) {
	clock := &simClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	b := setupSim(t, simulator.Options{Now: clock.Now, EEAuthAllowedNets: []string{"127.0.0.1", "::1"}})
	eid := &ee.EID{Ident: "1234", FirstName: "John", LastName: "Smith", CountryCode: "US"}
	c := b.newClient(t, ee.Config{EID: eid, Now: clock.Now})
	ctx := context.Background()
	logins := func() int {
		n := 0
		for _, r := range b.sim.Log() {
			if r.Op == "POST auth/eid" && r.Outcome == "ok" {
				n++
			}
		}
		return n
	}
	for _, step := range []struct {
		advance time.Duration
		logins  int
	}{{0, 1}, {time.Hour, 1}, {54 * time.Minute, 1}, {2 * time.Minute, 2}, {3 * time.Hour, 3}} {
		clock.Advance(step.advance)
		if _, err := c.LockState(ctx, shop); err != nil {
			t.Fatal(err)
		}
		if n := logins(); n != step.logins {
			t.Fatalf("after +%v: %d logins, want %d", step.advance, n, step.logins)
		}
	}
	// The client's clock runs three hours behind the registry's: it keeps a
	// token the registry has expired, and the 401 makes it log in again.
	behind := func() time.Time { return clock.Now().Add(-3 * time.Hour) }
	c2 := b.newClient(t, ee.Config{EID: eid, Now: behind})
	if _, err := c2.LockState(ctx, shop); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2*time.Hour + time.Minute)
	before := logins()
	if _, err := c2.LockState(ctx, shop); err != nil {
		t.Fatalf("LockState with a token the registry has expired = %v", err)
	}
	if n := logins() - before; n != 1 {
		t.Errorf("%d logins, want one more", n)
	}
}

type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// One client, many domains changed at once (the conformance suite calls
// one at a time).
func TestSimulator_concurrentClient(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	const n = 20
	for i := range n {
		b.acct.AddDomain(fmt.Sprintf("c%02d.ee", i), false)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := fmt.Sprintf("c%02d.ee", i)
			for _, locked := range []bool{true, true, false} {
				if err := b.client.SetLock(context.Background(), name, locked); err != nil {
					t.Error(err)
				}
			}
			if st, err := b.client.LockState(context.Background(), name); err != nil || st.Locked {
				t.Errorf("%s: %+v, %v", name, st, err)
			}
		})
	}
	wg.Wait()
}
