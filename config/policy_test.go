package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefaultWindows(t *testing.T) {
	gTLDs := []string{"com", "net", "org"}
	want := []Window{
		{Kind: "registration", TLDs: gTLDs, Duration: 1440 * time.Hour, EnforcedBy: "registry"},
		{Kind: "transfer", TLDs: gTLDs, Duration: 1440 * time.Hour, EnforcedBy: "registry"},
		{Kind: "registrant_change", TLDs: gTLDs, Duration: 1440 * time.Hour, EnforcedBy: "registrar"},
	}
	if got := DefaultWindows(); !reflect.DeepEqual(got, want) {
		t.Errorf("DefaultWindows:\n got %+v\nwant %+v", got, want)
	}
	// Each call is its own copy: a caller changing one changes no default.
	DefaultWindows()[0].TLDs[0] = "xxx"
	if DefaultWindows()[0].TLDs[0] != "com" {
		t.Error("DefaultWindows shares its slices")
	}
}

func TestDefaultTLDs(t *testing.T) {
	got := DefaultTLDs()
	for tld, lock := range map[string]string{"com": "registrar", "net": "registrar", "org": "registrar", "ee": "registry"} {
		if got[tld].Lock != lock {
			t.Errorf("%s: lock %q, want %q", tld, got[tld].Lock, lock)
		}
	}
	if len(got) != 4 {
		t.Errorf("DefaultTLDs has %d entries, want com, net, org, ee", len(got))
	}
}

// The windows of ICANN's Transfer Policy review: 60-day locks until the
// effective date, 720-hour ones from it, and no change-of-registrant lock.
const policyReview = `
policy:
  windows:
    - {kind: registration, tlds: [com, NET, .org], duration: 1440h, effective_until: 2027-01-01}
    - {kind: transfer, tlds: ["*"], duration: 1440h, effective_until: "2027-01-01T00:00:00Z"}
    - {kind: registrant_change, tlds: [com], duration: 1440h, effective_until: 2027-01-01}
    - kind: registration
      tlds: [com, net, org]
      duration: 720h
      effective_from: 2027-01-01
    - kind: transfer
      tlds: ["*"]
      duration: 720h
      effective_from: 2027-01-01T02:00:00+02:00
      enforced_by: registrar
`

func TestParse_policyWindows(t *testing.T) {
	cfg, errs := problems(t, policyReview, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	day := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	want := []Window{
		{Kind: "registration", TLDs: []string{"com", "net", "org"}, Duration: 1440 * time.Hour, EffectiveUntil: day, EnforcedBy: "registry"},
		{Kind: "transfer", TLDs: []string{"*"}, Duration: 1440 * time.Hour, EffectiveUntil: day, EnforcedBy: "registry"},
		{Kind: "registrant_change", TLDs: []string{"com"}, Duration: 1440 * time.Hour, EffectiveUntil: day, EnforcedBy: "registrar"},
		{Kind: "registration", TLDs: []string{"com", "net", "org"}, Duration: 720 * time.Hour, EffectiveFrom: day, EnforcedBy: "registry"},
		{Kind: "transfer", TLDs: []string{"*"}, Duration: 720 * time.Hour, EffectiveFrom: day, EnforcedBy: "registrar"},
	}
	if !reflect.DeepEqual(cfg.Policy.Windows, want) {
		t.Errorf("windows:\n got %+v\nwant %+v", cfg.Policy.Windows, want)
	}
	if !reflect.DeepEqual(cfg.Policy.TLDs, DefaultTLDs()) {
		t.Errorf("tlds: got %+v, want the defaults", cfg.Policy.TLDs)
	}

	// An empty list means no windows; an absent or null key the defaults.
	for src, want := range map[string][]Window{
		"policy: {windows: []}\n":          {},
		"policy: {windows: ~}\n":           DefaultWindows(),
		"policy: {import_locked: false}\n": DefaultWindows(),
	} {
		cfg, errs := problems(t, src, nil)
		if errs != nil {
			t.Fatalf("%q: %v", src, errs)
		}
		if !reflect.DeepEqual(cfg.Policy.Windows, want) {
			t.Errorf("%q: windows %+v, want %+v", src, cfg.Policy.Windows, want)
		}
	}
}

func TestParse_policyTLDs(t *testing.T) {
	cfg, errs := problems(t, `
policy:
  tlds:
    nolock: {lock: none, note: "the registry has no lock"}
    COM: {lock: registry}
    "*": {lock: registrar}
    ch: {locks: [transfer]}
    xn--p1ai: {lock: registry, locks: [transfer, update, delete]}
`, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	all := []string{"transfer", "update", "delete"}
	want := map[string]TLDCapability{
		"com":      {Lock: "registry"},
		"net":      {Lock: "registrar", Locks: all},
		"org":      {Lock: "registrar", Locks: all},
		"ee":       {Lock: "registry", Locks: all, Note: "the .ee registrant API sets the registry lock"},
		"nolock":   {Lock: "none", Note: "the registry has no lock"},
		"*":        {Lock: "registrar"},
		"ch":       {Lock: "registrar", Locks: []string{"transfer"}},
		"xn--p1ai": {Lock: "registry", Locks: all},
	}
	if !reflect.DeepEqual(cfg.Policy.TLDs, want) {
		t.Errorf("tlds:\n got %+v\nwant %+v", cfg.Policy.TLDs, want)
	}
	for _, src := range []string{"policy: {tlds: {}}\n", "policy: {tlds: ~}\n", ""} {
		cfg, errs := problems(t, src, nil)
		if errs != nil {
			t.Fatalf("%q: %v", src, errs)
		}
		if !reflect.DeepEqual(cfg.Policy.TLDs, DefaultTLDs()) {
			t.Errorf("%q: tlds %+v, want the defaults", src, cfg.Policy.TLDs)
		}
	}
}

func TestParse_policyProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown kind and enforced_by", `policy:
  windows:
    - {kind: renewal, tlds: [com], duration: 720h, enforced_by: icann}
`, []string{
			`reglock.yaml:3: policy.windows[0].kind: unknown kind "renewal" (want registration, transfer or registrant_change)`,
			`reglock.yaml:3: policy.windows[0].enforced_by: unknown enforced_by "icann" (want registry or registrar)`,
		}},
		{"missing keys", "policy:\n  windows:\n    - {effective_from: 2026-01-01}\n", []string{
			"reglock.yaml:3: policy.windows[0].kind: required (registration, transfer or registrant_change)",
			`reglock.yaml:3: policy.windows[0].tlds: required: the TLDs the window applies to, or ["*"] for all`,
			"reglock.yaml:3: policy.windows[0].duration: required (e.g. 1440h for 60 days)",
		}},
		{"bad duration", `policy:
  windows:
    - {kind: transfer, tlds: [com], duration: 60d}
    - {kind: transfer, tlds: [com], duration: -720h}
    - {kind: transfer, tlds: [com], duration: 0s}
`, []string{
			`reglock.yaml:3: policy.windows[0].duration: invalid duration "60d" (use Go syntax like "30s" or "72h")`,
			"reglock.yaml:4: policy.windows[1].duration: must be positive, got -720h0m0s",
			"reglock.yaml:5: policy.windows[2].duration: must be positive, got 0s",
		}},
		{"dates", `policy:
  windows:
    - {kind: transfer, tlds: [com], duration: 720h, effective_from: 2027-01-01, effective_until: 2026-12-31}
    - {kind: transfer, tlds: [com], duration: 720h, effective_from: 2027-01-01, effective_until: 2027-01-01}
    - {kind: transfer, tlds: [com], duration: 720h, effective_from: TBD}
    - {kind: transfer, tlds: [com], duration: 720h, effective_until: 2027-13-01}
`, []string{
			"reglock.yaml:3: policy.windows[0].effective_until: must be after effective_from (2027-01-01T00:00:00Z), got 2026-12-31T00:00:00Z",
			"reglock.yaml:4: policy.windows[1].effective_until: must be after effective_from (2027-01-01T00:00:00Z), got 2027-01-01T00:00:00Z",
			`reglock.yaml:5: policy.windows[2].effective_from: invalid date "TBD" (use RFC 3339: 2026-01-31 or 2026-01-31T00:00:00Z)`,
			`reglock.yaml:6: policy.windows[3].effective_until: invalid date "2027-13-01" (use RFC 3339: 2026-01-31 or 2026-01-31T00:00:00Z)`,
		}},
		{"bad tlds", "policy:\n  windows:\n    - {kind: transfer, tlds: [com, \"a..b\", \"**\"], duration: 720h}\n", []string{
			`reglock.yaml:3: policy.windows[0].tlds[1]: invalid tld "a..b" (or "*" for all)`,
			`reglock.yaml:3: policy.windows[0].tlds[2]: invalid tld "**" (or "*" for all)`,
		}},
		{"unknown window key", "policy:\n  windows:\n    - {kind: transfer, tlds: [com], duration: 720h, tld: com}\n", []string{
			"reglock.yaml:3: policy.windows[0].tld: unknown key (known: kind, tlds, duration, effective_from, effective_until, enforced_by)",
		}},
		{"windows not a list", "policy:\n  windows: {kind: transfer}\n", []string{
			"reglock.yaml:2: policy.windows: expected a list, got a mapping",
		}},
		{"tld capabilities", `policy:
  tlds:
    com: {lock: maybe}
    net: {locks: [transfer, renew]}
    nolock: {lock: none, locks: [delete]}
    "a..b": {lock: none}
    Org: {lock: registry}
    org: {lock: registrar}
    ee: {lcok: registry}
`, []string{
			`reglock.yaml:3: policy.tlds.com.lock: unknown lock "maybe" (want registrar, registry or none)`,
			`reglock.yaml:4: policy.tlds.net.locks[1]: unknown lock "renew" (want transfer, update or delete)`,
			"reglock.yaml:5: policy.tlds.nolock.locks: lock is none, but locks lists delete",
			`reglock.yaml:6: policy.tlds."a..b": invalid tld "a..b" (or "*" for every TLD not listed)`,
			`reglock.yaml:8: policy.tlds.org: tld "org" already given as "Org" (line 7)`,
			"reglock.yaml:9: policy.tlds.ee.lcok: unknown key (known: lock, locks, note)",
		}},
		{"tlds not a mapping", "policy:\n  tlds: [com]\n", []string{
			"reglock.yaml:2: policy.tlds: expected a mapping, got a list",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := problems(t, tc.src, nil)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
