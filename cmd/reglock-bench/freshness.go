package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/reglock/reglock/store"
)

// freshness measures how long freshness mode takes to read every domain of
// an account at its background budget, from the scheduler's start, and
// scales it to 100,000 domains at 5 calls/s.
func (b *bench) freshness(ctx context.Context) (*table, error) {
	n, rate := 2000, 25
	if b.cfg.quick {
		n, rate = 300, 20
	}
	budget := float64(rate) * 0.8
	ideal := time.Duration(float64(n) / budget * float64(time.Second))
	// A period the budget covers with room (the ideal is half of it).
	period := (2 * ideal).Round(time.Minute)
	s := sweepSetup{registrar: "enom", domains: n, lockedShare: 1, latency: 20 * time.Millisecond, rate: rate, workers: 1, bulkMax: 1,
		freshness: period, settled: true}
	took, wait, reqs, passes, err := b.freshnessOnce(ctx, s)
	if err != nil {
		return nil, err
	}
	// The budget's use once the passes run (the wait for the first tick
	// is a window at most, whatever the inventory).
	eff := ideal.Seconds() / (took - wait).Seconds()
	scaled := time.Duration(100_000 / (5 * 0.8) / eff * float64(time.Second))
	t := &table{
		title: fmt.Sprintf("7. Freshness mode: time to read every domain once, %d domains never read, eNom read one by one (20 ms latency), rate %d/s (background budget %.0f/s), scheduler.freshness %s", n, rate, budget, period),
		head:  []string{"domains", "budget", "ideal (domains / budget)", "measured, from the scheduler's start", "of which waiting for the first tick", "budget used by the passes", "registrar requests/domain", "passes", "scaled: 100,000 domains at 5 calls/s (budget 4/s)"},
	}
	t.add(fmt.Sprint(n), fmt.Sprintf("%.0f/s", budget), ideal.Round(time.Second).String(), took.Round(100*time.Millisecond).String(),
		wait.Round(100*time.Millisecond).String(), fmt.Sprintf("%.0f%%", 100*eff), fmt.Sprintf("%.3f", float64(reqs)/float64(n)), fmt.Sprint(passes), scaled.Round(time.Minute).String())
	t.notes = append(t.notes,
		"Measured from the start of the scheduler process to the moment the store shows every domain read; it includes up to one window (period/96, at least 10 s) before the first pass starts, and each pass's two scans of the inventory.",
		"Budget used is the ideal time over the time from the first pass's start to the last read; the scaled figure divides 100,000 domains by the 4 reads/s a 5 calls/s account gives the background lane, at the budget use measured here: it fits a 24 h period, and changes keep the remaining fifth of the rate.",
		"Registrar requests/domain includes the account-size check each pass's listing attempt makes (eNom above bulk_max answers it is too large to list).")
	return t, nil
}

// freshnessOnce runs a worker and a scheduler in freshness mode until every
// domain has been read.
func (b *bench) freshnessOnce(ctx context.Context, s sweepSetup) (took, wait time.Duration, requests int64, passes int, err error) {
	sm, err := b.startSim("--registrars", s.registrar, "--domains", fmt.Sprint(s.domains), "--locked-share", "1", "--latency", s.latency.String())
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer sm.stop()
	ns, clean := b.namespace()
	defer clean()
	st := store.New(b.rdb, ns+":rl:")
	if err := populate(ctx, st, s, "sim-"+s.registrar); err != nil {
		return 0, 0, 0, 0, err
	}
	cfgPath := filepath.Join(b.dir, ns+".yaml")
	if err := os.WriteFile(cfgPath, []byte(b.workerConfig(sm.base, s)), 0o600); err != nil {
		return 0, 0, 0, 0, err
	}
	env := []string{"REGLOCK_NAMESPACE=" + ns, "SIM_SECRET=" + simSecret}
	w, err := b.start("worker-1", env, "worker", "--config", cfgPath, "--log-format", "json", "--log-level", b.cfg.logLevel)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer w.stop()
	if err := sm.resetStats(); err != nil {
		return 0, 0, 0, 0, err
	}
	start := time.Now()
	sched, err := b.start("scheduler", env, "scheduler", "--config", cfgPath, "--log-format", "json", "--log-level", b.cfg.logLevel)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	defer sched.stop()
	limit := start.Add(4*time.Duration(float64(s.domains)/(float64(s.rate)*0.8)*float64(time.Second)) + time.Minute)
	for {
		sums, err := st.Summarize(ctx, time.Now(), 0)
		if err != nil {
			return 0, 0, 0, 0, err
		}
		sum := sums["sim-"+s.registrar]
		if sum != nil && sum.NeverRead == 0 && sum.InError == 0 {
			took = time.Since(start)
			break
		}
		if time.Now().After(limit) || ctx.Err() != nil {
			return 0, 0, 0, 0, fmt.Errorf("freshness: not every domain read after %s: %+v", time.Since(start).Round(time.Second), sum)
		}
		time.Sleep(250 * time.Millisecond)
	}
	ss, err := sm.stats()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	keys, err := b.rdb.Keys(ctx, ns+":rl:sweep:{fresh-*}").Result()
	if err != nil {
		return 0, 0, 0, 0, err
	}
	first := time.Now()
	for _, k := range keys {
		ms, err := b.rdb.HGet(ctx, k, "created_at").Int64()
		if err != nil {
			return 0, 0, 0, 0, err
		}
		if at := time.UnixMilli(ms); at.Before(first) {
			first = at
		}
	}
	return took, first.Sub(start), ss.Reads + ss.Writes, len(keys), nil
}
