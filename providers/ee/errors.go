package ee

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/reglock/reglock/providers"
)

// sentinel is an error that also is (unwraps to) a vocabulary error.
type sentinel struct {
	msg string
	is  error
}

func (s *sentinel) Error() string { return s.msg }
func (s *sentinel) Unwrap() error { return s.is }

// The registry's answers that callers inside the package branch on.
var (
	// errUnauthorized is a refused Bearer token; it is providers.ErrAuth
	// and makes an eID client log in again once.
	errUnauthorized = &sentinel{"token refused", providers.ErrAuth}
	// errCannotLock and errNotLocked are refused lock changes: SetLock reads
	// the domain back to decide what they mean.
	errCannotLock = errors.New("lock refused")
	errNotLocked  = errors.New("unlock refused")
)

// The registry's texts, matched case-insensitively as substrings: api/v1
// says "Domain cannot be locked" and "Domain is not locked", the 2018 draft
// "domain cannot be locked" and "domain cannot be unlocked".
const (
	textCannotLock   = "cannot be locked"
	textNotLocked    = "is not locked"
	textCannotUnlock = "cannot be unlocked"
	textNotAdmin     = "only administrative contacts"
)

// classify decides what an HTTP answer means; it is the one place where the
// registry's answers become reglock's error vocabulary. Texts for messages
// pass through the redactor; matching uses the raw texts.
//
//   - 2xx: success;
//   - 401: ErrNotPermitted for a technical contact ("Only administrative
//     contacts can manage registry locks"), else ErrAuth;
//   - 404: ErrNotFound for a domain; for the listing or the login, the
//     Endpoint or API is wrong: permanent;
//   - 400/422: refused lock changes (SetLock decides), a refused login
//     (ErrAuth), else a permanent rejection (limit/offset out of range);
//   - 429/503 with Retry-After: a *RetryAfterError; other statuses: a
//     transient *StatusError.
func classify(kind op, status int, h http.Header, body []byte, now time.Time, r *providers.Redactor) error {
	if status >= 200 && status < 300 {
		return nil
	}
	msgs := parseErrors(body)
	raw := messagesText(msgs)
	lower := strings.ToLower(raw)
	se := &providers.StatusError{Code: status, Body: r.BodySummary(h.Get("Content-Type"), body)}
	text := r.Redact(raw)
	if text == "" {
		text = se.Error()
	}
	switch status {
	case http.StatusUnauthorized:
		switch {
		case strings.Contains(lower, textNotAdmin):
			return fmt.Errorf("%s: %w", text, providers.ErrNotPermitted)
		case kind == opLogin:
			return fmt.Errorf("%s (is this host on the registry's allow-list for auth/eid?): %w", text, providers.ErrAuth)
		}
		return fmt.Errorf("%s: %w", text, errUnauthorized)
	case http.StatusNotFound:
		if kind == opDomain {
			return fmt.Errorf("%s: %w", text, providers.ErrNotFound)
		}
		return providers.Permanent(fmt.Errorf("%w (check Endpoint and API)", se))
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		switch {
		case kind == opDomain && strings.Contains(lower, textCannotLock):
			return fmt.Errorf("%s: %w", text, errCannotLock)
		case kind == opDomain && (strings.Contains(lower, textNotLocked) || strings.Contains(lower, textCannotUnlock)):
			return fmt.Errorf("%s: %w", text, errNotLocked)
		case kind == opLogin:
			return fmt.Errorf("login refused: %s: %w", text, providers.ErrAuth)
		}
		return providers.Permanent(fmt.Errorf("registry rejected the request: %s", text))
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if d, ok := providers.ParseRetryAfter(h.Get("Retry-After"), now); ok {
			return providers.RetryAfter(d, se)
		}
	}
	return se
}

// messagesText joins error messages for a log line: "Domain not found",
// "limit: parameter is out of range".
func messagesText(msgs []apiMessage) string {
	parts := make([]string, 0, len(msgs))
	for _, m := range msgs {
		if m.field == "" || m.field == "base" || m.field == "error" {
			parts = append(parts, m.text)
		} else {
			parts = append(parts, m.field+": "+m.text)
		}
	}
	return strings.Join(parts, "; ")
}
