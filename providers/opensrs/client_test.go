package opensrs

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/opensrs/ops"
	"github.com/reglock/reglock/providers/providertest"
	"github.com/reglock/reglock/secret"
)

// The fixtures' account: the documents name none, so these are made up.
const (
	testUser = "resellerx"
	testKey  = "9f2c1b7e5a3d4c6b8e0f1a2b3c4d5e6f"
	// docDomain is the domain of the modify_trade_lock_setting example.
	docDomain = "weruiofh89q34gh78943g4.com"
)

// answer is one canned HTTP answer of the fake OpenSRS.
type answer struct {
	status int
	header http.Header
	body   []byte
	drop   bool // close the connection without answering
}

// captured is one request as the fake OpenSRS received it.
type captured struct {
	method, path, rawQuery       string
	contentType, user, signature string
	contentLength                int64
	body                         []byte
}

// fakeOpenSRS serves canned answers in order (the last one repeats) and
// keeps every request for assertions.
type fakeOpenSRS struct {
	mu      sync.Mutex
	answers []answer
	reqs    []captured
}

func (f *fakeOpenSRS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, captured{
		method:        r.Method,
		path:          r.URL.Path,
		rawQuery:      r.URL.RawQuery,
		contentType:   r.Header.Get("Content-Type"),
		user:          r.Header.Get("X-Username"),
		signature:     r.Header.Get("X-Signature"),
		contentLength: r.ContentLength,
		body:          body,
	})
	a := f.answers[min(len(f.reqs), len(f.answers))-1]
	f.mu.Unlock()
	if a.drop {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	}
	for k, v := range a.header {
		w.Header()[k] = v
	}
	if a.status == 0 {
		a.status = http.StatusOK
	}
	w.WriteHeader(a.status)
	w.Write(a.body)
}

func (f *fakeOpenSRS) requests() []captured {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// setup starts a fake OpenSRS that answers with answers, and a Client for
// it whose endpoint has no path, as OpenSRS's have.
func setup(t *testing.T, answers ...answer) (*Client, *fakeOpenSRS) {
	t.Helper()
	f := &fakeOpenSRS{answers: answers}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Config{Endpoint: srv.URL, Username: testUser, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	return c, f
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixture is a 200 answer with the body of a testdata file.
func fixture(name string) func(t *testing.T) answer {
	return func(t *testing.T) answer { return answer{body: readFixture(t, name)} }
}

func body(s string) func(t *testing.T) answer {
	return func(*testing.T) answer { return answer{body: []byte(s)} }
}

// doubleMD5 is the signature as OpenSRS's PHP toolkit computes it, written
// out again here so that the test does not trust the code it tests.
func doubleMD5(body []byte, key string) string {
	inner := md5.Sum(append(slices.Clone(body), key...))
	outer := md5.Sum([]byte(hex.EncodeToString(inner[:]) + key))
	return hex.EncodeToString(outer[:])
}

// assertRequest checks the whole request against testdata/<name>-request.xml:
// a POST to the endpoint as configured, text/xml, the username, exactly the
// fixture's bytes, and their signature. The key itself is never sent.
func assertRequest(t *testing.T, got captured, name string) {
	t.Helper()
	want := readFixture(t, name+"-request.xml")
	if got.method != http.MethodPost {
		t.Errorf("method = %s, want POST", got.method)
	}
	if got.path != "/" || got.rawQuery != "" {
		t.Errorf("path = %q, query = %q; want / and none", got.path, got.rawQuery)
	}
	if got.contentType != "text/xml" {
		t.Errorf("Content-Type = %q, want text/xml", got.contentType)
	}
	if got.user != testUser {
		t.Errorf("X-Username = %q, want %q", got.user, testUser)
	}
	if !bytes.Equal(got.body, want) {
		t.Errorf("body =\n%s\nwant %s-request.xml\n%s", got.body, name, want)
	}
	if got.contentLength != int64(len(got.body)) {
		t.Errorf("Content-Length = %d, body has %d bytes", got.contentLength, len(got.body))
	}
	if wantSig := doubleMD5(got.body, testKey); got.signature != wantSig {
		t.Errorf("X-Signature = %q, want %q", got.signature, wantSig)
	}
	if bytes.Contains(got.body, []byte(testKey)) || strings.Contains(got.signature, testKey) {
		t.Error("the key was sent")
	}
}

// TestSign pins the signature to a value computed outside Go (md5sum over
// the document's example request and the test key).
func TestSign(t *testing.T) {
	body := readFixture(t, "modify_trade_lock_setting-request.xml")
	const want = "a8a0498fe2d380bdba1b9c02919b4051"
	if got := sign(body, testKey); got != want {
		t.Errorf("sign = %s, want %s", got, want)
	}
	if got := doubleMD5(body, testKey); got != want {
		t.Errorf("the test's own double MD5 = %s, want %s", got, want)
	}
}

func TestNew(t *testing.T) {
	valid := Config{Endpoint: "https://horizon.opensrs.net:55443", Username: testUser, Key: testKey}
	tests := []struct {
		name       string
		edit       func(*Config)
		wantFields []string // each must be named in the error; none means valid
	}{
		{"valid", func(*Config) {}, nil},
		{"http endpoint with a path", func(c *Config) { c.Endpoint = "http://127.0.0.1:8080/opensrs/" }, nil},
		{"empty endpoint", func(c *Config) { c.Endpoint = "" }, []string{"Endpoint"}},
		{"relative endpoint", func(c *Config) { c.Endpoint = "horizon.opensrs.net:55443" }, []string{"Endpoint"}},
		{"ftp endpoint", func(c *Config) { c.Endpoint = "ftp://horizon.opensrs.net" }, []string{"Endpoint"}},
		{"endpoint without host", func(c *Config) { c.Endpoint = "https:///" }, []string{"Endpoint"}},
		{"empty username", func(c *Config) { c.Username = " " }, []string{"Username"}},
		{"username with a line break", func(c *Config) { c.Username = "a\r\nX-Evil: 1" }, []string{"Username"}},
		{"empty key", func(c *Config) { c.Key = "" }, []string{"Key"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"Timeout"}},
		{"everything wrong", func(c *Config) { *c = Config{Endpoint: "::", Timeout: -1} }, []string{"Endpoint", "Username", "Key", "Timeout"}},
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
				if !strings.Contains(err.Error(), "opensrs: "+f+":") {
					t.Errorf("error %q does not name %s", err, f)
				}
			}
		})
	}
}

func TestNew_defaults(t *testing.T) {
	c, err := New(Config{Endpoint: "https://horizon.opensrs.net:55443", Username: testUser, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if c.timeout != DefaultTimeout || c.http == nil || c.http.Timeout != DefaultTimeout {
		t.Errorf("timeout = %v, http timeout = %v; want %v", c.timeout, c.http.Timeout, DefaultTimeout)
	}
	own := &http.Client{}
	c, err = New(Config{Endpoint: "https://horizon.opensrs.net:55443", Username: testUser, Key: testKey, HTTPClient: own, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if c.http != own || c.timeout != time.Second {
		t.Errorf("New did not keep the caller's HTTP client and timeout")
	}
}

// The endpoint is used as is: a simulator's path is kept.
func TestClient_endpointPath(t *testing.T) {
	f := &fakeOpenSRS{answers: []answer{{body: readFixture(t, "get_status_locked.xml")}}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := New(Config{Endpoint: srv.URL + "/opensrs/", Username: testUser, Key: testKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.LockState(context.Background(), docDomain); err != nil {
		t.Fatal(err)
	}
	if got := f.requests()[0].path; got != "/opensrs/" {
		t.Errorf("path = %q, want /opensrs/", got)
	}
}

// codeCases are the response codes and what they must become.
var codeCases = []struct {
	code          int
	wantErr       error // nil: a transient error that is not a RetryAfterError
	wantPermanent bool
	wantAfter     time.Duration
}{
	{300, nil, false, time.Second},
	{310, nil, false, 2 * time.Second},
	{400, nil, false, 0},
	{405, nil, false, 0},
	{410, providers.ErrAuth, true, 0},
	{415, providers.ErrAuth, true, 0},
	{430, nil, true, 0},
	{435, providers.ErrNotPermitted, true, 0},
	{437, nil, false, 5 * time.Second},
	{460, nil, true, 0},
	{465, nil, true, 0},
	{480, providers.ErrNotFound, true, 0},
	{486, nil, false, 5 * time.Second},
}

// checkCode asserts the error a response code must become.
func checkCode(t *testing.T, err error, code int, wantErr error, wantPermanent bool, wantAfter time.Duration) {
	t.Helper()
	if err == nil {
		t.Fatalf("code %d: no error", code)
	}
	if wantErr != nil && !errors.Is(err, wantErr) {
		t.Errorf("code %d: err = %v, want errors.Is %v", code, err, wantErr)
	}
	if got := providers.IsPermanent(err); got != wantPermanent {
		t.Errorf("code %d: IsPermanent(%v) = %v, want %v", code, err, got, wantPermanent)
	}
	var ra *providers.RetryAfterError
	switch gotRA := errors.As(err, &ra); {
	case wantAfter == 0 && gotRA:
		t.Errorf("code %d: err = %v, want no *RetryAfterError", code, err)
	case wantAfter > 0 && (!gotRA || ra.After != wantAfter):
		t.Errorf("code %d: err = %v, want a *RetryAfterError of %v", code, err, wantAfter)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(code)) {
		t.Errorf("code %d: err = %q does not name the code", code, err)
	}
}

func TestClient_LockState(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(t *testing.T) answer
		want    providers.State
		wantErr error
		wantMsg string
	}{
		{name: "locked", answer: fixture("get_status_locked.xml"), want: providers.State{Locked: true}},
		{name: "unlocked", answer: fixture("get_status_unlocked.xml"), want: providers.State{}},
		{name: "transfer away in progress", answer: fixture("get_status_transferaway.xml"), want: providers.State{Pending: true}},
		{name: "no lock_state", answer: fixture("modify_status_lock.xml"), wantMsg: `no usable lock_state: ""`},
		{name: "bad lock_state", answer: body(strings.Replace(string(readFixture(t, "get_status_locked.xml")), `"lock_state">1<`, `"lock_state">yes<`, 1)), wantMsg: `no usable lock_state: "yes"`},
		{name: "truncated", answer: func(t *testing.T) answer {
			b := readFixture(t, "get_status_locked.xml")
			return answer{body: b[:len(b)/2]}
		}, wantErr: ops.ErrTruncated},
		{name: "html page", answer: body("<html><body>Maintenance</body></html>"), wantErr: ops.ErrNotOPS},
		{name: "request echoed", answer: fixture("get_status-request.xml"), wantErr: errNotReply},
		{name: "no is_success", answer: body(strings.Replace(string(readFixture(t, "get_status_locked.xml")), `key="is_success"`, `key="success"`, 1)), wantErr: errNotReply},
		{name: "broken xml", answer: body("<OPS_envelope><body><data_block><dt_assoc></data_block></body></OPS_envelope>"), wantErr: ops.ErrMalformed},
		{name: "not found", answer: fixture("error_480.xml"), wantErr: providers.ErrNotFound, wantMsg: "opensrs: get " + docDomain + ": response code 480: Domain not found"},
		{name: "empty body", answer: body(""), wantErr: errNoAnswer, wantMsg: "allow-list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := setup(t, tt.answer(t))
			got, err := c.LockState(context.Background(), docDomain)
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			assertRequest(t, reqs[0], "get_status")
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
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want errors.Is %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
		})
	}
}

// TestClient_responseCodes runs every classified code through each command.
func TestClient_responseCodes(t *testing.T) {
	for _, cc := range codeCases {
		t.Run(fmt.Sprint(cc.code), func(t *testing.T) {
			c, _ := setup(t, fixture(fmt.Sprintf("error_%d.xml", cc.code))(t))
			ctx := context.Background()
			_, err := c.LockState(ctx, docDomain)
			checkCode(t, err, cc.code, cc.wantErr, cc.wantPermanent, cc.wantAfter)
			checkCode(t, c.SetLock(ctx, docDomain, true), cc.code, cc.wantErr, cc.wantPermanent, cc.wantAfter)
			checkCode(t, c.SetTradeLock(ctx, docDomain, true, netip.MustParseAddr("0.0.0.0")), cc.code, cc.wantErr, cc.wantPermanent, cc.wantAfter)
			for _, err := range c.Domains(ctx) {
				checkCode(t, err, cc.code, cc.wantErr, cc.wantPermanent, cc.wantAfter)
			}
		})
	}
	t.Run("unknown code", func(t *testing.T) {
		c, _ := setup(t, body(strings.Replace(string(readFixture(t, "error_480.xml")), ">480<", ">999<", 1))(t))
		_, err := c.LockState(context.Background(), docDomain)
		checkCode(t, err, 999, nil, false, 0)
	})
	t.Run("no code", func(t *testing.T) {
		c, _ := setup(t, body(strings.Replace(string(readFixture(t, "error_480.xml")), `key="response_code"`, `key="code"`, 1))(t))
		_, err := c.LockState(context.Background(), docDomain)
		if err == nil || providers.IsPermanent(err) || !strings.Contains(err.Error(), "without a response code: Domain not found") {
			t.Errorf("err = %v, want a transient error quoting the text", err)
		}
	})
}

func TestClient_SetLock(t *testing.T) {
	tests := []struct {
		name          string
		locked        bool
		answers       []string
		wantErr       error
		wantPermanent bool
		wantRequests  []string
	}{
		{name: "lock", locked: true, answers: []string{"modify_status_lock.xml"}, wantRequests: []string{"modify_status_lock"}},
		{name: "unlock", locked: false, answers: []string{"modify_status_unlock.xml"}, wantRequests: []string{"modify_status_unlock"}},
		// An error that could mean "already": the state is read back.
		{name: "already locked", locked: true, answers: []string{"modify_status_alreadylocked.xml", "get_status_locked.xml"},
			wantRequests: []string{"modify_status_lock", "get_status"}},
		{name: "refused and not in the state", locked: true, answers: []string{"modify_status_alreadylocked.xml", "get_status_unlocked.xml"},
			wantErr: errors.New("response code 465"), wantPermanent: true, wantRequests: []string{"modify_status_lock", "get_status"}},
		{name: "internal error, already unlocked", locked: false, answers: []string{"error_400.xml", "get_status_unlocked.xml"},
			wantRequests: []string{"modify_status_unlock", "get_status"}},
		{name: "internal error, read back fails", locked: false, answers: []string{"error_400.xml", "error_400.xml"},
			wantErr: errors.New("response code 400"), wantRequests: []string{"modify_status_unlock", "get_status"}},
		// Errors whose meaning is known are not read back.
		{name: "not found", locked: true, answers: []string{"error_480.xml"}, wantErr: providers.ErrNotFound, wantPermanent: true, wantRequests: []string{"modify_status_lock"}},
		{name: "bad auth", locked: false, answers: []string{"error_415.xml"}, wantErr: providers.ErrAuth, wantPermanent: true, wantRequests: []string{"modify_status_unlock"}},
		{name: "busy", locked: true, answers: []string{"error_486.xml"}, wantErr: errors.New("response code 486"), wantRequests: []string{"modify_status_lock"}},
		{name: "missing field", locked: true, answers: []string{"error_460.xml"}, wantErr: errors.New("response code 460"), wantPermanent: true, wantRequests: []string{"modify_status_lock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answers []answer
			for _, a := range tt.answers {
				answers = append(answers, fixture(a)(t))
			}
			c, f := setup(t, answers...)
			err := c.SetLock(context.Background(), docDomain, tt.locked)
			switch {
			case tt.wantErr == nil:
				providertest.AssertErr(t, err, nil, false)
			case errors.Is(tt.wantErr, providers.ErrNotFound) || errors.Is(tt.wantErr, providers.ErrAuth):
				providertest.AssertErr(t, err, tt.wantErr, tt.wantPermanent)
			default:
				if err == nil || !strings.Contains(err.Error(), tt.wantErr.Error()) || providers.IsPermanent(err) != tt.wantPermanent {
					t.Errorf("err = %v, want %q (permanent %v)", err, tt.wantErr, tt.wantPermanent)
				}
			}
			reqs := f.requests()
			if len(reqs) != len(tt.wantRequests) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.wantRequests))
			}
			for i, name := range tt.wantRequests {
				assertRequest(t, reqs[i], name)
			}
		})
	}
}

func TestClient_SetTradeLock(t *testing.T) {
	tests := []struct {
		name    string
		enabled bool
		ip      netip.Addr
		answer  string
		request string
	}{
		// The document's example, byte for byte.
		{name: "enable, as in the document", enabled: true, ip: netip.MustParseAddr("0.0.0.0"), answer: "modify_trade_lock_setting.xml", request: "modify_trade_lock_setting"},
		{name: "opt out", enabled: false, ip: netip.MustParseAddr("203.0.113.7"), answer: "modify_trade_lock_setting_optout.xml", request: "modify_trade_lock_setting_optout"},
		{name: "IPv4-mapped address", enabled: false, ip: netip.MustParseAddr("::ffff:203.0.113.7"), answer: "modify_trade_lock_setting_optout.xml", request: "modify_trade_lock_setting_optout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := setup(t, fixture(tt.answer)(t))
			if err := c.SetTradeLock(context.Background(), docDomain, tt.enabled, tt.ip); err != nil {
				t.Fatalf("SetTradeLock = %v", err)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			assertRequest(t, reqs[0], tt.request)
		})
	}
	t.Run("IPv6 with a zone", func(t *testing.T) {
		c, f := setup(t, fixture("modify_trade_lock_setting.xml")(t))
		if err := c.SetTradeLock(context.Background(), docDomain, true, netip.MustParseAddr("2001:db8::1%eth0")); err != nil {
			t.Fatal(err)
		}
		v, err := ops.Decode(f.requests()[0].body)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Assoc().Get("attributes").Assoc().Text("ip_address"); got != "2001:db8::1" {
			t.Errorf("ip_address = %q, want 2001:db8::1", got)
		}
	})
	t.Run("no address", func(t *testing.T) {
		c, f := setup(t, fixture("modify_trade_lock_setting.xml")(t))
		err := c.SetTradeLock(context.Background(), docDomain, false, netip.Addr{})
		if err == nil || !providers.IsPermanent(err) || len(f.requests()) != 0 {
			t.Errorf("err = %v after %d requests, want a permanent error and none", err, len(f.requests()))
		}
	})
}

func TestClient_invalidDomain(t *testing.T) {
	for _, domain := range []string{"", "com", "Example.com", "example.com.", ".example.com", "exa mple.com", "a..com",
		"-a.com", "a-.com", "münchen.de", "a_b.com", "ex<ample>.com", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "com"} {
		t.Run(domain, func(t *testing.T) {
			c, f := setup(t, fixture("get_status_locked.xml")(t))
			ctx := context.Background()
			if _, err := c.LockState(ctx, domain); err == nil || !providers.IsPermanent(err) {
				t.Errorf("LockState(%q) = %v, want a permanent error", domain, err)
			}
			if err := c.SetLock(ctx, domain, true); err == nil || !providers.IsPermanent(err) {
				t.Errorf("SetLock(%q) = %v, want a permanent error", domain, err)
			}
			if err := c.SetTradeLock(ctx, domain, true, netip.MustParseAddr("192.0.2.1")); err == nil || !providers.IsPermanent(err) {
				t.Errorf("SetTradeLock(%q) = %v, want a permanent error", domain, err)
			}
			if n := len(f.requests()); n != 0 {
				t.Errorf("%d requests sent for an invalid name, want 0", n)
			}
		})
	}
	for _, domain := range []string{"example.co.uk", "xn--mller-kva.de", "a.b", "1-2.example", strings.Repeat("a", 63) + ".com"} {
		if err := checkDomain(domain); err != nil {
			t.Errorf("checkDomain(%q) = %v, want nil", domain, err)
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
	c, f := setup(t, fixture("get_domains_by_expiredate_page1.xml")(t), fixture("get_domains_by_expiredate_page2.xml")(t))
	names, errs := collect(c.Domains(context.Background()))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{"alpha.com", "beta.net", "xn--mller-kva.de", "gamma.org", "delta.co.uk"}
	if !slices.Equal(names, want) {
		t.Errorf("Domains = %v, want %v", names, want)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	assertRequest(t, reqs[0], "get_domains_by_expiredate_page1")
	assertRequest(t, reqs[1], "get_domains_by_expiredate_page2")
}

func TestClient_Domains_empty(t *testing.T) {
	for _, page := range []string{
		string(readFixture(t, "get_domains_by_expiredate_empty.xml")),
		// No exp_domains at all, and a remainder that says nothing.
		strings.Replace(strings.Replace(string(readFixture(t, "get_domains_by_expiredate_empty.xml")),
			`<item key="exp_domains">`, `<item key="other">`, 1), `"remainder">0<`, `"remainder"><`, 1),
	} {
		c, f := setup(t, answer{body: []byte(page)})
		names, errs := collect(c.Domains(context.Background()))
		if len(names) != 0 || len(errs) != 0 || len(f.requests()) != 1 {
			t.Errorf("Domains = %v, %v after %d requests; want nothing after 1", names, errs, len(f.requests()))
		}
	}
}

// An empty page ends the listing even if remainder says otherwise.
func TestClient_Domains_emptyPageEnds(t *testing.T) {
	page := strings.Replace(string(readFixture(t, "get_domains_by_expiredate_empty.xml")), `"remainder">0<`, `"remainder">1<`, 1)
	c, f := setup(t, answer{body: []byte(page)})
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 0 || len(errs) != 0 || len(f.requests()) != 1 {
		t.Errorf("Domains = %v, %v after %d requests; want nothing after 1", names, errs, len(f.requests()))
	}
}

// A server that ignores page would be listed forever.
func TestClient_Domains_noProgress(t *testing.T) {
	c, f := setup(t, fixture("get_domains_by_expiredate_page1.xml")(t))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 3 || len(errs) != 1 || len(f.requests()) != 2 || !strings.Contains(errs[0].Error(), "page 2 repeats page 1") {
		t.Errorf("Domains = %d names, %v after %d requests; want 3 names, one error, 2 requests", len(names), errs, len(f.requests()))
	}
}

func TestClient_Domains_error(t *testing.T) {
	c, f := setup(t, fixture("get_domains_by_expiredate_page1.xml")(t), fixture("error_415.xml")(t))
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

func TestClient_Domains_badEntries(t *testing.T) {
	page := string(readFixture(t, "get_domains_by_expiredate_page1.xml"))
	notAList := strings.Replace(page, "<item key=\"exp_domains\">\n       <dt_array>", "<item key=\"exp_domains\">\n       <dt_assoc>", 1)
	notAList = strings.Replace(notAList, "</dt_array>\n      </item>\n      <item key=\"page\">", "</dt_assoc>\n      </item>\n      <item key=\"page\">", 1)
	for name, edit := range map[string]string{
		"entry without a name":    strings.Replace(page, `<item key="name">alpha.com</item>`, ``, 1),
		"name that is not a name": strings.Replace(page, `>alpha.com<`, `>alpha com<`, 1),
		"exp_domains not a list":  notAList,
	} {
		t.Run(name, func(t *testing.T) {
			if edit == page {
				t.Fatal("the edit did not apply")
			}
			c, _ := setup(t, answer{body: []byte(edit)})
			names, errs := collect(c.Domains(context.Background()))
			if len(names) != 0 || len(errs) != 1 || providers.IsPermanent(errs[0]) {
				t.Errorf("Domains = %v, %v; want one transient error and no names", names, errs)
			}
		})
	}
}

func TestClient_Domains_stopEarly(t *testing.T) {
	c, f := setup(t, fixture("get_domains_by_expiredate_page1.xml")(t), fixture("get_domains_by_expiredate_page2.xml")(t))
	for range c.Domains(context.Background()) {
		break
	}
	if n := len(f.requests()); n != 1 {
		t.Errorf("%d requests after the consumer stopped, want 1", n)
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
		})
	}
}

// A dropped connection is what a caller outside the allow-list sees: a
// transient error that says so.
func TestClient_droppedConnection(t *testing.T) {
	c, f := setup(t, answer{drop: true})
	_, err := c.LockState(context.Background(), docDomain)
	if !errors.Is(err, errNoAnswer) || providers.IsPermanent(err) || !strings.Contains(err.Error(), "allow-list") {
		t.Errorf("err = %v, want a transient error mentioning the allow-list", err)
	}
	if len(f.requests()) != 1 {
		t.Errorf("%d requests, want 1 (no retry of a POST)", len(f.requests()))
	}
}

func TestClient_transportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL
	srv.Close()
	c, err := New(Config{Endpoint: endpoint, Username: testUser, Key: testKey})
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
	c, err := New(Config{Endpoint: srv.URL, Username: testUser, Key: testKey})
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
	c, err := New(Config{Endpoint: srv.URL, Username: testUser, Key: testKey, Timeout: 50 * time.Millisecond, HTTPClient: &http.Client{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LockState(context.Background(), docDomain)
	if err == nil || providers.IsPermanent(err) || errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want a transient timeout", err)
	}
}

// TestClient_errorsNeverContainKey provokes every error path with two
// distinctive keys (one full of characters that need escaping, one that is
// a valid XML name and can become an element or a key), most of them with
// a server that echoes the key back, and checks that no error, nor
// anything in its chain, reveals it.
func TestClient_errorsNeverContainKey(t *testing.T) {
	for _, key := range []string{`K3y/with+odd&chars<"'>=!\`, "Kx9SecretKeyName0123"} {
		t.Run(key, func(t *testing.T) { testErrorsNeverContainKey(t, key) })
	}
}

func testErrorsNeverContainKey(t *testing.T, key string) {
	quoted := strconv.Quote(key)
	forms := []string{key, url.QueryEscape(key), xmlEscape(key), quoted[1 : len(quoted)-1]}
	echo := func(format string) func(t *testing.T) answer {
		return func(*testing.T) answer {
			return answer{body: []byte(strings.ReplaceAll(format, "KEY", xmlEscape(key)))}
		}
	}
	status := string(readFixture(t, "get_status_locked.xml"))
	errReply := string(readFixture(t, "error_400.xml"))
	list := string(readFixture(t, "get_domains_by_expiredate_page1.xml"))
	tests := []struct {
		name   string
		answer func(t *testing.T) answer
		closed bool
	}{
		{name: "transport error", closed: true},
		{name: "dropped connection", answer: func(*testing.T) answer { return answer{drop: true} }},
		{name: "empty answer", answer: body("")},
		{name: "HTTP 500 echoing the key", answer: func(*testing.T) answer {
			return answer{status: 500, body: []byte("key=" + key + " " + url.QueryEscape(key))}
		}},
		{name: "HTTP 503 Retry-After, key across the snippet cut", answer: func(*testing.T) answer {
			return answer{status: 503, header: http.Header{"Retry-After": {"3"}}, body: []byte(strings.Repeat("x", 190) + key)}
		}},
		{name: "bad XML echoing the key", answer: echo("<OPS_envelope><KEY>x</OPS_envelope>")},
		{name: "element named after the key", answer: echo("<OPS_envelope><body><data_block><dt_assoc><item key=\"a\"><KEY/></item></dt_assoc></data_block></body></OPS_envelope>")},
		{name: "root named after the key", answer: echo("<KEY/>")},
		{name: "array key echoing the key", answer: echo("<OPS_envelope><body><data_block><dt_array><item key=\"KEY\">x</item></dt_array></data_block></body></OPS_envelope>")},
		{name: "duplicate key echoing the key", answer: echo("<OPS_envelope><body><data_block><dt_assoc><item key=\"KEY\">x</item><item key=\"KEY\">y</item></dt_assoc></data_block></body></OPS_envelope>")},
		{name: "not OPS echoing the key", answer: echo("<html>KEY</html>")},
		{name: "truncated echoing the key", answer: echo("<OPS_envelope><body><data_block><dt_assoc><item key=\"KEY\">KEY")},
		{name: "not a reply echoing the key", answer: echo(strings.Replace(status, "REPLY", "KEY", 1))},
		{name: "is_success echoing the key", answer: echo(strings.Replace(status, `"is_success">1<`, `"is_success">KEY<`, 1))},
		{name: "response_code echoing the key", answer: echo(strings.Replace(errReply, `"response_code">400<`, `"response_code">KEY<`, 1))},
		{name: "auth error echoing the key", answer: echo(strings.Replace(string(readFixture(t, "error_415.xml")), "Authentication Error.", "bad key KEY", 1))},
		{name: "generic error echoing the key", answer: echo(strings.Replace(errReply, "Internal server error", strings.Repeat("x", 495)+"KEY", 1))},
		{name: "rate limit echoing the key", answer: echo(strings.Replace(string(readFixture(t, "error_300.xml")), "Exceeded", "KEY", 1))},
		{name: "lock_state echoing the key", answer: echo(strings.Replace(status, `"lock_state">1<`, `"lock_state">`+strings.Repeat("y", 180)+`KEY<`, 1))},
		{name: "listing name echoing the key", answer: echo(strings.Replace(list, ">alpha.com<", ">"+strings.Repeat("y", 150)+"KEY<", 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var srv *httptest.Server
			if tt.closed {
				srv = httptest.NewServer(http.NotFoundHandler())
				srv.Close()
			} else {
				srv = httptest.NewServer(&fakeOpenSRS{answers: []answer{tt.answer(t)}})
				t.Cleanup(srv.Close)
			}
			c, err := New(Config{Endpoint: srv.URL, Username: testUser, Key: secret.String(key)})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			_, err1 := c.LockState(ctx, docDomain)
			err2 := c.SetLock(ctx, docDomain, true)
			err3 := c.SetTradeLock(ctx, docDomain, false, netip.MustParseAddr("192.0.2.1"))
			var err4 error
			for _, err := range c.Domains(ctx) {
				err4 = err
			}
			// A success answer is success for the calls that read nothing
			// from it; every test case makes some call fail.
			if err1 == nil && err4 == nil {
				t.Fatal("LockState and Domains succeeded, want an error")
			}
			for _, err := range []error{err1, err2, err3, err4} {
				assertNoKey(t, err, forms)
			}
		})
	}
}

// assertNoKey checks every error in the chain, in every way of printing it.
func assertNoKey(t *testing.T, err error, forms []string) {
	t.Helper()
	var chain []error
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		chain = append(chain, e)
		switch u := e.(type) {
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	for _, e := range chain {
		texts := []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprintf("%#v", e)}
		var se *providers.StatusError
		if errors.As(e, &se) {
			texts = append(texts, se.Body)
		}
		for _, text := range texts {
			for _, form := range forms {
				if strings.Contains(text, form) {
					t.Fatalf("error reveals the key: %s", text)
				}
			}
		}
	}
}

func TestNew_errorNeverContainsKey(t *testing.T) {
	const key = "K3y-in-config"
	_, err := New(Config{Endpoint: "https://user:" + key + "@[bad", Username: "", Key: key, Timeout: -1})
	if err == nil || strings.Contains(err.Error(), key) {
		t.Errorf("New error = %v, want one without the key", err)
	}
	c, err := New(Config{Endpoint: "https://horizon.opensrs.net:55443", Username: testUser, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c); strings.Contains(s, key) || !strings.Contains(s, testUser) {
		t.Errorf("printing the client reveals the key, or not the user: %s", s)
	}
}
