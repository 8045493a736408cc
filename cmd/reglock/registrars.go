package main

import (
	"fmt"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/worker"
)

// newRegistrar is the one place where a provider type becomes a client.
func newRegistrar(p config.Provider) (providers.Registrar, error) {
	switch p.Type {
	case config.TypeEnom:
		return enom.New(enom.Config{Endpoint: p.Endpoint, UID: p.Username, PW: p.Password, Timeout: p.Timeout})
	default:
		return nil, fmt.Errorf("provider type %q is not supported yet", p.Type)
	}
}

// buildAccounts builds every configured account.
func buildAccounts(cfg *config.Config) (map[string]worker.Account, error) {
	out := make(map[string]worker.Account, len(cfg.Providers))
	for _, p := range cfg.Providers {
		r, err := newRegistrar(p)
		if err != nil {
			return nil, fmt.Errorf("providers: %s: %w", p.Name, err)
		}
		out[p.Name] = worker.Account{
			Name: p.Name, Type: p.Type, Registrar: r,
			Limit: ratelimit.Limit{Rate: p.Rate, Burst: p.Burst},
		}
	}
	return out, nil
}
