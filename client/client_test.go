package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/secret"
)

// testToken is the token the tests' clients send.
const testToken = "client-test-token-0123456789abcdef"

// sent is what a request carried to the server.
type sent struct {
	Method, Path, EscapedPath, RawQuery, Body string
	Header                                    http.Header
}

// recordingAPI is an httptest server that records each request and
// answers with status and body.
type recordingAPI struct {
	*httptest.Server
	mu     sync.Mutex
	got    []sent
	status int
	answer string
}

func newRecordingAPI(t *testing.T) *recordingAPI {
	t.Helper()
	a := &recordingAPI{status: http.StatusOK, answer: "{}"}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		a.mu.Lock()
		a.got = append(a.got, sent{Method: r.Method, Path: r.URL.Path, EscapedPath: r.URL.EscapedPath(),
			RawQuery: r.URL.RawQuery, Body: string(body), Header: r.Header.Clone()})
		status, answer := a.status, a.answer
		a.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	t.Cleanup(a.Close)
	return a
}

// last is the last request the server saw.
func (a *recordingAPI) last(t *testing.T) sent {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.got) == 0 {
		t.Fatal("no request reached the server")
	}
	return a.got[len(a.got)-1]
}

func (a *recordingAPI) answerWith(status int, body string) {
	a.mu.Lock()
	a.status, a.answer = status, body
	a.mu.Unlock()
}

func ptr[T any](v T) *T { return &v }

// Each method sends exactly its method, path, query and body, with the
// bearer token, and a Content-Type only when it sends a body; and decodes
// the answer into its type.
func TestClient_requests(t *testing.T) {
	a := newRecordingAPI(t)
	c := &client.Client{BaseURL: a.URL, Token: secret.String(testToken)}
	ctx := context.Background()

	for _, tc := range []struct {
		name                   string
		call                   func() (any, error)
		answer                 string
		method, path, rawQuery string
		body                   string // "" is no body
		check                  func(any) bool
	}{
		{
			name: "Lock", call: func() (any, error) {
				return c.Lock(ctx, "example.com", client.LockRequest{Provider: "enom-main", Reason: "paid", RequestedBy: "billing"})
			},
			answer: `{"domain":"example.com","generation":3,"task_id":"lock:example.com@3","desired":{"locked":true,"trade_lock":null,"relock_at":null}}`,
			method: "POST", path: "/v1/domains/example.com/lock",
			body: `{"provider":"enom-main","reason":"paid","requested_by":"billing"}`,
			check: func(v any) bool {
				a := v.(client.Accepted)
				return a.Generation == 3 && a.TaskID == "lock:example.com@3" && a.Desired.Locked
			},
		},
		{
			name:   "Lock with an empty request",
			call:   func() (any, error) { return c.Lock(ctx, "example.com", client.LockRequest{}) },
			method: "POST", path: "/v1/domains/example.com/lock", body: `{}`,
		},
		{
			name: "Unlock", call: func() (any, error) {
				return c.Unlock(ctx, "example.com", client.UnlockRequest{RelockAfter: "72h", ForTransfer: true, Reason: "transfer"})
			},
			answer: `{"domain":"example.com","generation":4,"task_id":"unlock:example.com@4","desired":{"locked":false,"trade_lock":null,"relock_at":"2026-05-04T12:00:00Z","for_transfer":true}}`,
			method: "DELETE", path: "/v1/domains/example.com/lock",
			body: `{"relock_after":"72h","for_transfer":true,"reason":"transfer"}`,
			check: func(v any) bool {
				a := v.(client.Accepted)
				return !a.Desired.Locked && a.Desired.RelockAt != nil && a.Desired.ForTransfer
			},
		},
		{
			name: "TradeLock", call: func() (any, error) {
				return c.TradeLock(ctx, "example.com", client.TradeLockRequest{Enable: ptr(false), ConsentIP: "203.0.113.7"})
			},
			method: "PUT", path: "/v1/domains/example.com/trade-lock",
			body: `{"enable":false,"consent_ip":"203.0.113.7"}`,
		},
		{
			name:   "Domain",
			call:   func() (any, error) { return c.Domain(ctx, "example.com") },
			answer: `{"domain":"example.com","provider":"enom-main","generation":2,"desired":{"locked":true},"observed":{"locked":true},"in_sync":true}`,
			method: "GET", path: "/v1/domains/example.com",
			check: func(v any) bool {
				d := v.(client.Domain)
				return d.InSync && *d.Observed.Locked && d.Provider == "enom-main"
			},
		},
		{
			name:   "Domain, an IDN as U-label",
			call:   func() (any, error) { return c.Domain(ctx, "bücher.de") },
			method: "GET", path: "/v1/domains/bücher.de",
		},
		{
			name:   "Domain, a name with a slash, ?, #, % and a space stays one segment",
			call:   func() (any, error) { return c.Domain(ctx, "a/b?c#d e%f.com") },
			method: "GET", path: "/v1/domains/a/b?c#d e%f.com",
		},
		{
			name:   "Domains, first page",
			call:   func() (any, error) { return c.Domains(ctx, client.ListQuery{}) },
			answer: `{"domains":[{"domain":"a.com"},{"domain":"b.com"}],"next_cursor":"c1"}`,
			method: "GET", path: "/v1/domains",
			check: func(v any) bool { l := v.(client.DomainList); return len(l.Domains) == 2 && *l.NextCursor == "c1" },
		},
		{
			name: "Domains, filtered",
			call: func() (any, error) {
				return c.Domains(ctx, client.ListQuery{Provider: "enom main", Drift: true, Cursor: "c/1&x", Limit: 50})
			},
			method: "GET", path: "/v1/domains", rawQuery: "cursor=c%2F1%26x&drift=true&limit=50&provider=enom+main",
		},
		{
			name: "StartSweep",
			call: func() (any, error) {
				return c.StartSweep(ctx, client.SweepRequest{Provider: "enom-main", DryRun: true})
			},
			answer: `{"sweep_id":"s-1"}`,
			method: "POST", path: "/v1/sweeps", body: `{"provider":"enom-main","dry_run":true}`,
			check: func(v any) bool { return v.(client.SweepStarted).SweepID == "s-1" },
		},
		{
			name:   "Sweep",
			call:   func() (any, error) { return c.Sweep(ctx, "s 1/2") },
			answer: `{"sweep_id":"s 1/2","state":"done","per_provider":{"enom-main":{"checked":5,"drifted":1,"errors":0,"unlocks":0,"unfixable":0,"calls":2}}}`,
			method: "GET", path: "/v1/sweeps/s 1/2",
			check: func(v any) bool {
				s := v.(client.Sweep)
				return s.State == "done" && s.PerProvider["enom-main"].Calls == 2
			},
		},
		{
			name:   "ApplySweep sends no body",
			call:   func() (any, error) { return c.ApplySweep(ctx, "s-1") },
			method: "POST", path: "/v1/sweeps/s-1/apply",
		},
		{
			name:   "History",
			call:   func() (any, error) { return c.History(ctx, "example.com", "1700000000000-0", 10) },
			answer: `{"domain":"example.com","events":[{"id":"1-0","time":"2026-05-01T12:00:00Z","kind":"intent","generation":1,"intent":"lock"}],"next_cursor":null}`,
			method: "GET", path: "/v1/domains/example.com/history", rawQuery: "cursor=1700000000000-0&limit=10",
			check: func(v any) bool {
				h := v.(client.History)
				return len(h.Events) == 1 && h.Events[0].Intent == "lock" && h.NextCursor == nil
			},
		},
		{
			name:   "History, newest page",
			call:   func() (any, error) { return c.History(ctx, "example.com", "", 0) },
			method: "GET", path: "/v1/domains/example.com/history",
		},
		{
			name:   "Sweeps",
			call:   func() (any, error) { return c.Sweeps(ctx, "paused", "cur") },
			answer: `{"sweeps":[{"sweep_id":"s-1","state":"paused","paused":{"enom-main":"held"}}],"next_cursor":null}`,
			method: "GET", path: "/v1/sweeps", rawQuery: "cursor=cur&state=paused",
			check: func(v any) bool {
				l := v.(client.SweepList)
				return len(l.Sweeps) == 1 && l.Sweeps[0].Paused["enom-main"] == "held"
			},
		},
		{
			name:   "SweepReport",
			call:   func() (any, error) { return c.SweepReport(ctx, "s-1") },
			answer: `{"sweep":{"sweep_id":"s-1"},"domains":[{"domain":"a.com","provider":"enom-main","before":"unlocked","after":"locked","outcome":"queued"}]}`,
			method: "GET", path: "/v1/sweeps/s-1/report",
			check: func(v any) bool {
				r := v.(client.SweepReport)
				return r.Sweep.SweepID == "s-1" && len(r.Domains) == 1 && r.Domains[0].Outcome == client.OutcomeQueued
			},
		},
		{
			name:   "Compliance",
			call:   func() (any, error) { return c.Compliance(ctx) },
			answer: `{"generated_at":"2026-05-01T12:00:00Z","providers":[{"provider":"enom-main","domains":4,"share_in_desired_state":0.75}]}`,
			method: "GET", path: "/v1/compliance",
			check: func(v any) bool { p := v.(client.Compliance).Providers; return len(p) == 1 && p[0].Share == 0.75 },
		},
		{
			name:   "Forget",
			call:   func() (any, error) { return c.Forget(ctx, "example.com", client.ForgetRequest{Reason: "expired"}) },
			answer: `{"domain":"example.com","provider":"enom-main"}`,
			method: "DELETE", path: "/v1/domains/example.com", body: `{"reason":"expired"}`,
			check: func(v any) bool { return v.(client.Forgotten).Provider == "enom-main" },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			answer := tc.answer
			if answer == "" {
				answer = "{}"
			}
			a.answerWith(http.StatusOK, answer)
			out, err := tc.call()
			if err != nil {
				t.Fatal(err)
			}
			got := a.last(t)
			if got.Method != tc.method || got.Path != tc.path || got.RawQuery != tc.rawQuery {
				t.Errorf("sent %s %s ?%s, want %s %s ?%s", got.Method, got.Path, got.RawQuery, tc.method, tc.path, tc.rawQuery)
			}
			if got.Body != tc.body {
				t.Errorf("sent body %q, want %q", got.Body, tc.body)
			}
			if h := got.Header.Get("Authorization"); h != "Bearer "+testToken {
				t.Errorf("Authorization: %q", h)
			}
			if ct := got.Header.Get("Content-Type"); (tc.body != "") != (ct != "") || (ct != "" && ct != "application/json") {
				t.Errorf("Content-Type %q with body %q", ct, got.Body)
			}
			if k := got.Header.Get("Idempotency-Key"); k != "" {
				t.Errorf("Idempotency-Key %q sent unasked", k)
			}
			if tc.check != nil && !tc.check(out) {
				t.Errorf("decoded %+v from %s", out, answer)
			}
		})
	}
}

// A domain's name is escaped as one path segment: an IDN's bytes
// percent-encoded, and "/", "?", "#", "%" and spaces never change the
// path's shape.
func TestClient_escapesPathSegments(t *testing.T) {
	a := newRecordingAPI(t)
	c := &client.Client{BaseURL: a.URL, Token: secret.String(testToken)}
	for name, want := range map[string]string{
		"bücher.de":        "/v1/domains/b%C3%BCcher.de",
		"xn--bcher-kva.de": "/v1/domains/xn--bcher-kva.de",
		"Example.COM.":     "/v1/domains/Example.COM.",
		"a/b?c#d e%f.com":  "/v1/domains/a%2Fb%3Fc%23d%20e%25f.com",
		"..":               "/v1/domains/..",
	} {
		if _, err := c.Domain(context.Background(), name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := a.last(t).EscapedPath; got != want {
			t.Errorf("%q sent as %s, want %s", name, got, want)
		}
	}
	if _, err := c.History(context.Background(), "bücher.de", "", 0); err != nil {
		t.Fatal(err)
	}
	if got := a.last(t).EscapedPath; got != "/v1/domains/b%C3%BCcher.de/history" {
		t.Errorf("history of an IDN sent as %s", got)
	}
}

// BaseURL is the API's root with or without trailing slashes, and may
// carry a path prefix (an API behind a reverse proxy).
func TestClient_baseURL(t *testing.T) {
	a := newRecordingAPI(t)
	for base, want := range map[string]string{
		a.URL:                   "/v1/compliance",
		a.URL + "/":             "/v1/compliance",
		a.URL + "//":            "/v1/compliance",
		a.URL + "/reglock/":     "/reglock/v1/compliance",
		a.URL + "/reglock":      "/reglock/v1/compliance",
		a.URL + "/reglock/api/": "/reglock/api/v1/compliance",
	} {
		c := &client.Client{BaseURL: base, Token: secret.String(testToken)}
		if _, err := c.Compliance(context.Background()); err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if got := a.last(t).Path; got != want {
			t.Errorf("BaseURL %q: sent %s, want %s", base, got, want)
		}
	}
}

// An error answer in the API's envelope is an *Error with its status, code
// and message.
func TestClient_envelopeError(t *testing.T) {
	a := newRecordingAPI(t)
	c := &client.Client{BaseURL: a.URL, Token: secret.String(testToken)}
	a.answerWith(422, `{"error":{"code":"provider_required","message":"the domain is not in the inventory and no provider's tlds cover it: give \"provider\""}}`+"\n")
	_, err := c.Lock(context.Background(), "example.org", client.LockRequest{})
	var ae *client.Error
	if !errors.As(err, &ae) {
		t.Fatalf("error %T %v, want *client.Error", err, err)
	}
	if ae.Status != 422 || ae.Code != "provider_required" || !strings.HasPrefix(ae.Message, "the domain is not in the inventory") {
		t.Errorf("%+v", ae)
	}
	if want := `provider_required (HTTP 422): the domain is not in the inventory and no provider's tlds cover it: give "provider"`; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
	// 3xx counts as an error too: the API never redirects /v1.
	a.answerWith(404, `{"error":{"code":"not_found","message":"example.org is not in the inventory"}}`)
	_, err = c.Domain(context.Background(), "example.org")
	if !errors.As(err, &ae) || ae.Status != 404 || ae.Code != "not_found" {
		t.Errorf("404: %v", err)
	}
}

// An error answer that is not in the envelope (a proxy's page) is an
// *Error with the code http_error and the start of its body, trimmed.
func TestClient_nonEnvelopeError(t *testing.T) {
	a := newRecordingAPI(t)
	c := &client.Client{BaseURL: a.URL, Token: secret.String(testToken)}
	page := "\n\n<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body><center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n\n"
	for _, tc := range []struct {
		status        int
		body, message string
	}{
		{502, page, strings.TrimSpace(page)},
		{503, "", "Service Unavailable"},
		{500, `{"message":"not the envelope"}`, `{"message":"not the envelope"}`},
		{400, `{"error":{"code":"","message":"no code"}}`, `{"error":{"code":"","message":"no code"}}`},
		{502, "bad \xff\xfe bytes", "bad \uFFFD bytes"},
	} {
		a.answerWith(tc.status, tc.body)
		_, err := c.Compliance(context.Background())
		var ae *client.Error
		if !errors.As(err, &ae) {
			t.Fatalf("%d %q: error %T %v, want *client.Error", tc.status, tc.body, err, err)
		}
		if ae.Status != tc.status || ae.Code != client.CodeHTTPError || ae.Message != tc.message {
			t.Errorf("%d %q: got %d %s %q, want %d http_error %q", tc.status, tc.body, ae.Status, ae.Code, ae.Message, tc.status, tc.message)
		}
	}
}

// countingBody is an endless answer body that counts what was read of it.
type countingBody struct {
	mu   sync.Mutex
	read int
	fill byte
}

func (b *countingBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range p {
		p[i] = b.fill
	}
	b.read += len(p)
	return len(p), nil
}

func (b *countingBody) Close() error { return nil }

// endless answers every request with status and an endless body.
type endless struct {
	status int
	body   *countingBody
}

func (e endless) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: e.status, Header: http.Header{"Content-Type": {"text/html"}}, Body: e.body, Request: r}, nil
}

// A huge answer is never read whole: an error's body is read up to 64 KiB
// and its message kept to a few hundred bytes (valid UTF-8, marked cut);
// a successful answer is read up to 16 MiB.
func TestClient_hugeAnswersAreBounded(t *testing.T) {
	body := &countingBody{fill: 'x'}
	c := &client.Client{BaseURL: "http://reglock.invalid", Token: secret.String(testToken),
		HTTP: &http.Client{Transport: endless{502, body}}}
	_, err := c.Domain(context.Background(), "example.com")
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Code != client.CodeHTTPError || ae.Status != 502 {
		t.Fatalf("error %v", err)
	}
	if body.read > 64<<10 {
		t.Errorf("read %d bytes of an error answer", body.read)
	}
	if len(ae.Message) > 520 || !strings.HasSuffix(ae.Message, "…") || !utf8.ValidString(ae.Message) {
		t.Errorf("message of %d bytes: %.40q...", len(ae.Message), ae.Message)
	}
	if len(err.Error()) > 600 {
		t.Errorf("Error() is %d bytes", len(err.Error()))
	}

	// A cut in the middle of a rune leaves it out.
	c.HTTP = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 502, Body: io.NopCloser(strings.NewReader(strings.Repeat("ü", 1000))), Request: r}, nil
	})}
	_, err = c.Domain(context.Background(), "example.com")
	if !errors.As(err, &ae) || !utf8.ValidString(ae.Message) || len(ae.Message) > 520 {
		t.Errorf("cut message %q", ae.Message)
	}

	ok := &countingBody{fill: ' '}
	c.HTTP = &http.Client{Transport: endless{200, ok}}
	if _, err := c.Domain(context.Background(), "example.com"); err == nil {
		t.Error("an endless answer decoded")
	}
	if ok.read > 16<<20 {
		t.Errorf("read %d bytes of a successful answer", ok.read)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// The token never reaches an error's text: not when an answer echoes the
// request's headers, not when a transport's error holds it, not when it is
// not a valid header value; nor does the Client print it.
func TestClient_tokenNeverInErrors(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/compliance" {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprintf(w, "<html>upstream refused the request headers: %v</html>", r.Header)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"error":{"code":"unauthorized","message":"token %s is not known"}}`, r.Header.Get("Authorization"))
	}))
	defer echo.Close()
	c := &client.Client{BaseURL: echo.URL, Token: secret.String(testToken)}
	ctx := context.Background()

	check := func(what string, err error) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		if strings.Contains(err.Error(), testToken) || strings.Contains(fmt.Sprintf("%+v %#v", err, err), testToken) {
			t.Errorf("%s: the token is in the error: %v", what, err)
		}
	}

	_, err := c.Compliance(ctx)
	check("an answer echoing the headers", err)
	if !strings.Contains(err.Error(), secret.Redacted) {
		t.Errorf("echoed headers: %v", err)
	}
	_, err = c.Domain(ctx, "example.com")
	check("an envelope echoing the token", err)

	// A transport whose error holds the token (a proxy's, a tracer's):
	// redacted, and still a deadline to errors.Is.
	c.HTTP = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("proxy refused %q: %w", r.Header.Get("Authorization"), context.DeadlineExceeded)
	})}
	_, err = c.Lock(ctx, "example.com", client.LockRequest{})
	check("a transport error", err)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("the redacted error is no longer a deadline: %v", err)
	}

	// A token that is not a valid header value.
	bad := "bad\ntoken-" + testToken
	c = &client.Client{BaseURL: echo.URL, Token: secret.String(bad)}
	_, err = c.Domain(ctx, "example.com")
	check("an invalid token", err)
	if strings.Contains(err.Error(), "token-") {
		t.Errorf("part of the token is in the error: %v", err)
	}

	// A refused connection, a cancelled context.
	c = &client.Client{BaseURL: "http://127.0.0.1:1", Token: secret.String(testToken)}
	_, err = c.Domain(ctx, "example.com")
	check("a refused connection", err)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	c = &client.Client{BaseURL: echo.URL, Token: secret.String(testToken)}
	_, err = c.Domain(cancelled, "example.com")
	check("a cancelled context", err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}

	// The Client itself prints without its token.
	if s := fmt.Sprintf("%v %+v %#v %s", c, c, c, c.Token); strings.Contains(s, testToken) {
		t.Errorf("the Client prints its token: %s", s)
	}
}

// A context from WithIdempotencyKey makes every write send the key, and no
// read; an empty key sends none.
func TestClient_idempotencyKey(t *testing.T) {
	a := newRecordingAPI(t)
	c := &client.Client{BaseURL: a.URL, Token: secret.String(testToken)}
	ctx := client.WithIdempotencyKey(context.Background(), "order-4711")
	writes := map[string]func() error{
		"Lock":       func() error { _, err := c.Lock(ctx, "example.com", client.LockRequest{}); return err },
		"Unlock":     func() error { _, err := c.Unlock(ctx, "example.com", client.UnlockRequest{}); return err },
		"TradeLock":  func() error { _, err := c.TradeLock(ctx, "example.com", client.TradeLockRequest{}); return err },
		"StartSweep": func() error { _, err := c.StartSweep(ctx, client.SweepRequest{}); return err },
		"ApplySweep": func() error { _, err := c.ApplySweep(ctx, "s-1"); return err },
		"Forget":     func() error { _, err := c.Forget(ctx, "example.com", client.ForgetRequest{}); return err },
	}
	for name, call := range writes {
		if err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if k := a.last(t).Header.Get("Idempotency-Key"); k != "order-4711" {
			t.Errorf("%s sent Idempotency-Key %q", name, k)
		}
	}
	reads := map[string]func() error{
		"Domain":      func() error { _, err := c.Domain(ctx, "example.com"); return err },
		"Domains":     func() error { _, err := c.Domains(ctx, client.ListQuery{}); return err },
		"History":     func() error { _, err := c.History(ctx, "example.com", "", 0); return err },
		"Sweep":       func() error { _, err := c.Sweep(ctx, "s-1"); return err },
		"Sweeps":      func() error { _, err := c.Sweeps(ctx, "", ""); return err },
		"SweepReport": func() error { _, err := c.SweepReport(ctx, "s-1"); return err },
		"Compliance":  func() error { _, err := c.Compliance(ctx); return err },
	}
	for name, call := range reads {
		if err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := a.last(t).Header["Idempotency-Key"]; ok {
			t.Errorf("%s sent an Idempotency-Key", name)
		}
	}
	if _, err := c.Lock(client.WithIdempotencyKey(context.Background(), ""), "example.com", client.LockRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.last(t).Header["Idempotency-Key"]; ok {
		t.Error("an empty key was sent")
	}
}
