package tasks

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/tracing"
)

// Queue is the one way reglock queues its own tasks: a method per kind of
// work, each with its deterministic ID (ids.go), its queue and its options,
// so that no caller restates a namespace, a queue name or an ID format. A
// task whose ID is still queued, retrying, archived or kept counts as
// queued: queueing the same work twice queues it once.
type Queue struct {
	Client    Enqueuer
	Namespace Namespace
}

// SweepRetention is how long a sweep's start task is kept after it ran:
// as long as the sweep's record, so that a scheduler tick cannot start its
// sweep twice.
const SweepRetention = 7 * 24 * time.Hour

// Lock queues the task of a recorded lock intent (generation p.Generation)
// and returns its ID.
func (q Queue) Lock(ctx context.Context, p LockPayload) (string, error) {
	t, err := NewLockTask(p)
	return q.change(ctx, "lock", p.Intent, t, err)
}

// Unlock queues the task of a recorded unlock intent and returns its ID.
func (q Queue) Unlock(ctx context.Context, p UnlockPayload) (string, error) {
	t, err := NewUnlockTask(p)
	return q.change(ctx, "unlock", p.Intent, t, err)
}

// TradeLock queues the task of a recorded trade lock setting and returns
// its ID.
func (q Queue) TradeLock(ctx context.Context, p TradeLockPayload) (string, error) {
	t, err := NewTradeLockTask(p)
	return q.change(ctx, "trade", p.Intent, t, err)
}

// change queues a producer's change t (unless building it failed) under
// the ID of its kind and generation.
func (q Queue) change(ctx context.Context, kind string, in Intent, t *asynq.Task, err error) (string, error) {
	if err != nil {
		return "", err
	}
	id := ChangeID(kind, in.Domain, in.Generation)
	_, err = q.enqueue(ctx, t, id, QueueChanges)
	return id, err
}

// Relock queues the end of an unlock window: a lock with CauseRelock whose
// RequestedAt is the window's end, run then. It reports whether it queued
// the task now (false: it was queued already).
func (q Queue) Relock(ctx context.Context, in Intent) (bool, error) {
	in.Cause = CauseRelock
	t, err := NewLockTask(LockPayload{Intent: in})
	if err != nil {
		return false, err
	}
	return q.enqueue(ctx, t, RelockID(in.Domain, in.RequestedAt), QueueFixes, asynq.ProcessAt(in.RequestedAt))
}

// Confirm queues a check's second reading of a drift suspected at
// generation gen, after delay.
func (q Queue) Confirm(ctx context.Context, domain string, gen int64, delay time.Duration) error {
	t, err := NewCheckTask(CheckPayload{Domain: domain, Confirm: true})
	if err != nil {
		return err
	}
	_, err = q.enqueue(ctx, t, ConfirmID(domain, gen), QueueChecks, asynq.ProcessIn(delay))
	return err
}

// Fix queues the change that undoes a drift a sweep confirmed at
// in.Generation: a lock (or an unlock) with CauseSweep. It returns the
// task's ID.
func (q Queue) Fix(ctx context.Context, in Intent, lock bool, sweepID string) (string, error) {
	in.Cause = CauseSweep
	var t *asynq.Task
	var err error
	if lock {
		t, err = NewLockTask(LockPayload{Intent: in})
	} else {
		t, err = NewUnlockTask(UnlockPayload{Intent: in})
	}
	if err != nil {
		return "", err
	}
	id := FixID(in.Domain, in.Generation, sweepID)
	_, err = q.enqueue(ctx, t, id, QueueFixes)
	return id, err
}

// Owed queues again a task that carries work still owed to a domain (the
// janitor's): t under the ID and on the queue of the task that went
// missing. It reports false, queueing nothing, if a task of that ID is
// still there (ErrTaskIDConflict is not an error here).
func (q Queue) Owed(ctx context.Context, t *asynq.Task, id, queue string) (bool, error) {
	return q.enqueue(ctx, t, id, queue)
}

// SweepStart queues the task that starts a sweep: kept as long as the
// sweep's record, so that a scheduler tick cannot start its sweep twice.
func (q Queue) SweepStart(ctx context.Context, sweepID string) error {
	return q.sweep(ctx, SweepPayload{SweepID: sweepID, Phase: SweepStart}, SweepRetention)
}

// SweepUnit queues one unit of a sweep's stage.
func (q Queue) SweepUnit(ctx context.Context, sweepID, unit string) error {
	return q.sweep(ctx, SweepPayload{SweepID: sweepID, Phase: SweepUnit, Unit: unit}, time.Hour)
}

// SweepFinish queues the task that ends a sweep whose units are all done.
func (q Queue) SweepFinish(ctx context.Context, sweepID string) error {
	return q.sweep(ctx, SweepPayload{SweepID: sweepID, Phase: SweepFinish}, time.Hour)
}

// sweep queues a sweep's task, kept for keep after it ran so that a
// planner run again after a crash queues nothing twice.
func (q Queue) sweep(ctx context.Context, p SweepPayload, keep time.Duration) error {
	t, err := NewSweepTask(p)
	if err != nil {
		return err
	}
	_, err = q.enqueue(ctx, t, SweepTaskID(p.SweepID, p.Phase, p.Unit), QueueChecks, asynq.Retention(keep))
	return err
}

// QueueName is the full name of queue q in this installation.
func (q Queue) QueueName(name string) string { return q.Namespace.Queue(name) }

// enqueue queues t under id on queue; it reports false if the ID is taken.
func (q Queue) enqueue(ctx context.Context, t *asynq.Task, id, queue string, opts ...asynq.Option) (bool, error) {
	name := q.Namespace.Queue(queue)
	// The task carries the enqueue's trace context in its headers, so the
	// worker's spans join the caller's trace (package tracing).
	t, span := tracing.StartEnqueue(ctx, t, id, name)
	opts = append([]asynq.Option{asynq.TaskID(id), asynq.Queue(name)}, opts...)
	_, err := q.Client.EnqueueContext(ctx, t, opts...)
	queued := err == nil
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		err = nil
	}
	tracing.EndEnqueue(span, queued, err)
	return queued, err
}
