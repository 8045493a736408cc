package main

import (
	"context"
	"fmt"
)

// callsPerDomain measures what one sweep's reads cost each registrar, in
// registrar requests per domain, as the sweep itself counts them
// (GET /v1/sweeps/{id}: per_provider calls) and as the simulator saw them.
func (b *bench) callsPerDomain(ctx context.Context) (*table, error) {
	n := 2000
	if b.cfg.quick {
		n = 400
	}
	t := &table{
		title: fmt.Sprintf("6. Registrar calls per domain per sweep: %d domains, 1%% drifted, one worker, unlimited rate", n),
		head:  []string{"provider", "how it reads", "domains checked", "sweep's calls", "calls/domain", "simulator requests/domain (with confirmations and fixes)"},
	}
	for _, c := range []struct {
		setup sweepSetup
		how   string
	}{
		{sweepSetup{registrar: "enom"}, "listing (GetAllDomains, one call up to bulk_max)"},
		{sweepSetup{registrar: "enom", bulkMax: 1}, "one by one (GetRegLock; account above bulk_max)"},
		{sweepSetup{registrar: "ee"}, "listing (registrant domains, 200 a page)"},
		{sweepSetup{registrar: "opensrs"}, "one by one (GET_DOMAIN status)"},
		{sweepSetup{registrar: "whmcs"}, "one by one (DomainGetLockingStatus, after a domain ID lookup)"},
	} {
		s := c.setup
		s.domains, s.lockedShare, s.workers = n, 0.99, 1
		res, err := b.sweepOnce(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.registrar, err)
		}
		pc := res.status.PerProvider["sim-"+s.registrar]
		read := pc.Checked + pc.Errors
		if read == 0 {
			return nil, fmt.Errorf("%s: the sweep read nothing: %+v", s.registrar, res.status)
		}
		t.add(s.registrar, c.how, fmt.Sprint(read), fmt.Sprint(pc.Calls), fmt.Sprintf("%.3f", float64(pc.Calls)/float64(read)),
			fmt.Sprintf("%.3f", float64(res.calls)/float64(read)))
	}
	t.notes = append(t.notes,
		"The sweep's calls are every registrar request its reads sent (lookups, listing pages, logins, retries), counted where each request takes its rate-limit slot, per account; the same figure is in each sweep's record (per_provider.calls), in `reglock sweep` and in reglock_sweep_registrar_calls_total.",
		"Simulator requests also count the confirmation reads of the 1% suspected drift and the fix tasks' read, write and read back.",
		"A registrar that lists its locks costs a page per 100–200 domains; one read domain by domain costs at least one request each, and WHMCS a domain ID lookup first (cached after the first sweep).")
	return t, nil
}
