package reconcile

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// Inspector finds and removes a task by its ID, as asynq's Inspector does.
type Inspector interface {
	GetTaskInfo(queue, id string) (*asynq.TaskInfo, error)
	DeleteTask(queue, id string) error
}

// Janitor queues a task for every domain that is owed work no live task is
// handling: a mark past its due time (a producer that died between recording
// and queueing, a task archived after its retries, a worker that died), and
// the relock of every unlock window that ended without one. The scheduler
// runs it every minute; several janitors at once queue nothing twice (each
// mark is claimed, and tasks have deterministic IDs).
type Janitor struct {
	Store     *store.Store
	Queue     tasks.Queue
	Inspector Inspector
	Clock     clock.Clock
	Log       zerolog.Logger
	// Grace is how long past its due time work is left to its own task
	// before the janitor steps in (default a minute: clock skew, a task
	// about to start).
	Grace time.Duration
	// ClaimFor is how long a claimed mark is left alone again: the task the
	// janitor queued has that long to start (default 5 minutes).
	ClaimFor time.Duration
	// Notify, if set, hears of relocks the janitor found overdue.
	Notify *notify.Notifier
}

// JanitorReport is what one run of the janitor did.
type JanitorReport struct {
	// Queued counts tasks queued for work that had none.
	Queued int
	// Requeued counts archived tasks queued again (after their backoff).
	Requeued int
	// Alive counts owed work whose task is still queued or retrying.
	Alive int
	// Relocks counts relocks queued for windows that ended without one.
	Relocks int
	// Failing counts marks whose last task failed permanently.
	Failing int
}

// Run does one pass over the inventory's owed work.
func (j *Janitor) Run(ctx context.Context) (JanitorReport, error) {
	var rep JanitorReport
	now := clock.Or(j.Clock).Now()
	grace, claimFor := j.Grace, j.ClaimFor
	if grace <= 0 {
		grace = time.Minute
	}
	if claimFor <= 0 {
		claimFor = 5 * time.Minute
	}
	err := j.Store.ScanOwed(ctx, now.Add(-grace), func(batch []store.Owed) error {
		for _, o := range batch {
			if err := j.handle(ctx, o, now, claimFor, &rep); err != nil {
				return err
			}
		}
		return nil
	})
	return rep, err
}

func (j *Janitor) handle(ctx context.Context, o store.Owed, now time.Time, claimFor time.Duration, rep *JanitorReport) error {
	if o.Desired.Provider == "" {
		return nil // the domain is gone: nothing is owed (step 10 forgets marks with it)
	}
	if !o.RelockAt.IsZero() {
		if o.Desired.Locked || !o.Desired.RelockAt.Equal(o.RelockAt) {
			return nil // a newer intent replaced the window as this was read
		}
		d := store.Domain{Name: o.Domain, Desired: o.Desired}
		t, err := tasks.NewLockTask(tasks.LockPayload{Intent: RelockIntent(d)})
		if err != nil {
			return err
		}
		queued, err := j.ensure(ctx, t, tasks.RelockID(o.Domain, o.RelockAt), tasks.QueueFixes, rep)
		if queued {
			rep.Relocks++
			j.Log.Warn().Str("domain", o.Domain).Time("relock_at", o.RelockAt).Msg("janitor: queued the relock of an unlock window that ended without one")
			j.relockOverdue(ctx, o.Domain, o.Desired.Provider, o.RelockAt)
		}
		return err
	}
	m, claimed, err := j.Store.Claim(ctx, o, now.Add(claimFor), now)
	if err != nil || !claimed {
		return err
	}
	if m.Fails > 0 {
		rep.Failing++
	}
	t, err := j.task(o, m)
	if err != nil {
		j.Log.Error().Err(err).Str("domain", o.Domain).Msg("janitor: cannot rebuild the task of owed work")
		return nil
	}
	id, queue := OwedTask(o.Domain, o.Desired, m)
	queued, err := j.ensure(ctx, t, id, queue, rep)
	if queued {
		j.Log.Warn().Str("domain", o.Domain).Int64("generation", m.Generation).Str("kind", string(m.Kind)).
			Int("failures", m.Fails).Str("task_id", id).Msg("janitor: queued a task for owed work that had none")
		if m.Kind == store.MarkRelock {
			j.relockOverdue(ctx, o.Domain, o.Desired.Provider, m.RequestedAt)
		}
	}
	return err
}

// task rebuilds the task that converges a mark's domain: its trade lock
// setting for a trade mark, else its lock intent, at the current generation.
func (j *Janitor) task(o store.Owed, m store.Mark) (*asynq.Task, error) {
	in := tasks.Intent{Domain: o.Domain, Provider: o.Desired.Provider, Generation: o.Desired.Generation,
		RequestedAt: m.RequestedAt, RequestedBy: m.RequestedBy, Reason: m.Reason, Cause: tasks.CauseRequest}
	switch m.Kind {
	case store.MarkFix:
		in.Cause = tasks.CauseSweep
	case store.MarkRelock:
		// The relock is applied (its generation is the stored one): a plain
		// change of the current generation converges it.
		in.RequestedBy, in.Reason = "reglock", "unlock window ended"
	}
	if m.Kind == store.MarkTrade && o.Desired.TradeLock != nil {
		ip, err := netip.ParseAddr(o.Desired.ConsentIP)
		if err != nil {
			return nil, err
		}
		return tasks.NewTradeLockTask(tasks.TradeLockPayload{Intent: in, Enable: *o.Desired.TradeLock, ConsentIP: ip})
	}
	if o.Desired.Locked {
		return tasks.NewLockTask(tasks.LockPayload{Intent: in})
	}
	return tasks.NewUnlockTask(tasks.UnlockPayload{Intent: in})
}

// ensure queues t under id unless a live task has that ID. A task of that
// ID that is archived (its retries ran out, or it failed permanently and
// its backoff has passed) or kept after completion is replaced. It reports
// whether it queued a task.
func (j *Janitor) ensure(ctx context.Context, t *asynq.Task, id, queue string, rep *JanitorReport) (bool, error) {
	queued, err := j.Queue.Owed(ctx, t, id, queue)
	if err != nil || queued {
		if queued {
			rep.Queued++
		}
		return queued, err
	}
	if j.Inspector == nil {
		rep.Alive++
		return false, nil
	}
	q := j.Queue.QueueName(queue)
	info, err := j.Inspector.GetTaskInfo(q, id)
	if errors.Is(err, asynq.ErrTaskNotFound) {
		// Gone between the two calls: try once more next run.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.State != asynq.TaskStateArchived && info.State != asynq.TaskStateCompleted {
		rep.Alive++
		return false, nil
	}
	if err := j.Inspector.DeleteTask(q, id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
		return false, err
	}
	queued, err = j.Queue.Owed(ctx, t, id, queue)
	if queued {
		rep.Requeued++
	}
	return queued, err
}

// relockOverdue raises relock_overdue for the unlock window of domain that
// ended at end: once per window, however often the janitor queues it.
func (j *Janitor) relockOverdue(ctx context.Context, domain, provider string, end time.Time) {
	if !j.Notify.Enabled() {
		return
	}
	e := notify.Event{ID: notify.NewID(notify.KindRelockOverdue, domain+"@"+notify.At(end)), Kind: notify.KindRelockOverdue,
		Domain: domain, Provider: provider,
		Summary: fmt.Sprintf("relock of %s overdue: its unlock window ended at %s and it is not locked yet; the janitor queued the relock",
			domain, end.UTC().Format(time.RFC3339)),
		Data: map[string]any{"window_end": end.UTC()}}
	if err := j.Notify.Raise(ctx, e); err != nil {
		j.Log.Warn().Err(err).Str("domain", domain).Msg("janitor: could not queue a notification")
	}
}
