package enom

import (
	"errors"
	"fmt"
	"strings"

	"github.com/reglock/reglock/providers"
)

// These mean "already in the requested state". SetLock turns them into
// success for the direction they belong to; anywhere else they are
// ordinary transient errors.
var (
	errAlreadyUnlocked = errors.New("domain already unlocked")
	errAlreadyLocked   = errors.New("domain already locked")
)

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
