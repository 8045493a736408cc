package simulator

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The WHMCS client's fixtures: the simulator replays the same documents, so
// client and simulator are each pinned to them rather than to each other.
const whmcsFixtures = "../whmcs/testdata"

// The document's example credentials, which the request fixtures carry.
const (
	whmcsIdentifier = "IDENTIFIER_OR_ADMIN_USERNAME"
	whmcsSecret     = "SECRET_OR_HASHED_PASSWORD"
)

// whmcsNow makes the listing's dates those of the fixtures.
var whmcsNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// whmcsBundle is one simulator with the document's API credential, served
// over HTTP.
type whmcsBundle struct {
	sim  *Simulator
	acct *Account
	url  string
}

func setupWHMCS(t *testing.T, opts Options) *whmcsBundle {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return whmcsNow }
	}
	sim := New(opts)
	acct := sim.AddAccount(WHMCS, whmcsIdentifier, whmcsSecret)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &whmcsBundle{sim: sim, acct: acct, url: srv.URL + "/whmcs/includes/api.php"}
}

// post sends form as WHMCS's clients do and returns the status, header and body.
func (b *whmcsBundle) post(t *testing.T, form url.Values) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.PostForm(b.url, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// call posts form and decodes the JSON answer, failing on anything else.
func (b *whmcsBundle) call(t *testing.T, form url.Values) (int, map[string]any) {
	t.Helper()
	status, h, body := b.post(t, form)
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json: %s", ct, body)
	}
	return status, decodeJSON(t, body)
}

// cmd is the form of one command with the document's credentials.
func cmd(action string, kv ...string) url.Values {
	v := url.Values{"action": {action}, "identifier": {whmcsIdentifier}, "secret": {whmcsSecret}, "responsetype": {"json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func whmcsRequestFixture(t *testing.T, name string) url.Values {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(whmcsFixtures, name+"-request.txt"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := url.ParseQuery(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// decodeJSON reads an answer with encoding/json directly, numbers kept as
// written, so that these tests do not share the client's parser.
func decodeJSON(t *testing.T, body []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, body)
	}
	if dec.More() {
		t.Fatalf("trailing data after the answer:\n%s", body)
	}
	return m
}

// whmcsBilling are listing fields whose values are the simulator's own
// choices (the documents name them without values): only their presence
// and JSON type count.
var whmcsBilling = map[string]bool{
	"orderid": true, "regtype": true, "registrar": true, "regperiod": true, "firstpaymentamount": true,
	"recurringamount": true, "paymentmethod": true, "paymentmethodname": true, "subscriptionid": true,
	"promoid": true, "dnsmanagement": true, "emailforwarding": true, "idprotection": true,
	"donotrenew": true, "notes": true,
}

// assertJSONShape checks an answer against a document fixture: the same
// keys at every level, the same JSON types, and the same values except for
// the billing fields.
func assertJSONShape(t *testing.T, got []byte, fixture string) {
	t.Helper()
	want, err := os.ReadFile(filepath.Join(whmcsFixtures, fixture))
	if err != nil {
		t.Fatal(err)
	}
	compareJSON(t, "", decodeJSON(t, got), decodeJSON(t, want))
}

func compareJSON(t *testing.T, path string, got, want any) {
	t.Helper()
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			t.Errorf("%s = %v, want an object", path, got)
			return
		}
		var gk, wk []string
		for k := range g {
			gk = append(gk, k)
		}
		for k := range w {
			wk = append(wk, k)
		}
		slices.Sort(gk)
		slices.Sort(wk)
		if !slices.Equal(gk, wk) {
			t.Errorf("%s has keys %v, want %v", path, gk, wk)
		}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				compareJSON(t, path+"."+k, gv, wv)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			t.Errorf("%s = %v, want %d elements", path, got, len(w))
			return
		}
		for i := range w {
			compareJSON(t, fmt.Sprintf("%s[%d]", path, i), g[i], w[i])
		}
	default:
		if reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("%s = %#v, want the JSON type of %#v", path, got, want)
			return
		}
		if !whmcsBilling[path[strings.LastIndexByte(path, '.')+1:]] && got != want {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
}

func whmcsAdd(name string, locked bool) func(b *whmcsBundle) {
	return func(b *whmcsBundle) { b.acct.AddDomain(name, locked) }
}

// addFixtureListing registers the listing fixtures' five domains, ids 1-5.
func addFixtureListing(b *whmcsBundle) {
	for _, name := range []string{"example.com", "example.net", "example.org", "example.info", "example.co.uk"} {
		b.acct.AddDomain(name, false)
	}
}

// TestSimulator_WHMCS_fixtures replays the scenario of each client fixture
// and checks the answer has the fixture's shape, values and status.
func TestSimulator_WHMCS_fixtures(t *testing.T) {
	const docDomain = "example.com" // id 1, the documents' example
	tests := []struct {
		name       string
		opts       Options
		setup      func(b *whmcsBundle)
		request    string
		edit       func(url.Values)
		fixture    string
		wantStatus int
		wantLock   *bool // docDomain's lock afterwards, if it exists
	}{
		{name: "DomainGetLockingStatus locked", setup: whmcsAdd(docDomain, true), request: "domaingetlockingstatus_locked", fixture: "domaingetlockingstatus_locked.json"},
		{name: "DomainGetLockingStatus unlocked", setup: whmcsAdd(docDomain, false), request: "domaingetlockingstatus_locked", fixture: "domaingetlockingstatus_unlocked.json"},
		{name: "DomainGetLockingStatus no lock support", opts: Options{NotLockableTLDs: []string{"com"}}, setup: whmcsAdd(docDomain, true), request: "domaingetlockingstatus_locked", fixture: "domaingetlockingstatus_unknown.json"},
		{name: "DomainGetLockingStatus unknown id", request: "domaingetlockingstatus_locked", fixture: "error_domainidnotfound.json"},
		{name: "DomainGetLockingStatus another installation's domain", setup: func(b *whmcsBundle) {
			b.sim.AddAccount(WHMCS, "other", "otherpw").AddDomain(docDomain, true)
		}, request: "domaingetlockingstatus_locked", fixture: "error_domainidnotfound.json"},
		{name: "DomainUpdateLockingStatus lock", setup: whmcsAdd(docDomain, false), request: "domainupdatelockingstatus_lock", fixture: "domainupdatelockingstatus_success.json", wantLock: ptr(true)},
		{name: "DomainUpdateLockingStatus unlock", setup: whmcsAdd(docDomain, true), request: "domainupdatelockingstatus_unlock", fixture: "domainupdatelockingstatus_success.json", wantLock: ptr(false)},
		{name: "DomainUpdateLockingStatus already unlocked", setup: whmcsAdd(docDomain, false), request: "domainupdatelockingstatus_unlock", fixture: "domainupdatelockingstatus_success.json", wantLock: ptr(false)},
		{name: "DomainUpdateLockingStatus already locked", setup: whmcsAdd(docDomain, true), request: "domainupdatelockingstatus_lock", fixture: "domainupdatelockingstatus_success.json", wantLock: ptr(true)},
		{name: "DomainUpdateLockingStatus unknown id", request: "domainupdatelockingstatus_lock", fixture: "error_domainidnotfound.json"},
		{name: "GetClientsDomains by name", setup: whmcsAdd(docDomain, true), request: "getclientsdomains_domain", fixture: "getclientsdomains_domain.json"},
		{name: "GetClientsDomains by name, not found", setup: whmcsAdd(docDomain, true), request: "getclientsdomains_notfound", fixture: "getclientsdomains_notfound.json"},
		{name: "GetClientsDomains page 1", setup: addFixtureListing, request: "getclientsdomains_page1", fixture: "getclientsdomains_page1.json"},
		{name: "GetClientsDomains page 2", setup: addFixtureListing, request: "getclientsdomains_page2", fixture: "getclientsdomains_page2.json"},
		// Its request fixture left the adapter's testdata: the second
		// page's request, one page further.
		{name: "GetClientsDomains past the end", setup: addFixtureListing, request: "getclientsdomains_page2",
			edit: func(v url.Values) { v.Set("limitstart", "6") }, fixture: "getclientsdomains_pastend.json"},
		{name: "GetClientsDomains empty", request: "getclientsdomains_page1", fixture: "getclientsdomains_empty.json"},
		{name: "wrong secret", setup: whmcsAdd(docDomain, true), request: "domainupdatelockingstatus_unlock", edit: func(v url.Values) { v.Set("secret", "wrong") },
			fixture: "error_authfailed.json", wantStatus: http.StatusForbidden, wantLock: ptr(true)},
		{name: "unknown identifier", request: "domaingetlockingstatus_locked", edit: func(v url.Values) { v.Set("identifier", "nobody") },
			fixture: "error_authfailed.json", wantStatus: http.StatusForbidden},
		{name: "outside the IP allow-list", opts: Options{WHMCSAllowedIPs: []string{"192.0.2.1"}}, setup: whmcsAdd(docDomain, true), request: "domainupdatelockingstatus_unlock",
			fixture: "error_invalidip.json", wantStatus: http.StatusForbidden, wantLock: ptr(true)},
		{name: "unknown action", request: "domaingetlockingstatus_locked", edit: func(v url.Values) { v.Set("action", "RegisterDomain") }, fixture: "error_commandnotfound.json"},
		{name: "FaultError", setup: func(b *whmcsBundle) {
			b.acct.AddDomain(docDomain, false)
			b.acct.FailNext(1, FaultError)
		}, request: "domainupdatelockingstatus_lock", fixture: "error_registrar.json", wantLock: ptr(false)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setupWHMCS(t, tt.opts)
			if tt.setup != nil {
				tt.setup(b)
			}
			form := whmcsRequestFixture(t, tt.request)
			if tt.edit != nil {
				tt.edit(form)
			}
			status, header, body := b.post(t, form)
			if want := max(tt.wantStatus, http.StatusOK); status != want {
				t.Fatalf("status %d, want %d: %s", status, want, body)
			}
			if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			assertJSONShape(t, body, tt.fixture)
			if tt.wantLock != nil {
				if locked, _ := b.sim.Locked(docDomain); locked != *tt.wantLock {
					t.Errorf("%s locked = %v afterwards, want %v", docDomain, locked, *tt.wantLock)
				}
			}
		})
	}
}

// TestSimulator_WHMCS_auth: API credentials as identifier/secret or in
// username/password, and the legacy admin username + MD5 of the password.
func TestSimulator_WHMCS_auth(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("example.com", true)
	sum := md5.Sum([]byte(whmcsSecret))
	md5hex := hex.EncodeToString(sum[:])
	base := url.Values{"action": {whmcsGetLockingStatus}, "domainid": {"1"}, "responsetype": {"json"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name string
		form url.Values
		ok   bool
	}{
		{"identifier and secret", with("identifier", whmcsIdentifier, "secret", whmcsSecret), true},
		{"identifier and secret as username and password", with("username", whmcsIdentifier, "password", whmcsSecret), true},
		{"username and md5 of the password", with("username", whmcsIdentifier, "password", md5hex), true},
		{"md5 in capitals", with("username", whmcsIdentifier, "password", strings.ToUpper(md5hex)), true},
		{"md5 of something else", with("username", whmcsIdentifier, "password", hex.EncodeToString(md5.New().Sum(nil))), false},
		{"md5 as a secret", with("identifier", whmcsIdentifier, "secret", md5hex), false},
		{"wrong secret", with("identifier", whmcsIdentifier, "secret", "nope"), false},
		{"identifier without secret", with("identifier", whmcsIdentifier), false},
		{"username without password", with("username", whmcsIdentifier), false},
		{"identifier wins over username", with("identifier", whmcsIdentifier, "secret", "nope", "username", whmcsIdentifier, "password", whmcsSecret), false},
		{"no credentials", with(), false},
		{"another kind's account", with("identifier", "resellid", "secret", "resellpw"), false},
	}
	b.sim.AddAccount(ENom, "resellid", "resellpw")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := b.call(t, tt.form)
			switch {
			case tt.ok && (status != 200 || m["result"] != "success" || m["lockstatus"] != "locked"):
				t.Errorf("status %d, %v; want the lock status", status, m)
			case !tt.ok && (status != 403 || m["result"] != "error" || m["message"] != whmcsAuthFailed):
				t.Errorf("status %d, %v; want 403 Authentication Failed", status, m)
			}
		})
	}
	if n := b.acct.Calls(); n != 4 {
		t.Errorf("Calls = %d, want 4: refused calls are not the account's", n)
	}
}

func TestSimulator_WHMCS_ipAllowList(t *testing.T) {
	tests := []struct {
		name      string
		allowed   []string
		accessKey string // the simulator's
		sent      string // the caller's accesskey
		ok        bool
	}{
		{"no allow-list", nil, "", "", true},
		{"allowed address", []string{"192.0.2.1", "127.0.0.1"}, "", "", true},
		{"allowed prefix", []string{"127.0.0.0/8"}, "", "", true},
		{"not allowed", []string{"192.0.2.1", "2001:db8::/32"}, "", "", false},
		{"access key", []string{"192.0.2.1"}, "k3y", "k3y", true},
		{"wrong access key", []string{"192.0.2.1"}, "k3y", "nope", false},
		{"access key when none is set", []string{"192.0.2.1"}, "", "", false},
		{"an access key is not a secret", []string{"192.0.2.1"}, "k3y", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setupWHMCS(t, Options{WHMCSAllowedIPs: tt.allowed, WHMCSAccessKey: tt.accessKey})
			b.acct.AddDomain("example.com", false)
			form := cmd(whmcsGetLockingStatus, "domainid", "1")
			if tt.sent != "" {
				form.Set("accesskey", tt.sent)
			}
			status, m := b.call(t, form)
			switch {
			case tt.ok && (status != 200 || m["result"] != "success"):
				t.Errorf("status %d, %v; want success", status, m)
			case !tt.ok && (status != 403 || m["message"] != "Invalid IP 127.0.0.1"):
				t.Errorf("status %d, %v; want 403 Invalid IP 127.0.0.1", status, m)
			}
		})
	}
	// The address is checked before the credentials.
	b := setupWHMCS(t, Options{WHMCSAllowedIPs: []string{"192.0.2.1"}})
	form := cmd(whmcsGetLockingStatus, "domainid", "1")
	form.Set("secret", "wrong")
	if _, m := b.call(t, form); m["message"] != "Invalid IP 127.0.0.1" {
		t.Errorf("message = %v, want the IP refusal first", m["message"])
	}
}

func TestSimulator_WHMCS_lockstatusValues(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("example.com", true)
	tests := []struct {
		value  *string // nil: not sent
		locked bool
	}{
		{nil, false}, {ptr(""), false}, {ptr("0"), false}, {ptr("false"), false}, {ptr("FALSE"), false},
		{ptr("1"), true}, {ptr("true"), true}, {ptr("on"), true},
	}
	for _, tt := range tests {
		b.sim.SetLocked("example.com", !tt.locked)
		form := cmd(whmcsUpdateLockingStatus, "domainid", "1")
		if tt.value != nil {
			form.Set("lockstatus", *tt.value)
		}
		if status, m := b.call(t, form); status != 200 || m["result"] != "success" {
			t.Fatalf("lockstatus %v: %d %v", tt.value, status, m)
		}
		if locked, _ := b.sim.Locked("example.com"); locked != tt.locked {
			t.Errorf("lockstatus %v: locked = %v, want %v", deref(tt.value), locked, tt.locked)
		}
	}
}

func deref(p *string) string {
	if p == nil {
		return "(absent)"
	}
	return fmt.Sprintf("%q", *p)
}

func TestSimulator_WHMCS_refusedWrites(t *testing.T) {
	b := setupWHMCS(t, Options{NotLockableTLDs: []string{"ch"}})
	b.acct.AddDomain("mine.ch", false)     // id 1
	b.acct.AddDomain("pending.com", false) // id 2
	b.sim.SetPending("pending.com", true)
	for _, tt := range []struct{ id, name, want string }{{"1", "mine.ch", whmcsNotLockable}, {"2", "pending.com", whmcsPending}} {
		status, m := b.call(t, cmd(whmcsUpdateLockingStatus, "domainid", tt.id, "lockstatus", "1"))
		if status != 200 || m["result"] != "error" || m["message"] != tt.want {
			t.Errorf("%s: %d %v, want %q", tt.name, status, m, tt.want)
		}
		if locked, _ := b.sim.Locked(tt.name); locked || b.sim.Writes(tt.name) != 1 {
			t.Errorf("%s: locked %v after %d writes; want unchanged after 1", tt.name, locked, b.sim.Writes(tt.name))
		}
	}
}

// Ids: resolved without a listing, never reused, and only the current
// record's id names a domain.
func TestSimulator_WHMCS_ids(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("a.com", true) // id 1
	b.sim.AddAccount(ENom, "resellid", "resellpw").AddDomain("enom.com", true)
	read := func(id string) map[string]any {
		_, m := b.call(t, cmd(whmcsGetLockingStatus, "domainid", id))
		return m
	}
	if m := read("1"); m["lockstatus"] != "locked" {
		t.Errorf("id 1 = %v, want locked", m)
	}
	b.acct.AddDomain("b.com", false) // id 3, after the scan
	if m := read("3"); m["lockstatus"] != "unlocked" {
		t.Errorf("id 3 = %v, want unlocked", m)
	}
	b.acct.AddDomain("a.com", false) // a new record for a.com: id 4
	for _, id := range []string{"1", "2", "5", "0", "-1", "x", "", "99999999999999999999"} {
		if m := read(id); m["message"] != whmcsDomainIDNotFound {
			t.Errorf("id %q = %v, want %s", id, m, whmcsDomainIDNotFound)
		}
	}
	if m := read("4"); m["lockstatus"] != "unlocked" {
		t.Errorf("id 4 = %v, want a.com's new record", m)
	}
	if m := read(" 4 "); m["lockstatus"] != "unlocked" {
		t.Errorf("id %q = %v, want a.com's new record", " 4 ", m)
	}
}

// whmcsPage is one GetClientsDomains answer, decoded independently.
type whmcsPage struct {
	Result       string          `json:"result"`
	ClientID     *string         `json:"clientid"`
	DomainID     *string         `json:"domainid"`
	TotalResults json.Number     `json:"totalresults"`
	StartNumber  json.Number     `json:"startnumber"`
	NumReturned  json.Number     `json:"numreturned"`
	Domains      json.RawMessage `json:"domains"`
}

func (b *whmcsBundle) page(t *testing.T, kv ...string) (whmcsPage, []string) {
	t.Helper()
	_, _, body := b.post(t, cmd(whmcsGetClientsDomains, kv...))
	var p whmcsPage
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	var names []string
	switch {
	case p.Domains == nil:
	case string(p.Domains) == `""`:
	default:
		var list struct {
			Domain []struct {
				ID         int    `json:"id"`
				UserID     int    `json:"userid"`
				DomainName string `json:"domainname"`
				Status     string `json:"status"`
			} `json:"domain"`
		}
		if err := json.Unmarshal(p.Domains, &list); err != nil {
			t.Fatalf("domains: %v\n%s", err, body)
		}
		for _, d := range list.Domain {
			if d.UserID != whmcsClientID || d.Status != "Active" || d.ID <= 0 {
				t.Errorf("item %+v", d)
			}
			names = append(names, d.DomainName)
		}
	}
	if p.NumReturned.String() != fmt.Sprint(len(names)) {
		t.Errorf("numreturned %s for %d items", p.NumReturned, len(names))
	}
	return p, names
}

func TestSimulator_WHMCS_paging(t *testing.T) {
	b := setupWHMCS(t, Options{})
	var want []string
	for i := range 60 {
		name := fmt.Sprintf("d%02d.com", 59-i) // registration order is not name order
		want = append(want, name)
		b.acct.AddDomain(name, i%2 == 0)
	}
	b.sim.AddAccount(WHMCS, "other", "otherpw").AddDomain("notmine.com", true)

	var got []string
	for start := 0; ; start += 25 {
		p, names := b.page(t, "limitstart", fmt.Sprint(start))
		if p.TotalResults.String() != "60" || p.StartNumber.String() != fmt.Sprint(start) {
			t.Fatalf("limitstart %d: totalresults %s, startnumber %s", start, p.TotalResults, p.StartNumber)
		}
		if len(names) == 0 {
			if p.Domains != nil {
				t.Errorf("a page past the end has domains = %s, want none", p.Domains)
			}
			break
		}
		got = append(got, names...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("listing %v, want the account's 60 in id order", got)
	}

	tests := []struct {
		name      string
		params    []string
		wantNames []string
		wantTotal string
	}{
		{"default limitnum", nil, want[:25], "60"},
		{"limitnum 0", []string{"limitnum", "0"}, want[:25], "60"},
		{"limitnum 100", []string{"limitnum", "100"}, want, "60"},
		{"negative limitstart", []string{"limitstart", "-5", "limitnum", "2"}, want[:2], "60"},
		{"huge limitstart", []string{"limitstart", "9223372036854775807"}, nil, "60"},
		{"our client", []string{"clientid", "1", "limitnum", "3"}, want[:3], "60"},
		{"another client", []string{"clientid", "2"}, nil, "0"},
		{"by name", []string{"domain", "d10.com"}, []string{"d10.com"}, "1"},
		{"by name, any case", []string{"domain", " D10.COM "}, []string{"d10.com"}, "1"},
		{"by name, past the end", []string{"domain", "d10.com", "limitstart", "1"}, nil, "1"},
		{"by id", []string{"domainid", "50"}, []string{want[49]}, "1"},
		{"by id and name", []string{"domainid", "50", "domain", want[49]}, []string{want[49]}, "1"},
		{"by id and another name", []string{"domainid", "50", "domain", "d11.com"}, nil, "0"},
		{"by name and another client", []string{"domain", "d10.com", "clientid", "7"}, nil, "0"},
		{"another installation's name", []string{"domain", "notmine.com"}, nil, "0"},
		{"another installation's id", []string{"domainid", "61"}, nil, "0"},
		{"unknown id", []string{"domainid", "999"}, nil, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, names := b.page(t, tt.params...)
			if !slices.Equal(names, tt.wantNames) || p.TotalResults.String() != tt.wantTotal {
				t.Errorf("names %v, total %s; want %v, %s", names, p.TotalResults, tt.wantNames, tt.wantTotal)
			}
			if tt.wantTotal == "0" && string(p.Domains) != `""` {
				t.Errorf(`domains = %s, want "" when nothing matches`, p.Domains)
			}
		})
	}
	// The filters are echoed as sent.
	if p, _ := b.page(t, "clientid", "1", "domainid", "5"); p.ClientID == nil || *p.ClientID != "1" || p.DomainID == nil || *p.DomainID != "5" {
		t.Errorf("clientid, domainid echoed as %v, %v", p.ClientID, p.DomainID)
	}
	if p, _ := b.page(t); p.ClientID == nil || *p.ClientID != "" || p.DomainID == nil || *p.DomainID != "" {
		t.Errorf("absent filters echoed as %v, %v; want empty strings", p.ClientID, p.DomainID)
	}
}

// The listing follows the inventory as it changes.
func TestSimulator_WHMCS_pagingAfterChanges(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("a.com", false)
	b.acct.AddDomain("b.com", false)
	if _, names := b.page(t); !slices.Equal(names, []string{"a.com", "b.com"}) {
		t.Fatalf("names %v", names)
	}
	b.acct.AddDomain("c.com", false)
	b.sim.AddAccount(WHMCS, "other", "otherpw").AddDomain("a.com", false) // moves away
	b.acct.AddDomain("b.com", true)                                       // a new record: listed last
	if _, names := b.page(t); !slices.Equal(names, []string{"c.com", "b.com"}) {
		t.Errorf("names %v, want c.com, b.com", names)
	}
}

func TestSimulator_WHMCS_faults(t *testing.T) {
	tests := []struct {
		fault      Fault
		wantStatus int
		check      func(t *testing.T, h http.Header, body []byte)
	}{
		{FaultUnavailable, http.StatusServiceUnavailable, func(t *testing.T, h http.Header, body []byte) {
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("Service Unavailable")) {
				t.Errorf("want an HTML 503 page, got %q: %s", h.Get("Content-Type"), body)
			}
			if h.Get("Retry-After") != "" {
				t.Errorf("Retry-After = %q, want none", h.Get("Retry-After"))
			}
		}},
		{FaultBusy, http.StatusTooManyRequests, retryAfter1},
		{FaultRateLimited, http.StatusTooManyRequests, retryAfter1},
		{FaultError, http.StatusOK, func(t *testing.T, h http.Header, body []byte) {
			if m := decodeJSON(t, body); m["result"] != "error" || m["message"] != whmcsRegistrarError {
				t.Errorf("answer %v, want the registrar error", m)
			}
		}},
		{FaultMalformed, http.StatusOK, func(t *testing.T, h http.Header, body []byte) {
			var v any
			if err := json.Unmarshal(body, &v); err == nil || !bytes.HasPrefix(body, []byte(`{"result"`)) {
				t.Errorf("want a JSON answer cut off, got %s", body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			b := setupWHMCS(t, Options{})
			b.acct.AddDomain("example.com", false)
			b.acct.FailNext(1, tt.fault)
			lock := whmcsRequestFixture(t, "domainupdatelockingstatus_lock")
			status, h, body := b.post(t, lock)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			tt.check(t, h, body)
			if locked, _ := b.sim.Locked("example.com"); locked || b.sim.Writes("example.com") != 0 {
				t.Errorf("a faulted call changed the domain")
			}
			// The fault is used up: the next call is served.
			if status, _, body := b.post(t, lock); status != 200 || decodeJSON(t, body)["result"] != "success" {
				t.Errorf("call after the fault: %d %s", status, body)
			}
			log := b.sim.Log()
			if len(log) != 2 || log[0].Outcome != string(tt.fault) || !log[0].Write || log[1].Outcome != "ok" {
				t.Errorf("log = %+v, want the fault then ok", log)
			}
		})
	}
}

func retryAfter1(t *testing.T, h http.Header, _ []byte) {
	t.Helper()
	if h.Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", h.Get("Retry-After"))
	}
}

func TestSimulator_WHMCS_faultDrop(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("example.com", true)
	b.acct.FailNext(1, FaultDrop)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.PostForm(b.url, whmcsRequestFixture(t, "domaingetlockingstatus_locked"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got HTTP %d, want the connection closed without an answer", resp.StatusCode)
	}
	if log := b.sim.Log(); len(log) != 1 || log[0].Outcome != string(FaultDrop) {
		t.Errorf("log = %+v, want one drop", log)
	}
}

// FaultFalseUnlocked is what WHMCS's OpenSRS module does when its registrar
// call fails: the read answers "unlocked" and nothing changes.
func TestSimulator_WHMCS_faultFalseUnlocked(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("example.com", true)
	read := whmcsRequestFixture(t, "domaingetlockingstatus_locked")
	b.acct.FailNext(1, FaultFalseUnlocked)
	_, _, body := b.post(t, read)
	assertJSONShape(t, body, "domaingetlockingstatus_unlocked.json")
	_, _, body = b.post(t, read)
	assertJSONShape(t, body, "domaingetlockingstatus_locked.json")
	if locked, _ := b.sim.Locked("example.com"); !locked || b.sim.Reads("example.com") != 2 {
		t.Errorf("locked %v after %d reads; want locked after 2", locked, b.sim.Reads("example.com"))
	}
	// Other commands use the fault up and are served as usual.
	b.acct.FailNext(1, FaultFalseUnlocked)
	_, _, body = b.post(t, whmcsRequestFixture(t, "getclientsdomains_domain"))
	if m := decodeJSON(t, body); m["totalresults"] != json.Number("1") && m["totalresults"] != "1" {
		t.Errorf("lookup during the fault = %v", m)
	}
	_, _, body = b.post(t, read)
	assertJSONShape(t, body, "domaingetlockingstatus_locked.json")
	var outcomes []string
	for _, r := range b.sim.Log() {
		outcomes = append(outcomes, r.Outcome)
	}
	if want := []string{"false_unlocked", "ok", "ok", "ok"}; !slices.Equal(outcomes, want) {
		t.Errorf("outcomes %v, want %v", outcomes, want)
	}
}

func TestSimulator_WHMCS_latencyAndCancel(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("example.com", true)
	b.acct.SetLatency(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.url, strings.NewReader(whmcsRequestFixture(t, "domaingetlockingstatus_locked").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("request succeeded, want the client's timeout")
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if log := b.sim.Log(); len(log) == 1 {
			if log[0].Outcome != "canceled" || b.sim.Reads("example.com") != 0 {
				t.Errorf("log %+v, %d reads; want canceled without a read", log, b.sim.Reads("example.com"))
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the canceled call was not logged")
}

func TestSimulator_WHMCS_requestLog(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("example.com", false)
	wrong := whmcsRequestFixture(t, "domaingetlockingstatus_locked")
	wrong.Set("secret", "nope")
	lower := whmcsRequestFixture(t, "getclientsdomains_domain")
	lower.Set("action", "getclientsdomains")
	for _, form := range []url.Values{
		whmcsRequestFixture(t, "getclientsdomains_domain"),
		whmcsRequestFixture(t, "domaingetlockingstatus_locked"),
		whmcsRequestFixture(t, "domainupdatelockingstatus_lock"),
		whmcsRequestFixture(t, "getclientsdomains_page1"),
		cmd(whmcsGetLockingStatus, "domainid", "9"),
		cmd("AddOrder"),
		lower,
		wrong,
	} {
		b.post(t, form)
	}
	want := []Request{
		{Kind: WHMCS, Account: whmcsIdentifier, Op: "GetClientsDomains", Domain: "example.com", Outcome: "ok"},
		{Kind: WHMCS, Account: whmcsIdentifier, Op: "DomainGetLockingStatus", Domain: "example.com", Outcome: "ok"},
		{Kind: WHMCS, Account: whmcsIdentifier, Op: "DomainUpdateLockingStatus", Domain: "example.com", Write: true, Outcome: "ok"},
		{Kind: WHMCS, Account: whmcsIdentifier, Op: "GetClientsDomains", Outcome: "ok"},
		{Kind: WHMCS, Account: whmcsIdentifier, Op: "DomainGetLockingStatus", Outcome: whmcsDomainIDNotFound},
		{Kind: WHMCS, Account: whmcsIdentifier, Op: "AddOrder", Outcome: whmcsCommandNotFound},
		{Kind: WHMCS, Account: whmcsIdentifier, Op: "GetClientsDomains", Domain: "example.com", Outcome: "ok"},
		{Kind: WHMCS, Account: whmcsIdentifier, Op: "DomainGetLockingStatus", Outcome: whmcsAuthFailed},
	}
	got := b.sim.Log()
	if len(got) != len(want) {
		t.Fatalf("%d log entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := got[i]
		if g.Seq == 0 || g.Time.IsZero() {
			t.Errorf("entry %d has no Seq or Time", i)
		}
		g.Seq, g.Time = 0, time.Time{}
		if g != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, g, want[i])
		}
	}
	if st := b.sim.Stats(); st.Calls[WHMCS]["DomainUpdateLockingStatus"] != 1 || st.Writes != 1 {
		t.Errorf("stats %+v, want one write", st)
	}
}

func TestSimulator_WHMCS_badRequests(t *testing.T) {
	b := setupWHMCS(t, Options{})
	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(b.url + "?" + cmd(whmcsGetClientsDomains).Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("GET: %d, Allow %q; want 405, POST", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})
	t.Run("unreadable form", func(t *testing.T) {
		resp, err := http.Post(b.url, "application/x-www-form-urlencoded", strings.NewReader("action=%zz&identifier="+whmcsIdentifier))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := decodeJSON(t, body); resp.StatusCode != 400 || m["result"] != "error" {
			t.Errorf("%d %s, want 400 with a JSON error", resp.StatusCode, body)
		}
	})
	t.Run("no action", func(t *testing.T) {
		form := cmd("")
		form.Del("action")
		if status, m := b.call(t, form); status != 200 || m["message"] != whmcsCommandNotFound {
			t.Errorf("%d %v", status, m)
		}
	})
	t.Run("credentials in the query", func(t *testing.T) {
		b.acct.AddDomain("q.com", true)
		resp, err := http.Post(b.url+"?identifier="+whmcsIdentifier+"&secret="+whmcsSecret, "application/x-www-form-urlencoded",
			strings.NewReader("action=GetClientsDomains&domain=q.com"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := decodeJSON(t, body); m["totalresults"] != "1" {
			t.Errorf("%s, want the query and body merged as PHP's $_REQUEST does", body)
		}
	})
}

// xmlAnswer reads the XML answer's fields, independently of the simulator's
// types.
type xmlAnswer struct {
	XMLName      xml.Name `xml:"whmcsapi"`
	Action       string   `xml:"action"`
	Result       string   `xml:"result"`
	Message      string   `xml:"message"`
	LockStatus   string   `xml:"lockstatus"`
	TotalResults string   `xml:"totalresults"`
	Domains      []struct {
		ID         int    `xml:"id"`
		DomainName string `xml:"domainname"`
	} `xml:"domains>domain"`
}

func TestSimulator_WHMCS_xml(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("example.com", true)
	b.acct.AddDomain("b&c.com", true)
	for _, tt := range []struct {
		form  url.Values
		check func(a xmlAnswer) bool
	}{
		{cmd(whmcsGetLockingStatus, "domainid", "1"), func(a xmlAnswer) bool {
			return a.Action == "domaingetlockingstatus" && a.Result == "success" && a.LockStatus == "locked"
		}},
		{cmd(whmcsGetClientsDomains), func(a xmlAnswer) bool {
			return a.TotalResults == "2" && len(a.Domains) == 2 && a.Domains[1].DomainName == "b&c.com" && a.Domains[1].ID == 2
		}},
		{cmd(whmcsGetLockingStatus, "domainid", "9"), func(a xmlAnswer) bool {
			return a.Result == "error" && a.Message == whmcsDomainIDNotFound
		}},
	} {
		tt.form.Set("responsetype", "XML")
		status, h, body := b.post(t, tt.form)
		var a xmlAnswer
		if err := xml.Unmarshal(body, &a); err != nil || status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/xml") {
			t.Fatalf("%d %q %v:\n%s", status, h.Get("Content-Type"), err, body)
		}
		if !tt.check(a) {
			t.Errorf("%s: %+v\n%s", tt.form.Get("action"), a, body)
		}
	}
}

func TestSimulator_WHMCS_counters(t *testing.T) {
	b := setupWHMCS(t, Options{})
	b.acct.AddDomain("example.com", false)
	lock := whmcsRequestFixture(t, "domainupdatelockingstatus_lock")
	unlock := whmcsRequestFixture(t, "domainupdatelockingstatus_unlock")
	read := whmcsRequestFixture(t, "domaingetlockingstatus_locked")
	list := whmcsRequestFixture(t, "getclientsdomains_domain")
	for _, form := range []url.Values{list, read, lock, lock, unlock, read, list} {
		b.post(t, form)
	}
	if r, w := b.sim.Reads("example.com"), b.sim.Writes("example.com"); r != 2 || w != 3 {
		t.Errorf("reads, writes = %d, %d; want 2, 3 (lookups are not lock reads)", r, w)
	}
	if n := b.acct.Calls(); n != 7 {
		t.Errorf("Calls = %d, want 7", n)
	}
}

// TestSimulator_WHMCS_concurrent runs clients, listings and registrations
// at once, for the race detector, and checks no write is lost.
func TestSimulator_WHMCS_concurrent(t *testing.T) {
	b := setupWHMCS(t, Options{})
	const workers, calls = 16, 25
	for w := range workers {
		b.acct.AddDomain(fmt.Sprintf("w%02d.com", w), false) // ids 1-16
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			id := fmt.Sprint(w + 1)
			for i := range calls {
				b.post(t, cmd(whmcsUpdateLockingStatus, "domainid", id, "lockstatus", fmt.Sprint((i+1)%2)))
				b.post(t, cmd(whmcsGetLockingStatus, "domainid", id))
			}
		})
	}
	wg.Go(func() {
		for i := range 50 {
			b.acct.AddDomain(fmt.Sprintf("new%02d.com", i), false)
			b.post(t, cmd(whmcsGetClientsDomains, "limitstart", fmt.Sprint(i), "limitnum", "5"))
			b.post(t, cmd(whmcsGetLockingStatus, "domainid", fmt.Sprint(workers+i+1)))
		}
	})
	wg.Wait()
	for w := range workers {
		name := fmt.Sprintf("w%02d.com", w)
		if b.sim.Writes(name) != calls || b.sim.Reads(name) != calls {
			t.Errorf("%s: %d writes, %d reads; want %d each", name, b.sim.Writes(name), b.sim.Reads(name), calls)
		}
		if locked, _ := b.sim.Locked(name); !locked { // calls is odd: the last call locks
			t.Errorf("%s unlocked, want locked", name)
		}
	}
}

// BenchmarkSimulator_WHMCS measures the hot paths without the network, in
// an inventory of 100,000 domains: a lock read by id, and a lookup by name.
func BenchmarkSimulator_WHMCS(b *testing.B) {
	sim := New(Options{LogSize: 1000})
	acct := sim.AddAccount(WHMCS, whmcsIdentifier, whmcsSecret)
	for i := range 100000 {
		acct.AddDomain(fmt.Sprintf("d%06d.com", i), i%2 == 0)
	}
	h := sim.Handler()
	for _, bench := range []struct{ name, form string }{
		{"DomainGetLockingStatus", cmd(whmcsGetLockingStatus, "domainid", "4242").Encode()},
		{"GetClientsDomains by name", cmd(whmcsGetClientsDomains, "domain", "d004242.com").Encode()},
		{"GetClientsDomains page of 250", cmd(whmcsGetClientsDomains, "limitstart", "50000", "limitnum", "250").Encode()},
	} {
		b.Run(bench.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodPost, "/whmcs/includes/api.php", strings.NewReader(bench.form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Fatal(rec.Code, rec.Body.String())
					}
				}
			})
		})
	}
}

// FuzzServeWHMCS sends arbitrary forms: the handler must not panic, must
// answer with a status WHMCS uses, and every answer must parse in its
// format.
func FuzzServeWHMCS(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(whmcsFixtures, "*-request.txt"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.TrimSpace(string(b)))
	}
	f.Add(cmd(whmcsGetClientsDomains, "limitstart", "9223372036854775807", "limitnum", "9223372036854775807").Encode())
	f.Add(cmd(whmcsGetClientsDomains, "domain", "a\x00<b>.com", "clientid", "\xff", "responsetype", "xml").Encode())
	f.Add(cmd(whmcsUpdateLockingStatus, "domainid", "-0", "lockstatus", "\u2028").Encode())
	f.Add("action=DomainGetLockingStatus&username=" + whmcsIdentifier + "&password=" + strings.Repeat("f", 32) + "&domainid=1")
	sim := New(Options{LogSize: 100, NotLockableTLDs: []string{"ch"}})
	acct := sim.AddAccount(WHMCS, whmcsIdentifier, whmcsSecret)
	for _, name := range []string{"example.com", "example.net", "mine.ch", "b&c.org"} {
		acct.AddDomain(name, true)
	}
	h := sim.Handler()
	f.Fuzz(func(t *testing.T, params string) {
		req := httptest.NewRequest(http.MethodPost, "/whmcs/includes/api.php", strings.NewReader(params))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusForbidden:
		default:
			t.Fatalf("status %d for %q", rec.Code, params)
		}
		body := rec.Body.Bytes()
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/xml") {
			var a xmlAnswer
			if err := xml.Unmarshal(body, &a); err != nil {
				t.Fatalf("XML answer to %q does not parse: %v\n%s", params, err, body)
			}
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || (m["result"] != "success" && m["result"] != "error") {
			t.Fatalf("answer to %q: %v\n%s", params, err, body)
		}
	})
}
