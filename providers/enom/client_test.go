package enom

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"iter"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// The document's example credentials; the request fixtures carry them.
const (
	testUID = "resellid"
	testPW  = "resellpw"
)

// setup starts the shared wire fake answering with answers (the last one
// repeats), and a Client for it.
func setup(t *testing.T, answers ...providertest.Answer) (*Client, *providertest.Wire) {
	t.Helper()
	return setupWith(t, Config{}, answers...)
}

// setupWith is setup with cfg's optional fields (BulkMax, Timeout, ...).
func setupWith(t *testing.T, cfg Config, answers ...providertest.Answer) (*Client, *providertest.Wire) {
	t.Helper()
	w := providertest.NewWire(t, answers...)
	cfg.Endpoint, cfg.UID, cfg.PW = w.URL+"/interface.asp", testUID, testPW
	c, err := New(cfg)
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

// edited is a fixture with each old, new pair of edits replaced once.
func edited(t *testing.T, name string, edits ...string) providertest.Answer {
	t.Helper()
	b := string(providertest.ReadFixture(t, name))
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(b, edits[i]) {
			t.Fatalf("%s does not contain %q", name, edits[i])
		}
		b = strings.Replace(b, edits[i], edits[i+1], 1)
	}
	return providertest.Answer{Body: []byte(b)}
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

// assertRequest checks the whole request: a form POST to interface.asp with
// exactly the expected parameters and nothing in the URL query.
func assertRequest(t *testing.T, got providertest.Request, want url.Values) {
	t.Helper()
	if got.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", got.Method)
	}
	if got.Path != "/interface.asp" {
		t.Errorf("path = %s, want /interface.asp", got.Path)
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

// assertRequests checks every request the fake received against the
// request fixtures, in order.
func assertRequests(t *testing.T, w *providertest.Wire, names ...string) {
	t.Helper()
	reqs := w.Requests()
	if len(reqs) != len(names) {
		t.Fatalf("%d requests, want %d (%v)", len(reqs), len(names), names)
	}
	for i, name := range names {
		assertRequest(t, reqs[i], wantRequest(t, name))
	}
}

func TestNew(t *testing.T) {
	valid := Config{Endpoint: "https://resellertest.enom.com/interface.asp", UID: testUID, PW: testPW}
	tests := []struct {
		name       string
		edit       func(*Config)
		wantFields []string // each must be named in the error; none means valid
	}{
		{"valid", func(*Config) {}, nil},
		{"http endpoint", func(c *Config) { c.Endpoint = "http://127.0.0.1:8080/enom/interface.asp" }, nil},
		{"bulk max", func(c *Config) { c.BulkMax = 10 }, nil},
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, []string{"Endpoint"}},
		{"relative endpoint", func(c *Config) { c.Endpoint = "interface.asp" }, []string{"Endpoint"}},
		{"ftp endpoint", func(c *Config) { c.Endpoint = "ftp://resellertest.enom.com/interface.asp" }, []string{"Endpoint"}},
		{"endpoint without host", func(c *Config) { c.Endpoint = "https:///interface.asp" }, []string{"Endpoint"}},
		{"empty uid", func(c *Config) { c.UID = " " }, []string{"UID"}},
		{"empty pw", func(c *Config) { c.PW = "" }, []string{"PW"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"Timeout"}},
		{"negative bulk max", func(c *Config) { c.BulkMax = -1 }, []string{"BulkMax"}},
		{"everything wrong", func(c *Config) { *c = Config{Endpoint: "::", Timeout: -1, BulkMax: -1} }, []string{"Endpoint", "UID", "PW", "Timeout", "BulkMax"}},
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
	c, err := New(Config{Endpoint: "https://resellertest.enom.com/interface.asp", UID: testUID, PW: testPW})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != DefaultTimeout || c.http == nil || c.http.Timeout != DefaultTimeout {
		t.Errorf("timeout = %v, http timeout = %v; want %v", c.timeout, c.http.Timeout, DefaultTimeout)
	}
	if c.bulkMax != DefaultBulkMax {
		t.Errorf("bulkMax = %d, want %d", c.bulkMax, DefaultBulkMax)
	}
	own := &http.Client{}
	c, err = New(Config{Endpoint: "https://resellertest.enom.com/interface.asp", UID: testUID, PW: testPW, HTTPClient: own, Timeout: time.Second, BulkMax: 7})
	if err != nil {
		t.Fatal(err)
	}
	if c.http != own || c.timeout != time.Second || c.bulkMax != 7 {
		t.Errorf("New did not keep the caller's HTTP client, timeout and BulkMax")
	}
}

func TestClient_LockState(t *testing.T) {
	tests := []struct {
		name             string
		answer           func(t *testing.T) providertest.Answer
		want             providers.State
		wantErr          error
		wantPermanent    bool
		wantUnrecognized bool
		wantMsg          string
	}{
		{name: "locked", answer: fixture("getreglock_locked.xml"), want: providers.State{Locked: true}},
		{name: "unlocked", answer: fixture("getreglock_unlocked.xml"), want: providers.State{Locked: false}},
		{name: "RegLock element", answer: fixture("getreglock_reglockelement.xml"), want: providers.State{Locked: true}},
		// A TLD without a registrar lock reads as unlocked; SetLock then
		// reports ErrNotLockable.
		{name: "not lockable", answer: fixture("getreglock_notlockable.xml"), want: providers.State{Locked: false}},
		{name: "truncated", answer: fixture("getreglock_truncated.xml"), wantErr: errTruncated},
		{name: "no Done", answer: fixture("getreglock_nodone.xml"), wantErr: errTruncated},
		{name: "bad auth", answer: fixture("error_badauth.xml"), wantErr: providers.ErrAuth, wantPermanent: true, wantMsg: "Bad User name or Password"},
		{name: "bad auth with its ResponseNumber", answer: fixture("error_badauthnumber.xml"), wantErr: providers.ErrAuth, wantPermanent: true, wantMsg: "Validation error; invalid ; loginid"},
		{name: "ip not allowed", answer: fixture("error_ipnotallowed.xml"), wantErr: providers.ErrAuth, wantPermanent: true, wantMsg: "User not permitted from this IP address - 4"},
		{name: "not found", answer: fixture("error_notfound.xml"), wantErr: providers.ErrNotFound, wantPermanent: true, wantMsg: "Domain name not found"},
		{name: "not found utf-16 declaration", answer: fixture("error_notfoundutf16.xml"), wantErr: providers.ErrNotFound, wantPermanent: true},
		{name: "not found by number", answer: fixture("error_notfoundnumberonly.xml"), wantErr: providers.ErrNotFound, wantPermanent: true},
		{name: "generic error", answer: fixture("error_generic.xml"), wantMsg: "enom: GetRegLock resellerdocs.com: An unexpected error has occurred. Please try again later."},
		{name: "html page", answer: body("<html><body>Maintenance</body></html>"), wantErr: errNotENom},
		{name: "text answer", answer: body(";URL Interface\nRegLock=1\nDone=true\n"), wantErr: errNotENom},
		{name: "broken xml", answer: body("<interface-response><ErrCount>0</Done></interface-response>"), wantMsg: "malformed answer"},
		{name: "no ErrCount", answer: body("<interface-response><reg-lock>1</reg-lock><Done>true</Done></interface-response>"), wantMsg: "answer has no ErrCount"},
		{name: "bad ErrCount", answer: body("<interface-response><ErrCount>x</ErrCount><Done>true</Done></interface-response>"), wantMsg: `malformed answer: ErrCount "x"`},
		{name: "no reg-lock", answer: func(t *testing.T) providertest.Answer {
			return edited(t, "getreglock_locked.xml", "<reg-lock>1</reg-lock>", "")
		}, wantUnrecognized: true, wantMsg: "no usable reg-lock"},
		{name: "reg-lock of another command's answer", answer: fixture("setreglock_lock.xml"), wantUnrecognized: true, wantMsg: `the answer is to command "SETREGLOCK"`},
		// Done is eNom's "the entire answer reached you"; what follows it is
		// not read, so a broken trailer (the SetRegLock document's own
		// example has a stray </debug>) does not spoil the answer.
		{name: "broken trailer after Done", answer: func(t *testing.T) providertest.Answer {
			return edited(t, "getreglock_locked.xml", "<debug/>", "</debug>")
		}, want: providers.State{Locked: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := setup(t, tt.answer(t))
			got, err := c.LockState(context.Background(), "resellerdocs.com")
			assertRequests(t, w, "getreglock_locked")
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
			if got := providers.IsUnrecognized(err); got != tt.wantUnrecognized {
				t.Errorf("IsUnrecognized(%v) = %v, want %v", err, got, tt.wantUnrecognized)
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

func body(s string) func(t *testing.T) providertest.Answer {
	return func(*testing.T) providertest.Answer { return providertest.Answer{Body: []byte(s)} }
}

func TestClient_SetLock(t *testing.T) {
	tests := []struct {
		name          string
		locked        bool
		answer        string
		wantErr       error
		wantPermanent bool
	}{
		{name: "lock", locked: true, answer: "setreglock_lock.xml"},
		{name: "unlock", locked: false, answer: "setreglock_unlock.xml"},
		{name: "unlock historical RegistrarLock", locked: false, answer: "setreglock_unlockregistrarlock.xml"},
		{name: "already unlocked", locked: false, answer: "setreglock_alreadyunlocked.xml"},
		{name: "already locked", locked: true, answer: "setreglock_alreadylocked.xml"},
		// The "already" answers only mean success for their own direction.
		{name: "lock answered already unlocked", locked: true, answer: "setreglock_alreadyunlocked.xml", wantErr: errAlreadyUnlocked},
		{name: "unlock answered already locked", locked: false, answer: "setreglock_alreadylocked.xml", wantErr: errAlreadyLocked},
		{name: "not lockable", locked: true, answer: "setreglock_notlockable.xml", wantErr: providers.ErrNotLockable, wantPermanent: true},
		{name: "not found", locked: true, answer: "error_notfound.xml", wantErr: providers.ErrNotFound, wantPermanent: true},
		{name: "bad auth", locked: false, answer: "error_badauth.xml", wantErr: providers.ErrAuth, wantPermanent: true},
		{name: "truncated", locked: true, answer: "getreglock_truncated.xml", wantErr: errTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := setup(t, ok(t, tt.answer))
			err := c.SetLock(context.Background(), "resellerdocs.com", tt.locked)
			providertest.AssertErr(t, err, tt.wantErr, tt.wantPermanent)
			req := "setreglock_unlock"
			if tt.locked {
				req = "setreglock_lock"
			}
			assertRequests(t, w, req)
		})
	}
}

// TestClient_SetLock_alreadyUnlocked pins the two eNom quirks together:
// unlocking sends UnlockRegistrar=1, and "already unlocked" is success.
func TestClient_SetLock_alreadyUnlocked(t *testing.T) {
	c, w := setup(t, ok(t, "setreglock_alreadyunlocked.xml"))
	if err := c.SetLock(context.Background(), "resellerdocs.com", false); err != nil {
		t.Fatalf("SetLock(false) = %v, want nil", err)
	}
	if got := w.Last(t).Form().Get("UnlockRegistrar"); got != "1" {
		t.Errorf("UnlockRegistrar = %q, want 1 (eNom's flag is inverted)", got)
	}
}

// eNom's own texts say what an answer means even when the registry's
// RRPCode says something else: "already unlocked" is success for an unlock.
func TestClient_SetLock_textBeforeRRPCode(t *testing.T) {
	c, _ := setup(t, edited(t, "setreglock_alreadyunlocked.xml",
		"<ResponseCount>", "<RRPCode>2304</RRPCode><RRPText>Object status prohibits operation</RRPText><ResponseCount>"))
	if err := c.SetLock(context.Background(), "resellerdocs.com", false); err != nil {
		t.Fatalf("SetLock(false) = %v, want nil", err)
	}
}

func TestClient_invalidDomain(t *testing.T) {
	for _, domain := range []string{"", "com", "co.uk", "example", "www.example.com", ".com", "Example.com", "example.com.", "bücher.com"} {
		t.Run(domain, func(t *testing.T) {
			c, w := setup(t, ok(t, "getreglock_locked.xml"))
			_, err := c.LockState(context.Background(), domain)
			if err == nil || !providers.IsPermanent(err) {
				t.Errorf("LockState(%q) = %v, want a permanent error", domain, err)
			}
			if err := c.SetLock(context.Background(), domain, true); err == nil || !providers.IsPermanent(err) {
				t.Errorf("SetLock(%q) = %v, want a permanent error", domain, err)
			}
			if n := len(w.Requests()); n != 0 {
				t.Errorf("%d requests sent for an invalid name, want 0", n)
			}
		})
	}
}

// A name under a multi-label public suffix is sent as eNom's sld and tld.
func TestClient_LockState_multiLabelSuffix(t *testing.T) {
	c, w := setup(t, ok(t, "getreglock_locked.xml"))
	if _, err := c.LockState(context.Background(), "example.co.uk"); err != nil {
		t.Fatal(err)
	}
	want := wantRequest(t, "getreglock_locked")
	want.Set("sld", "example")
	want.Set("tld", "co.uk")
	assertRequest(t, w.Last(t), want)
}

func TestDomainParams(t *testing.T) {
	tests := []struct{ domain, sld, tld string }{
		{"resellerdocs.com", "resellerdocs", "com"},
		{"example.co.uk", "example", "co.uk"},
		{"xn--mller-kva.de", "xn--mller-kva", "de"},
		{"example.com.au", "example", "com.au"},
	}
	for _, tt := range tests {
		p, err := domainParams(tt.domain)
		if err != nil {
			t.Errorf("domainParams(%q) = %v", tt.domain, err)
			continue
		}
		if p.Get("sld") != tt.sld || p.Get("tld") != tt.tld {
			t.Errorf("domainParams(%q) = sld %q tld %q, want %q %q", tt.domain, p.Get("sld"), p.Get("tld"), tt.sld, tt.tld)
		}
	}
}

// collect drains a listing.
func collect[T any](seq iter.Seq2[T, error]) ([]T, []error) {
	var items []T
	var errs []error
	for item, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		items = append(items, item)
	}
	return items, errs
}

// page1Names are the names of getdomains_page1.xml and _page2.xml.
func page1Names() []string {
	var names []string
	for i := 1; i <= 100; i++ {
		names = append(names, fmt.Sprintf("example%03d.com", i))
	}
	return append(names, "zeta.net", "zulu.co.uk")
}

func TestClient_Domains_paging(t *testing.T) {
	c, w := setup(t, ok(t, "getdomains_page1.xml"), ok(t, "getdomains_page2.xml"))
	names, errs := collect(c.Domains(context.Background()))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if want := page1Names(); !slices.Equal(names, want) {
		t.Errorf("Domains = %v, want %v", names, want)
	}
	assertRequests(t, w, "getdomains_page1", "getdomains_page2")
}

func TestClient_Domains_empty(t *testing.T) {
	c, w := setup(t, ok(t, "getdomains_empty.xml"))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 0 || len(errs) != 0 {
		t.Errorf("Domains = %v, %v; want nothing", names, errs)
	}
	if n := len(w.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// An empty page ends the listing even if NextRecords says otherwise.
func TestClient_Domains_emptyPageEnds(t *testing.T) {
	c, w := setup(t, edited(t, "getdomains_empty.xml", "<NextRecords>0</NextRecords>", "<NextRecords>101</NextRecords>"))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 0 || len(errs) != 0 || len(w.Requests()) != 1 {
		t.Errorf("Domains = %v, %v after %d requests; want nothing after 1", names, errs, len(w.Requests()))
	}
}

func TestClient_Domains_error(t *testing.T) {
	c, w := setup(t, ok(t, "getdomains_page1.xml"), ok(t, "error_badauth.xml"))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 100 {
		t.Errorf("got %d names before the error, want 100", len(names))
	}
	if len(errs) != 1 || !errors.Is(errs[0], providers.ErrAuth) {
		t.Errorf("errors = %v, want one ErrAuth", errs)
	}
	if n := len(w.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestClient_Domains_stopEarly(t *testing.T) {
	c, w := setup(t, ok(t, "getdomains_page1.xml"), ok(t, "getdomains_page2.xml"))
	for range c.Domains(context.Background()) {
		break
	}
	if n := len(w.Requests()); n != 1 {
		t.Errorf("%d requests after the consumer stopped, want 1", n)
	}
}

// TestClient_Domains_claimsMore: a page that claims more than it holds is
// an error, not a listing that ends early or pages forever.
func TestClient_Domains_claimsMore(t *testing.T) {
	tests := []struct {
		name      string
		answers   func(t *testing.T) []providertest.Answer
		wantNames int // yielded before the error
	}{
		{"DomainCount beyond the last page", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{ok(t, "getdomains_page1.xml"),
				edited(t, "getdomains_page2.xml", "<DomainCount>102</DomainCount>", "<DomainCount>105</DomainCount>")}
		}, 100},
		{"TotalDomainCount alone beyond the last page", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{edited(t, "getdomains_empty.xml",
				"<DomainCount>0</DomainCount>", "", "<TotalDomainCount>0</TotalDomainCount>", "<TotalDomainCount>3</TotalDomainCount>")}
		}, 0},
		{"EndPosition beyond the entries", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{edited(t, "getdomains_page2.xml", "<EndPosition>102</EndPosition>", "<EndPosition>103</EndPosition>")}
		}, 0},
		{"NextRecords that does not advance", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{edited(t, "getdomains_page1.xml", "<NextRecords>101</NextRecords>", "<NextRecords>1</NextRecords>")}
		}, 0},
		{"more entries than Display", func(t *testing.T) []providertest.Answer {
			page := string(providertest.ReadFixture(t, "getdomains_page1.xml"))
			i := strings.Index(page, " <domain>\n")
			j := strings.Index(page, " </domain>\n") + len(" </domain>\n")
			return []providertest.Answer{{Body: []byte(page[:i] + page[i:j] + page[i:])}}
		}, 0},
		// The GetDomains document's example, abbreviated by its writers:
		// EndPosition 25 and 3,084 domains, two entries.
		{"recorded: the document's abbreviated page", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{ok(t, "recorded/getdomains_page1_doc_elided.xml")}
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, tt.answers(t)...)
			names, errs := collect(c.Domains(context.Background()))
			if len(names) != tt.wantNames {
				t.Errorf("%d names before the error, want %d", len(names), tt.wantNames)
			}
			if len(errs) != 1 || !errors.Is(errs[0], errListing) || providers.IsPermanent(errs[0]) {
				t.Fatalf("errors = %v, want one transient listing error", errs)
			}
		})
	}
}

// accountRoute answers the size question and GetAllDomains from fixtures.
func accountRoute(t *testing.T, size, all providertest.Answer) func(providertest.Request) providertest.Answer {
	return func(r providertest.Request) providertest.Answer {
		switch r.Form().Get("command") {
		case "GetDomains":
			return size
		case "GetAllDomains":
			return all
		}
		return providertest.Answer{Status: http.StatusBadRequest}
	}
}

func TestClient_LockStates(t *testing.T) {
	c, w := setup(t)
	w.Route(accountRoute(t, ok(t, "getdomains_size.xml"), ok(t, "getalldomains_account.xml")))
	got, errs := collect(c.LockStates(context.Background()))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []providers.DomainState{
		{Domain: "resellerdocs.com", State: providers.State{Locked: true}},
		{Domain: "resellerdocs2.net", State: providers.State{Locked: false}},
	}
	if !slices.Equal(got, want) {
		t.Errorf("LockStates = %+v, want %+v", got, want)
	}
	// The size first, one name; then the whole account.
	assertRequests(t, w, "getdomains_size", "getalldomains_account")
}

// Above BulkMax the answer is ErrNoBulk, after one small request: the sweep
// reads the account domain by domain instead of risking GetAllDomains.
func TestClient_LockStates_overBulkMax(t *testing.T) {
	tests := []struct {
		name    string
		bulkMax int
		size    string
	}{
		{"configured BulkMax", 1, "getdomains_size.xml"},
		{"default BulkMax", 0, "getdomains_sizelarge.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := setupWith(t, Config{BulkMax: tt.bulkMax})
			w.Route(accountRoute(t, ok(t, tt.size), ok(t, "getalldomains_account.xml")))
			got, errs := collect(c.LockStates(context.Background()))
			if len(got) != 0 || len(errs) != 1 || !errors.Is(errs[0], providers.ErrNoBulk) {
				t.Fatalf("LockStates = %v, %v; want only ErrNoBulk", got, errs)
			}
			assertRequests(t, w, "getdomains_size")
		})
	}
}

// TestClient_LockStates_claimsMore: a GetAllDomains answer whose
// domaincount differs from its entries, or that cannot be read, yields an
// error and no states.
func TestClient_LockStates_claimsMore(t *testing.T) {
	tests := []struct {
		name string
		all  func(t *testing.T) providertest.Answer
	}{
		{"domaincount above the entries", func(t *testing.T) providertest.Answer {
			return edited(t, "getalldomains_account.xml", "<domaincount>2</domaincount>", "<domaincount>3</domaincount>")
		}},
		{"domaincount below the entries", func(t *testing.T) providertest.Answer {
			return edited(t, "getalldomains_account.xml", "<domaincount>2</domaincount>", "<domaincount>1</domaincount>")
		}},
		{"no domaincount", func(t *testing.T) providertest.Answer {
			return edited(t, "getalldomains_account.xml", "<domaincount>2</domaincount>", "")
		}},
		{"a domain twice", func(t *testing.T) providertest.Answer {
			return edited(t, "getalldomains_account.xml", "<DomainName>resellerdocs2.net</DomainName>", "<DomainName>ResellerDocs.com</DomainName>")
		}},
		{"unknown lockstatus", func(t *testing.T) providertest.Answer {
			return edited(t, "getalldomains_account.xml", "<lockstatus>Not Locked</lockstatus>", "<lockstatus>Pending</lockstatus>")
		}},
		// The GetAllDomains document's example, abbreviated by its writers:
		// domaincount 3,077, two entries.
		{"recorded: the document's abbreviated answer", fixture("recorded/getalldomains_doc_elided.xml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := setup(t)
			w.Route(accountRoute(t, ok(t, "getdomains_size.xml"), tt.all(t)))
			got, errs := collect(c.LockStates(context.Background()))
			if len(got) != 0 || len(errs) != 1 || providers.IsPermanent(errs[0]) || errors.Is(errs[0], providers.ErrNoBulk) {
				t.Fatalf("LockStates = %v, %v; want one transient error and no states", got, errs)
			}
		})
	}
}

func TestClient_LockStates_error(t *testing.T) {
	c, w := setup(t, ok(t, "error_badauth.xml"))
	got, errs := collect(c.LockStates(context.Background()))
	if len(got) != 0 || len(errs) != 1 || !errors.Is(errs[0], providers.ErrAuth) {
		t.Fatalf("LockStates = %v, %v; want one ErrAuth", got, errs)
	}
	if n := len(w.Requests()); n != 1 {
		t.Errorf("%d requests, want 1: no GetAllDomains after a refusal", n)
	}
}

// eNom's documents warn that GetAllDomains times out on large accounts: a
// GetAllDomains that runs out of time is ErrNoBulk, so that the sweep reads
// domain by domain rather than failing on every attempt.
func TestClient_LockStates_timeout(t *testing.T) {
	size := providertest.ReadFixture(t, "getdomains_size.xml")
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("command") == "GetDomains" {
			w.Write(size)
			return
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c, err := New(Config{Endpoint: srv.URL + "/interface.asp", UID: testUID, PW: testPW, Timeout: 100 * time.Millisecond, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	_, errs := collect(c.LockStates(context.Background()))
	if len(errs) != 1 || !errors.Is(errs[0], providers.ErrNoBulk) {
		t.Fatalf("errors = %v, want ErrNoBulk", errs)
	}
	// The caller's own deadline is the caller's, not ErrNoBulk.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c, _ = New(Config{Endpoint: srv.URL + "/interface.asp", UID: testUID, PW: testPW, Timeout: 10 * time.Second})
	_, errs = collect(c.LockStates(ctx))
	if len(errs) != 1 || errors.Is(errs[0], providers.ErrNoBulk) || !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Fatalf("errors = %v, want the caller's context.DeadlineExceeded", errs)
	}
}

// A GetAllDomains answer beyond reglock's 8 MiB bound on an answer is
// ErrNoBulk too: an account that large is read domain by domain, not
// retried in bulk forever.
func TestClient_LockStates_tooLarge(t *testing.T) {
	c, w := setupWith(t, Config{BulkMax: 1 << 30})
	huge := providertest.Answer{Header: http.Header{"Content-Length": {strconv.Itoa(providers.MaxResponseBytes + 1)}},
		Body: bytes.Repeat([]byte(" "), providers.MaxResponseBytes+1)}
	w.Route(accountRoute(t, ok(t, "getdomains_size.xml"), huge))
	_, errs := collect(c.LockStates(context.Background()))
	if len(errs) != 1 || !errors.Is(errs[0], providers.ErrNoBulk) || !errors.Is(errs[0], providers.ErrTooLarge) {
		t.Fatalf("errors = %v, want ErrNoBulk for an answer over the bound", errs)
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
		{name: "404", status: 404},
		{name: "302", status: 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"text/html"}}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			c, _ := setup(t, providertest.Answer{Status: tt.status, Header: h, Body: page})
			_, err := c.LockState(context.Background(), "resellerdocs.com")
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

func TestClient_transportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL + "/interface.asp"
	srv.Close()
	c, err := New(Config{Endpoint: endpoint, UID: testUID, PW: testPW})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LockState(context.Background(), "resellerdocs.com")
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
	c, err := New(Config{Endpoint: srv.URL + "/interface.asp", UID: testUID, PW: testPW})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	err = c.SetLock(ctx, "resellerdocs.com", true)
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
	c, err := New(Config{Endpoint: srv.URL + "/interface.asp", UID: testUID, PW: testPW, Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LockState(context.Background(), "resellerdocs.com")
	if err == nil || providers.IsPermanent(err) || errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a transient timeout", err)
	}
}

// The client keeps no state between calls; many calls at once, under
// -race, show it.
func TestClient_concurrentUse(t *testing.T) {
	c, w := setup(t)
	w.Route(func(r providertest.Request) providertest.Answer {
		if r.Form().Get("command") == "SetRegLock" {
			return ok(t, "setreglock_lock.xml")
		}
		return ok(t, "getreglock_locked.xml")
	})
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			name := fmt.Sprintf("c%02d.com", i)
			if err := c.SetLock(context.Background(), name, true); err != nil {
				t.Error(err)
			}
			if st, err := c.LockState(context.Background(), name); err != nil || !st.Locked {
				t.Errorf("%s: %+v, %v", name, st, err)
			}
		})
	}
	wg.Wait()
	if n := len(w.Requests()); n != 40 {
		t.Errorf("%d requests, want 40", n)
	}
}

// assertNoSecret fails if any error in err's chain, printed any way,
// contains one of forms.
func assertNoSecret(t *testing.T, err error, forms ...string) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		texts := []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)}
		var se *providers.StatusError
		if errors.As(e, &se) {
			texts = append(texts, se.Body)
		}
		for _, text := range texts {
			for _, form := range forms {
				if strings.Contains(text, form) {
					t.Fatalf("error reveals the token (as %q): %s", form, text)
				}
			}
		}
	}
}

// TestClient_errorsNeverContainPW provokes every error path with a
// distinctive token, some of them with a server that echoes it back, and
// checks that no error text reveals it.
func TestClient_errorsNeverContainPW(t *testing.T) {
	const pw = "Tok3n/with+odd&chars=!"
	forms := []string{pw, url.QueryEscape(pw), url.PathEscape(pw), html.EscapeString(pw)}
	echo := func(format string) func(t *testing.T) providertest.Answer {
		return func(*testing.T) providertest.Answer {
			return providertest.Answer{Body: []byte(fmt.Sprintf(format, html.EscapeString(pw), url.QueryEscape(pw)))}
		}
	}
	tests := []struct {
		name   string
		answer func(t *testing.T) providertest.Answer
		closed bool
	}{
		{name: "transport error", closed: true},
		{name: "HTTP 500 echoing pw", answer: func(*testing.T) providertest.Answer {
			return providertest.Answer{Status: 500, Body: []byte("pw=" + pw + " " + url.QueryEscape(pw))}
		}},
		{name: "HTTP 503 Retry-After echoing pw", answer: func(*testing.T) providertest.Answer {
			return providertest.Answer{Status: 503, Header: http.Header{"Retry-After": {"3"}}, Body: []byte(strings.Repeat("x", 190) + pw)}
		}},
		{name: "bad XML echoing pw", answer: echo("<interface-response><pw>%s</pw><x>%s</interface-response>")},
		{name: "not eNom echoing pw", answer: echo("<html>%s %s</html>")},
		{name: "auth error echoing pw", answer: echo("<interface-response><ErrCount>1</ErrCount><errors><Err1>Bad User name or Password %s %s</Err1></errors><Done>true</Done></interface-response>")},
		{name: "generic error echoing pw", answer: echo("<interface-response><ErrCount>2</ErrCount><errors><Err1>%s</Err1><Err2>%s</Err2></errors><Done>true</Done></interface-response>")},
		{name: "RRPText echoing pw", answer: echo("<interface-response><RRPCode>599</RRPCode><RRPText>%s %s</RRPText><ErrCount>1</ErrCount><Done>true</Done></interface-response>")},
		{name: "reg-lock echoing pw", answer: echo("<interface-response><reg-lock>%s %s</reg-lock><ErrCount>0</ErrCount><Done>true</Done></interface-response>")},
		{name: "Command echoing pw", answer: echo("<interface-response><Command>%s %s</Command><ErrCount>0</ErrCount><Done>true</Done></interface-response>")},
		{name: "truncated", answer: fixture("getreglock_truncated.xml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			endpoint := ""
			if tt.closed {
				srv := httptest.NewServer(http.NotFoundHandler())
				srv.Close()
				endpoint = srv.URL
			} else {
				endpoint = providertest.NewWire(t, tt.answer(t)).URL
			}
			c, err := New(Config{Endpoint: endpoint + "/interface.asp", UID: testUID, PW: pw})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.LockState(context.Background(), "resellerdocs.com")
			if err == nil {
				t.Fatal("LockState succeeded, want an error")
			}
			assertNoSecret(t, err, forms...)
		})
	}
}

// A credential with markup characters, echoed by an error page that
// escapes it as HTML or XML does (&lt;, &amp;, &#34;), is redacted in every
// spelling: the page's own and, once the XML is parsed, the raw one.
func TestClient_errorsNeverContainPW_htmlEscaped(t *testing.T) {
	const pw = `s3cr<et&"pw>`
	forms := []string{pw, html.EscapeString(pw), "s3cr&lt;et&amp;&#34;pw&gt;", "s3cr&lt;et&amp;&quot;pw&gt;", url.QueryEscape(pw)}
	page := func(status int, format string) providertest.Answer {
		return providertest.Answer{Status: status, Header: http.Header{"Content-Type": {"text/html"}},
			Body: []byte(fmt.Sprintf(format, html.EscapeString(pw)))}
	}
	tests := []struct {
		name   string
		answer providertest.Answer
	}{
		{"HTTP 500 page", page(500, "<html><body><p>Bad request: pw=%s</p></body></html>")},
		{"HTTP 200 HTML page", page(200, "<html><body>uid=resellid&amp;pw=%s</body></html>")},
		{"XML-escaped in Err1", page(200, "<interface-response><ErrCount>1</ErrCount><errors><Err1>Bad User name or Password: %s</Err1></errors><Done>true</Done></interface-response>")},
		{"numeric references in RRPText", providertest.Answer{Body: []byte(
			"<interface-response><RRPCode>599</RRPCode><RRPText>s3cr&lt;et&amp;&#34;pw&gt;</RRPText><ErrCount>1</ErrCount><Done>true</Done></interface-response>")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := providertest.NewWire(t, tt.answer)
			c, err := New(Config{Endpoint: w.URL + "/interface.asp", UID: testUID, PW: pw})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.LockState(context.Background(), "resellerdocs.com")
			if err == nil {
				t.Fatal("LockState succeeded, want an error")
			}
			assertNoSecret(t, err, forms...)
		})
	}
}

func TestNew_errorNeverContainsPW(t *testing.T) {
	const pw = "Tok3n-in-config"
	_, err := New(Config{Endpoint: "https://resellid:" + pw + "@[bad", UID: "", PW: pw, Timeout: -1})
	if err == nil || strings.Contains(err.Error(), pw) {
		t.Errorf("New error = %v, want one without the token", err)
	}
	c, err := New(Config{Endpoint: "https://resellertest.enom.com/interface.asp", UID: testUID, PW: pw})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c); strings.Contains(s, pw) {
		t.Errorf("printing the client reveals the token: %s", s)
	}
}
