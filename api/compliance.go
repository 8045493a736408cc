package api

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
)

// complianceTTL is how long one reading of the whole inventory answers
// GET /v1/compliance: the figures move with sweeps, not by the second,
// and a large inventory takes seconds to read.
const complianceTTL = 30 * time.Second

// complianceCache holds the last summary.
type complianceCache struct {
	mu  sync.Mutex
	at  time.Time
	out client.Compliance
}

func (s *Server) compliance(w http.ResponseWriter, r *http.Request) {
	if len(r.URL.Query()) > 0 {
		writeError(w, http.StatusBadRequest, "invalid_query", "GET /v1/compliance takes no query parameters")
		return
	}
	c := &s.complianceCache
	c.mu.Lock()
	defer c.mu.Unlock()
	now := s.now()
	if !c.at.IsZero() && now.Sub(c.at) < complianceTTL {
		writeJSON(w, http.StatusOK, scopedCompliance(r, c.out))
		return
	}
	sums, err := s.Store.Summarize(r.Context(), now, RelockGrace)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := client.Compliance{GeneratedAt: now.UTC(), Providers: []client.ProviderCompliance{}}
	if s.Intents != nil {
		// A configured account with no domains yet is a line of zeros.
		for _, name := range s.Intents.Config.ProviderNames() {
			if sums[name] == nil {
				sums[name] = &store.Summary{Provider: name}
			}
		}
	}
	var fresh map[string]sweep.AccountFreshness
	if s.Sweeps != nil {
		if fresh, err = s.Sweeps.Records.Freshness(r.Context()); err != nil {
			s.writeErr(w, err)
			return
		}
	}
	for _, sum := range sums {
		pc := client.ProviderCompliance{Provider: sum.Provider, Domains: sum.Domains, InDesiredState: sum.InDesiredState,
			Drifted: sum.Drifted, InError: sum.InError, NeverRead: sum.NeverRead, RegistryLocked: sum.RegistryLocked,
			WindowsOpen: sum.WindowsOpen, WindowsOverdue: sum.WindowsOverdue, TransferPending: sum.TransferPending}
		if sum.Domains > 0 {
			pc.Share = float64(sum.InDesiredState) / float64(sum.Domains)
		}
		if !sum.OldestReading.IsZero() {
			t := sum.OldestReading
			pc.OldestReading = &t
		}
		if f, ok := fresh[sum.Provider]; ok {
			pc.Freshness = &client.Freshness{Period: f.Period.String(), Short: f.Short(), BudgetPerSecond: f.Budget,
				AtRisk: f.AtRisk, Message: f.Describe(), PlannedAt: f.At}
			if f.Budget > 0 {
				pc.Freshness.Covers = f.Covers.Round(time.Second).String()
			}
		}
		out.Providers = append(out.Providers, pc)
	}
	slices.SortFunc(out.Providers, func(a, b client.ProviderCompliance) int { return strings.Compare(a.Provider, b.Provider) })
	c.at, c.out = now, out
	writeJSON(w, http.StatusOK, scopedCompliance(r, out))
}

// scopedCompliance keeps, for a limited token, only its providers' lines
// (the cache holds them all).
func scopedCompliance(r *http.Request, all client.Compliance) client.Compliance {
	if limitedTo(r) == nil {
		return all
	}
	out := all
	out.Providers = []client.ProviderCompliance{}
	for _, pc := range all.Providers {
		if mayUse(r, pc.Provider) {
			out.Providers = append(out.Providers, pc)
		}
	}
	return out
}
