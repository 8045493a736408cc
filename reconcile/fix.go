package reconcile

import (
	"context"
	"time"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// FixQueue queues the fixes of drift a sweep confirmed. Each fix is owed (a
// mark) before its task is queued, so that a fix lost on the way is queued
// again by the janitor, and a sweep never fixes a domain whose intent moved
// on since it was read.
type FixQueue struct {
	Store *store.Store
	Queue tasks.Queue
	Clock clock.Clock
}

// Drift is one confirmed drift, to fix.
type Drift struct {
	Domain     string
	Provider   string
	Lock       bool
	Generation int64
	// RegistrarID is a hint of the registrar's own ID for the domain.
	RegistrarID string
	SweepID     string
}

// QueueFix owes and queues a fix. It reports false, queueing nothing, when
// the domain's intent is no longer the one the sweep saw drift from.
func (q FixQueue) QueueFix(ctx context.Context, f Drift) (bool, error) {
	now := clock.Or(q.Clock).Now()
	id := tasks.FixID(f.Domain, f.Generation, f.SweepID)
	in := tasks.Intent{Domain: f.Domain, Provider: f.Provider, Generation: f.Generation, RegistrarID: f.RegistrarID,
		Cause: tasks.CauseSweep, RequestedBy: "sweep:" + f.SweepID, Reason: "drift found by sweep " + f.SweepID}
	armed, err := q.Store.Arm(ctx, f.Domain, f.Generation, store.WorkNote{Kind: store.MarkFix, Due: now.Add(time.Minute),
		TaskID: id, RequestedBy: in.RequestedBy, Reason: in.Reason}, now)
	if err != nil || !armed {
		return false, err
	}
	if _, err := q.Queue.Fix(ctx, in, f.Lock, f.SweepID); err != nil {
		return false, err
	}
	return true, nil
}
