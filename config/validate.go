package config

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // scheduler.timezone must not depend on the host having zoneinfo (scratch images)
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"
	"golang.org/x/net/idna"
)

// minTokenLen is the shortest bearer token accepted, in characters.
const minTokenLen = 16

// providerTypes are the provider types: the keys each uses and what its
// registrar can do. The one place a property of a type is written down.
var providerTypes = map[string]providerType{
	TypeEnom:    {keys: []string{"username", "password"}, optional: []string{"bulk_max"}},
	TypeOpenSRS: {keys: []string{"username", "key"}, tradeLock: true},
	TypeWHMCS:   {keys: []string{"identifier", "secret"}},
	TypeEE:      {keys: []string{"api", "token", "eid"}},
}

type providerType struct {
	// keys are the provider keys only this type uses; for enom, opensrs and
	// whmcs they are all required.
	keys []string
	// optional are keys only this type uses that none requires.
	optional []string
	// tradeLock: the registrar has a trade lock (OpenSRS's 60-day lock
	// after a change of registrant).
	tradeLock bool
}

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// problem records a problem with the key at path, on its line or, for a
// missing key, on the line of the nearest enclosing key that is there.
// Nothing is recorded under a key that failed to decode: that failure is
// the one problem to report there.
func (d *decoder) problem(path, reason string) {
	for p := path; p != ""; p = parentKey(p) {
		if d.bad[p] {
			return
		}
	}
	if !d.uses.Needs(path) {
		// A part this process does not use: the processes that do use it
		// report it (see Uses).
		d.skip(d.node(path), path, reason)
		return
	}
	d.add(d.node(path), path, reason)
}

func (d *decoder) problemf(path, format string, args ...any) {
	d.problem(path, fmt.Sprintf(format, args...))
}

// line is the line of path for naming the other side of a conflict.
func (d *decoder) line(path string) int {
	if n := d.node(path); n != nil {
		return n.Line
	}
	return 0
}

// validate checks the decoded values, and normalises some of them in place
// (tlds, country_code, the .ee api default).
func (d *decoder) validate(c *Config) {
	d.validateRedis(&c.Redis)
	d.validateAPI(c)
	d.validateWorker(&c.Worker)
	d.validateScheduler(&c.Scheduler)
	d.validatePolicy(&c.Policy)
	d.validateProviders(c.Providers)
	if c.Audit.HistoryMax < 0 {
		d.problemf("audit.history_max", "must not be negative, got %d", c.Audit.HistoryMax)
	}
	if c.Audit.HistoryRetention < 0 {
		d.problemf("audit.history_retention", "must not be negative, got %s", c.Audit.HistoryRetention)
	}
	d.validateNotifications(c.Notifications)
	d.validateRDAP(&c.RDAP)
}

func (d *decoder) validateRedis(r *Redis) {
	if n := btoi(r.URL != "") + btoi(r.Sentinel != nil) + btoi(r.Cluster != nil); n > 1 {
		d.problem("redis", "set only one of url, sentinel and cluster")
	}
	if r.URL != "" {
		if reason := checkRedisURL(r.URL); reason != "" {
			d.problem("redis.url", reason)
		}
	}
	if s := r.Sentinel; s != nil {
		if s.MasterName == "" {
			d.problem("redis.sentinel.master_name", "required")
		}
		d.checkAddrs("redis.sentinel.addrs", s.Addrs)
		if s.DB < 0 {
			d.problemf("redis.sentinel.db", "must be >= 0, got %d", s.DB)
		}
	}
	if c := r.Cluster; c != nil {
		d.checkAddrs("redis.cluster.addrs", c.Addrs)
	}
}

// checkRedisURL validates with go-redis itself, so that what passes here
// connects later. No reason quotes the URL: it may hold a password.
func checkRedisURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "not a valid URL"
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return "want a redis:// or rediss:// URL"
	}
	if _, err := redis.ParseURL(raw); err != nil {
		reason := strings.TrimPrefix(err.Error(), "redis: ")
		if pw, ok := u.User.Password(); ok && pw != "" {
			reason = strings.ReplaceAll(reason, pw, "xxxxx")
		}
		return reason
	}
	return ""
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (d *decoder) checkAddrs(path string, addrs []string) {
	if len(addrs) == 0 {
		d.problem(path, "at least one host:port required")
	}
	for i, a := range addrs {
		if reason := checkHostPort(a, true); reason != "" {
			d.problem(path+"["+strconv.Itoa(i)+"]", reason)
		}
	}
}

// checkHostPort wants host:port with a numeric port. A listen address may
// leave out the host (all interfaces) and use port 0 (any free port).
func checkHostPort(s string, dial bool) string {
	host, port, err := net.SplitHostPort(s)
	if err != nil || dial && host == "" {
		return fmt.Sprintf("want host:port, got %q", s)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || dial && n == 0 {
		return fmt.Sprintf("invalid port %q", port)
	}
	return ""
}

func (d *decoder) validateAPI(c *Config) {
	a := &c.API
	if reason := checkHostPort(a.Listen, false); reason != "" {
		d.problem("api.listen", reason)
	}
	names := make(map[string]int)
	tokens := make(map[string]int)
	for i, t := range a.Tokens {
		path := "api.tokens[" + strconv.Itoa(i) + "]"
		switch j, dup := names[t.Name]; {
		case t.Name == "":
			d.problem(path+".name", "required")
		case dup:
			d.problemf(path+".name", "token name %q already used by api.tokens[%d] (line %d)",
				t.Name, j, d.line(fmt.Sprintf("api.tokens[%d].name", j)))
		default:
			names[t.Name] = i
		}
		// No reason here may quote the token.
		tok := t.Token.Reveal()
		switch j, dup := tokens[tok]; {
		case tok == "":
			d.problem(path+".token", "required")
		case utf8.RuneCountInString(tok) < minTokenLen:
			d.problemf(path+".token", "token too short (min %d characters)", minTokenLen)
		case strings.ContainsFunc(tok, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }):
			d.problem(path+".token", "token contains white space or control characters")
		case dup:
			d.problemf(path+".token", "same token as api.tokens[%d] (line %d)",
				j, d.line(fmt.Sprintf("api.tokens[%d].token", j)))
		default:
			tokens[tok] = i
		}
		for k, s := range t.Scopes {
			if s != ScopeRead && s != ScopeWrite && s != ScopeAdmin {
				d.problemf(path+".scopes["+strconv.Itoa(k)+"]", "unknown scope %q (want read, write or admin)", s)
			}
		}
		seen := make(map[string]bool)
		for k, p := range t.Providers {
			kp := path + ".providers[" + strconv.Itoa(k) + "]"
			switch _, ok := c.Provider(p); {
			case !ok:
				d.problemf(kp, "token %q: unknown provider %q (configured: %s)", t.Name, p, orNoneNames(c.ProviderNames()))
			case seen[p]:
				d.problemf(kp, "token %q: provider %q listed twice", t.Name, p)
			}
			seen[p] = true
		}
	}
}

func (d *decoder) validateWorker(w *Worker) {
	if w.Concurrency < 1 {
		d.problemf("worker.concurrency", "must be at least 1, got %d", w.Concurrency)
	}
	if w.ShutdownTimeout <= 0 {
		d.problemf("worker.shutdown_timeout", "must be positive, got %s", w.ShutdownTimeout)
	}
	if w.Listen != "" {
		if reason := checkHostPort(w.Listen, false); reason != "" {
			d.problem("worker.listen", reason)
		}
	}
}

func (d *decoder) validateScheduler(s *Scheduler) {
	if s.Sweep != "" {
		if reason := checkCron(s.Sweep); reason != "" {
			d.problem("scheduler.sweep", reason)
		}
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		d.problemf("scheduler.timezone", "unknown time zone %q", s.Timezone)
	}
	if !(s.MaxDriftShare > 0 && s.MaxDriftShare <= 1) {
		d.problemf("scheduler.max_drift_share", "must be > 0 and <= 1, got %v", s.MaxDriftShare)
	}
	if s.Freshness != 0 && s.Freshness < time.Minute {
		d.problemf("scheduler.freshness", "must be 0 (off) or at least 1m, got %s", s.Freshness)
	}
	if s.FreshnessAtRisk < 0 || (s.FreshnessAtRisk > 0 && s.FreshnessAtRisk > s.Freshness) {
		d.problemf("scheduler.freshness_at_risk", "must be between 0s and scheduler.freshness (%s), got %s", s.Freshness, s.FreshnessAtRisk)
	}
	if s.ConfirmDelay < 0 || s.ConfirmDelay > 10*time.Minute {
		d.problemf("scheduler.confirm_delay", "must be between 0s and 10m, got %s", s.ConfirmDelay)
	}
}

func (d *decoder) validatePolicy(p *Policy) {
	if p.MaxUnlockWindow <= 0 {
		d.problemf("policy.max_unlock_window", "must be positive, got %s", p.MaxUnlockWindow)
	}
	d.validatePolicyRules(p) // policy.windows, policy.tlds: policy.go
}

// checkCron parses spec the way the scheduler will.
func checkCron(spec string) (reason string) {
	defer func() {
		// cron v3.0.1 panics on "TZ=UTC" without a schedule after it.
		if r := recover(); r != nil {
			reason = fmt.Sprintf("invalid cron spec %q", spec)
		}
	}()
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return fmt.Sprintf("invalid cron spec %q: %v", spec, err)
	}
	if sched.Next(time.Now()).IsZero() {
		return fmt.Sprintf("cron spec %q never fires", spec)
	}
	return ""
}

func (d *decoder) validateProviders(ps []Provider) {
	names := make(map[string]int)
	type claim struct {
		provider int
		path     string
	}
	claims := make(map[string]claim)
	for i := range ps {
		p := &ps[i]
		path := "providers[" + strconv.Itoa(i) + "]"
		switch j, dup := names[p.Name]; {
		case p.Name == "":
			d.problem(path+".name", "required")
		case !providerName.MatchString(p.Name):
			d.problemf(path+".name", "invalid provider name %q (want 1 to 63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit)", p.Name)
		case dup:
			d.problemf(path+".name", "provider name %q already used by providers[%d] (line %d)",
				p.Name, j, d.line(fmt.Sprintf("providers[%d].name", j)))
		default:
			names[p.Name] = i
		}
		d.validateProvider(p, path)

		tlds := p.TLDs[:0]
		for k, t := range p.TLDs {
			tp := path + ".tlds[" + strconv.Itoa(k) + "]"
			norm, ok := normalizeTLD(t)
			if !ok {
				d.problemf(tp, "invalid tld %q", t)
				continue
			}
			c, claimed := claims[norm]
			switch {
			case !claimed:
				claims[norm] = claim{i, tp}
				tlds = append(tlds, norm)
			case c.provider != i:
				d.problemf(tp, "tld %q already claimed by providers[%d] (line %d)", norm, c.provider, d.line(c.path))
			}
			// Listed twice by the same provider: harmless, keep one.
		}
		if p.TLDs != nil {
			p.TLDs = tlds
		}
	}
}

func (d *decoder) validateProvider(p *Provider, path string) {
	key := func(k string) string { return path + "." + k }
	switch {
	case p.Type == "":
		d.problem(key("type"), "required")
	case providerTypes[p.Type].keys == nil:
		d.problemf(key("type"), "unknown provider type %q (want enom, opensrs, whmcs or ee)", p.Type)
	default:
		for _, f := range fieldsOf(reflectProvider) {
			if d.has(key(f.name)) && isTypeKey(f.name) && !slices.Contains(providerTypes[p.Type].keys, f.name) &&
				!slices.Contains(providerTypes[p.Type].optional, f.name) {
				d.problemf(key(f.name), "%s is not used by type %s", f.name, p.Type)
			}
		}
		if p.Type == TypeEE {
			d.validateEE(p, path)
			break
		}
		for _, k := range providerTypes[p.Type].keys {
			if !hasCredential(p, k) {
				d.problemf(key(k), "required for type %s", p.Type)
			}
		}
	}

	if reason := checkEndpoint(p.Endpoint); reason != "" {
		d.problem(key("endpoint"), reason)
	}
	if p.Rate < 0 {
		d.problemf(key("rate"), "must be >= 0 (0 = unlimited), got %v", p.Rate)
	}
	if p.SweepShare <= 0 || p.SweepShare > 1 {
		d.problemf(key("sweep_share"), "must be more than 0 and at most 1, got %v", p.SweepShare)
	}
	if p.Burst < 1 {
		d.problemf(key("burst"), "must be at least 1, got %d", p.Burst)
	}
	if p.Timeout <= 0 {
		d.problemf(key("timeout"), "must be positive, got %s", p.Timeout)
	}
	if p.BulkMax < 0 {
		d.problemf(key("bulk_max"), "must be >= 0 (0 = the adapter's default), got %d", p.BulkMax)
	}
}

func (d *decoder) validateEE(p *Provider, path string) {
	key := func(k string) string { return path + "." + k }
	switch token, eid := !p.Token.IsZero(), p.EID != nil; {
	case d.bad[key("eid")]: // neither set nor absent, really
	case token && eid:
		d.problem(key("eid"), "set token or eid, not both")
	case !token && !eid:
		d.problem(key("token"), "required for type ee (or eid)")
	}
	if e := p.EID; e != nil {
		for _, f := range []struct{ name, value string }{
			{"ident", e.Ident}, {"first_name", e.FirstName}, {"last_name", e.LastName},
		} {
			if f.value == "" {
				d.problem(key("eid."+f.name), "required")
			}
		}
		cc := strings.ToUpper(e.CountryCode)
		if len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z' {
			d.problemf(key("eid.country_code"), "want a 2-letter country code, got %q", e.CountryCode)
		}
		e.CountryCode = cc
	}
	switch {
	case !d.has(key("api")):
		p.API = DefaultEEAPI
	case p.API != EEAPIV1 && p.API != EEAPIREPP:
		d.problemf(key("api"), "unknown api %q (want v1 or repp)", p.API)
	}
}

var reflectProvider = reflect.TypeFor[Provider]()

func isTypeKey(name string) bool {
	for _, t := range providerTypes {
		if slices.Contains(t.keys, name) || slices.Contains(t.optional, name) {
			return true
		}
	}
	return false
}

// hasCredential reports whether the credential key k of p is non-empty.
func hasCredential(p *Provider, k string) bool {
	switch k {
	case "username":
		return p.Username != ""
	case "password":
		return !p.Password.IsZero()
	case "key":
		return !p.Key.IsZero()
	case "identifier":
		return !p.Identifier.IsZero()
	case "secret":
		return !p.Secret.IsZero()
	}
	panic("config: no credential " + k)
}

// checkEndpoint wants an absolute http(s) URL. No reason quotes it.
func checkEndpoint(raw string) string {
	return checkURL(raw, "must not hold credentials (user:password@); use the provider's credential keys")
}

// checkURL wants an absolute http(s) URL with a host and no user info
// (userInfo is the reason given when it has some). No reason quotes it:
// a URL may carry a secret.
func checkURL(raw, userInfo string) string {
	if raw == "" {
		return "required"
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" {
		return "want an absolute http:// or https:// URL with a host"
	}
	if u.User != nil {
		return userInfo
	}
	return ""
}

// normalizeTLD lower-cases t, drops a leading (and trailing) dot and turns
// U-labels into A-labels, as domains are stored; ok is false if the result
// is not a sequence of valid DNS labels.
func normalizeTLD(t string) (string, bool) {
	t = strings.TrimSuffix(strings.TrimPrefix(strings.ToLower(t), "."), ".")
	a, err := idna.Lookup.ToASCII(t)
	if err != nil || a == "" || len(a) > 253 {
		return "", false
	}
	for label := range strings.SplitSeq(a, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", false
		}
		for _, c := range []byte(label) {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", false
			}
		}
	}
	return a, true
}

// orNoneNames lists names, or says there are none.
func orNoneNames(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
