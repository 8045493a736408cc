// Package intent records what producers ask for and queues the work: the one
// path from a lock, unlock or trade-lock request (HTTP API, CLI) to the
// store and the queue, so that every front end validates, records and
// queues the same way.
package intent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/policy"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// ErrUnknownProvider is returned for a provider name the configuration does
// not define.
var ErrUnknownProvider = errors.New("unknown provider")

// ErrNoTradeLock is returned for a trade-lock request to a provider that has
// no trade lock.
var ErrNoTradeLock = errors.New("provider has no trade lock")

// Service records intents and queues their tasks.
type Service struct {
	Store *store.Store
	Queue tasks.Queue
	// Config names the providers, routes new domains by TLD
	// (Config.Route), says which have a trade lock and caps unlock windows
	// (policy.max_unlock_window).
	Config *config.Config
	// Clock stamps each intent; nil is the wall clock.
	Clock clock.Clock
	// Dates returns a domain's registration, transfer and registrant-change
	// dates, for the policy windows (policy.windows): an unlock inside a
	// registry-enforced window is refused. Zero dates, or a nil Dates, mean
	// unknown: no window applies.
	Dates func(ctx context.Context, domain string) (policy.Dates, error)
}

// Request is a producer's request.
type Request struct {
	Domain      string
	Provider    string
	Reason      string
	RequestedBy string
	// Token names the API token (or CLI identity) the request came with:
	// the domain's history records it beside the self-asserted
	// RequestedBy.
	Token string
	// RelockAfter, for an unlock, flips the domain back to locked after it.
	RelockAfter time.Duration
	// ForTransfer, for an unlock, keeps the domain unlocked until it leaves
	// the account (a transfer away done) or the window ends (RelockAfter,
	// default DefaultTransferWindow).
	ForTransfer bool
	// TradeEnable and ConsentIP are the trade lock setting.
	TradeEnable bool
	ConsentIP   netip.Addr
}

// Accepted is the answer to an accepted request.
type Accepted struct {
	Domain store.Domain
	TaskID string
}

// Lock records desired = locked and queues the change.
func (s *Service) Lock(ctx context.Context, r Request) (Accepted, error) {
	return s.record(ctx, store.KindLock, r)
}

// Unlock records desired = unlocked and queues the change; with RelockAfter
// the window's end is recorded with it, and the worker that carries out the
// unlock queues the relock (the janitor does, should that be lost).
func (s *Service) Unlock(ctx context.Context, r Request) (Accepted, error) {
	return s.record(ctx, store.KindUnlock, r)
}

// TradeLock records the trade lock setting and queues it.
func (s *Service) TradeLock(ctx context.Context, r Request) (Accepted, error) {
	return s.record(ctx, store.KindTrade, r)
}

// record validates a request completely before touching Redis, so that a
// refused request records and queues nothing.
func (s *Service) record(ctx context.Context, kind store.Kind, r Request) (Accepted, error) {
	in := tasks.Intent{Domain: r.Domain, Provider: r.Provider, Reason: r.Reason, RequestedBy: r.RequestedBy, RequestedAt: s.now()}
	if err := in.Validate(); err != nil {
		return Accepted{}, err
	}
	if in.Provider != "" && !s.Known(in.Provider) {
		return Accepted{}, fmt.Errorf("%w %q (configured: %s)", ErrUnknownProvider, in.Provider, strings.Join(s.Config.ProviderNames(), ", "))
	}
	maxWindow := s.Config.Policy.MaxUnlockWindow
	if maxWindow <= 0 {
		maxWindow = 366 * 24 * time.Hour
	}
	if r.RelockAfter < 0 || r.RelockAfter > maxWindow {
		return Accepted{}, &tasks.FieldError{Field: "relock_after", Reason: fmt.Sprintf("must be between 0 and %s (policy.max_unlock_window)", maxWindow)}
	}
	if r.ForTransfer && kind != store.KindUnlock {
		return Accepted{}, &tasks.FieldError{Field: "for_transfer", Reason: "only an unlock can be for a transfer"}
	}
	if r.ForTransfer && r.RelockAfter == 0 {
		r.RelockAfter = min(DefaultTransferWindow, maxWindow)
	}
	if kind == store.KindTrade && !r.ConsentIP.IsValid() {
		return Accepted{}, &tasks.FieldError{Field: "consent_ip", Reason: "required: the registrant's IP address when they gave consent"}
	}
	if kind == store.KindTrade && in.Provider != "" {
		if err := s.tradeLocks(in.Provider); err != nil {
			return Accepted{}, err
		}
	}
	// Policy (policy.tlds, policy.windows): see policy.go.
	if err := s.policyAllows(ctx, kind, in.Domain); err != nil {
		return Accepted{}, err
	}
	c := store.Change{
		Domain: in.Domain, Kind: kind, Mode: store.ModeRecord, Provider: in.Provider,
		DefaultProvider: s.Config.Route(in.Domain), RequestedAt: in.RequestedAt, TradeEnable: r.TradeEnable,
		RequestedBy: in.RequestedBy, Reason: in.Reason, Token: r.Token, ForTransfer: r.ForTransfer,
		// Owed until a worker has seen the registrar in the new state: if
		// the task below is never queued (this process dies, Redis fails in
		// between), the janitor queues it after UnqueuedAge.
		Work: &store.WorkNote{Kind: store.MarkLock, Due: in.RequestedAt.Add(UnqueuedAge), RequestedBy: in.RequestedBy, Reason: in.Reason},
	}
	if kind == store.KindTrade {
		c.ConsentIP = r.ConsentIP.String()
		c.Work.Kind = store.MarkTrade
	}
	if kind == store.KindUnlock && r.RelockAfter > 0 {
		c.RelockAt = in.RequestedAt.Add(r.RelockAfter)
	}
	if kind == store.KindTrade && in.Provider == "" {
		// The provider comes from the inventory or the TLD routes; check its
		// type before recording anything.
		p := c.DefaultProvider
		if d, err := s.Store.Get(ctx, in.Domain); err == nil {
			p = d.Desired.Provider
		}
		if p != "" {
			if err := s.tradeLocks(p); err != nil {
				return Accepted{}, err
			}
		}
	}
	d, _, err := s.Store.Fold(ctx, c)
	if err != nil {
		return Accepted{}, err
	}
	in.Provider = d.Desired.Provider
	in.Generation = d.Desired.Generation
	id, err := s.enqueueChange(ctx, kind, in, r.RelockAfter, r.TradeEnable, r.ConsentIP)
	if err != nil {
		// Recorded, with a mark that the janitor acts on.
		return Accepted{}, &NotQueuedError{Domain: in.Domain, Generation: in.Generation, Err: err}
	}
	return Accepted{Domain: d, TaskID: id}, nil
}

// NotQueuedError is an intent that was recorded but whose task could not be
// queued (Redis failed between the two). The record keeps a mark of it, and
// the janitor (reconcile.Janitor) queues the task later; the request may
// also be retried.
type NotQueuedError struct {
	Domain     string
	Generation int64
	Err        error
}

func (e *NotQueuedError) Error() string {
	return fmt.Sprintf("%s: recorded as generation %d, but its task could not be queued: %v", e.Domain, e.Generation, e.Err)
}

func (e *NotQueuedError) Unwrap() error { return e.Err }

// enqueueChange queues the task of a recorded intent and returns its ID. No
// retention: a finished change leaves its trace in the audit trail and the
// domain's record, not in Redis's task store.
func (s *Service) enqueueChange(ctx context.Context, kind store.Kind, in tasks.Intent, relockAfter time.Duration, enable bool, consentIP netip.Addr) (string, error) {
	switch kind {
	case store.KindLock:
		return s.Queue.Lock(ctx, tasks.LockPayload{Intent: in})
	case store.KindUnlock:
		return s.Queue.Unlock(ctx, tasks.UnlockPayload{Intent: in, RelockAfter: tasks.Duration(relockAfter)})
	case store.KindTrade:
		return s.Queue.TradeLock(ctx, tasks.TradeLockPayload{Intent: in, Enable: enable, ConsentIP: consentIP})
	default:
		return "", fmt.Errorf("unknown kind %q", kind)
	}
}

// DefaultTransferWindow is how long an unlock for a transfer stays open
// when no relock_after is given: a gTLD transfer completes within five days
// of its request (auto-approval), with room to start it.
const DefaultTransferWindow = 14 * 24 * time.Hour

// UnqueuedAge is how long a recorded intent's mark gives its task to start
// before the janitor queues it again. The API queues it within milliseconds
// of recording it.
const UnqueuedAge = time.Minute

func (s *Service) now() time.Time { return clock.Or(s.Clock).Now().UTC() }

// Known reports whether name is a configured provider.
func (s *Service) Known(name string) bool {
	_, ok := s.Config.Provider(name)
	return ok
}

// tradeLocks refuses a trade-lock request to a provider without one.
func (s *Service) tradeLocks(provider string) error {
	p, ok := s.Config.Provider(provider)
	if !ok {
		return fmt.Errorf("%w: %s is no longer configured", ErrNoTradeLock, provider)
	}
	if p.TradeLock() {
		return nil
	}
	var with []string
	for _, q := range s.Config.Providers {
		if q.TradeLock() {
			with = append(with, q.Name)
		}
	}
	return fmt.Errorf("%w: %s is %s account; accounts with a trade lock: %s", ErrNoTradeLock, provider, english.A(p.Type), orNone(with))
}

func orNone(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
