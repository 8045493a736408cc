// Package providers defines what reglock needs from a registrar account and
// the error vocabulary every registrar adapter speaks.
//
// One sub-package per registrar (enom, opensrs, whmcs, ee) implements
// Registrar; the simulator package fakes all of them over HTTP and
// providertest holds the conformance suite each must pass.
package providers

import (
	"context"
	"errors"
	"iter"
	"net/netip"
	"sync/atomic"

	"github.com/reglock/reglock/tracing"
)

// Registrar reads and changes the registrar (transfer) lock of domains in one
// account.
//
// Contract, checked by the conformance suite:
//   - safe for concurrent use, and every call honours ctx;
//   - domains are lowercase A-labels without a trailing dot (tasks.NormalizeDomain);
//   - SetLock to the state the domain already has returns nil;
//   - a domain the account does not hold is ErrNotFound, refused credentials
//     are ErrAuth, both permanent; "busy" or rate-limit answers are a
//     *RetryAfterError; anything else is transient unless wrapped by Permanent;
//   - no error carries a credential, including in URLs.
type Registrar interface {
	// LockState reads the domain's lock as the registrar reports it now.
	LockState(ctx context.Context, domain string) (State, error)
	// SetLock turns the registrar lock on or off.
	SetLock(ctx context.Context, domain string, locked bool) error
}

// State is one reading of a domain's lock.
type State struct {
	// Locked reports whether transfers away are blocked.
	Locked bool
	// ByRegistry is set when the lock was put there by someone other than
	// this account (a registry or registrar admin): it counts as locked and
	// reglock never tries to remove it.
	ByRegistry bool
	// Pending is set while the domain is in a pending state in which the
	// registry refuses changes; reglock does not write until it clears.
	Pending bool
	// PendingTransfer is set while a transfer away is pending at the
	// registry: with the domain meant to be locked, a hijack in progress
	// (reconcile raises the transfer-out alarm). It comes with Pending.
	PendingTransfer bool
	// Indirect is set when the reading came through an intermediary that is
	// known to answer "unlocked" when its own registrar call failed (WHMCS).
	// Such an "unlocked" is never taken as proof (reconcile.Decide): an
	// unlock still owed is written anyway, and drift is confirmed by a
	// second reading before it is fixed, as all drift is.
	Indirect bool
}

// TradeLocker is implemented by registrars that expose the ICANN 60-day
// inter-registrar transfer lock after a change of registrant (OpenSRS).
type TradeLocker interface {
	// SetTradeLock records whether the 60-day lock applies after the next
	// change of registrant; consentIP is the registrant's address when they
	// gave consent to opt out.
	SetTradeLock(ctx context.Context, domain string, enabled bool, consentIP netip.Addr) error
}

// Lister is implemented by registrars that can enumerate an account, for
// import. Domains are yielded as lowercase A-labels.
type Lister interface {
	Domains(ctx context.Context) iter.Seq2[string, error]
}

// BulkReader is implemented by registrars whose listing carries each
// domain's lock, so that a sweep reads a whole account a page at a time
// instead of once per domain.
type BulkReader interface {
	LockStates(ctx context.Context) iter.Seq2[DomainState, error]
}

// DomainState is one domain's reading from a BulkReader.
type DomainState struct {
	Domain string
	// ID is the registrar's own identifier of the domain, when it has one
	// (a .ee UUID): handed back through WithRegistrarID, it spares the
	// adapter a lookup by name.
	ID string
	State
}

// pacerKey carries a Pacer in a context.
type pacerKey struct{}

// Pacer waits until the account may make one more call (a rate limit).
type Pacer func(ctx context.Context) error

// WithPacer returns a context whose registrar requests are paced by p:
// every HTTP request an adapter sends with it (through a Paced client) waits
// for p first, so that lookups, listing pages and logins keep to the
// account's rate limit like lock calls do.
func WithPacer(ctx context.Context, p Pacer) context.Context {
	return context.WithValue(ctx, pacerKey{}, p)
}

// Pace waits for the context's Pacer, if it has one. A pacer that fails
// (its shared state in Redis unreachable) returns a *NotSentError: the
// request was never sent, so it says nothing about the registrar.
func Pace(ctx context.Context) error {
	if p, ok := ctx.Value(pacerKey{}).(Pacer); ok && p != nil {
		wctx, done := tracing.Wait(ctx)
		err := p(wctx)
		done(err)
		var ra *RetryAfterError
		if err == nil {
			countCall(ctx)
		}
		if err == nil || ctx.Err() != nil || errors.As(err, &ra) {
			return err
		}
		return &NotSentError{Err: err}
	}
	err := ctx.Err()
	if err == nil {
		countCall(ctx)
	}
	return err
}

// callsKey carries a call counter in a context.
type callsKey struct{}

// WithCallCounter returns a context whose registrar requests (every one an
// adapter sends through a Paced client: lookups, listing pages, logins and
// lock calls alike) are counted in n, so that a sweep can say what each
// domain cost.
func WithCallCounter(ctx context.Context, n *atomic.Int64) context.Context {
	return context.WithValue(ctx, callsKey{}, n)
}

func countCall(ctx context.Context) {
	if n, ok := ctx.Value(callsKey{}).(*atomic.Int64); ok && n != nil {
		n.Add(1)
	}
}

// NotSentError is a request that was never sent: its rate-limit slot could
// not be taken. It is retried, and it is no evidence about the account
// (Judge).
type NotSentError struct{ Err error }

func (e *NotSentError) Error() string { return "not sent (rate limit unavailable): " + e.Err.Error() }

func (e *NotSentError) Unwrap() error { return e.Err }

type idKey struct{ domain string }

// WithRegistrarID returns a context that tells the adapter the registrar's
// own identifier of domain (from a DomainState), so that it need not look
// the name up. Adapters treat it as a hint and fall back to a lookup if the
// registrar no longer knows the identifier.
func WithRegistrarID(ctx context.Context, domain, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, idKey{domain}, id)
}

// RegistrarID returns the identifier WithRegistrarID attached for domain.
func RegistrarID(ctx context.Context, domain string) (string, bool) {
	id, ok := ctx.Value(idKey{domain}).(string)
	return id, ok && id != ""
}
