package system

import (
	"context"

	"github.com/reglock/reglock/policy"
	"github.com/reglock/reglock/rdap"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/witness"
)

// newWitness builds the second witness (rdap:), or nil when it is off.
func (s *System) newWitness(r *reconcile.Reconciler) *witness.Witness {
	c := s.Config.RDAP
	if !c.Enabled {
		return nil
	}
	w := &witness.Witness{
		Registry:  rdap.New(c, rdap.Options{Pacer: rdap.NewRateLimiter(s.Limiter, c), Clock: s.Clock}),
		Views:     s.Store,
		Reactions: witnessReactions{r, s},
		Freshness: c.Freshness,
		Clock:     s.Clock,
		Log:       s.Log.With().Str("component", "witness").Logger(),
	}
	if s.Metrics != nil {
		w.Counters = s.Metrics
	}
	return w
}

// witnessReactions are the reconciler's record and alarm, and a re-read of
// the registrar through a confirmation check.
type witnessReactions struct {
	*reconcile.Reconciler
	s *System
}

func (r witnessReactions) Recheck(ctx context.Context, d store.Domain) error {
	return r.s.Queue.Confirm(ctx, d.Name, d.Desired.Generation, 0)
}

// registryDates are a domain's registration and transfer dates as the
// registry's record last gave them (zero: not read yet).
func (s *System) registryDates(ctx context.Context, domain string) (policy.Dates, error) {
	v, ok, err := s.Store.RegistryView(ctx, domain)
	if err != nil || !ok {
		return policy.Dates{}, err
	}
	return policy.Dates{Registered: v.Registered, Transferred: v.Transferred}, nil
}

// policyLock says why a domain is locked by policy now (a registry-enforced
// window after its registration or transfer, as the registry's record
// dates them), or "".
func (s *System) policyLock(ctx context.Context, d store.Domain) string {
	dates, err := s.registryDates(ctx, d.Name)
	if err != nil {
		return ""
	}
	if w, ok := policy.Windows(s.Config.Policy.Windows).Active(dates, d.Name, s.Clock.Now()); ok {
		return w.Reason()
	}
	return ""
}
