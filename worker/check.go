package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// handleCheck reads one domain's lock and records it. Drift is read again
// after ConfirmDelay before anything is done about it (a registrar, or WHMCS
// in front of one, can report "unlocked" by mistake); confirmed drift gets a
// fix that carries the current generation.
func (w *Worker) handleCheck(ctx context.Context, t *asynq.Task) error {
	var p tasks.CheckPayload
	if err := tasks.Decode(t, &p); err != nil {
		return asynqError(fmt.Errorf("%w: %w", errBadPayload, err))
	}
	d, err := w.Store.Get(ctx, p.Domain)
	if errors.Is(err, store.ErrNotFound) {
		return asynqError(fmt.Errorf("%w: %s is not in the inventory", errBadPayload, p.Domain))
	}
	if err != nil {
		return err
	}
	log := w.taskLog(ctx, t, d.Name, d.Desired.Provider)
	report(ctx, d.Desired.Provider)
	acct, ok := w.Accounts[d.Desired.Provider]
	if !ok {
		return asynqError(providers.Permanent(fmt.Errorf("provider %q is not configured", d.Desired.Provider)))
	}
	st, start, err := w.read(ctx, log, acct, d.Name)
	if err != nil {
		return asynqError(err)
	}
	if d, err = w.record(ctx, d.Name, st, start, nil); err != nil {
		return err
	}
	if d.InSync() || !fixable(d, st) {
		return nil
	}
	if !p.Confirm {
		log.Info().Bool("desired", d.Desired.Locked).Bool("observed", st.Locked).Msg("drift suspected; reading again before acting")
		next, err := tasks.NewCheckTask(tasks.CheckPayload{Domain: d.Name, Confirm: true})
		if err != nil {
			return err
		}
		return w.Intents.Enqueue(ctx, next, asynq.Queue(w.Intents.Queues.Queue(tasks.QueueChecks)),
			asynq.ProcessIn(w.confirmDelay()), asynq.TaskID(intent.TaskID("confirm", d.Name, d.Desired.Generation)))
	}
	log.Warn().Bool("desired", d.Desired.Locked).Bool("observed", st.Locked).Msg("drift confirmed; queueing a fix")
	if w.Metrics != nil {
		w.Metrics.DriftFound.WithLabelValues(d.Desired.Provider, "check").Inc()
	}
	w.audit(ctx, audit.Event{Kind: audit.KindDrift, Domain: d.Name, Provider: d.Desired.Provider,
		Before: lockWord(!d.Desired.Locked), After: lockWord(d.Desired.Locked), Cause: tasks.CauseSweep,
		RequestedBy: "check", Generation: d.Desired.Generation})
	return w.queueFix(ctx, d)
}

// fixable reports whether drift is reglock's to fix: a registry's lock is
// never removed, and a pending domain is left alone until the state clears.
func fixable(d store.Domain, st providers.State) bool {
	if st.Pending {
		return false
	}
	return !(st.ByRegistry && !d.Desired.Locked)
}

// queueFix queues the change that brings a drifted domain back to its
// desired state, under its current generation.
func (w *Worker) queueFix(ctx context.Context, d store.Domain) error {
	in := tasks.Intent{
		Domain: d.Name, Provider: d.Desired.Provider, Generation: d.Desired.Generation,
		RequestedAt: d.Desired.RequestedAt, Cause: tasks.CauseSweep, RequestedBy: "reglock",
		Reason: "drift found by a check",
	}
	var t *asynq.Task
	var err error
	if d.Desired.Locked {
		t, err = tasks.NewLockTask(tasks.LockPayload{Intent: in})
	} else {
		t, err = tasks.NewUnlockTask(tasks.UnlockPayload{Intent: in})
	}
	if err != nil {
		return err
	}
	// The ID names the reading that found the drift: a domain can drift
	// again under the same generation, and that needs a fix of its own.
	id := intent.TaskID("fix", d.Name, d.Desired.Generation) + "/" + strconv.FormatInt(d.Observed.CheckedAt.UnixMilli(), 10)
	return w.Intents.Enqueue(ctx, t, asynq.Queue(w.Intents.Queues.Queue(tasks.QueueFixes)),
		asynq.TaskID(id))
}

func (w *Worker) confirmDelay() time.Duration {
	if w.ConfirmDelay > 0 {
		return w.ConfirmDelay
	}
	return 30 * time.Second
}
