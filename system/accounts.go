package system

import (
	"fmt"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/metrics"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/ee"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/providers/opensrs"
	"github.com/reglock/reglock/providers/whmcs"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/tracing"
)

// NewRegistrar is the one place where a provider type becomes a client.
func NewRegistrar(p config.Provider) (providers.Registrar, error) {
	switch p.Type {
	case config.TypeEnom:
		return enom.New(enom.Config{Endpoint: p.Endpoint, UID: p.Username, PW: p.Password, Timeout: p.Timeout, BulkMax: p.BulkMax})
	case config.TypeOpenSRS:
		return opensrs.New(opensrs.Config{Endpoint: p.Endpoint, Username: p.Username, Key: p.Key, Timeout: p.Timeout})
	case config.TypeWHMCS:
		return whmcs.New(whmcs.Config{Endpoint: p.Endpoint, Identifier: p.Identifier, Secret: p.Secret, Timeout: p.Timeout})
	case config.TypeEE:
		c := ee.Config{Endpoint: p.Endpoint, API: p.API, Token: p.Token, Timeout: p.Timeout}
		if p.EID != nil {
			c.EID = &ee.EID{Ident: p.EID.Ident, FirstName: p.EID.FirstName, LastName: p.EID.LastName, CountryCode: p.EID.CountryCode}
		}
		return ee.New(c)
	default:
		return nil, fmt.Errorf("unknown provider type %q", p.Type)
	}
}

// Accounts builds every configured account, its calls counted by m (if
// set), with breakers stopped while the account keeps failing, and traced
// if tracing is on by then (tracing.Install comes first).
func Accounts(cfg *config.Config, m *metrics.Metrics, breakers *breaker.Set) (map[string]reconcile.Account, error) {
	out := make(map[string]reconcile.Account, len(cfg.Providers))
	for _, p := range cfg.Providers {
		r, err := NewRegistrar(p)
		if err != nil {
			return nil, fmt.Errorf("providers: %s: %w", p.Name, err)
		}
		if m != nil {
			r = m.Registrar(p.Name, r)
		}
		if breakers != nil {
			// Outermost: calls the breaker stops are not registrar calls.
			r = providers.Wrap(r, breakers.Middleware(p.Name))
		}
		if tracing.Enabled() {
			// Outermost: a call the breaker stopped is in the trace too.
			r = providers.Wrap(r, tracing.Registrar(p.Name, p.Type))
		}
		out[p.Name] = reconcile.Account{
			Name: p.Name, Type: p.Type, Registrar: r,
			Limit: ratelimit.Limit{Rate: p.Rate, Burst: p.Burst, Share: p.SweepShare},
		}
	}
	return out, nil
}
