package whmcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
	"github.com/reglock/reglock/secret"
)

// The document's example credentials; the request fixtures carry them.
const (
	testIdentifier = "IDENTIFIER_OR_ADMIN_USERNAME"
	testSecret     = "SECRET_OR_HASHED_PASSWORD"
	docDomain      = "example.com"
)

// setup starts the shared wire fake answering with answers, and a Client
// for it.
func setup(t *testing.T, answers ...providertest.Answer) (*Client, *providertest.Wire) {
	t.Helper()
	w := providertest.NewWire(t, answers...)
	c, err := New(Config{Endpoint: w.URL + "/includes/api.php", Identifier: testIdentifier, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

// ok is a 200 answer with the body of a testdata fixture.
func ok(t *testing.T, fixture string) providertest.Answer {
	t.Helper()
	return providertest.Fixture(t, fixture)
}

// at is an answer with the body of a fixture at the given status.
func at(t *testing.T, status int, fixture string) providertest.Answer {
	t.Helper()
	return providertest.Answer{Status: status, Body: providertest.ReadFixture(t, fixture)}
}

// wantRequest reads testdata/<name>-request.txt: the form the client must send.
func wantRequest(t *testing.T, name string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(strings.TrimSpace(string(providertest.ReadFixture(t, name+"-request.txt"))))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// withParam is want with one parameter changed.
func withParam(want url.Values, key, value string) url.Values {
	out := url.Values{}
	for k, v := range want {
		out[k] = slices.Clone(v)
	}
	out.Set(key, value)
	return out
}

// assertRequest checks the whole request: a form POST to api.php with
// exactly the expected parameters and nothing in the URL query.
func assertRequest(t *testing.T, got providertest.Request, want url.Values) {
	t.Helper()
	if got.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", got.Method)
	}
	if got.Path != "/includes/api.php" {
		t.Errorf("path = %s, want /includes/api.php", got.Path)
	}
	if ct := got.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", ct)
	}
	if got.RawQuery != "" {
		t.Errorf("URL query = %q, want none (credentials belong in the body)", got.RawQuery)
	}
	if form := got.Form(); !reflect.DeepEqual(form, want) {
		t.Errorf("form =\n  %v\nwant\n  %v", form, want)
	}
}

// assertRequests checks every request the fake received against want.
func assertRequests(t *testing.T, w *providertest.Wire, want ...url.Values) {
	t.Helper()
	reqs := w.Requests()
	if len(reqs) != len(want) {
		t.Fatalf("%d requests, want %d: %+v", len(reqs), len(want), reqs)
	}
	for i := range want {
		assertRequest(t, reqs[i], want[i])
	}
}

func TestNew(t *testing.T) {
	valid := Config{Endpoint: "https://billing.example.com/includes/api.php", Identifier: testIdentifier, Secret: testSecret}
	tests := []struct {
		name       string
		edit       func(*Config)
		wantFields []string // each must be named in the error; none means valid
	}{
		{"valid", func(*Config) {}, nil},
		{"with access key", func(c *Config) { c.AccessKey = "key" }, nil},
		{"http endpoint", func(c *Config) { c.Endpoint = "http://127.0.0.1:8080/whmcs/includes/api.php" }, nil},
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, []string{"Endpoint"}},
		{"relative endpoint", func(c *Config) { c.Endpoint = "includes/api.php" }, []string{"Endpoint"}},
		{"ftp endpoint", func(c *Config) { c.Endpoint = "ftp://billing.example.com/includes/api.php" }, []string{"Endpoint"}},
		{"endpoint without host", func(c *Config) { c.Endpoint = "https:///includes/api.php" }, []string{"Endpoint"}},
		{"endpoint with user info", func(c *Config) { c.Endpoint = "https://admin:pw@billing.example.com/includes/api.php" }, []string{"Endpoint"}},
		{"empty identifier", func(c *Config) { c.Identifier = " " }, []string{"Identifier"}},
		{"empty secret", func(c *Config) { c.Secret = "" }, []string{"Secret"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"Timeout"}},
		{"everything wrong", func(c *Config) { *c = Config{Endpoint: "::", Timeout: -1} }, []string{"Endpoint", "Identifier", "Secret", "Timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			c, err := New(cfg)
			if len(tt.wantFields) == 0 {
				if err != nil || c == nil {
					t.Fatalf("New = %v, %v; want a client", c, err)
				}
				return
			}
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, f := range tt.wantFields {
				if !strings.Contains(err.Error(), f+":") {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
		})
	}
}

func TestNew_defaults(t *testing.T) {
	c, err := New(Config{Endpoint: "https://billing.example.com/includes/api.php", Identifier: testIdentifier, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != DefaultTimeout || c.http.Timeout != DefaultTimeout || c.pageSize != 250 {
		t.Errorf("timeout = %v, http timeout = %v, page size %d; want %v and 250", c.timeout, c.http.Timeout, c.pageSize, DefaultTimeout)
	}
	if c.http.CheckRedirect == nil {
		t.Error("the client follows redirects")
	}
	own := &http.Client{Transport: &http.Transport{}}
	c, err = New(Config{Endpoint: "https://billing.example.com/includes/api.php", Identifier: testIdentifier, Secret: testSecret, HTTPClient: own, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.http.Transport != own.Transport || c.timeout != time.Second {
		t.Errorf("New did not keep the caller's transport and timeout")
	}
	if own.CheckRedirect != nil {
		t.Error("New changed the caller's http.Client")
	}
}

// lookupThen is the lookup of docDomain (id 1) followed by answer.
func lookupThen(t *testing.T, answer providertest.Answer) []providertest.Answer {
	return []providertest.Answer{ok(t, "getclientsdomains_domain.json"), answer}
}

func TestClient_LockState(t *testing.T) {
	tests := []struct {
		name          string
		answer        func(t *testing.T) providertest.Answer
		want          providers.State
		wantErr       error
		wantPermanent bool
		wantMsg       string
	}{
		{name: "locked", answer: fixture("domaingetlockingstatus_locked.json"), want: providers.State{Locked: true, Indirect: true}},
		// "unlocked" may be WHMCS hiding a failed registrar call: Indirect
		// tells the reconciler to confirm it.
		{name: "unlocked", answer: fixture("domaingetlockingstatus_unlocked.json"), want: providers.State{Locked: false, Indirect: true}},
		{name: "PHP notice before the JSON", answer: fixture("domaingetlockingstatus_phpnotice.json"), want: providers.State{Locked: true, Indirect: true}},
		{name: "byte order mark", answer: body("\xef\xbb\xbf{\"result\":\"success\",\"lockstatus\":\"unlocked\"}"), want: providers.State{Indirect: true}},
		{name: "capitalised", answer: body(`{"result":"Success","lockstatus":"Locked"}`), want: providers.State{Locked: true, Indirect: true}},
		{name: "unknown", answer: fixture("domaingetlockingstatus_unknown.json"), wantMsg: `lockstatus "Unknown": the registrar module returned no lock state`},
		{name: "truncated", answer: fixture("domaingetlockingstatus_truncated.json"), wantErr: errMalformed},
		{name: "no lockstatus", answer: fixture("domainupdatelockingstatus_success.json"), wantMsg: "no usable lockstatus"},
		{name: "odd lockstatus", answer: body(`{"result":"success","lockstatus":"maybe"}`), wantMsg: `no usable lockstatus: "maybe"`},
		{name: "html page", answer: body("<html><body>Maintenance</body></html>"), wantErr: errNotWHMCS},
		{name: "json without result", answer: body(`{"status":"ok"}`), wantErr: errNotWHMCS},
		{name: "json array", answer: body(`[1,2]`), wantErr: errNotWHMCS},
		{name: "unknown result", answer: body(`{"result":"pending"}`), wantErr: errMalformed, wantMsg: `result "pending"`},
		{name: "error without message", answer: body(`{"result":"error"}`), wantMsg: "result=error without a message"},
		{name: "auth failed", answer: at403("error_authfailed.json"), wantErr: providers.ErrAuth, wantPermanent: true, wantMsg: "Authentication Failed"},
		{name: "auth failed at 200", answer: fixture("error_authfailed.json"), wantErr: providers.ErrAuth, wantPermanent: true},
		{name: "invalid ip", answer: at403("error_invalidip.json"), wantErr: providers.ErrAuth, wantPermanent: true, wantMsg: "Invalid IP 127.0.0.1"},
		{name: "invalid credentials", answer: at403("error_invalidcredentials.json"), wantErr: providers.ErrAuth, wantPermanent: true},
		{name: "role without the command", answer: at403("error_invalidpermissions.json"), wantErr: providers.ErrAuth, wantPermanent: true},
		{name: "registrar error", answer: fixture("error_registrar.json"), wantMsg: "whmcs: DomainGetLockingStatus example.com: Registrar Error: Unable to establish socket: (110) Connection timed out"},
		{name: "module configuration", answer: fixture("error_registrarconfig.json"), wantPermanent: true, wantMsg: "An invalid configuration was detected with the registrar module"},
		{name: "command not found", answer: fixture("error_commandnotfound.json"), wantPermanent: true, wantMsg: "Command Not Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := setup(t, lookupThen(t, tt.answer(t))...)
			got, err := c.LockState(context.Background(), docDomain)
			assertRequests(t, f, wantRequest(t, "getclientsdomains_domain"), wantRequest(t, "domaingetlockingstatus_locked"))
			if tt.wantErr == nil && tt.wantMsg == "" && !tt.wantPermanent {
				providertest.AssertErr(t, err, nil, false)
				if got != tt.want {
					t.Errorf("LockState = %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("LockState = %+v, nil; want an error", got)
			}
			if got != (providers.State{}) {
				t.Errorf("LockState = %+v with an error, want the zero State", got)
			}
			if tt.wantErr != nil {
				providertest.AssertErr(t, err, tt.wantErr, tt.wantPermanent)
			} else if providers.IsPermanent(err) != tt.wantPermanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, !tt.wantPermanent, tt.wantPermanent)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func fixture(name string) func(t *testing.T) providertest.Answer {
	return func(t *testing.T) providertest.Answer { return ok(t, name) }
}

func at403(name string) func(t *testing.T) providertest.Answer {
	return func(t *testing.T) providertest.Answer { return at(t, http.StatusForbidden, name) }
}

func body(s string) func(t *testing.T) providertest.Answer {
	return func(*testing.T) providertest.Answer { return providertest.Answer{Body: []byte(s)} }
}

func TestClient_SetLock(t *testing.T) {
	tests := []struct {
		name          string
		locked        bool
		answer        string
		status        int
		wantErr       error
		wantPermanent bool
	}{
		{name: "lock", locked: true, answer: "domainupdatelockingstatus_success.json"},
		{name: "unlock", locked: false, answer: "domainupdatelockingstatus_success.json"},
		{name: "already unlocked", locked: false, answer: "error_alreadyunlocked.json"},
		// The "already" answers only mean success for their own direction.
		{name: "lock answered already unlocked", locked: true, answer: "error_alreadyunlocked.json", wantErr: errAlreadyUnlocked},
		{name: "already locked", locked: true, answer: "error_alreadylocked.json"},
		{name: "unlock answered already locked", locked: false, answer: "error_alreadylocked.json", wantErr: errAlreadyLocked},
		{name: "registrar error", locked: true, answer: "error_registrar.json"},
		{name: "module configuration", locked: true, answer: "error_registrarconfig.json", wantPermanent: true},
		{name: "auth failed", locked: false, answer: "error_authfailed.json", status: http.StatusForbidden, wantErr: providers.ErrAuth, wantPermanent: true},
		{name: "truncated", locked: true, answer: "domaingetlockingstatus_truncated.json", wantErr: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := setup(t, lookupThen(t, at(t, tt.status, tt.answer))...)
			err := c.SetLock(context.Background(), docDomain, tt.locked)
			switch {
			case tt.wantErr != nil:
				providertest.AssertErr(t, err, tt.wantErr, tt.wantPermanent)
			case strings.HasPrefix(tt.answer, "error_") && !strings.Contains(tt.answer, "already"):
				if err == nil || providers.IsPermanent(err) != tt.wantPermanent {
					t.Errorf("err = %v, want an error with IsPermanent %v", err, tt.wantPermanent)
				}
			default:
				providertest.AssertErr(t, err, nil, false)
			}
			req := "domainupdatelockingstatus_unlock"
			if tt.locked {
				req = "domainupdatelockingstatus_lock"
			}
			assertRequests(t, f, wantRequest(t, "getclientsdomains_domain"), wantRequest(t, req))
		})
	}
}

// TestClient_SetLock_lockstatusAlwaysSent pins the WHMCS quirk: a missing
// lockstatus means unlock, so unlocking sends lockstatus=0 explicitly.
func TestClient_SetLock_lockstatusAlwaysSent(t *testing.T) {
	c, f := setup(t, lookupThen(t, ok(t, "domainupdatelockingstatus_success.json"))...)
	if err := c.SetLock(context.Background(), docDomain, false); err != nil {
		t.Fatal(err)
	}
	if got, ok := f.Requests()[1].Form()["lockstatus"]; !ok || !slices.Equal(got, []string{"0"}) {
		t.Errorf("lockstatus = %q (present %v), want exactly 0", got, ok)
	}
}

// The id is looked up once and cached: later calls are one request each.
func TestClient_cachedID(t *testing.T) {
	c, f := setup(t, ok(t, "getclientsdomains_domain.json"), ok(t, "domaingetlockingstatus_locked.json"),
		ok(t, "domainupdatelockingstatus_success.json"), ok(t, "domaingetlockingstatus_unlocked.json"))
	ctx := context.Background()
	if _, err := c.LockState(ctx, docDomain); err != nil {
		t.Fatal(err)
	}
	if err := c.SetLock(ctx, docDomain, false); err != nil {
		t.Fatal(err)
	}
	if st, err := c.LockState(ctx, docDomain); err != nil || st.Locked {
		t.Fatalf("LockState = %+v, %v", st, err)
	}
	assertRequests(t, f, wantRequest(t, "getclientsdomains_domain"), wantRequest(t, "domaingetlockingstatus_locked"),
		wantRequest(t, "domainupdatelockingstatus_unlock"), wantRequest(t, "domaingetlockingstatus_locked"))
}

// A cached id that WHMCS no longer knows is dropped and the name looked up
// once more.
func TestClient_staleID(t *testing.T) {
	lookup, read := wantRequest(t, "getclientsdomains_domain"), wantRequest(t, "domaingetlockingstatus_locked")
	read7 := withParam(read, "domainid", "7")
	tests := []struct {
		name    string
		answers func(t *testing.T) []providertest.Answer // after the first, successful read of id 1
		want    []url.Values                             // after the first lookup and read
		wantErr error
		cached  bool // whether docDomain is cached afterwards
	}{
		{
			name: "found again under a new id",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "error_domainidnotfound.json"), ok(t, "getclientsdomains_duplicates.json"), ok(t, "domaingetlockingstatus_unlocked.json")}
			},
			want:   []url.Values{read, lookup, read7},
			cached: true,
		},
		{
			name: "gone",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "error_domainidnotfound.json"), ok(t, "getclientsdomains_notfound.json")}
			},
			want:    []url.Values{read, lookup},
			wantErr: providers.ErrNotFound,
		},
		{
			name: "the new id is not found either",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "error_domainidnotfound.json"), ok(t, "getclientsdomains_duplicates.json"), ok(t, "error_domainidnotfound.json")}
			},
			want:    []url.Values{read, lookup, read7},
			wantErr: providers.ErrNotFound,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answers := append([]providertest.Answer{ok(t, "getclientsdomains_domain.json"), ok(t, "domaingetlockingstatus_locked.json")}, tt.answers(t)...)
			c, f := setup(t, answers...)
			if _, err := c.LockState(context.Background(), docDomain); err != nil {
				t.Fatal(err)
			}
			st, err := c.LockState(context.Background(), docDomain)
			if tt.wantErr == nil {
				if err != nil || st != (providers.State{Indirect: true}) {
					t.Fatalf("LockState = %+v, %v; want unlocked", st, err)
				}
			} else {
				providertest.AssertErr(t, err, tt.wantErr, true)
			}
			assertRequests(t, f, append([]url.Values{lookup, read}, tt.want...)...)
			if _, ok := c.ids.get(docDomain); ok != tt.cached {
				t.Errorf("cached = %v, want %v", ok, tt.cached)
			}
		})
	}
}

// An id just looked up that WHMCS does not know is not looked up again.
func TestClient_freshIDNotFound(t *testing.T) {
	c, f := setup(t, ok(t, "getclientsdomains_domain.json"), ok(t, "error_domainidnotfound.json"))
	err := c.SetLock(context.Background(), docDomain, true)
	providertest.AssertErr(t, err, providers.ErrNotFound, true)
	assertRequests(t, f, wantRequest(t, "getclientsdomains_domain"), wantRequest(t, "domainupdatelockingstatus_lock"))
	if c.ids.len() != 0 {
		t.Error("the unknown id stayed cached")
	}
}

func TestClient_lookup(t *testing.T) {
	t.Run("not found", func(t *testing.T) {
		c, f := setup(t, ok(t, "getclientsdomains_notfound.json"))
		_, err := c.LockState(context.Background(), "nosuch.com")
		providertest.AssertErr(t, err, providers.ErrNotFound, true)
		assertRequests(t, f, wantRequest(t, "getclientsdomains_notfound"))
	})
	t.Run("duplicates: the active record wins", func(t *testing.T) {
		c, f := setup(t, ok(t, "getclientsdomains_duplicates.json"), ok(t, "domaingetlockingstatus_locked.json"))
		if _, err := c.LockState(context.Background(), docDomain); err != nil {
			t.Fatal(err)
		}
		assertRequests(t, f, wantRequest(t, "getclientsdomains_domain"), withParam(wantRequest(t, "domaingetlockingstatus_locked"), "domainid", "7"))
	})
	t.Run("numbers as strings", func(t *testing.T) {
		c, _ := setup(t, ok(t, "getclientsdomains_strings.json"), ok(t, "domaingetlockingstatus_locked.json"))
		if st, err := c.LockState(context.Background(), docDomain); err != nil || !st.Locked {
			t.Fatalf("LockState = %+v, %v", st, err)
		}
	})
	t.Run("another name in the answer does not count", func(t *testing.T) {
		c, _ := setup(t, ok(t, "getclientsdomains_domain.json"))
		_, err := c.LockState(context.Background(), "example.net")
		providertest.AssertErr(t, err, providers.ErrNotFound, true)
	})
	t.Run("U-label in WHMCS", func(t *testing.T) {
		c, f := setup(t, ok(t, "getclientsdomains_notfound.json"), ok(t, "getclientsdomains_mixed.json"), ok(t, "domaingetlockingstatus_locked.json"))
		if st, err := c.LockState(context.Background(), "xn--bcher-kva.de"); err != nil || !st.Locked {
			t.Fatalf("LockState = %+v, %v", st, err)
		}
		reqs := f.Requests()
		if len(reqs) != 3 || reqs[0].Form().Get("domain") != "xn--bcher-kva.de" || reqs[1].Form().Get("domain") != "bücher.de" {
			t.Errorf("lookups = %+v, want the A-label, then the U-label", reqs)
		}
	})
	t.Run("lookup refused", func(t *testing.T) {
		c, f := setup(t, at(t, http.StatusForbidden, "error_invalidip.json"))
		err := c.SetLock(context.Background(), docDomain, true)
		providertest.AssertErr(t, err, providers.ErrAuth, true)
		if n := len(f.Requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

func TestClient_invalidDomain(t *testing.T) {
	for _, domain := range []string{"", "com", "exa mple.com", "example.com\n", "\x00.com", strings.Repeat("a", 250) + ".com", "bad\xff.com"} {
		t.Run(fmt.Sprintf("%q", domain), func(t *testing.T) {
			c, f := setup(t, ok(t, "getclientsdomains_domain.json"))
			_, err := c.LockState(context.Background(), domain)
			if err == nil || !providers.IsPermanent(err) {
				t.Errorf("LockState(%q) = %v, want a permanent error", domain, err)
			}
			if err := c.SetLock(context.Background(), domain, true); err == nil || !providers.IsPermanent(err) {
				t.Errorf("SetLock(%q) = %v, want a permanent error", domain, err)
			}
			if n := len(f.Requests()); n != 0 {
				t.Errorf("%d requests sent for an invalid name, want 0", n)
			}
		})
	}
}

func TestClient_accessKey(t *testing.T) {
	f := providertest.NewWire(t, ok(t, "getclientsdomains_notfound.json"))
	c, err := New(Config{Endpoint: f.URL + "/includes/api.php", Identifier: testIdentifier, Secret: testSecret, AccessKey: "abc123"})
	if err != nil {
		t.Fatal(err)
	}
	_, _ = c.LockState(context.Background(), "nosuch.com")
	assertRequests(t, f, withParam(wantRequest(t, "getclientsdomains_notfound"), "accesskey", "abc123"))
}

// collect drains a Domains listing.
func collect(seq func(func(string, error) bool)) ([]string, []error) {
	var names []string
	var errs []error
	for name, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		names = append(names, name)
	}
	return names, errs
}

// setupPaged is setup with a page size of 3, the request fixtures' limitnum.
func setupPaged(t *testing.T, answers ...providertest.Answer) (*Client, *providertest.Wire) {
	c, f := setup(t, answers...)
	c.pageSize = 3
	return c, f
}

func TestClient_Domains_paging(t *testing.T) {
	c, f := setupPaged(t, ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json"), ok(t, "domaingetlockingstatus_locked.json"))
	names, errs := collect(c.Domains(context.Background()))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{"example.com", "example.net", "example.org", "example.info", "example.co.uk"}
	if !slices.Equal(names, want) {
		t.Errorf("Domains = %v, want %v", names, want)
	}
	// The listing's ids fill the cache: reading example.info needs no lookup.
	if _, err := c.LockState(context.Background(), "example.info"); err != nil {
		t.Fatal(err)
	}
	assertRequests(t, f, wantRequest(t, "getclientsdomains_page1"), wantRequest(t, "getclientsdomains_page2"),
		withParam(wantRequest(t, "domaingetlockingstatus_locked"), "domainid", "4"))
}

func TestClient_Domains_pageSize(t *testing.T) {
	c, f := setup(t, ok(t, "getclientsdomains_empty.json"))
	collect(c.Domains(context.Background()))
	assertRequests(t, f, withParam(wantRequest(t, "getclientsdomains_page1"), "limitnum", "250"))
}

// A WHMCS (or proxy) that answers fewer than limitnum while more exist:
// the next page starts after what arrived.
func TestClient_Domains_capped(t *testing.T) {
	c, f := setup(t, ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json"))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 5 || len(errs) != 0 {
		t.Fatalf("Domains = %v, %v; want 5 names", names, errs)
	}
	reqs := f.Requests()
	if len(reqs) != 2 || reqs[1].Form().Get("limitstart") != "3" {
		t.Errorf("requests %+v, want the second from limitstart 3", reqs)
	}
}

// Billing data as typed by people: U-labels, capitals, trailing dots; and
// records WHMCS keeps that are no longer in its care.
func TestClient_Domains_mixed(t *testing.T) {
	c, _ := setup(t, ok(t, "getclientsdomains_mixed.json"))
	names, errs := collect(c.Domains(context.Background()))
	want := []string{"xn--bcher-kva.de", "expired.com", "pending.net"}
	if !slices.Equal(names, want) || len(errs) != 0 {
		t.Errorf("Domains = %v, %v; want %v", names, errs, want)
	}
}

func TestClient_Domains_ends(t *testing.T) {
	tests := []struct {
		name      string
		answers   func(t *testing.T) []providertest.Answer
		wantNames int
		wantReqs  int
	}{
		{"empty", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{ok(t, "getclientsdomains_empty.json")}
		}, 0, 1},
		// Domains deleted while the listing is read: the next page is empty
		// and totalresults says so.
		{"the listing shrank", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_shrunk.json")}
		}, 3, 2},
		// Without totalresults, a short page is the last.
		{"no totalresults", func(t *testing.T) []providertest.Answer {
			page := strings.Replace(string(providertest.ReadFixture(t, "getclientsdomains_page2.json")), `"totalresults": "5",`, "", 1)
			return []providertest.Answer{{Body: []byte(page)}}
		}, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := setupPaged(t, tt.answers(t)...)
			names, errs := collect(c.Domains(context.Background()))
			if len(names) != tt.wantNames || len(errs) != 0 || len(f.Requests()) != tt.wantReqs {
				t.Errorf("Domains = %v, %v after %d requests; want %d names after %d", names, errs, len(f.Requests()), tt.wantNames, tt.wantReqs)
			}
		})
	}
}

func TestClient_Domains_error(t *testing.T) {
	c, f := setupPaged(t, ok(t, "getclientsdomains_page1.json"), at(t, http.StatusForbidden, "error_authfailed.json"))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 3 {
		t.Errorf("got %d names before the error, want 3", len(names))
	}
	if len(errs) != 1 || !errors.Is(errs[0], providers.ErrAuth) {
		t.Errorf("errors = %v, want one ErrAuth", errs)
	}
	if n := len(f.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestClient_Domains_badName(t *testing.T) {
	page := strings.Replace(string(providertest.ReadFixture(t, "getclientsdomains_page1.json")), `"example.net"`, `"not a domain"`, 1)
	c, _ := setupPaged(t, providertest.Answer{Body: []byte(page)})
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), `domain id 2: "not a domain" is not a domain name`) {
		t.Errorf("Domains = %v, %v; want one name, then an error naming id 2", names, errs)
	}
}

func TestClient_Domains_stopEarly(t *testing.T) {
	c, f := setupPaged(t, ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json"))
	for range c.Domains(context.Background()) {
		break
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests after the consumer stopped, want 1", n)
	}
}

func TestClient_HTTPStatus(t *testing.T) {
	page := []byte("<html><body><h1>Service Unavailable</h1></body></html>")
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name      string
		status    int
		header    http.Header
		wantAfter time.Duration // >0: a *RetryAfterError at least this long
		wantMsg   string
	}{
		{name: "503 with Retry-After seconds", status: 503, header: http.Header{"Retry-After": {"7"}}, wantAfter: 7 * time.Second},
		{name: "429 with Retry-After seconds", status: 429, header: http.Header{"Retry-After": {"1"}}, wantAfter: time.Second},
		{name: "429 with Retry-After date", status: 429, header: http.Header{"Retry-After": {future}}, wantAfter: 80 * time.Second},
		{name: "429 without Retry-After", status: 429},
		{name: "503 without Retry-After", status: 503},
		{name: "503 with bad Retry-After", status: 503, header: http.Header{"Retry-After": {"soon"}}},
		{name: "500", status: 500},
		{name: "403 without JSON", status: 403},
		{name: "404", status: 404},
		{name: "302", status: 302, header: http.Header{"Location": {"https://billing.example.com/login.php?token=abc"}},
			wantMsg: "redirected to https://billing.example.com/login.php (Endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"text/html"}}
			for k, v := range tt.header {
				h[k] = v
			}
			c, _ := setup(t, providertest.Answer{Status: tt.status, Header: h, Body: page})
			_, err := c.LockState(context.Background(), docDomain)
			var se *providers.StatusError
			if !errors.As(err, &se) || se.Code != tt.status || !strings.Contains(se.Body, "Service Unavailable") {
				t.Fatalf("err = %v, want a *StatusError %d with the body", err, tt.status)
			}
			if providers.IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = true, want transient", err)
			}
			var ra *providers.RetryAfterError
			gotRA := errors.As(err, &ra)
			switch {
			case tt.wantAfter == 0 && gotRA:
				t.Errorf("err = %v, want no *RetryAfterError", err)
			case tt.wantAfter > 0 && (!gotRA || ra.After < tt.wantAfter || ra.After > tt.wantAfter+15*time.Second):
				t.Errorf("err = %v, want a *RetryAfterError of about %v", err, tt.wantAfter)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

// A redirect is not followed: a 307 would send the credentials again,
// wherever it points.
func TestClient_noRedirect(t *testing.T) {
	other := providertest.NewWire(t)
	c, _ := setup(t, providertest.Answer{Status: http.StatusTemporaryRedirect, Header: http.Header{"Location": {other.URL + "/includes/api.php"}}})
	_, err := c.LockState(context.Background(), docDomain)
	var se *providers.StatusError
	if !errors.As(err, &se) || se.Code != http.StatusTemporaryRedirect {
		t.Errorf("err = %v, want a *StatusError 307", err)
	}
	if n := len(other.Requests()); n != 0 {
		t.Errorf("the client followed the redirect: %d requests reached its target", n)
	}
}

func TestClient_transportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL + "/includes/api.php"
	srv.Close()
	c, err := New(Config{Endpoint: endpoint, Identifier: testIdentifier, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LockState(context.Background(), docDomain)
	if err == nil || providers.IsPermanent(err) || errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a transient transport error", err)
	}
}

func TestClient_contextCanceled(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := New(Config{Endpoint: srv.URL + "/includes/api.php", Identifier: testIdentifier, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	err = c.SetLock(ctx, docDomain, true)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("SetLock returned after %v, want soon after cancellation", d)
	}
}

// The client's own per-request timeout is a transient error, not the
// caller's cancellation.
func TestClient_timeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := New(Config{Endpoint: srv.URL + "/includes/api.php", Identifier: testIdentifier, Secret: testSecret, Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LockState(context.Background(), docDomain)
	if err == nil || providers.IsPermanent(err) || errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a transient timeout", err)
	}
}

// phpEscape escapes s as PHP's json_encode does by default, for echoes:
// '/' as \/, everything outside ASCII as \uXXXX, but not <, > and &.
func phpEscape(s string) string {
	var buf strings.Builder
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b := strings.TrimSpace(buf.String())
	out := strings.ReplaceAll(b[1:len(b)-1], "/", `\/`)
	var sb strings.Builder
	for _, r := range out {
		switch {
		case r >= 0x10000:
			r -= 0x10000
			fmt.Fprintf(&sb, `\u%04x\u%04x`, 0xd800+(r>>10)&0x3ff, 0xdc00+r&0x3ff)
		case r >= 0x80:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// echoForms are the spellings of v an echo may use.
func echoForms(v string) []string {
	return []string{v, url.QueryEscape(v), url.PathEscape(v), phpEscape(v), html.EscapeString(v), html.EscapeString(url.QueryEscape(v))}
}

// errorTexts is every text an error can be printed as, through its whole
// tree of wrapped errors.
func errorTexts(err error) []string {
	if err == nil {
		return nil
	}
	texts := []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)}
	var se *providers.StatusError
	if errors.As(err, &se) {
		texts = append(texts, se.Body)
	}
	switch u := err.(type) {
	case interface{ Unwrap() error }:
		texts = append(texts, errorTexts(u.Unwrap())...)
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			texts = append(texts, errorTexts(e)...)
		}
	}
	return texts
}

// TestClient_errorsNeverContainCredentials provokes every error path with
// distinctive credentials, most of them with a server that echoes them
// back in every spelling, and checks that no error text reveals them.
func TestClient_errorsNeverContainCredentials(t *testing.T) {
	const (
		id  = "Ident/ifier+with&odd=chars"
		sec = "S3cr3t/über+\"quoted\"&more<tag>"
		key = "acc3ss-k3y/ß"
	)
	var forms []string
	for _, v := range []string{id, sec, key} {
		forms = append(forms, echoForms(v)...)
	}
	jsonEscaped := func() string {
		var all []string
		for _, f := range forms {
			all = append(all, strings.ReplaceAll(strings.ReplaceAll(f, `\`, `\\`), `"`, `\"`))
		}
		return strings.Join(all, " ")
	}
	echo := func(format string) func(t *testing.T) []providertest.Answer {
		return func(*testing.T) []providertest.Answer {
			return []providertest.Answer{{Body: []byte(fmt.Sprintf(format, jsonEscaped()))}}
		}
	}
	raw := func(status int, prefix string) func(t *testing.T) []providertest.Answer {
		return func(*testing.T) []providertest.Answer {
			return []providertest.Answer{{Status: status, Header: http.Header{"Retry-After": {"3"}}, Body: []byte(prefix + strings.Join(forms, " "))}}
		}
	}
	// afterJSONEncoding is WHMCS failing to encode JSON, then the XML answer.
	afterJSONEncoding := func(xmlBody string) func(t *testing.T) []providertest.Answer {
		return func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{ok(t, "error_jsonencoding.json"), {Body: []byte(xmlBody)}}
		}
	}
	cdata := "<![CDATA[" + strings.Join(forms, " ") + "]]>"
	tests := []struct {
		name    string
		answers func(t *testing.T) []providertest.Answer
		closed  bool
	}{
		{name: "transport error", closed: true},
		{name: "HTTP 500 echoing", answers: raw(500, "")},
		{name: "HTTP 503 Retry-After echoing past the snippet", answers: raw(503, strings.Repeat("x", 190))},
		{name: "HTTP 302 echoing", answers: raw(302, "")},
		{name: "HTML error page echoing escaped", answers: raw(200, "<html><body><p>Request: ")},
		{name: "bad JSON echoing", answers: echo(`{"result":"success","x":"%s`)},
		{name: "not WHMCS echoing", answers: echo("<html>%s</html>")},
		{name: "auth error echoing", answers: echo(`{"result":"error","message":"Authentication Failed %s"}`)},
		{name: "registrar error echoing", answers: echo(`{"result":"error","message":"%s"}`)},
		{name: "odd result echoing", answers: echo(`{"result":"%s"}`)},
		{name: "status-shaped error echoing", answers: echo(`{"status":"error","message":"%s"}`)},
		{name: "warning echoing", answers: echo(`{"warning":"%s"}`)},
		{name: "odd lockstatus echoing", answers: echo(`{"result":"success","lockstatus":"%s","domains":{"domain":[{"id":1,"domainname":"example.com"}]}}`)},
		{name: "echo in a number field", answers: echo(`{"result":"success","totalresults":"%s"}`)},
		{name: "echo in domains", answers: echo(`{"result":"success","domains":"%s"}`)},
		{name: "echo in domains.domain", answers: echo(`{"result":"success","domains":{"domain":"%s"}}`)},
		{name: "echo as a key", answers: echo(`{"result":"success","%s":1}`)},
		{name: "echo in a JSON encoding error", answers: echo(`{"result":"error","message":"Error generating JSON encoded response: %s"}`)},
		{name: "XML error echoing", answers: afterJSONEncoding(`<whmcsapi version=""><result>error</result><message>` + cdata + `</message></whmcsapi>`)},
		{name: "XML lockstatus echoing", answers: afterJSONEncoding(`<whmcsapi><result>success</result><lockstatus>` + cdata + `</lockstatus></whmcsapi>`)},
		{name: "unreadable XML echoing", answers: afterJSONEncoding(`<whmcsapi><result>success</result><` + strings.Join(forms, "><") + `>`)},
		{name: "XML echo in a number", answers: afterJSONEncoding(`<whmcsapi><result>success</result><totalresults>` + cdata + `</totalresults></whmcsapi>`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var endpoint string
			if tt.closed {
				srv := httptest.NewServer(http.NotFoundHandler())
				srv.Close()
				endpoint = srv.URL
			} else {
				endpoint = providertest.NewWire(t, tt.answers(t)...).URL
			}
			c, err := New(Config{Endpoint: endpoint + "/includes/api.php", Identifier: id, Secret: sec, AccessKey: key})
			if err != nil {
				t.Fatal(err)
			}
			var errs []error
			_, err = c.LockState(context.Background(), docDomain)
			errs = append(errs, err)
			errs = append(errs, c.SetLock(context.Background(), docDomain, false))
			_, listErrs := collect(c.Domains(context.Background()))
			errs = append(errs, listErrs...)
			for _, err := range errs {
				for _, text := range errorTexts(err) {
					for _, form := range forms {
						if strings.Contains(text, form) {
							t.Fatalf("error reveals a credential (%q): %s", form, text)
						}
					}
				}
			}
		})
	}
}

// A credential echoed HTML-escaped in an error page (a proxy or a PHP
// error handler printing the request) is redacted in that spelling too,
// and the rest of the page's text still reaches the error.
func TestClient_redactsHTMLEscapedEcho(t *testing.T) {
	const sec = `p<a&ss"w0rd`
	escaped := html.EscapeString(sec) // p&lt;a&amp;ss&#34;w0rd
	page := "<html><body><h1>Internal error</h1><pre>secret=" + escaped + "</pre></body></html>"
	w := providertest.NewWire(t, providertest.Answer{Status: http.StatusInternalServerError, Body: []byte(page)})
	c, err := New(Config{Endpoint: w.URL + "/includes/api.php", Identifier: testIdentifier, Secret: sec})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LockState(context.Background(), docDomain)
	var se *providers.StatusError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *StatusError", err)
	}
	for _, text := range errorTexts(err) {
		if strings.Contains(text, escaped) || strings.Contains(text, "&lt;a&amp;ss") || strings.Contains(text, sec) {
			t.Fatalf("the escaped credential reached the error: %s", text)
		}
	}
	// The page's text, not its markup (it has no title).
	if want := "Internal error secret=" + secret.Redacted; se.Body != want {
		t.Errorf("body = %q, want %q", se.Body, want)
	}
}

func TestNew_errorNeverContainsCredentials(t *testing.T) {
	const sec = "S3cr3t-in-config"
	_, err := New(Config{Endpoint: "https://admin:" + sec + "@[bad", Secret: sec, Timeout: -1})
	if err == nil || strings.Contains(err.Error(), sec) {
		t.Errorf("New error = %v, want one without the secret", err)
	}
	_, err = New(Config{Endpoint: "https://admin:" + sec + "@billing.example.com/includes/api.php", Identifier: "i", Secret: "s"})
	if err == nil || strings.Contains(err.Error(), sec) {
		t.Errorf("New error = %v, want one without the password", err)
	}
	c, err := New(Config{Endpoint: "https://billing.example.com/includes/api.php?x=" + sec, Identifier: "Ident-" + sec, Secret: sec, AccessKey: "Key-" + sec})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c); strings.Contains(s, sec) {
		t.Errorf("printing the client reveals a credential: %s", s)
	}
}

func TestIDCache(t *testing.T) {
	c := newIDCache(3)
	for i, name := range []string{"a.com", "b.com", "c.com", "d.com"} {
		c.put(name, i+1)
	}
	if c.len() != 3 {
		t.Errorf("len = %d, want the bound 3", c.len())
	}
	c.put("d.com", 9)
	if id, ok := c.get("d.com"); !ok || id != 9 {
		t.Errorf("get(d.com) = %d, %v; want 9", id, ok)
	}
	c.forget("d.com", 4) // an older id: kept
	if _, ok := c.get("d.com"); !ok {
		t.Error("forget with a stale id dropped the newer one")
	}
	c.forget("d.com", 9)
	if _, ok := c.get("d.com"); ok {
		t.Error("forget did not drop the entry")
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 1000 {
				name := fmt.Sprintf("n%d-%d.com", i, j%10)
				c.put(name, j)
				c.get(name)
				c.forget(name, j)
			}
		})
	}
	wg.Wait()
	if c.len() > 3 {
		t.Errorf("len = %d, want at most 3", c.len())
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name      string
		body      string
		wantTotal int
		wantIDs   []int
		wantErr   error
	}{
		{name: "domains empty string", body: `{"result":"success","totalresults":"0","domains":""}`, wantTotal: 0},
		{name: "domains absent", body: `{"result":"success","totalresults":5}`, wantTotal: 5},
		{name: "domains null", body: `{"result":"success","domains":null}`, wantTotal: -1},
		{name: "domains empty array", body: `{"result":"success","domains":[]}`, wantTotal: -1},
		{name: "domains empty object", body: `{"result":"success","domains":{}}`, wantTotal: -1},
		{name: "domain empty list", body: `{"result":"success","domains":{"domain":[]}}`, wantTotal: -1},
		{name: "single item", body: `{"result":"success","domains":{"domain":{"id":"4","domainname":"a.com"}}}`, wantTotal: -1, wantIDs: []int{4}},
		{name: "bare list", body: `{"result":"success","domains":[{"id":4,"domainname":"a.com"},{"id":5}]}`, wantTotal: -1, wantIDs: []int{4, 5}},
		{name: "total as number", body: `{"result":"success","totalresults":2,"domains":{"domain":[{"id":1},{"id":"2"}]}}`, wantTotal: 2, wantIDs: []int{1, 2}},
		{name: "total empty string", body: `{"result":"success","totalresults":""}`, wantTotal: -1},
		{name: "negative total", body: `{"result":"success","totalresults":-1}`, wantErr: errMalformed},
		{name: "fractional id", body: `{"result":"success","domains":{"domain":[{"id":1.5}]}}`, wantErr: errMalformed},
		{name: "domains a number", body: `{"result":"success","domains":3}`, wantErr: errMalformed},
		{name: "null", body: `null`, wantErr: errNotWHMCS},
		{name: "string", body: `"success"`, wantErr: errNotWHMCS},
		{name: "empty", body: ``, wantErr: errNotWHMCS},
		{name: "result empty", body: `{"result":""}`, wantErr: errNotWHMCS},
		{name: "result a number", body: `{"result":1}`, wantTotal: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseResponse([]byte(tt.body))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("parseResponse = %+v, %v; want %v", r, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []int
			for _, d := range r.domains {
				ids = append(ids, d.id)
			}
			if r.totalResults != tt.wantTotal || !slices.Equal(ids, tt.wantIDs) {
				t.Errorf("total %d, ids %v; want %d, %v", r.totalResults, ids, tt.wantTotal, tt.wantIDs)
			}
		})
	}
}

// Parse errors describe the body without quoting it: a credential echoed in
// a field of the wrong type must not reach an error.
func TestParseResponse_errorsQuoteNothing(t *testing.T) {
	for _, body := range []string{
		`{"result":"success","domains":{"domain":[{"id":12345678.9}]}}`,
		`{"result":"success","totalresults":12345678.9}`,
		`{"result":"success","totalresults":"12345678x"}`,
		`{"result":"success","domains":"12345678"}`,
		`{"result":"success","domains":{"domain":"12345678"}}`,
		`{"result":"success","domains":{"domain":[12345678]}}`,
		`{"result":12345678,"message":{"a":"12345678"},"lockstatus":[12345678],"x":`,
	} {
		_, err := parseResponse([]byte(body))
		if err == nil || strings.Contains(err.Error(), "1234") {
			t.Errorf("parseResponse(%s) = %v, want an error that quotes nothing", body, err)
		}
	}
}

// The message is kept whole up to maxText and cut there.
func TestParseResponse_longMessage(t *testing.T) {
	long := strings.Repeat("é", maxText)
	r, err := parseResponse([]byte(`{"result":"error","message":"` + long + `"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.message) > maxText || !strings.HasPrefix(long, r.message) || len(r.message) < maxText-1 {
		t.Errorf("message of %d bytes, want a valid cut at %d", len(r.message), maxText)
	}
}
