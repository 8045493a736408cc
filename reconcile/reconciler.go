package reconcile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// Counters counts what reconciles find and do; *metrics.Metrics is one.
type Counters interface {
	DriftConfirmed(provider, source string)
	DriftFixed(provider string)
}

// Account is one configured registrar account.
type Account struct {
	Name      string
	Type      string
	Registrar providers.Registrar
	Limit     ratelimit.Limit
}

// Reconciler converges domains. It is safe for concurrent use.
type Reconciler struct {
	Store    *store.Store
	Limiter  *ratelimit.Limiter
	Accounts map[string]Account
	// Queue takes the tasks a reconcile schedules: the relock at the end of
	// an unlock window and the second reading of a suspected drift.
	Queue tasks.Queue
	Log   zerolog.Logger
	// Audit, when set, receives every change made and every drift found.
	Audit *audit.Log
	// Notify, when set, hears of drift confirmed and fixed, relocks done,
	// domains gone and changes failed for good.
	Notify *notify.Notifier
	// Counters, when set, counts drift confirmed and fixed (metrics).
	Counters Counters
	// Clock is the time source; nil means the wall clock.
	Clock clock.Clock
	// NewToken returns a fresh lease token; nil means 16 random bytes.
	NewToken func() string

	// ConfirmDelay is how long a check waits before reading a suspected
	// drift again (default 30s).
	ConfirmDelay time.Duration
	// MaxRateWait is the longest a call waits for a rate-limit slot before
	// the task is handed back to the queue (default 10s).
	MaxRateWait time.Duration
	// CallTimeout bounds one registrar call (the adapters' HTTP timeout;
	// default 30s).
	CallTimeout time.Duration
	// InDoubtHold is how long after a write failed in a way that leaves
	// its outcome unknown (a timeout, a 5xx, a dropped connection) the
	// write may still land at the registrar: the lease is kept until then,
	// so that nobody reads the domain and believes it (default 30s).
	InDoubtHold time.Duration
}

// The lease a reconcile holds covers its next registrar call and, before a
// write, the time that write may take to land: a worker that dies holds up
// its domain no longer than that. A reconcile renews it before each call
// that needs more.
func (r *Reconciler) readLease() time.Duration {
	return r.maxRateWait() + r.callTimeout() + 10*time.Second
}

func (r *Reconciler) writeLease() time.Duration {
	return r.maxRateWait() + r.callTimeout() + r.inDoubtHold()
}

// Defaults.
const (
	DefaultConfirmDelay = 30 * time.Second
	DefaultMaxRateWait  = 10 * time.Second
	DefaultCallTimeout  = 30 * time.Second
	DefaultInDoubtHold  = 30 * time.Second
	// retryBound is the longest a task waits between two attempts
	// (worker.RetryDelay's cap for changes, with its jitter) and a margin:
	// a mark left by an attempt that failed is looked at by the janitor
	// only after it, so a task that is merely waiting to retry is not
	// queued twice.
	retryBound = 16 * time.Minute
	// maxTurns bounds the converge loop: each turn follows an intent that
	// changed while the previous turn wrote.
	maxTurns = 3
)

// RecheckAfter is how long after a domain's task failed permanently (for
// the nth time in a row) the janitor queues it again: a domain whose work
// cannot be done is looked at again, not forgotten until the next sweep.
func RecheckAfter(fails int) time.Duration {
	switch {
	case fails <= 1:
		return time.Hour
	case fails == 2:
		return 6 * time.Hour
	default:
		return 24 * time.Hour
	}
}

// Attempt is a task run as asynq reports it.
type Attempt struct {
	TaskID, Queue     string
	Retried, MaxRetry int
}

// Last reports whether a failure of this attempt archives the task. A
// MaxRetry below zero means unknown (a handler run outside asynq).
func (a Attempt) Last() bool { return a.MaxRetry >= 0 && a.Retried >= a.MaxRetry }

// Request is one reconcile of a domain.
type Request struct {
	Domain string
	// Change, if set, is the task's intent, folded in first (a lock,
	// unlock, trade lock or relock task). Without it the reconcile is a
	// check: it converges only an intent not yet carried out (a mark), and
	// treats any other difference as drift to confirm.
	Change *store.Change
	// Confirm is set on a check's second reading of a suspected drift.
	Confirm bool
	// Cause, RequestedBy and Reason describe the change for the audit
	// trail when no mark does.
	Cause, RequestedBy, Reason string
	// RegistrarID is a hint of the registrar's own ID for the domain.
	RegistrarID string
	Attempt     Attempt
}

// Outcome is how a reconcile ended without an error.
type Outcome string

// The outcomes.
const (
	// Superseded: the task's intent is older than the stored one, whose
	// own task (or the janitor) converges the domain.
	Superseded Outcome = "superseded"
	// Settled: the task's intent was carried out already.
	Settled Outcome = "settled"
	// Converged: the registrar is in the desired state, confirmed by a
	// reading under the lease.
	Converged Outcome = "converged"
	// ConfirmQueued: a check found drift once and queued a second reading.
	ConfirmQueued Outcome = "confirm_queued"
	// Unchanged: a check found what it could not act on alone (an intent
	// moved on while it looked).
	Unchanged Outcome = "unchanged"
)

// Result is what a reconcile did.
type Result struct {
	Outcome Outcome
	Domain  store.Domain
	// Recorded is set once the task's intent is in the store (folded, or
	// found there): from then on it is owed until carried out, whatever
	// becomes of the task.
	Recorded bool
}

// ErrNotInInventory is returned (permanent) for a task whose domain is not
// in the inventory and names no provider, or a check of such a domain.
var ErrNotInInventory = errors.New("domain is not in the inventory")

// errBusy is wrapped in the RetryAfter a task gets while another worker
// holds its domain's lease.
var errBusy = errors.New("another worker is converging this domain")

// errPending is the transient error of a domain in a pending state.
var errPending = errors.New("domain is in a pending state at the registry; not writing until it clears")

// Reconcile converges one domain. Errors are the providers vocabulary
// (permanent, RetryAfter, transient) and Redis errors (transient); the
// worker maps them onto asynq.
func (r *Reconciler) Reconcile(ctx context.Context, req Request) (Result, error) {
	now := r.clock().Now()
	c := store.Change{Domain: req.Domain, Mode: store.ModeCheck}
	if req.Change != nil {
		c = *req.Change
		c.Domain = req.Domain
		if c.RequestedBy == "" && c.Reason == "" {
			c.RequestedBy, c.Reason = req.RequestedBy, req.Reason
		}
		if c.Work == nil {
			c.Work = &store.WorkNote{Kind: markKind(c), RequestedBy: req.RequestedBy, Reason: req.Reason}
		}
	}
	// A change is about to write, most likely; a check only to read.
	lease := now.Add(r.readLease())
	if req.Change != nil {
		lease = now.Add(r.writeLease())
		// The task is on it for as long as it holds the lease.
		c.Work.Due = lease
	}
	tok := r.token()
	d, outcome, lr, err := r.Store.Begin(ctx, c, store.Lease{Token: tok, Until: lease}, now)
	switch {
	case errors.Is(err, store.ErrProviderRequired):
		return Result{}, providers.Permanent(fmt.Errorf("%w: %s names no provider and no provider's tlds cover it", ErrNotInInventory, req.Domain))
	case errors.Is(err, store.ErrNotFound):
		return Result{}, providers.Permanent(fmt.Errorf("%w: %s", ErrNotInInventory, req.Domain))
	case err != nil:
		return Result{}, err
	case outcome == store.Superseded:
		return Result{Outcome: Superseded, Domain: d}, nil
	case lr.Settled:
		return Result{Outcome: Settled, Domain: d}, nil
	case !lr.Acquired:
		return Result{Domain: d, Recorded: true}, providers.RetryAfter(max(lr.BusyUntil.Sub(now), time.Second),
			fmt.Errorf("%s: %w until %s", req.Domain, errBusy, lr.BusyUntil.UTC().Format(time.RFC3339)))
	}
	base := r.Log.With().Str("task_id", req.Attempt.TaskID).Logger()
	run := &run{r: r, req: req, tok: tok, leaseUntil: lease, base: base,
		log: base.With().Str("domain", d.Name).Str("provider", d.Desired.Provider).Logger()}
	ctx = providers.WithRegistrarID(ctx, d.Name, req.RegistrarID)
	res, err := run.converge(ctx, d)
	res.Recorded = true
	return res, err
}

// run is one reconcile under the domain's lease. Every way out of it goes
// through finish, which records what was seen and releases (or holds) the
// lease.
type run struct {
	r          *Reconciler
	req        Request
	tok        string
	leaseUntil time.Time
	// log carries the task, the domain and its provider. base carries only
	// the task: for Record, WatchTransfer, Departed and notify, which name
	// the domain and provider themselves (a key twice in one JSON line is
	// one that strict parsers refuse).
	log, base zerolog.Logger
}

// errLeaseLost is returned when a reconcile's lease ended before it was
// done (it took far longer than its calls may): another worker may be
// converging the domain, so this one stops.
var errLeaseLost = errors.New("the domain's lease ended before the reconcile did")

// hold makes sure the lease lasts about d more, renewing it if it has
// less than d left by more than a few seconds (the lease taken a moment ago
// need not be renewed for the call right after).
func (u *run) hold(ctx context.Context, domain string, d time.Duration) error {
	now := u.r.clock().Now()
	if u.leaseUntil.Sub(now) >= d-5*time.Second {
		return nil
	}
	until := now.Add(d)
	ok, err := u.r.Store.Renew(ctx, domain, u.tok, until)
	if err != nil {
		return err
	}
	if !ok {
		return errLeaseLost
	}
	u.leaseUntil = until
	return nil
}

func (u *run) converge(ctx context.Context, d store.Domain) (Result, error) {
	acct, ok := u.r.Accounts[d.Desired.Provider]
	if !ok {
		err := providers.Permanent(fmt.Errorf("provider %q is not configured", d.Desired.Provider))
		return u.fail(ctx, d, err, false, u.r.clock().Now())
	}
	// Every request the adapter sends (a lookup, a login, the call itself)
	// takes a slot of the account's rate limit.
	ctx = providers.WithPacer(ctx, func(ctx context.Context) error { return u.wait(ctx, acct) })
	for turn := 0; turn < maxTurns; turn++ {
		want := d.Desired.Locked
		st, read, err := u.read(ctx, acct, d.Name)
		if err != nil {
			return u.fail(ctx, d, err, false, read)
		}
		u.r.WatchTransfer(ctx, u.base, d, st)
		reading := &store.Reading{Locked: st.Locked, Flags: store.FlagsOf(st), StartedAt: read}
		v := Decide(want, st, Situation{Acting: true, Pending: d.Work.Pending, Confirmed: u.req.Confirm})
		switch v {
		case InSync:
			done, next, res, err := u.settle(ctx, acct, d, reading, nil)
			if done || err != nil {
				return res, err
			}
			d = next
			continue
		case Fix:
			if !d.Work.Pending {
				// Confirmed drift: owe the fix before writing it.
				if done, res, err := u.arm(ctx, d, reading); done || err != nil {
					return res, err
				}
			}
			if err := u.hold(ctx, d.Name, u.r.writeLease()); err != nil {
				return u.fail(ctx, d, err, false, u.r.clock().Now())
			}
			wrote := u.r.clock().Now()
			if err := acct.Registrar.SetLock(ctx, d.Name, want); err != nil {
				return u.fail(ctx, d, err, true, wrote)
			}
			st, read, err = u.read(ctx, acct, d.Name)
			if err != nil {
				// The registrar accepted the write: nothing is in doubt.
				return u.fail(ctx, d, err, false, read)
			}
			reading = &store.Reading{Locked: st.Locked, Flags: store.FlagsOf(st), StartedAt: read}
			if st.Locked != want {
				// Accepted but not (yet) in effect: the write may still land,
				// so nobody may believe a reading until it can no longer.
				now := u.r.clock().Now()
				hold := now.Add(u.r.inDoubtHold())
				_, _, _ = u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Lease: store.Hold, HoldUntil: hold,
					MarkDue: hold.Add(retryBound)})
				return Result{Domain: d}, fmt.Errorf("%s: registrar accepted the change but still reports locked=%v", d.Name, st.Locked)
			}
			ev := u.changeEvent(d, want)
			done, next, res, err := u.settle(ctx, acct, d, reading, &ev)
			if done || err != nil {
				return res, err
			}
			u.log.Info().Msg("intent changed while writing; converging again")
			d = next
			continue
		case Confirm:
			if _, _, err := u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Lease: store.Release}); err != nil {
				return Result{Domain: d}, err
			}
			u.log.Info().Bool("desired", want).Bool("observed", st.Locked).Msg("drift suspected; reading again before acting")
			return Result{Outcome: ConfirmQueued, Domain: d}, u.queueConfirm(ctx, d)
		case Wait, NotOurs:
			if !d.Work.Pending {
				// A check: nothing is owed, so nothing is waiting. The
				// reading is recorded; a sweep counts it as unfixable.
				_, _, err := u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Lease: store.Release})
				return Result{Outcome: Unchanged, Domain: d}, err
			}
			if v == Wait {
				now := u.r.clock().Now()
				_, _, err := u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Lease: store.Release, MarkDue: now.Add(retryBound)})
				if err != nil {
					return Result{Domain: d}, err
				}
				return Result{Domain: d}, fmt.Errorf("%s: %w", d.Name, errPending)
			}
			if _, _, err := u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Lease: store.Keep}); err != nil {
				return Result{Domain: d}, err
			}
			err := providers.Permanent(fmt.Errorf("%s: the lock was set by the registry, not by this account; reglock does not remove it", d.Name))
			return u.fail(ctx, d, err, false, u.r.clock().Now())
		default:
			// Changing cannot happen under the lease; treat it as a wait.
			_, _, _ = u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Lease: store.Release})
			return Result{Domain: d}, fmt.Errorf("%s: unexpected verdict %v", d.Name, v)
		}
	}
	now := u.r.clock().Now()
	_, _, _ = u.finish(ctx, store.Finish{Domain: d.Name, Lease: store.Release, MarkDue: now.Add(retryBound)})
	return Result{Domain: d}, fmt.Errorf("%s: intent kept changing while converging; retrying", d.Name)
}

// settle finishes a turn whose reading is in sync: it sends a trade lock
// setting still owed, records the reading (and ev) and settles the mark.
// It reports done when the domain is converged, or the record to go round
// again with when the intent moved on meanwhile.
func (u *run) settle(ctx context.Context, acct Account, d store.Domain, reading *store.Reading, ev *audit.Event) (bool, store.Domain, Result, error) {
	var sent *bool
	if d.Desired.TradePending() {
		enable := *d.Desired.TradeLock
		if err := u.sendTrade(ctx, acct, d, enable); err != nil {
			// The lock reading is true whatever the trade call did.
			_, _, _ = u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Lease: store.Keep})
			res, err := u.fail(ctx, d, err, true, u.r.clock().Now())
			return true, d, res, err
		}
		sent = &enable
	}
	var also []func(redis.Pipeliner) redis.Cmder
	if ev != nil && u.r.Audit != nil {
		e := *ev
		also = append(also, func(p redis.Pipeliner) redis.Cmder { return u.r.Audit.Append(ctx, p, e) })
	}
	if sent != nil && u.r.Audit != nil {
		e := u.tradeEvent(d, *sent)
		also = append(also, func(p redis.Pipeliner) redis.Cmder { return u.r.Audit.Append(ctx, p, e) })
	}
	next, settled, err := u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Token: u.tok,
		SettleGen: d.Desired.Generation, TradeSent: sent, Lease: store.ReleaseIfSettled}, also...)
	if errors.Is(err, store.ErrNotFound) {
		return true, d, Result{Outcome: Converged, Domain: d}, nil // forgotten meanwhile
	}
	if err != nil {
		return true, d, Result{Domain: d}, err
	}
	if ev != nil {
		u.logEvent(*ev)
		u.r.notify(ctx, u.base, *ev)
	}
	if sent != nil {
		u.log.Info().Bool("trade_lock", *sent).Str("consent_ip", d.Desired.ConsentIP).Msg("trade lock setting sent")
	}
	if settled {
		u.afterSettle(ctx, next)
		return true, next, Result{Outcome: Converged, Domain: next}, nil
	}
	if next.Desired.Generation != d.Desired.Generation {
		return false, next, Result{}, nil
	}
	if !next.Work.Pending {
		// Nothing was owed (a check in sync): release the lease.
		_, _, err := u.finish(ctx, store.Finish{Domain: d.Name, Lease: store.Release})
		return true, next, Result{Outcome: Converged, Domain: next}, err
	}
	// Still owed at the same generation: a reading recorded meanwhile by a
	// sweep is newer and out of sync. Read again.
	return false, next, Result{}, nil
}

// afterSettle queues the relock of an unlock window, now that the unlock is
// carried out. If that fails, the janitor queues it once the window ends.
func (u *run) afterSettle(ctx context.Context, d store.Domain) {
	if d.Desired.Locked || d.Desired.RelockAt.IsZero() || u.r.Queue.Client == nil {
		return
	}
	if _, err := u.r.Queue.Relock(ctx, RelockIntent(d)); err != nil {
		u.log.Warn().Err(err).Time("relock_at", d.Desired.RelockAt).Msg("could not queue the relock; the janitor will when the window ends")
	}
}

// RelockIntent is the intent of the task that ends d's unlock window.
func RelockIntent(d store.Domain) tasks.Intent {
	return tasks.Intent{Domain: d.Name, Provider: d.Desired.Provider, RequestedAt: d.Desired.RelockAt,
		Cause: tasks.CauseRelock, RequestedBy: "reglock", Reason: "unlock window ended"}
}

// arm owes the fix of confirmed drift before it is written. It reports
// done when there is nothing to write after all (the intent moved on).
func (u *run) arm(ctx context.Context, d store.Domain, reading *store.Reading) (bool, Result, error) {
	now := u.r.clock().Now()
	by, reason := u.req.RequestedBy, u.req.Reason
	if by == "" {
		by, reason = "reglock", "drift confirmed by a check"
	}
	armed, err := u.r.Store.Arm(ctx, d.Name, d.Desired.Generation, store.WorkNote{Kind: store.MarkFix,
		Due: now.Add(u.r.writeLease()), TaskID: u.req.Attempt.TaskID, RequestedBy: by, Reason: reason}, now)
	if err != nil {
		_, _, _ = u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Lease: store.Release})
		return true, Result{Domain: d}, err
	}
	if !armed {
		_, _, err := u.finish(ctx, store.Finish{Domain: d.Name, Reading: reading, Lease: store.Release})
		return true, Result{Outcome: Unchanged, Domain: d}, err
	}
	u.log.Warn().Bool("desired", d.Desired.Locked).Bool("observed", reading.Locked).Msg("drift confirmed; fixing it")
	if u.r.Counters != nil {
		u.r.Counters.DriftConfirmed(d.Desired.Provider, "check")
	}
	u.audit(ctx, audit.Event{Kind: audit.KindDrift, Domain: d.Name, Provider: d.Desired.Provider,
		Before: lockWord(!d.Desired.Locked), After: lockWord(d.Desired.Locked), Cause: tasks.CauseSweep,
		RequestedBy: by, Generation: d.Desired.Generation, TaskID: u.req.Attempt.TaskID})
	return false, Result{}, nil
}

// namesDomain reports whether text names domain as a whole name: not
// inside a longer one ("mine.com" is not named by "notmine.com" nor by
// "mine.com.au").
func namesDomain(text, domain string) bool {
	label := func(c byte) bool {
		return c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	for i := 0; ; {
		j := strings.Index(text[i:], domain)
		if j < 0 || domain == "" {
			return false
		}
		start, end := i+j, i+j+len(domain)
		before := start == 0 || !label(text[start-1])
		// A trailing dot ends a sentence, not the name ("... mine.com.").
		after := end == len(text) || !label(text[end]) || text[end] == '.' && (end+1 == len(text) || !label(text[end+1]))
		if before && after {
			return true
		}
		i = start + 1
	}
}

// fail ends a reconcile on an error: it records the error on the domain
// (not a wait for a slot or a busy registrar), gives the mark its next due
// time, and releases the lease, or holds it while a write may still land.
func (u *run) fail(ctx context.Context, d store.Domain, err error, wrote bool, at time.Time) (Result, error) {
	if !wrote && u.r.Departed(ctx, u.base, d, err) {
		_, _, _ = u.finish(ctx, store.Finish{Domain: d.Name, Token: u.tok, Lease: store.Release})
		return Result{Outcome: Converged, Domain: d}, nil
	}
	if !namesDomain(err.Error(), d.Name) {
		// Name the domain: asynqmon shows this error as the task's last.
		err = fmt.Errorf("%s: %w", d.Name, err)
	}
	if providers.IsUnrecognized(err) && u.req.Attempt.Retried+1 >= providers.UnrecognizedAttempts {
		// An answer the adapter has no rule for, seen on every attempt:
		// report it rather than retry it for hours.
		err = providers.Permanent(fmt.Errorf("%w (an answer reglock does not recognize, %d attempts)", err, u.req.Attempt.Retried+1))
	}
	now := u.r.clock().Now()
	f := store.Finish{Domain: d.Name, Token: u.tok, Lease: store.Release}
	verdict := providers.Judge(ctx, err).Task
	retryLater, permanent := verdict == providers.RetryLater, verdict == providers.Archive
	switch {
	case retryLater:
		// Refused before anything was sent (rate limit, open breaker) or
		// answered "busy": nothing applied.
		var ra *providers.RetryAfterError
		errors.As(err, &ra)
		f.MarkDue = now.Add(ra.After + time.Minute)
	case permanent:
		f.MarkFailed = true
	default:
		f.MarkDue = now.Add(retryBound)
		if wrote {
			// The write's outcome is unknown: it may still land.
			f.Lease, f.HoldUntil = store.Hold, now.Add(u.r.inDoubtHold())
			f.MarkDue = f.HoldUntil.Add(retryBound)
		}
	}
	if permanent || (u.req.Attempt.Last() && !retryLater) {
		// The task is archived: the janitor looks again after a backoff.
		f.MarkFailed = true
		f.MarkDue = now.Add(RecheckAfter(d.Work.Mark.Fails + 1))
	}
	if !retryLater && ctx.Err() == nil {
		f.Reading = &store.Reading{Err: err.Error(), StartedAt: at}
		ev := u.log.Warn()
		if permanent {
			ev = u.log.Error()
		}
		ev.Err(err).Bool("permanent", permanent).Msg("registrar error")
		if permanent && !errors.Is(err, providers.ErrNotFound) && d.Work.Pending && d.Work.Mark.Fails == 0 {
			// The first permanent failure of owed work (the store keeps the
			// error in the domain's history; this tells a person).
			u.r.notify(ctx, u.base, audit.Event{Kind: audit.KindError, Domain: d.Name, Provider: d.Desired.Provider,
				Generation: d.Desired.Generation, Error: err.Error(), Time: now})
		}
		if errors.Is(err, providers.ErrNotFound) && !strings.Contains(d.Observed.Error, providers.ErrNotFound.Error()) {
			// The account no longer holds the domain (expired, or
			// transferred away): its history says so once.
			u.audit(ctx, audit.Event{Kind: audit.KindGone, Domain: d.Name, Provider: d.Desired.Provider,
				Generation: d.Desired.Generation, Error: err.Error(), TaskID: u.req.Attempt.TaskID, Time: now})
		}
	}
	if _, _, ferr := u.finish(ctx, f); ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
		u.log.Error().Err(ferr).Msg("could not record the end of a failed reconcile")
		if f.MarkFailed {
			// Archiving the task now would leave nobody the wiser: no error on
			// the domain, no backoff on its mark. Retry until it is recorded.
			return Result{Domain: d}, fmt.Errorf("%s (not recorded: %v; retrying)", err.Error(), ferr)
		}
	}
	return Result{Domain: d}, err
}

// finish records a step; its context outlives a cancelled task's, because
// what it records (an error, a lease held for a write in flight) matters
// most then.
func (u *run) finish(ctx context.Context, f store.Finish, also ...func(redis.Pipeliner) redis.Cmder) (store.Domain, bool, error) {
	f.Token = u.tok
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	return u.r.Store.Finish(fctx, f, also...)
}

// read reads the registrar under the rate limit.
func (u *run) read(ctx context.Context, acct Account, domain string) (providers.State, time.Time, error) {
	if err := u.hold(ctx, domain, u.r.readLease()); err != nil {
		return providers.State{}, u.r.clock().Now(), err
	}
	start := u.r.clock().Now()
	st, err := acct.Registrar.LockState(ctx, domain)
	return st, start, err
}

// wait takes a rate-limit slot for the account: the pacer of every request
// the adapter sends.
func (u *run) wait(ctx context.Context, acct Account) error {
	if u.r.Limiter == nil {
		return ctx.Err()
	}
	if u.req.Change == nil {
		// A check reads in the background lane: a change never waits
		// behind it.
		ctx = ratelimit.Background(ctx)
	}
	return u.r.Limiter.Wait(ctx, acct.Name, acct.Limit, u.r.maxRateWait())
}

// sendTrade sends the trade lock setting.
func (u *run) sendTrade(ctx context.Context, acct Account, d store.Domain, enable bool) error {
	tl, ok := acct.Registrar.(providers.TradeLocker)
	if !ok {
		return providers.Permanent(fmt.Errorf("provider %q (%s) has no trade lock", acct.Name, acct.Type))
	}
	ip, err := netip.ParseAddr(d.Desired.ConsentIP)
	if err != nil {
		return providers.Permanent(fmt.Errorf("the trade lock setting has no valid consent IP (%q)", d.Desired.ConsentIP))
	}
	if err := u.hold(ctx, d.Name, u.r.writeLease()); err != nil {
		return err
	}
	return tl.SetTradeLock(ctx, d.Name, enable, ip)
}

// queueConfirm queues a check's second reading.
func (u *run) queueConfirm(ctx context.Context, d store.Domain) error {
	if u.r.Queue.Client == nil {
		return nil
	}
	return u.r.Queue.Confirm(ctx, d.Name, d.Desired.Generation, u.r.confirmDelay())
}

// changeEvent describes a lock change for the audit trail: the mark says
// who asked, else the request does.
func (u *run) changeEvent(d store.Domain, locked bool) audit.Event {
	cause, by, reason := u.req.Cause, u.req.RequestedBy, u.req.Reason
	if m := d.Work.Mark; d.Work.Pending {
		by, reason = m.RequestedBy, m.Reason
		switch m.Kind {
		case store.MarkRelock:
			cause = tasks.CauseRelock
		case store.MarkFix:
			cause = tasks.CauseSweep
		default:
			cause = tasks.CauseRequest
		}
	}
	if cause == "" {
		cause = tasks.CauseRequest
	}
	return audit.Event{Kind: audit.KindChange, Domain: d.Name, Provider: d.Desired.Provider,
		Before: lockWord(!locked), After: lockWord(locked), Cause: cause, RequestedBy: by,
		Reason: reason, Generation: d.Desired.Generation, TaskID: u.req.Attempt.TaskID, Time: u.r.clock().Now()}
}

func (u *run) tradeEvent(d store.Domain, enable bool) audit.Event {
	ev := u.changeEvent(d, d.Desired.Locked)
	ev.Before, ev.After = "", "trade_lock:off"
	if enable {
		ev.After = "trade_lock:on"
	}
	ev.Reason += " (consent IP " + d.Desired.ConsentIP + ")"
	return ev
}

func (u *run) logEvent(e audit.Event) {
	u.log.Info().Bool("locked", e.After == "locked").Str("cause", e.Cause).Str("requested_by", e.RequestedBy).
		Str("reason", e.Reason).Int64("generation", e.Generation).Msg("registrar lock changed")
	if e.Cause == tasks.CauseSweep && u.r.Counters != nil {
		u.r.Counters.DriftFixed(e.Provider)
	}
}

// audit records an event in the domain's history, the log and the
// notifications.
func (u *run) audit(ctx context.Context, e audit.Event) { u.r.Record(ctx, u.base, e) }

func markKind(c store.Change) store.MarkKind {
	switch {
	case c.Mode == store.ModeRelock:
		return store.MarkRelock
	case c.Kind == store.KindTrade:
		return store.MarkTrade
	default:
		return store.MarkLock
	}
}

func (r *Reconciler) clock() clock.Clock { return clock.Or(r.Clock) }

func (r *Reconciler) token() string {
	if r.NewToken != nil {
		return r.NewToken()
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *Reconciler) maxRateWait() time.Duration {
	if r.MaxRateWait > 0 {
		return r.MaxRateWait
	}
	return DefaultMaxRateWait
}

func (r *Reconciler) callTimeout() time.Duration {
	if r.CallTimeout > 0 {
		return r.CallTimeout
	}
	return DefaultCallTimeout
}

func (r *Reconciler) inDoubtHold() time.Duration {
	if r.InDoubtHold > 0 {
		return r.InDoubtHold
	}
	return DefaultInDoubtHold
}

func (r *Reconciler) confirmDelay() time.Duration {
	if r.ConfirmDelay > 0 {
		return r.ConfirmDelay
	}
	return DefaultConfirmDelay
}

func lockWord(locked bool) string {
	if locked {
		return "locked"
	}
	return "unlocked"
}
