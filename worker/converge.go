package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

func (w *Worker) handleLock(ctx context.Context, t *asynq.Task) error {
	var p tasks.LockPayload
	if err := tasks.Decode(t, &p); err != nil {
		return asynqError(fmt.Errorf("%w: %w", errBadPayload, err))
	}
	mode := store.ModeFold
	if p.Cause == tasks.CauseRelock {
		mode = store.ModeRelock
	}
	return w.change(ctx, t, p.Intent, store.Change{Kind: store.KindLock, Mode: mode})
}

func (w *Worker) handleUnlock(ctx context.Context, t *asynq.Task) error {
	var p tasks.UnlockPayload
	if err := tasks.Decode(t, &p); err != nil {
		return asynqError(fmt.Errorf("%w: %w", errBadPayload, err))
	}
	c := store.Change{Kind: store.KindUnlock, Mode: store.ModeFold}
	if p.RelockAfter > 0 {
		c.RelockAt = p.RequestedAt.Add(time.Duration(p.RelockAfter))
	}
	return w.change(ctx, t, p.Intent, c)
}

// change folds a task's intent into the store and converges the registrar.
func (w *Worker) change(ctx context.Context, t *asynq.Task, in tasks.Intent, c store.Change) error {
	c.Domain, c.Provider, c.Generation, c.RequestedAt = in.Domain, in.Provider, in.Generation, in.RequestedAt
	c.DefaultProvider = w.Intents.Routes.ForDomain(in.Domain)
	log := w.taskLog(ctx, t, in.Domain, in.Provider)
	d, outcome, err := w.fold(ctx, c)
	if errors.Is(err, store.ErrProviderRequired) {
		return asynqError(fmt.Errorf("%w: %s is not in the inventory and names no provider", errBadPayload, in.Domain))
	}
	if err != nil {
		return err
	}
	report(ctx, d.Desired.Provider)
	if outcome == store.Superseded {
		log.Info().Int64("generation", in.Generation).Int64("current_generation", d.Desired.Generation).Msg("superseded by a newer intent; dropped")
		writeResult(t, "superseded")
		w.superseded(t)
		return nil
	}
	if outcome == store.Applied && !d.Desired.RelockAt.IsZero() {
		// A producer's own unlock task: schedule the end of its window.
		if err := w.Intents.ScheduleRelock(ctx, d); err != nil {
			return err
		}
	}
	log = log.With().Str("provider", d.Desired.Provider).Int64("generation", d.Desired.Generation).Logger()
	ctx = providers.WithRegistrarID(ctx, d.Name, in.RegistrarID)
	if _, err := w.converge(ctx, log, d, in); err != nil {
		return asynqError(err)
	}
	return nil
}

// fold folds a task's intent into the store. A task recorded through the
// API carries the generation it was recorded as: when that is still the
// stored one (the common case), a plain read of the intent says so, and the
// fold script is left for the rest.
func (w *Worker) fold(ctx context.Context, c store.Change) (store.Domain, store.Outcome, error) {
	if c.Mode == store.ModeFold && c.Generation > 0 {
		d, err := w.Store.Desired(ctx, c.Domain)
		switch {
		case err == nil && d.Generation == c.Generation:
			return store.Domain{Name: c.Domain, Desired: d}, store.Current, nil
		case err == nil && d.Generation > c.Generation:
			return store.Domain{Name: c.Domain, Desired: d}, store.Superseded, nil
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return store.Domain{}, "", err
		}
	}
	return w.Store.Fold(ctx, c)
}

// maxConverge bounds the loop in converge: each turn follows a change of
// intent that arrived while the previous turn was writing.
const maxConverge = 3

// converge brings the registrar to the desired state of d and records every
// reading. After a write it reads the lock back before recording success,
// and if the intent changed meanwhile it converges again, so the newest
// intent always has the last word.
func (w *Worker) converge(ctx context.Context, log zerolog.Logger, d store.Domain, in tasks.Intent) (store.Domain, error) {
	acct, ok := w.Accounts[d.Desired.Provider]
	if !ok {
		err := providers.Permanent(fmt.Errorf("provider %q is not configured", d.Desired.Provider))
		w.recordError(ctx, log, d.Name, time.Now(), err)
		return d, err
	}
	for turn := 0; turn < maxConverge; turn++ {
		st, start, err := w.read(ctx, log, acct, d.Name)
		if err != nil {
			return d, err
		}
		want := d.Desired.Locked
		if st.Locked == want || st.ByRegistry || st.Pending {
			// Nothing to write (yet): record what was read, and look at the
			// intent once more in the same breath.
			if d, err = w.record(ctx, d.Name, st, start, nil); err != nil {
				return d, err
			}
			switch {
			case st.Locked == d.Desired.Locked:
				return d, nil
			case d.Desired.Locked != want:
				// The intent moved while we read; go round again.
				continue
			case st.ByRegistry:
				err := providers.Permanent(errors.New("the lock was set by the registry, not by this account; reglock does not remove it"))
				w.recordError(ctx, log, d.Name, time.Now(), err)
				return d, err
			default:
				return d, errors.New("domain is in a pending state at the registry; not writing until it clears")
			}
		}
		if err := w.wait(ctx, acct); err != nil {
			return d, err
		}
		wrote := time.Now()
		if err := acct.Registrar.SetLock(ctx, d.Name, want); err != nil {
			w.recordError(ctx, log, d.Name, wrote, err)
			return d, err
		}
		st, start, err = w.read(ctx, log, acct, d.Name)
		if err != nil {
			return d, err
		}
		if st.Locked != want {
			d, _ = w.record(ctx, d.Name, st, start, nil)
			return d, fmt.Errorf("registrar accepted the change but still reports locked=%v", st.Locked)
		}
		taskID, _ := asynq.GetTaskID(ctx)
		ev := audit.Event{Kind: audit.KindChange, Domain: d.Name, Provider: d.Desired.Provider,
			Before: lockWord(!want), After: lockWord(want), Cause: in.Cause, RequestedBy: in.RequestedBy,
			Reason: in.Reason, Generation: d.Desired.Generation, TaskID: taskID}
		// The read-back and the audit entry go to Redis in one round trip.
		if d, err = w.record(ctx, d.Name, st, start, &ev); err != nil {
			return d, err
		}
		log.Info().Bool("locked", want).Str("cause", in.Cause).Str("requested_by", in.RequestedBy).
			Str("reason", in.Reason).Msg("registrar lock changed")
		if in.Cause == tasks.CauseSweep && w.Metrics != nil {
			w.Metrics.DriftFixed.WithLabelValues(d.Desired.Provider).Inc()
		}
		if d.Desired.Locked == want {
			return d, nil
		}
		log.Info().Msg("intent changed while writing; converging again")
	}
	return d, errors.New("intent kept changing while converging; retrying")
}

// read reads the registrar under the rate limit. A failed read is recorded
// on the domain; a successful one is the caller's to record.
func (w *Worker) read(ctx context.Context, log zerolog.Logger, acct Account, domain string) (providers.State, time.Time, error) {
	if err := w.wait(ctx, acct); err != nil {
		return providers.State{}, time.Time{}, err
	}
	start := time.Now()
	st, err := acct.Registrar.LockState(ctx, domain)
	if err != nil {
		w.recordError(ctx, log, domain, start, err)
	}
	return st, start, err
}

// record stores a reading (and, with ev, its audit entry, in the same round
// trip) and returns the domain's record after it.
func (w *Worker) record(ctx context.Context, domain string, st providers.State, start time.Time, ev *audit.Event) (store.Domain, error) {
	r := store.Reading{Locked: st.Locked, Flags: store.FlagsOf(st), StartedAt: start}
	if ev == nil || w.Audit == nil {
		if ev != nil {
			w.auditLog(*ev)
		}
		d, _, err := w.Store.Observe(ctx, domain, r)
		return d, err
	}
	w.auditLog(*ev)
	d, _, err := w.Store.Observe(ctx, domain, r, func(p redis.Pipeliner) redis.Cmder { return w.Audit.Append(ctx, p, *ev) })
	return d, err
}

// wait takes a rate-limit slot for the account.
func (w *Worker) wait(ctx context.Context, acct Account) error {
	maxWait := w.MaxRateWait
	if maxWait <= 0 {
		maxWait = 10 * time.Second
	}
	return w.Limiter.Wait(ctx, acct.Name, acct.Limit, maxWait)
}

// recordError puts a registrar error on the domain, where GET /v1/domains
// shows it. Waiting for a busy registrar or a slot is not an error, and a
// cancelled task (shutdown) says nothing about the registrar.
func (w *Worker) recordError(ctx context.Context, log zerolog.Logger, domain string, start time.Time, err error) {
	var ra *providers.RetryAfterError
	if errors.As(err, &ra) || ctx.Err() != nil {
		return
	}
	level := log.Warn()
	if providers.IsPermanent(err) {
		level = log.Error()
	}
	level.Err(err).Bool("permanent", providers.IsPermanent(err)).Msg("registrar error")
	// The task's context may be nearly spent; recording the error must not be.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, _, serr := w.Store.Observe(rctx, domain, store.Reading{Err: err.Error(), StartedAt: start}); serr != nil && !errors.Is(serr, store.ErrNotFound) {
		log.Error().Err(serr).Msg("could not record the registrar error")
	}
}

// writeResult leaves a short result on a task for asynqmon. It costs a
// Redis round trip, so only unusual outcomes get one.
func writeResult(t *asynq.Task, outcome string) {
	if rw := t.ResultWriter(); rw != nil {
		_, _ = rw.Write([]byte(`{"outcome":"` + outcome + `"}`))
	}
}
