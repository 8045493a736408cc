// Package witness is the second witness: after a sweep reads the registrar,
// it asks the registry's public record (RDAP) too, and compares three
// things — what reglock wants, what the registrar says, what the registry
// says.
//
// The registry's word is evidence, never an order: a disagreement is
// recorded in the domain's history, counted and notified, and the domain is
// read again at its registrar (a confirmation check); reglock writes to a
// registrar only on what the registrar itself says. An answer older than
// the change it should reflect (RDAP lags the registry by minutes) or older
// than rdap.freshness proves nothing and is not compared. A pending
// transfer the registry reports raises the transfer-out alarm, as one the
// registrar reports does.
package witness

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/rdap"
	"github.com/reglock/reglock/store"
)

// Registry reads the registry's record of a domain (an rdap.Client).
type Registry interface {
	Lookup(ctx context.Context, domain string) (rdap.Domain, error)
}

// Views keeps the registry's word on each domain (a store.Store).
type Views interface {
	SetRegistryView(ctx context.Context, v store.RegistryView) error
}

// Reactions are what the witness does about what it finds: the
// reconciler's record and transfer alarm, and a re-read of the registrar.
type Reactions interface {
	Record(ctx context.Context, log zerolog.Logger, e audit.Event)
	WatchTransfer(ctx context.Context, log zerolog.Logger, d store.Domain, st providers.State) bool
	// Recheck reads the domain again at its registrar (a confirmation
	// check task): the registrar's word decides, not the registry's.
	Recheck(ctx context.Context, d store.Domain) error
}

// Counters counts lookups and disagreements (metrics).
type Counters interface {
	RDAPLookup(server, result string)
	RegistryDisagrees(provider string)
}

// Witness compares the registry's word with the registrar's.
type Witness struct {
	Registry  Registry
	Views     Views
	Reactions Reactions
	Counters  Counters
	// Freshness is how old a registry answer may be and still count.
	Freshness time.Duration
	Clock     clock.Clock
	Log       zerolog.Logger
}

// Outcome is what one comparison found.
type Outcome string

// The outcomes.
const (
	Agrees       Outcome = "agrees"
	Disagrees    Outcome = "disagrees"
	NoService    Outcome = "no_service" // the TLD has no RDAP: no second witness
	Stale        Outcome = "stale"      // the answer predates what it should show
	Unreadable   Outcome = "error"      // the registry could not be read (rate limit, outage)
	NotCompared  Outcome = "not_compared"
	TransferSeen Outcome = "transfer_pending"
)

// Check asks the registry about each domain a sweep has just read at its
// registrar (each carries that reading) and reacts to what it says
// (sweep.Witness). It never fails the sweep: a registry that cannot be read
// is a missing witness, counted.
func (w *Witness) Check(ctx context.Context, doms []store.Domain) {
	for _, d := range doms {
		if ctx.Err() != nil {
			return
		}
		w.Compare(ctx, d)
	}
}

// Compare asks the registry about one domain just read at its registrar,
// reacts, and says what it found.
func (w *Witness) Compare(ctx context.Context, d store.Domain) Outcome {
	asked := w.now()
	r, err := w.Registry.Lookup(ctx, d.Name)
	switch {
	case errors.Is(err, rdap.ErrNoService):
		w.count("none", "no_service")
		return NoService
	case err != nil:
		w.count("", "error")
		w.Log.Debug().Err(err).Str("domain", d.Name).Msg("registry (RDAP) not read")
		return Unreadable
	}
	w.count("", "ok")
	view := store.RegistryView{Domain: d.Name, TransferProhibited: r.TransferProhibited, ByRegistry: r.ServerTransferProhibited,
		PendingTransfer: r.PendingTransfer, ReadAt: asked, DatabaseUpdated: r.DatabaseUpdated,
		Registered: r.Registered, Transferred: r.Transferred, LastChanged: r.LastChanged}
	if err := w.Views.SetRegistryView(ctx, view); err != nil {
		w.Log.Warn().Err(err).Str("domain", d.Name).Msg("could not keep the registry's view")
	}
	if r.PendingTransfer {
		before := d
		before.Observed.Flags &^= store.FlagTransfer
		w.Reactions.WatchTransfer(ctx, w.Log, before, providers.State{Locked: d.Observed.Locked, PendingTransfer: true})
		return TransferSeen
	}
	if !d.Observed.Known || d.Observed.Error != "" {
		return NotCompared
	}
	if !w.fresh(r, d, asked) {
		return Stale
	}
	if r.TransferProhibited == d.Observed.Locked {
		return Agrees
	}
	if w.Counters != nil {
		w.Counters.RegistryDisagrees(d.Desired.Provider)
	}
	registrar, registry := lockWord(d.Observed.Locked), "not transfer-prohibited"
	if r.TransferProhibited {
		registry = "transfer-prohibited"
	}
	w.Log.Warn().Str("domain", d.Name).Str("registrar", registrar).Str("registry", registry).
		Msg("the registry's record disagrees with the registrar; reading the registrar again")
	w.Reactions.Record(ctx, w.Log, audit.Event{Kind: audit.KindRegistryDisagrees, Domain: d.Name, Provider: d.Desired.Provider,
		Generation: d.Desired.Generation, Time: asked, Before: registrar, After: lockWord(r.TransferProhibited),
		Error: fmt.Sprintf("registrar says %s, registry (RDAP) says %s; reglock wants it %s", registrar, registry, lockWord(d.Desired.Locked))})
	if err := w.Reactions.Recheck(ctx, d); err != nil {
		w.Log.Warn().Err(err).Str("domain", d.Name).Msg("could not queue the re-read of the registrar")
	}
	return Disagrees
}

// fresh reports whether the registry's answer can speak to the registrar's
// reading: it is within Freshness, and it is not older than the domain's
// last intent (RDAP lags: it cannot show a change made after its database
// was last updated).
func (w *Witness) fresh(r rdap.Domain, d store.Domain, asked time.Time) bool {
	updated := r.DatabaseUpdated
	if updated.IsZero() {
		return true // the server does not say: take the answer as of now
	}
	if w.Freshness > 0 && asked.Sub(updated) > w.Freshness {
		return false
	}
	return !updated.Before(d.Desired.RequestedAt)
}

func (w *Witness) count(server, result string) {
	if w.Counters != nil {
		w.Counters.RDAPLookup(server, result)
	}
}

func (w *Witness) now() time.Time { return clock.Or(w.Clock).Now() }

func lockWord(locked bool) string {
	if locked {
		return "locked"
	}
	return "unlocked"
}
