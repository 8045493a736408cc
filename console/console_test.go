package console_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/console"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/system"
)

const (
	writeToken = "write-token-0123456789abcdef"
	readToken  = "read-token-0123456789abcdef"
	// lockerToken may change things but not read them.
	lockerToken = "locker-token-0123456789abcdef"
)

var tokens = []config.Token{
	{Name: "billing", Token: secret.String(writeToken)},
	{Name: "dashboard", Token: secret.String(readToken), Scopes: []string{"read"}},
	{Name: "locker", Token: secret.String(lockerToken), Scopes: []string{"write"}},
}

// bundle is a test's reglock: the API with its console, over real Redis,
// with a seeded inventory.
type bundle struct {
	t       *testing.T
	url     string
	handler http.Handler
	// sweepID is a dry-run sweep that was started.
	sweepID string
	log     *syncBuffer
}

// syncBuffer collects the process's log lines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func setup(t *testing.T) *bundle {
	t.Helper()
	env := redistest.New(t)
	cfg := &config.Config{Providers: []config.Provider{
		{Name: "enom-main", Type: "enom", TLDs: []string{"com", "net"}},
		{Name: "opensrs", Type: "opensrs", TLDs: []string{"org"}},
	}}
	logs := &syncBuffer{}
	sys := system.New(system.Options{Config: cfg, Redis: env.Client, Namespace: env.Namespace,
		Log: zerolog.New(io.MultiWriter(logs, zerolog.NewTestWriter(t)))})
	h := sys.API(tokens).Handler()
	hs := httptest.NewServer(h)
	t.Cleanup(hs.Close)
	b := &bundle{t: t, url: hs.URL, handler: h, log: logs}
	t.Cleanup(func() {
		for _, tok := range []string{writeToken, readToken, lockerToken} {
			if strings.Contains(logs.String(), tok) {
				t.Errorf("a token reached the log")
			}
		}
	})

	ctx := context.Background()
	c := api.InProcess(h, writeToken)
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.Lock(ctx, "example.com", client.LockRequest{Reason: "customer asked", RequestedBy: "ticket-42"}))
	must(c.Lock(ctx, "shopfront.net", client.LockRequest{}))
	must(c.Lock(ctx, "drifted.com", client.LockRequest{Reason: "<script>alert(1)</script>"}))
	must(c.Unlock(ctx, "window.com", client.UnlockRequest{RelockAfter: "72h", Reason: "transfer out", RequestedBy: "ops:ana"}))
	must(c.Lock(ctx, "charity.org", client.LockRequest{}))
	now := time.Now()
	for name, locked := range map[string]bool{"example.com": true, "shopfront.net": true, "drifted.com": false, "charity.org": true} {
		if _, _, err := sys.Store.Observe(ctx, name, store.Reading{Locked: locked, StartedAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	st, err := c.StartSweep(ctx, client.SweepRequest{DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	b.sweepID = st.SweepID
	return b
}

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get requests a console page; auth sets the request's credentials.
func (b *bundle) get(path string, auth func(*http.Request)) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.url+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if auth != nil {
		auth(req)
	}
	return b.do(req)
}

func (b *bundle) do(req *http.Request) (*http.Response, string) {
	b.t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, tok := range []string{writeToken, readToken, lockerToken} {
		if strings.Contains(string(body), tok) || strings.Contains(string(body), base64.RawURLEncoding.EncodeToString([]byte(tok))) {
			b.t.Errorf("%s %s: the answer contains a token", req.Method, req.URL.Path)
		}
	}
	return resp, string(body)
}

// login signs in through the form and returns the session cookie.
func (b *bundle) login(token, next string) (*http.Response, string) {
	b.t.Helper()
	form := url.Values{"token": {token}}
	if next != "" {
		form.Set("next", next)
	}
	req, _ := http.NewRequest(http.MethodPost, b.url+"/console/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.url)
	return b.do(req)
}

func bearer(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withCookie(c *http.Cookie) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(c) }
}

func sessionCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "reglock_console" {
			return c
		}
	}
	t.Fatalf("no session cookie set (Set-Cookie %q)", resp.Header.Values("Set-Cookie"))
	return nil
}

func TestConsole_unauthenticatedIsSentToSignIn(t *testing.T) {
	b := setup(t)
	for path, want := range map[string]string{
		"/console":                      "/console/login",
		"/console/":                     "/console/login",
		"/console/drift":                "/console/login?next=%2Fconsole%2Fdrift",
		"/console/domains/example.com":  "/console/login?next=%2Fconsole%2Fdomains%2Fexample.com",
		"/console/domains?q=example.co": "/console/login?next=%2Fconsole%2Fdomains%3Fq%3Dexample.co",
	} {
		resp, body := b.get(path, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %q", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if strings.Contains(body, "example.com") && !strings.Contains(path, "example") {
			t.Errorf("GET %s: the redirect shows data", path)
		}
	}
	resp, body := b.get("/console/login", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, `type="password" name="token"`) {
		t.Fatalf("sign-in page: %d %s", resp.StatusCode, body)
	}
}

func TestConsole_login_badToken(t *testing.T) {
	b := setup(t)
	resp, body := b.login("not-a-token-at-all", "")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Token not accepted") {
		t.Fatalf("bad token: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "not-a-token-at-all") {
		t.Fatal("the sign-in page shows the token that was typed")
	}
	if len(resp.Cookies()) != 0 {
		t.Fatalf("a refused token set cookies: %v", resp.Cookies())
	}
	resp, body = b.login("   ", "")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Enter an API token") {
		t.Fatalf("empty token: %d %s", resp.StatusCode, body)
	}
	resp, body = b.login(lockerToken, "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "lacks the read scope") || len(resp.Cookies()) != 0 {
		t.Fatalf("a token without the read scope: %d %v %s", resp.StatusCode, resp.Cookies(), body)
	}
}

func TestConsole_login_goodToken(t *testing.T) {
	b := setup(t)
	resp, _ := b.login(readToken, "/console/drift?provider=enom-main")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/drift?provider=enom-main" {
		t.Fatalf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := sessionCookie(t, resp)
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/console" || c.MaxAge != 12*60*60 || c.Secure {
		t.Fatalf("cookie over plain HTTP: %+v, want HttpOnly, SameSite=Strict, Path=/console, Max-Age 12h, not Secure", c)
	}
	if c.Value == readToken {
		t.Fatal("the cookie holds the token verbatim")
	}
	resp, body := b.get("/console/drift?provider=enom-main", withCookie(c))
	if resp.StatusCode != 200 || !strings.Contains(body, "drifted.com") || !strings.Contains(body, "Sign out") {
		t.Fatalf("drift page with the cookie: %d %s", resp.StatusCode, body)
	}
}

func TestConsole_login_nextStaysInTheConsole(t *testing.T) {
	b := setup(t)
	for next, want := range map[string]string{
		"":                           "/console",
		"https://evil.example/":      "/console",
		"//evil.example/console":     "/console",
		"/\\evil.example":            "/console",
		"/console/../v1/domains":     "/console",
		"/v1/domains":                "/console",
		"/console/login":             "/console",
		"/console/sweeps?state=done": "/console/sweeps?state=done",
	} {
		resp, _ := b.login(readToken, next)
		if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != want {
			t.Errorf("next %q: %d to %q, want %q", next, resp.StatusCode, got, want)
		}
	}
}

func TestConsole_login_crossOriginRefused(t *testing.T) {
	b := setup(t)
	for name, set := range map[string]func(*http.Request){
		"Sec-Fetch-Site": func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") },
		"Origin":         func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") },
	} {
		req, _ := http.NewRequest(http.MethodPost, b.url+"/console/login", strings.NewReader(url.Values{"token": {readToken}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		set(req)
		resp, body := b.do(req)
		if resp.StatusCode != http.StatusForbidden || len(resp.Cookies()) != 0 || !strings.Contains(body, "another site") {
			t.Errorf("%s: %d, cookies %v", name, resp.StatusCode, resp.Cookies())
		}
	}
}

func TestConsole_login_secureOverTLS(t *testing.T) {
	b := setup(t)
	req := httptest.NewRequest(http.MethodPost, "https://reglock.example/console/login", strings.NewReader(url.Values{"token": {readToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("login over TLS: %d %s", rec.Code, rec.Body)
	}
	if c := sessionCookie(t, rec.Result()); !c.Secure || !c.HttpOnly {
		t.Fatalf("cookie over TLS: %+v, want Secure and HttpOnly", c)
	}

	// Behind a proxy that terminates TLS.
	h := console.New(b.handler, console.SecureCookie())
	req = httptest.NewRequest(http.MethodPost, "http://reglock.internal/console/login", strings.NewReader(url.Values{"token": {readToken}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if c := sessionCookie(t, rec.Result()); !c.Secure {
		t.Fatalf("cookie with SecureCookie: %+v, want Secure", c)
	}
}

func TestConsole_logout(t *testing.T) {
	b := setup(t)
	resp, _ := b.login(readToken, "")
	c := sessionCookie(t, resp)
	req, _ := http.NewRequest(http.MethodPost, b.url+"/console/logout", nil)
	req.AddCookie(c)
	resp, _ = b.do(req)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login?m=out" {
		t.Fatalf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if gone := sessionCookie(t, resp); gone.MaxAge >= 0 || gone.Path != "/console" {
		t.Fatalf("logout left the cookie: %+v", gone)
	}
	if resp, _ := b.get("/console/logout", withCookie(c)); resp.StatusCode/100 != 4 || len(resp.Cookies()) != 0 {
		t.Fatalf("GET /console/logout: %d %v: a link must not sign anyone out", resp.StatusCode, resp.Cookies())
	}
}

func TestConsole_cookieNoLongerAccepted(t *testing.T) {
	b := setup(t)
	stale := &http.Cookie{Name: "reglock_console", Value: base64.RawURLEncoding.EncodeToString([]byte("revoked-token-0123456789"))}
	resp, _ := b.get("/console/sweeps", withCookie(stale))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login?m=expired&next=%2Fconsole%2Fsweeps" {
		t.Fatalf("stale cookie: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if c := sessionCookie(t, resp); c.MaxAge >= 0 {
		t.Fatalf("the stale cookie was not cleared: %+v", c)
	}
	_, body := b.get("/console/login?m=expired", nil)
	if !strings.Contains(body, "no longer accepts") {
		t.Fatalf("sign-in page after a refused cookie: %s", body)
	}
}

func TestConsole_tokenInTheRequest(t *testing.T) {
	b := setup(t)
	resp, body := b.get("/console/domains/example.com", func(r *http.Request) { r.SetBasicAuth("", readToken) })
	if resp.StatusCode != 200 || !strings.Contains(body, "ticket-42") {
		t.Fatalf("basic auth: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "Sign out") {
		t.Fatal("a request carrying its token has no session to sign out of")
	}
	resp, body = b.get("/console", bearer("wrong-token-0123456789"))
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" || !strings.Contains(body, "Token not accepted") {
		t.Fatalf("wrong bearer token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
}

// Every page, read with the read-only token: the status, what it shows and
// the headers that keep it safe.
func TestConsole_pages(t *testing.T) {
	b := setup(t)
	sweep := url.PathEscape(b.sweepID)
	for _, tc := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/console", 200, []string{"Compliance", "enom-main", "opensrs", "all providers", "Recent sweeps", b.sweepID}},
		{"/console/domains", 200, []string{"example.com", "shopfront.net", "charity.org", "window.com"}},
		{"/console/domains?provider=opensrs", 200, []string{"charity.org"}},
		{"/console/domains?drift=true", 200, []string{"drifted.com"}},
		{"/console/domains?q=shop", 200, []string{"shopfront.net", "one page of the inventory"}},
		{"/console/domains?q=nothere.com", 200, []string{"<strong>nothere.com</strong> is not in the inventory"}},
		{"/console/domains/example.com", 200, []string{"example.com", "customer asked", "ticket-42", "enom-main", "locked", `id="history"`, "intent"}},
		{"/console/domains/window.com", 200, []string{"unlocked", "transfer out", "ops:ana", "Unlock window"}},
		{"/console/domains/drifted.com", 200, []string{"&lt;script&gt;alert(1)&lt;/script&gt;"}},
		{"/console/domains/nothere.com", 404, []string{"not_found", "nothere.com is not in the inventory"}},
		{"/console/drift", 200, []string{"enom-main", "drifted.com", "opensrs", "Every domain is in sync"}},
		{"/console/drift?provider=enom-main", 200, []string{"drifted.com"}},
		{"/console/sweeps", 200, []string{b.sweepID}},
		{"/console/sweeps?state=done", 200, []string{"No sweeps done"}},
		{"/console/sweeps/" + sweep, 200, []string{"Sweep " + b.sweepID, "Dry run", "Report", "report.csv"}},
		{"/console/sweeps/no-such-sweep", 404, []string{"not_found"}},
		{"/console/nothing-here", 404, []string{"no page at"}},
	} {
		resp, body := b.get(tc.path, bearer(readToken))
		if resp.StatusCode != tc.status {
			t.Errorf("GET %s: %d, want %d\n%s", tc.path, resp.StatusCode, tc.status, body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s: no %q in\n%s", tc.path, w, body)
			}
		}
		if strings.Contains(body, "<script") {
			t.Errorf("GET %s: the page has a script", tc.path)
		}
		h := resp.Header
		if !strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'none'") || h.Get("X-Frame-Options") != "DENY" ||
			h.Get("Cache-Control") != "no-store" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("GET %s: security headers %v", tc.path, h)
		}
		if h.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", tc.path, h.Get("Content-Type"))
		}
	}
}

func TestConsole_searchByNameOpensTheDomain(t *testing.T) {
	b := setup(t)
	for q, want := range map[string]string{
		"example.com":   "/console/domains/example.com",
		" Example.COM ": "/console/domains/example.com",
		"DRIFTED.com.":  "/console/domains/drifted.com",
	} {
		resp, _ := b.get("/console/domains?q="+url.QueryEscape(q), bearer(readToken))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("search %q: %d to %q, want %q", q, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
}

func TestConsole_reportCSV(t *testing.T) {
	b := setup(t)
	resp, body := b.get("/console/sweeps/"+url.PathEscape(b.sweepID)+"/report.csv", bearer(readToken))
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="sweep-`) {
		t.Fatalf("CSV: %d %v\n%s", resp.StatusCode, resp.Header, body)
	}
	if resp, _ := b.get("/console/sweeps/no-such-sweep/report.csv", bearer(readToken)); resp.StatusCode != 404 {
		t.Fatalf("CSV of no sweep: %d, want 404", resp.StatusCode)
	}
}

// The console only reads: its pages' forms search (GET); the only POSTs
// sign in and out; its pages take no other method.
func TestConsole_readOnly(t *testing.T) {
	b := setup(t)
	form := regexp.MustCompile(`<form[^>]*>`)
	for _, path := range []string{"/console", "/console/domains", "/console/domains/example.com", "/console/drift", "/console/sweeps", "/console/sweeps/" + url.PathEscape(b.sweepID), "/console/login"} {
		auth := withCookie(&http.Cookie{Name: "reglock_console", Value: base64.RawURLEncoding.EncodeToString([]byte(readToken))})
		_, body := b.get(path, auth)
		for _, f := range form.FindAllString(body, -1) {
			if strings.Contains(f, `method="post"`) && !strings.Contains(f, `action="/console/login"`) && !strings.Contains(f, `action="/console/logout"`) {
				t.Errorf("%s: a form that posts: %s", path, f)
			}
		}
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
			req, _ := http.NewRequest(m, b.url+path, nil)
			req.Header.Set("Authorization", "Bearer "+writeToken)
			if resp, _ := b.do(req); path != "/console/login" && resp.StatusCode != http.StatusMethodNotAllowed {
				t.Errorf("%s %s: %d, want 405", m, path, resp.StatusCode)
			}
		}
	}
}

// The inline stylesheet is exactly what the Content-Security-Policy allows.
func TestConsole_styleAllowedByItsHash(t *testing.T) {
	b := setup(t)
	resp, body := b.get("/console/login", nil)
	m := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no inline style")
	}
	sum := sha256.Sum256([]byte(m[1]))
	want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, want) {
		t.Fatalf("CSP %q does not allow the page's style (%s)", csp, want)
	}
}

// What the API refuses or fails shows as an error box; the page renders.
func TestConsole_apiErrorsShowAsErrorBoxes(t *testing.T) {
	b := setup(t)
	failing := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/compliance" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":{"code":"redis_unavailable","message":"redis: connection <refused>"}}`)
			return
		}
		b.handler.ServeHTTP(w, r)
	})
	h := console.New(failing)
	req := httptest.NewRequest(http.MethodGet, "/console", nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `class="problem"`) || !strings.Contains(body, "redis_unavailable") ||
		!strings.Contains(body, "redis: connection &lt;refused&gt;") || !strings.Contains(body, "Recent sweeps") {
		t.Fatalf("overview with compliance failing: %d\n%s", rec.Code, body)
	}

	// The drift page without the providers lists all drift at once.
	req = httptest.NewRequest(http.MethodGet, "/console/drift", nil)
	req.Header.Set("Authorization", "Bearer "+readToken)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if body := rec.Body.String(); rec.Code != 200 || !strings.Contains(body, "redis_unavailable") || !strings.Contains(body, "drifted.com") {
		t.Fatalf("drift with compliance failing: %d\n%s", rec.Code, body)
	}
}

// With --insecure-no-auth the API serves anyone, and so does the console.
func TestConsole_noAuth(t *testing.T) {
	env := redistest.New(t)
	sys := system.New(system.Options{Redis: env.Client, Namespace: env.Namespace, Log: zerolog.Nop()})
	srv := sys.API(nil)
	srv.NoAuth = true
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/console/domains", nil))
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "<h1>Domains</h1>") {
		t.Fatalf("console with no auth: %d %s", rec.Code, rec.Body)
	}
}

// A fixed API (the records as the API's own types encode them), for what a
// test's Redis does not easily hold: a finished sweep's report, every kind
// of history entry, a domain with all its details.
func TestConsole_rendersTheRecords(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	later := at.Add(72 * time.Hour)
	yes, no := true, false
	errText := "registrar said <no>"
	cursor := "c2"
	records := map[string]any{
		"/v1/domains/example.com": client.Domain{Domain: "example.com", Provider: "opensrs", Generation: 7,
			Desired:  client.Desired{Locked: true, TradeLock: &yes, TradeApplied: &no, RelockAt: &later},
			Observed: client.Observed{Locked: &no, CheckedAt: &at, Error: &errText, ByRegistry: true},
			Intent:   &client.IntentInfo{Kind: "lock", RequestedBy: "ticket-9", Reason: "renewal", Token: "billing", RequestedAt: &at},
			Task:     &client.TaskInfo{ID: "lock:example.com@7", Type: "reglock:lock", State: "retry", Retried: 3, MaxRetry: 20, NextAttempt: &later, LastError: "timeout"},
			Relock:   &client.RelockInfo{At: later, State: "overdue"}},
		"/v1/domains/example.com/history": client.History{Domain: "example.com", NextCursor: &cursor, Events: []client.HistoryEvent{
			{ID: "e3", Time: at, Kind: "error", Generation: 7, Provider: "opensrs", Error: "HTTP 503 from the registrar"},
			{ID: "e2", Time: at, Kind: "change", Generation: 7, Before: "unlocked", After: "locked", Cause: "sweep", SweepID: "s-1", TaskID: "fix:example.com@7:s-1"},
			{ID: "e1", Time: at, Kind: "intent", Generation: 7, Intent: "unlock", RequestedBy: "ops", Reason: "transfer", Token: "billing", RelockAt: &later},
		}},
		"/v1/sweeps/s-1": client.Sweep{SweepID: "s-1", State: "paused", Checked: 10, Drifted: 3, Provider: "opensrs",
			Paused: map[string]string{"opensrs": "3 of 10 drifted: more than the 20% the guard allows"}, CreatedAt: &at, FinishedAt: &later},
		"/v1/sweeps/s-1/report": client.SweepReport{Sweep: client.Sweep{SweepID: "s-1"}, Domains: []client.ReportEntry{
			{Domain: "a.com", Provider: "opensrs", Before: "unlocked", After: "locked", Outcome: client.OutcomeHeld, Detail: "held by the guard"},
			{Domain: "b.com", Provider: "opensrs", Before: "unlocked", After: "locked", Outcome: client.OutcomeHeld},
			{Domain: "c.com", Provider: "opensrs", Before: "locked", After: "unlocked", Outcome: client.OutcomeUnfixable, Detail: "registry lock"},
		}},
	}
	fixed := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec, ok := records[r.URL.Path]
		w.Header().Set("Content-Type", "application/json")
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"error":{"code":"not_found","message":"no such thing"}}`)
			return
		}
		_ = json.NewEncoder(w).Encode(rec)
	})
	h := console.New(fixed)
	for path, want := range map[string][]string{
		"/console/domains/example.com": {
			"by the registry", "registrar said &lt;no&gt;", "on (not yet applied)", "ticket-9", "renewal", "billing",
			"lock:example.com@7", "retry", "3 of 20", "timeout", `<span class="bad">overdue</span>`, "2026-03-07 05:06:07 UTC",
			"HTTP 503 from the registrar", "unlocked → locked", "(sweep)", `href="/console/sweeps/s-1"`, "fix:example.com@7:s-1",
			"intent: unlock", "transfer", `href="/console/domains/example.com?cursor=c2"`,
		},
		"/console/sweeps/s-1": {
			"paused", "3 of 10 drifted", "held: 2", "unfixable: 1", "a.com", "held by the guard", "registry lock",
			`href="/console/sweeps/s-1/report.csv"`,
		},
	} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer any")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("GET %s: %d\n%s", path, rec.Code, rec.Body)
			continue
		}
		for _, w := range want {
			if !strings.Contains(rec.Body.String(), w) {
				t.Errorf("GET %s: no %q in\n%s", path, w, rec.Body)
			}
		}
	}
}

// A link from another site comes without the SameSite=Strict cookie: the
// console opens the page again from itself, which brings the cookie.
func TestConsole_linkFromAnotherSite(t *testing.T) {
	b := setup(t)
	resp, body := b.get("/console/domains/example.com?cursor=x", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") })
	if resp.StatusCode != 200 || !strings.Contains(body, `<meta http-equiv="refresh" content="0; url=/console/domains/example.com?cursor=x">`) {
		t.Fatalf("cross-site link: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, "ticket-42") {
		t.Fatal("the page reopening itself shows data")
	}
	resp, _ = b.get("/console/domains/example.com", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-origin") })
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("reopened with no cookie: %d, want 303 to the sign-in page", resp.StatusCode)
	}
}
