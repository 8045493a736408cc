package ee

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strconv"

	"net/http"
	"net/http/httptest"
	"net/url"

	"reflect"
	"slices"
	"strings"

	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// The documents' example token; the request fixtures carry it.
const testToken = "Z2l0bGFiOmdoeXQ5ZTRmdQ=="

// The fixtures' domains and UUIDs (the registry's test fixtures).
const (
	shopUUID    = "1b3ee442-e8fe-4922-9492-8fcb9dccc69c"
	airportUUID = "2df2c1a1-8f6a-490a-81be-8bdf29866880"
	draftUUID   = "98d1083a-8863-4153-93e4-caee4a013535"
)

// setup starts the shared wire fake answering with answers, and a Client
// with the documents' token for it; edit adjusts the Config.
func setup(t *testing.T, edit func(*Config), answers ...providertest.Answer) (*Client, *providertest.Wire) {
	t.Helper()
	w := providertest.NewWire(t, answers...)
	cfg := Config{Endpoint: w.URL, Token: testToken}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, w
}

func repp(c *Config) { c.API = APIRepp }

// ok is a 200 answer with the body of a testdata fixture.
func ok(t *testing.T, fixture string) providertest.Answer {
	t.Helper()
	return providertest.Fixture(t, fixture)
}

// status is an answer with a status and the body of a fixture.
func status(t *testing.T, code int, fixture string) providertest.Answer {
	t.Helper()
	return providertest.Answer{Status: code, Body: providertest.ReadFixture(t, fixture)}
}

// wantReq is a -request.txt fixture: the request line, the headers that
// must be sent (Accept, Authorization, Content-Type; one not listed must
// be absent) and the body.
type wantReq struct {
	method, path string
	query        url.Values
	header       map[string]string
	body         []byte
}

func wantRequest(t *testing.T, name string) wantReq {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(providertest.ReadFixture(t, name+"-request.txt")))
	sc.Scan()
	method, target, _ := strings.Cut(sc.Text(), " ")
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	w := wantReq{method: method, path: u.Path, query: u.Query(), header: map[string]string{}}
	for sc.Scan() && sc.Text() != "" {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		w.header[k] = v
	}
	for sc.Scan() {
		w.body = append(w.body, sc.Bytes()...)
	}
	return w
}

// assertRequest checks the whole request against a fixture.
func assertRequest(t *testing.T, got providertest.Request, want wantReq) {
	t.Helper()
	if got.Method != want.method || got.Path != want.path {
		t.Errorf("request = %s %s, want %s %s", got.Method, got.Path, want.method, want.path)
	}
	q, _ := url.ParseQuery(got.RawQuery)
	if len(q) == 0 {
		q = url.Values{}
	}
	if !reflect.DeepEqual(q, want.query) {
		t.Errorf("query = %v, want %v", q, want.query)
	}
	for _, k := range []string{"Accept", "Authorization", "Content-Type"} {
		if g, w := got.Header.Get(k), want.header[k]; g != w {
			t.Errorf("%s = %q, want %q", k, g, w)
		}
	}
	switch {
	case len(want.body) == 0 && len(got.Body) != 0:
		t.Errorf("body = %s, want none", got.Body)
	case len(want.body) != 0:
		var g, w any
		if json.Unmarshal(got.Body, &g) != nil || json.Unmarshal(want.body, &w) != nil || !reflect.DeepEqual(g, w) {
			t.Errorf("body = %s, want %s", got.Body, want.body)
		}
	}
}

// assertRequests checks the sequence of requests against fixtures.
func assertRequests(t *testing.T, f *providertest.Wire, fixtures ...string) {
	t.Helper()
	reqs := f.Requests()
	if len(reqs) != len(fixtures) {
		var got []string
		for _, r := range reqs {
			got = append(got, r.Method+" "+r.Path+"?"+r.RawQuery)
		}
		t.Fatalf("%d requests %v, want %d (%v)", len(reqs), got, len(fixtures), fixtures)
	}
	for i, name := range fixtures {
		assertRequest(t, reqs[i], wantRequest(t, name))
	}
}

func TestNew(t *testing.T) {
	valid := Config{Endpoint: "https://registrant.internet.ee", Token: testToken}
	eid := &EID{Ident: "38903110313", FirstName: "Mari", LastName: "Maasikas", CountryCode: "ee"}
	tests := []struct {
		name       string
		edit       func(*Config)
		wantFields []string // each must be named in the error; none means valid
	}{
		{"valid", func(*Config) {}, nil},
		{"http endpoint with path", func(c *Config) { c.Endpoint = "http://127.0.0.1:8090/ee/" }, nil},
		{"repp", func(c *Config) { c.API = APIRepp }, nil},
		{"v1", func(c *Config) { c.API = APIV1 }, nil},
		{"eid", func(c *Config) { c.Token, c.EID = "", eid }, nil},
		{"eid without country", func(c *Config) { c.Token, c.EID = "", &EID{Ident: "1", FirstName: "A", LastName: "B"} }, nil},
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, []string{"Endpoint"}},
		{"relative endpoint", func(c *Config) { c.Endpoint = "registrant.internet.ee" }, []string{"Endpoint"}},
		{"ftp endpoint", func(c *Config) { c.Endpoint = "ftp://registrant.internet.ee" }, []string{"Endpoint"}},
		{"endpoint with user info", func(c *Config) { c.Endpoint = "https://u:p@registrant.internet.ee" }, []string{"Endpoint"}},
		{"endpoint with query", func(c *Config) { c.Endpoint = "https://registrant.internet.ee/?x=1" }, []string{"Endpoint"}},
		{"unknown api", func(c *Config) { c.API = "v2" }, []string{"API"}},
		{"no credentials", func(c *Config) { c.Token = "" }, []string{"Token"}},
		{"both credentials", func(c *Config) { c.EID = eid }, []string{"Token"}},
		{"token with space", func(c *Config) { c.Token = "a b" }, []string{"Token"}},
		{"eid fields empty", func(c *Config) { c.Token, c.EID = "", &EID{CountryCode: "EST"} },
			[]string{"EID.Ident", "EID.FirstName", "EID.LastName", "EID.CountryCode"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"Timeout"}},
		{"everything wrong", func(c *Config) { *c = Config{Endpoint: "::", API: "x", Timeout: -1} }, []string{"Endpoint", "API", "Token", "Timeout"}},
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
	c, err := New(Config{Endpoint: "https://registrant.internet.ee/", Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != DefaultTimeout || c.http == nil || c.http.Timeout != DefaultTimeout {
		t.Errorf("timeout = %v, http timeout = %v; want %v", c.timeout, c.http.Timeout, DefaultTimeout)
	}
	if c.api != APIV1 || c.prefix != "/api/v1/registrant" || c.endpoint != "https://registrant.internet.ee" {
		t.Errorf("api %q prefix %q endpoint %q", c.api, c.prefix, c.endpoint)
	}
	own := &http.Client{}
	c, err = New(Config{Endpoint: "https://registrant.internet.ee", API: APIRepp, EID: &EID{Ident: "1", FirstName: "a", LastName: "b", CountryCode: "lv"},
		HTTPClient: own, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.http != own || c.timeout != time.Second || c.prefix != "/repp/v1/registrant" || c.eid.CountryCode != "LV" {
		t.Errorf("New did not keep the caller's settings: %+v", c.eid)
	}
}

func TestClient_LockState(t *testing.T) {
	tests := []struct {
		name          string
		show          func(t *testing.T) providertest.Answer
		want          providers.State
		wantErr       error
		wantPermanent bool
		wantMsg       string
	}{
		{name: "locked by registrant", show: fixture("domain_show_locked.json"), want: providers.State{Locked: true}},
		{name: "unlocked", show: fixture("domain_show_unlocked.json"), want: providers.State{}},
		{name: "lock statuses without timestamp", show: fixture("domain_show_registry_locked.json"), want: providers.State{Locked: true, ByRegistry: true}},
		{name: "admin removed a lock status", show: fixture("domain_show_stale_timestamp.json"), want: providers.State{Locked: true, ByRegistry: true}},
		{name: "pending", show: fixture("domain_show_pending.json"), want: providers.State{Pending: true}},
		{name: "locked and pending", show: fixture("domain_show_pending_locked.json"), want: providers.State{Locked: true, Pending: true}},
		{name: "force delete", show: fixture("domain_show_force_delete.json"), want: providers.State{Locked: true, ByRegistry: true}},
		{name: "registrar transfer lock", show: fixture("domain_show_client_transfer.json"), want: providers.State{Locked: true, ByRegistry: true}},
		{name: "not authorized", show: fixtureStatus(401, "error_401_not_authorized.json"), wantErr: providers.ErrAuth, wantPermanent: true, wantMsg: "Not authorized"},
		{name: "not authorized, old shape", show: fixtureStatus(401, "error_401_legacy.json"), wantErr: providers.ErrAuth, wantPermanent: true},
		{name: "rails 500", show: fixtureStatus(500, "error_500_rails.json"), wantMsg: "unexpected HTTP status 500"},
		{name: "truncated", show: body(`{"id":"1b3ee442-e8fe-4922-9492-8fcb9dccc69c","name":"sh`), wantErr: errTruncated},
		{name: "not json", show: body("<html>Maintenance</html>"), wantErr: errMalformed},
		{name: "another domain", show: fixture("domain_show_other_domain.json"), wantMsg: "answer is about domain " + airportUUID},
		{name: "simple object", show: body(`{"id":"` + shopUUID + `","name":"shop.test","statuses":["ok"]}`), wantErr: errMalformed, wantMsg: "no locked_by_registrant_at"},
		{name: "statuses not strings", show: body(`{"id":"` + shopUUID + `","name":"shop.test","statuses":[1],"locked_by_registrant_at":null}`), wantErr: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := setup(t, nil, ok(t, "domains_resolve.json"), tt.show(t))
			got, err := c.LockState(context.Background(), "shop.test")
			assertRequests(t, f, "domains_resolve", "domain_show")
			if tt.wantErr == nil && tt.wantMsg == "" {
				providertest.AssertErr(t, err, nil, false)
				if got != tt.want {
					t.Errorf("LockState = %+v, want %+v", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("LockState = %+v, nil; want an error", got)
			}
			if tt.wantErr != nil {
				providertest.AssertErr(t, err, tt.wantErr, tt.wantPermanent)
			} else if providers.IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = true, want a transient error", err)
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

func fixtureStatus(code int, name string) func(t *testing.T) providertest.Answer {
	return func(t *testing.T) providertest.Answer { return status(t, code, name) }
}

func body(s string) func(t *testing.T) providertest.Answer {
	return func(*testing.T) providertest.Answer { return providertest.Answer{Body: []byte(s)} }
}

// A domain the listing does not hold is ErrNotFound without a GET.
func TestClient_LockState_notInListing(t *testing.T) {
	c, f := setup(t, nil, ok(t, "domains_resolve.json"))
	_, err := c.LockState(context.Background(), "nosuch.test")
	providertest.AssertErr(t, err, providers.ErrNotFound, true)
	assertRequests(t, f, "domains_resolve")
}

// GET 404 on a UUID from a listing made in the same call: both reads
// began after the call did, so ErrNotFound is final without another
// listing. (A cached UUID that answers 404 is looked up again:
// TestClient_staleUUID.)
func TestClient_LockState_404(t *testing.T) {
	for _, fx := range []string{"error_404.json", "error_404_doc.json"} {
		t.Run(fx, func(t *testing.T) {
			c, f := setup(t, nil, ok(t, "domains_resolve.json"), status(t, 404, fx))
			_, err := c.LockState(context.Background(), "shop.test")
			providertest.AssertErr(t, err, providers.ErrNotFound, true)
			assertRequests(t, f, "domains_resolve", "domain_show")
		})
	}
}

func TestClient_LockState_idn(t *testing.T) {
	c, f := setup(t, nil, ok(t, "domains_resolve.json"), ok(t, "domain_show_unlocked.json"))
	// õun.test: the simple listing has only the Unicode name.
	_, err := c.LockState(context.Background(), "xn--un-bka.test")
	// The fixture's object is shop.test's, so the answer is about another UUID.
	if err == nil || !strings.Contains(err.Error(), "answer is about domain") {
		t.Fatalf("err = %v, want the UUID mismatch", err)
	}
	if reqs := f.Requests(); len(reqs) != 2 || reqs[1].Path != "/api/v1/registrant/domains/5edda1a5-3548-41ee-8b65-6d60daf85a37" {
		t.Errorf("requests = %+v, want the IDN's UUID", reqs)
	}
}

func TestClient_SetLock(t *testing.T) {
	tests := []struct {
		name          string
		locked        bool
		answers       []string // after the listing; "422:x.json" gives a status
		wantErr       error
		wantPermanent bool
		wantMsg       string
		requests      []string // after the listing
	}{
		{name: "lock", locked: true, answers: []string{"registry_lock_post_success.json"}, requests: []string{"registry_lock_post"}},
		{name: "lock, doc's raw answer", locked: true, answers: []string{"registry_lock_post_doc.json"}, requests: []string{"registry_lock_post"}},
		{name: "unlock", answers: []string{"registry_lock_delete_success.json"}, requests: []string{"registry_lock_delete"}},
		{name: "unlock, doc's raw answer", answers: []string{"registry_lock_delete_doc.json"}, requests: []string{"registry_lock_delete"}},
		{name: "lock an already locked domain", locked: true, answers: []string{"422:error_422_cannot_lock.json", "domain_show_locked.json"},
			requests: []string{"registry_lock_post", "domain_show"}},
		{name: "lock an already locked domain, doc's shape", locked: true, answers: []string{"422:error_422_cannot_lock_doc.json", "domain_show_locked.json"},
			requests: []string{"registry_lock_post", "domain_show"}},
		{name: "lock a pending domain", locked: true, answers: []string{"422:error_422_cannot_lock.json", "domain_show_pending.json"},
			wantMsg: "pending", requests: []string{"registry_lock_post", "domain_show"}},
		{name: "lock refused for no visible reason", locked: true, answers: []string{"422:error_422_cannot_lock.json", "domain_show_unlocked.json"},
			wantErr: errCannotLock, wantPermanent: true, requests: []string{"registry_lock_post", "domain_show"}},
		{name: "lock refused, registry lock present", locked: true, answers: []string{"422:error_422_cannot_lock.json", "domain_show_registry_locked.json"},
			wantErr: errCannotLock, wantPermanent: true, requests: []string{"registry_lock_post", "domain_show"}},
		{name: "unlock an unlocked domain", answers: []string{"422:error_422_not_locked.json", "domain_show_unlocked.json"},
			requests: []string{"registry_lock_delete", "domain_show"}},
		{name: "unlock an unlocked domain, doc's shape", answers: []string{"422:error_422_not_locked_doc.json", "domain_show_unlocked.json"},
			requests: []string{"registry_lock_delete", "domain_show"}},
		{name: "unlock a registry lock", answers: []string{"422:error_422_not_locked.json", "domain_show_registry_locked.json"},
			wantErr: errNotLocked, wantPermanent: true, wantMsg: "cannot remove a registry lock", requests: []string{"registry_lock_delete", "domain_show"}},
		{name: "unlock refused while locked by registrant", answers: []string{"422:error_422_not_locked.json", "domain_show_locked.json"},
			wantErr: errNotLocked, requests: []string{"registry_lock_delete", "domain_show"}},
		{name: "unlock refused, read back fails", answers: []string{"422:error_422_not_locked.json", "503:error_500_rails.json"},
			wantMsg: "reading the domain back", requests: []string{"registry_lock_delete", "domain_show"}},
		{name: "technical contact", locked: true, answers: []string{"401:error_401_not_admin.json"},
			wantErr: providers.ErrNotPermitted, wantPermanent: true, wantMsg: "Only administrative contacts", requests: []string{"registry_lock_post"}},
		{name: "not authorized", locked: true, answers: []string{"401:error_401_not_authorized.json"},
			wantErr: providers.ErrAuth, wantPermanent: true, requests: []string{"registry_lock_post"}},
		{name: "not found", answers: []string{"404:error_404.json"},
			wantErr: providers.ErrNotFound, wantPermanent: true, requests: []string{"registry_lock_delete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answers := []providertest.Answer{ok(t, "domains_resolve.json")}
			for _, a := range tt.answers {
				code, name, found := strings.Cut(a, ":")
				if !found {
					answers = append(answers, ok(t, a))
					continue
				}
				var n int
				fmt.Sscan(code, &n)
				answers = append(answers, status(t, n, name))
			}
			c, f := setup(t, nil, answers...)
			err := c.SetLock(context.Background(), "shop.test", tt.locked)
			assertRequests(t, f, append([]string{"domains_resolve"}, tt.requests...)...)
			switch {
			case tt.wantErr == nil && tt.wantMsg == "":
				providertest.AssertErr(t, err, nil, false)
				return
			case err == nil:
				t.Fatal("SetLock = nil, want an error")
			case tt.wantErr != nil:
				providertest.AssertErr(t, err, tt.wantErr, tt.wantPermanent)
			case providers.IsPermanent(err):
				t.Errorf("IsPermanent(%v) = true, want transient", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestClient_repp(t *testing.T) {
	t.Run("LockState locked", func(t *testing.T) {
		c, f := setup(t, repp, ok(t, "domains_repp.json"), ok(t, "domain_show_repp_locked.json"))
		st, err := c.LockState(context.Background(), "domain0.ee")
		if err != nil || st != (providers.State{Locked: true}) {
			t.Fatalf("LockState = %+v, %v; want locked", st, err)
		}
		assertRequests(t, f, "domains_resolve_repp", "domain_show_repp")
	})
	t.Run("LockState unlocked and pending", func(t *testing.T) {
		for fx, want := range map[string]providers.State{
			"domain_show_repp_unlocked.json": {},
			"domain_show_repp_pending.json":  {Pending: true},
		} {
			c, _ := setup(t, repp, ok(t, "domains_repp.json"), ok(t, fx))
			st, err := c.LockState(context.Background(), "domain0.ee")
			if err != nil || st != want {
				t.Errorf("%s: LockState = %+v, %v; want %+v", fx, st, err, want)
			}
		}
	})
	t.Run("lock", func(t *testing.T) {
		c, f := setup(t, repp, ok(t, "domains_repp.json"), ok(t, "registry_lock_post_repp.json"))
		if err := c.SetLock(context.Background(), "domain0.ee", true); err != nil {
			t.Fatal(err)
		}
		assertRequests(t, f, "domains_resolve_repp", "registry_lock_post_repp")
	})
	t.Run("unlock", func(t *testing.T) {
		c, f := setup(t, repp, ok(t, "domains_repp.json"), ok(t, "registry_lock_delete_repp.json"))
		if err := c.SetLock(context.Background(), "domain0.ee", false); err != nil {
			t.Fatal(err)
		}
		assertRequests(t, f, "domains_resolve_repp", "registry_lock_delete_repp")
	})
	t.Run("lock a locked domain", func(t *testing.T) {
		c, f := setup(t, repp, ok(t, "domains_repp.json"), status(t, 400, "error_400_cannot_lock_repp.json"), ok(t, "domain_show_repp_locked.json"))
		if err := c.SetLock(context.Background(), "domain0.ee", true); err != nil {
			t.Fatal(err)
		}
		assertRequests(t, f, "domains_resolve_repp", "registry_lock_post_repp", "domain_show_repp")
	})
	t.Run("unlock an unlocked domain", func(t *testing.T) {
		c, f := setup(t, repp, ok(t, "domains_repp.json"), status(t, 400, "error_400_cannot_unlock_repp.json"), ok(t, "domain_show_repp_unlocked.json"))
		if err := c.SetLock(context.Background(), "domain0.ee", false); err != nil {
			t.Fatal(err)
		}
		assertRequests(t, f, "domains_resolve_repp", "registry_lock_delete_repp", "domain_show_repp")
	})
	t.Run("not found", func(t *testing.T) {
		c, _ := setup(t, repp, ok(t, "domains_repp.json"), status(t, 404, "error_404_repp.json"), ok(t, "domains_repp.json"))
		_, err := c.LockState(context.Background(), "domain0.ee")
		providertest.AssertErr(t, err, providers.ErrNotFound, true)
	})
	t.Run("other 400 is permanent", func(t *testing.T) {
		c, _ := setup(t, repp, ok(t, "domains_repp.json"), status(t, 400, "error_400_limit.json"))
		err := c.SetLock(context.Background(), "domain0.ee", true)
		if !providers.IsPermanent(err) || errors.Is(err, errCannotLock) {
			t.Errorf("err = %v, want a permanent rejection", err)
		}
	})
}

func TestClient_invalidDomain(t *testing.T) {
	for _, domain := range []string{"", "ee", "õun.ee", "exa mple.ee", "-.ee"} {
		t.Run(domain, func(t *testing.T) {
			c, f := setup(t, nil, ok(t, "domains_resolve.json"))
			if _, err := c.LockState(context.Background(), domain); err == nil || !providers.IsPermanent(err) {
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

// collect drains a listing.
func collect[T any](seq func(func(T, error) bool)) ([]T, []error) {
	var items []T
	var errs []error
	for it, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, it)
	}
	return items, errs
}

func pageSize2(c *Client) { c.pageSize = 2 }

func TestClient_LockStates_paging(t *testing.T) {
	c, f := setup(t, nil, ok(t, "domains_page1.json"), ok(t, "domains_page2.json"))
	pageSize2(c)
	got, errs := collect(c.LockStates(context.Background()))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []providers.DomainState{
		{Domain: "shop.test", ID: shopUUID, State: providers.State{Locked: true}},
		{Domain: "airport.test", ID: "2df2c1a1-8f6a-490a-81be-8bdf29866880"},
		{Domain: "library.test", ID: "647bcc48-8d5e-4a04-8ce5-2a3cd17b6eab", State: providers.State{Locked: true, ByRegistry: true}},
	}
	if !slices.Equal(got, want) {
		t.Errorf("LockStates = %+v, want %+v", got, want)
	}
	assertRequests(t, f, "domains_page1", "domains_page2")
	// The listing hands its UUIDs to the caller, which passes one back as a
	// hint: no lookup listing before the GET.
	f.Script(ok(t, "domain_show_locked.json"))
	ctx := providers.WithRegistrarID(context.Background(), "shop.test", got[0].ID)
	if _, err := c.LockState(ctx, "shop.test"); err != nil {
		t.Fatal(err)
	}
	if reqs := f.Requests(); len(reqs) != 3 || reqs[2].Path != "/api/v1/registrant/domains/"+shopUUID {
		t.Errorf("requests after LockStates: %+v", reqs)
	}
}

// listingJSON is a listing page of count with the named domains.
func listingJSON(count int, names ...string) providertest.Answer {
	var objs []string
	for i, n := range names {
		objs = append(objs, fmt.Sprintf(`{"id":"00000000-0000-4000-8000-%012d","name":%q,"statuses":["ok"],"locked_by_registrant_at":null}`, i+1, n))
	}
	return providertest.Answer{Body: fmt.Appendf(nil, `{"total":%d,"count":%d,"domains":[%s]}`, count, count, strings.Join(objs, ","))}
}

// Case 5 of step 8: count is the size of the listed set before paging, on
// every page. A listing whose pages do not add up to it is an error, never
// a short listing taken as the whole account (for the UUID lookups, a
// domain missing from it would read as not found).
func TestClient_listingCountDisagrees(t *testing.T) {
	tests := []struct {
		name      string
		pageSize  int
		pages     []providertest.Answer
		wantNames int    // yielded before the error
		wantMsg   string // "" means no error
	}{
		{name: "a page claims more than it holds", pageSize: 200, pages: []providertest.Answer{ok(t, "domains_page1.json")},
			wantMsg: "the page at offset 0 holds 2 domains; with count 3 and limit 200 it should hold 3"},
		{name: "a page holds more than it claims", pageSize: 200, pages: []providertest.Answer{listingJSON(1, "a.test", "b.test")},
			wantMsg: "holds 2 domains; with count 1"},
		{name: "a page holds more than the limit", pageSize: 2, pages: []providertest.Answer{listingJSON(5, "a.test", "b.test", "c.test")},
			wantMsg: "holds 3 domains; with count 5 and limit 2 it should hold 2"},
		{name: "the paging ends early", pageSize: 2, pages: []providertest.Answer{ok(t, "domains_page1.json"), listingJSON(3)},
			wantNames: 2, wantMsg: "the page at offset 2 holds 0 domains"},
		{name: "the last page is short", pageSize: 2, pages: []providertest.Answer{listingJSON(5, "a.test", "b.test"), listingJSON(5, "c.test", "d.test"), listingJSON(5)},
			wantNames: 4, wantMsg: "the page at offset 4 holds 0 domains; with count 5 and limit 2 it should hold 1"},
		{name: "the count changes between pages", pageSize: 2, pages: []providertest.Answer{ok(t, "domains_page1.json"), listingJSON(4, "c.test", "d.test")},
			wantNames: 2, wantMsg: "count 3 on the first page, 4 at offset 2"},
		{name: "pages that add up", pageSize: 2, pages: []providertest.Answer{ok(t, "domains_page1.json"), ok(t, "domains_page2.json")}, wantNames: 3},
		{name: "no count (2018): a short page ends it", pageSize: 2, pages: []providertest.Answer{{Body: []byte(`[{"id":"` + shopUUID + `","name":"shop.test","statuses":["ok"],"locked_by_registrant_at":null}]`)}}, wantNames: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := setup(t, nil)
			c.pageSize = tt.pageSize
			// Pages are fetched a few at once: answer by offset.
			f.Route(func(r providertest.Request) providertest.Answer {
				q, _ := url.ParseQuery(r.RawQuery)
				off, _ := strconv.Atoi(q.Get("offset"))
				if i := off / tt.pageSize; off%tt.pageSize == 0 && i < len(tt.pages) {
					return tt.pages[i]
				}
				return providertest.Answer{Status: http.StatusTeapot}
			})
			got, errs := collect(c.LockStates(context.Background()))
			if len(got) != tt.wantNames {
				t.Errorf("%d domains yielded, want %d", len(got), tt.wantNames)
			}
			if n := len(f.Requests()); n != len(tt.pages) {
				t.Errorf("%d requests, want %d", n, len(tt.pages))
			}
			if tt.wantMsg == "" {
				if len(errs) != 0 {
					t.Errorf("errors %v, want none", errs)
				}
				return
			}
			if len(errs) != 1 || !errors.Is(errs[0], errInconsistent) || providers.IsPermanent(errs[0]) || !strings.Contains(errs[0].Error(), tt.wantMsg) {
				t.Errorf("errors %v, want one transient errInconsistent saying %q", errs, tt.wantMsg)
			}
		})
	}
	// The UUID lookup of the lock path: such a listing is no evidence that
	// the account does not hold a domain.
	for _, page := range []providertest.Answer{ok(t, "domains_page1.json"), listingJSON(3, "a.test", "b.test", "a.test")} {
		c, _ := setup(t, nil, page)
		_, err := c.LockState(context.Background(), "nowhere.test")
		if !errors.Is(err, errInconsistent) || errors.Is(err, providers.ErrNotFound) || providers.IsPermanent(err) {
			t.Errorf("LockState over an inconsistent listing = %v, want a transient errInconsistent", err)
		}
	}
}

// A full page whose offset reaches count ends the listing.
func TestClient_LockStates_countEnds(t *testing.T) {
	page := strings.Replace(string(providertest.ReadFixture(t, "domains_page1.json")), `"count": 3`, `"count": 2`, 1)
	c, f := setup(t, nil, providertest.Answer{Body: []byte(page)})
	pageSize2(c)
	got, errs := collect(c.LockStates(context.Background()))
	if len(got) != 2 || len(errs) != 0 || len(f.Requests()) != 1 {
		t.Errorf("LockStates = %v, %v after %d requests; want 2 domains after 1", got, errs, len(f.Requests()))
	}
}

// simple objects lack the lock: LockStates refuses them.
func TestClient_LockStates_simpleObjects(t *testing.T) {
	c, _ := setup(t, nil, ok(t, "domains_simple.json"))
	_, errs := collect(c.LockStates(context.Background()))
	if len(errs) != 1 || !errors.Is(errs[0], errMalformed) {
		t.Errorf("errors = %v, want one errMalformed", errs)
	}
}

func TestClient_Domains(t *testing.T) {
	c, f := setup(t, nil, ok(t, "domains_simple.json"))
	names, errs := collect(c.Domains(context.Background()))
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if want := []string{"shop.test", "airport.test", "xn--un-bka.test"}; !slices.Equal(names, want) {
		t.Errorf("Domains = %v, want %v", names, want)
	}
	assertRequests(t, f, "domains_simple")
}

func TestClient_Domains_empty(t *testing.T) {
	c, f := setup(t, nil, ok(t, "domains_empty.json"))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 0 || len(errs) != 0 || len(f.Requests()) != 1 {
		t.Errorf("Domains = %v, %v after %d requests; want nothing after 1", names, errs, len(f.Requests()))
	}
}

func TestClient_Domains_error(t *testing.T) {
	c, f := setup(t, nil, ok(t, "domains_page1.json"), status(t, 401, "error_401_not_authorized.json"))
	pageSize2(c)
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 2 || len(errs) != 1 || !errors.Is(errs[0], providers.ErrAuth) || len(f.Requests()) != 2 {
		t.Errorf("Domains = %v, %v after %d requests; want 2 names, one ErrAuth, 2 requests", names, errs, len(f.Requests()))
	}
}

func TestClient_Domains_stopEarly(t *testing.T) {
	c, f := setup(t, nil, ok(t, "domains_page1.json"), ok(t, "domains_page2.json"))
	pageSize2(c)
	for range c.Domains(context.Background()) {
		break
	}
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests after the consumer stopped, want 1", n)
	}
}

func TestClient_listingErrors(t *testing.T) {
	tests := []struct {
		name   string
		answer providertest.Answer
		check  func(error) bool
	}{
		{"limit out of range", providertest.Answer{Status: 400, Body: []byte(`{"errors":[{"limit":["parameter is out of range"]}]}`)},
			func(err error) bool {
				return providers.IsPermanent(err) && strings.Contains(err.Error(), "limit: parameter is out of range")
			}},
		{"wrong endpoint", providertest.Answer{Status: 404, Body: []byte(`{"status":404,"error":"Not Found"}`)},
			func(err error) bool { return providers.IsPermanent(err) && !errors.Is(err, providers.ErrNotFound) }},
		{"no domains key", providertest.Answer{Body: []byte(`{"total":1,"count":1}`)}, func(err error) bool { return errors.Is(err, errMalformed) }},
		{"bad count", providertest.Answer{Body: []byte(`{"count":-1,"domains":[]}`)}, func(err error) bool { return errors.Is(err, errMalformed) }},
		{"bad item", providertest.Answer{Body: []byte(`{"count":1,"domains":[{"id":"x","name":"a.ee","statuses":[]}]}`)}, func(err error) bool { return errors.Is(err, errMalformed) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, nil, tt.answer)
			_, errs := collect(c.Domains(context.Background()))
			if len(errs) != 1 || !tt.check(errs[0]) {
				t.Errorf("errors = %v", errs)
			}
		})
	}
}

// A bare array, as the 2018 document shows the listing, is read too.
func TestParseList_bareArray(t *testing.T) {
	p, err := parseList([]byte(`[{"id":"`+shopUUID+`","name":"shop.test","statuses":["ok"]}]`), APIV1, false)
	if err != nil || p.count != -1 || len(p.domains) != 1 || p.domains[0].name != "shop.test" {
		t.Errorf("parseList = %+v, %v", p, err)
	}
}

func TestClient_HTTPStatus(t *testing.T) {
	page := []byte("<html><body><h1>Service Unavailable</h1></body></html>")
	future := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantAfter  time.Duration // >0: a *RetryAfterError at least this long
	}{
		{name: "503 with Retry-After seconds", status: 503, retryAfter: "7", wantAfter: 7 * time.Second},
		{name: "429 with Retry-After seconds", status: 429, retryAfter: "1", wantAfter: time.Second},
		{name: "429 with Retry-After date", status: 429, retryAfter: future, wantAfter: 80 * time.Second},
		{name: "429 without Retry-After", status: 429},
		{name: "503 without Retry-After", status: 503},
		{name: "503 with bad Retry-After", status: 503, retryAfter: "soon"},
		{name: "500", status: 500},
		{name: "502", status: 502},
		{name: "403", status: 403},
		{name: "302", status: 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			c, _ := setup(t, nil, providertest.Answer{Status: tt.status, Header: h, Body: page})
			_, err := c.LockState(context.Background(), "shop.test")
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
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		body string
		want string
	}{
		{`{"errors":[{"base":["Domain cannot be locked"]}]}`, "Domain cannot be locked"},
		{`{"errors":[{"base":"domain does not exist"}]}`, "domain does not exist"},
		{`{"errors":[{"limit":["parameter is out of range"]}]}`, "limit: parameter is out of range"},
		{`{"errors":{"base":["a","b"]}}`, "a; b"},
		{`{"errors":["plain"]}`, "plain"},
		{`{"errors":[{"x":["2"],"base":["1"]}]}`, "1; x: 2"},
		{`{"error":"Not authorized"}`, "Not authorized"},
		{`{"errors":[{"base":[1,true,null]}]}`, "1; true"},
		{`{"status":500,"error":"Internal Server Error"}`, "Internal Server Error"},
		{`<html>`, ""},
		{`[]`, ""},
		{`{"errors":[[[[[["deep"]]]]]]}`, ""},
	}
	for _, tt := range tests {
		if got := messagesText(parseErrors([]byte(tt.body))); got != tt.want {
			t.Errorf("parseErrors(%s) = %q, want %q", tt.body, got, tt.want)
		}
	}
}

func TestParseAuth(t *testing.T) {
	a, err := parseAuth(providertest.ReadFixture(t, "auth_eid_success.json"))
	if err != nil || a.token != "Q2lwaGVyVGV4dE9mVXNlcklkZW50QW5kRXhwaXJ5MjAxOA==" || !a.expiresAt.Equal(time.Date(2018, 7, 13, 11, 30, 51, 0, time.UTC)) {
		t.Fatalf("parseAuth = %+v, %v", a, err)
	}
	for _, bad := range []string{`{}`, `{"access_token":""}`, `{"access_token":"a b"}`, `{"access_token":"x","type":"Basic"}`, `{"access_token":`, `nope`} {
		if _, err := parseAuth([]byte(bad)); err == nil {
			t.Errorf("parseAuth(%s) succeeded", bad)
		}
	}
	a, err = parseAuth([]byte(`{"access_token":"x","expires_at":"2018-07-13T11:30:51+03:00"}`))
	if err != nil || !a.expiresAt.Equal(time.Date(2018, 7, 13, 8, 30, 51, 0, time.UTC)) {
		t.Errorf("RFC 3339 expires_at: %+v, %v", a, err)
	}
	a, err = parseAuth([]byte(`{"access_token":"x","expires_at":"soon","type":"bearer"}`))
	if err != nil || !a.expiresAt.IsZero() {
		t.Errorf("unreadable expires_at: %+v, %v", a, err)
	}
}

func TestRenewAt(t *testing.T) {
	now := time.Date(2018, 7, 13, 9, 30, 51, 0, time.UTC)
	tests := []struct {
		expires time.Time
		want    time.Duration // after now
	}{
		{now.Add(2 * time.Hour), 2*time.Hour - 5*time.Minute},
		{now.Add(8 * time.Minute), 6 * time.Minute},
		{time.Time{}, 2*time.Hour - 5*time.Minute},
		{now.Add(-time.Hour), 2*time.Hour - 5*time.Minute}, // clock skew
	}
	for _, tt := range tests {
		if got := renewAt(now, tt.expires).Sub(now); got != tt.want {
			t.Errorf("renewAt(%v) = now+%v, want now+%v", tt.expires, got, tt.want)
		}
	}
}

func TestClient_transportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL
	srv.Close()
	c, err := New(Config{Endpoint: endpoint, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LockState(context.Background(), "shop.test")
	if err == nil || providers.IsPermanent(err) || errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a transient transport error", err)
	}
}

func hangingServer(t *testing.T) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv
}

func TestClient_contextCanceled(t *testing.T) {
	srv := hangingServer(t)
	for _, cfg := range []Config{
		{Endpoint: srv.URL, Token: testToken},
		{Endpoint: srv.URL, EID: &EID{Ident: "30110100103", FirstName: "Jan", LastName: "Tamm"}},
	} {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		start := time.Now()
		err = c.SetLock(ctx, "shop.test", true)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("SetLock returned after %v, want soon after cancellation", d)
		}
	}
}

// The client's own per-request timeout is a transient error, not the
// caller's cancellation.
func TestClient_timeout(t *testing.T) {
	srv := hangingServer(t)
	c, err := New(Config{Endpoint: srv.URL, Token: testToken, Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LockState(context.Background(), "shop.test")
	if err == nil || providers.IsPermanent(err) || errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a transient timeout", err)
	}
}

// TestClient_errorsNeverContainToken provokes error paths with a server that
// echoes the credentials back, raw and escaped as the page around them
// would escape them, and checks that no error text reveals them in any
// spelling.
func TestClient_errorsNeverContainToken(t *testing.T) {
	const token = "Tok3n/with+odd&chars=!"
	const eidToken = "eid-session-token-0123456789"
	const ident = "38903110313"
	echo := func(code int, format string) providertest.Answer {
		return providertest.Answer{Status: code, Body: []byte(fmt.Sprintf(format, token, url.QueryEscape(token), eidToken, ident))}
	}
	login := providertest.Answer{Body: []byte(`{"access_token":"` + eidToken + `","expires_at":"2999-01-01 00:00:00 UTC","type":"Bearer"}`)}
	tests := []struct {
		name    string
		eid     bool
		session bool // the eID session token is known to the client
		answers []providertest.Answer
		closed  bool
	}{
		{name: "transport error", closed: true},
		{name: "500 echoing", answers: []providertest.Answer{echo(500, "%s %s %s %s")}},
		{name: "503 Retry-After echoing", answers: []providertest.Answer{{Status: 503, Header: http.Header{"Retry-After": {"3"}}, Body: []byte(strings.Repeat("x", 190) + token)}}},
		{name: "401 echoing", answers: []providertest.Answer{echo(401, `{"errors":[{"base":["Not authorized %s %s %s %s"]}]}`)}},
		{name: "400 echoing", answers: []providertest.Answer{echo(400, `{"errors":[{"limit":["%s %s %s %s"]}]}`)}},
		{name: "bad JSON echoing", answers: []providertest.Answer{echo(200, `{"count":"%s %s %s %s"`)}},
		{name: "bad item echoing", answers: []providertest.Answer{echo(200, `{"count":1,"domains":[{"id":"%s%s%s%s","name":"a.ee","statuses":[]}]}`)}},
		// A proxy's error page that quotes the request's Authorization
		// header, HTML-escaped (& as &amp;), and a JSON one (& as \u0026).
		{name: "HTML error page echoing it HTML-escaped", answers: []providertest.Answer{{Status: 502,
			Body: []byte("<html><body><h1>502 Bad Gateway</h1><pre>Authorization: Bearer " + html.EscapeString(token) + "</pre></body></html>")}}},
		{name: "JSON error echoing it JSON-escaped", answers: []providertest.Answer{{Status: 500,
			Body: []byte(`{"error":"bad header Bearer ` + strings.ReplaceAll(strings.ReplaceAll(token, "&", `\u0026`), "/", `\/`) + `"}`)}}},
		{name: "eid login 401 echoing", eid: true, answers: []providertest.Answer{echo(401, `{"errors":[{"base":["Not authorized %s %s %s %s"]}]}`)}},
		{name: "eid login 422 echoing", eid: true, answers: []providertest.Answer{echo(422, `{"errors":[{"ident":["%s %s %s %s"]}]}`)}},
		{name: "eid login bad answer", eid: true, answers: []providertest.Answer{echo(200, `{"access_token":"%s %s %s %s"}`)}},
		{name: "eid session refused echoing", eid: true, session: true, answers: []providertest.Answer{
			login, echo(401, `{"errors":[{"base":["Not authorized %[3]s"]}]}`), login, echo(500, "%s %s %s %s"),
		}},
		{name: "eid session echoed HTML-escaped", eid: true, session: true, answers: []providertest.Answer{
			login, {Status: 502, Body: []byte("<p>token=" + html.EscapeString(eidToken) + " ident=" + ident + "</p>")},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var endpoint string
			if tt.closed {
				srv := httptest.NewServer(http.NotFoundHandler())
				srv.Close()
				endpoint = srv.URL
			} else {
				endpoint = providertest.NewWire(t, tt.answers...).URL
			}
			cfg := Config{Endpoint: endpoint, Token: token}
			if tt.eid {
				cfg = Config{Endpoint: endpoint, EID: &EID{Ident: ident, FirstName: "Mari", LastName: "Maasikas"}}
			}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.LockState(context.Background(), "shop.test")
			if err == nil {
				t.Fatal("LockState succeeded, want an error")
			}
			// The client's own credentials, in the spellings an echo uses:
			// it cannot know the others.
			var secrets []string
			if tt.eid {
				secrets = []string{ident}
			} else {
				secrets = []string{token, url.QueryEscape(token), html.EscapeString(token), strings.ReplaceAll(token, "&", `\u0026`)}
			}
			if tt.session {
				secrets = append(secrets, eidToken)
			}
			for e := err; e != nil; e = errors.Unwrap(e) {
				texts := []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)}
				var se *providers.StatusError
				if errors.As(e, &se) {
					texts = append(texts, se.Body)
				}
				for _, text := range texts {
					for _, s := range secrets {
						if strings.Contains(text, s) {
							t.Fatalf("error reveals a credential: %s", text)
						}
					}
				}
			}
		})
	}
}

func TestNew_errorNeverContainsToken(t *testing.T) {
	const token = "Tok3n-in-config"
	_, err := New(Config{Endpoint: "https://user:" + token + "@[bad", Token: token, Timeout: -1})
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("New error = %v, want one without the token", err)
	}
	_, err = New(Config{Endpoint: "https://user:" + token + "@registrant.internet.ee", Token: token})
	if err == nil || strings.Contains(err.Error(), token) {
		t.Errorf("New error = %v, want one without the token", err)
	}
	for _, cfg := range []Config{
		{Endpoint: "https://registrant.internet.ee", Token: token},
		{Endpoint: "https://registrant.internet.ee", EID: &EID{Ident: token, FirstName: "a", LastName: "b"}},
	} {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c); strings.Contains(s, token) {
			t.Errorf("printing the client reveals the credential: %s", s)
		}
	}
}

// domainJSON is shop.test's object with statuses and a lock time ("" for
// null).
func domainJSON(statuses []string, lockedAt string) []byte {
	at := any(nil)
	if lockedAt != "" {
		at = lockedAt
	}
	b, _ := json.Marshal(map[string]any{"id": shopUUID, "name": "shop.test", "statuses": statuses, "locked_by_registrant_at": at})
	return b
}

// Case 6 of step 8: who locked the domain decides whether the lock is the
// registrant's (reglock's to remove) or the registry's, not the status set
// alone. Registrants who locked before the registry's 2021 change have
// serverUpdateProhibited where the locks since have
// serverObjUpdateProhibited; both are theirs when locked_by_registrant_at
// is set, and either set without it is someone else's.
func TestClient_LockState_whoLockedIt(t *testing.T) {
	const at = "2018-11-02T16:33:18.752+02:00"
	newSet := []string{"serverObjUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited"}
	oldSet := []string{"serverUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited"}
	tests := []struct {
		name     string
		statuses []string
		lockedAt string
		want     providers.State
	}{
		{"registrant's lock since 2021", newSet, at, providers.State{Locked: true}},
		{"registrant's lock before 2021", oldSet, at, providers.State{Locked: true}},
		{"registrant's lock with both update statuses", append(slices.Clone(oldSet), "serverObjUpdateProhibited"), at, providers.State{Locked: true}},
		{"registrant's lock with extensions prohibited", append(slices.Clone(newSet), "serverExtensionUpdateProhibited"), at, providers.State{Locked: true}},
		{"registry's statuses since 2021", newSet, "", providers.State{Locked: true, ByRegistry: true}},
		{"registry's statuses before 2021", oldSet, "", providers.State{Locked: true, ByRegistry: true}},
		{"an admin removed the update status", []string{"serverDeleteProhibited", "serverTransferProhibited"}, at, providers.State{Locked: true, ByRegistry: true}},
		{"an admin removed the transfer status", []string{"serverUpdateProhibited", "serverDeleteProhibited"}, at, providers.State{}},
		{"unlocked", []string{"ok"}, "", providers.State{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, nil, ok(t, "domains_resolve.json"), providertest.Answer{Body: domainJSON(tt.statuses, tt.lockedAt)})
			st, err := c.LockState(context.Background(), "shop.test")
			if err != nil || st != tt.want {
				t.Errorf("LockState = %+v, %v; want %+v", st, err, tt.want)
			}
		})
	}
}

// Unlocking a registrant's lock of before 2021: a registry that still
// counts serverUpdateProhibited (before commit 700d61988) removes it; the
// registry since refuses, and the client says why instead of retrying or
// calling it the registry's lock.
func TestClient_SetLock_lockOfBefore2021(t *testing.T) {
	old := domainJSON([]string{"serverUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited"}, "2018-11-02T16:33:18.752+02:00")
	t.Run("registry before 2021", func(t *testing.T) {
		c, f := setup(t, nil, ok(t, "domains_resolve.json"), providertest.Answer{Body: domainJSON([]string{"ok"}, "")})
		if err := c.SetLock(context.Background(), "shop.test", false); err != nil {
			t.Fatal(err)
		}
		assertRequests(t, f, "domains_resolve", "registry_lock_delete")
	})
	t.Run("registry since 2021", func(t *testing.T) {
		c, f := setup(t, nil, ok(t, "domains_resolve.json"), status(t, 422, "error_422_not_locked.json"), providertest.Answer{Body: old})
		err := c.SetLock(context.Background(), "shop.test", false)
		providertest.AssertErr(t, err, errNotLocked, true)
		for _, want := range []string{"before the registry's 2021 status change", "serverUpdateProhibited", "must convert it"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("err = %q, want it to say %q", err, want)
			}
		}
		assertRequests(t, f, "domains_resolve", "registry_lock_delete", "domain_show")
	})
	t.Run("locking it again", func(t *testing.T) {
		c, f := setup(t, nil, ok(t, "domains_resolve.json"), status(t, 422, "error_422_cannot_lock.json"), providertest.Answer{Body: old})
		if err := c.SetLock(context.Background(), "shop.test", true); err != nil {
			t.Errorf("SetLock(true) of a domain its registrant locked before 2021 = %v, want nil", err)
		}
		assertRequests(t, f, "domains_resolve", "registry_lock_post", "domain_show")
	})
}
