package worker

import (
	"context"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/providers"
)

// StoreHold is how long a task held while the store is lost waits before
// it runs again (with jitter). It is not a failure: the task keeps its
// attempts for when the store is back.
const StoreHold = 15 * time.Second

// storeGuard holds every task that reads or writes a registrar or the
// inventory (domain:* and sweep:*) while the store is lost or replaced: on
// a wiped store, a task would fold its intent into an empty inventory and
// write the registrar with nothing to check it against; on another
// installation's store it would converge someone else's domains. The task
// is retried later (providers.RetryAfter: no attempt used) with the reason,
// which asynqmon shows. Other tasks (notifications) run: they write to no
// registrar.
func (w *Worker) storeGuard(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if w.StoreGuard == nil || !heldWhileLost(t.Type()) {
			return next.ProcessTask(ctx, t)
		}
		if err := w.StoreGuard(ctx); err != nil {
			return providers.RetryAfter(StoreHold, err)
		}
		return next.ProcessTask(ctx, t)
	})
}

// heldWhileLost reports whether a task type waits for the store.
func heldWhileLost(typ string) bool {
	return strings.HasPrefix(typ, "domain:") || strings.HasPrefix(typ, "sweep:")
}
