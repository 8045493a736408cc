package sweep

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

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
	var why []string
	fixable := c.Drifted - c.Unfixable
	if c.Checked > 0 && float64(fixable)/float64(c.Checked) > g.MaxDriftShare {
		why = append(why, fmt.Sprintf("%d of %s drifted (%.1f%% > the %.1f%% limit)",
			fixable, english.Count(c.Checked, "domain"), 100*float64(fixable)/float64(c.Checked), 100*g.MaxDriftShare))
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
			if why := g.Hold(c); why != "" {
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
	if _, err := r.finish(ctx, id, StatePaused, StateDone, nil, clear, queued, now); err != nil {
		return st, err
	}
	if st, err = r.Get(ctx, id); err != nil {
		return st, err
	}
	return st, r.recordLast(ctx, st)
}
