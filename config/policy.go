package config

import (
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Policy window kinds, the values of Window.Kind: the event that opens the
// window.
const (
	WindowRegistration     = "registration"
	WindowTransfer         = "transfer"
	WindowRegistrantChange = "registrant_change"
)

// Who enforces a policy window, the values of Window.EnforcedBy.
const (
	// EnforcedByRegistry: the registry refuses a transfer inside the window
	// whatever the registrar's lock says.
	EnforcedByRegistry = "registry"
	// EnforcedByRegistrar: the registrar applies the window and the
	// registrant may opt out (OpenSRS's trade lock).
	EnforcedByRegistrar = "registrar"
)

// What lock a TLD has, the values of TLDCapability.Lock.
const (
	// LockRegistrar: a registrar lock (clientTransferProhibited and
	// friends) the registrar sets through its API; the default.
	LockRegistrar = "registrar"
	// LockRegistry: only a registry lock, set through the registry (the .ee
	// registrant API sets the registry lock).
	LockRegistry = "registry"
	// LockNone: no lock at all; lock and unlock requests are refused.
	LockNone = "none"
)

// The separate locks a TLD may have, the values of TLDCapability.Locks.
const (
	LockTransfer = "transfer"
	LockUpdate   = "update"
	LockDelete   = "delete"
)

// TLDsAll in a window's tlds, or as a key of policy.tlds, stands for every
// TLD.
const TLDsAll = "*"

// DefaultWindowDuration is the transfer lock of ICANN's Transfer Policy
// today after a registration, a transfer or a change of registrant: 60 days.
const DefaultWindowDuration = 60 * 24 * time.Hour

// Window is one policy window (policy.windows): after an event of Kind, a
// domain under TLDs cannot be transferred for Duration. The window applies
// to events that happened while it was effective, from EffectiveFrom
// (inclusive) until EffectiveUntil (exclusive); a zero time is unbounded.
type Window struct {
	// Kind is WindowRegistration, WindowTransfer or WindowRegistrantChange.
	Kind string `yaml:"kind"`
	// TLDs are lowercase A-labels without a leading dot (a window on uk
	// covers co.uk), or TLDsAll.
	TLDs []string `yaml:"tlds"`
	// Duration is positive, in Go syntax: 1440h is 60 days.
	Duration time.Duration `yaml:"duration"`
	// EffectiveFrom and EffectiveUntil bound when the window applies, as
	// RFC 3339 dates (2026-01-01, midnight UTC) or date-times.
	EffectiveFrom  time.Time `yaml:"effective_from"`
	EffectiveUntil time.Time `yaml:"effective_until"`
	// EnforcedBy is EnforcedByRegistry or EnforcedByRegistrar. Default:
	// registrar for registrant_change (the change-of-registrant lock can
	// be opted out of), registry for the others.
	EnforcedBy string `yaml:"enforced_by"`
}

// TLDCapability says what lock one TLD has (policy.tlds).
type TLDCapability struct {
	// Lock is LockRegistrar (default), LockRegistry or LockNone.
	Lock string `yaml:"lock"`
	// Locks lists the separate locks the TLD has (LockTransfer, LockUpdate,
	// LockDelete); informational.
	Locks []string `yaml:"locks"`
	// Note says why, for people and for the message of a refused request.
	Note string `yaml:"note"`
}

func (c *TLDCapability) setDefaults() { c.Lock = LockRegistrar }

// DefaultWindows are ICANN's Transfer Policy windows of today for the gTLDs
// the simulator serves: 60 days after a registration and after a transfer
// (the registry refuses the transfer), and 60 days after a change of
// registrant (the registrar's lock, which the registrant may opt out of).
func DefaultWindows() []Window {
	gTLDs := func() []string { return []string{"com", "net", "org"} }
	return []Window{
		{Kind: WindowRegistration, TLDs: gTLDs(), Duration: DefaultWindowDuration, EnforcedBy: EnforcedByRegistry},
		{Kind: WindowTransfer, TLDs: gTLDs(), Duration: DefaultWindowDuration, EnforcedBy: EnforcedByRegistry},
		{Kind: WindowRegistrantChange, TLDs: gTLDs(), Duration: DefaultWindowDuration, EnforcedBy: EnforcedByRegistrar},
	}
}

// DefaultTLDs is the capability table for the TLDs the simulator serves.
// TLDs not in the table have a registrar lock.
func DefaultTLDs() map[string]TLDCapability {
	all := func() []string { return []string{LockTransfer, LockUpdate, LockDelete} }
	return map[string]TLDCapability{
		"com": {Lock: LockRegistrar, Locks: all()},
		"net": {Lock: LockRegistrar, Locks: all()},
		"org": {Lock: LockRegistrar, Locks: all()},
		"ee":  {Lock: LockRegistry, Locks: all(), Note: "the .ee registrant API sets the registry lock"},
	}
}

// parseDate reads an RFC 3339 date (midnight UTC) or date-time.
func parseDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

var windowKinds = []string{WindowRegistration, WindowTransfer, WindowRegistrantChange}

// validatePolicyRules checks policy.windows and policy.tlds, normalising
// their TLDs in place and giving each window its enforced_by default.
func (d *decoder) validatePolicyRules(p *Policy) {
	for i := range p.Windows {
		if !d.has("policy.windows") {
			break // absent: the defaults, as Default set them
		}
		d.validateWindow(&p.Windows[i], "policy.windows["+strconv.Itoa(i)+"]")
	}
	d.validateTLDCapabilities(p)
}

func (d *decoder) validateWindow(w *Window, path string) {
	key := func(k string) string { return path + "." + k }
	switch {
	case !d.has(key("kind")):
		d.problem(key("kind"), "required (registration, transfer or registrant_change)")
	case !slices.Contains(windowKinds, w.Kind):
		d.problemf(key("kind"), "unknown kind %q (want registration, transfer or registrant_change)", w.Kind)
	}
	if len(w.TLDs) == 0 {
		d.problem(key("tlds"), `required: the TLDs the window applies to, or ["*"] for all`)
	}
	tlds := w.TLDs[:0]
	for k, t := range w.TLDs {
		if t == TLDsAll {
			tlds = append(tlds, t)
			continue
		}
		norm, ok := normalizeTLD(t)
		if !ok {
			d.problemf(key("tlds["+strconv.Itoa(k)+"]"), `invalid tld %q (or "*" for all)`, t)
			continue
		}
		tlds = append(tlds, norm)
	}
	w.TLDs = tlds
	switch {
	case !d.has(key("duration")):
		d.problem(key("duration"), "required (e.g. 1440h for 60 days)")
	case w.Duration <= 0:
		d.problemf(key("duration"), "must be positive, got %s", w.Duration)
	}
	if !w.EffectiveFrom.IsZero() && !w.EffectiveUntil.IsZero() && !w.EffectiveUntil.After(w.EffectiveFrom) {
		d.problemf(key("effective_until"), "must be after effective_from (%s), got %s",
			w.EffectiveFrom.Format(time.RFC3339), w.EffectiveUntil.Format(time.RFC3339))
	}
	switch {
	case !d.has(key("enforced_by")):
		w.EnforcedBy = EnforcedByRegistry
		if w.Kind == WindowRegistrantChange {
			w.EnforcedBy = EnforcedByRegistrar
		}
	case w.EnforcedBy != EnforcedByRegistry && w.EnforcedBy != EnforcedByRegistrar:
		d.problemf(key("enforced_by"), "unknown enforced_by %q (want registry or registrar)", w.EnforcedBy)
	}
}

// validateTLDCapabilities checks policy.tlds. The entries given add to the
// defaults or replace them, TLD by TLD; keys are normalised (COM is com),
// and an entry without lock has a registrar lock.
func (d *decoder) validateTLDCapabilities(p *Policy) {
	if !d.has("policy.tlds") {
		return // absent: the defaults, as Default set them
	}
	// The entries given, in file order (the first of two that normalise
	// alike is the one kept); the map may also hold the defaults.
	var names []string
	for name := range p.TLDs {
		if d.has(joinKey("policy.tlds", quoteKey(name))) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	sort.SliceStable(names, func(i, j int) bool {
		return d.line(joinKey("policy.tlds", quoteKey(names[i]))) < d.line(joinKey("policy.tlds", quoteKey(names[j])))
	})
	out := make(map[string]TLDCapability, len(p.TLDs))
	given := make(map[string]string) // normalised -> key as given
	for _, name := range names {
		path := joinKey("policy.tlds", quoteKey(name))
		c := p.TLDs[name]
		if !d.has(path + ".lock") {
			c.Lock = LockRegistrar
		}
		norm, ok := name, name == TLDsAll
		if !ok {
			norm, ok = normalizeTLD(name)
		}
		if !ok {
			d.problemf(path, `invalid tld %q (or "*" for every TLD not listed)`, name)
			continue
		}
		if first, dup := given[norm]; dup {
			d.problemf(path, "tld %q already given as %q (line %d)", norm, first,
				d.line(joinKey("policy.tlds", quoteKey(first))))
			continue
		}
		given[norm] = name
		d.validateTLDCapability(c, path)
		out[norm] = c
	}
	for name, c := range DefaultTLDs() {
		if _, set := out[name]; !set {
			out[name] = c
		}
	}
	p.TLDs = out
}

func (d *decoder) validateTLDCapability(c TLDCapability, path string) {
	switch c.Lock {
	case LockRegistrar, LockRegistry, LockNone:
	default:
		d.problemf(path+".lock", "unknown lock %q (want registrar, registry or none)", c.Lock)
	}
	for k, l := range c.Locks {
		if l != LockTransfer && l != LockUpdate && l != LockDelete {
			d.problemf(path+".locks["+strconv.Itoa(k)+"]", "unknown lock %q (want transfer, update or delete)", l)
		}
	}
	if c.Lock == LockNone && len(c.Locks) > 0 {
		d.problemf(path+".locks", "lock is none, but locks lists %s", strings.Join(c.Locks, ", "))
	}
}
