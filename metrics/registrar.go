package metrics

import (
	"context"
	"iter"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reglock/reglock/providers"
)

// Registrar wraps r so that every call is counted and timed under the
// provider's name. The wrapper has exactly the optional abilities r has
// (TradeLocker, Lister, BulkReader), so type assertions keep working.
func (m *Metrics) Registrar(provider string, r providers.Registrar) providers.Registrar {
	if m == nil {
		return r
	}
	base := (&instrumented{m: m, provider: provider, r: r}).init()
	tl, isTrade := r.(providers.TradeLocker)
	li, isList := r.(providers.Lister)
	br, isBulk := r.(providers.BulkReader)
	t := &tradeInst{base, tl}
	l := &listInst{base, li}
	b := &bulkInst{base, br}
	switch {
	case isTrade && isList && isBulk:
		return struct {
			*instrumented
			*tradeInst
			*listInst
			*bulkInst
		}{base, t, l, b}
	case isTrade && isList:
		return struct {
			*instrumented
			*tradeInst
			*listInst
		}{base, t, l}
	case isTrade && isBulk:
		return struct {
			*instrumented
			*tradeInst
			*bulkInst
		}{base, t, b}
	case isList && isBulk:
		return struct {
			*instrumented
			*listInst
			*bulkInst
		}{base, l, b}
	case isTrade:
		return struct {
			*instrumented
			*tradeInst
		}{base, t}
	case isList:
		return struct {
			*instrumented
			*listInst
		}{base, l}
	case isBulk:
		return struct {
			*instrumented
			*bulkInst
		}{base, b}
	default:
		return base
	}
}

type instrumented struct {
	m        *Metrics
	provider string
	r        providers.Registrar
	// The hot paths' series, resolved once.
	readOK, setOK     prometheus.Counter
	readTime, setTime prometheus.Observer
}

func (i *instrumented) init() *instrumented {
	i.readOK = i.m.RegistrarCalls.WithLabelValues(i.provider, "lock_state", "ok")
	i.setOK = i.m.RegistrarCalls.WithLabelValues(i.provider, "set_lock", "ok")
	i.readTime = i.m.RegistrarLatency.WithLabelValues(i.provider, "lock_state")
	i.setTime = i.m.RegistrarLatency.WithLabelValues(i.provider, "set_lock")
	return i
}

func (i *instrumented) LockState(ctx context.Context, domain string) (providers.State, error) {
	start := time.Now()
	st, err := i.r.LockState(ctx, domain)
	if err != nil {
		i.m.ObserveCall(i.provider, "lock_state", start, err)
	} else {
		i.readOK.Inc()
		i.readTime.Observe(time.Since(start).Seconds())
	}
	return st, err
}

func (i *instrumented) SetLock(ctx context.Context, domain string, locked bool) error {
	start := time.Now()
	err := i.r.SetLock(ctx, domain, locked)
	if err != nil {
		i.m.ObserveCall(i.provider, "set_lock", start, err)
	} else {
		i.setOK.Inc()
		i.setTime.Observe(time.Since(start).Seconds())
	}
	return err
}

type tradeInst struct {
	base *instrumented
	t    providers.TradeLocker
}

func (t *tradeInst) SetTradeLock(ctx context.Context, domain string, enabled bool, ip netip.Addr) error {
	start := time.Now()
	err := t.t.SetTradeLock(ctx, domain, enabled, ip)
	t.base.m.ObserveCall(t.base.provider, "set_trade_lock", start, err)
	return err
}

type listInst struct {
	base *instrumented
	l    providers.Lister
}

// Domains counts the listing as one call, timed from start to end.
func (l *listInst) Domains(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		start := time.Now()
		var failed error
		defer func() { l.base.m.ObserveCall(l.base.provider, "list", start, failed) }()
		for d, err := range l.l.Domains(ctx) {
			if err != nil {
				failed = err
			}
			if !yield(d, err) {
				return
			}
		}
	}
}

type bulkInst struct {
	base *instrumented
	b    providers.BulkReader
}

// LockStates counts the bulk read as one call, timed from start to end.
func (b *bulkInst) LockStates(ctx context.Context) iter.Seq2[providers.DomainState, error] {
	return func(yield func(providers.DomainState, error) bool) {
		start := time.Now()
		var failed error
		defer func() { b.base.m.ObserveCall(b.base.provider, "bulk_read", start, failed) }()
		for ds, err := range b.b.LockStates(ctx) {
			if err != nil {
				failed = err
			}
			if !yield(ds, err) {
				return
			}
		}
	}
}
