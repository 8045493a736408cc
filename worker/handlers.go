package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/tracing"
)

// The change handlers fold the task's intent and reconcile the domain on
// whatever intent is current: a task's intent only orders it against the
// others, it never decides what is written.

func (w *Worker) handleLock(ctx context.Context, t *asynq.Task) error {
	var p tasks.LockPayload
	if err := tasks.Decode(t, &p); err != nil {
		return badPayload(err)
	}
	c := store.Change{Kind: store.KindLock, Mode: store.ModeFold}
	if p.Cause == tasks.CauseRelock {
		c.Mode = store.ModeRelock
	}
	return w.change(ctx, t, p.Intent, c)
}

func (w *Worker) handleUnlock(ctx context.Context, t *asynq.Task) error {
	var p tasks.UnlockPayload
	if err := tasks.Decode(t, &p); err != nil {
		return badPayload(err)
	}
	c := store.Change{Kind: store.KindUnlock, Mode: store.ModeFold}
	if p.RelockAfter > 0 {
		c.RelockAt = p.RequestedAt.Add(time.Duration(p.RelockAfter))
	}
	return w.change(ctx, t, p.Intent, c)
}

func (w *Worker) handleTradeLock(ctx context.Context, t *asynq.Task) error {
	var p tasks.TradeLockPayload
	if err := tasks.Decode(t, &p); err != nil {
		return badPayload(err)
	}
	c := store.Change{Kind: store.KindTrade, Mode: store.ModeFold, TradeEnable: p.Enable, ConsentIP: p.ConsentIP.String()}
	return w.change(ctx, t, p.Intent, c)
}

// change folds a task's intent into the store and reconciles the domain.
func (w *Worker) change(ctx context.Context, t *asynq.Task, in tasks.Intent, c store.Change) error {
	c.Provider, c.Generation, c.RequestedAt = in.Provider, in.Generation, in.RequestedAt
	if w.RouteTLD != nil {
		c.DefaultProvider = w.RouteTLD(in.Domain)
	}
	kind := store.MarkLock
	switch {
	case c.Mode == store.ModeRelock:
		kind = store.MarkRelock
	case c.Kind == store.KindTrade:
		kind = store.MarkTrade
	case in.Cause == tasks.CauseSweep:
		kind = store.MarkFix
	}
	c.Work = &store.WorkNote{Kind: kind, RequestedBy: in.RequestedBy, Reason: in.Reason}
	a := attemptOf(ctx)
	tracing.Annotate(ctx, tracing.Domain(in.Domain))
	tracing.Annotate(ctx, tracing.AttrGeneration.Int64(in.Generation))
	res, err := w.Reconcile(ctx, reconcile.Request{Domain: in.Domain, Change: &c, Cause: in.Cause,
		RequestedBy: in.RequestedBy, Reason: in.Reason, RegistrarID: in.RegistrarID, Attempt: a})
	report(ctx, res.Domain.Desired.Provider)
	annotate(ctx, res)
	switch res.Outcome {
	case reconcile.Superseded:
		w.Log.Info().Str("task_id", a.TaskID).Str("domain", in.Domain).Int64("generation", in.Generation).
			Int64("current_generation", res.Domain.Desired.Generation).Msg("superseded by a newer intent; dropped")
		writeResult(t, "superseded")
		w.superseded(t)
	case reconcile.Settled:
		writeResult(t, "settled")
	}
	if !res.Recorded {
		// The intent never reached the store (Redis failed on every
		// attempt): archived when retries run out, so that it can be run
		// again from asynqmon rather than lost.
		return err
	}
	return owed(err, in.Domain, a)
}

// handleCheck reads one domain's lock and records it. Drift on an intent
// carried out before is read again after the confirm delay before it is
// fixed (a registrar, or WHMCS in front of one, can answer wrongly once);
// an intent not yet carried out is carried out.
func (w *Worker) handleCheck(ctx context.Context, t *asynq.Task) error {
	var p tasks.CheckPayload
	if err := tasks.Decode(t, &p); err != nil {
		return badPayload(err)
	}
	a := attemptOf(ctx)
	tracing.Annotate(ctx, tracing.Domain(p.Domain))
	res, err := w.Reconcile(ctx, reconcile.Request{Domain: p.Domain, Confirm: p.Confirm, Attempt: a})
	report(ctx, res.Domain.Desired.Provider)
	annotate(ctx, res)
	// A check that fails leaves the error on the domain, where the next
	// sweep looks again.
	return owed(err, p.Domain, a)
}

// annotate adds what a reconcile found to the task's span.
func annotate(ctx context.Context, res reconcile.Result) {
	tracing.Annotate(ctx, tracing.AttrProvider.String(res.Domain.Desired.Provider))
	if res.Outcome != "" {
		tracing.Annotate(ctx, tracing.AttrOutcome.String(string(res.Outcome)))
	}
}

type attemptKey struct{}

// WithAttempt tells the handlers which task run they serve, for runners
// other than asynq's server (the deterministic simulation); under asynq
// they ask asynq.
func WithAttempt(ctx context.Context, a reconcile.Attempt) context.Context {
	return context.WithValue(ctx, attemptKey{}, a)
}

func attemptOf(ctx context.Context) reconcile.Attempt {
	if a, ok := ctx.Value(attemptKey{}).(reconcile.Attempt); ok {
		return a
	}
	a := reconcile.Attempt{MaxRetry: -1}
	a.TaskID, _ = asynq.GetTaskID(ctx)
	a.Queue, _ = asynq.GetQueueName(ctx)
	a.Retried, _ = asynq.GetRetryCount(ctx)
	if n, ok := asynq.GetMaxRetry(ctx); ok {
		a.MaxRetry = n
	}
	return a
}

// writeResult leaves a short result on a task for asynqmon. It costs a
// Redis round trip, so only unusual outcomes get one.
func writeResult(t *asynq.Task, outcome string) {
	if rw := t.ResultWriter(); rw != nil {
		_, _ = rw.Write([]byte(`{"outcome":"` + outcome + `"}`))
	}
}
