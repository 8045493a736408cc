package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/reglock/reglock/secret"
)

// Client calls a reglock API over HTTP: what the CLI uses with --api, what
// the end-to-end tests drive, and what a Go producer can use instead of
// enqueueing tasks itself.
//
// A Client is a plain struct; there is no constructor. Set BaseURL to the
// API's root (the scheme, host and port reglock serves on, e.g.
// "https://reglock.internal:8080", without "/v1": a trailing slash is
// ignored), and Token to a token of the configuration's api.tokens with the
// scope each call needs (read for Domain, Domains, History and the other
// reads; write for Lock, Unlock, TradeLock and StartSweep; admin, which
// grants every scope, for ApplySweep and Forget). The token is sent as
// "Authorization: Bearer <token>" on every request.
//
//	c := &client.Client{BaseURL: "https://reglock.internal:8080", Token: secret.String(tok)}
//
// HTTP is the http.Client the requests go through; nil is a client with a
// 30-second timeout. Set it for another timeout, a proxy, TLS settings or
// a tracing transport. Each method also takes a context, whose deadline
// and cancellation apply to that call. The server's api.InProcess returns
// a Client that calls a handler in this process instead of the network. A
// Client is safe for concurrent use.
//
// Changes (Lock, Unlock, TradeLock) only record the desired state and queue
// the work: they return an Accepted naming the domain's new generation as
// soon as the intent is stored; a worker then applies it at the registrar.
// Read Domain for what is desired, what the registrar last showed, and
// whether the two agree.
//
// When the API answers with an error status, the error is an *Error
// carrying the HTTP status and the API's machine-readable code (e.g.
// "provider_required", "invalid_domain", "unauthorized"); use errors.As to
// read it. Any other error (a refused connection, a timeout, a cancelled
// context) is the transport's, and the request may or may not have reached
// the API: retry a write with the same idempotency key
// (WithIdempotencyKey) to be sure it is recorded once.
type Client struct {
	// BaseURL is the API's root URL, e.g. "http://127.0.0.1:8080".
	BaseURL string
	// Token is the bearer token sent with every request.
	Token secret.String
	// HTTP sends the requests; nil is an http.Client with a 30s timeout.
	HTTP *http.Client
}

// Error is an error answer of the API: the status and the code and message
// of its JSON error envelope ({"error": {"code": ..., "message": ...}}).
// An error answer that is not in the envelope (a proxy's page, say) has the
// code "http_error" and the start of its body as the message.
type Error struct {
	// Status is the HTTP status code, e.g. 422.
	Status int `json:"-"`
	// Code is the API's stable error code, e.g. "provider_required"; the
	// OpenAPI description (GET /v1/openapi.json) lists them all.
	Code string `json:"code"`
	// Message is a human-readable explanation; do not match on it.
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Code, e.Status, e.Message)
}

// ErrorEnvelope is the body of every error answer of /v1:
// {"error": {"code": "...", "message": "..."}}.
type ErrorEnvelope struct {
	Error Error `json:"error"`
}

// CodeHTTPError is the code of an error answer that is not in the API's
// envelope: a proxy's or load balancer's page, say.
const CodeHTTPError = "http_error"

const (
	// maxAnswer bounds the body of a successful answer that is read.
	maxAnswer = 16 << 20
	// maxErrorBody bounds the body of an error answer that is read.
	maxErrorBody = 64 << 10
	// maxMessage bounds the message taken from an error answer that is not
	// in the envelope (an HTML page, say).
	maxMessage = 512
)

// ListQuery filters GET /v1/domains.
type ListQuery struct {
	// Provider keeps the domains of one account (a provider's name).
	Provider string
	// Drift keeps the domains that are not in their desired state.
	Drift bool
	// Cursor is a page's NextCursor, for the page after it; "" is the first.
	Cursor string
	// Limit is the most domains a page holds (1 to 1000; 0 is the API's
	// default). A page may hold fewer before the end: follow NextCursor
	// until it is nil.
	Limit int
}

// Lock asks for desired = locked.
func (c *Client) Lock(ctx context.Context, domain string, r LockRequest) (Accepted, error) {
	var out Accepted
	return out, c.do(ctx, http.MethodPost, domainPath(domain)+"/lock", r, &out)
}

// Unlock asks for desired = unlocked.
func (c *Client) Unlock(ctx context.Context, domain string, r UnlockRequest) (Accepted, error) {
	var out Accepted
	return out, c.do(ctx, http.MethodDelete, domainPath(domain)+"/lock", r, &out)
}

// TradeLock sets the trade lock setting.
func (c *Client) TradeLock(ctx context.Context, domain string, r TradeLockRequest) (Accepted, error) {
	var out Accepted
	return out, c.do(ctx, http.MethodPut, domainPath(domain)+"/trade-lock", r, &out)
}

// Domain reads one domain's record.
func (c *Client) Domain(ctx context.Context, domain string) (Domain, error) {
	var out Domain
	return out, c.do(ctx, http.MethodGet, domainPath(domain), nil, &out)
}

// Domains reads one page of the inventory.
func (c *Client) Domains(ctx context.Context, q ListQuery) (DomainList, error) {
	v := url.Values{}
	if q.Provider != "" {
		v.Set("provider", q.Provider)
	}
	if q.Drift {
		v.Set("drift", "true")
	}
	if q.Cursor != "" {
		v.Set("cursor", q.Cursor)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out DomainList
	return out, c.do(ctx, http.MethodGet, "/v1/domains"+query(v), nil, &out)
}

// StartSweep starts a sweep.
func (c *Client) StartSweep(ctx context.Context, r SweepRequest) (SweepStarted, error) {
	var out SweepStarted
	return out, c.do(ctx, http.MethodPost, "/v1/sweeps", r, &out)
}

// Sweep reads a sweep's progress.
func (c *Client) Sweep(ctx context.Context, id string) (Sweep, error) {
	var out Sweep
	return out, c.do(ctx, http.MethodGet, "/v1/sweeps/"+url.PathEscape(id), nil, &out)
}

// ApplySweep queues the held fixes of a paused sweep.
func (c *Client) ApplySweep(ctx context.Context, id string) (Sweep, error) {
	var out Sweep
	return out, c.do(ctx, http.MethodPost, "/v1/sweeps/"+url.PathEscape(id)+"/apply", nil, &out)
}

// History reads a page of a domain's history, newest first: cursor is a
// page's NextCursor ("" for the newest), limit the most events a page
// holds (0 is the API's default).
func (c *Client) History(ctx context.Context, domain, cursor string, limit int) (History, error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out History
	return out, c.do(ctx, http.MethodGet, domainPath(domain)+"/history"+query(v), nil, &out)
}

// Sweeps reads a page of sweeps, newest first; state filters by state
// (running, paused or done; "" for all), cursor is a page's NextCursor.
func (c *Client) Sweeps(ctx context.Context, state, cursor string) (SweepList, error) {
	v := url.Values{}
	if state != "" {
		v.Set("state", state)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var out SweepList
	return out, c.do(ctx, http.MethodGet, "/v1/sweeps"+query(v), nil, &out)
}

// SweepReport reads a sweep's report.
func (c *Client) SweepReport(ctx context.Context, id string) (SweepReport, error) {
	var out SweepReport
	return out, c.do(ctx, http.MethodGet, "/v1/sweeps/"+url.PathEscape(id)+"/report", nil, &out)
}

// Compliance reads the per-provider compliance summary.
func (c *Client) Compliance(ctx context.Context) (Compliance, error) {
	var out Compliance
	return out, c.do(ctx, http.MethodGet, "/v1/compliance", nil, &out)
}

// Forget removes a domain from the inventory (admin).
func (c *Client) Forget(ctx context.Context, domain string, r ForgetRequest) (Forgotten, error) {
	var out Forgotten
	return out, c.do(ctx, http.MethodDelete, domainPath(domain), r, &out)
}

// domainPath is a domain's path, the name escaped as one path segment.
func domainPath(domain string) string { return "/v1/domains/" + url.PathEscape(domain) }

func query(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}

type idempotencyKey struct{}

// WithIdempotencyKey returns a context that makes the writes called with it
// (Lock, Unlock, TradeLock, StartSweep, ApplySweep, Forget) send
// "Idempotency-Key: key". The API answers a retry of the same request
// (same token, method, path and body) within 24 hours with the first
// answer, and records no second intent; the same key on a different
// request is refused (422 idempotency_key_reused), and while the first is
// still running a retry gets 409 idempotency_in_progress. A key is 1 to
// 255 visible ASCII characters, one per intended change and the same for
// each retry of it: a UUID, or the ID of the producer's own job. Reads do
// not send it. An empty key sends none.
func WithIdempotencyKey(ctx context.Context, key string) context.Context {
	return context.WithValue(ctx, idempotencyKey{}, key)
}

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.BaseURL, "/")+path, body)
	if err != nil {
		return c.redact(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+c.Token.Reveal())
	if key, _ := ctx.Value(idempotencyKey{}).(string); key != "" && method != http.MethodGet {
		req.Header.Set("Idempotency-Key", key)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return c.redact(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return c.answerError(resp.StatusCode, data)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return c.redact(err)
	}
	return json.Unmarshal(data, out)
}

// answerError is the *Error of an error answer: its envelope's code and
// message, else http_error and the start of its body.
func (c *Client) answerError(status int, data []byte) *Error {
	var env ErrorEnvelope
	if json.Unmarshal(data, &env) == nil && env.Error.Code != "" {
		return &Error{Status: status, Code: env.Error.Code, Message: c.redactText(env.Error.Message)}
	}
	msg := strings.TrimSpace(strings.ToValidUTF8(string(data), "\uFFFD"))
	if len(msg) > maxMessage {
		cut := maxMessage
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = strings.TrimSpace(msg[:cut]) + "…"
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Status: status, Code: CodeHTTPError, Message: c.redactText(msg)}
}

// redactText keeps the token out of a text an answer or a transport wrote
// (one that echoes the request's headers, say): secrets never reach errors.
func (c *Client) redactText(s string) string {
	if tok := c.Token.Reveal(); tok != "" {
		s = strings.ReplaceAll(s, tok, secret.Redacted)
	}
	return s
}

// redact returns err, or, when its text holds the token, an error with the
// token redacted that still matches what err matches with errors.Is (a
// context's cancellation or deadline, say).
func (c *Client) redact(err error) error {
	if tok := c.Token.Reveal(); tok == "" || !strings.Contains(err.Error(), tok) {
		return err
	}
	return &redactedError{text: c.redactText(err.Error()), err: err}
}

// redactedError is a transport error whose text held the token.
type redactedError struct {
	text string
	err  error
}

func (e *redactedError) Error() string { return e.text }

// Is lets errors.Is see through to the original error; there is no Unwrap,
// so that its text cannot be reached.
func (e *redactedError) Is(target error) bool { return errors.Is(e.err, target) }
