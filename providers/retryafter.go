package providers

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxRetryAfter caps a registrar's Retry-After, so that a bogus value cannot
// park work for days.
const MaxRetryAfter = time.Hour

// ParseRetryAfter parses a Retry-After header (delay-seconds or an HTTP
// date, RFC 9110 section 10.2.3), capped at MaxRetryAfter; a date in the
// past is zero. ok is false for an absent or malformed value.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter, true
		}
		return time.Duration(secs) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	return min(max(t.Sub(now), 0), MaxRetryAfter), true
}

// HTTPStatusError classifies an HTTP status that the registrar's protocol
// does not itself send (eNom and XCP answer everything with 200): a load
// balancer's or rate limiter's 429 or 503 with Retry-After means "come back
// later"; anything else is a transient *StatusError.
func HTTPStatusError(code int, h http.Header, snippet string, now time.Time) error {
	se := &StatusError{Code: code, Body: snippet}
	if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
		if d, ok := ParseRetryAfter(h.Get("Retry-After"), now); ok {
			return RetryAfter(d, se)
		}
	}
	return se
}
