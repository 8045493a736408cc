// Package console serves reglock's read-only web console at /console: the
// compliance summary per provider, a domain search with each domain's
// status and history, drift per provider, and the sweeps with their
// reports.
//
// The console is a client of the HTTP API, in process: every page is
// rendered from what a client.Client reads from the API handler the console
// was given (api.InProcess), with the visitor's own token. The API's token
// checks and scopes therefore apply unchanged (a token with the read scope
// is enough), and the console compares no token itself. What the API
// refuses or does not serve is shown as an error box on the page.
//
// Signing in: /console/login takes a token in a form, asks the API whether
// it accepts it, and keeps it in a cookie (HttpOnly, SameSite=Strict,
// Secure over TLS, Path=/console, for 12 hours); /console/logout forgets
// it. The sign-in and sign-out forms are refused when they come from
// another origin (http.CrossOriginProtection). A request may carry the
// token itself instead, as an Authorization: Bearer header or a basic auth
// password, so that curl works. A request with no token is sent to the
// sign-in page; one that followed a link from another site is first opened
// again from the console itself, because the browser withholds a
// SameSite=Strict cookie from a cross-site navigation. No token is ever
// written into a page or a log line.
//
// Read-only: every page is a GET that only reads; the only forms sign in,
// sign out and search. Pages are html/template rendered on the server, with
// a little inline CSS (allowed by its hash in the Content-Security-Policy)
// and no JavaScript, and fit a phone's screen.
package console

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync/atomic"
	"time"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/secret"
)

const (
	cookieName = "reglock_console"
	// sessionAge is how long a sign-in lasts.
	sessionAge = 12 * time.Hour
	// maxForm caps the body of the sign-in form.
	maxForm = 64 << 10
)

// Console is the web console's handler.
type Console struct {
	api      http.Handler
	secure   bool
	pageSize int
	mux      *http.ServeMux
}

// An Option changes how the console works.
type Option func(*Console)

// SecureCookie marks the sign-in cookie Secure even when the request did
// not come over TLS: for a console behind a proxy that terminates TLS.
func SecureCookie() Option { return func(c *Console) { c.secure = true } }

// PageSize is how many domains, sweeps or history entries a page lists
// (default 50; the API allows 1 to 1000).
func PageSize(n int) Option {
	return func(c *Console) {
		if n >= 1 && n <= 1000 {
			c.pageSize = n
		}
	}
}

// New returns the console, serving /console and /console/..., rendered
// from what the API handler apiHandler answers. apiHandler must serve /v1
// and must not be the handler the console is mounted in only through the
// console (the console never calls /console).
func New(apiHandler http.Handler, opts ...Option) http.Handler {
	c := &Console{api: apiHandler, pageSize: 50}
	for _, o := range opts {
		o(c)
	}
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.render(w, http.StatusForbidden, "login", view{Title: "Sign in", Bare: true, Page: loginView{
			Next:  "/console",
			Error: "This form was sent from another site, so it was refused. Open the console and sign in from its own page.",
		}})
	}))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /console/login", c.loginForm)
	mux.Handle("POST /console/login", csrf.Handler(http.HandlerFunc(c.login)))
	mux.Handle("POST /console/logout", csrf.Handler(http.HandlerFunc(c.logout)))
	mux.Handle("GET /console", c.page(c.overview))
	mux.Handle("GET /console/{$}", c.page(c.overview))
	mux.Handle("GET /console/domains", c.page(c.domains))
	mux.Handle("GET /console/domains/{domain}", c.page(c.domain))
	mux.Handle("GET /console/drift", c.page(c.drift))
	mux.Handle("GET /console/sweeps", c.page(c.sweeps))
	mux.Handle("GET /console/sweeps/{id}", c.page(c.sweep))
	mux.HandleFunc("GET /console/sweeps/{id}/report.csv", c.reportCSV)
	// GET only: a page asked for with another method is answered 405.
	mux.HandleFunc("GET /console/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, http.StatusNotFound, "notfound", view{Title: "Not found", Page: r.URL.Path})
	})
	c.mux = mux
	return c
}

// ServeHTTP serves the console, with its security headers on every answer.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin rather than no-referrer: with no-referrer a browser sends
	// "Origin: null" with the sign-in form, which a browser too old to send
	// Sec-Fetch-Site would then have refused as cross-origin. Nothing leaves
	// for another site either way.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	c.mux.ServeHTTP(w, r)
}

// source is where a request's token came from.
type source int

const (
	fromNothing source = iota
	fromHeader
	fromCookie
)

// visit is one request to a page: the visitor's client of the API.
type visit struct {
	r      *http.Request
	api    *client.Client
	token  secret.String
	source source
	// refused is set when the API answered 401 to any call: the token is
	// not (or no longer) accepted.
	refused atomic.Bool
}

func (v *visit) ctx() context.Context { return v.r.Context() }

// open starts a visit with the request's token. A request with no token
// is sent to the sign-in page unless the API serves it without one
// (--insecure-no-auth); ok is false when the answer is already written.
func (c *Console) open(w http.ResponseWriter, r *http.Request) (v *visit, ok bool) {
	tok, src := credentials(r)
	v = &visit{r: r, token: secret.String(tok), source: src}
	watched := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.api.ServeHTTP(refusalWatch{w, &v.refused}, r)
	})
	v.api = api.InProcess(watched, v.token)
	if src == fromNothing {
		_, _ = v.api.Domains(r.Context(), client.ListQuery{Limit: 1})
		if v.refused.Load() {
			c.refused(w, v)
			return nil, false
		}
	}
	return v, true
}

// refused answers a visit whose token the API did not accept: the sign-in
// page for a browser, 401 for a client that sent the token itself.
func (c *Console) refused(w http.ResponseWriter, v *visit) {
	switch v.source {
	case fromHeader:
		w.Header().Set("WWW-Authenticate", `Basic realm="reglock console"`)
		c.render(w, http.StatusUnauthorized, "login", view{Title: "Sign in", Bare: true,
			Page: loginView{Next: safeNext(v.r.URL.RequestURI()), Error: "Token not accepted."}})
	case fromCookie:
		c.setCookie(w, v.r, "", -1)
		http.Redirect(w, v.r, loginURL(v.r.URL.RequestURI(), "expired"), http.StatusSeeOther)
	default:
		if v.r.Header.Get("Sec-Fetch-Site") == "cross-site" {
			// A link from another site: the browser withheld the
			// SameSite=Strict cookie. Open the page again from here, and the
			// cookie comes along if there is one (if not, the sign-in page).
			to := safeNext(v.r.URL.RequestURI())
			c.render(w, http.StatusOK, "reopen", view{Title: "Opening the console", Bare: true, Refresh: to, Page: to})
			return
		}
		http.Redirect(w, v.r, loginURL(v.r.URL.RequestURI(), ""), http.StatusSeeOther)
	}
}

func loginURL(next, why string) string {
	q := url.Values{}
	if n := safeNext(next); n != "/console" {
		q.Set("next", n)
	}
	if why != "" {
		q.Set("m", why)
	}
	if len(q) == 0 {
		return "/console/login"
	}
	return "/console/login?" + q.Encode()
}

// refusalWatch notes a 401 from the API.
type refusalWatch struct {
	http.ResponseWriter
	refused *atomic.Bool
}

func (w refusalWatch) WriteHeader(code int) {
	if code == http.StatusUnauthorized {
		w.refused.Store(true)
	}
	w.ResponseWriter.WriteHeader(code)
}

// credentials is the request's token: the Authorization header's (bearer,
// or a basic auth password), else the sign-in cookie's.
func credentials(r *http.Request) (string, source) {
	if h := r.Header.Get("Authorization"); h != "" {
		const p = "Bearer "
		if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
			return strings.TrimSpace(h[len(p):]), fromHeader
		}
		if _, pw, ok := r.BasicAuth(); ok && pw != "" {
			return pw, fromHeader
		}
	}
	if ck, err := r.Cookie(cookieName); err == nil {
		if b, err := base64.RawURLEncoding.DecodeString(ck.Value); err == nil && len(b) > 0 {
			return string(b), fromCookie
		}
	}
	return "", fromNothing
}

// setCookie sets the sign-in cookie to token (base64, so that any token
// survives as a cookie value), or clears it when maxAge is negative.
func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, token string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: base64.RawURLEncoding.EncodeToString([]byte(token)),
		Path: "/console", MaxAge: maxAge, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: c.secure || r.TLS != nil,
	})
}

// loginView is the sign-in page.
type loginView struct {
	Next   string
	Notice string
	Error  string
}

func (c *Console) loginForm(w http.ResponseWriter, r *http.Request) {
	lv := loginView{Next: safeNext(r.URL.Query().Get("next"))}
	switch r.URL.Query().Get("m") {
	case "expired":
		lv.Notice = "The API no longer accepts the token you signed in with. Sign in again."
	case "out":
		lv.Notice = "Signed out."
	}
	c.render(w, http.StatusOK, "login", view{Title: "Sign in", Bare: true, Page: lv})
}

// login checks the token with the API (the read scope is what the console
// needs) and keeps it in the cookie.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	lv := loginView{Next: "/console"}
	fail := func(status int, msg string) {
		lv.Error = msg
		c.render(w, status, "login", view{Title: "Sign in", Bare: true, Page: lv})
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "The form could not be read.")
		return
	}
	lv.Next = safeNext(r.PostForm.Get("next"))
	tok := strings.TrimSpace(r.PostForm.Get("token"))
	if tok == "" {
		fail(http.StatusBadRequest, "Enter an API token.")
		return
	}
	_, err := api.InProcess(c.api, secret.String(tok)).Domains(r.Context(), client.ListQuery{Limit: 1})
	var ae *client.Error
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusUnauthorized:
		fail(http.StatusUnauthorized, "Token not accepted.")
	case errors.As(err, &ae) && ae.Status == http.StatusForbidden:
		fail(http.StatusForbidden, "This token lacks the read scope that the console needs.")
	case err != nil:
		fail(http.StatusBadGateway, "The token could not be checked: "+err.Error())
	default:
		c.setCookie(w, r, tok, int(sessionAge/time.Second))
		http.Redirect(w, r, lv.Next, http.StatusSeeOther)
	}
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	c.setCookie(w, r, "", -1)
	http.Redirect(w, r, "/console/login?m=out", http.StatusSeeOther)
}

// safeNext is where to go after signing in: a console page of this site,
// never another site.
func safeNext(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/console"
	}
	p := path.Clean(u.Path)
	if (p != "/console" && !strings.HasPrefix(p, "/console/")) || p == "/console/login" || p == "/console/logout" {
		return "/console"
	}
	return (&url.URL{Path: p, RawQuery: u.RawQuery}).String()
}
