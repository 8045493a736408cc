package worker

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/tracing"
)

// The sweep:run handler hands the task to package sweep, which owns the
// stages and units; the worker gives it the accounts' rate-limited
// registrars and hears what it finds.

// handleSweep runs one task of a sweep.
func (w *Worker) handleSweep(ctx context.Context, t *asynq.Task) error {
	var p tasks.SweepPayload
	if err := tasks.Decode(t, &p); err != nil {
		return badPayload(err)
	}
	if w.Sweeps == nil {
		return badPayload(errors.New("this worker does not run sweeps"))
	}
	tracing.Annotate(ctx, tracing.AttrSweep.String(p.SweepID))
	tracing.Annotate(ctx, tracing.AttrSweepPhase.String(p.Phase))
	if p.Unit != "" {
		tracing.Annotate(ctx, tracing.AttrSweepUnit.String(p.Unit))
	}
	return w.Sweeps.Run(ctx, p)
}

// SweepRunner returns the runner of sweeps on this worker's parts, with
// the records, guard and tuning of base (its Records, Guard, UnitBudget,
// Readers).
func (w *Worker) SweepRunner(base *sweep.Runner) *sweep.Runner {
	base.Inventory = w.Store
	base.Registrars = sweepRegistrars{w}
	base.Queue = w.Queue
	base.Fixes = w.FixQueue()
	base.Reporter = sweepReporter{w}
	base.Log = w.Log
	base.Clock = w.Clock
	base.ConfirmDelay = w.ConfirmDelay
	return base
}

// FixQueue owes and queues the fixes of confirmed drift.
func (w *Worker) FixQueue() reconcile.FixQueue {
	return reconcile.FixQueue{Store: w.Store, Queue: w.Queue, Clock: w.Clock}
}

// sweepRegistrars is the worker's accounts as a sweep reads them: every
// request waits for a rate-limit slot, reserving at most a second ahead, so
// that a producer's change is never queued behind a sweep's reservations
// for long.
type sweepRegistrars struct{ w *Worker }

func (s sweepRegistrars) Accounts() []sweep.Account {
	out := make([]sweep.Account, 0, len(s.w.Accounts))
	for name, a := range s.w.Accounts {
		_, bulk := a.Registrar.(providers.BulkReader)
		out = append(out, sweep.Account{Name: name, Bulk: bulk, Budget: a.Limit.BackgroundRate()})
	}
	slices.SortFunc(out, func(a, b sweep.Account) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (s sweepRegistrars) Read(ctx context.Context, account, domain, registrarID string) (providers.State, error) {
	acct, ok := s.w.Accounts[account]
	if !ok {
		return providers.State{}, providers.Permanent(fmt.Errorf("provider %q is not configured", account))
	}
	ctx = providers.WithRegistrarID(s.paced(ctx, acct), domain, registrarID)
	return acct.Registrar.LockState(ctx, domain)
}

func (s sweepRegistrars) List(ctx context.Context, account string) iter.Seq2[providers.DomainState, error] {
	acct, ok := s.w.Accounts[account]
	br, bulk := acct.Registrar.(providers.BulkReader)
	if !ok || !bulk {
		return func(yield func(providers.DomainState, error) bool) {
			yield(providers.DomainState{}, fmt.Errorf("%s: %w", account, providers.ErrNoBulk))
		}
	}
	// Every page of the listing waits for a slot, like any other call.
	return br.LockStates(s.paced(ctx, acct))
}

// paced makes every request under ctx wait for a slot of the account.
func (s sweepRegistrars) paced(ctx context.Context, acct Account) context.Context {
	return providers.WithPacer(ctx, func(ctx context.Context) error { return s.w.sweepWait(ctx, acct) })
}

// sweepWait takes a rate-limit slot for a sweep's call, reserving at most a
// second ahead and sleeping out longer waits without holding a reservation.
func (w *Worker) sweepWait(ctx context.Context, acct Account) error {
	for {
		err := w.Limiter.Wait(ratelimit.Background(ctx), acct.Name, acct.Limit, time.Second)
		var ra *providers.RetryAfterError
		if !errors.As(err, &ra) {
			return err
		}
		if err := clock.Or(w.Clock).Sleep(ctx, ra.After-time.Second); err != nil {
			return err
		}
	}
}

// sweepReporter sends what sweeps find to the metrics and the audit trail,
// and how they end to the notifications.
type sweepReporter struct{ w *Worker }

func (s sweepReporter) Found(ctx context.Context, sweepID string, t sweep.Tally, fixes []sweep.Fix) {
	if m := s.w.Metrics; m != nil {
		for p, c := range t {
			m.SweepChecked.WithLabelValues(p).Add(float64(c.Checked))
			m.SweepErrors.WithLabelValues(p).Add(float64(c.Errors))
			m.SweepCalls.WithLabelValues(p).Add(float64(c.Calls))
		}
		for _, f := range fixes {
			m.DriftFound.WithLabelValues(f.Provider, "sweep").Inc()
		}
	}
	for _, f := range fixes {
		s.w.audit(ctx, audit.Event{Kind: audit.KindDrift, Domain: f.Domain, Provider: f.Provider,
			Before: lockWord(!f.Lock), After: lockWord(f.Lock), Cause: tasks.CauseSweep,
			RequestedBy: "sweep:" + sweepID, Generation: f.Generation, SweepID: sweepID})
	}
}

func (s sweepReporter) Finished(ctx context.Context, st sweep.Status) {
	if s.w.Metrics != nil {
		s.w.Metrics.SweepsFinished.WithLabelValues(st.State).Inc()
	}
	s.w.notifySweep(ctx, st)
}

// Transfer raises the transfer-out alarm for a pending transfer a sweep
// read (every sweep that sees it, while it lasts), and ends an unlock for
// a transfer whose domain left the account.
func (s sweepReporter) Transfer(ctx context.Context, d store.Domain, rd store.Reading, err error) {
	if err != nil {
		s.w.Departed(ctx, s.w.Log, d, err)
		return
	}
	before := d
	before.Observed.Flags &^= store.FlagTransfer
	s.w.WatchTransfer(ctx, s.w.Log, before, providers.State{Locked: rd.Locked, PendingTransfer: true})
}

func lockWord(locked bool) string {
	if locked {
		return "locked"
	}
	return "unlocked"
}
