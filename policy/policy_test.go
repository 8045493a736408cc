package policy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/reglock/reglock/config"
)

var (
	day  = 24 * time.Hour
	now  = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	ago  = func(d time.Duration) time.Time { return now.Add(-d) }
	date = func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
)

// switchDate stands for the Transfer Policy review's effective date (not
// yet announced): 60-day windows before it, 720-hour ones from it, and no
// change-of-registrant window from it.
var switchDate = date(2026, 3, 1)

var review = Windows{
	{Kind: "registration", TLDs: []string{"com", "net"}, Duration: 1440 * time.Hour, EffectiveUntil: switchDate, EnforcedBy: "registry"},
	{Kind: "transfer", TLDs: []string{"*"}, Duration: 1440 * time.Hour, EffectiveUntil: switchDate, EnforcedBy: "registry"},
	{Kind: "registrant_change", TLDs: []string{"com"}, Duration: 1440 * time.Hour, EffectiveUntil: switchDate, EnforcedBy: "registrar"},
	{Kind: "registration", TLDs: []string{"com", "net"}, Duration: 720 * time.Hour, EffectiveFrom: switchDate, EnforcedBy: "registry"},
	{Kind: "transfer", TLDs: []string{"*"}, Duration: 720 * time.Hour, EffectiveFrom: switchDate, EnforcedBy: "registry"},
}

func TestWindows_Active(t *testing.T) {
	defaults := Windows(config.DefaultWindows())
	tests := []struct {
		name    string
		windows Windows
		dates   Dates
		domain  string
		want    Window // zero: none
	}{
		{"no dates", defaults, Dates{}, "example.com", Window{}},
		{"registered 10 days ago", defaults, Dates{Registered: ago(10 * day)}, "example.com",
			Window{Kind: "registration", Started: ago(10 * day), Until: ago(10 * day).Add(60 * day), EnforcedBy: "registry"}},
		{"registered 60 days ago to the second: over", defaults, Dates{Registered: ago(60 * day)}, "example.com", Window{}},
		{"registered 60 days less a second ago", defaults, Dates{Registered: ago(60*day - time.Second)}, "example.com",
			Window{Kind: "registration", Started: ago(60*day - time.Second), Until: now.Add(time.Second), EnforcedBy: "registry"}},
		{"the window ending last wins", defaults, Dates{Registered: ago(50 * day), Transferred: ago(5 * day)}, "example.net",
			Window{Kind: "transfer", Started: ago(5 * day), Until: ago(5 * day).Add(60 * day), EnforcedBy: "registry"}},
		{"a registrar-enforced window is not active", defaults, Dates{RegistrantChanged: ago(day)}, "example.org", Window{}},
		{"a TLD without windows", defaults, Dates{Registered: ago(day)}, "example.ee", Window{}},
		{"the TLD itself", defaults, Dates{Registered: ago(day)}, "COM.", Window{Kind: "registration", Started: ago(day), Until: ago(day).Add(60 * day), EnforcedBy: "registry"}},
		{"not a suffix match by text", defaults, Dates{Registered: ago(day)}, "example.xcom", Window{}},
		{"a window on uk covers co.uk", Windows{{Kind: "transfer", TLDs: []string{"uk"}, Duration: 10 * day, EnforcedBy: "registry"}},
			Dates{Transferred: ago(day)}, "example.co.uk", Window{Kind: "transfer", Started: ago(day), Until: ago(day).Add(10 * day), EnforcedBy: "registry"}},
		{"no windows", nil, Dates{Registered: ago(day)}, "example.com", Window{}},

		// The switch from 60-day to 720-hour windows on switchDate.
		{"registered the second before the switch: 60 days", review, Dates{Registered: switchDate.Add(-time.Second)}, "example.com",
			Window{Kind: "registration", Started: switchDate.Add(-time.Second), Until: switchDate.Add(-time.Second).Add(1440 * time.Hour), EnforcedBy: "registry"}},
		{"registered on the switch: 720 hours", review, Dates{Registered: switchDate}, "example.com",
			Window{Kind: "registration", Started: switchDate, Until: switchDate.Add(720 * time.Hour), EnforcedBy: "registry"}},
		{"transferred 40 days ago under the old policy: still locked", review, Dates{Transferred: ago(40 * day)}, "example.org",
			Window{Kind: "transfer", Started: ago(40 * day), Until: ago(40 * day).Add(60 * day), EnforcedBy: "registry"}},
		{"transferred after the switch: 30 days", review, Dates{Transferred: ago(5 * day)}, "example.org",
			Window{Kind: "transfer", Started: ago(5 * day), Until: ago(5 * day).Add(30 * day), EnforcedBy: "registry"}},
		{"an old registration ends after a new transfer", review, Dates{Registered: ago(35 * day), Transferred: ago(8 * day)}, "example.com",
			Window{Kind: "registration", Started: ago(35 * day), Until: ago(35 * day).Add(60 * day), EnforcedBy: "registry"}},
		{"registered before windows existed", Windows{{Kind: "registration", TLDs: []string{"*"}, Duration: 720 * time.Hour, EffectiveFrom: switchDate, EnforcedBy: "registry"}},
			Dates{Registered: switchDate.Add(-day)}, "example.com", Window{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.windows.Active(tc.dates, tc.domain, now)
			if ok != !tc.want.Until.IsZero() || got != tc.want {
				t.Errorf("Active = %+v, %v; want %+v", got, ok, tc.want)
			}
		})
	}
}

func TestWindows_InEffect(t *testing.T) {
	changed := switchDate.Add(-day)
	got := review.InEffect(Dates{Registered: ago(300 * day), Transferred: ago(5 * day), RegistrantChanged: changed}, "example.com", now)
	want := []Window{
		{Kind: "transfer", Started: ago(5 * day), Until: ago(5 * day).Add(30 * day), EnforcedBy: "registry"},
		{Kind: "registrant_change", Started: changed, Until: changed.Add(60 * day), EnforcedBy: "registrar"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("InEffect:\n got %+v\nwant %+v", got, want)
	}
	// After the switch there is no change-of-registrant window.
	if got := review.InEffect(Dates{RegistrantChanged: ago(day)}, "example.com", now); len(got) != 0 {
		t.Errorf("InEffect after the switch = %+v, want none", got)
	}
}

func TestWindow_Reason(t *testing.T) {
	until := date(2026, 4, 30).Add(10 * time.Hour)
	for _, tc := range []struct {
		w    Window
		want string
	}{
		{Window{Kind: "registration", Until: until, EnforcedBy: "registry"}, "locked by policy (transfer lock after registration) until 2026-04-30T10:00:00Z"},
		{Window{Kind: "transfer", Until: until.In(time.FixedZone("EET", 2*3600)), EnforcedBy: "registry"}, "locked by policy (transfer lock after transfer) until 2026-04-30T10:00:00Z"},
		{Window{Kind: "registrant_change", Until: until, EnforcedBy: "registrar"}, "locked by policy (registrar's transfer lock after change of registrant) until 2026-04-30T10:00:00Z"},
	} {
		if got := tc.w.Reason(); got != tc.want {
			t.Errorf("Reason = %q, want %q", got, tc.want)
		}
	}
}

// Active never reports a window that has ended, one that is not registry-
// enforced, or one whose rule was not effective when its event happened;
// and it reports the one ending last of those that qualify.
func TestWindows_Active_property(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 2026))
	base := date(2026, 1, 1)
	at := func(spanDays int) time.Time { return base.Add(time.Duration(rng.Int64N(int64(spanDays) * int64(day)))) }
	kinds := []string{"registration", "transfer", "registrant_change"}
	tldSets := [][]string{{"com"}, {"net", "org"}, {"uk"}, {"co.uk"}, {"*"}, {"com", "uk"}}
	domains := []string{"example.com", "example.net", "example.co.uk", "example.uk", "example.ee"}
	found := 0
	for i := range 5000 {
		var ws Windows
		for range rng.IntN(6) {
			w := config.Window{
				Kind:       kinds[rng.IntN(len(kinds))],
				TLDs:       tldSets[rng.IntN(len(tldSets))],
				Duration:   time.Duration(1+rng.IntN(180)) * day,
				EnforcedBy: []string{"registry", "registrar"}[rng.IntN(2)],
			}
			if rng.IntN(2) == 0 {
				w.EffectiveFrom = at(365)
			}
			if rng.IntN(2) == 0 {
				w.EffectiveUntil = w.EffectiveFrom.Add(time.Duration(1+rng.IntN(200)) * day)
				if w.EffectiveFrom.IsZero() {
					w.EffectiveUntil = at(365)
				}
			}
			ws = append(ws, w)
		}
		var dates Dates
		for _, p := range []*time.Time{&dates.Registered, &dates.Transferred, &dates.RegistrantChanged} {
			if rng.IntN(4) != 0 {
				*p = at(365)
			}
		}
		domain := domains[rng.IntN(len(domains))]
		now := at(400)

		got, ok := ws.Active(dates, domain, now)
		// The oracle: every rule, checked the long way.
		var want Window
		for _, w := range ws {
			ev := dates.of(w.Kind)
			if ev.IsZero() || w.EnforcedBy != "registry" || !covers(w.TLDs, domain) ||
				(!w.EffectiveFrom.IsZero() && ev.Before(w.EffectiveFrom)) ||
				(!w.EffectiveUntil.IsZero() && !ev.Before(w.EffectiveUntil)) {
				continue
			}
			if end := ev.Add(w.Duration); end.After(now) && end.After(want.Until) {
				want = Window{Kind: w.Kind, Started: ev, Until: end, EnforcedBy: w.EnforcedBy}
			}
		}
		if !ok {
			if !want.Until.IsZero() {
				t.Fatalf("case %d: Active found nothing; want %+v (windows %+v, dates %+v, %s, now %s)", i, want, ws, dates, domain, now)
			}
			continue
		}
		found++
		if !got.Until.After(now) {
			t.Fatalf("case %d: Active reported %+v, which ended before now %s", i, got, now)
		}
		if got.EnforcedBy != "registry" || got.Started != dates.of(got.Kind) {
			t.Fatalf("case %d: Active reported %+v for dates %+v", i, got, dates)
		}
		effective := false
		for _, w := range ws {
			if w.Kind == got.Kind && w.EnforcedBy == got.EnforcedBy && covers(w.TLDs, domain) &&
				effectiveAt(w, got.Started) && got.Started.Add(w.Duration).Equal(got.Until) {
				effective = true
			}
		}
		if !effective {
			t.Fatalf("case %d: Active reported %+v, which no rule effective at %s gives", i, got, got.Started)
		}
		if !got.Until.Equal(want.Until) {
			t.Fatalf("case %d: Active reported %+v; the window ending last is %+v", i, got, want)
		}
	}
	if found < 500 {
		t.Errorf("only %d of 5000 cases were inside a window: the generator tests too little", found)
	}
}

func TestCapabilities_For(t *testing.T) {
	table := Capabilities(config.DefaultTLDs())
	table["nolock"] = config.TLDCapability{Lock: "none", Note: "no lock at this registry"}
	table["uk"] = config.TLDCapability{Lock: "none"}
	table["co.uk"] = config.TLDCapability{Lock: "registrar"}
	withStar := Capabilities{"*": {Lock: "registry"}, "com": {Lock: "registrar"}}
	tests := []struct {
		table                  Capabilities
		tld                    string
		wantTLD, wantLock      string
		lockable, registryOnly bool
	}{
		{table, "com", "com", "registrar", true, false},
		{table, "example.com", "com", "registrar", true, false},
		{table, "EXAMPLE.EE.", "ee", "registry", true, true},
		{table, "example.nolock", "nolock", "none", false, false},
		{table, "example.co.uk", "co.uk", "registrar", true, false},
		{table, "example.uk", "uk", "none", false, false},
		{table, "example.ch", "", "registrar", true, false},
		{nil, "example.com", "", "registrar", true, false},
		{withStar, "example.ch", "*", "registry", true, true},
		{withStar, "example.com", "com", "registrar", true, false},
	}
	for _, tc := range tests {
		c := tc.table.For(tc.tld)
		if c.TLD != tc.wantTLD || c.Lock != tc.wantLock || c.Lockable() != tc.lockable || c.RegistryOnly() != tc.registryOnly {
			t.Errorf("For(%q) = %+v (lockable %v, registry only %v); want %s: %s (%v, %v)",
				tc.tld, c, c.Lockable(), c.RegistryOnly(), tc.wantTLD, tc.wantLock, tc.lockable, tc.registryOnly)
		}
	}
}

func TestErrors(t *testing.T) {
	c := Capabilities{"nolock": {Lock: "none", Note: "no lock at this registry"}, "bare": {Lock: "none"}}
	if err := c.For("example.com").CannotLock(); err != nil {
		t.Errorf("CannotLock for a lockable TLD = %v", err)
	}
	err := c.For("example.nolock").CannotLock()
	var cl *CannotLockError
	if !errors.As(err, &cl) || cl.TLD != "nolock" || !errors.Is(err, ErrUnlockable) {
		t.Fatalf("CannotLock = %#v", err)
	}
	if got, want := err.Error(), "domains under .nolock cannot be locked or unlocked: no lock at this registry"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if got, want := c.For("x.bare").CannotLock().Error(), "domains under .bare cannot be locked or unlocked: the registry offers no lock (policy.tlds)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}

	pl := error(&PolicyLockedError{Domain: "example.com", Window: Window{Kind: "transfer", Until: date(2026, 5, 1), EnforcedBy: "registry"}})
	if !errors.Is(pl, ErrLockedByPolicy) || errors.Is(pl, ErrUnlockable) || errors.Is(err, ErrLockedByPolicy) {
		t.Error("errors.Is does not tell the two apart")
	}
	if got, want := pl.Error(), "example.com is locked by policy (transfer lock after transfer) until 2026-05-01T00:00:00Z; an unlock is refused until then"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
