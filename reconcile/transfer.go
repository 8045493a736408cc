package reconcile

import (
	"context"
	"errors"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/store"
)

// Transfers away, as reglock sees them: a domain unlocked for a transfer
// that leaves its account has done what it was unlocked for; a transfer
// pending for a domain meant to be locked is an alarm.

// WatchTransfer looks at a reading of d (taken by a task or a sweep) and
// raises the transfer-out alarm the first time a transfer away is pending
// for a domain whose intent is locked: a hijack under way, or a lock lost.
// Under the Transfer Policy the losing registrar has days to stop it, so a
// person must hear now, not at the next nightly sweep. It reports whether
// it raised the alarm.
func (r *Reconciler) WatchTransfer(ctx context.Context, log zerolog.Logger, d store.Domain, st providers.State) bool {
	if !st.PendingTransfer || !d.Desired.Locked || d.Observed.Flags&store.FlagTransfer != 0 {
		return false
	}
	log.Error().Str("domain", d.Name).Str("provider", d.Desired.Provider).
		Msg("TRANSFER-OUT ALARM: a transfer away is pending for a domain meant to be locked")
	r.Record(ctx, log, audit.Event{Kind: audit.KindTransferPending, Domain: d.Name, Provider: d.Desired.Provider,
		Generation: d.Desired.Generation, Time: r.clock().Now(),
		Error: "a transfer away is pending at the registry, and the domain's intent is locked"})
	return true
}

// Departed handles a registrar's "not found" for d. For a domain unlocked
// for a transfer, it is the transfer done: the history records it, a
// notification says so, and the domain is forgotten, so that nothing
// checks it again. It reports whether it took the error as a departure.
func (r *Reconciler) Departed(ctx context.Context, log zerolog.Logger, d store.Domain, err error) bool {
	if !errors.Is(err, providers.ErrNotFound) || d.Desired.Locked || !d.Desired.ForTransfer {
		return false
	}
	now := r.clock().Now()
	r.Record(ctx, log, audit.Event{Kind: audit.KindTransferred, Domain: d.Name, Provider: d.Desired.Provider,
		Generation: d.Desired.Generation, Time: now, Reason: "left the account after an unlock for a transfer"})
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, ferr := r.Store.Forget(fctx, d.Name, store.Forgotten{RequestedBy: "reglock", Reason: "transferred away", At: now}); ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
		log.Error().Err(ferr).Str("domain", d.Name).Msg("transferred away, but could not forget the domain")
	}
	log.Info().Str("domain", d.Name).Str("provider", d.Desired.Provider).Msg("transferred away as asked: domain forgotten")
	return true
}
