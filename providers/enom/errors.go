package enom

import (
	"errors"
	"fmt"
	"slices"
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

// eNom's error texts, matched case-insensitively as substrings: the IP
// message carries a suffix (" - 4" or the caller's address).
const (
	textBadAuth         = "bad user name or password"
	textIPNotPermitted  = "user not permitted from this ip address"
	textInvalidClientIP = "invalid client ip" // a second wording, seen by a ClientExec eNom plugin
	textNotFound        = "domain name not found"
	textAlreadyUnlocked = "domain is already unlocked"
	textAlreadyLocked   = "domain is already locked"
	textTryAgain        = "try again"
)

// eNom's ResponseNumbers (system, error and parameter digits: 3 validation,
// 04 invalid, 155 login ID; 7 policy, 13 unauthorized, 254 user; 3
// validation, 16 not found, 153 domain name), from its troubleshooting
// article and the not-found answer public clients embed.
const (
	numberBadLogin     = 304155 // "Validation error; invalid ; loginid"
	numberIPNotAllowed = 713254 // "Policy error; unauthorized; user(s)"
	numberNotFound     = 316153 // "Validation error; not found; domain name(s)"
)

// delayRegistryBusy is how long to wait after "too many sessions" (RRP 521,
// EPP 2502): eNom names no delay; its sessions with the registry free up
// in seconds.
const delayRegistryBusy = 5 * time.Second

// maxErrorText bounds the error text kept in a message.
const maxErrorText = 500

// rrpClass is what an RRPCode (RFC 2832's RRP codes, or the EPP result
// codes of RFC 5730 that eNom passes on in the same field) means for a
// lock command.
type rrpClass int

const (
	rrpUnknown      rrpClass = iota // no rule: Unrecognized
	rrpSuccess                      // not an error
	rrpNotFound                     // the account does not hold the domain
	rrpNotPermitted                 // the domain's status forbids the change
	rrpRefused                      // refused; the domain's or the account's problem
	rrpBusy                         // the registry has no session for eNom now
	rrpTransient                    // a server error, or a state that clears
	rrpInvalid                      // the request itself is wrong: retrying cannot help
)

// rrpCodes is the RRPCode table (TestClient_rrpCodeWithoutErr1 holds each
// row). RRP codes and texts from RFC 2832, as eNom's "RRP Return Codes" page
// lists them; EPP result codes from RFC 5730 section 3, whose texts
// WWW::eNom meets in eNom's RRPText. The registrar's own authentication to the registry (RRP
// 530, 535; EPP 2200, 2501) is eNom's connection, not this account's
// credentials: transient, never ErrAuth. A domain sponsored by someone else
// (RRP 531, EPP 2201: WWW::eNom reads GetRegLock's "Authorization error"
// as "owned by someone else") is not held by the account: ErrNotFound.
var rrpCodes = map[int]rrpClass{
	// RRP success: completed, domain/name server (not) available, closing.
	200: rrpSuccess, 210: rrpSuccess, 211: rrpSuccess, 212: rrpSuccess, 213: rrpSuccess, 220: rrpSuccess,
	// EPP success: completed, pending, (no) messages, ending session.
	1000: rrpSuccess, 1001: rrpSuccess, 1300: rrpSuccess, 1301: rrpSuccess, 1500: rrpSuccess,

	545: rrpNotFound, 531: rrpNotFound, // entity reference not found; authorization failed
	2303: rrpNotFound, 2201: rrpNotFound, // object does not exist; authorization error

	544: rrpNotPermitted, 552: rrpNotPermitted, // entity on hold; domain status does not allow
	2304: rrpNotPermitted, // object status prohibits operation

	521: rrpBusy, 2502: rrpBusy, // too many sessions; session limit exceeded

	420: rrpTransient, 421: rrpTransient, 520: rrpTransient, 549: rrpTransient, // server errors, command failed
	530: rrpTransient, 535: rrpTransient, // the registrar's authentication, its IP address
	536: rrpTransient, 553: rrpTransient, // pending transfer: clears
	2400: rrpTransient, 2500: rrpTransient, 2501: rrpTransient, 2200: rrpTransient, 2300: rrpTransient,

	// Syntax and parameter errors: the same request gets the same answer.
	500: rrpInvalid, 501: rrpInvalid, 502: rrpInvalid, 503: rrpInvalid, 504: rrpInvalid,
	505: rrpInvalid, 506: rrpInvalid, 507: rrpInvalid, 508: rrpInvalid, 509: rrpInvalid,
	510: rrpInvalid, 541: rrpInvalid,
	2000: rrpInvalid, 2001: rrpInvalid, 2003: rrpInvalid, 2004: rrpInvalid, 2005: rrpInvalid,
}

// rrpTexts are RRPText values that say what they mean without a code: the
// EPP result texts WWW::eNom matches in GetRegLock's errors, which arrive
// in RRPText with no Err1.
var rrpTexts = []struct {
	text  string
	class rrpClass
}{
	{"object does not exist", rrpNotFound},
	{"authorization error", rrpNotFound},
	{"command blocked", rrpRefused},
	{"object status prohibits operation", rrpNotPermitted},
}

// rrpString is RRPCode and RRPText for a message.
func (r response) rrpString() string {
	switch {
	case r.rrpCode == "":
		return "RRPText " + r.rrpText
	case r.rrpText == "":
		return "RRPCode " + r.rrpCode
	}
	return "RRPCode " + r.rrpCode + ": " + r.rrpText
}

// rrp classifies the answer's RRPCode and RRPText: by code when the table
// has it, else by text.
func (r response) rrp() rrpClass {
	if n, err := strconv.Atoi(r.rrpCode); err == nil {
		if c, ok := rrpCodes[n]; ok {
			return c
		}
	}
	lower := strings.ToLower(r.rrpText)
	for _, t := range rrpTexts {
		if strings.Contains(lower, t.text) {
			return t.class
		}
	}
	return rrpUnknown
}

// rrpFailed reports whether RRPCode is a failure code: RRP's 4xx and 5xx,
// EPP's 2xxx. An error can arrive there with ErrCount 0.
func (r response) rrpFailed() bool {
	n, err := strconv.Atoi(r.rrpCode)
	return err == nil && (n >= 400 && n <= 599 || n >= 2000 && n <= 2999)
}

// classify decides what a parsed answer means; it is the one place where
// eNom's answers become reglock's error vocabulary. Texts for messages pass
// through redact; matching uses the raw texts. eNom's own texts and
// numbers come first (they are specific), then IsLockable, then the
// registry's RRPCode/RRPText; an answer none of them explains is
// providers.Unrecognized.
func classify(r response, redact func(string) string) error {
	if !r.done {
		return errTruncated
	}
	if r.errCount < 0 {
		return errors.New("answer has no ErrCount")
	}
	if r.errCount == 0 && !r.rrpFailed() {
		return nil
	}
	var parts []string
	if len(r.errs) == 0 && r.errCount > 0 {
		parts = append(parts, fmt.Sprintf("ErrCount %d without Err1", r.errCount))
	}
	parts = slices.Concat(parts, r.errs, r.responseStrings)
	if r.rrpCode != "" || r.rrpText != "" {
		parts = append(parts, r.rrpString())
	}
	raw := strings.Join(parts, "; ")
	text, lower := redact(raw), strings.ToLower(raw)
	if len(text) > maxErrorText {
		text = strings.ToValidUTF8(text[:maxErrorText], "") + "…"
	}
	has := func(n int) bool { return slices.Contains(r.responseNumbers, n) }
	switch {
	case strings.Contains(lower, textBadAuth), strings.Contains(lower, textIPNotPermitted),
		strings.Contains(lower, textInvalidClientIP), has(numberBadLogin), has(numberIPNotAllowed):
		return fmt.Errorf("%s: %w", text, providers.ErrAuth)
	case strings.Contains(lower, textNotFound), has(numberNotFound):
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
	switch r.rrp() {
	case rrpNotFound:
		return fmt.Errorf("%s: %w", text, providers.ErrNotFound)
	case rrpNotPermitted:
		return fmt.Errorf("%s: %w", text, providers.ErrNotPermitted)
	case rrpRefused:
		return fmt.Errorf("%s: %w", text, providers.ErrRefused)
	case rrpBusy:
		return providers.RetryAfter(delayRegistryBusy, errors.New(text))
	case rrpTransient:
		return errors.New(text)
	case rrpInvalid:
		return providers.Permanent(errors.New(text))
	}
	if strings.Contains(lower, textTryAgain) {
		// eNom's generic "An unexpected error has occurred. Please try
		// again later." says what to do.
		return errors.New(text)
	}
	return providers.Unrecognized(errors.New(text))
}
