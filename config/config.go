// Package config loads reglock's YAML configuration: ${VAR} and
// ${VAR:-default} expansion from the environment (and systemd credentials,
// WithCredentials), unknown keys rejected, and every problem reported at
// once as file:line: key: reason. A process that uses only some parts of
// the file (LoadFor) needs only their variables.
package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/reglock/reglock/secret"
)

// Provider types, the values of Provider.Type.
const (
	TypeEnom    = "enom"
	TypeOpenSRS = "opensrs"
	TypeWHMCS   = "whmcs"
	TypeEE      = "ee"
)

// .ee API dialects, the values of Provider.API for type ee.
const (
	EEAPIV1   = "v1"   // api/v1/registrant/... as the registry serves it
	EEAPIREPP = "repp" // the 2018 draft's paths and error shapes
)

// Token scopes, the values of Token.Scopes.
const (
	ScopeRead  = "read"
	ScopeWrite = "write"
	ScopeAdmin = "admin"
)

// Defaults that Default and Parse apply to absent keys.
const (
	DefaultListen          = "127.0.0.1:8080"
	DefaultConcurrency     = 50
	DefaultShutdownTimeout = 30 * time.Second
	DefaultSweep           = "0 3 * * *"
	DefaultTimezone        = "UTC"
	DefaultMaxDriftShare   = 0.10
	DefaultConfirmDelay    = 10 * time.Second
	DefaultMaxUnlockWindow = 366 * 24 * time.Hour
	DefaultBurst           = 1
	DefaultSweepShare      = 0.8
	DefaultTimeout         = 30 * time.Second
	DefaultEEAPI           = EEAPIV1
	DefaultCountryCode     = "EE"
)

// Default returns the configuration with every default applied and no
// providers or tokens: what `reglock serve` runs with when there is no
// configuration file at all.
func Default() *Config {
	return &Config{
		API: API{
			Listen:     DefaultListen,
			Monitoring: true,
		},
		Worker: Worker{
			Concurrency:     DefaultConcurrency,
			ShutdownTimeout: DefaultShutdownTimeout,
		},
		Scheduler: Scheduler{
			Sweep:         DefaultSweep,
			Timezone:      DefaultTimezone,
			MaxDriftShare: DefaultMaxDriftShare,
			ConfirmDelay:  DefaultConfirmDelay,
		},
		Policy: Policy{
			ImportLocked:    true,
			MaxUnlockWindow: DefaultMaxUnlockWindow,
			Windows:         DefaultWindows(),
			TLDs:            DefaultTLDs(),
		},
		RDAP: DefaultRDAP(),
	}
}

// setDefaults gives a provider list entry its defaults before its keys are
// decoded over them. The .ee api default depends on the type and is applied
// in validation.
func (p *Provider) setDefaults() {
	p.Burst = DefaultBurst
	p.SweepShare = DefaultSweepShare
	p.Timeout = DefaultTimeout
}

func (e *EID) setDefaults() { e.CountryCode = DefaultCountryCode }

// Config is the whole configuration file.
type Config struct {
	Redis     Redis      `yaml:"redis"`
	API       API        `yaml:"api"`
	Worker    Worker     `yaml:"worker"`
	Scheduler Scheduler  `yaml:"scheduler"`
	Policy    Policy     `yaml:"policy"`
	Providers []Provider `yaml:"providers"`
	// Audit bounds each domain's history.
	Audit Audit `yaml:"audit"`
	// Notifications are the webhook endpoints told of reglock's events.
	Notifications []Notification `yaml:"notifications"`
	RDAP          RDAP           `yaml:"rdap"`

	// skipped are the problems in parts the process does not use (see
	// Uses and Skipped).
	skipped []Problem
}

// Policy holds the rules that are policy rather than protocol, so that they
// change with the rules of the registries, not with the code.
type Policy struct {
	// ImportLocked is the desired lock of imported domains (without --adopt).
	// Default true.
	ImportLocked bool `yaml:"import_locked"`
	// MaxUnlockWindow is the longest relock_after accepted. Default one year.
	MaxUnlockWindow time.Duration `yaml:"max_unlock_window"`
	// Windows are the transfer locks after a registration, a transfer or a
	// change of registrant (see Window and package policy). Default
	// DefaultWindows(); giving the key replaces them all.
	Windows []Window `yaml:"windows"`
	// TLDs says what lock each TLD has (see TLDCapability). Default
	// DefaultTLDs(); the entries given add to those or replace them, TLD by
	// TLD. A TLD in neither has a registrar lock.
	TLDs map[string]TLDCapability `yaml:"tlds"`
}

// Audit bounds each domain's history (see the audit package).
type Audit struct {
	// HistoryMax is about how many events each domain keeps (default
	// 1,000; older ones go first).
	HistoryMax int64 `yaml:"history_max"`
	// HistoryRetention is how long a domain's history outlives its newest
	// event (default 400 days).
	HistoryRetention time.Duration `yaml:"history_retention"`
}

// Redis says where Redis is. With URL, Sentinel and Cluster all empty,
// reglock runs on an embedded in-memory Redis (development only).
// At most one of URL, Sentinel and Cluster is set.
//
// URL may hold a password; Redis prints itself with it masked (see
// RedactedURL), so log the struct or RedactedURL, never URL itself.
type Redis struct {
	// URL is redis://[user:password@]host:port/db or rediss://...
	URL      string    `yaml:"url"`
	Sentinel *Sentinel `yaml:"sentinel"`
	Cluster  *Cluster  `yaml:"cluster"`
}

// Embedded reports whether no Redis is configured.
func (r Redis) Embedded() bool { return r.URL == "" && r.Sentinel == nil && r.Cluster == nil }

// RedactedURL is URL with its password masked, for logs and errors.
func (r Redis) RedactedURL() string {
	if r.URL == "" {
		return ""
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		// Where the password is cannot be known; hide it all.
		return secret.Redacted
	}
	return u.Redacted()
}

// Format prints Redis like fmt would, but with RedactedURL in place of URL,
// so that printing a whole Config (%v, %+v, %#v) discloses no password.
func (r Redis) Format(f fmt.State, verb rune) {
	type plain Redis // no methods: formats field by field
	p := plain(r)
	p.URL = r.RedactedURL()
	out := fmt.Sprintf(fmt.FormatString(f, verb), p)
	if verb == 'v' && f.Flag('#') {
		out = strings.Replace(out, "config.plain{", "config.Redis{", 1)
	}
	fmt.Fprint(f, out)
}

// Sentinel is a Redis Sentinel setup for high availability.
type Sentinel struct {
	MasterName       string        `yaml:"master_name"`
	Addrs            []string      `yaml:"addrs"`
	Password         secret.String `yaml:"password"`
	SentinelPassword secret.String `yaml:"sentinel_password"`
	DB               int           `yaml:"db"`
}

// Cluster is a Redis Cluster for scale-out.
type Cluster struct {
	Addrs    []string      `yaml:"addrs"`
	Password secret.String `yaml:"password"`
}

// API configures the HTTP API.
type API struct {
	// Listen is host:port; default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Tokens are the bearer tokens accepted by /v1: names and tokens unique,
	// tokens at least 16 characters.
	Tokens []Token `yaml:"tokens"`
	// Monitoring serves asynqmon at /monitoring; default true.
	Monitoring bool `yaml:"monitoring"`
	// MonitoringWrite lets tokens with the admin scope act in asynqmon
	// (retry, delete, archive tasks); default false: read-only.
	MonitoringWrite bool `yaml:"monitoring_write"`
}

// Token is one bearer token accepted by /v1.
type Token struct {
	Name  string        `yaml:"name"`
	Token secret.String `yaml:"token"`
	// Scopes limit what the token may do: read, write, admin. Empty means all.
	Scopes []string `yaml:"scopes"`
	// Providers limit the token to the domains of these providers (a brand
	// or a reseller on a shared reglock): names of providers, each
	// configured. Empty means all providers.
	Providers []string `yaml:"providers"`
}

// Worker configures task processing.
type Worker struct {
	// Concurrency is how many tasks one worker runs at once; default 50.
	Concurrency int `yaml:"concurrency"`
	// ShutdownTimeout is how long in-flight tasks get to finish on SIGTERM
	// before they are handed back to the queue; default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Listen, when set, serves /healthz, /readyz and /metrics (no /v1) from
	// processes that run no API: workers and schedulers, for probes and
	// Prometheus. Default: off.
	Listen string `yaml:"listen"`
}

// Scheduler configures compliance sweeps.
type Scheduler struct {
	// Sweep is a robfig/cron spec (cron.ParseStandard, so descriptors like
	// "@every 15m" work); "" disables the cron. Default "0 3 * * *", only
	// when the key is absent.
	Sweep string `yaml:"sweep"`
	// Timezone is an IANA name for time.LoadLocation; default UTC.
	Timezone string `yaml:"timezone"`
	// MaxDriftShare in (0, 1]: a sweep that finds more drift than this in
	// one account pauses instead of fixing. Default 0.10.
	MaxDriftShare float64 `yaml:"max_drift_share"`
	// ConfirmDelay: a drift is read a second time this long after it was
	// first seen, before anything is done about it. Default 10s.
	ConfirmDelay time.Duration `yaml:"confirm_delay"`
	// Freshness, when set (at least 1m), turns on continuous reading
	// besides the cron sweep: every domain is read at least once per
	// Freshness at its account's background budget, oldest reading first
	// (sweep.Freshness). Default 0: off.
	Freshness time.Duration `yaml:"freshness"`
	// FreshnessAtRisk is how often a domain at risk (an error, a pending
	// transfer, an open unlock window, drift, a recent change) is read in
	// freshness mode; default a sixth of Freshness.
	FreshnessAtRisk time.Duration `yaml:"freshness_at_risk"`
}

// Provider is one registrar account.
//
// Credentials by type: enom username+password, opensrs username+key, whmcs
// identifier+secret, ee token or eid (not both). A credential key of another
// type is an error.
type Provider struct {
	Name string `yaml:"name"`
	// Type is TypeEnom, TypeOpenSRS, TypeWHMCS or TypeEE.
	Type string `yaml:"type"`
	// Endpoint is an absolute http:// or https:// URL without user info.
	Endpoint   string        `yaml:"endpoint"`
	Username   string        `yaml:"username"`
	Password   secret.String `yaml:"password"`
	Key        secret.String `yaml:"key"`
	Identifier secret.String `yaml:"identifier"`
	Secret     secret.String `yaml:"secret"`
	// API is the .ee dialect, EEAPIV1 (default) or EEAPIREPP; ee only.
	API   string        `yaml:"api"`
	Token secret.String `yaml:"token"`
	EID   *EID          `yaml:"eid"`
	// TLDs route new domains of these TLDs here: lowercase A-labels without
	// a leading dot, possibly multi-label (co.uk), each claimed by at most
	// one provider.
	TLDs []string `yaml:"tlds"`
	// Rate is requests per second to this account, shared by all workers;
	// 0 means unlimited.
	Rate float64 `yaml:"rate"`
	// Burst is at least 1 (the default).
	Burst int `yaml:"burst"`
	// SweepShare is the most of Rate that background reads (sweeps,
	// checks) may use, in (0, 1]; default 0.8. Changes take the next free
	// slot ahead of any background read, so they never wait behind a sweep.
	SweepShare float64 `yaml:"sweep_share"`
	// Timeout bounds one registrar request; default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// BulkMax (enom only) is the largest account, in domains, that a sweep
	// reads with one GetAllDomains call; a larger account is read domain by
	// domain. 0 (the default) means the adapter's default, 2,000.
	BulkMax int `yaml:"bulk_max"`
}

// EID is the .ee registrant API's eID login, used to obtain and renew tokens.
type EID struct {
	Ident     string `yaml:"ident"`
	FirstName string `yaml:"first_name"`
	LastName  string `yaml:"last_name"`
	// CountryCode is two letters, upper-cased; default EE.
	CountryCode string `yaml:"country_code"`
}

// Provider returns the provider called name.
func (c *Config) Provider(name string) (Provider, bool) {
	for _, p := range c.Providers {
		if p.Name == name {
			return p, true
		}
	}
	return Provider{}, false
}

// ProviderNames lists the configured providers, in configuration order.
func (c *Config) ProviderNames() []string {
	out := make([]string, len(c.Providers))
	for i, p := range c.Providers {
		out[i] = p.Name
	}
	return out
}

// TradeLock reports whether the provider's registrar has a trade lock
// (OpenSRS's 60-day lock after a change of registrant).
func (p Provider) TradeLock() bool { return providerTypes[p.Type].tradeLock }

// Route returns the name of the provider whose tlds cover domain (see
// ProviderForTLD), or "": where a domain not yet in the inventory goes.
func (c *Config) Route(domain string) string {
	p, _ := c.ProviderForTLD(domain)
	return p.Name
}

// ProviderForTLD returns the provider whose tlds cover domain, which must be
// normalised already (lowercase A-labels). The longest matching suffix wins:
// with tlds [uk] on one provider and [co.uk] on another, example.co.uk goes
// to the second. A domain equal to a tld is not under it.
func (c *Config) ProviderForTLD(domain string) (Provider, bool) {
	domain = strings.TrimSuffix(domain, ".")
	best, bestLen := -1, 0
	for i, p := range c.Providers {
		for _, t := range p.TLDs {
			if len(t) > bestLen && len(domain) > len(t)+1 &&
				strings.HasSuffix(domain, t) && domain[len(domain)-len(t)-1] == '.' {
				best, bestLen = i, len(t)
			}
		}
	}
	if best < 0 {
		return Provider{}, false
	}
	return c.Providers[best], true
}
