package enom

import (
	"context"
	"errors"
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

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// The document's example credentials; the request fixtures carry them.
const (
	testUID = "resellid"
	testPW  = "resellpw"
)

// answer is one canned HTTP answer of the fake eNom.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// captured is one request as the fake eNom received it.
type captured struct {
	method, path, contentType, rawQuery string
	form                                url.Values
}

// fakeENom serves canned answers in order (the last one repeats) and keeps
// every request for assertions.
type fakeENom struct {
	mu      sync.Mutex
	answers []answer
	reqs    []captured
}

func (f *fakeENom) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	f.mu.Lock()
	f.reqs = append(f.reqs, captured{
		method:      r.Method,
		path:        r.URL.Path,
		contentType: r.Header.Get("Content-Type"),
		rawQuery:    r.URL.RawQuery,
		form:        form,
	})
	a := f.answers[min(len(f.reqs), len(f.answers))-1]
	f.mu.Unlock()
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if a.status == 0 {
		a.status = http.StatusOK
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func (f *fakeENom) requests() []captured {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// setup starts a fake eNom that answers with answers, and a Client for it.
func setup(t *testing.T, answers ...answer) (*Client, *fakeENom) {
	t.Helper()
	f := &fakeENom{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Config{Endpoint: srv.URL + "/interface.asp", UID: testUID, PW: testPW})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

// ok is a 200 answer with the body of a testdata fixture.
func ok(t *testing.T, fixture string) answer {
	t.Helper()
	return answer{body: readFixture(t, fixture)}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// wantRequest reads testdata/<name>-request.txt: the form the client must send.
func wantRequest(t *testing.T, name string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(strings.TrimSpace(string(readFixture(t, name+"-request.txt"))))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// assertRequest checks the whole request: a form POST to interface.asp with
// exactly the expected parameters and nothing in the URL query.
func assertRequest(t *testing.T, got captured, want url.Values) {
	t.Helper()
	if got.method != http.MethodPost {
		t.Errorf("method = %s, want POST", got.method)
	}
	if got.path != "/interface.asp" {
		t.Errorf("path = %s, want /interface.asp", got.path)
	}
	if got.contentType != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type = %q, want application/x-www-form-urlencoded", got.contentType)
	}
	if got.rawQuery != "" {
		t.Errorf("URL query = %q, want none (credentials belong in the body)", got.rawQuery)
	}
	if !reflect.DeepEqual(got.form, want) {
		t.Errorf("form =\n  %v\nwant\n  %v", got.form, want)
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
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, []string{"Endpoint"}},
		{"relative endpoint", func(c *Config) { c.Endpoint = "interface.asp" }, []string{"Endpoint"}},
		{"ftp endpoint", func(c *Config) { c.Endpoint = "ftp://resellertest.enom.com/interface.asp" }, []string{"Endpoint"}},
		{"endpoint without host", func(c *Config) { c.Endpoint = "https:///interface.asp" }, []string{"Endpoint"}},
		{"empty uid", func(c *Config) { c.UID = " " }, []string{"UID"}},
		{"empty pw", func(c *Config) { c.PW = "" }, []string{"PW"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"Timeout"}},
		{"everything wrong", func(c *Config) { *c = Config{Endpoint: "::", Timeout: -1} }, []string{"Endpoint", "UID", "PW", "Timeout"}},
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
	own := &http.Client{}
	c, err = New(Config{Endpoint: "https://resellertest.enom.com/interface.asp", UID: testUID, PW: testPW, HTTPClient: own, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.http != own || c.timeout != time.Second {
		t.Errorf("New did not keep the caller's HTTP client and timeout")
	}
}

func TestClient_LockState(t *testing.T) {
	tests := []struct {
		name          string
		answer        func(t *testing.T) answer
		want          providers.State
		wantErr       error
		wantPermanent bool
		wantMsg       string
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
		{name: "no reg-lock", answer: fixture("setreglock_lock.xml"), wantMsg: "no usable reg-lock"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := setup(t, tt.answer(t))
			got, err := c.LockState(context.Background(), "resellerdocs.com")
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			assertRequest(t, reqs[0], wantRequest(t, "getreglock_locked"))
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

func fixture(name string) func(t *testing.T) answer {
	return func(t *testing.T) answer { return ok(t, name) }
}

func body(s string) func(t *testing.T) answer {
	return func(*testing.T) answer { return answer{body: []byte(s)} }
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
			c, f := setup(t, ok(t, tt.answer))
			err := c.SetLock(context.Background(), "resellerdocs.com", tt.locked)
			providertest.AssertErr(t, err, tt.wantErr, tt.wantPermanent)
			req := "setreglock_unlock"
			if tt.locked {
				req = "setreglock_lock"
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			assertRequest(t, reqs[0], wantRequest(t, req))
		})
	}
}

// TestClient_SetLock_alreadyUnlocked pins the two eNom quirks together:
// unlocking sends UnlockRegistrar=1, and "already unlocked" is success.
func TestClient_SetLock_alreadyUnlocked(t *testing.T) {
	c, f := setup(t, ok(t, "setreglock_alreadyunlocked.xml"))
	if err := c.SetLock(context.Background(), "resellerdocs.com", false); err != nil {
		t.Fatalf("SetLock(false) = %v, want nil", err)
	}
	if got := f.requests()[0].form.Get("UnlockRegistrar"); got != "1" {
		t.Errorf("UnlockRegistrar = %q, want 1 (eNom's flag is inverted)", got)
	}
}

func TestClient_invalidDomain(t *testing.T) {
	for _, domain := range []string{"", "com", "co.uk", "example", "www.example.com", ".com"} {
		t.Run(domain, func(t *testing.T) {
			c, f := setup(t, ok(t, "getreglock_locked.xml"))
			_, err := c.LockState(context.Background(), domain)
			if err == nil || !providers.IsPermanent(err) {
				t.Errorf("LockState(%q) = %v, want a permanent error", domain, err)
			}
			if err := c.SetLock(context.Background(), domain, true); err == nil || !providers.IsPermanent(err) {
				t.Errorf("SetLock(%q) = %v, want a permanent error", domain, err)
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("%d requests sent for an invalid name, want 0", n)
			}
		})
	}
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

func TestClient_Domains_paging(t *testing.T) {
	c, f := setup(t, ok(t, "getdomains_page1.xml"), ok(t, "getdomains_page2.xml"))
	names, errs := collect(c.Domains(context.Background()))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{"example001.com", "example002.com", "example003.com", "zeta.net", "zulu.co.uk"}
	if !slices.Equal(names, want) {
		t.Errorf("Domains = %v, want %v", names, want)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	assertRequest(t, reqs[0], wantRequest(t, "getdomains_page1"))
	assertRequest(t, reqs[1], wantRequest(t, "getdomains_page2"))
}

func TestClient_Domains_empty(t *testing.T) {
	c, f := setup(t, ok(t, "getdomains_empty.xml"))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 0 || len(errs) != 0 {
		t.Errorf("Domains = %v, %v; want nothing", names, errs)
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

// An empty page ends the listing even if NextRecords says otherwise.
func TestClient_Domains_emptyPageEnds(t *testing.T) {
	page := strings.Replace(string(readFixture(t, "getdomains_empty.xml")), "<NextRecords>0</NextRecords>", "<NextRecords>101</NextRecords>", 1)
	c, f := setup(t, answer{body: []byte(page)})
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 0 || len(errs) != 0 || len(f.requests()) != 1 {
		t.Errorf("Domains = %v, %v after %d requests; want nothing after 1", names, errs, len(f.requests()))
	}
}

func TestClient_Domains_error(t *testing.T) {
	c, f := setup(t, ok(t, "getdomains_page1.xml"), ok(t, "error_badauth.xml"))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 3 {
		t.Errorf("got %d names before the error, want 3", len(names))
	}
	if len(errs) != 1 || !errors.Is(errs[0], providers.ErrAuth) {
		t.Errorf("errors = %v, want one ErrAuth", errs)
	}
	if n := len(f.requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestClient_Domains_stopEarly(t *testing.T) {
	c, f := setup(t, ok(t, "getdomains_page1.xml"), ok(t, "getdomains_page2.xml"))
	for range c.Domains(context.Background()) {
		break
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests after the consumer stopped, want 1", n)
	}
}

func TestClient_Domains_noProgress(t *testing.T) {
	page := strings.Replace(string(readFixture(t, "getdomains_page1.xml")), "<NextRecords>101</NextRecords>", "<NextRecords>1</NextRecords>", 1)
	c, f := setup(t, answer{body: []byte(page)})
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 3 || len(errs) != 1 || len(f.requests()) != 1 {
		t.Errorf("Domains = %d names, %v after %d requests; want 3 names, one error, 1 request", len(names), errs, len(f.requests()))
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
			c, _ := setup(t, answer{status: tt.status, header: h, body: page})
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

// TestClient_errorsNeverContainPW provokes every error path with a
// distinctive token, some of them with a server that echoes it back, and
// checks that no error text reveals it.
func TestClient_errorsNeverContainPW(t *testing.T) {
	const pw = "Tok3n/with+odd&chars=!"
	forms := []string{pw, url.QueryEscape(pw), url.PathEscape(pw)}
	echo := func(format string) func(t *testing.T) answer {
		return func(*testing.T) answer {
			return answer{body: []byte(fmt.Sprintf(format, pw, url.QueryEscape(pw)))}
		}
	}
	tests := []struct {
		name   string
		answer func(t *testing.T) answer
		closed bool
	}{
		{name: "transport error", closed: true},
		{name: "HTTP 500 echoing pw", answer: func(*testing.T) answer {
			return answer{status: 500, body: []byte("pw=" + pw + " " + url.QueryEscape(pw))}
		}},
		{name: "HTTP 503 Retry-After echoing pw", answer: func(*testing.T) answer {
			return answer{status: 503, header: http.Header{"Retry-After": {"3"}}, body: []byte(strings.Repeat("x", 190) + pw)}
		}},
		{name: "bad XML echoing pw", answer: echo("<interface-response><pw>%s</pw><x>%s</interface-response>")},
		{name: "not eNom echoing pw", answer: echo("<html>%s %s</html>")},
		{name: "auth error echoing pw", answer: echo("<interface-response><ErrCount>1</ErrCount><errors><Err1>Bad User name or Password %s %s</Err1></errors><Done>true</Done></interface-response>")},
		{name: "generic error echoing pw", answer: echo("<interface-response><ErrCount>2</ErrCount><errors><Err1>%s</Err1><Err2>%s</Err2></errors><Done>true</Done></interface-response>")},
		{name: "reg-lock echoing pw", answer: echo("<interface-response><reg-lock>%s %s</reg-lock><ErrCount>0</ErrCount><Done>true</Done></interface-response>")},
		{name: "truncated", answer: fixture("getreglock_truncated.xml")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *httptest.Server
			if tt.closed {
				srv = httptest.NewServer(http.NotFoundHandler())
				srv.Close()
			} else {
				srv = httptest.NewServer(&fakeENom{answers: []answer{tt.answer(t)}})
				t.Cleanup(srv.Close)
			}
			c, err := New(Config{Endpoint: srv.URL + "/interface.asp", UID: testUID, PW: pw})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.LockState(context.Background(), "resellerdocs.com")
			if err == nil {
				t.Fatal("LockState succeeded, want an error")
			}
			// Every error in the chain, and every way of printing it.
			for e := err; e != nil; e = errors.Unwrap(e) {
				texts := []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)}
				var se *providers.StatusError
				if errors.As(e, &se) {
					texts = append(texts, se.Body)
				}
				for _, text := range texts {
					for _, form := range forms {
						if strings.Contains(text, form) {
							t.Fatalf("error reveals the token: %s", text)
						}
					}
				}
			}
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
