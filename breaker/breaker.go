// Package breaker is a circuit breaker per registrar account: when an
// account keeps failing (timeouts, 5xx, refused connections) or refuses
// the credentials, calls to it stop for a while instead of hammering it
// once per task, and resume after a single successful probe.
//
// Each process keeps its own breakers and shares their state through one
// small Redis hash, so that a breaker one worker opens stops the others too,
// and the API's /readyz and /metrics can show it.
//
// A refused credential opens the breaker at once, is logged once for the
// account, and turns every waiting task into "retry later": work waits for
// the credentials to be fixed instead of being archived domain by domain.
package breaker

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
)

// States of a breaker.
const (
	Closed   = "closed"
	Open     = "open"
	HalfOpen = "half_open"
	// ProbeDue is how Report shows an open breaker whose probe has been
	// due for longer than ProbeGrace: no call has come to probe it.
	ProbeDue = "probe_due"
)

// ProbeGrace is how long after its cooldown an open breaker still counts
// as holding work back. Waiting tasks retry when the cooldown ends (plus at
// most a fifth of it as jitter: 2 minutes at the 10-minute maximum), and
// the first of them is the probe; an open breaker that nobody has probed
// by then has no work waiting, so it is not an outage worth an alert.
const ProbeGrace = 3 * time.Minute

// ErrOpen is wrapped in the *providers.RetryAfterError a call gets while
// its account's breaker is open.
var ErrOpen = errors.New("circuit open")

// Options tune the breakers; the zero value is usable.
type Options struct {
	// Threshold is how many failures in a row open a breaker (default 5).
	Threshold int
	// Cooldown is how long a breaker stays open before its first probe
	// (default 30s); each failed probe doubles it, up to MaxCooldown
	// (default 10m).
	Cooldown, MaxCooldown time.Duration
	// AuthCooldown is how long refused credentials keep it open (default 5m).
	AuthCooldown time.Duration
	// Clock is the time source; nil means the wall clock.
	Clock clock.Clock
}

func (o *Options) defaults() {
	if o.Threshold <= 0 {
		o.Threshold = 5
	}
	if o.Cooldown <= 0 {
		o.Cooldown = 30 * time.Second
	}
	if o.MaxCooldown <= 0 {
		o.MaxCooldown = 10 * time.Minute
	}
	if o.AuthCooldown <= 0 {
		o.AuthCooldown = 5 * time.Minute
	}
	o.Clock = clock.Or(o.Clock)
}

// Status is an account's breaker as every process sees it.
type Status struct {
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since"`
	// Until is when the next probe may go, while open.
	Until time.Time `json:"until,omitempty"`
}

// Transition is a breaker of this process opening or closing.
type Transition struct {
	Account string
	// Status is the new state: Open, with its reason and probe time, or
	// Closed.
	Status Status
	// Outage is when the outage began: the Since of the open breaker, both
	// when it opens (again, after a failed probe) and when it closes. A
	// process that took the open state from another shares its Since, so
	// that every process names one outage alike.
	Outage time.Time
}

// Set is one process's breakers. It is safe for concurrent use.
type Set struct {
	rdb  redis.UniversalClient
	key  string
	opts Options
	log  zerolog.Logger
	// OnChange, if set, is told of every transition (metrics).
	OnChange func(account, state string)
	// OnTransition, if set, is told of every transition with its status
	// (notifications). It runs on the call that caused it, so it must be
	// quick.
	OnTransition func(ctx context.Context, t Transition)

	mu       sync.Mutex
	breakers map[string]*breaker
	shared   map[string]Status
	sharedAt time.Time
}

type breaker struct {
	// refusals holds when each recently refused domain was refused.
	refusals map[string]time.Time
	state    string
	failures int
	since    time.Time
	until    time.Time
	cooldown time.Duration
	reason   string
	probing  bool
}

// New returns the breakers of a process, sharing state under prefix.
func New(rdb redis.UniversalClient, prefix string, opts Options, log zerolog.Logger) *Set {
	opts.defaults()
	return &Set{rdb: rdb, key: prefix + "breakers", opts: opts, log: log.With().Str("component", "breaker").Logger(),
		breakers: map[string]*breaker{}}
}

// Middleware guards an account's calls (providers.Wrap).
func (s *Set) Middleware(account string) providers.Middleware {
	return func(ctx context.Context, op, domain string, call func(context.Context) error) error {
		if err := s.allow(ctx, account, op, domain); err != nil {
			return err
		}
		err := call(ctx)
		return s.record(ctx, account, domain, err)
	}
}

// RefusalsToOpen is how many distinct domains of an account the registrar
// must refuse (providers.ErrRefused) within RefusalWindow before the
// refusals count as evidence about the account rather than the domains:
// one refused domain is that domain's problem (it is not in the account),
// several at once are more likely refused credentials.
const (
	RefusalsToOpen = 3
	RefusalWindow  = 5 * time.Minute
)

// allow lets a call through, or answers when to try again. The refusal
// is this call's error, the "Last Error" asynqmon shows on its task: it
// names the call's own domain and the account's cause, never another
// domain's failure (the one that opened the breaker).
func (s *Set) allow(ctx context.Context, account, op, domain string) error {
	s.refreshShared(ctx)
	now := s.opts.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.get(account)
	if b.state == Closed {
		// Another process may have opened it. Its cooldown over, the
		// next call here is the probe: the process that opened it may be
		// gone (restarted, scaled down), and only a probe's success
		// publishes "closed" in its place.
		sh, ok := s.shared[account]
		if !ok || sh.State != Open {
			return nil
		}
		b.state, b.until, b.reason, b.since = Open, sh.Until, sh.Reason, sh.Since
		b.cooldown = min(max(s.opts.Cooldown, sh.Until.Sub(sh.Since)), s.opts.MaxCooldown)
	}
	switch {
	case b.state == Open && now.Before(b.until):
		return providers.RetryAfter(b.until.Sub(now), fmt.Errorf("%w for account %s since %s: %s; %s was not sent",
			ErrOpen, account, b.since.UTC().Format(time.RFC3339), b.reason, notSent(op, domain)))
	case b.probing:
		// One probe at a time; the others wait for its verdict.
		return providers.RetryAfter(max(time.Second, b.cooldown/10), fmt.Errorf("%w for account %s while a probe tests it; %s was not sent",
			ErrOpen, account, notSent(op, domain)))
	default:
		b.state, b.probing = HalfOpen, true
		return nil
	}
}

// record learns from a call's outcome and returns the error the caller
// sees: a refused credential becomes "retry later". Only evidence about the
// account opens the breaker: refused credentials, a refusal of a call that
// is not about one domain (a listing), or refusals of several distinct
// domains; one domain's refusal is that domain's permanent error.
func (s *Set) record(ctx context.Context, account, domain string, err error) error {
	switch providers.Judge(ctx, err).Account {
	case providers.Neutral:
		s.neutral(account)
	case providers.Up:
		s.success(ctx, account)
	case providers.CredentialsRefused:
		s.trip(ctx, account, "the registrar refused the credentials", s.opts.AuthCooldown, true, err)
		// err is this call's own: it names this call's domain.
		return providers.RetryAfter(s.opts.AuthCooldown, fmt.Errorf("%w for account %s: %w", ErrOpen, account, err))
	case providers.Refused:
		if n := s.refused(account, domain); domain == "" || n >= RefusalsToOpen {
			why := fmt.Sprintf("the registrar refused requests for %d distinct domains within %s", n, RefusalWindow)
			if domain == "" {
				why = "the registrar refused a request about the account itself"
			}
			s.trip(ctx, account, why, s.opts.AuthCooldown, true, err)
			return providers.RetryAfter(s.opts.AuthCooldown, fmt.Errorf("%w for account %s: %w", ErrOpen, account, err))
		}
		s.success(ctx, account)
	case providers.Failing:
		s.failure(ctx, account, err)
	}
	return err
}

// notSent names the call a breaker held back, for its task's error: "this
// task (domain example.com)", or the call about the whole account.
func notSent(op, domain string) string {
	if domain == "" {
		return "this task's " + op + " call"
	}
	return "this task (domain " + domain + ")"
}

// cause says what kind of failure err is without quoting it: an open
// breaker's reason is the account's, shown on every task it holds back
// (and in /readyz and notifications), so it must not carry the failing
// call's domain or the registrar's words about it. The worker's log has
// the error itself.
func cause(err error) string {
	var se *providers.StatusError
	var dns *net.DNSError
	var ne net.Error
	var cert *tls.CertificateVerificationError
	switch {
	case errors.As(err, &se):
		return providers.SummarizeBody(se.Code, "", nil)
	case errors.Is(err, providers.ErrTooLarge):
		return "an answer larger than reglock reads"
	case errors.As(err, &dns):
		return "DNS lookup failed"
	case errors.As(err, &cert):
		return "TLS certificate not trusted"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before the answer"
	case providers.IsUnrecognized(err):
		return "an answer reglock does not recognize"
	case errors.As(err, &ne):
		return "network error"
	}
	return "an error (the worker's log has it)"
}

// refused notes a refusal of domain and returns how many distinct domains
// of the account were refused within RefusalWindow.
func (s *Set) refused(account, domain string) int {
	now := s.opts.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.get(account)
	if b.refusals == nil {
		b.refusals = map[string]time.Time{}
	}
	for d, at := range b.refusals {
		if now.Sub(at) > RefusalWindow {
			delete(b.refusals, d)
		}
	}
	if domain != "" {
		b.refusals[domain] = now
	}
	return len(b.refusals)
}

func (s *Set) neutral(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.get(account).probing = false
}

func (s *Set) success(ctx context.Context, account string) {
	s.mu.Lock()
	b := s.get(account)
	wasOpen := b.state != Closed
	outage := b.since
	b.state, b.failures, b.probing, b.cooldown, b.reason = Closed, 0, false, 0, ""
	b.since = s.opts.Clock.Now()
	since := b.since
	if wasOpen && s.shared != nil {
		// Before the lock is released: a call in between must not adopt
		// the "open" this process is about to replace.
		s.shared[account] = Status{State: Closed, Since: since}
	}
	s.mu.Unlock()
	if wasOpen {
		s.log.Warn().Str("provider", account).Msg("registrar answers again: circuit closed")
		s.publish(ctx, account, Status{State: Closed, Since: since}, outage)
	}
}

func (s *Set) failure(ctx context.Context, account string, err error) {
	s.mu.Lock()
	b := s.get(account)
	b.failures++
	probeFailed := b.state == HalfOpen
	trip := probeFailed || b.failures >= s.opts.Threshold
	cooldown := s.opts.Cooldown
	if probeFailed {
		cooldown = min(2*b.cooldown, s.opts.MaxCooldown)
	}
	failures := b.failures
	s.mu.Unlock()
	if trip {
		s.trip(ctx, account, fmt.Sprintf("%d failed calls in a row, the last: %s", failures, cause(err)), cooldown, false, err)
	}
}

// trip opens an account's breaker for reason, which names no domain; the
// log line has last, the error that tripped it, in full.
func (s *Set) trip(ctx context.Context, account, reason string, cooldown time.Duration, auth bool, last error) {
	now := s.opts.Clock.Now()
	s.mu.Lock()
	b := s.get(account)
	wasOpen := b.state == Open && now.Before(b.until)
	if b.state == Closed {
		// A failed probe (half-open) re-opens: the outage started
		// when the breaker first opened, and Since says so.
		b.since = now
	}
	b.state, b.probing, b.cooldown, b.reason = Open, false, cooldown, reason
	b.until = now.Add(cooldown)
	st := Status{State: Open, Reason: reason, Since: b.since, Until: b.until}
	s.mu.Unlock()
	if wasOpen {
		return // reported already: once per account, not once per domain
	}
	ev := s.log.Error()
	if !auth {
		ev = s.log.Warn()
	}
	ev.Str("provider", account).Str("reason", reason).AnErr("last_error", last).Time("probe_at", st.Until).
		Msg("circuit open: calls to this registrar account stop until a probe succeeds; its work waits")
	s.publish(ctx, account, st, st.Since)
}

func (s *Set) get(account string) *breaker {
	b := s.breakers[account]
	if b == nil {
		b = &breaker{state: Closed, since: s.opts.Clock.Now()}
		s.breakers[account] = b
	}
	return b
}

// publish shares a transition through Redis. Failing to share only costs
// the other processes a few failed calls of their own.
func (s *Set) publish(ctx context.Context, account string, st Status, outage time.Time) {
	if s.OnChange != nil {
		s.OnChange(account, st.State)
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	v := st.State + "|" + strconv.FormatInt(st.Since.UnixMilli(), 10) + "|" + strconv.FormatInt(st.Until.UnixMilli(), 10) + "|" + st.Reason
	if err := s.rdb.HSet(pctx, s.key, account, v).Err(); err != nil {
		s.log.Warn().Err(err).Msg("could not share the breaker state")
	}
	s.mu.Lock()
	if s.shared == nil {
		s.shared = map[string]Status{}
	}
	s.shared[account] = st
	s.mu.Unlock()
	// Last: the other processes need the state more than anyone needs
	// to hear of it.
	if s.OnTransition != nil {
		s.OnTransition(ctx, Transition{Account: account, Status: st, Outage: outage})
	}
}

// sharedEvery is how often a process looks at the other processes' breakers.
const sharedEvery = 2 * time.Second

func (s *Set) refreshShared(ctx context.Context) {
	s.mu.Lock()
	fresh := s.opts.Clock.Now().Sub(s.sharedAt) < sharedEvery
	if !fresh {
		s.sharedAt = s.opts.Clock.Now() // one refresher at a time
	}
	s.mu.Unlock()
	if fresh {
		return
	}
	all, err := ReadAll(ctx, s.rdb, s.key)
	if err != nil {
		return
	}
	s.mu.Lock()
	s.shared = all
	s.mu.Unlock()
}

// Key is the Redis hash where breakers are shared, under prefix.
func Key(prefix string) string { return prefix + "breakers" }

// Report returns every account's breaker for operators (/metrics,
// /readyz): the shared state, except that an open breaker whose probe has
// been due for over ProbeGrace shows as ProbeDue. Its Since and Until are
// kept.
func Report(ctx context.Context, rdb redis.UniversalClient, key string, now time.Time) (map[string]Status, error) {
	all, err := ReadAll(ctx, rdb, key)
	if err != nil {
		return nil, err
	}
	for account, st := range all {
		if st.State == Open && !st.Until.IsZero() && now.After(st.Until.Add(ProbeGrace)) {
			st.State = ProbeDue
			all[account] = st
		}
	}
	return all, nil
}

// ReadAll returns every account's shared breaker state.
func ReadAll(ctx context.Context, rdb redis.UniversalClient, key string) (map[string]Status, error) {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	m, err := rdb.HGetAll(rctx, key).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[string]Status, len(m))
	for account, v := range m {
		f := strings.SplitN(v, "|", 4)
		if len(f) != 4 {
			continue
		}
		since, _ := strconv.ParseInt(f[1], 10, 64)
		until, _ := strconv.ParseInt(f[2], 10, 64)
		st := Status{State: f[0], Since: time.UnixMilli(since).UTC(), Reason: f[3]}
		if until > 0 {
			st.Until = time.UnixMilli(until).UTC()
		}
		out[account] = st
	}
	return out, nil
}
