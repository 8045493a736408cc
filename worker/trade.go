package worker

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// handleTradeLock sends the OpenSRS trade lock setting. The setting cannot
// be read back, so the store records it as applied but unverified.
func (w *Worker) handleTradeLock(ctx context.Context, t *asynq.Task) error {
	var p tasks.TradeLockPayload
	if err := tasks.Decode(t, &p); err != nil {
		return asynqError(fmt.Errorf("%w: %w", errBadPayload, err))
	}
	log := w.taskLog(ctx, t, p.Domain, p.Provider)
	d, outcome, err := w.Store.Fold(ctx, store.Change{
		Domain: p.Domain, Kind: store.KindTrade, Mode: store.ModeFold, Provider: p.Provider,
		DefaultProvider: w.Intents.Routes.ForDomain(p.Domain), Generation: p.Generation,
		RequestedAt: p.RequestedAt, TradeEnable: p.Enable,
	})
	if err != nil {
		return asynqError(fmt.Errorf("%w: %w", errBadPayload, err))
	}
	// A newer intent about the lock leaves the trade setting as it is: this
	// task still delivers it unless a newer trade request changed it.
	report(ctx, d.Desired.Provider)
	if want := d.Desired.TradeLock; want == nil || *want != p.Enable || (outcome == store.Superseded && d.Desired.TradeApplied) {
		log.Info().Msg("trade lock setting superseded by a newer request; dropped")
		writeResult(t, "superseded")
		w.superseded(t)
		return nil
	}
	acct, ok := w.Accounts[d.Desired.Provider]
	if !ok {
		return asynqError(providers.Permanent(fmt.Errorf("provider %q is not configured", d.Desired.Provider)))
	}
	tl, ok := acct.Registrar.(providers.TradeLocker)
	if !ok {
		err := providers.Permanent(fmt.Errorf("provider %q (%s) has no trade lock", acct.Name, acct.Type))
		w.recordError(ctx, log, d.Name, p.RequestedAt, err)
		return asynqError(err)
	}
	if err := w.wait(ctx, acct); err != nil {
		return asynqError(err)
	}
	if err := tl.SetTradeLock(ctx, d.Name, p.Enable, p.ConsentIP); err != nil {
		w.recordError(ctx, log, d.Name, p.RequestedAt, err)
		return asynqError(err)
	}
	if _, err := w.Store.MarkTradeApplied(ctx, d.Name, p.Enable); err != nil {
		return err
	}
	log.Info().Bool("trade_lock", p.Enable).Str("consent_ip", p.ConsentIP.String()).Msg("trade lock setting sent")
	taskID, _ := asynq.GetTaskID(ctx)
	after := "trade_lock:off"
	if p.Enable {
		after = "trade_lock:on"
	}
	w.audit(ctx, audit.Event{Kind: audit.KindChange, Domain: d.Name, Provider: d.Desired.Provider, After: after,
		Cause: p.Cause, RequestedBy: p.RequestedBy, Reason: p.Reason + " (consent IP " + p.ConsentIP.String() + ")",
		Generation: d.Desired.Generation, TaskID: taskID})
	if outcome == store.Superseded {
		return nil
	}
	// This task carries the newest intent, and its generation superseded any
	// lock task still queued: the registrar lock is converged here too.
	if _, err := w.converge(ctx, log, d, p.Intent); err != nil {
		return asynqError(err)
	}
	return nil
}
