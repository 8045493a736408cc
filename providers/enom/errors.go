package enom

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/reglock/reglock/providers"
)

// These mean "already in the requested state". SetLock turns them into
// success for the direction they belong to; anywhere else they are
// ordinary transient errors.
var (
	errAlreadyUnlocked = errors.New("domain already unlocked")
	errAlreadyLocked   = errors.New("domain already locked")
)

// maxRetryAfter caps a Retry-After header, so that a bogus value cannot
// park work for days.
const maxRetryAfter = time.Hour

// eNom's error texts, matched case-insensitively as substrings: the IP
// message carries a suffix (" - 4" or the caller's address).
const (
	textBadAuth         = "bad user name or password"
	textIPNotPermitted  = "user not permitted from this ip address"
	textNotFound        = "domain name not found"
	textAlreadyUnlocked = "domain is already unlocked"
	textAlreadyLocked   = "domain is already locked"
)

// numberNotFound is the ResponseNumber eNom pairs with "Domain name not
// found" ("Validation error; not found; domain name(s)").
const numberNotFound = 316153

// classify decides what a parsed answer means; it is the one place where
// eNom's answers become reglock's error vocabulary. Texts for messages pass
// through redact; matching uses the raw texts.
func classify(r response, redact func(string) string) error {
	if !r.done {
		return errTruncated
	}
	if r.errCount < 0 {
		return errors.New("answer has no ErrCount")
	}
	if r.errCount == 0 {
		return nil
	}
	raw := strings.Join(r.errs, "; ")
	if raw == "" {
		raw = fmt.Sprintf("ErrCount %d without error text", r.errCount)
	}
	text, lower := redact(raw), strings.ToLower(raw)
	switch {
	case strings.Contains(lower, textBadAuth), strings.Contains(lower, textIPNotPermitted):
		return fmt.Errorf("%s: %w", text, providers.ErrAuth)
	case strings.Contains(lower, textNotFound), r.responseNumber == numberNotFound:
		return fmt.Errorf("%s: %w", text, providers.ErrNotFound)
	case strings.Contains(lower, textAlreadyUnlocked):
		return fmt.Errorf("%s: %w", text, errAlreadyUnlocked)
	case strings.Contains(lower, textAlreadyLocked):
		return fmt.Errorf("%s: %w", text, errAlreadyLocked)
	case strings.EqualFold(r.isLockable, "False"):
		// Only domain-scoped answers say False; eNom documents no error
		// text for it, so IsLockable is what counts.
		return fmt.Errorf("%s: %w", text, providers.ErrNotLockable)
	}
	return errors.New(text)
}

// statusError classifies an HTTP answer other than 200, which eNom itself
// never sends: a load balancer's 503 or a rate limiter's 429 with
// Retry-After means "come back later"; anything else is transient.
func statusError(code int, h http.Header, snippet string, now time.Time) error {
	se := &providers.StatusError{Code: code, Body: snippet}
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		if d, ok := retryAfter(h.Get("Retry-After"), now); ok {
			return providers.RetryAfter(d, se)
		}
	}
	return se
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), maxRetryAfter), true
}
