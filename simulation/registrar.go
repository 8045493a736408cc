package simulation

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/reglock/reglock/providers"
)

// Registrar is one registrar account held in memory: a
// providers.Registrar and providers.TradeLocker whose calls from actors
// take virtual time and fail, hang, or land late as RegistrarFaults say.
type Registrar struct {
	sim     *Sim
	account string
	domains map[string]*regDomain // looked up only, never ranged over
	faults  RegistrarFaults
	calls   []Call
}

type regDomain struct {
	locked        bool
	trade, traded bool
}

// RegistrarFaults are the delays and failures of calls from actors. One
// draw per call picks at most one of FailBefore, Busy, ApplyThenFail and
// Hang, in that order, so their sum should stay at most 1.
type RegistrarFaults struct {
	// MaxDelay bounds the virtual time a call takes (uniform from zero).
	MaxDelay time.Duration
	// FailBefore: the call fails with a 503 (*providers.StatusError)
	// without reaching the domain.
	FailBefore float64
	// Busy: the call fails with a *providers.RetryAfterError of 1 to 5
	// seconds without reaching the domain.
	Busy float64
	// ApplyThenFail: a write takes effect, then the call fails with a
	// *TimeoutError; a read just fails.
	ApplyThenFail float64
	// Hang: the call waits HangFor (or until its context ends), then fails
	// with a *TimeoutError; a write takes effect with even odds.
	Hang    float64
	HangFor time.Duration
	// LandLate is the share of writes taking effect behind a failed call
	// (ApplyThenFail, Hang, a kill or a cancellation mid-call) that take
	// effect only at a random moment within LandWithin after the failure:
	// a request stuck in the registrar's pipeline that lands after the
	// caller gave up, possibly over a newer write.
	LandLate   float64
	LandWithin time.Duration
}

// Call is one call as the registrar saw it begin.
type Call struct {
	At time.Time
	// Op is "lock_state", "set_lock" or "set_trade_lock".
	Op     string
	Domain string
}

// TimeoutError is the simulated registrar not answering in time, as an
// HTTP client reports it: transient, and silent on whether a write took
// effect.
type TimeoutError struct{ Op, Domain string }

func (e *TimeoutError) Error() string {
	return "simulated registrar: " + e.Op + " " + e.Domain + ": timeout awaiting response"
}

// Timeout makes a *TimeoutError a net.Error, as the errors it stands for
// are.
func (e *TimeoutError) Timeout() bool   { return true }
func (e *TimeoutError) Temporary() bool { return true }

var (
	_ providers.Registrar   = (*Registrar)(nil)
	_ providers.TradeLocker = (*Registrar)(nil)
)

// NewRegistrar returns an empty account.
func (s *Sim) NewRegistrar(account string) *Registrar {
	return &Registrar{sim: s, account: account, domains: map[string]*regDomain{}}
}

// Add puts domain in the account with the given lock.
func (r *Registrar) Add(domain string, locked bool) {
	r.domains[domain] = &regDomain{locked: locked}
}

// SetLocked changes a domain's lock behind reglock's back, as its registrant
// at the registrar's control panel, a support agent or a hijacker would:
// drift, for reglock to find. It is not a call and draws no fault.
func (r *Registrar) SetLocked(domain string, locked bool) {
	if d, ok := r.domains[domain]; ok {
		d.locked = locked
	}
}

// Locked returns the domain's lock as it truly is; ok is false for a domain
// the account does not hold.
func (r *Registrar) Locked(domain string) (locked, ok bool) {
	d, ok := r.domains[domain]
	if !ok {
		return false, false
	}
	return d.locked, true
}

// TradeLock returns the last trade lock setting that took effect; set is
// false if none did.
func (r *Registrar) TradeLock(domain string) (enabled, set bool) {
	d, ok := r.domains[domain]
	if !ok {
		return false, false
	}
	return d.trade, d.traded
}

// SetFaults sets the delays and failures from now on.
func (r *Registrar) SetFaults(f RegistrarFaults) { r.faults = f }

// Calls returns every call so far, in the order they began.
func (r *Registrar) Calls() []Call { return slices.Clone(r.calls) }

// LockState reads the domain's lock.
func (r *Registrar) LockState(ctx context.Context, domain string) (providers.State, error) {
	var st providers.State
	err := r.do(ctx, "lock_state", domain, func(d *regDomain) { st.Locked = d.locked }, false)
	if err != nil {
		return providers.State{}, err
	}
	return st, nil
}

// SetLock sets the domain's lock; setting the lock it has is no error.
func (r *Registrar) SetLock(ctx context.Context, domain string, locked bool) error {
	return r.do(ctx, "set_lock", domain, func(d *regDomain) { d.locked = locked }, true)
}

// SetTradeLock records the trade lock setting. Like the OpenSRS adapter, it
// refuses an invalid consent address before calling anything.
func (r *Registrar) SetTradeLock(ctx context.Context, domain string, enabled bool, consentIP netip.Addr) error {
	if !consentIP.IsValid() {
		return providers.Permanent(errors.New("simulated registrar: set_trade_lock " + domain + ": no consent IP address"))
	}
	return r.do(ctx, "set_trade_lock", domain, func(d *regDomain) { d.trade, d.traded = enabled, true }, true)
}

// do makes one call: a scheduling point, the delay, then the outcome. A
// write that may have been sent when the call fails, however it fails
// (a fault, the caller's context, the caller's death), takes effect or not
// by a draw, now or late.
func (r *Registrar) do(ctx context.Context, op, domain string, apply func(*regDomain), write bool) error {
	s := r.sim
	// A call is an HTTP request to the registrar: it takes its slot of the
	// account's rate limit first, as the adapters' requests do.
	if err := providers.Pace(ctx); err != nil {
		return err
	}
	r.calls = append(r.calls, Call{At: s.now, Op: op, Domain: domain})
	a := s.caller(ctx)
	if a == nil {
		// Outside actors: no delay, no faults.
		d, ok := r.domains[domain]
		if !ok {
			return providers.ErrNotFound
		}
		apply(d)
		return nil
	}
	s.park(a, runnable, time.Time{}, nil)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("simulated registrar: %s %s: %w", op, domain, err)
	}

	f := r.faults
	if f.MaxDelay > 0 {
		delay := time.Duration(s.rng.Int64N(int64(f.MaxDelay) + 1))
		if err := r.inFlight(a, ctx, delay, domain, apply, write); err != nil {
			return fmt.Errorf("simulated registrar: %s %s: %w", op, domain, err)
		}
	}

	u := 1.0
	if f.FailBefore > 0 || f.Busy > 0 || f.ApplyThenFail > 0 || f.Hang > 0 {
		u = s.rng.Float64()
	}
	switch {
	case u < f.FailBefore:
		return &providers.StatusError{Code: 503, Body: "simulated outage"}
	case u < f.FailBefore+f.Busy:
		after := time.Second + time.Duration(s.rng.Int64N(int64(4*time.Second)+1))
		return providers.RetryAfter(after, errors.New("simulated registrar: busy"))
	}
	d, ok := r.domains[domain]
	if !ok {
		return providers.ErrNotFound
	}
	switch {
	case u < f.FailBefore+f.Busy+f.ApplyThenFail:
		if write {
			r.lost(domain, apply)
		}
		return &TimeoutError{Op: op, Domain: domain}
	case u < f.FailBefore+f.Busy+f.ApplyThenFail+f.Hang:
		applied := write && s.rng.IntN(2) == 0
		late := applied && r.landsLate()
		if applied && !late {
			apply(d)
		}
		// However the hang ends (time, the caller's context, a kill), a
		// late write lands after it.
		defer func() {
			if late {
				r.land(domain, apply)
			}
		}()
		if err := s.sleep(a, ctx, f.HangFor); err != nil {
			return fmt.Errorf("simulated registrar: %s %s: %w", op, domain, err)
		}
		return &TimeoutError{Op: op, Domain: domain}
	}
	apply(d)
	return nil
}

// inFlight is the delay of a call. If the caller gives up or dies during
// it, a write may already have been sent: a draw decides.
func (r *Registrar) inFlight(a *Actor, ctx context.Context, delay time.Duration, domain string, apply func(*regDomain), write bool) (err error) {
	if write {
		defer func() {
			if p := recover(); p != nil {
				if _, isKill := p.(killed); isKill && r.sim.rng.IntN(2) == 0 {
					r.lost(domain, apply)
				}
				panic(p)
			}
			if err != nil && r.sim.rng.IntN(2) == 0 {
				r.lost(domain, apply)
			}
		}()
	}
	if delay == 0 {
		return nil
	}
	return r.sim.sleep(a, ctx, delay)
}

// landsLate draws whether a write behind a failed call lands late.
func (r *Registrar) landsLate() bool {
	return r.faults.LandLate > 0 && r.sim.rng.Float64() < r.faults.LandLate
}

// lost applies a write whose call failed: now, or late.
func (r *Registrar) lost(domain string, apply func(*regDomain)) {
	if r.landsLate() {
		r.land(domain, apply)
		return
	}
	if d, ok := r.domains[domain]; ok {
		apply(d)
	}
}

// land starts an actor that applies a write within LandWithin from now.
func (r *Registrar) land(domain string, apply func(*regDomain)) {
	s := r.sim
	var wait time.Duration
	if w := r.faults.LandWithin; w > 0 {
		wait = time.Duration(s.rng.Int64N(int64(w) + 1))
	}
	s.Go(r.account+": late write to "+domain, func(ctx context.Context) {
		_ = s.sleep(s.caller(ctx), ctx, wait)
		if d, ok := r.domains[domain]; ok {
			apply(d)
		}
	})
}
