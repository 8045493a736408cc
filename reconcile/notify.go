package reconcile

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/tasks"
)

// eventOf is the notification a domain's history event calls for, if any:
// confirmed drift, a drift fixed, a relock done, a domain gone, a change
// that failed for good. Its ID names the occurrence, so every worker that
// sees it raises the same event and receivers get it once.
func eventOf(e audit.Event) (notify.Event, bool) {
	subject := e.Domain + "@" + strconv.FormatInt(e.Generation, 10)
	n := notify.Event{Time: e.Time, Domain: e.Domain, Provider: e.Provider, SweepID: e.SweepID,
		Data: map[string]any{"generation": e.Generation}}
	switch {
	case e.Kind == audit.KindDrift:
		n.Kind = notify.KindDriftConfirmed
		n.Summary = fmt.Sprintf("%s (%s): registrar lock is %s, reglock wants it %s; fixing it", e.Domain, e.Provider, e.Before, e.After)
		n.Data["before"], n.Data["after"] = e.Before, e.After
	case e.Kind == audit.KindChange && e.Cause == tasks.CauseSweep:
		n.Kind = notify.KindDriftFixed
		n.Summary = fmt.Sprintf("%s (%s): drift fixed, registrar lock is %s again", e.Domain, e.Provider, e.After)
		n.Data["before"], n.Data["after"] = e.Before, e.After
	case e.Kind == audit.KindChange && e.Cause == tasks.CauseRelock:
		n.Kind = notify.KindRelockDone
		n.Summary = fmt.Sprintf("%s (%s): unlock window ended, locked again", e.Domain, e.Provider)
	case e.Kind == audit.KindGone:
		n.Kind = notify.KindDomainGone
		n.Summary = fmt.Sprintf("%s is no longer in registrar account %s (expired or transferred away): %s", e.Domain, e.Provider, e.Error)
		n.Data["error"] = e.Error
	case e.Kind == audit.KindTransferPending:
		n.Kind = notify.KindTransferPending
		n.Summary = fmt.Sprintf("CRITICAL: a transfer away is pending for %s (%s), which should be locked: stop it at the registrar now", e.Domain, e.Provider)
	case e.Kind == audit.KindTransferred:
		n.Kind = notify.KindTransferred
		n.Summary = fmt.Sprintf("%s left registrar account %s after its unlock for a transfer: done, and forgotten", e.Domain, e.Provider)
	case e.Kind == audit.KindRegistryDisagrees:
		n.Kind = notify.KindRegistryDisagrees
		n.Summary = fmt.Sprintf("%s (%s): %s; reading the registrar again", e.Domain, e.Provider, e.Error)
	case e.Kind == audit.KindError:
		n.Kind = notify.KindFixFailed
		n.Summary = fmt.Sprintf("%s (%s): a change failed for good: %s", e.Domain, e.Provider, e.Error)
		n.Data["error"] = e.Error
	default:
		return notify.Event{}, false
	}
	n.ID = notify.NewID(n.Kind, subject)
	return n, true
}

// Record writes an event into its domain's history, logs it and raises
// its notification: the one way every part of reglock tells what happened
// to a domain besides what the store's scripts record. A history that
// cannot be written is logged, not fatal: the change itself has happened.
// Its log lines name the event's domain and provider, so log must not
// carry them already (so WatchTransfer, Departed and notify).
func (r *Reconciler) Record(ctx context.Context, log zerolog.Logger, e audit.Event) {
	log.Info().Str("event", e.Kind).Str("domain", e.Domain).Str("provider", e.Provider).Str("before", e.Before).
		Str("after", e.After).Str("cause", e.Cause).Str("requested_by", e.RequestedBy).Int64("generation", e.Generation).
		Str("sweep_id", e.SweepID).Msg("audit")
	if r.Audit != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := r.Audit.Record(actx, e); err != nil {
			log.Error().Err(err).Str("domain", e.Domain).Msg("could not write the domain's history")
		}
	}
	r.notify(ctx, log, e)
}

// notify raises the notification of a history event. It never fails the
// caller: a notification that cannot be queued is logged and counted.
func (r *Reconciler) notify(ctx context.Context, log zerolog.Logger, e audit.Event) {
	if !r.Notify.Enabled() {
		return
	}
	n, ok := eventOf(e)
	if !ok {
		return
	}
	if err := r.Notify.Raise(ctx, n); err != nil {
		log.Warn().Err(err).Str("event", n.Kind).Str("domain", e.Domain).Msg("could not queue a notification")
	}
}
