package opensrs

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
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

// setup starts the shared wire fake answering with answers (the last one
// repeats), and a Client for it whose endpoint has no path, as OpenSRS's
// have.
func setup(t *testing.T, answers ...providertest.Answer) (*Client, *providertest.Wire) {
	t.Helper()
	w := providertest.NewWire(t, answers...)
	return newTestClient(t, w.URL, testKey), w
}

func newTestClient(t *testing.T, endpoint string, key secret.String) *Client {
	t.Helper()
	c, err := New(Config{Endpoint: endpoint, Username: testUser, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// fixture is a 200 answer with the body of a testdata file.
func fixture(t *testing.T, name string) providertest.Answer {
	t.Helper()
	return providertest.Fixture(t, name)
}

// edited is a 200 answer with the body of a testdata file, each pair of
// edits applied (old, new, old, new, ...); the test fails if one does not
// apply.
func edited(t *testing.T, name string, edits ...string) providertest.Answer {
	t.Helper()
	b := string(providertest.ReadFixture(t, name))
	for i := 0; i+1 < len(edits); i += 2 {
		if !strings.Contains(b, edits[i]) {
			t.Fatalf("%s has no %q to edit", name, edits[i])
		}
		b = strings.Replace(b, edits[i], edits[i+1], 1)
	}
	return providertest.Answer{Body: []byte(b)}
}

func body(s string) providertest.Answer { return providertest.Answer{Body: []byte(s)} }

// codeReply is an XCP failure with the given code and text, in the shape
// of testdata/error_480.xml.
func codeReply(t *testing.T, code int, text string) providertest.Answer {
	t.Helper()
	return edited(t, "error_480.xml", ">480<", ">"+strconv.Itoa(code)+"<", ">Domain not found<", ">"+text+"<")
}

// dropServer closes every connection without answering, as OpenSRS does
// to a caller outside the IP allow-list (the wire fake always answers).
func dropServer(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
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
func assertRequest(t *testing.T, got providertest.Request, name string) {
	t.Helper()
	want := providertest.ReadFixture(t, name+"-request.xml")
	if got.Method != http.MethodPost {
		t.Errorf("method = %s, want POST", got.Method)
	}
	if got.Path != "/" || got.RawQuery != "" {
		t.Errorf("path = %q, query = %q; want / and none", got.Path, got.RawQuery)
	}
	if ct := got.Header.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type = %q, want text/xml", ct)
	}
	if user := got.Header.Get("X-Username"); user != testUser {
		t.Errorf("X-Username = %q, want %q", user, testUser)
	}
	if !bytes.Equal(got.Body, want) {
		t.Errorf("body =\n%s\nwant %s-request.xml\n%s", got.Body, name, want)
	}
	if cl := got.Header.Get("Content-Length"); cl != strconv.Itoa(len(got.Body)) {
		t.Errorf("Content-Length = %q, body has %d bytes", cl, len(got.Body))
	}
	sig := got.Header.Get("X-Signature")
	if wantSig := doubleMD5(got.Body, testKey); sig != wantSig {
		t.Errorf("X-Signature = %q, want %q", sig, wantSig)
	}
	if bytes.Contains(got.Body, []byte(testKey)) || strings.Contains(sig, testKey) {
		t.Error("the key was sent")
	}
}

// assertRequests checks every request, in order, against the named
// fixtures.
func assertRequests(t *testing.T, w *providertest.Wire, names ...string) {
	t.Helper()
	reqs := w.Requests()
	if len(reqs) != len(names) {
		t.Fatalf("%d requests, want %d (%v)", len(reqs), len(names), names)
	}
	for i, name := range names {
		assertRequest(t, reqs[i], name)
	}
}

// TestSign pins the signature to a value computed outside Go (md5sum over
// the document's example request and the test key).
func TestSign(t *testing.T) {
	body := providertest.ReadFixture(t, "modify_trade_lock_setting-request.xml")
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
	w := providertest.NewWire(t, fixture(t, "get_status_locked.xml"))
	c := newTestClient(t, w.URL+"/opensrs/", testKey)
	if _, err := c.LockState(context.Background(), docDomain); err != nil {
		t.Fatal(err)
	}
	if got := w.Last(t).Path; got != "/opensrs/" {
		t.Errorf("path = %q, want /opensrs/", got)
	}
}

// codeCase is a response code and what it must become when every request
// gets it (a 415 about a domain is settled by a listing, which is refused
// too: TestClient_415IsTheDomainsNotTheAccounts has the other answers).
type codeCase struct {
	code             int
	wantErr          error // nil: no sentinel
	wantPermanent    bool
	wantAfter        time.Duration
	wantUnrecognized bool
}

// codeCases are the response codes of classify's table, and codes it has
// no rule for.
var codeCases = []codeCase{
	{code: 300, wantAfter: time.Second},
	{code: 310, wantAfter: 2 * time.Second},
	{code: 350, wantAfter: time.Second},
	{code: 400},
	{code: 401, wantErr: providers.ErrAuth, wantPermanent: true},
	{code: 405},
	{code: 410, wantErr: providers.ErrAuth, wantPermanent: true},
	{code: 415, wantErr: providers.ErrAuth, wantPermanent: true},
	{code: 430, wantPermanent: true},
	{code: 435, wantErr: providers.ErrNotPermitted, wantPermanent: true},
	{code: 437, wantAfter: 5 * time.Second},
	{code: 440, wantPermanent: true},
	{code: 445, wantPermanent: true},
	{code: 447, wantPermanent: true},
	{code: 460, wantPermanent: true},
	{code: 465, wantPermanent: true},
	{code: 480, wantErr: providers.ErrNotFound, wantPermanent: true},
	{code: 485, wantPermanent: true},
	{code: 486, wantAfter: 5 * time.Second},
	{code: 487, wantPermanent: true},
	// Net::DRI maps these to EPP codes, but no source says what they mean.
	{code: 404, wantUnrecognized: true},
	{code: 552, wantUnrecognized: true},
	{code: 999, wantUnrecognized: true},
}

// checkCode asserts the error a response code must become.
func checkCode(t *testing.T, err error, cc codeCase) {
	t.Helper()
	if err == nil {
		t.Fatalf("code %d: no error", cc.code)
	}
	if cc.wantErr != nil && !errors.Is(err, cc.wantErr) {
		t.Errorf("code %d: err = %v, want errors.Is %v", cc.code, err, cc.wantErr)
	}
	for _, other := range []error{providers.ErrAuth, providers.ErrNotFound, providers.ErrRefused, providers.ErrNotPermitted} {
		if other != cc.wantErr && errors.Is(err, other) {
			t.Errorf("code %d: err = %v is also %v", cc.code, err, other)
		}
	}
	if got := providers.IsPermanent(err); got != cc.wantPermanent {
		t.Errorf("code %d: IsPermanent(%v) = %v, want %v", cc.code, err, got, cc.wantPermanent)
	}
	if got := providers.IsUnrecognized(err); got != cc.wantUnrecognized {
		t.Errorf("code %d: IsUnrecognized(%v) = %v, want %v", cc.code, err, got, cc.wantUnrecognized)
	}
	var ra *providers.RetryAfterError
	switch gotRA := errors.As(err, &ra); {
	case cc.wantAfter == 0 && gotRA:
		t.Errorf("code %d: err = %v, want no *RetryAfterError", cc.code, err)
	case cc.wantAfter > 0 && (!gotRA || ra.After != cc.wantAfter):
		t.Errorf("code %d: err = %v, want a *RetryAfterError of %v", cc.code, err, cc.wantAfter)
	}
	if !strings.Contains(err.Error(), fmt.Sprint(cc.code)) {
		t.Errorf("code %d: err = %q does not name the code", cc.code, err)
	}
}

func TestClient_LockState(t *testing.T) {
	tests := []struct {
		name    string
		answer  func(t *testing.T) providertest.Answer
		want    providers.State
		wantErr error
		wantMsg string
	}{
		{name: "locked", answer: fixtureFunc("get_status_locked.xml"), want: providers.State{Locked: true}},
		{name: "unlocked", answer: fixtureFunc("get_status_unlocked.xml"), want: providers.State{}},
		{name: "transfer away in progress", answer: fixtureFunc("get_status_transferaway.xml"), want: providers.State{Pending: true, PendingTransfer: true}},
		{name: "no lock_state", answer: fixtureFunc("modify_status_lock.xml"), wantMsg: `no usable lock_state: ""`},
		{name: "bad lock_state", answer: func(t *testing.T) providertest.Answer {
			return edited(t, "get_status_locked.xml", `"lock_state">1<`, `"lock_state">yes<`)
		}, wantMsg: `no usable lock_state: "yes"`},
		{name: "truncated", answer: func(t *testing.T) providertest.Answer {
			b := providertest.ReadFixture(t, "get_status_locked.xml")
			return providertest.Answer{Body: b[:len(b)/2]}
		}, wantErr: ops.ErrTruncated},
		{name: "html page", answer: bodyFunc("<html><body>Maintenance</body></html>"), wantErr: ops.ErrNotOPS},
		{name: "request echoed", answer: fixtureFunc("get_status-request.xml"), wantErr: errNotReply},
		{name: "no is_success", answer: func(t *testing.T) providertest.Answer {
			return edited(t, "get_status_locked.xml", `key="is_success"`, `key="success"`)
		}, wantErr: errNotReply},
		// A success about another object is not a reading of this domain.
		{name: "reply about another object", answer: func(t *testing.T) providertest.Answer {
			return edited(t, "get_status_locked.xml", `"object">DOMAIN<`, `"object">BALANCE<`)
		}, wantErr: errNotReply, wantMsg: `not DOMAIN`},
		{name: "object in lower case", answer: func(t *testing.T) providertest.Answer {
			return edited(t, "get_status_locked.xml", `"object">DOMAIN<`, `"object">domain<`)
		}, want: providers.State{Locked: true}},
		{name: "broken xml", answer: bodyFunc("<OPS_envelope><body><data_block><dt_assoc></data_block></body></OPS_envelope>"), wantErr: ops.ErrMalformed},
		{name: "not found", answer: fixtureFunc("error_480.xml"), wantErr: providers.ErrNotFound, wantMsg: "opensrs: get " + docDomain + ": response code 480: Domain not found"},
		{name: "empty body", answer: bodyFunc(""), wantErr: errNoAnswer, wantMsg: "allow-list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := setup(t, tt.answer(t))
			got, err := c.LockState(context.Background(), docDomain)
			assertRequests(t, w, "get_status")
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

func fixtureFunc(name string) func(t *testing.T) providertest.Answer {
	return func(t *testing.T) providertest.Answer { return fixture(t, name) }
}

func bodyFunc(s string) func(t *testing.T) providertest.Answer {
	return func(*testing.T) providertest.Answer { return body(s) }
}

// TestClient_responseCodes runs every code through each command, with
// every request answered alike.
func TestClient_responseCodes(t *testing.T) {
	for _, cc := range codeCases {
		t.Run(fmt.Sprint(cc.code), func(t *testing.T) {
			c, _ := setup(t, codeReply(t, cc.code, "Some failure"))
			ctx := context.Background()
			_, err := c.LockState(ctx, docDomain)
			checkCode(t, err, cc)
			checkCode(t, c.SetLock(ctx, docDomain, true), cc)
			checkCode(t, c.SetTradeLock(ctx, docDomain, true, netip.MustParseAddr("0.0.0.0")), cc)
			n := 0
			for _, err := range c.Domains(ctx) {
				checkCode(t, err, cc)
				n++
			}
			if n != 1 {
				t.Errorf("Domains yielded %d errors, want 1", n)
			}
		})
	}
	// The fixtures of the codes read as their codes do.
	for _, cc := range codeCases {
		name := fmt.Sprintf("error_%d.xml", cc.code)
		if len(providertest.Fixtures(t, name)) == 0 {
			continue
		}
		t.Run(name, func(t *testing.T) {
			c, _ := setup(t, fixture(t, name))
			_, err := c.LockState(context.Background(), docDomain)
			checkCode(t, err, cc)
		})
	}
	t.Run("no code", func(t *testing.T) {
		c, _ := setup(t, edited(t, "error_480.xml", `key="response_code"`, `key="code"`))
		_, err := c.LockState(context.Background(), docDomain)
		if err == nil || providers.IsPermanent(err) || !providers.IsUnrecognized(err) || !strings.Contains(err.Error(), "without a response code: Domain not found") {
			t.Errorf("err = %v, want an unrecognized answer quoting the text", err)
		}
	})
	// OpenSRS's test service answers 701 with is_success 1 (E-NOISE's
	// live tests): not a success, and a code without a rule.
	t.Run("is_success 1 with 701", func(t *testing.T) {
		c, w := setup(t, edited(t, "modify_status_lock.xml", `"response_code">200<`, `"response_code">701<`))
		err := c.SetLock(context.Background(), docDomain, true)
		if err == nil || !providers.IsUnrecognized(err) || !strings.Contains(err.Error(), "response code 701") {
			t.Errorf("SetLock = %v, want an unrecognized answer naming 701", err)
		}
		// It could mean "already": the lock is read back, which (answered
		// alike) does not show it locked, so the error stands.
		if n := len(w.Requests()); n != 2 {
			t.Errorf("%d requests, want the modify and a read back", n)
		}
	})
	for _, code := range []string{"200", "250"} {
		t.Run("is_success 1 with "+code, func(t *testing.T) {
			c, _ := setup(t, edited(t, "modify_status_lock.xml", `"response_code">200<`, `"response_code">`+code+`<`))
			if err := c.SetLock(context.Background(), docDomain, true); err != nil {
				t.Errorf("SetLock = %v, want nil", err)
			}
		})
	}
	t.Run("text over several lines", func(t *testing.T) {
		c, _ := setup(t, codeReply(t, 465, "Request failed\n      validation:\n\t  try again."))
		_, err := c.LockState(context.Background(), docDomain)
		if err == nil || !strings.HasSuffix(err.Error(), "response code 465: Request failed validation: try again.") {
			t.Errorf("err = %q, want the text on one line", err)
		}
	})
}

// TestClient_415IsTheDomainsNotTheAccounts: OpenSRS answers 415 for a
// domain the reseller does not hold, so a 415 about one domain says
// nothing about the account unless the account's own listing is refused
// too. The listing asked to tell them apart is one page of one name.
func TestClient_415IsTheDomainsNotTheAccounts(t *testing.T) {
	refused := func(t *testing.T) providertest.Answer { return fixture(t, "error_415.xml") }
	tests := []struct {
		name    string
		listing func(t *testing.T) providertest.Answer
		want    []error // errors.Is must hold for each, and for no other of the vocabulary
	}{
		{name: "the listing answers: the domain is not the account's", listing: fixtureFunc("get_domains_by_expiredate_empty.xml"),
			want: []error{providers.ErrNotFound}},
		{name: "the listing is refused too: the credentials are", listing: refused, want: []error{providers.ErrAuth}},
		{name: "the listing is refused with 401", listing: func(t *testing.T) providertest.Answer { return codeReply(t, 401, "Authentication Error") },
			want: []error{providers.ErrAuth}},
		{name: "the listing is refused with HTTP 401", listing: func(*testing.T) providertest.Answer {
			return providertest.Answer{Status: http.StatusUnauthorized, Body: []byte("401 Authentication Error")}
		}, want: []error{providers.ErrAuth}},
		// Which of the two it is cannot be told: refused for the domain,
		// and the circuit breaker counts the refused domains.
		{name: "the listing fails", listing: fixtureFunc("error_400.xml"), want: []error{providers.ErrNotFound, providers.ErrRefused}},
		{name: "the listing is rate limited", listing: fixtureFunc("error_300.xml"), want: []error{providers.ErrNotFound, providers.ErrRefused}},
		{name: "the listing is a 503", listing: func(*testing.T) providertest.Answer {
			return providertest.Answer{Status: http.StatusServiceUnavailable, Body: []byte("down")}
		}, want: []error{providers.ErrNotFound, providers.ErrRefused}},
	}
	calls := []struct {
		name    string
		request string
		do      func(c *Client) error
	}{
		{"LockState", "get_status", func(c *Client) error { _, err := c.LockState(context.Background(), docDomain); return err }},
		{"SetLock", "modify_status_lock", func(c *Client) error { return c.SetLock(context.Background(), docDomain, true) }},
		{"SetTradeLock", "modify_trade_lock_setting", func(c *Client) error {
			return c.SetTradeLock(context.Background(), docDomain, true, netip.MustParseAddr("0.0.0.0"))
		}},
	}
	for _, tt := range tests {
		for _, call := range calls {
			t.Run(tt.name+"/"+call.name, func(t *testing.T) {
				c, w := setup(t, refused(t), tt.listing(t))
				err := call.do(c)
				for _, sentinel := range []error{providers.ErrAuth, providers.ErrNotFound, providers.ErrRefused, providers.ErrNotPermitted} {
					if got, want := errors.Is(err, sentinel), slices.Contains(tt.want, sentinel); got != want {
						t.Errorf("err = %v; errors.Is %v = %v, want %v", err, sentinel, got, want)
					}
				}
				if !providers.IsPermanent(err) || !strings.Contains(err.Error(), "response code 415") {
					t.Errorf("err = %v, want a permanent error naming 415", err)
				}
				assertRequests(t, w, call.request, "get_domains_by_expiredate_probe")
			})
		}
	}
	t.Run("the listing's own 415 is the account's", func(t *testing.T) {
		c, w := setup(t, refused(t))
		_, errs := collect(c.Domains(context.Background()))
		if len(errs) != 1 || !errors.Is(errs[0], providers.ErrAuth) || errors.Is(errs[0], providers.ErrNotFound) {
			t.Errorf("Domains = %v, want one ErrAuth", errs)
		}
		assertRequests(t, w, "get_domains_by_expiredate_page1")
	})
	t.Run("410 is the account's without asking", func(t *testing.T) {
		c, w := setup(t, fixture(t, "error_410.xml"))
		_, err := c.LockState(context.Background(), docDomain)
		providertest.AssertErr(t, err, providers.ErrAuth, true)
		assertRequests(t, w, "get_status")
	})
	t.Run("cancelled while asking", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := providertest.NewWire(t)
		w.Route(func(r providertest.Request) providertest.Answer {
			if bytes.Contains(r.Body, []byte(listAction)) {
				cancel()
				time.Sleep(50 * time.Millisecond)
				return fixture(t, "get_domains_by_expiredate_empty.xml")
			}
			return fixture(t, "error_415.xml")
		})
		c := newTestClient(t, w.URL, testKey)
		_, err := c.LockState(ctx, docDomain)
		if !errors.Is(err, context.Canceled) || errors.Is(err, providers.ErrNotFound) || errors.Is(err, providers.ErrAuth) {
			t.Errorf("err = %v, want the cancellation and no verdict", err)
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
		// The read back is no source of "not found": the modify's own
		// error stands.
		{name: "refused, read back not found", locked: true, answers: []string{"modify_status_alreadylocked.xml", "error_480.xml"},
			wantErr: errors.New("response code 465"), wantPermanent: true, wantRequests: []string{"modify_status_lock", "get_status"}},
		// Errors whose meaning is known are not read back.
		{name: "not found", locked: true, answers: []string{"error_480.xml"}, wantErr: providers.ErrNotFound, wantPermanent: true, wantRequests: []string{"modify_status_lock"}},
		{name: "bad auth", locked: false, answers: []string{"error_410.xml"}, wantErr: providers.ErrAuth, wantPermanent: true, wantRequests: []string{"modify_status_unlock"}},
		{name: "not the account's", locked: false, answers: []string{"error_415.xml", "get_domains_by_expiredate_empty.xml"},
			wantErr: providers.ErrNotFound, wantPermanent: true, wantRequests: []string{"modify_status_unlock", "get_domains_by_expiredate_probe"}},
		{name: "refused, and so is the account", locked: false, answers: []string{"error_415.xml", "error_415.xml"},
			wantErr: providers.ErrAuth, wantPermanent: true, wantRequests: []string{"modify_status_unlock", "get_domains_by_expiredate_probe"}},
		{name: "busy", locked: true, answers: []string{"error_486.xml"}, wantErr: errors.New("response code 486"), wantRequests: []string{"modify_status_lock"}},
		{name: "missing field", locked: true, answers: []string{"error_460.xml"}, wantErr: errors.New("response code 460"), wantPermanent: true, wantRequests: []string{"modify_status_lock"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var answers []providertest.Answer
			for _, a := range tt.answers {
				answers = append(answers, fixture(t, a))
			}
			c, w := setup(t, answers...)
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
				if errors.Is(err, providers.ErrNotFound) {
					t.Errorf("err = %v is ErrNotFound", err)
				}
			}
			assertRequests(t, w, tt.wantRequests...)
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
			c, w := setup(t, fixture(t, tt.answer))
			if err := c.SetTradeLock(context.Background(), docDomain, tt.enabled, tt.ip); err != nil {
				t.Fatalf("SetTradeLock = %v", err)
			}
			assertRequests(t, w, tt.request)
		})
	}
	t.Run("IPv6 with a zone", func(t *testing.T) {
		c, w := setup(t, fixture(t, "modify_trade_lock_setting.xml"))
		if err := c.SetTradeLock(context.Background(), docDomain, true, netip.MustParseAddr("2001:db8::1%eth0")); err != nil {
			t.Fatal(err)
		}
		v, err := ops.Decode(w.Last(t).Body)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Assoc().Get("attributes").Assoc().Text("ip_address"); got != "2001:db8::1" {
			t.Errorf("ip_address = %q, want 2001:db8::1", got)
		}
	})
	t.Run("no address", func(t *testing.T) {
		c, w := setup(t, fixture(t, "modify_trade_lock_setting.xml"))
		err := c.SetTradeLock(context.Background(), docDomain, false, netip.Addr{})
		if err == nil || !providers.IsPermanent(err) || len(w.Requests()) != 0 {
			t.Errorf("err = %v after %d requests, want a permanent error and none", err, len(w.Requests()))
		}
	})
}

func TestClient_invalidDomain(t *testing.T) {
	for _, domain := range []string{"", "com", "Example.com", "example.com.", ".example.com", "exa mple.com", "a..com",
		"-a.com", "a-.com", "münchen.de", "a_b.com", "ex<ample>.com", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "com"} {
		t.Run(domain, func(t *testing.T) {
			c, w := setup(t, fixture(t, "get_status_locked.xml"))
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
			if n := len(w.Requests()); n != 0 {
				t.Errorf("%d requests sent for an invalid name, want 0", n)
			}
		})
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
	c, w := setup(t, fixture(t, "get_domains_by_expiredate_page1.xml"), fixture(t, "get_domains_by_expiredate_page2.xml"))
	names, errs := collect(c.Domains(context.Background()))
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []string{"alpha.com", "beta.net", "xn--mller-kva.de", "gamma.org", "delta.co.uk"}
	if !slices.Equal(names, want) {
		t.Errorf("Domains = %v, want %v", names, want)
	}
	assertRequests(t, w, "get_domains_by_expiredate_page1", "get_domains_by_expiredate_page2")
}

func TestClient_Domains_empty(t *testing.T) {
	for name, page := range map[string]providertest.Answer{
		"as the fixture": fixture(t, "get_domains_by_expiredate_empty.xml"),
		// No exp_domains and no counts at all, and a remainder that says
		// nothing.
		"no list, no counts": edited(t, "get_domains_by_expiredate_empty.xml",
			`<item key="exp_domains">`, `<item key="other">`, `"remainder">0<`, `"remainder"><`,
			`<item key="page">1</item>`, ``, `<item key="total">0</item>`, ``),
		// An empty page ends the listing even if remainder says otherwise,
		// when the total agrees.
		"remainder without domains, total 0": edited(t, "get_domains_by_expiredate_empty.xml", `"remainder">0<`, `"remainder">1<`),
	} {
		t.Run(name, func(t *testing.T) {
			c, w := setup(t, page)
			names, errs := collect(c.Domains(context.Background()))
			if len(names) != 0 || len(errs) != 0 || len(w.Requests()) != 1 {
				t.Errorf("Domains = %v, %v after %d requests; want nothing after 1", names, errs, len(w.Requests()))
			}
		})
	}
}

// Case 5: a listing whose counts disagree with the domains it holds is an
// error, not a shorter or longer account. The page whose counts disagree
// is not yielded.
func TestClient_Domains_countsDisagree(t *testing.T) {
	page1 := func(t *testing.T) providertest.Answer { return fixture(t, "get_domains_by_expiredate_page1.xml") }
	tests := []struct {
		name      string
		answers   func(t *testing.T) []providertest.Answer
		wantNames int
		wantMsg   string
	}{
		{name: "claims more than it holds", answers: func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{edited(t, "recorded/get_domains_by_expiredate_doc_netdri.xml", `"total">2<`, `"total">3<`)}
		}, wantMsg: "page 1: the answer counts 3 domains in all, its pages hold 2, and no more follow"},
		{name: "the last page falls short", answers: func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{page1(t), edited(t, "get_domains_by_expiredate_page2.xml", `"total">5<`, `"total">6<`)}
		}, wantNames: 3, wantMsg: "page 2: the answer counts 6 domains in all, its pages hold 5, and no more follow"},
		{name: "holds more than it claims", answers: func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{edited(t, "get_domains_by_expiredate_page1.xml", `"total">5<`, `"total">2<`)}
		}, wantMsg: "page 1: the answer counts 2 domains in all, and its pages so far hold 3"},
		{name: "another page than asked", answers: func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{page1(t), page1(t)}
		}, wantNames: 3, wantMsg: "asked for page 2, the answer is page 1"},
		{name: "more to follow, none held", answers: func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{page1(t), edited(t, "get_domains_by_expiredate_empty.xml", `"page">1<`, `"page">2<`, `"remainder">0<`, `"remainder">1<`, `"total">0<`, `"total">5<`)}
		}, wantNames: 3, wantMsg: "page 2: the answer says more domains follow, and holds none"},
		{name: "more to follow, none held, no total", answers: func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{edited(t, "get_domains_by_expiredate_empty.xml", `"remainder">0<`, `"remainder">1<`, `<item key="total">0</item>`, ``)}
		}, wantMsg: "page 1: the answer says more domains follow, and holds none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, tt.answers(t)...)
			names, errs := collect(c.Domains(context.Background()))
			if len(names) != tt.wantNames || len(errs) != 1 {
				t.Fatalf("Domains = %v, %v; want %d names and one error", names, errs, tt.wantNames)
			}
			if err := errs[0]; !strings.Contains(err.Error(), tt.wantMsg) || !providers.IsUnrecognized(err) || providers.IsPermanent(err) {
				t.Errorf("err = %v, want an unrecognized answer saying %q", err, tt.wantMsg)
			}
		})
	}
	t.Run("a count that is not a number", func(t *testing.T) {
		c, _ := setup(t, edited(t, "get_domains_by_expiredate_page1.xml", `"total">5<`, `"total">many<`))
		names, errs := collect(c.Domains(context.Background()))
		if len(names) != 0 || len(errs) != 1 || !strings.Contains(errs[0].Error(), `total is not a count: "many"`) || providers.IsPermanent(errs[0]) {
			t.Errorf("Domains = %v, %v; want one transient error", names, errs)
		}
	})
}

// A server that ignores page, and says neither its page nor its total,
// would be listed forever.
func TestClient_Domains_noProgress(t *testing.T) {
	c, w := setup(t, edited(t, "get_domains_by_expiredate_page1.xml", `<item key="page">1</item>`, ``, `<item key="total">5</item>`, ``))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 3 || len(errs) != 1 || len(w.Requests()) != 2 || !strings.Contains(errs[0].Error(), "page 2 repeats page 1") {
		t.Errorf("Domains = %d names, %v after %d requests; want 3 names, one error, 2 requests", len(names), errs, len(w.Requests()))
	}
}

func TestClient_Domains_error(t *testing.T) {
	c, w := setup(t, fixture(t, "get_domains_by_expiredate_page1.xml"), fixture(t, "error_415.xml"))
	names, errs := collect(c.Domains(context.Background()))
	if len(names) != 3 {
		t.Errorf("got %d names before the error, want 3", len(names))
	}
	if len(errs) != 1 || !errors.Is(errs[0], providers.ErrAuth) {
		t.Errorf("errors = %v, want one ErrAuth", errs)
	}
	if n := len(w.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestClient_Domains_badEntries(t *testing.T) {
	for name, edit := range map[string][]string{
		"entry without a name":    {`<item key="name">alpha.com</item>`, ``},
		"name that is not a name": {`>alpha.com<`, `>alpha com<`},
		"exp_domains not a list": {"<item key=\"exp_domains\">\n       <dt_array>", "<item key=\"exp_domains\">\n       <dt_assoc>",
			"</dt_array>\n      </item>\n      <item key=\"page\">", "</dt_assoc>\n      </item>\n      <item key=\"page\">"},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := setup(t, edited(t, "get_domains_by_expiredate_page1.xml", edit...))
			names, errs := collect(c.Domains(context.Background()))
			if len(names) != 0 || len(errs) != 1 || providers.IsPermanent(errs[0]) {
				t.Errorf("Domains = %v, %v; want one transient error and no names", names, errs)
			}
		})
	}
}

func TestClient_Domains_stopEarly(t *testing.T) {
	c, w := setup(t, fixture(t, "get_domains_by_expiredate_page1.xml"), fixture(t, "get_domains_by_expiredate_page2.xml"))
	for range c.Domains(context.Background()) {
		break
	}
	if n := len(w.Requests()); n != 1 {
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
		{name: "403", status: 403},
		{name: "302", status: 302},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{"Content-Type": {"text/html"}}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
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
		})
	}
	// OpenSRS's troubleshooting guide: "401 Authentication Error" is a
	// wrong key or username, or a caller off the allow-list.
	t.Run("401", func(t *testing.T) {
		c, w := setup(t, providertest.Answer{Status: http.StatusUnauthorized, Body: []byte("401 Authentication Error")})
		_, err := c.LockState(context.Background(), docDomain)
		var se *providers.StatusError
		if !errors.As(err, &se) || se.Code != 401 {
			t.Errorf("err = %v, want a *StatusError 401", err)
		}
		providertest.AssertErr(t, err, providers.ErrAuth, true)
		assertRequests(t, w, "get_status")
	})
}

// A dropped connection is what a caller outside the allow-list sees: a
// transient error that says so.
func TestClient_droppedConnection(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL, testKey)
	_, err := c.LockState(context.Background(), docDomain)
	if !errors.Is(err, errNoAnswer) || providers.IsPermanent(err) || !strings.Contains(err.Error(), "allow-list") {
		t.Errorf("err = %v, want a transient error mentioning the allow-list", err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d requests, want 1 (no retry of a POST)", n)
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
// a server that echoes the key back, HTML- or XML-escaped, and checks that
// no error, nor anything in its chain, reveals it in any spelling.
func TestClient_errorsNeverContainKey(t *testing.T) {
	for _, key := range []string{`K3y/with+odd&chars<"'>=!\`, "Kx9SecretKeyName0123"} {
		for _, esc := range []struct {
			name   string
			escape func(string) string
		}{{"HTML-escaped", html.EscapeString}, {"XML named entities", xmlNamed}} {
			t.Run(key+"/"+esc.name, func(t *testing.T) { testErrorsNeverContainKey(t, key, esc.escape) })
		}
	}
}

// xmlNamed escapes as XML writers that use named entities do.
func xmlNamed(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

func testErrorsNeverContainKey(t *testing.T, key string, escape func(string) string) {
	quoted := strconv.Quote(key)
	forms := []string{key, url.QueryEscape(key), url.PathEscape(key), html.EscapeString(key), xmlNamed(key), quoted[1 : len(quoted)-1]}
	echo := func(format string) func(t *testing.T) providertest.Answer {
		return func(*testing.T) providertest.Answer {
			return body(strings.ReplaceAll(format, "KEY", escape(key)))
		}
	}
	status := string(providertest.ReadFixture(t, "get_status_locked.xml"))
	errReply := string(providertest.ReadFixture(t, "error_400.xml"))
	list := string(providertest.ReadFixture(t, "get_domains_by_expiredate_page1.xml"))
	tests := []struct {
		name     string
		answer   func(t *testing.T) providertest.Answer
		endpoint func(t *testing.T) string // instead of answer
	}{
		{name: "transport error", endpoint: func(*testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			srv.Close()
			return srv.URL
		}},
		{name: "dropped connection", endpoint: dropServer},
		{name: "empty answer", answer: bodyFunc("")},
		{name: "HTTP 500 echoing the key", answer: func(*testing.T) providertest.Answer {
			return providertest.Answer{Status: 500, Body: []byte("key=" + key + " " + url.QueryEscape(key) + " " + escape(key))}
		}},
		{name: "HTTP 401 echoing the key", answer: func(*testing.T) providertest.Answer {
			return providertest.Answer{Status: 401, Body: []byte("bad signature for key " + escape(key))}
		}},
		{name: "HTTP 503 Retry-After, key across the snippet cut", answer: func(*testing.T) providertest.Answer {
			return providertest.Answer{Status: 503, Header: http.Header{"Retry-After": {"3"}}, Body: []byte(strings.Repeat("x", 190) + key)}
		}},
		{name: "bad XML echoing the key", answer: echo("<OPS_envelope><KEY>x</OPS_envelope>")},
		{name: "element named after the key", answer: echo("<OPS_envelope><body><data_block><dt_assoc><item key=\"a\"><KEY/></item></dt_assoc></data_block></body></OPS_envelope>")},
		{name: "root named after the key", answer: echo("<KEY/>")},
		{name: "array key echoing the key", answer: echo("<OPS_envelope><body><data_block><dt_array><item key=\"KEY\">x</item></dt_array></data_block></body></OPS_envelope>")},
		{name: "duplicate key echoing the key", answer: echo("<OPS_envelope><body><data_block><dt_assoc><item key=\"KEY\">x</item><item key=\"KEY\">y</item></dt_assoc></data_block></body></OPS_envelope>")},
		{name: "not OPS echoing the key", answer: echo("<html>KEY</html>")},
		{name: "truncated echoing the key", answer: echo("<OPS_envelope><body><data_block><dt_assoc><item key=\"KEY\">KEY")},
		{name: "not a reply echoing the key", answer: echo(strings.Replace(status, "REPLY", "KEY", 1))},
		{name: "object echoing the key", answer: echo(strings.Replace(status, `"object">DOMAIN<`, `"object">KEY<`, 1))},
		{name: "is_success echoing the key", answer: echo(strings.Replace(status, `"is_success">1<`, `"is_success">KEY<`, 1))},
		{name: "response_code echoing the key", answer: echo(strings.Replace(errReply, `"response_code">400<`, `"response_code">KEY<`, 1))},
		{name: "auth error echoing the key", answer: echo(strings.Replace(string(providertest.ReadFixture(t, "error_415.xml")), "Authentication Error.", "bad key KEY", 1))},
		{name: "generic error echoing the key", answer: echo(strings.Replace(errReply, "Internal server error", strings.Repeat("x", 495)+"KEY", 1))},
		{name: "error text over lines echoing the key", answer: echo(strings.Replace(errReply, "Internal server error", "key\n      KEY\n   refused", 1))},
		{name: "rate limit echoing the key", answer: echo(strings.Replace(string(providertest.ReadFixture(t, "error_300.xml")), "Exceeded", "KEY", 1))},
		{name: "lock_state echoing the key", answer: echo(strings.Replace(status, `"lock_state">1<`, `"lock_state">`+strings.Repeat("y", 180)+`KEY<`, 1))},
		{name: "listing name echoing the key", answer: echo(strings.Replace(list, ">alpha.com<", ">"+strings.Repeat("y", 150)+"KEY<", 1))},
		{name: "listing count echoing the key", answer: echo(strings.Replace(list, `"total">5<`, `"total">KEY<`, 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var endpoint string
			if tt.endpoint != nil {
				endpoint = tt.endpoint(t)
			} else {
				endpoint = providertest.NewWire(t, tt.answer(t)).URL
			}
			c := newTestClient(t, endpoint, secret.String(key))
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
