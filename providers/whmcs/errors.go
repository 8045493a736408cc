package whmcs

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/reglock/reglock/providers"
)

// Errors the client itself branches on; all but the "already" ones are
// also reglock's vocabulary through what they wrap.
var (
	// errDomainIDNotFound is WHMCS's "Domain ID Not Found": the id, perhaps
	// cached, names no domain (any more). The client looks the name up again
	// once before it believes it.
	errDomainIDNotFound = fmt.Errorf("WHMCS has no domain with that id: %w", providers.ErrNotFound)
	// errNoSuchDomain is a lookup by name that matched nothing.
	errNoSuchDomain = fmt.Errorf("WHMCS holds no domain of that name: %w", providers.ErrNotFound)
	// errAlreadyUnlocked and errAlreadyLocked are registrar module texts
	// passed through by WHMCS that mean "already in the requested state"
	// (eNom's module says so). SetLock turns them into success for the
	// direction they belong to; anywhere else they are transient errors.
	errAlreadyUnlocked = errors.New("domain already unlocked")
	errAlreadyLocked   = errors.New("domain already locked")
	// errJSONEncoding is WHMCS's "Error generating JSON encoded response:
	// Malformed UTF-8 characters, possibly incorrectly encoded": a record
	// holds bytes that are not UTF-8 (a database restored from a dump in
	// another charset) and PHP's json_encode refuses them. The same request
	// can never succeed as JSON; the client asks again for XML, which WHMCS
	// writes without that check.
	errJSONEncoding = errors.New("WHMCS cannot encode its answer as JSON")
)

// WHMCS's texts, matched case-insensitively. The first group refuses the
// caller: wrong identifier ("Invalid or missing credentials"), wrong secret
// ("Authentication Failed"), an address outside the API IP allow-list
// ("Invalid IP 203.0.113.9"), a banned address, or an API role without the
// command ("Invalid Permissions: API action "x" is not allowed").
var authTexts = []string{
	"authentication failed",
	"invalid or missing credentials",
	"ip banned",
	"access denied",
	"invalid permissions",
}

const (
	// Both spellings of the API IP allow-list's refusal have been seen:
	// "Invalid IP 127.0.0.1" and "Forbidden IP 127.65.4.46"
	// (sburina/laravel-whmcs-up#5).
	textInvalidIP      = "invalid ip"
	textForbiddenIP    = "forbidden ip"
	textDomainIDAbsent = "domain id not found"
	textDomainAbsent   = "domain not found"
	// textModuleConfig is the DomainUpdateLockingStatus document's own
	// error: the registrar module's settings in WHMCS are wrong, which only
	// an operator can fix.
	textModuleConfig = "an invalid configuration was detected with the registrar module"
	// WHMCS without the command (older versions, or a typo): "Command Not
	// Found", or 'Invalid API Action: "x"' in newer versions.
	textNoCommand     = "command not found"
	textInvalidAction = "invalid api action"
	textAlreadyUnlock = "already unlocked"
	textAlreadyLock   = "already locked"
	// textJSONEncoding starts WHMCS's message when json_encode fails; PHP's
	// own reason follows ("Malformed UTF-8 characters, possibly incorrectly
	// encoded" in the reports).
	textJSONEncoding = "error generating json encoded response"
	textMalformedUTF = "malformed utf-8 characters"
)

// answer is one HTTP exchange as classify sees it.
type answer struct {
	status int
	header http.Header
	// r and parseErr are parseResponse's reading of the body.
	r        response
	parseErr error
	// snippet is a summary of the body (providers.BodySummary: an HTML
	// page's title, the start of a text) with the credentials removed,
	// made only when an error needs it.
	snippet func() string
}

// classify decides what an answer means; it is the one place where WHMCS's
// answers become reglock's error vocabulary. WHMCS's api.php sends errors
// at 200 or 403, so the body's result and message count, not the status,
// except that a 429 or 503 with Retry-After (a rate limiter or load
// balancer in front of WHMCS, which documents none itself) means "come back
// later". Texts for messages pass through redact; matching uses the raw
// texts.
func classify(a answer, redact func(string) string, now time.Time) error {
	if a.status == http.StatusTooManyRequests || a.status == http.StatusServiceUnavailable {
		if d, ok := providers.ParseRetryAfter(a.header.Get("Retry-After"), now); ok {
			return providers.RetryAfter(d, &providers.StatusError{Code: a.status, Body: a.snippet()})
		}
	}
	if a.parseErr != nil {
		if s := a.snippet(); strings.Contains(strings.ToLower(s), textJSONEncoding) {
			// The encoder's complaint as bare text rather than JSON (no
			// public report shows its envelope or status).
			return fmt.Errorf("%w: %s", errJSONEncoding, s)
		}
		if a.status < 200 || a.status > 299 {
			return statusError(a.status, a.header, a.snippet())
		}
		return fmt.Errorf("%w: %s", a.parseErr, a.snippet())
	}
	switch {
	case strings.EqualFold(a.r.result, "success"):
		return nil
	case strings.EqualFold(a.r.result, "error"):
		return classifyMessage(a.r.message, redact)
	case a.r.odd != "":
		// An answer shaped as no documented answer of these commands is: its
		// message may still be one with a rule (an IP refusal); otherwise it
		// is retried a few times, then reported.
		err := classifyMessage(a.r.message, redact)
		var m *moduleError
		if errors.As(err, &m) {
			return providers.Unrecognized(fmt.Errorf("answer without result, %s: %w", a.r.odd, err))
		}
		return err
	}
	return providers.Unrecognized(fmt.Errorf("%w: result %q: %s", errMalformed, redact(a.r.result), a.snippet()))
}

// moduleError is an error message no rule matches: a registrar module's
// own text, which WHMCS passes through. It is transient: the registrar may
// be down, and the worker's capped backoff bounds the cost of retrying.
type moduleError struct{ text string }

func (e *moduleError) Error() string { return e.text }

// classifyMessage maps an error message onto the vocabulary; a text
// without a rule is a *moduleError.
func classifyMessage(raw string, redact func(string) string) error {
	text := redact(strings.TrimSpace(raw))
	if text == "" {
		return &moduleError{"WHMCS answered result=error without a message"}
	}
	lower := strings.ToLower(raw)
	switch {
	case strings.HasPrefix(lower, textInvalidIP), strings.HasPrefix(lower, textForbiddenIP), containsAny(lower, authTexts):
		return fmt.Errorf("%s: %w", text, providers.ErrAuth)
	case strings.Contains(lower, textDomainIDAbsent):
		return fmt.Errorf("%s: %w", text, errDomainIDNotFound)
	case strings.Contains(lower, textDomainAbsent):
		return fmt.Errorf("%s: %w", text, providers.ErrNotFound)
	case strings.Contains(lower, textModuleConfig):
		return providers.Permanent(fmt.Errorf("%s (fix the registrar module's settings in WHMCS)", text))
	case strings.Contains(lower, textNoCommand), strings.Contains(lower, textInvalidAction):
		return providers.Permanent(fmt.Errorf("%s (this WHMCS does not offer the command)", text))
	case strings.Contains(lower, textJSONEncoding), strings.Contains(lower, textMalformedUTF):
		return fmt.Errorf("%s: %w", text, errJSONEncoding)
	case strings.Contains(lower, textAlreadyUnlock):
		return fmt.Errorf("%s: %w", text, errAlreadyUnlocked)
	case strings.Contains(lower, textAlreadyLock):
		return fmt.Errorf("%s: %w", text, errAlreadyLocked)
	}
	return &moduleError{text}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// statusError classifies an HTTP answer without a WHMCS body: transient,
// with a redirect's target (without its query) named, since a redirect
// usually means a wrong Endpoint.
func statusError(code int, h http.Header, snippet string) error {
	se := &providers.StatusError{Code: code, Body: snippet}
	if code >= 300 && code <= 399 {
		if loc, err := url.Parse(h.Get("Location")); err == nil && loc.String() != "" {
			loc.RawQuery, loc.Fragment, loc.User = "", "", nil
			return fmt.Errorf("redirected to %s (Endpoint should be the final URL of includes/api.php): %w", loc, se)
		}
	}
	return se
}
