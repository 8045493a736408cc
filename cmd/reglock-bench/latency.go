package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/system"
)

// changeLatency measures how long a customer's unlock takes to reach the
// registrar and be read back, with no sweep running and a few seconds into
// a sweep of the same account, at several rates and with one and four
// worker processes: the registrar's budget shared fairly.
func (b *bench) changeLatency(ctx context.Context) (*table, error) {
	n, into, samples := 2000, 10*time.Second, 11
	rates := []int{1, 5, 20}
	if b.cfg.quick {
		n, into, rates = 300, 3*time.Second, []int{5, 20}
	}
	t := &table{
		title: fmt.Sprintf("5. Change latency during a sweep: %d domains, eNom simulator answering in 50 ms and read domain by domain (bulk_max 1), an unlock recorded %s into a sweep (median of %d)", n, into, samples),
		head:  []string{"rate", "worker processes", "unlock, no sweep", "unlock, during a sweep", "added wait", "in slot intervals"},
	}
	for _, rate := range rates {
		for _, workers := range []int{1, 4} {
			quiet, busy, err := b.latencyOnce(ctx, sweepSetup{registrar: "enom", domains: n, lockedShare: 1, latency: 50 * time.Millisecond, rate: rate, workers: workers, bulkMax: 1}, into, samples)
			if err != nil {
				return nil, err
			}
			added := busy - quiet
			t.add(fmt.Sprintf("%d/s", rate), fmt.Sprint(workers), quiet.Round(time.Millisecond).String(), busy.Round(time.Millisecond).String(),
				added.Round(time.Millisecond).String(), fmt.Sprintf("%.1f", added.Seconds()*float64(rate)))
		}
	}
	t.notes = append(t.notes,
		"An unlock is three registrar calls (read, write, read back), each taking a rate-limit slot: with no sweep it takes about three slot intervals plus the registrar's latency.",
		"During a sweep, background reads take only slots that are free at that moment and at most sweep_share (0.8) of the rate, so a change finds the next slot; added wait is the difference of the medians, and in slot intervals it is that times the rate.",
		"Measured from recording the intent (in this process, as the API does) to the store showing the registrar read back unlocked.")
	return t, nil
}

// latencyOnce measures unlocks with no sweep, then during one.
func (b *bench) latencyOnce(ctx context.Context, s sweepSetup, into time.Duration, samples int) (quiet, busy time.Duration, err error) {
	sm, err := b.startSim("--registrars", s.registrar, "--domains", fmt.Sprint(s.domains), "--locked-share", "1", "--latency", s.latency.String())
	if err != nil {
		return 0, 0, err
	}
	defer sm.stop()
	ns, clean := b.namespace()
	defer clean()
	st := store.New(b.rdb, ns+":rl:")
	provider := "sim-" + s.registrar
	if err := populate(ctx, st, s, provider); err != nil {
		return 0, 0, err
	}
	cfgPath := filepath.Join(b.dir, ns+".yaml")
	if err := os.WriteFile(cfgPath, []byte(b.workerConfig(sm.base, s)), 0o600); err != nil {
		return 0, 0, err
	}
	env := []string{"REGLOCK_NAMESPACE=" + ns, "SIM_SECRET=" + simSecret}
	for i := range s.workers {
		p, err := b.start(fmt.Sprintf("worker-%d", i+1), env, "worker", "--config", cfgPath, "--log-format", "json", "--log-level", b.cfg.logLevel)
		if err != nil {
			return 0, 0, err
		}
		defer p.stop()
	}
	cfg := &config.Config{Providers: []config.Provider{{Name: provider, Type: s.registrar}}}
	sys := system.New(system.Options{Config: cfg, Redis: b.rdb, Namespace: ns})
	next := 0
	measure := func() (time.Duration, error) {
		var ds []time.Duration
		for range samples {
			domain := fmt.Sprintf("sim%07d.%s", s.domains-1-next, s.tld())
			next++
			d, err := unlockLatency(ctx, sys.Intents, st, domain)
			if err != nil {
				return 0, err
			}
			ds = append(ds, d)
		}
		slices.Sort(ds)
		return ds[len(ds)/2], nil
	}
	time.Sleep(time.Second) // the workers start
	if quiet, err = measure(); err != nil {
		return 0, 0, err
	}
	if _, err := sys.Sweeps.Start(ctx, sys.Sweeps.NewID(), sweep.Options{Provider: provider, Trigger: "bench"}); err != nil {
		return 0, 0, err
	}
	time.Sleep(into)
	busy, err = measure()
	return quiet, busy, err
}

// unlockLatency records an unlock and waits until the store shows the
// registrar read back unlocked.
func unlockLatency(ctx context.Context, in *intent.Service, st *store.Store, domain string) (time.Duration, error) {
	start := time.Now()
	if _, err := in.Unlock(ctx, intent.Request{Domain: domain, RequestedBy: "bench"}); err != nil {
		return 0, err
	}
	deadline := start.Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		d, err := st.Get(ctx, domain)
		if err != nil {
			return 0, err
		}
		if d.InSync() && !d.Observed.Locked && !d.Work.Pending {
			return time.Since(start), nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return 0, fmt.Errorf("unlock of %s not done after 2 minutes", domain)
}
