package policy

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/reglock/reglock/config"
)

// Dates are the events of a domain that open policy windows; a zero time is
// an event that never happened or is not known.
type Dates struct {
	Registered        time.Time
	Transferred       time.Time
	RegistrantChanged time.Time
}

// of is the date of the event that opens windows of kind.
func (d Dates) of(kind string) time.Time {
	switch kind {
	case config.WindowRegistration:
		return d.Registered
	case config.WindowTransfer:
		return d.Transferred
	case config.WindowRegistrantChange:
		return d.RegistrantChanged
	}
	return time.Time{}
}

// Window is a policy window a domain is in.
type Window struct {
	// Kind is the event that opened it: config.WindowRegistration,
	// WindowTransfer or WindowRegistrantChange.
	Kind string
	// Started is the time of that event; Until is when the window ends.
	Started, Until time.Time
	// EnforcedBy is config.EnforcedByRegistry or EnforcedByRegistrar.
	EnforcedBy string
}

// Reason says why the domain is locked, for messages and reports:
// "locked by policy (transfer lock after registration) until
// 2026-03-02T10:00:00Z".
func (w Window) Reason() string {
	what := "transfer lock after " + eventName(w.Kind)
	if w.EnforcedBy == config.EnforcedByRegistrar {
		what = "registrar's " + what
	}
	return fmt.Sprintf("locked by policy (%s) until %s", what, w.Until.UTC().Format(time.RFC3339))
}

func eventName(kind string) string {
	switch kind {
	case config.WindowRegistrantChange:
		return "change of registrant"
	case "":
		return "an event"
	}
	return kind
}

// Windows are the configured policy windows (config.Policy.Windows).
type Windows []config.Window

// InEffect lists every window that domain (a TLD or a name under it) is in
// at now, registry- and registrar-enforced, the one ending first first. A
// window counts if the event that opens it happened while the window was
// effective (EffectiveFrom <= event < EffectiveUntil) and it ends after now.
func (ws Windows) InEffect(dates Dates, domain string, now time.Time) []Window {
	domain = normalize(domain)
	var out []Window
	for _, w := range ws {
		ev := dates.of(w.Kind)
		if ev.IsZero() || !covers(w.TLDs, domain) || !effectiveAt(w, ev) {
			continue
		}
		until := ev.Add(w.Duration)
		if !until.After(now) {
			continue
		}
		out = append(out, Window{Kind: w.Kind, Started: ev, Until: until, EnforcedBy: w.EnforcedBy})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Until.Before(out[j].Until) })
	return out
}

// Active returns the registry-enforced window domain is in at now, the one
// ending last if it is in several: until then the registry refuses a
// transfer whatever the registrar lock says. Registrar-enforced windows
// (which the registrant may opt out of) are in InEffect only.
func (ws Windows) Active(dates Dates, domain string, now time.Time) (Window, bool) {
	var best Window
	found := false
	for _, w := range ws.InEffect(dates, domain, now) {
		if w.EnforcedBy == config.EnforcedByRegistry && (!found || w.Until.After(best.Until)) {
			best, found = w, true
		}
	}
	return best, found
}

// effectiveAt reports whether w applies to an event at t.
func effectiveAt(w config.Window, t time.Time) bool {
	return (w.EffectiveFrom.IsZero() || !t.Before(w.EffectiveFrom)) &&
		(w.EffectiveUntil.IsZero() || t.Before(w.EffectiveUntil))
}

// covers reports whether a list of TLDs covers domain: "*", the TLD itself,
// or a name under it.
func covers(tlds []string, domain string) bool {
	for _, t := range tlds {
		if t == config.TLDsAll || under(domain, t) {
			return true
		}
	}
	return false
}

func under(domain, tld string) bool {
	return domain == tld || strings.HasSuffix(domain, "."+tld)
}

func normalize(domain string) string {
	return strings.ToLower(strings.TrimSuffix(domain, "."))
}

// Capability is what lock a TLD has.
type Capability struct {
	// TLD is the entry of the table that matched: a TLD, config.TLDsAll,
	// or "" for the built-in default (a registrar lock).
	TLD string
	config.TLDCapability
}

// Lockable reports whether reglock can lock and unlock domains of the TLD.
func (c Capability) Lockable() bool { return c.Lock != config.LockNone }

// RegistryOnly reports whether the TLD's only lock is the registry's.
func (c Capability) RegistryOnly() bool { return c.Lock == config.LockRegistry }

// Capabilities is the capability table (config.Policy.TLDs).
type Capabilities map[string]config.TLDCapability

// For returns the capability of tld, or of the TLD of a domain name: the
// longest entry that covers it (co.uk before uk), else the "*" entry, else
// a registrar lock.
func (cs Capabilities) For(tld string) Capability {
	name := normalize(tld)
	for {
		if c, ok := cs[name]; ok {
			return Capability{TLD: name, TLDCapability: c}
		}
		_, rest, ok := strings.Cut(name, ".")
		if !ok {
			break
		}
		name = rest
	}
	if c, ok := cs[config.TLDsAll]; ok {
		return Capability{TLD: config.TLDsAll, TLDCapability: c}
	}
	return Capability{TLDCapability: config.TLDCapability{Lock: config.LockRegistrar}}
}

// ErrUnlockable is what every *CannotLockError is (errors.Is): the TLD has
// no lock reglock can set.
var ErrUnlockable = errors.New("the TLD has no lock reglock can set")

// CannotLockError refuses a lock or unlock request for a TLD without a
// lock (policy.tlds: lock: none).
type CannotLockError struct {
	// TLD is the entry of policy.tlds that says so.
	TLD string
	// Why is the entry's note, or a default reason.
	Why string
}

func (e *CannotLockError) Error() string {
	return fmt.Sprintf("domains under %s cannot be locked or unlocked: %s", tldName(e.TLD), e.Why)
}

// Is makes errors.Is(err, ErrUnlockable) true.
func (e *CannotLockError) Is(target error) bool { return target == ErrUnlockable }

func tldName(tld string) string {
	if tld == config.TLDsAll || tld == "" {
		return "this TLD"
	}
	return "." + tld
}

// CannotLock returns the *CannotLockError for c, or nil if c is lockable.
func (c Capability) CannotLock() error {
	if c.Lockable() {
		return nil
	}
	why := c.Note
	if why == "" {
		why = "the registry offers no lock (policy.tlds)"
	}
	return &CannotLockError{TLD: c.TLD, Why: why}
}

// ErrLockedByPolicy is what every *PolicyLockedError is (errors.Is).
var ErrLockedByPolicy = errors.New("locked by policy")

// PolicyLockedError refuses an unlock request for a domain inside a
// registry-enforced policy window: the registry would refuse its transfer
// until the window ends whatever the registrar lock says.
type PolicyLockedError struct {
	Domain string
	Window Window
}

func (e *PolicyLockedError) Error() string {
	return fmt.Sprintf("%s is %s; an unlock is refused until then", e.Domain, e.Window.Reason())
}

// Is makes errors.Is(err, ErrLockedByPolicy) true.
func (e *PolicyLockedError) Is(target error) bool { return target == ErrLockedByPolicy }
