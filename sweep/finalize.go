package sweep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/scheduler"
)

// FixQueue owes and queues the fix of one confirmed drift
// (reconcile.FixQueue). It reports false when the domain's intent moved on
// since the sweep read it: there is nothing to fix.
type FixQueue interface {
	QueueFix(ctx context.Context, d reconcile.Drift) (bool, error)
}

func queueFix(ctx context.Context, q FixQueue, sweepID string, f Fix) (bool, error) {
	return q.QueueFix(ctx, reconcile.Drift{Domain: f.Domain, Provider: f.Provider, Lock: f.Lock,
		Generation: f.Generation, RegistrarID: f.RegistrarID, SweepID: sweepID})
}

// Starter is how front ends (the API, the CLI, the scheduler) start sweeps
// and apply paused ones.
type Starter struct {
	Records *Records
	Queue   Queue
	// Fixes queues the fixes an operator applies.
	Fixes FixQueue
	Clock clock.Clock
}

// NewID returns a fresh ID for a sweep started by hand.
func (s *Starter) NewID() string { return NewID(s.now()) }

// Apply queues the held fixes of a paused sweep: an operator's decision
// that the drift is real.
func (s *Starter) Apply(ctx context.Context, id string) (Status, error) {
	return s.Records.Apply(ctx, id, s.Fixes, s.now())
}

// Start starts a sweep under id. Starting an ID that exists does nothing
// and reports false, so every scheduler replica can try the same tick.
func (s *Starter) Start(ctx context.Context, id string, o Options) (bool, error) {
	created, err := s.Records.Create(ctx, id, o, s.now())
	if err != nil {
		return false, err
	}
	// Queue the start task even for an existing sweep: a retry after a
	// crash between the two steps must not leave a sweep that never runs.
	// Its task ID makes the second enqueue a no-op.
	return created, s.queueStart(ctx, id)
}

func (s *Starter) queueStart(ctx context.Context, id string) error {
	return s.Queue.SweepStart(ctx, id)
}

// ResumeStuck queues the start task of every sweep that was recorded more
// than a minute ago but never started (its creator died before queueing
// it), and returns their IDs. The scheduler runs it every minute.
func (s *Starter) ResumeStuck(ctx context.Context) ([]string, error) {
	ids, err := s.Records.Stuck(ctx, s.now().Add(-time.Minute))
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if err := s.queueStart(ctx, id); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// StartSweep starts a scheduled sweep (scheduler.Starter).
func (s *Starter) StartSweep(ctx context.Context, id string) error {
	_, err := s.Start(ctx, id, Options{Trigger: "schedule"})
	return err
}

// ErrPassRunning is returned when a freshness pass is due while the
// previous one still runs: the pass is owed, and starts as soon as the
// running one ends (so that a pass that takes longer than its window does
// not cost the next one a whole window).
var ErrPassRunning = errors.New("the previous freshness pass is still running; this one starts when it ends")

// Passes starts freshness passes (scheduler.Starter): one per tick, unless
// the previous pass still runs.
type Passes struct {
	Starter   *Starter
	Freshness Freshness
}

// StartSweep starts the freshness pass id, or reports ErrPassRunning.
func (p Passes) StartSweep(ctx context.Context, id string) error {
	running, err := p.Starter.Records.RunningPass(ctx, id)
	if err != nil {
		return err
	}
	if running != "" {
		if err := p.Starter.Records.owePass(ctx, id, p.Freshness); err != nil {
			return err
		}
		return fmt.Errorf("%w: %w (%s)", scheduler.ErrSkip, ErrPassRunning, running)
	}
	_, err = p.Starter.Start(ctx, id, Options{Trigger: "freshness", Freshness: p.Freshness})
	return err
}

func (s *Starter) now() time.Time { return clock.Or(s.Clock).Now() }

// Guard is the blast-radius guard.
type Guard struct {
	// MaxDriftShare: an account with a larger share of its checked domains
	// drifted is paused instead of fixed.
	MaxDriftShare float64
}

// Hold says why an account's fixes must wait for an operator, or "".
// Mass drift is a compromise or a registrar bug, not something to fix
// blindly; unlocking is never done by a sweep on its own.
// Drift reglock would not fix anyway (a registry's own lock, a pending
// domain) does not count.
func (g Guard) Hold(c Counts) string {
	return g.hold(c, c, "")
}

// MinPassDrift is how much fixable drift freshness passes must have found
// before its share can pause an account: a pass reads a handful of a small
// account's domains, and one drift among five is not mass drift.
const MinPassDrift = 10

// HoldPass is Hold for a freshness pass: this is the pass's own figures,
// trail the account's passes of the trailing period, newest first, this
// one included (PassTrail). An unlock still holds at once. The drift share
// is judged over the newest passes that together read enough domains for
// MinPassDrift drifts to exceed the limit (MinPassDrift / MaxDriftShare,
// 100 at the default 10%), or all of the period's if they read fewer, and
// only once those hold MinPassDrift fixable drifts. So isolated drift
// never pauses an account whatever a pass's sample, and a registrar that
// starts misreading every domain pauses it within a pass or two of
// reading MinPassDrift of them, not once a tenth of a day's reads are bad.
func (g Guard) HoldPass(this Counts, trail []Counts) string {
	sample := int64(math.Ceil(MinPassDrift / g.MaxDriftShare))
	var share Counts
	passes := 0
	for _, c := range trail {
		share.Checked += c.Checked
		share.Drifted += c.Drifted - c.Unfixable
		passes++
		if share.Checked >= sample {
			break
		}
	}
	if share.Drifted < MinPassDrift {
		share = Counts{}
	}
	return g.hold(this, share, " in the newest "+english.Count(passes, "freshness pass"))
}

// hold applies the unlock rule to this and the share rule to share.
func (g Guard) hold(this, share Counts, over string) string {
	var why []string
	c := this
	fixable := share.Drifted - share.Unfixable
	if share.Checked > 0 && float64(fixable)/float64(share.Checked) > g.MaxDriftShare {
		why = append(why, fmt.Sprintf("%d of %s drifted%s (%.1f%% > the %.1f%% limit)",
			fixable, english.Count(share.Checked, "domain"), over, 100*float64(fixable)/float64(share.Checked), 100*g.MaxDriftShare))
	}
	if c.Unlocks > 0 {
		what := "domains"
		if c.Unlocks == 1 {
			what = "a domain"
		}
		why = append(why, fmt.Sprintf("%s would unlock %s", english.Count(c.Unlocks, "fix"), what))
	}
	if len(why) == 0 {
		return ""
	}
	out := why[0]
	for _, w := range why[1:] {
		out += "; " + w
	}
	return out + ": fixes held until an operator applies the sweep"
}

// trailKey holds an account's freshness passes of the trailing period:
// members "<pass id>|<checked>|<fixable drift>", scored by their end.
func (r *Records) trailKey(account string) string { return r.prefix + "freshness:trail:" + account }

// PassTrail records pass id's figures c for account at now and returns the
// figures of the account's passes of the last period, newest first, this
// one included (only Checked and Drifted, the fixable drift, are kept).
// Recording a pass twice counts it once.
func (r *Records) PassTrail(ctx context.Context, account, id string, c Counts, now time.Time, period time.Duration) ([]Counts, error) {
	key := r.trailKey(account)
	member := fmt.Sprintf("%s|%d|%d", id, c.Checked, c.Drifted-c.Unfixable)
	p := r.rdb.TxPipeline()
	// The period is (now - period, now].
	p.ZRemRangeByScore(ctx, key, "-inf", strconv.FormatInt(now.Add(-period).UnixMilli(), 10))
	p.ZAddNX(ctx, key, redis.Z{Score: float64(now.UnixMilli()), Member: member})
	p.PExpire(ctx, key, period)
	all := p.ZRevRange(ctx, key, 0, -1)
	if _, err := p.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]Counts, 0, len(all.Val()))
	for _, m := range all.Val() {
		i := strings.LastIndexByte(m, '|')
		j := strings.LastIndexByte(m[:max(i, 0)], '|')
		if i < 0 || j < 0 {
			continue
		}
		checked, _ := strconv.ParseInt(m[j+1:i], 10, 64)
		fixable, _ := strconv.ParseInt(m[i+1:], 10, 64)
		out = append(out, Counts{Checked: checked, Drifted: fixable})
	}
	return out, nil
}

// forgetTrail drops the accounts' trailing figures.
func (r *Records) forgetTrail(ctx context.Context, accounts []string) error {
	if len(accounts) == 0 {
		return nil
	}
	keys := make([]string, len(accounts))
	for i, a := range accounts {
		keys[i] = r.trailKey(a)
	}
	return r.rdb.Del(ctx, keys...).Err()
}

// Finalize ends a sweep whose units are all done: each account's drift goes
// through the guard, the fixes of the accounts that pass are queued, and the
// others are paused. It is idempotent: fixes carry deterministic task IDs.
func (r *Records) Finalize(ctx context.Context, id string, g Guard, q FixQueue, now time.Time) (Status, error) {
	st, err := r.Get(ctx, id)
	if err != nil || st.State != StateRunning {
		return st, err
	}
	fixes, err := r.Fixes(ctx, id)
	if err != nil {
		return st, err
	}
	paused := map[string]string{}
	if !st.Options.DryRun {
		for p, c := range st.PerProvider {
			why := ""
			if st.Options.Pass() {
				trail, err := r.PassTrail(ctx, p, id, c, now, st.Options.Freshness.Period)
				if err != nil {
					return st, err
				}
				why = g.HoldPass(c, trail)
			} else {
				why = g.Hold(c)
			}
			if why != "" {
				paused[p] = fmt.Sprintf("%s (review: reglock sweep report %s; then: reglock sweep apply %s)", why, id, id)
			}
		}
	}
	var queued int64
	if !st.Options.DryRun {
		for _, f := range fixes {
			if _, held := paused[f.Provider]; held {
				continue
			}
			ok, err := queueFix(ctx, q, id, f)
			if err != nil {
				return st, err
			}
			if ok {
				queued++
			}
		}
	}
	state := StateDone
	if len(paused) > 0 {
		state = StatePaused
	}
	if _, err := r.finish(ctx, id, StateRunning, state, paused, nil, queued, now); err != nil {
		return st, err
	}
	if st, err = r.Get(ctx, id); err != nil {
		return st, err
	}
	return st, r.recordLast(ctx, st)
}

// Apply queues the held fixes of a paused sweep: an operator's decision
// that the drift is real.
func (r *Records) Apply(ctx context.Context, id string, q FixQueue, now time.Time) (Status, error) {
	st, err := r.Get(ctx, id)
	if err != nil {
		return st, err
	}
	if st.State != StatePaused {
		return st, fmt.Errorf("%w: it is %s", ErrNotPaused, st.State)
	}
	fixes, err := r.Fixes(ctx, id)
	if err != nil {
		return st, err
	}
	var queued int64
	for _, f := range fixes {
		if _, held := st.Paused[f.Provider]; !held {
			continue
		}
		ok, err := queueFix(ctx, q, id, f)
		if err != nil {
			return st, err
		}
		if ok {
			queued++
		}
	}
	clear := make([]string, 0, len(st.Paused))
	for p := range st.Paused {
		clear = append(clear, p)
	}
	sort.Strings(clear)
	if st.Options.Pass() {
		// The operator judged the drift real: it no longer counts
		// against the passes that follow.
		if err := r.forgetTrail(ctx, clear); err != nil {
			return st, err
		}
	}
	if _, err := r.finish(ctx, id, StatePaused, StateDone, nil, clear, queued, now); err != nil {
		return st, err
	}
	if st, err = r.Get(ctx, id); err != nil {
		return st, err
	}
	return st, r.recordLast(ctx, st)
}
