package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The .ee client's fixtures: the simulator answers in the same shapes, so
// client and simulator are each pinned to the documents.
const eeFixtures = "../ee/testdata"

// The registry's test fixtures: users(:registrant) is US-1234; airport.test
// has no statuses; shop.test is Best Names'.
const (
	eeUser        = "US-1234"
	eeToken       = "registrant-us-1234-static-token"
	eeAirport     = "airport.test"
	eeAirportUUID = "2df2c1a1-8f6a-490a-81be-8bdf29866880"
	eeShop        = "shop.test"
	eeShopUUID    = "1b3ee442-e8fe-4922-9492-8fcb9dccc69c"
	eeV1Prefix    = "/api/v1/registrant"
	eeReppPrefix  = "/repp/v1/registrant"
)

var eeLock = []string{"serverObjUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited"}

var eeShopDetails = EEDetails{
	Registrar: EERegistrar{Name: "Best Names", Website: "https://bestnames.test"},
	Registrant: EERegistrant{Name: "John", ID: "eb2f2766-b44c-4e14-9f16-32ab1a7cb957", Ident: "1234",
		IdentType: "priv", IdentCountryCode: "US", Phone: "+555.555", Email: "john@inbox.test"},
	AdminContacts: []EEContact{{Name: "Jane", ID: "9db3de62-2414-4487-bee2-d5c155567768", Email: "jane@mail.test"}},
	TechContacts: []EEContact{
		{Name: "William", ID: "0aa54704-d6f7-4ca9-b8ca-2827d9a4e4eb", Email: "william@inbox.test"},
		{Name: "Acme Ltd", ID: "f1dd365c-5be9-4b3d-a44e-3fa002465e4d", Email: "acme@outlook.test"},
	},
	Nameservers: []EENameserver{
		{Hostname: "ns1.bestnames.test", IPv4: []string{"192.0.2.1"}, IPv6: []string{"2001:db8::1"}},
		{Hostname: "ns2.bestnames.test", IPv4: []string{"192.0.2.2"}, IPv6: []string{"2001:db8::2"}},
	},
}

// eeBundle is one simulator with the registry's fixture account, served
// over HTTP.
type eeBundle struct {
	sim  *Simulator
	acct *Account
	url  string
}

func setupEE(t *testing.T, opts Options) *eeBundle {
	t.Helper()
	sim := New(opts)
	acct := sim.AddAccount(EE, eeUser, eeToken)
	acct.AddDomain(eeAirport, false)
	acct.AddDomain(eeShop, false)
	if !sim.EESetUUID(eeAirport, eeAirportUUID) || !sim.EESetUUID(eeShop, eeShopUUID) ||
		!sim.EESetStatuses(eeAirport, nil, nil) || !sim.EESetDetails(eeShop, eeShopDetails) {
		t.Fatal("fixture setup failed")
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &eeBundle{sim: sim, acct: acct, url: srv.URL + "/ee"}
}

// eeAnswer is one HTTP answer.
type eeAnswer struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; header holds extra headers ("Authorization" is set
// from token when not empty).
func (b *eeBundle) do(t *testing.T, method, path, token string, header http.Header, body string) eeAnswer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return eeAnswer{resp.StatusCode, resp.Header, got}
}

func (b *eeBundle) get(t *testing.T, path string) eeAnswer {
	t.Helper()
	return b.do(t, "GET", path, eeToken, nil, "")
}

func (b *eeBundle) lock(t *testing.T, uuid string) eeAnswer {
	t.Helper()
	return b.do(t, "POST", eeV1Prefix+"/domains/"+uuid+"/registry_lock", eeToken, nil, "")
}

func (b *eeBundle) unlock(t *testing.T, uuid string) eeAnswer {
	t.Helper()
	return b.do(t, "DELETE", eeV1Prefix+"/domains/"+uuid+"/registry_lock", eeToken, nil, "")
}

func (b *eeBundle) info(t *testing.T, name string) EEDomainInfo {
	t.Helper()
	info, ok := b.sim.EEDomain(name)
	if !ok {
		t.Fatalf("%s is not a .ee domain", name)
	}
	return info
}

// eeExpect checks an answer's status and that its body equals want as JSON.
func eeExpect(t *testing.T, a eeAnswer, status int, want string) {
	t.Helper()
	if a.status != status {
		t.Errorf("status %d, want %d (body %s)", a.status, status, a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var g, w any
	if err := json.Unmarshal(a.body, &g); err != nil {
		t.Fatalf("body %s: %v", a.body, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("body = %s, want %s", a.body, want)
	}
}

// eeExpectFixture checks an answer's body equals a client fixture.
func eeExpectFixture(t *testing.T, a eeAnswer, status int, fixture string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eeFixtures, fixture))
	if err != nil {
		t.Fatal(err)
	}
	eeExpect(t, a, status, string(b))
}

// eeObject decodes an answer's object.
func eeObject(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	return m
}

func eeStatuses(t *testing.T, body []byte) []string {
	t.Helper()
	var v struct{ Statuses []string }
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatal(err)
	}
	return v.Statuses
}

// eeKeys returns the top-level keys of a JSON object in order.
func eeKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
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

func eeFixtureKeys(t *testing.T, fixture string, item bool) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eeFixtures, fixture))
	if err != nil {
		t.Fatal(err)
	}
	if item {
		var l struct{ Domains []json.RawMessage }
		json.Unmarshal(b, &l)
		b = l.Domains[0]
	}
	return eeKeys(t, b)
}

// TestSimulator_EE_acceptance is registrant_api_registry_locks_test.rb.
func TestSimulator_EE_acceptance(t *testing.T) {
	t.Run("1 can lock a not locked domain", func(t *testing.T) {
		b := setupEE(t, Options{})
		a := b.lock(t, eeAirportUUID)
		if a.status != 200 || !eeHasAll(eeStatuses(t, a.body), eeLock...) {
			t.Errorf("status %d body %s", a.status, a.body)
		}
		if l, _ := b.sim.Locked(eeAirport); !l {
			t.Error("not locked by registrant")
		}
	})
	t.Run("2 locking creates a version record", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.lock(t, eeAirportUUID)
		info := b.info(t, eeAirport)
		if info.Versions != 1 || info.Updator != "1-RegistrantUser: "+eeUser {
			t.Errorf("versions %d updator %q", info.Versions, info.Updator)
		}
	})
	t.Run("3 cannot lock a domain in pending state", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.sim.SetPending(eeAirport, true)
		eeExpect(t, b.lock(t, eeAirportUUID), 422, `{"errors":[{"base":["Domain cannot be locked"]}]}`)
		if info := b.info(t, eeAirport); info.LockedByRegistrantAt != nil || slices.Contains(info.Statuses, eeLock[0]) {
			t.Errorf("a pending domain changed: %+v", info)
		}
	})
	t.Run("4 cannot lock an already locked domain", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.lock(t, eeAirportUUID)
		eeExpect(t, b.lock(t, eeAirportUUID), 422, `{"errors":[{"base":["Domain cannot be locked"]}]}`)
	})
	t.Run("5 can unlock a locked domain", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.lock(t, eeAirportUUID)
		a := b.unlock(t, eeAirportUUID)
		obj := eeObject(t, a.body)
		if a.status != 200 || !slices.Contains(eeStatuses(t, a.body), "ok") || obj["locked_by_registrant_at"] != nil {
			t.Errorf("status %d body %s", a.status, a.body)
		}
		if l, _ := b.sim.Locked(eeAirport); l {
			t.Error("still locked")
		}
	})
	t.Run("6 cannot unlock a not locked domain", func(t *testing.T) {
		b := setupEE(t, Options{})
		eeExpect(t, b.unlock(t, eeAirportUUID), 422, `{"errors":[{"base":["Domain is not locked"]}]}`)
	})
	t.Run("7 returns 404 when domain is not found", func(t *testing.T) {
		b := setupEE(t, Options{})
		eeExpect(t, b.lock(t, "random-uuid"), 404, `{"errors":[{"base":["Domain not found"]}]}`)
	})
	t.Run("8 technical contact cannot lock a domain", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.sim.EESetRole(eeShop, EERoleTech)
		eeExpect(t, b.lock(t, eeShopUUID), 401, `{"errors":[{"base":["Only administrative contacts can manage registry locks"]}]}`)
		if l, _ := b.sim.Locked(eeShop); l {
			t.Error("locked by a technical contact")
		}
	})
	t.Run("9 registrant can lock a domain", func(t *testing.T) {
		b := setupEE(t, Options{})
		a := b.lock(t, eeShopUUID)
		if a.status != 200 || !eeHasAll(eeStatuses(t, a.body), eeLock...) {
			t.Errorf("status %d body %s", a.status, a.body)
		}
	})
	t.Run("10 locking returns the serialized domain object", func(t *testing.T) {
		frozen := time.Date(2010, 7, 4, 21, 0, 0, 0, time.UTC) // 2010-07-05 in Tallinn
		b := setupEE(t, Options{Now: func() time.Time { return frozen }})
		a := b.lock(t, eeShopUUID)
		if a.status != 200 {
			t.Fatalf("status %d", a.status)
		}
		if got, want := eeKeys(t, a.body), eeFixtureKeys(t, "registry_lock_post_success.json", false); !slices.Equal(got, want) {
			t.Errorf("keys = %v\nwant   %v", got, want)
		}
		obj := eeObject(t, a.body)
		checks := map[string]string{
			"registrar":               `{"name":"Best Names","website":"https://bestnames.test"}`,
			"registrant":              `{"name":"John","id":"eb2f2766-b44c-4e14-9f16-32ab1a7cb957","ident":"1234","ident_type":"priv","ident_country_code":"US","phone":"+555.555","email":"john@inbox.test","org":false}`,
			"admin_contacts":          `[{"name":"Jane","id":"9db3de62-2414-4487-bee2-d5c155567768","email":"jane@mail.test"}]`,
			"tech_contacts":           `[{"name":"William","id":"0aa54704-d6f7-4ca9-b8ca-2827d9a4e4eb","email":"william@inbox.test"},{"name":"Acme Ltd","id":"f1dd365c-5be9-4b3d-a44e-3fa002465e4d","email":"acme@outlook.test"}]`,
			"nameservers":             `[{"hostname":"ns1.bestnames.test","ipv4":["192.0.2.1"],"ipv6":["2001:db8::1"]},{"hostname":"ns2.bestnames.test","ipv4":["192.0.2.2"],"ipv6":["2001:db8::2"]}]`,
			"locked_by_registrant_at": `"2010-07-05T00:00:00.000+03:00"`,
			"updated_at":              `"2010-07-05T00:00:00.000+03:00"`,
			"statuses":                `["serverObjUpdateProhibited","serverDeleteProhibited","serverTransferProhibited"]`,
			"id":                      `"` + eeShopUUID + `"`,
			"name_puny":               `"shop.test"`,
		}
		for k, want := range checks {
			var w any
			json.Unmarshal([]byte(want), &w)
			if !reflect.DeepEqual(obj[k], w) {
				t.Errorf("%s = %v, want %s", k, obj[k], want)
			}
		}
	})
}

// TestSimulator_EE_model is registry_lockable_test.rb.
func TestSimulator_EE_model(t *testing.T) {
	t.Run("lock on clean domain", func(t *testing.T) {
		b := setupEE(t, Options{})
		a := b.lock(t, eeAirportUUID)
		if got := eeStatuses(t, a.body); !slices.Equal(got, eeLock) || b.info(t, eeAirport).LockedByRegistrantAt == nil {
			t.Errorf("statuses %v", got)
		}
	})
	t.Run("lock twice", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.lock(t, eeAirportUUID)
		if a := b.lock(t, eeAirportUUID); a.status != 422 {
			t.Errorf("second lock: status %d", a.status)
		}
		if l, _ := b.sim.Locked(eeAirport); !l {
			t.Error("no longer locked")
		}
	})
	t.Run("pendingRenew refuses the lock", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.sim.EESetStatuses(eeAirport, []string{"pendingRenew"}, nil)
		if a := b.lock(t, eeAirportUUID); a.status != 422 || b.info(t, eeAirport).LockedByRegistrantAt != nil {
			t.Errorf("status %d", a.status)
		}
	})
	t.Run("every pending status refuses the lock", func(t *testing.T) {
		for _, st := range []string{"pendingDeleteConfirmation", "pendingCreate", "pendingUpdate", "pendingDelete", "pendingRenew", "pendingTransfer"} {
			b := setupEE(t, Options{})
			b.sim.EESetStatuses(eeAirport, []string{st}, nil)
			if a := b.lock(t, eeAirportUUID); a.status != 422 {
				t.Errorf("%s: status %d", st, a.status)
			}
		}
	})
	t.Run("unlock after lock on clean domain", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.lock(t, eeAirportUUID)
		a := b.unlock(t, eeAirportUUID)
		if got := eeStatuses(t, a.body); !slices.Equal(got, []string{"ok"}) || b.info(t, eeAirport).LockedByRegistrantAt != nil {
			t.Errorf("statuses %v", got)
		}
	})
	t.Run("unlock when not locked", func(t *testing.T) {
		b := setupEE(t, Options{})
		if a := b.unlock(t, eeAirportUUID); a.status != 422 {
			t.Errorf("status %d", a.status)
		}
		if got := b.info(t, eeAirport).Statuses; len(got) != 0 {
			t.Errorf("statuses changed to %v", got)
		}
	})
	t.Run("admin set the lock statuses", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.sim.EESetStatuses(eeAirport, eeLock, nil)
		eeExpect(t, b.unlock(t, eeAirportUUID), 422, `{"errors":[{"base":["Domain is not locked"]}]}`)
	})
	t.Run("saved statuses are restored", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.sim.EESetStatuses(eeAirport, []string{"serverObjUpdateProhibited"}, nil)
		b.lock(t, eeAirportUUID)
		if got := b.info(t, eeAirport).StatusHistory; !slices.Equal(got, []string{"serverObjUpdateProhibited"}) {
			t.Errorf("history %v", got)
		}
		if got := eeStatuses(t, b.unlock(t, eeAirportUUID).body); !slices.Equal(got, []string{"serverObjUpdateProhibited"}) {
			t.Errorf("after unlock %v", got)
		}
	})
	t.Run("admin removes serverObjUpdateProhibited", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.lock(t, eeAirportUUID)
		at := b.info(t, eeAirport).LockedByRegistrantAt
		b.sim.EESetStatuses(eeAirport, []string{"serverDeleteProhibited", "serverTransferProhibited"}, at)
		if l, _ := b.sim.Locked(eeAirport); l {
			t.Error("still locked by registrant")
		}
		// A new lock is allowed; unlocking it restores the admin's state.
		if a := b.lock(t, eeAirportUUID); a.status != 200 {
			t.Errorf("relock: status %d", a.status)
		}
		if got := eeStatuses(t, b.unlock(t, eeAirportUUID).body); !slices.Equal(got, []string{"serverDeleteProhibited", "serverTransferProhibited"}) {
			t.Errorf("after unlock %v", got)
		}
	})
	t.Run("force delete", func(t *testing.T) {
		b := setupEE(t, Options{})
		b.sim.EESetForceDelete(eeAirport, true)
		if a := b.lock(t, eeAirportUUID); a.status != 200 {
			t.Fatalf("lock during force delete: status %d", a.status)
		}
		got := eeStatuses(t, b.unlock(t, eeAirportUUID).body)
		if !eeHasAll(got, "serverForceDelete", "serverTransferProhibited", "serverRenewProhibited") || slices.Contains(got, "serverObjUpdateProhibited") {
			t.Errorf("after unlock %v", got)
		}
		if obj := eeObject(t, b.get(t, eeV1Prefix+"/domains/"+eeAirportUUID).body); obj["force_delete_date"] == nil {
			t.Error("no force_delete_date")
		}
		// Cancelling while locked keeps the lock.
		b.lock(t, eeAirportUUID)
		b.sim.EESetForceDelete(eeAirport, false)
		if got := b.info(t, eeAirport).Statuses; len(got) != 3 || !eeHasAll(got, eeLock...) {
			t.Errorf("after cancelling force delete: %v", got)
		}
	})
	t.Run("extensionsProhibited", func(t *testing.T) {
		for _, how := range []string{"query", "json", "form"} {
			b := setupEE(t, Options{})
			path, body, h := eeV1Prefix+"/domains/"+eeAirportUUID+"/registry_lock", "", http.Header{}
			switch how {
			case "query":
				path += "?extensionsProhibited=True"
			case "json":
				body, h["Content-Type"] = `{"extensionsProhibited":true}`, []string{"application/json"}
			case "form":
				body, h["Content-Type"] = "extensionsProhibited=true", []string{"application/x-www-form-urlencoded"}
			}
			a := b.do(t, "POST", path, eeToken, h, body)
			if got := eeStatuses(t, a.body); !slices.Equal(got, append(slices.Clone(eeLock), "serverExtensionUpdateProhibited")) {
				t.Errorf("%s: statuses %v", how, got)
			}
			if got := eeStatuses(t, b.unlock(t, eeAirportUUID).body); !slices.Equal(got, []string{"ok"}) {
				t.Errorf("%s: after unlock %v", how, got)
			}
		}
	})
	t.Run("bad JSON body", func(t *testing.T) {
		b := setupEE(t, Options{})
		a := b.do(t, "POST", eeV1Prefix+"/domains/"+eeAirportUUID+"/registry_lock", eeToken, http.Header{"Content-Type": {"application/json"}}, "{")
		eeExpect(t, a, 400, `{"status":400,"error":"Bad Request"}`)
	})
}

// The drift hooks keep the shared core and the registry view in step.
func TestSimulator_EE_hooks(t *testing.T) {
	sim := New(Options{})
	a := sim.AddAccount(EE, eeUser, eeToken)
	a.AddDomain("locked.ee", true)
	a.AddDomain("open.ee", false)
	if info, _ := sim.EEDomain("locked.ee"); !slices.Equal(info.Statuses, eeLock) || info.LockedByRegistrantAt == nil ||
		!slices.Equal(info.StatusHistory, []string{"ok"}) {
		t.Errorf("added locked: %+v", info)
	}
	if info, _ := sim.EEDomain("open.ee"); !slices.Equal(info.Statuses, []string{"ok"}) || info.LockedByRegistrantAt != nil {
		t.Errorf("added unlocked: %+v", info)
	}
	sim.SetLocked("locked.ee", false)
	if info, _ := sim.EEDomain("locked.ee"); !slices.Equal(info.Statuses, []string{"ok"}) || info.LockedByRegistrantAt != nil {
		t.Errorf("after drift to unlocked: %+v", info)
	}
	sim.SetLocked("open.ee", true)
	if l, _ := sim.Locked("open.ee"); !l {
		t.Error("drift to locked did not lock")
	}
	if d, _ := sim.Domain("open.ee"); !d.Locked {
		t.Error("DomainInfo does not read the registry's lock")
	}
	sim.SetPending("open.ee", true)
	if info, _ := sim.EEDomain("open.ee"); !slices.Contains(info.Statuses, "pendingUpdate") {
		t.Errorf("pending: %+v", info)
	}
	if d, _ := sim.Domain("open.ee"); !d.Pending || !d.Locked {
		t.Errorf("DomainInfo = %+v", d)
	}
	sim.SetPending("open.ee", false)
	sim.SetLocked("open.ee", false)
	if info, _ := sim.EEDomain("open.ee"); !slices.Equal(info.Statuses, []string{"ok"}) {
		t.Errorf("after clearing: %+v", info)
	}
	// Drift on a registry-set lock drops the statuses too.
	sim.EESetStatuses("open.ee", append(slices.Clone(eeLock), "clientHold"), nil)
	sim.SetLocked("open.ee", false)
	if info, _ := sim.EEDomain("open.ee"); !slices.Equal(info.Statuses, []string{"clientHold"}) {
		t.Errorf("after removing an admin lock: %+v", info)
	}
	if got := sim.EEDomainUUID("open.ee"); got != eeFormatUUID(eeNameUUID("open.ee")) {
		t.Errorf("UUID %s", got)
	}
	// The documented name-based UUID (RFC 9562's example).
	if got := eeFormatUUID(eeNameUUID("python.org")); got != "886313e1-3b8a-5372-9b90-0c9aee199e5d" {
		t.Errorf("UUIDv5(python.org) = %s", got)
	}
	// Unknown domains and bad input.
	if sim.EESetUUID("nosuch.ee", eeShopUUID) || sim.EESetUUID("open.ee", "nope") || sim.EESetRole("open.ee", "owner") ||
		sim.EESetRole("nosuch.ee", EERoleTech) || sim.EESetStatuses("nosuch.ee", nil, nil) || sim.EESetForceDelete("nosuch.ee", true) ||
		sim.EESetDetails("nosuch.ee", EEDetails{}) || sim.EEDomainUUID("nosuch.ee") != "" {
		t.Error("a control accepted an unknown domain or a bad value")
	}
	// Two domains cannot share a UUID.
	sim.EESetUUID("open.ee", eeShopUUID)
	if sim.EESetUUID("locked.ee", eeShopUUID) {
		t.Error("two domains got one UUID")
	}
	// Other kinds have no registry view.
	sim.AddAccount(ENom, "x", "y").AddDomain("example.com", true)
	if _, ok := sim.EEDomain("example.com"); ok {
		t.Error("an eNom domain has a .ee view")
	}
}

// Moving a domain between accounts keeps the indexes right.
func TestSimulator_EE_moves(t *testing.T) {
	b := setupEE(t, Options{})
	other := b.sim.AddAccount(EE, "EE-1", "other-token-0123456789")
	other.AddDomain(eeShop, true) // moves; a new registration gets a new (name-based) UUID
	if a := b.get(t, eeV1Prefix+"/domains/"+eeShopUUID); a.status != 404 {
		t.Errorf("old UUID: status %d", a.status)
	}
	newUUID := b.sim.EEDomainUUID(eeShop)
	if a := b.get(t, eeV1Prefix+"/domains/"+newUUID); a.status != 404 {
		t.Errorf("another account's domain: status %d", a.status)
	}
	if a := b.do(t, "GET", eeV1Prefix+"/domains/"+newUUID, "other-token-0123456789", nil, ""); a.status != 200 {
		t.Errorf("new owner: status %d", a.status)
	}
	l := eeGetList(t, b, "")
	if l.Total != 1 || len(l.Domains) != 1 || l.Domains[0]["name"] != eeAirport {
		t.Errorf("listing after the move: %+v", l)
	}
	// A domain that leaves the inventory without the hook drops out too.
	b.sim.mu.Lock()
	delete(b.sim.domains, eeAirport)
	b.sim.mu.Unlock()
	if l := eeGetList(t, b, ""); l.Total != 0 || len(l.Domains) != 0 {
		t.Errorf("listing after a removal: %+v", l)
	}
	// And back, re-added to the same account twice.
	b.acct.AddDomain(eeShop, false)
	b.acct.AddDomain(eeShop, false)
	if l := eeGetList(t, b, ""); l.Total != 1 || l.Count != 1 || l.Domains[0]["name"] != eeShop {
		t.Errorf("listing after moving back: %+v", l)
	}
}

type eeListing struct {
	Total   int              `json:"total"`
	Count   int              `json:"count"`
	Domains []map[string]any `json:"domains"`
}

func eeGetList(t *testing.T, b *eeBundle, query string) eeListing {
	t.Helper()
	a := b.get(t, eeV1Prefix+"/domains"+query)
	if a.status != 200 {
		t.Fatalf("listing %s: status %d %s", query, a.status, a.body)
	}
	var l eeListing
	if err := json.Unmarshal(a.body, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func eeNames(l eeListing) []string {
	var out []string
	for _, d := range l.Domains {
		out = append(out, d["name"].(string))
	}
	return out
}

// registrant_api_domains_test.rb, and the listing's paging.
func TestSimulator_EE_listing(t *testing.T) {
	b := setupEE(t, Options{})
	for _, n := range []string{"metro.test", "hospital.test", "library.test"} {
		b.acct.AddDomain(n, false)
	}
	b.sim.EESetRole("metro.test", EERoleTech)
	b.sim.AddAccount(EE, "EE-1", "other-token-0123456789").AddDomain("theirs.test", true)

	t.Run("default excludes technical contact domains", func(t *testing.T) {
		l := eeGetList(t, b, "")
		if l.Total != 5 || l.Count != 4 || len(l.Domains) != l.Count {
			t.Errorf("total %d count %d domains %d", l.Total, l.Count, len(l.Domains))
		}
		if got := eeNames(l); !slices.Equal(got, []string{eeAirport, eeShop, "hospital.test", "library.test"}) {
			t.Errorf("names %v", got)
		}
	})
	t.Run("tech=true includes them", func(t *testing.T) {
		if l := eeGetList(t, b, "?tech=true"); l.Count != 5 || len(l.Domains) != 5 {
			t.Errorf("count %d", l.Count)
		}
		if l := eeGetList(t, b, "?tech=init"); l.Count != 5 {
			t.Errorf("tech=init under 3000 domains: count %d", l.Count)
		}
	})
	t.Run("limit and offset", func(t *testing.T) {
		l := eeGetList(t, b, "?limit=2&offset=0")
		if len(l.Domains) != 2 || l.Count != 4 {
			t.Errorf("limit=2: %d domains, count %d", len(l.Domains), l.Count)
		}
		if got := eeNames(eeGetList(t, b, "?limit=2&offset=3")); !slices.Equal(got, []string{"library.test"}) {
			t.Errorf("offset=3: %v", got)
		}
		if l := eeGetList(t, b, "?offset=99"); len(l.Domains) != 0 || l.Count != 4 {
			t.Errorf("offset past the end: %+v", l)
		}
		if l := eeGetList(t, b, "?limit=%202abc"); len(l.Domains) != 2 {
			t.Errorf("limit=' 2abc' reads as 2 (to_i): %d", len(l.Domains))
		}
	})
	t.Run("out of range", func(t *testing.T) {
		for q, field := range map[string]string{
			"?limit=400&offset=0": "limit", "?limit=0": "limit", "?limit=abc": "limit", "?limit=": "limit",
			"?limit=200&offset=-10": "offset",
		} {
			eeExpect(t, b.get(t, eeV1Prefix+"/domains"+q), 400, `{"errors":[{"`+field+`":["parameter is out of range"]}]}`)
		}
	})
	t.Run("shapes", func(t *testing.T) {
		full := b.get(t, eeV1Prefix+"/domains?limit=1")
		var l struct{ Domains []json.RawMessage }
		json.Unmarshal(full.body, &l)
		if got, want := eeKeys(t, l.Domains[0]), eeFixtureKeys(t, "domains_page1.json", true); !slices.Equal(got, want) {
			t.Errorf("full keys %v\nwant %v", got, want)
		}
		if got := eeKeys(t, full.body); !slices.Equal(got, []string{"total", "count", "domains"}) {
			t.Errorf("envelope keys %v", got)
		}
		simple := b.get(t, eeV1Prefix+"/domains?limit=1&simple=true")
		json.Unmarshal(simple.body, &l)
		if got, want := eeKeys(t, l.Domains[0]), eeFixtureKeys(t, "domains_resolve.json", true); !slices.Equal(got, want) {
			t.Errorf("simple keys %v\nwant %v", got, want)
		}
	})
	t.Run("no token", func(t *testing.T) {
		eeExpect(t, b.do(t, "GET", eeV1Prefix+"/domains", "", nil, ""), 401, `{"errors":[{"base":["Not authorized"]}]}`)
	})
	t.Run("listing does not count as a read", func(t *testing.T) {
		if n := b.sim.Reads(eeAirport); n != 0 {
			t.Errorf("reads %d", n)
		}
	})
}

// tech=init switches to the default scope at 3000 domains.
func TestSimulator_EE_techInit(t *testing.T) {
	b := setupEE(t, Options{})
	b.sim.EESetRole(eeShop, EERoleTech)
	for i := range 3000 {
		b.acct.AddDomain(fmt.Sprintf("d%04d.ee", i), false)
	}
	if l := eeGetList(t, b, "?tech=init&limit=1"); l.Total != 3002 || l.Count != 3001 {
		t.Errorf("total %d count %d", l.Total, l.Count)
	}
}

// Paging a large account is O(limit) per page: the listing keeps an index.
func TestSimulator_EE_largeAccount(t *testing.T) {
	sim := New(Options{})
	a := sim.AddAccount(EE, eeUser, eeToken)
	const n = 50000
	for i := range n {
		a.AddDomain(fmt.Sprintf("d%06d.ee", i), i%2 == 0)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	b := &eeBundle{sim: sim, acct: a, url: srv.URL + "/ee"}
	l := eeGetList(t, b, fmt.Sprintf("?limit=200&offset=%d", n-100))
	if l.Count != n || len(l.Domains) != 100 || l.Domains[0]["name"] != fmt.Sprintf("d%06d.ee", n-100) {
		t.Errorf("count %d, %d domains, first %v", l.Count, len(l.Domains), l.Domains[0]["name"])
	}
	if l.Domains[0]["locked_by_registrant_at"] == nil {
		t.Error("an even domain reads unlocked")
	}
}

func TestSimulator_EE_show(t *testing.T) {
	b := setupEE(t, Options{})
	b.sim.AddAccount(EE, "EE-1", "other-token-0123456789").AddDomain("theirs.test", true)
	a := b.get(t, eeV1Prefix+"/domains/"+eeShopUUID)
	obj := eeObject(t, a.body)
	if a.status != 200 || obj["name"] != eeShop || obj["id"] != eeShopUUID {
		t.Errorf("status %d body %s", a.status, a.body)
	}
	for _, k := range []string{"locked_by_registrant_at", "dnssec_changed_at"} {
		if _, ok := obj[k]; !ok {
			t.Errorf("no %s", k)
		}
	}
	if n := b.sim.Reads(eeShop); n != 1 {
		t.Errorf("reads %d, want 1", n)
	}
	// PostgreSQL reads UUIDs in upper case, without hyphens, in braces.
	for _, id := range []string{strings.ToUpper(eeShopUUID), strings.ReplaceAll(eeShopUUID, "-", ""), "{" + eeShopUUID + "}"} {
		if a := b.get(t, eeV1Prefix+"/domains/"+id); a.status != 200 {
			t.Errorf("%s: status %d", id, a.status)
		}
	}
	notFound := `{"errors":[{"base":["Domain not found"]}]}`
	for _, id := range []string{"random-uuid", eeShopUUID + "0", b.sim.EEDomainUUID("theirs.test"), "1b3ee442-e8fe-4922-9492-8fcb9dccc69-c"} {
		eeExpect(t, b.get(t, eeV1Prefix+"/domains/"+id), 404, notFound)
	}
	// A technical contact sees the domain.
	b.sim.EESetRole(eeShop, EERoleTech)
	if a := b.get(t, eeV1Prefix+"/domains/"+eeShopUUID); a.status != 200 {
		t.Errorf("technical contact: status %d", a.status)
	}
	eeExpect(t, b.do(t, "GET", eeV1Prefix+"/domains/"+eeShopUUID, "", nil, ""), 401, `{"errors":[{"base":["Not authorized"]}]}`)
	// A generated domain has generated details.
	b.acct.AddDomain("xn--un-bka.ee", false)
	obj = eeObject(t, b.get(t, eeV1Prefix+"/domains/"+b.sim.EEDomainUUID("xn--un-bka.ee")).body)
	if obj["name"] != "õun.ee" || obj["name_puny"] != "xn--un-bka.ee" || obj["registrar"] == nil || len(obj["nameservers"].([]any)) != 2 {
		t.Errorf("generated object %v", obj)
	}
}

// registrant_api_authentication_test.rb and the Bearer checks.
func TestSimulator_EE_auth(t *testing.T) {
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	formCT := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	t.Run("not allowed address", func(t *testing.T) {
		b := setupEE(t, Options{EEAuthAllowedNets: []string{"1.2.3.4"}})
		eeExpect(t, b.do(t, "POST", eeV1Prefix+"/auth/eid", "", formCT, "foo=bar&test=test"), 401, `{"errors":[{"base":["Not authorized"]}]}`)
	})
	t.Run("parameters required, in order", func(t *testing.T) {
		b := setupEE(t, Options{})
		for body, field := range map[string]string{
			"foo=bar&test=test":                       "ident",
			"first_name=a&last_name=b":                "ident",
			"ident=%20&first_name=a&last_name=b":      "ident",
			"ident=1&last_name=b":                     "first_name",
			"ident=1&first_name=a":                    "last_name",
			"ident=1&first_name=a&last_name=":         "last_name",
			`{"ident":1,"first_name":"a"}`:            "last_name",
			`{"ident":false,"first_name":"a","x":[]}`: "ident",
		} {
			h := formCT
			if strings.HasPrefix(body, "{") {
				h = jsonCT
			}
			eeExpect(t, b.do(t, "POST", eeV1Prefix+"/auth/eid", "", h, body), 422, `{"errors":[{"`+field+`":["parameter is required"]}]}`)
		}
	})
	t.Run("login", func(t *testing.T) {
		now := time.Date(2018, 7, 13, 9, 30, 51, 0, time.UTC)
		b := setupEE(t, Options{Now: func() time.Time { return now }, EEAuthAllowedNets: []string{"127.0.0.0/8", "::1"}})
		a := b.do(t, "POST", eeV1Prefix+"/auth/eid", "", jsonCT, `{"ident":"1234","first_name":"John","last_name":"Smith","country_code":"us"}`)
		if a.status != 200 {
			t.Fatalf("status %d: %s", a.status, a.body)
		}
		if got, want := eeKeys(t, a.body), eeFixtureKeys(t, "auth_eid_success.json", false); !slices.Equal(got, want) {
			t.Errorf("keys %v, want %v", got, want)
		}
		obj := eeObject(t, a.body)
		if obj["expires_at"] != "2018-07-13 11:30:51 UTC" || obj["type"] != "Bearer" {
			t.Errorf("answer %s", a.body)
		}
		tok := obj["access_token"].(string)
		if !regexp.MustCompile(`^[A-Za-z0-9_=-]{40,}$`).MatchString(tok) {
			t.Errorf("token %q", tok)
		}
		// US-1234 is the fixture account.
		if l := eeGetList(t, b, ""); l.Count != 2 {
			t.Errorf("static token sees %d", l.Count)
		}
		a = b.do(t, "GET", eeV1Prefix+"/domains", tok, nil, "")
		if a.status != 200 || eeObject(t, a.body)["count"] != 2.0 {
			t.Errorf("with the eID token: %d %s", a.status, a.body)
		}
		// A new login under another name invalidates the old token.
		b.do(t, "POST", eeV1Prefix+"/auth/eid", "", formCT, "ident=1234&first_name=Johnny&last_name=Smith&country_code=US")
		if a := b.do(t, "GET", eeV1Prefix+"/domains", tok, nil, ""); a.status != 401 {
			t.Errorf("old token after a rename: status %d", a.status)
		}
	})
	t.Run("eID user without an account", func(t *testing.T) {
		b := setupEE(t, Options{})
		a := b.do(t, "POST", eeV1Prefix+"/auth/eid?ident=30110100103&first_name=John&last_name=Smith", "", nil, "")
		tok := eeObject(t, a.body)["access_token"].(string)
		if l := b.do(t, "GET", eeV1Prefix+"/domains", tok, nil, ""); l.status != 200 || !strings.Contains(string(l.body), `"count":0`) {
			t.Errorf("listing: %d %s", l.status, l.body)
		}
		if a := b.do(t, "GET", eeV1Prefix+"/domains/"+eeShopUUID, tok, nil, ""); a.status != 404 {
			t.Errorf("GET: %d", a.status)
		}
		if got := b.sim.Log(); got[len(got)-1].Account != "EE-30110100103" {
			t.Errorf("logged account %q", got[len(got)-1].Account)
		}
	})
	t.Run("tokens", func(t *testing.T) {
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
		b := setupEE(t, Options{Now: clock})
		tok := b.sim.EEIssueToken(eeUser, eeTokenValidity)
		if a := b.do(t, "GET", eeV1Prefix+"/domains", tok, nil, ""); a.status != 200 {
			t.Errorf("fresh token: %d", a.status)
		}
		mu.Lock()
		now = now.Add(eeTokenValidity)
		mu.Unlock()
		notAuthorized := `{"errors":[{"base":["Not authorized"]}]}`
		eeExpect(t, b.do(t, "GET", eeV1Prefix+"/domains", tok, nil, ""), 401, notAuthorized)
		eeExpect(t, b.do(t, "GET", eeV1Prefix+"/domains", b.sim.EEIssueToken(eeUser, 0), nil, ""), 401, notAuthorized)
		eeExpect(t, b.do(t, "GET", eeV1Prefix+"/domains", "invalid", nil, ""), 401, notAuthorized)
		a := b.do(t, "GET", eeV1Prefix+"/domains", "", http.Header{"Authorization": {"Basic " + eeToken}}, "")
		eeExpect(t, a, 401, notAuthorized)
		a = b.do(t, "GET", eeV1Prefix+"/domains", "", http.Header{"Authorization": {"bearer " + eeToken}}, "")
		eeExpect(t, a, 401, notAuthorized)
	})
}

func TestEEClientIP(t *testing.T) {
	tests := []struct {
		peer, xff, want string
	}{
		{"127.0.0.1:5000", "", "127.0.0.1"},
		{"127.0.0.1:5000", "203.0.113.9", "203.0.113.9"},
		{"127.0.0.1:5000", "198.51.100.1, 203.0.113.9, 10.0.0.2", "203.0.113.9"},
		{"10.0.0.1:5000", "192.168.1.1, 10.0.0.3", "192.168.1.1"},
		{"203.0.113.5:5000", "198.51.100.1", "203.0.113.5"}, // an untrusted peer cannot claim another address
		{"[::1]:5000", "2001:db8::7", "2001:db8::7"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = tt.peer
		if tt.xff != "" {
			r.Header.Set("X-Forwarded-For", tt.xff)
		}
		if got := eeClientIP(r); got != tt.want {
			t.Errorf("peer %s XFF %q: %s, want %s", tt.peer, tt.xff, got, tt.want)
		}
	}
	s := New(Options{EEAuthAllowedNets: []string{"192.0.2.0/24", " 2001:db8::1 ", "garbage"}})
	for ip, want := range map[string]bool{"192.0.2.77": true, "::ffff:192.0.2.1": true, "2001:db8::1": true, "192.0.3.1": false, "garbage": true, "": false} {
		if got := s.eeAllowed(ip); got != want {
			t.Errorf("allowed(%q) = %v", ip, got)
		}
	}
}

func TestSimulator_EE_cors(t *testing.T) {
	b := setupEE(t, Options{})
	origin := http.Header{"Origin": {"https://example.com"}}
	a := b.do(t, "OPTIONS", eeV1Prefix+"/auth/eid", "", origin, "")
	if a.status != 200 || len(a.body) != 0 {
		t.Errorf("OPTIONS: %d %q", a.status, a.body)
	}
	for k, want := range map[string]string{
		"Access-Control-Allow-Origin":  "https://example.com",
		"Access-Control-Allow-Methods": "POST, GET, PUT, PATCH, DELETE, OPTIONS",
		"Access-Control-Allow-Headers": "Origin, Content-Type, Accept, Authorization, Token, Auth-Token, Email, X-User-Token, X-User-Email",
		"Access-Control-Max-Age":       "3600",
	} {
		if got := a.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	for _, c := range []struct{ method, path string }{{"POST", "/auth/eid"}, {"GET", "/domains"}, {"GET", "/domains/x"}} {
		if got := b.do(t, c.method, eeV1Prefix+c.path, eeToken, origin, "").header.Get("Access-Control-Allow-Origin"); got != "https://example.com" {
			t.Errorf("%s %s: Allow-Origin %q", c.method, c.path, got)
		}
	}
	if got := b.get(t, eeV1Prefix+"/domains").header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("without Origin: %q", got)
	}
}

func TestSimulator_EE_routes(t *testing.T) {
	b := setupEE(t, Options{})
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/registrant/nope"},
		{"PUT", eeV1Prefix + "/domains/" + eeShopUUID + "/registry_lock"},
		{"GET", eeV1Prefix + "/domains/" + eeShopUUID + "/registry_lock"},
		{"GET", "/api/v2/registrant/domains"},
		{"GET", "/"},
		{"GET", eeV1Prefix + "/auth/eid"},
	} {
		eeExpect(t, b.do(t, c.method, c.path, eeToken, nil, ""), 404, `{"status":404,"error":"Not Found"}`)
	}
	// Trailing slash and format suffix, as Rails routes them.
	if a := b.get(t, eeV1Prefix+"/domains/"); a.status != 200 {
		t.Errorf("trailing slash: %d", a.status)
	}
	if a := b.get(t, eeV1Prefix+"/domains/"+eeShopUUID+".json"); a.status != 200 {
		t.Errorf(".json: %d", a.status)
	}
}

// The 2018 draft's dialect.
func TestSimulator_EE_repp(t *testing.T) {
	b := setupEE(t, Options{})
	lock := func(method, uuid string) eeAnswer {
		return b.do(t, method, eeReppPrefix+"/domains/"+uuid+"/registry_lock", eeToken, nil, "")
	}
	a := lock("POST", eeShopUUID)
	if a.status != 200 {
		t.Fatalf("status %d", a.status)
	}
	if got, want := eeKeys(t, a.body), eeFixtureKeys(t, "registry_lock_post_repp.json", false); !slices.Equal(got, want) {
		t.Errorf("keys %v\nwant %v", got, want)
	}
	obj := eeObject(t, a.body)
	if obj["uuid"] != eeShopUUID || !reflect.DeepEqual(obj["statuses"], []any{"serverUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited"}) {
		t.Errorf("answer %s", a.body)
	}
	if !regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`).MatchString(obj["updated_at"].(string)) {
		t.Errorf("updated_at %v", obj["updated_at"])
	}
	eeExpectFixture(t, lock("POST", eeShopUUID), 400, "error_400_cannot_lock_repp.json")
	if a := lock("DELETE", eeShopUUID); a.status != 200 || !reflect.DeepEqual(eeObject(t, a.body)["statuses"], []any{"ok"}) {
		t.Errorf("unlock: %d %s", a.status, a.body)
	}
	eeExpectFixture(t, lock("DELETE", eeShopUUID), 400, "error_400_cannot_unlock_repp.json")
	eeExpectFixture(t, lock("POST", "random-uuid"), 404, "error_404_repp.json")
	eeExpect(t, b.do(t, "GET", eeReppPrefix+"/domains", "x", nil, ""), 401, `{"errors":[{"base":"Not authorized"}]}`)
	eeExpect(t, b.get(t, eeReppPrefix+"/domains?limit=201"), 400, `{"errors":[{"limit":"parameter is out of range"}]}`)
	b.sim.EESetRole(eeShop, EERoleTech)
	eeExpect(t, lock("POST", eeShopUUID), 401, `{"errors":[{"base":"Only administrative contacts can manage registry locks"}]}`)
	a = b.get(t, eeReppPrefix+"/domains?tech=true")
	var l struct {
		Count   int
		Domains []json.RawMessage
	}
	json.Unmarshal(a.body, &l)
	if l.Count != 2 || !slices.Contains(eeKeys(t, l.Domains[0]), "uuid") {
		t.Errorf("listing %s", a.body)
	}
	if a := b.get(t, eeReppPrefix+"/domains/"+eeAirportUUID); a.status != 200 || eeObject(t, a.body)["uuid"] != eeAirportUUID {
		t.Errorf("show: %d %s", a.status, a.body)
	}
}

// The error bodies are the client's fixtures, byte for byte as JSON.
func TestSimulator_EE_errorFixtures(t *testing.T) {
	b := setupEE(t, Options{})
	b.sim.EESetRole(eeShop, EERoleTech)
	eeExpectFixture(t, b.unlock(t, eeAirportUUID), 422, "error_422_not_locked.json")
	b.lock(t, eeAirportUUID)
	eeExpectFixture(t, b.lock(t, eeAirportUUID), 422, "error_422_cannot_lock.json")
	eeExpectFixture(t, b.lock(t, "random-uuid"), 404, "error_404.json")
	eeExpectFixture(t, b.lock(t, eeShopUUID), 401, "error_401_not_admin.json")
	eeExpectFixture(t, b.do(t, "GET", eeV1Prefix+"/domains", "", nil, ""), 401, "error_401_not_authorized.json")
	eeExpectFixture(t, b.get(t, eeV1Prefix+"/domains?limit=400&offset=0"), 400, "error_400_limit.json")
	eeExpectFixture(t, b.get(t, eeV1Prefix+"/domains?limit=200&offset=-10"), 400, "error_400_offset.json")
	eeExpectFixture(t, b.do(t, "POST", eeV1Prefix+"/auth/eid", "", nil, ""), 422, "error_422_ident_required.json")
	b.acct.FailNext(1, FaultError)
	eeExpectFixture(t, b.get(t, eeV1Prefix+"/domains"), 500, "error_500_rails.json")
}

func TestSimulator_EE_faults(t *testing.T) {
	tests := []struct {
		fault  Fault
		status int
		check  func(t *testing.T, a eeAnswer)
	}{
		{FaultUnavailable, 503, func(t *testing.T, a eeAnswer) {
			if !strings.Contains(string(a.body), "Service Unavailable") || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") {
				t.Errorf("body %s", a.body)
			}
		}},
		{FaultBusy, 429, func(t *testing.T, a eeAnswer) {
			if a.header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
			}
		}},
		{FaultRateLimited, 429, func(t *testing.T, a eeAnswer) {
			if a.header.Get("Retry-After") != "1" {
				t.Errorf("Retry-After %q", a.header.Get("Retry-After"))
			}
		}},
		{FaultError, 500, func(t *testing.T, a eeAnswer) {
			if !json.Valid(a.body) {
				t.Errorf("body %s", a.body)
			}
		}},
		{FaultMalformed, 200, func(t *testing.T, a eeAnswer) {
			if json.Valid(a.body) || len(a.body) == 0 {
				t.Errorf("body %s is not truncated JSON", a.body)
			}
		}},
		{FaultFalseUnlocked, 500, func(*testing.T, eeAnswer) {}},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			b := setupEE(t, Options{})
			for _, path := range []string{"/domains", "/domains/" + eeShopUUID, "/domains/" + eeShopUUID + "/registry_lock"} {
				method := "GET"
				if strings.HasSuffix(path, "registry_lock") {
					method = "POST"
				}
				b.acct.FailNext(1, tt.fault)
				a := b.do(t, method, eeV1Prefix+path, eeToken, nil, "")
				if a.status != tt.status {
					t.Errorf("%s %s: status %d, want %d", method, path, a.status, tt.status)
				}
				tt.check(t, a)
			}
			if l, _ := b.sim.Locked(eeShop); l || b.sim.Writes(eeShop) != 0 || b.sim.Reads(eeShop) != 0 {
				t.Error("a faulted call reached the domain")
			}
			if a := b.lock(t, eeShopUUID); a.status != 200 {
				t.Errorf("after the fault: status %d", a.status)
			}
		})
	}
}

func TestSimulator_EE_faultDropAndLogin(t *testing.T) {
	b := setupEE(t, Options{})
	b.acct.FailNext(1, FaultDrop)
	req, _ := http.NewRequest("GET", b.url+eeV1Prefix+"/domains", nil)
	req.Header.Set("Authorization", "Bearer "+eeToken)
	if resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("dropped call answered %d", resp.StatusCode)
	}
	// Faults apply to the login of the account's user too.
	b.acct.FailNext(1, FaultUnavailable)
	if a := b.do(t, "POST", eeV1Prefix+"/auth/eid?ident=1234&first_name=J&last_name=S&country_code=US", "", nil, ""); a.status != 503 {
		t.Errorf("login during a fault: status %d", a.status)
	}
	b.acct.FailNext(1, FaultMalformed)
	if a := b.do(t, "POST", eeV1Prefix+"/auth/eid?ident=1234&first_name=J&last_name=S&country_code=US", "", nil, ""); a.status != 200 || json.Valid(a.body) {
		t.Errorf("malformed login: %d %s", a.status, a.body)
	}
}

func TestSimulator_EE_latencyAndCancel(t *testing.T) {
	b := setupEE(t, Options{})
	b.acct.SetLatency(5 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", b.url+eeV1Prefix+"/domains/"+eeShopUUID+"/registry_lock", nil)
	req.Header.Set("Authorization", "Bearer "+eeToken)
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		log := b.sim.Log()
		if len(log) > 0 && log[len(log)-1].Outcome == "canceled" {
			if l, _ := b.sim.Locked(eeShop); l {
				t.Error("a canceled call locked the domain")
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("no canceled call in the log")
}

func TestSimulator_EE_requestLog(t *testing.T) {
	b := setupEE(t, Options{})
	b.get(t, eeV1Prefix+"/domains")
	b.get(t, eeV1Prefix+"/domains/"+eeShopUUID)
	b.lock(t, eeShopUUID)
	b.lock(t, eeShopUUID)
	b.unlock(t, eeShopUUID)
	b.do(t, "GET", eeV1Prefix+"/domains", "bad", nil, "")
	b.do(t, "POST", eeV1Prefix+"/auth/eid?ident=1234&first_name=J&last_name=S&country_code=US", "", nil, "")
	b.do(t, "OPTIONS", eeV1Prefix+"/domains", "", nil, "")
	want := []Request{
		{Kind: EE, Account: eeUser, Op: "GET domains", Outcome: "ok"},
		{Kind: EE, Account: eeUser, Op: "GET domain", Domain: eeShop, Outcome: "ok"},
		{Kind: EE, Account: eeUser, Op: "POST registry_lock", Domain: eeShop, Write: true, Outcome: "ok"},
		{Kind: EE, Account: eeUser, Op: "POST registry_lock", Domain: eeShop, Write: true, Outcome: "Domain cannot be locked"},
		{Kind: EE, Account: eeUser, Op: "DELETE registry_lock", Domain: eeShop, Write: true, Outcome: "ok"},
		{Kind: EE, Op: "GET domains", Outcome: "Not authorized"},
		{Kind: EE, Account: eeUser, Op: "POST auth/eid", Outcome: "ok"},
		{Kind: EE, Op: "OPTIONS", Outcome: "ok"},
	}
	got := b.sim.Log()
	if len(got) != len(want) {
		t.Fatalf("%d log entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range got {
		got[i].Seq, got[i].Time = 0, time.Time{}
		if got[i] != want[i] {
			t.Errorf("log[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	if w := b.sim.Writes(eeShop); w != 3 {
		t.Errorf("writes %d, want 3", w)
	}
}

func TestEETallinn(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2010, 7, 4, 21, 0, 0, 0, time.UTC):                  "2010-07-05T00:00:00.000+03:00",
		time.Date(2026, 1, 15, 10, 0, 0, 5e6, time.UTC):               "2026-01-15T12:00:00.005+02:00",
		time.Date(2026, 3, 29, 0, 59, 59, 0, time.UTC):                "2026-03-29T02:59:59.000+02:00",
		time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC):                  "2026-03-29T04:00:00.000+03:00",
		time.Date(2026, 10, 25, 0, 59, 0, 0, time.UTC):                "2026-10-25T03:59:00.000+03:00",
		time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC):                 "2026-10-25T03:00:00.000+02:00",
		time.Date(2018, 7, 13, 14, 30, 51, 0, eeEEST):                 "2018-07-13T14:30:51.000+03:00",
		time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC):                "2025-01-01T01:00:00.000+02:00",
		time.Date(2024, 3, 31, 1, 0, 0, 0, time.UTC):                  "2024-03-31T04:00:00.000+03:00",
		time.Date(2024, 3, 30, 1, 0, 0, 0, time.UTC):                  "2024-03-30T03:00:00.000+02:00",
		time.Date(2024, 10, 27, 0, 30, 0, 0, time.UTC):                "2024-10-27T03:30:00.000+03:00",
		time.Date(2024, 10, 27, 1, 30, 0, 0, time.UTC):                "2024-10-27T03:30:00.000+02:00",
		time.Date(2010, 7, 5, 0, 0, 0, 0, time.FixedZone("", 3*3600)): "2010-07-05T00:00:00.000+03:00",
	} {
		if got := eeRailsTime(in); got != want {
			t.Errorf("eeRailsTime(%v) = %s, want %s", in, got, want)
		}
	}
}

func TestEEParseUUID(t *testing.T) {
	want, _ := eeParseUUID(eeShopUUID)
	for _, s := range []string{eeShopUUID, strings.ToUpper(eeShopUUID), "{" + eeShopUUID + "}", strings.ReplaceAll(eeShopUUID, "-", ""), "1b3e-e442-e8fe-4922-9492-8fcb-9dcc-c69c"} {
		if got, ok := eeParseUUID(s); !ok || got != want {
			t.Errorf("eeParseUUID(%q) = %v, %v", s, got, ok)
		}
	}
	for _, s := range []string{"", "random-uuid", eeShopUUID + "0", "-" + eeShopUUID, eeShopUUID + "-", "1b3ee442--e8fe-4922-9492-8fcb9dccc69c", "1b3ee44-2e8fe-4922-9492-8fcb9dccc69c", "{" + eeShopUUID, "zb3ee442-e8fe-4922-9492-8fcb9dccc69c"} {
		if _, ok := eeParseUUID(s); ok {
			t.Errorf("eeParseUUID(%q) accepted", s)
		}
	}
}

func TestEERubyInt(t *testing.T) {
	for in, want := range map[string]int{"": 0, "200": 200, " 2abc": 2, "-10": -10, "+5": 5, "abc": 0, "1e3": 1} {
		if got := eeRubyInt(in); got != want {
			t.Errorf("eeRubyInt(%q) = %d, want %d", in, got, want)
		}
	}
	if got := eeRubyInt("99999999999999999999999"); got <= eeMaxLimit {
		t.Errorf("a huge number reads as %d", got)
	}
	if got := eeRubyInt("-99999999999999999999999"); got >= 0 {
		t.Errorf("a huge negative number reads as %d", got)
	}
}

func BenchmarkSimulator_EE_listingPage(b *testing.B) {
	sim := New(Options{})
	a := sim.AddAccount(EE, eeUser, eeToken)
	const n = 1000000
	for i := range n {
		a.AddDomain(fmt.Sprintf("d%07d.ee", i), i%3 == 0)
	}
	h := sim.Handler()
	b.ResetTimer()
	for i := range b.N {
		q := url.Values{"limit": {"200"}, "offset": {fmt.Sprint((i * 200) % n)}}
		req := httptest.NewRequest("GET", "/ee"+eeV1Prefix+"/domains?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+eeToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// FuzzServeEE: any request gets an answer from the protocol's set, never a
// panic, and every JSON answer is valid JSON.
func FuzzServeEE(f *testing.F) {
	for _, s := range []string{
		"GET /api/v1/registrant/domains?limit=2",
		"GET /api/v1/registrant/domains/" + eeShopUUID,
		"POST /api/v1/registrant/domains/" + eeShopUUID + "/registry_lock",
		"DELETE /repp/v1/registrant/domains/" + eeAirportUUID + "/registry_lock",
		"POST /api/v1/registrant/auth/eid?ident=1&first_name=a&last_name=b",
		"OPTIONS /api/v1/registrant/auth/eid",
		"GET /repp/v1/registrant/domains?tech=init&simple=true&offset=1",
	} {
		method, target, _ := strings.Cut(s, " ")
		f.Add(method, target, "", true)
		f.Add(method, target, `{"extensionsProhibited":true,"ident":"1"}`, false)
	}
	sim := New(Options{})
	acct := sim.AddAccount(EE, eeUser, eeToken)
	acct.AddDomain(eeShop, false)
	acct.AddDomain(eeAirport, true)
	sim.EESetUUID(eeShop, eeShopUUID)
	sim.EESetUUID(eeAirport, eeAirportUUID)
	h := sim.Handler()
	f.Fuzz(func(t *testing.T, method, target, body string, auth bool) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(method, " \t\r\n/") || method == "" {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req := httptest.NewRequest("GET", "/", strings.NewReader(body))
		req.Method, req.URL, req.RequestURI = method, &url.URL{Path: "/ee" + u.Path, RawQuery: u.RawQuery}, ""
		req.Header.Set("Content-Type", "application/json")
		if auth {
			req.Header.Set("Authorization", "Bearer "+eeToken)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200, 400, 401, 404, 422:
		case 301, 307, 308: // the mux cleaning the path
			return
		default:
			t.Fatalf("%s %s: status %d", method, target, rec.Code)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: invalid JSON %s", method, target, rec.Body)
		}
	})
}

// An account with no domains yet lists as empty (regression: the .ee state
// was only set up by the first .ee domain, and the listing panicked holding
// the simulator's lock).
func TestEE_emptyAccountLists(t *testing.T) {
	sim := New(Options{})
	sim.AddAccount(EE, "EE-1", "empty-account-token-0123")
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	for range 2 {
		req, _ := http.NewRequest("GET", srv.URL+"/ee/api/v1/registrant/domains?limit=200&offset=0", nil)
		req.Header.Set("Authorization", "Bearer empty-account-token-0123")
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), `"total":0`) {
			t.Fatalf("empty listing: %d %s", resp.StatusCode, body)
		}
	}
}
