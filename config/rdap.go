package config

import (
	"sort"
	"strings"
	"time"
)

// Defaults of the rdap section.
const (
	DefaultRDAPBootstrap        = "https://data.iana.org/rdap/dns.json"
	DefaultRDAPRate             = 1.0
	DefaultRDAPBurst            = 1
	DefaultRDAPTimeout          = 10 * time.Second
	DefaultRDAPFreshness        = 15 * time.Minute
	DefaultRDAPBootstrapRefresh = 24 * time.Hour
)

// RDAP configures the registry's view of each domain (package rdap): a
// second witness next to the registrar, read over RDAP for the TLDs whose
// registry offers it.
type RDAP struct {
	// Enabled turns RDAP reads on; default false.
	Enabled bool `yaml:"enabled"`
	// Bootstrap is the URL of the RFC 9224 bootstrap file that names each
	// TLD's RDAP server; default IANA's, https://data.iana.org/rdap/dns.json.
	Bootstrap string `yaml:"bootstrap"`
	// Servers overrides the bootstrap file per TLD: TLD (lowercase A-label,
	// no leading dot, possibly multi-label) to the RDAP base URL; "" says
	// that this TLD has no RDAP service (a key without a value is as if
	// absent: the bootstrap file decides).
	Servers map[string]string `yaml:"servers"`
	// Rate is requests per second to each RDAP server, shared by all
	// workers; default 1; 0 means unlimited.
	Rate float64 `yaml:"rate"`
	// Burst is at least 1 (the default).
	Burst int `yaml:"burst"`
	// Timeout bounds one RDAP request; default 10s.
	Timeout time.Duration `yaml:"timeout"`
	// Freshness is how stale a registry answer (its "last update of RDAP
	// database") may be before a disagreement with the registrar counts;
	// default 15m.
	Freshness time.Duration `yaml:"freshness"`
	// BootstrapRefresh is how long a fetched bootstrap file is used before
	// it is fetched again; default 24h.
	BootstrapRefresh time.Duration `yaml:"bootstrap_refresh"`
}

// DefaultRDAP is the rdap section when the file does not set it: off.
func DefaultRDAP() RDAP {
	return RDAP{
		Bootstrap:        DefaultRDAPBootstrap,
		Rate:             DefaultRDAPRate,
		Burst:            DefaultRDAPBurst,
		Timeout:          DefaultRDAPTimeout,
		Freshness:        DefaultRDAPFreshness,
		BootstrapRefresh: DefaultRDAPBootstrapRefresh,
	}
}

// validateRDAP checks the rdap section and normalises the TLDs of servers
// in place (lowercase A-labels without dots around them).
func (d *decoder) validateRDAP(r *RDAP) {
	if reason := checkRDAPURL(r.Bootstrap); reason != "" {
		d.problem("rdap.bootstrap", reason)
	}
	if r.Servers != nil {
		norm := make(map[string]string, len(r.Servers))
		from := make(map[string]string, len(r.Servers))
		tlds := make([]string, 0, len(r.Servers))
		for t := range r.Servers {
			tlds = append(tlds, t)
		}
		// File order, so that a duplicate is the later key.
		sort.Slice(tlds, func(i, j int) bool {
			li, lj := d.line("rdap.servers."+quoteKey(tlds[i])), d.line("rdap.servers."+quoteKey(tlds[j]))
			return li < lj || li == lj && tlds[i] < tlds[j]
		})
		for _, t := range tlds {
			base := r.Servers[t]
			path := "rdap.servers." + quoteKey(t)
			n, ok := normalizeTLD(t)
			if !ok {
				d.problemf(path, "invalid tld %q", t)
				continue
			}
			if first, dup := from[n]; dup {
				d.problemf(path, "tld %q already set as %q", n, first)
				continue
			}
			from[n] = t
			if base != "" {
				if reason := checkRDAPURL(base); reason != "" {
					d.problem(path, reason+` (or "" for a TLD without RDAP)`)
					continue
				}
			}
			norm[n] = base
		}
		r.Servers = norm
	}
	if r.Rate < 0 {
		d.problemf("rdap.rate", "must be >= 0 (0 = unlimited), got %v", r.Rate)
	}
	if r.Burst < 1 {
		d.problemf("rdap.burst", "must be at least 1, got %d", r.Burst)
	}
	if r.Timeout <= 0 {
		d.problemf("rdap.timeout", "must be positive, got %s", r.Timeout)
	}
	if r.Freshness < 0 {
		d.problemf("rdap.freshness", "must not be negative, got %s", r.Freshness)
	}
	if r.BootstrapRefresh < time.Minute {
		d.problemf("rdap.bootstrap_refresh", "must be at least 1m, got %s", r.BootstrapRefresh)
	}
}

// checkRDAPURL wants an absolute http(s) URL with a host and no user info
// (RDAP is public: nothing to log in with).
func checkRDAPURL(raw string) string {
	if why := checkURL(raw, "must not hold user info (user:password@)"); why != "" {
		return why
	}
	if strings.ContainsAny(raw, "?#") {
		return "must not have a query or fragment"
	}
	return ""
}
