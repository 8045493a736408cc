// Package api serves reglock's HTTP API: /v1 for producers and operators
// (bearer tokens, JSON in and out, one error envelope), and the health,
// readiness and metrics endpoints that need no token.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/metrics"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tracing"
)

// Scopes a token can carry.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
	ScopeAdmin = "admin"
)

// Server is the HTTP API.
type Server struct {
	Intents *intent.Service
	Store   *store.Store
	Sweeps  *sweep.Starter
	Log     zerolog.Logger
	// Metrics, when set, is served at /metrics and counts requests.
	Metrics *metrics.Metrics
	// Monitoring, when set, is asynqmon, served at /monitoring behind the
	// tokens: reading needs the read scope, acting (retry, delete) admin.
	Monitoring http.Handler
	// Console, when set, is the read-only web console, served at /console.
	// It signs its visitors in itself and reads through /v1 with their
	// tokens, so it is mounted without authenticate.
	Console http.Handler
	// Breakers, when set, reads the registrar accounts' circuit breakers for
	// /readyz's details (an open breaker does not make the API unready: it
	// still records intent).
	Breakers func(context.Context) (map[string]breaker.Status, error)

	// Audit reads domains' histories.
	Audit *audit.Log
	// Tasks, when set, finds the task of a domain's pending work for its
	// status (an asynq.Inspector).
	Tasks TaskInspector
	// Clock is the time source; nil is the wall clock.
	Clock clock.Clock

	// StoreGuard, when set, says whether the store is lost or replaced
	// (store.IdentityWatch.Verify): /readyz answers 503 and every /v1 write
	// 503 store_lost until an operator restores or accepts the store.
	StoreGuard func(context.Context) error

	// NoAuth serves /v1 to anyone (--insecure-no-auth with no tokens).
	NoAuth bool

	// tokens are the accepted tokens, swapped whole by SetTokens.
	tokens          atomic.Pointer[[]token]
	draining        atomic.Bool
	complianceCache complianceCache
}

type token struct {
	name   string
	digest [sha256.Size]byte
	scopes []string
	// providers limit the token to these providers' domains; nil: all.
	providers []string
}

// New returns a Server that accepts the given tokens.
func New(tokens []config.Token) *Server {
	s := &Server{}
	s.SetTokens(tokens)
	return s
}

// SetTokens replaces the tokens the Server accepts, at once and whole (a
// configuration reloaded on SIGHUP): a request is checked against either
// the old set or the new one, never a mix. Only their digests are kept.
func (s *Server) SetTokens(tokens []config.Token) {
	ts := make([]token, 0, len(tokens))
	for _, t := range tokens {
		scopes := t.Scopes
		if len(scopes) == 0 {
			scopes = []string{ScopeRead, ScopeWrite, ScopeAdmin}
		}
		var providers []string
		if len(t.Providers) > 0 {
			providers = slices.Clone(t.Providers)
		}
		ts = append(ts, token{name: t.Name, digest: sha256.Sum256([]byte(t.Token.Reveal())), scopes: scopes, providers: providers})
	}
	s.tokens.Store(&ts)
}

// currentTokens are the tokens accepted now.
func (s *Server) currentTokens() []token {
	if ts := s.tokens.Load(); ts != nil {
		return *ts
	}
	return nil
}

// Drain makes /readyz fail so that load balancers stop sending traffic
// while the process shuts down.
func (s *Server) Drain() { s.draining.Store(true) }

// route is one /v1 endpoint.
type route struct {
	method, path, scope string
	handler             func(*Server) http.HandlerFunc
}

// routes are the /v1 endpoints; the OpenAPI document describes exactly
// these (a test holds them together).
var routes = []route{
	{"POST", "/v1/domains/{domain}/lock", ScopeWrite, func(s *Server) http.HandlerFunc { return s.lock }},
	{"DELETE", "/v1/domains/{domain}/lock", ScopeWrite, func(s *Server) http.HandlerFunc { return s.unlock }},
	{"PUT", "/v1/domains/{domain}/trade-lock", ScopeWrite, func(s *Server) http.HandlerFunc { return s.tradeLock }},
	{"GET", "/v1/domains/{domain}", ScopeRead, func(s *Server) http.HandlerFunc { return s.getDomain }},
	{"GET", "/v1/domains", ScopeRead, func(s *Server) http.HandlerFunc { return s.listDomains }},
	{"POST", "/v1/sweeps", ScopeWrite, func(s *Server) http.HandlerFunc { return s.startSweep }},
	{"GET", "/v1/sweeps/{id}", ScopeRead, func(s *Server) http.HandlerFunc { return s.getSweep }},
	{"POST", "/v1/sweeps/{id}/apply", ScopeAdmin, func(s *Server) http.HandlerFunc { return s.applySweep }},
	{"DELETE", "/v1/domains/{domain}", ScopeAdmin, func(s *Server) http.HandlerFunc { return s.forget }},
	{"GET", "/v1/domains/{domain}/history", ScopeRead, func(s *Server) http.HandlerFunc { return s.history }},
	{"GET", "/v1/sweeps", ScopeRead, func(s *Server) http.HandlerFunc { return s.listSweeps }},
	{"GET", "/v1/sweeps/{id}/report", ScopeRead, func(s *Server) http.HandlerFunc { return s.sweepReport }},
	{"GET", "/v1/compliance", ScopeRead, func(s *Server) http.HandlerFunc { return s.compliance }},
	{"GET", "/v1/openapi.json", ScopeRead, func(s *Server) http.HandlerFunc { return serveOpenAPI }},
}

// Handler returns the API's routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	paths := map[string]bool{}
	for _, rt := range routes {
		h := rt.handler(s)
		if rt.method != http.MethodGet {
			h = s.storeGuarded(s.idempotent(h))
		}
		mux.Handle(rt.method+" "+rt.path, s.authenticate(rt.scope, h))
		paths[rt.path] = true
	}
	// Known paths with another method answer 405 in the JSON envelope.
	for p := range paths {
		mux.HandleFunc(p, methodNotAllowed)
	}
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
	s.opsRoutes(mux, true)
	if s.Monitoring != nil {
		// asynqmon shows every account's tasks: not for a token limited
		// to some providers.
		monitoring := func(w http.ResponseWriter, r *http.Request) {
			if limitedTo(r) != nil {
				forbidProvider(w, r)
				return
			}
			s.Monitoring.ServeHTTP(w, r)
		}
		read := s.authenticate(ScopeRead, monitoring)
		admin := s.authenticate(ScopeAdmin, monitoring)
		mon := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				read.ServeHTTP(w, r)
				return
			}
			admin.ServeHTTP(w, r)
		})
		mux.Handle("/monitoring", mon)
		mux.Handle("/monitoring/", mon)
	}
	if s.Console != nil {
		mux.Handle("/console", s.Console)
		mux.Handle("/console/", s.Console)
	}
	return s.logRequests(canonicalV1(mux))
}

// canonicalV1 answers a /v1 path that is not in its clean form ("..", ".",
// "//") with the JSON 404 itself: ServeMux would redirect it with an HTML
// body, which turns a POST into a GET at the client and speaks no JSON.
func canonicalV1(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/v1/") {
			clean := path.Clean(p)
			if strings.HasSuffix(p, "/") && clean != "/" {
				clean += "/"
			}
			if clean != p {
				writeError(w, http.StatusNotFound, "not_found", "no such endpoint: "+r.Method+" "+p+" (paths must be in clean form)")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// OpsHandler serves only /, /healthz, /readyz and /metrics: what a worker
// or scheduler process exposes for probes and Prometheus.
func (s *Server) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	s.opsRoutes(mux, false)
	return mux
}

// opsRoutes are the routes without a token; full is the whole API's
// handler (the front page then links to the console and the API).
func (s *Server) opsRoutes(mux *http.ServeMux, full bool) {
	mux.HandleFunc("GET /{$}", s.front(full))
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	if s.Metrics != nil {
		mux.Handle("GET /metrics", s.Metrics.Handler())
	}
}

func healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed on "+r.URL.Path)
}

type ctxKey struct{}

// authenticate checks the bearer token (or, for browsers opening
// asynqmon, the same token as an HTTP basic auth password) in constant
// time, then the token's scope.
//
// A refusal challenges for both, in two WWW-Authenticate headers: one
// header listing both challenges ("Bearer realm=..., Basic realm=...")
// is valid HTTP, but Chromium does not split it, finds no scheme it knows
// and shows the JSON 401 instead of asking for the token.
func (s *Server) authenticate(scope string, next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.NoAuth {
			next(w, r)
			return
		}
		presented, ok := bearer(r)
		if !ok {
			if _, pw, basic := r.BasicAuth(); basic {
				presented, ok = pw, true
			}
		}
		var match *token
		if ok {
			d := sha256.Sum256([]byte(presented))
			// Compare with every token, without stopping early, so that
			// timing says nothing about which token (or how much of it) matched.
			tokens := s.currentTokens()
			for i := range tokens {
				if subtle.ConstantTimeCompare(d[:], tokens[i].digest[:]) == 1 {
					match = &tokens[i]
				}
			}
		}
		if match == nil {
			h := w.Header()
			h.Add("WWW-Authenticate", `Bearer realm="reglock"`)
			h.Add("WWW-Authenticate", `Basic realm="reglock", charset="UTF-8"`)
			writeError(w, http.StatusUnauthorized, "unauthorized", "missing or invalid bearer token (Authorization: Bearer TOKEN)")
			return
		}
		if !slices.Contains(match.scopes, scope) && !slices.Contains(match.scopes, ScopeAdmin) {
			writeError(w, http.StatusForbidden, "forbidden", "token "+match.name+" lacks the "+scope+" scope")
			return
		}
		if rec, ok := w.(*statusRecorder); ok {
			rec.token, rec.route = match.name, r.Pattern
		}
		ctx := context.WithValue(r.Context(), ctxKey{}, match.name)
		if match.providers != nil {
			ctx = context.WithValue(ctx, providersKey{}, match.providers)
		}
		next(w, r.WithContext(ctx))
	})
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) <= len(p) || !strings.EqualFold(h[:len(p)], p) {
		return "", false
	}
	return strings.TrimSpace(h[len(p):]), true
}

func (s *Server) now() time.Time { return clock.Or(s.Clock).Now() }

// tokenName is the name of the token that authenticated the request.
func tokenName(r *http.Request) string {
	n, _ := r.Context().Value(ctxKey{}).(string)
	return n
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.Store.Ping(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "redis unreachable", "checks": map[string]string{"redis": err.Error()}})
		return
	}
	out := map[string]any{"ready": true, "checks": map[string]string{"redis": "ok"}}
	if s.StoreGuard != nil {
		if err := s.StoreGuard(ctx); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "store lost", "checks": map[string]string{"redis": "ok", "store": err.Error()}})
			return
		}
		out["checks"].(map[string]string)["store"] = "ok"
	}
	if s.Breakers != nil {
		if all, err := s.Breakers(ctx); err == nil && len(all) > 0 {
			out["registrars"] = registrarStatuses(all)
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// storeGuarded refuses a write with 503 store_lost while the store is lost
// or replaced: nothing is recorded into a wiped store (a lock policy
// applied to an empty inventory, a generation starting again at 1), so
// producers retry later and nothing is half recorded.
func (s *Server) storeGuarded(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.StoreGuard != nil {
			if err := s.StoreGuard(r.Context()); err != nil {
				w.Header().Set("Retry-After", "30")
				writeError(w, http.StatusServiceUnavailable, "store_lost", err.Error())
				return
			}
		}
		next(w, r)
	}
}

// statusRecorder remembers what a handler answered, for the request log
// and the metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
	token  string
	route  string
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the real writer (asynqmon streams).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// logRequests logs one line per request: no headers, no bodies, no query
// strings, so no credential can reach the log. It is also where a
// request's span starts and ends (tracing.StartServer), named by the
// route that served it.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" || r.URL.Path == "/metrics" {
			next.ServeHTTP(rec, r)
			return
		}
		r, span := tracing.StartServer(r)
		next.ServeHTTP(rec, r)
		span.Finish(rec.route, rec.status, rec.token)
		if s.Metrics != nil {
			route := rec.route
			if route == "" {
				route = "unauthenticated"
			}
			switch {
			case strings.HasPrefix(r.URL.Path, "/monitoring"):
				route = "/monitoring"
			case strings.HasPrefix(r.URL.Path, "/console"):
				route = "/console"
			}
			s.Metrics.APIRequests.WithLabelValues(route, strconv.Itoa(rec.status)).Inc()
			s.Metrics.APILatency.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}
		ev := s.Log.Info()
		if rec.status >= 500 {
			ev = s.Log.Error()
		}
		ev.Str("method", r.Method).Str("path", r.URL.Path).Int("status", rec.status).
			Dur("duration", time.Since(start)).Str("token", rec.token).Str("remote", r.RemoteAddr).Msg("request")
	})
}
