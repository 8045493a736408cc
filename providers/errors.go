package providers

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// The permanent errors callers branch on. Retrying cannot fix them: the
// worker records them on the domain and archives the task.
var (
	// ErrNotFound: the account does not hold the domain.
	ErrNotFound = errors.New("domain not found in the registrar account")
	// ErrAuth: the registrar refused the credentials or the caller's address.
	ErrAuth = errors.New("registrar refused the credentials")
	// ErrNotLockable: the registry offers no registrar lock for this domain.
	ErrNotLockable = errors.New("domain cannot be locked at this registrar")
	// ErrNotPermitted: the credentials are good, but this account may not
	// change this domain (a .ee technical contact, for one).
	ErrNotPermitted = errors.New("the account may not change this domain's lock")
	// ErrRefused: the registrar refused a request about this domain in a
	// way that does not tell whether the domain or the account is the
	// problem (OpenSRS answers 415 both for a domain the reseller does not
	// hold and, reportedly, for a bad signature). It is permanent for the
	// domain; the circuit breaker takes refusals of several distinct
	// domains as evidence about the account.
	ErrRefused = errors.New("registrar refused the request for this domain")
)

// ErrNoBulk is returned by a BulkReader that cannot read this account in
// bulk (eNom's GetAllDomains above its configured size): the caller reads
// the account domain by domain instead.
var ErrNoBulk = errors.New("registrar account too large to read in bulk")

// unrecognizedError marks an answer the adapter could not classify.
type unrecognizedError struct{ err error }

func (e *unrecognizedError) Error() string { return e.err.Error() }
func (e *unrecognizedError) Unwrap() error { return e.err }

// Unrecognized marks err as an answer the adapter could not classify (an
// error code it has no rule for): it is retried like a transient error a
// bounded number of times (UnrecognizedAttempts), then reported as
// permanent, so that it is neither archived at once nor retried for hours.
func Unrecognized(err error) error {
	if err == nil {
		return nil
	}
	return &unrecognizedError{err: err}
}

// UnrecognizedAttempts is how many attempts an unrecognized answer gets.
const UnrecognizedAttempts = 3

// IsUnrecognized reports whether err is an answer the adapter could not
// classify.
func IsUnrecognized(err error) bool {
	var u *unrecognizedError
	return errors.As(err, &u)
}

// permanentError marks an error that retrying will not fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as not worth retrying. Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err is permanent: ErrNotFound, ErrAuth,
// ErrNotLockable, ErrNotPermitted, ErrRefused, or anything wrapped by
// Permanent. A
// *RetryAfterError is never permanent, whatever it wraps: "try again
// later" is the verdict (a circuit breaker waiting out refused credentials).
func IsPermanent(err error) bool {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return false
	}
	var p *permanentError
	return errors.As(err, &p) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrAuth) ||
		errors.Is(err, ErrNotLockable) || errors.Is(err, ErrNotPermitted) || errors.Is(err, ErrRefused)
}

// RetryAfterError says "try again, no sooner than After": the registrar is
// busy or rate-limited, or the local rate limit has no slot. It is not a
// failure and does not use up a retry.
type RetryAfterError struct {
	After time.Duration
	Err   error
}

func (e *RetryAfterError) Error() string {
	after := e.After
	switch {
	case e.After >= time.Second:
		after = e.After.Round(time.Second) // "59.973021542s" says nothing more
	case e.After >= time.Millisecond:
		after = e.After.Round(time.Millisecond)
	}
	return fmt.Sprintf("retry after %s: %v", after, e.Err)
}

func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err as a *RetryAfterError.
func RetryAfter(after time.Duration, err error) error {
	return &RetryAfterError{After: after, Err: err}
}

// StatusError is an HTTP answer that the protocol does not define: a 5xx
// from a proxy, an HTML error page. It is transient unless wrapped.
type StatusError struct {
	Code int
	// Body says what the body said, for the operator: its BodySummary
	// (an HTML page's title, the start of a text), never the page itself.
	Body string
}

// Error reads `unexpected HTTP status 502 Bad Gateway: "title"`. A Body
// that is not a summary (the raw start of a page) is summarised here, so
// that no markup reaches a log line or asynqmon.
func (e *StatusError) Error() string {
	s := summarize(e.Code, BodySummary("", []byte(e.Body)))
	if e.Code == 0 {
		return strings.TrimSpace("unexpected HTTP answer " + s)
	}
	return "unexpected HTTP status " + strings.TrimPrefix(s, "HTTP ")
}

// RedactURL strips the query, fragment and user info from a *url.Error so
// that credentials sent as parameters never reach a log. Other errors are
// returned unchanged.
func RedactURL(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	clean := *ue
	if u, perr := url.Parse(ue.URL); perr == nil {
		u.RawQuery, u.Fragment, u.User = "", "", nil
		clean.URL = u.String()
	} else {
		clean.URL = "(unparseable URL)"
	}
	return &clean
}
