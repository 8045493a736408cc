package providers

import (
	"context"
	"iter"
	"net/netip"
)

// Middleware runs around every call of a wrapped registrar: op names it
// ("lock_state", "set_lock", "set_trade_lock", "list", "bulk_read"), domain
// is the domain it is about ("" for a listing or bulk read, which is one
// call from its first page to its last), and call makes it.
type Middleware func(ctx context.Context, op, domain string, call func(context.Context) error) error

// Wrap returns r with mw around each of its calls. The result has exactly
// the optional abilities r has (TradeLocker, Lister, BulkReader), so type
// assertions on it keep working; wrappers compose (metrics, circuit breaker).
func Wrap(r Registrar, mw Middleware) Registrar {
	base := &wrapped{r: r, mw: mw}
	tl, isTrade := r.(TradeLocker)
	li, isList := r.(Lister)
	br, isBulk := r.(BulkReader)
	t := &wrappedTrade{base, tl}
	l := &wrappedList{base, li}
	b := &wrappedBulk{base, br}
	switch {
	case isTrade && isList && isBulk:
		return struct {
			*wrapped
			*wrappedTrade
			*wrappedList
			*wrappedBulk
		}{base, t, l, b}
	case isTrade && isList:
		return struct {
			*wrapped
			*wrappedTrade
			*wrappedList
		}{base, t, l}
	case isTrade && isBulk:
		return struct {
			*wrapped
			*wrappedTrade
			*wrappedBulk
		}{base, t, b}
	case isList && isBulk:
		return struct {
			*wrapped
			*wrappedList
			*wrappedBulk
		}{base, l, b}
	case isTrade:
		return struct {
			*wrapped
			*wrappedTrade
		}{base, t}
	case isList:
		return struct {
			*wrapped
			*wrappedList
		}{base, l}
	case isBulk:
		return struct {
			*wrapped
			*wrappedBulk
		}{base, b}
	default:
		return base
	}
}

type wrapped struct {
	r  Registrar
	mw Middleware
}

func (w *wrapped) LockState(ctx context.Context, domain string) (State, error) {
	var st State
	err := w.mw(ctx, "lock_state", domain, func(ctx context.Context) error {
		var err error
		st, err = w.r.LockState(ctx, domain)
		return err
	})
	return st, err
}

func (w *wrapped) SetLock(ctx context.Context, domain string, locked bool) error {
	return w.mw(ctx, "set_lock", domain, func(ctx context.Context) error { return w.r.SetLock(ctx, domain, locked) })
}

type wrappedTrade struct {
	base *wrapped
	t    TradeLocker
}

func (w *wrappedTrade) SetTradeLock(ctx context.Context, domain string, enabled bool, ip netip.Addr) error {
	return w.base.mw(ctx, "set_trade_lock", domain, func(ctx context.Context) error { return w.t.SetTradeLock(ctx, domain, enabled, ip) })
}

type wrappedList struct {
	base *wrapped
	l    Lister
}

func (w *wrappedList) Domains(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		stopped := false
		err := w.base.mw(ctx, "list", "", func(ctx context.Context) error {
			for d, err := range w.l.Domains(ctx) {
				if err != nil {
					return err
				}
				if !yield(d, nil) {
					stopped = true
					return nil
				}
			}
			return nil
		})
		if err != nil && !stopped {
			yield("", err)
		}
	}
}

type wrappedBulk struct {
	base *wrapped
	b    BulkReader
}

func (w *wrappedBulk) LockStates(ctx context.Context) iter.Seq2[DomainState, error] {
	return func(yield func(DomainState, error) bool) {
		stopped := false
		err := w.base.mw(ctx, "bulk_read", "", func(ctx context.Context) error {
			for ds, err := range w.b.LockStates(ctx) {
				if err != nil {
					return err
				}
				if !yield(ds, nil) {
					stopped = true
					return nil
				}
			}
			return nil
		})
		if err != nil && !stopped {
			yield(DomainState{}, err)
		}
	}
}
