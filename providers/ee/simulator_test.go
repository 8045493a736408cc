package ee_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/ee"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/secret"
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

// shopDetails is shop.test as the registry's fixtures describe it.
var shopDetails = simulator.EEDetails{
	Registrar: simulator.EERegistrar{Name: "Best Names", Website: "https://bestnames.test"},
	Registrant: simulator.EERegistrant{Name: "John", ID: "eb2f2766-b44c-4e14-9f16-32ab1a7cb957", Ident: "1234",
		IdentType: "priv", IdentCountryCode: "US", Phone: "+555.555", Email: "john@inbox.test"},
	AdminContacts: []simulator.EEContact{{Name: "Jane", ID: "9db3de62-2414-4487-bee2-d5c155567768", Email: "jane@mail.test"}},
	TechContacts: []simulator.EEContact{
		{Name: "William", ID: "0aa54704-d6f7-4ca9-b8ca-2827d9a4e4eb", Email: "william@inbox.test"},
		{Name: "Acme Ltd", ID: "f1dd365c-5be9-4b3d-a44e-3fa002465e4d", Email: "acme@outlook.test"},
	},
	Nameservers: []simulator.EENameserver{
		{Hostname: "ns1.bestnames.test", IPv4: []string{"192.0.2.1"}, IPv6: []string{"2001:db8::1"}},
		{Hostname: "ns2.bestnames.test", IPv4: []string{"192.0.2.2"}, IPv6: []string{"2001:db8::2"}},
	},
}

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
	if !sim.EESetUUID(airport, airportUUID) || !sim.EESetUUID(shop, shopUUID) ||
		!sim.EESetStatuses(airport, []string{}, nil) || !sim.EESetDetails(shop, shopDetails) {
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

// call sends one request over HTTP as the registry's tests do.
func (b *simBundle) call(t *testing.T, method, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, b.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func hasAll(statuses []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(statuses, w) {
			return false
		}
	}
	return true
}

var lockStatuses = []string{"serverObjUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited"}

func assertJSON(t *testing.T, body []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(body, &g); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", body, want)
	}
}

// The internetee registry-lock acceptance cases
// (registrant_api_registry_locks_test.rb), through the client where they
// apply, and over HTTP for the answers' shapes.
func TestAcceptance_1_canLockANotLockedDomain(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	if err := b.client.SetLock(context.Background(), airport, true); err != nil {
		t.Fatal(err)
	}
	info := b.info(t, airport)
	if !hasAll(info.Statuses, lockStatuses...) || info.LockedByRegistrantAt == nil {
		t.Errorf("after locking: %+v", info)
	}
	if l, _ := b.sim.Locked(airport); !l {
		t.Error("the registry does not read airport.test as locked by registrant")
	}
	st, err := b.client.LockState(context.Background(), airport)
	if err != nil || st != (providers.State{Locked: true}) {
		t.Errorf("LockState = %+v, %v", st, err)
	}
}

func TestAcceptance_2_lockingCreatesAVersion(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	before := b.info(t, airport).Versions
	if err := b.client.SetLock(context.Background(), airport, true); err != nil {
		t.Fatal(err)
	}
	info := b.info(t, airport)
	if info.Versions != before+1 || !strings.HasSuffix(info.Updator, "-RegistrantUser: "+fixtureUser) {
		t.Errorf("versions %d -> %d, updator %q", before, info.Versions, info.Updator)
	}
	if len(info.Notifications) != 1 || info.Notifications[0] != "Domain airport.test has been locked by registrant" {
		t.Errorf("registrar notifications = %q", info.Notifications)
	}
}

func TestAcceptance_3_cannotLockAPendingDomain(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.sim.SetPending(airport, true)
	code, body := b.call(t, "POST", "/api/v1/registrant/domains/"+airportUUID+"/registry_lock", fixtureToken)
	if code != 422 {
		t.Errorf("status %d, want 422", code)
	}
	assertJSON(t, body, `{"errors":[{"base":["Domain cannot be locked"]}]}`)
	// Through the client: a transient error that names the pending state.
	err := b.client.SetLock(context.Background(), airport, true)
	if err == nil || providers.IsPermanent(err) || !strings.Contains(err.Error(), "pendingUpdate") {
		t.Errorf("SetLock on a pending domain = %v, want a transient error about pendingUpdate", err)
	}
	if st, err := b.client.LockState(context.Background(), airport); err != nil || !st.Pending || st.Locked {
		t.Errorf("LockState = %+v, %v; want pending, unlocked", st, err)
	}
	if b.info(t, airport).LockedByRegistrantAt != nil {
		t.Error("a pending domain was locked")
	}
}

func TestAcceptance_4_cannotLockAnAlreadyLockedDomain(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	if err := b.client.SetLock(context.Background(), airport, true); err != nil {
		t.Fatal(err)
	}
	code, body := b.call(t, "POST", "/api/v1/registrant/domains/"+airportUUID+"/registry_lock", fixtureToken)
	if code != 422 {
		t.Errorf("status %d, want 422", code)
	}
	assertJSON(t, body, `{"errors":[{"base":["Domain cannot be locked"]}]}`)
	// The contract: locking a locked domain is a no-op.
	if err := b.client.SetLock(context.Background(), airport, true); err != nil {
		t.Errorf("SetLock(true) on a locked domain = %v, want nil", err)
	}
	if l, _ := b.sim.Locked(airport); !l {
		t.Error("no longer locked")
	}
}

func TestAcceptance_5_canUnlockALockedDomain(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	if err := b.client.SetLock(ctx, airport, true); err != nil {
		t.Fatal(err)
	}
	code, body := b.call(t, "DELETE", "/api/v1/registrant/domains/"+airportUUID+"/registry_lock", fixtureToken)
	var got struct {
		Statuses             []string `json:"statuses"`
		LockedByRegistrantAt *string  `json:"locked_by_registrant_at"`
	}
	if err := json.Unmarshal(body, &got); err != nil || code != 200 {
		t.Fatalf("status %d body %s", code, body)
	}
	if !slices.Contains(got.Statuses, "ok") || got.LockedByRegistrantAt != nil {
		t.Errorf("after unlocking: %+v", got)
	}
	if l, _ := b.sim.Locked(airport); l {
		t.Error("still locked")
	}
	// And through the client.
	if err := b.client.SetLock(ctx, airport, true); err != nil {
		t.Fatal(err)
	}
	if err := b.client.SetLock(ctx, airport, false); err != nil {
		t.Fatal(err)
	}
	if st, err := b.client.LockState(ctx, airport); err != nil || st != (providers.State{}) {
		t.Errorf("LockState = %+v, %v; want unlocked", st, err)
	}
}

func TestAcceptance_6_cannotUnlockANotLockedDomain(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	code, body := b.call(t, "DELETE", "/api/v1/registrant/domains/"+airportUUID+"/registry_lock", fixtureToken)
	if code != 422 {
		t.Errorf("status %d, want 422", code)
	}
	assertJSON(t, body, `{"errors":[{"base":["Domain is not locked"]}]}`)
	if err := b.client.SetLock(context.Background(), airport, false); err != nil {
		t.Errorf("SetLock(false) on an unlocked domain = %v, want nil", err)
	}
	if got := b.info(t, airport).Statuses; len(got) != 0 {
		t.Errorf("statuses changed to %v", got)
	}
}

func TestAcceptance_7_returns404WhenDomainIsNotFound(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	code, body := b.call(t, "POST", "/api/v1/registrant/domains/random-uuid/registry_lock", fixtureToken)
	if code != 404 {
		t.Errorf("status %d, want 404", code)
	}
	assertJSON(t, body, `{"errors":[{"base":["Domain not found"]}]}`)
	_, err := b.client.LockState(context.Background(), "random.test")
	if !errors.Is(err, providers.ErrNotFound) || !providers.IsPermanent(err) {
		t.Errorf("LockState of an unknown domain = %v, want a permanent ErrNotFound", err)
	}
}

func TestAcceptance_8_technicalContactCannotLockADomain(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.sim.EESetRole(shop, simulator.EERoleTech)
	code, body := b.call(t, "POST", "/api/v1/registrant/domains/"+shopUUID+"/registry_lock", fixtureToken)
	if code != 401 {
		t.Errorf("status %d, want 401", code)
	}
	assertJSON(t, body, `{"errors":[{"base":["Only administrative contacts can manage registry locks"]}]}`)
	// Through the client: not ErrAuth (the credentials are good), but
	// ErrNotPermitted for this domain; reading still works.
	err := b.client.SetLock(context.Background(), shop, true)
	if !errors.Is(err, providers.ErrNotPermitted) || errors.Is(err, providers.ErrAuth) || !providers.IsPermanent(err) {
		t.Errorf("SetLock as a technical contact = %v, want a permanent ErrNotPermitted", err)
	}
	if _, err := b.client.LockState(context.Background(), shop); err != nil {
		t.Errorf("LockState as a technical contact = %v", err)
	}
	if l, _ := b.sim.Locked(shop); l {
		t.Error("a technical contact locked the domain")
	}
}

func TestAcceptance_9_registrantCanLockADomain(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	code, body := b.call(t, "POST", "/api/v1/registrant/domains/"+shopUUID+"/registry_lock", fixtureToken)
	var got struct {
		Statuses []string `json:"statuses"`
	}
	if err := json.Unmarshal(body, &got); err != nil || code != 200 || !hasAll(got.Statuses, lockStatuses...) {
		t.Errorf("status %d, body %s", code, body)
	}
}

// Case 10 against the client's fixture, which has the serializer's shape:
// the simulator must send the same keys in the same order, and the values
// the registry's test asserts.
func TestAcceptance_10_lockingReturnsTheSerializedDomain(t *testing.T) {
	frozen := time.Date(2010, 7, 5, 0, 0, 0, 0, time.FixedZone("EEST", 3*3600))
	b := setupSim(t, simulator.Options{Now: func() time.Time { return frozen }})
	code, body := b.call(t, "POST", "/api/v1/registrant/domains/"+shopUUID+"/registry_lock", fixtureToken)
	if code != 200 {
		t.Fatalf("status %d: %s", code, body)
	}
	want, err := os.ReadFile(filepath.Join("testdata", "registry_lock_post_success.json"))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := jsonKeys(t, body), jsonKeys(t, want); !slices.Equal(g, w) {
		t.Errorf("keys = %v\nwant   %v", g, w)
	}
	var got, exp map[string]any
	json.Unmarshal(body, &got)
	json.Unmarshal(want, &exp)
	for _, k := range []string{"id", "name", "registrar", "registrant", "admin_contacts", "statuses", "locked_by_registrant_at", "dnssec_keys", "dnssec_changed_at"} {
		if !reflect.DeepEqual(got[k], exp[k]) {
			t.Errorf("%s = %v, want %v", k, got[k], exp[k])
		}
	}
	for _, k := range []string{"tech_contacts", "nameservers"} { // compared as sets
		if !sameSet(got[k], exp[k]) {
			t.Errorf("%s = %v, want %v", k, got[k], exp[k])
		}
	}
	if got["locked_by_registrant_at"] != "2010-07-05T00:00:00.000+03:00" {
		t.Errorf("locked_by_registrant_at = %v", got["locked_by_registrant_at"])
	}
}

// jsonKeys returns an object's top-level keys in order.
func jsonKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func sameSet(a, b any) bool {
	as, aok := a.([]any)
	bs, bok := b.([]any)
	if !aok || !bok || len(as) != len(bs) {
		return false
	}
	for _, x := range as {
		if !slices.ContainsFunc(bs, func(y any) bool { return reflect.DeepEqual(x, y) }) {
			return false
		}
	}
	return true
}

// The supporting model cases (registry_lockable_test.rb), as reglock
// meets them through the client.
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
	info := b.info(t, airport)
	b.sim.EESetStatuses(airport, []string{"serverDeleteProhibited", "serverTransferProhibited"}, info.LockedByRegistrantAt)
	if l, _ := b.sim.Locked(airport); l {
		t.Fatal("still locked by registrant without serverObjUpdateProhibited")
	}
	// Transfers are still blocked, by someone else's status.
	if st, _ := b.client.LockState(ctx, airport); st != (providers.State{Locked: true, ByRegistry: true}) {
		t.Errorf("LockState = %+v", st)
	}
	// A new lock is allowed and restores the full registrant lock.
	code, _ := b.call(t, "POST", "/api/v1/registrant/domains/"+airportUUID+"/registry_lock", fixtureToken)
	if code != 200 {
		t.Errorf("relocking: status %d", code)
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
	info := b.info(t, airport)
	if !hasAll(info.Statuses, "serverForceDelete", "serverTransferProhibited", "serverRenewProhibited") {
		t.Errorf("after unlocking: statuses %v, want the force delete ones kept", info.Statuses)
	}
	// Force delete blocks transfers itself: locked, not by reglock.
	if st, _ := b.client.LockState(ctx, airport); st != (providers.State{Locked: true, ByRegistry: true}) {
		t.Errorf("LockState = %+v", st)
	}
}

func TestSimulator_restoresStatusesOnUnlock(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	b.sim.EESetStatuses(airport, []string{"serverObjUpdateProhibited"}, nil)
	if err := b.client.SetLock(ctx, airport, true); err != nil {
		t.Fatal(err)
	}
	if err := b.client.SetLock(ctx, airport, false); err != nil {
		t.Fatal(err)
	}
	if got := b.info(t, airport).Statuses; !slices.Equal(got, []string{"serverObjUpdateProhibited"}) {
		t.Errorf("statuses after unlock = %v, want the saved [serverObjUpdateProhibited]", got)
	}
}

func TestSimulator_technicalContactListing(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	b.sim.EESetRole(shop, simulator.EERoleTech)
	var names []string
	for name, err := range b.client.Domains(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	if !slices.Equal(names, []string{airport}) {
		t.Errorf("Domains = %v, want the registrant's only", names)
	}
	// An administrative contact may lock.
	b.sim.EESetRole(shop, simulator.EERoleAdmin)
	if err := b.client.SetLock(context.Background(), shop, true); err != nil {
		t.Errorf("SetLock as an administrative contact = %v", err)
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

// A domain moved to another account is ErrNotFound, and never touched.
func TestSimulator_domainMovedAway(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	ctx := context.Background()
	if _, err := b.client.LockState(ctx, shop); err != nil {
		t.Fatal(err)
	}
	b.sim.AddAccount(simulator.EE, "EE-1", "other-token-123456").AddDomain(shop, true)
	err := b.client.SetLock(ctx, shop, false)
	if !errors.Is(err, providers.ErrNotFound) {
		t.Errorf("SetLock = %v, want ErrNotFound", err)
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
	c := b.newClient(t, ee.Config{EID: &ee.EID{Ident: "1234", FirstName: "John", LastName: "Smith", CountryCode: "US"}, Now: clock.Now})
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
	c2 := b.newClient(t, ee.Config{EID: &ee.EID{Ident: "1234", FirstName: "John", LastName: "Smith", CountryCode: "US"}, Now: behind})
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

// An eID login from outside the allow-list is ErrAuth.
func TestSimulator_eidNotAllowed(t *testing.T) {
	b := setupSim(t, simulator.Options{EEAuthAllowedNets: []string{"192.0.2.0/24"}})
	c := b.newClient(t, ee.Config{EID: &ee.EID{Ident: "1234", FirstName: "John", LastName: "Smith", CountryCode: "US"}})
	_, err := c.LockState(context.Background(), shop)
	if !errors.Is(err, providers.ErrAuth) || !providers.IsPermanent(err) {
		t.Errorf("err = %v, want a permanent ErrAuth", err)
	}
}

// The 2018 draft's dialect against the simulator's repp/v1.
func TestSimulator_repp(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	c := b.newClient(t, ee.Config{Token: fixtureToken, API: ee.APIRepp})
	ctx := context.Background()
	for _, locked := range []bool{true, true, false, false} {
		if err := c.SetLock(ctx, shop, locked); err != nil {
			t.Fatalf("SetLock(%v) = %v", locked, err)
		}
		if st, err := c.LockState(ctx, shop); err != nil || st.Locked != locked {
			t.Fatalf("LockState = %+v, %v; want Locked %v", st, err, locked)
		}
	}
	code, body := b.call(t, "POST", "/repp/v1/registrant/domains/random-uuid/registry_lock", fixtureToken)
	if code != 404 {
		t.Errorf("status %d", code)
	}
	assertJSON(t, body, `{"errors":[{"base":"domain does not exist"}]}`)
}

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

// The client never prints its credentials, even through the simulator's
// refusals.
func TestSimulator_badTokenNeverLeaks(t *testing.T) {
	b := setupSim(t, simulator.Options{})
	const bad = "not-the-token-0123456789"
	c := b.newClient(t, ee.Config{Token: secret.String(bad)})
	_, err := c.LockState(context.Background(), shop)
	if !errors.Is(err, providers.ErrAuth) || strings.Contains(fmt.Sprintf("%v %+v %#v", err, err, err), bad) {
		t.Errorf("err = %v", err)
	}
}

// The supporting cases of registrant_api_domains_test.rb,
// registrant_api_authentication_test.rb and registry_lockable_test.rb over
// HTTP, as the registry's own tests send them.
func TestSimulator_supportingCases(t *testing.T) {
	b := setupSim(t, simulator.Options{EEAuthAllowedNets: []string{"1.2.3.4"}})
	lock := "/api/v1/registrant/domains/" + airportUUID + "/registry_lock"
	checks := []struct {
		name, method, path, token string
		status                    int
		body                      string
	}{
		{"limit out of range", "GET", "/api/v1/registrant/domains?limit=400&offset=0", fixtureToken, 400, `{"errors":[{"limit":["parameter is out of range"]}]}`},
		{"offset out of range", "GET", "/api/v1/registrant/domains?limit=200&offset=-10", fixtureToken, 400, `{"errors":[{"offset":["parameter is out of range"]}]}`},
		{"listing without token", "GET", "/api/v1/registrant/domains", "", 401, `{"errors":[{"base":["Not authorized"]}]}`},
		{"unknown domain", "GET", "/api/v1/registrant/domains/random-uuid", fixtureToken, 404, `{"errors":[{"base":["Domain not found"]}]}`},
		{"auth from an address not allowed", "POST", "/api/v1/registrant/auth/eid?foo=bar&test=test", "", 401, `{"errors":[{"base":["Not authorized"]}]}`},
		{"lock", "POST", lock, fixtureToken, 200, ""},
		{"lock twice", "POST", lock, fixtureToken, 422, `{"errors":[{"base":["Domain cannot be locked"]}]}`},
	}
	for _, c := range checks {
		code, body := b.call(t, c.method, c.path, c.token)
		if code != c.status {
			t.Errorf("%s: status %d, want %d", c.name, code, c.status)
		}
		if c.body != "" {
			assertJSON(t, body, c.body)
		}
	}
	// Without an allow-list, a login without parameters is 422 for ident.
	b = setupSim(t, simulator.Options{})
	code, body := b.call(t, "POST", "/api/v1/registrant/auth/eid", "")
	if code != 422 {
		t.Errorf("auth without parameters: status %d", code)
	}
	assertJSON(t, body, `{"errors":[{"ident":["parameter is required"]}]}`)
	// pendingRenew refuses the lock and leaves no timestamp.
	b.sim.EESetStatuses(airport, []string{"pendingRenew"}, nil)
	if code, _ := b.call(t, "POST", lock, fixtureToken); code != 422 || b.info(t, airport).LockedByRegistrantAt != nil {
		t.Errorf("lock with pendingRenew: status %d", code)
	}
}
