package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/system"
)

// sweepSetup describes one sweep run.
type sweepSetup struct {
	registrar   string // enom (per-domain reads) or ee (bulk listing)
	domains     int
	lockedShare float64
	latency     time.Duration
	rate        int
	workers     int
	// bulkMax, for eNom, is bulk_max: the largest account read with one
	// GetAllDomains (0: the default, below the bench's sizes).
	bulkMax int
	// freshness is scheduler.freshness (0: off).
	freshness time.Duration
	// settled: the intents were recorded two days ago, not just now (a
	// recent change puts a domain at risk in freshness mode).
	settled bool
}

// sweepResult is what one sweep run measured.
type sweepResult struct {
	populate       time.Duration
	elapsed        time.Duration
	status         sweep.Status
	reads, writes  int64
	fixWrites      int64
	busiest        int
	firstToLast    time.Duration
	calls          int64
	bytesPerDomain float64
	rss            map[string]int64
	// cpu is each process's CPU seconds during the sweep (and its fixes).
	cpu map[string]float64
}

// tld is the TLD of the simulator's generated domains at the registrar.
func (s sweepSetup) tld() string {
	switch s.registrar {
	case "ee":
		return "ee"
	case "opensrs":
		return "net"
	case "whmcs":
		return "org"
	}
	return "com"
}

// sweeps measures sweeps over 100,000 and 1,000,000 domains, 1% drifted,
// with per-domain reads (eNom) and with a bulk listing (.ee).
func (b *bench) sweeps(ctx context.Context) (*table, error) {
	sizes := []int{100_000, 1_000_000}
	if b.cfg.quick {
		sizes = []int{10_000}
	}
	if b.cfg.sweepSizes != "" {
		sizes = nil
		for _, f := range strings.Split(b.cfg.sweepSizes, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("-sweep-sizes: %q is not a size", f)
			}
			sizes = append(sizes, n)
		}
	}
	t := &table{
		title: "3. Sweep: 1% drifted, two worker processes, zero-latency simulator, unlimited rate, confirm delay 1s",
		head: []string{"registrar reads", "domains", "checked/s", "sweep time (to last fix queued)", "drifted / fixes", "reads/domain", "writes/domain (to in-sync domains)",
			"Redis/domain", "CPU s: workers / simulator / Redis", "peak RSS workers", "peak RSS simulator", "peak RSS Redis"},
	}
	for _, reg := range strings.Split(b.cfg.sweepRegistrars, ",") {
		for _, n := range sizes {
			setup := sweepSetup{registrar: reg, domains: n, lockedShare: 0.99, workers: 2}
			kind := "per domain (eNom GetRegLock)"
			switch reg {
			case "ee":
				kind = "bulk (.ee listing, 200 a page)"
			case "enom-bulk":
				setup.registrar, setup.bulkMax = "enom", n
				kind = "bulk (eNom GetAllDomains, bulk_max raised)"
			}
			r, err := b.sweepOnce(ctx, setup)
			if err != nil {
				return nil, fmt.Errorf("%s %d: %w", reg, n, err)
			}
			st := r.status
			t.add(kind, fmt.Sprint(n), fmt.Sprintf("%.0f", float64(st.Checked)/r.elapsed.Seconds()), r.elapsed.Round(100*time.Millisecond).String(),
				fmt.Sprintf("%d / %d", st.Drifted, st.FixesQueued), fmt.Sprintf("%.3f", float64(r.reads)/float64(n)),
				fmt.Sprintf("%.4f (%d)", float64(r.writes)/float64(n), r.writes-st.FixesQueued),
				fmt.Sprintf("%.0f B", r.bytesPerDomain), fmt.Sprintf("%.1f / %.1f / %.1f", r.cpu["workers"], r.cpu["simulator"], r.cpu["redis"]), mib(max(r.rss["worker-1"], r.rss["worker-2"])), mib(r.rss["simulator"]), mib(r.rss["redis"]))
		}
	}
	t.notes = append(t.notes,
		"Sweep time runs from the sweep's creation to the moment its last fix was queued (the guard decides once every domain is checked); the fixes are then carried out and counted in writes.",
		"Reads per domain include the confirmation reads of suspected drift, the reads of the fix tasks and, for the bulk rows, the listing requests (each counts once).",
		"eNom reads an account in one GetAllDomains up to bulk_max (default 2,000: the documents warn it times out on large accounts); above it, domain by domain. The simulator answers any size, so the bulk row raises bulk_max to the inventory; size it to what your eNom account answers in time.",
		"Redis/domain is Redis's used_memory growth over the run (intent, observation, drift index, occupancy) divided by the domains.",
		"Workers are `reglock worker` processes; their peak RSS is the larger of the two.")
	return t, nil
}

// sweepOnce populates the store and the simulator, runs one sweep with
// worker processes, and waits until its fixes have been carried out.
func (b *bench) sweepOnce(ctx context.Context, s sweepSetup) (sweepResult, error) {
	res := sweepResult{rss: map[string]int64{}, cpu: map[string]float64{}}
	args := []string{"--registrars", s.registrar, "--domains", fmt.Sprint(s.domains), "--locked-share", fmt.Sprint(s.lockedShare)}
	if s.latency > 0 {
		args = append(args, "--latency", s.latency.String())
	}
	sm, err := b.startSim(args...)
	if err != nil {
		return res, err
	}
	defer sm.stop()
	ns, clean := b.namespace()
	defer clean()
	prefix := ns + ":rl:"
	st := store.New(b.rdb, prefix)
	mem0, err := b.settledMemory(ctx)
	if err != nil {
		return res, err
	}
	provider := "sim-" + s.registrar
	t0 := time.Now()
	if err := populate(ctx, st, s, provider); err != nil {
		return res, err
	}
	res.populate = time.Since(t0)

	cfgPath := filepath.Join(b.dir, ns+".yaml")
	if err := os.WriteFile(cfgPath, []byte(b.workerConfig(sm.base, s)), 0o600); err != nil {
		return res, err
	}
	env := []string{"REGLOCK_NAMESPACE=" + ns, "SIM_SECRET=" + simSecret}
	var workers []*proc
	for i := range s.workers {
		p, err := b.start(fmt.Sprintf("worker-%d", i+1), env, "worker", "--config", cfgPath, "--log-format", "json", "--log-level", b.cfg.logLevel)
		if err != nil {
			return res, err
		}
		defer p.stop()
		workers = append(workers, p)
	}
	if err := sm.resetStats(); err != nil {
		return res, err
	}
	cpu0 := map[string]float64{"simulator": procCPU(sm.cmd.Process.Pid)}
	for _, p := range workers {
		cpu0[p.name] = procCPU(p.cmd.Process.Pid)
	}
	cpu0["redis"], _ = b.redisCPU(ctx)
	starter := system.New(system.Options{Redis: b.rdb, Namespace: ns}).Sweeps
	records := starter.Records
	id := starter.NewID()
	if _, err := starter.Start(ctx, id, sweep.Options{Provider: provider, Trigger: "bench"}); err != nil {
		return res, err
	}
	limit := 30 * time.Minute
	for {
		res.status, err = records.Get(ctx, id)
		if err != nil {
			return res, err
		}
		if res.status.State != sweep.StateRunning {
			break
		}
		if ctx.Err() != nil || time.Since(res.status.CreatedAt) > limit {
			return res, fmt.Errorf("sweep still running after %s: %+v", limit, res.status)
		}
		time.Sleep(200 * time.Millisecond)
	}
	res.elapsed = res.status.FinishedAt.Sub(res.status.CreatedAt)
	res.cpu["simulator"] = procCPU(sm.cmd.Process.Pid) - cpu0["simulator"]
	for _, p := range workers {
		res.cpu["workers"] += procCPU(p.cmd.Process.Pid) - cpu0[p.name]
	}
	rc, _ := b.redisCPU(ctx)
	res.cpu["redis"] = rc - cpu0["redis"]
	// The fixes run after the sweep: wait for them to reach the registrar.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ss, err := sm.stats()
		if err != nil {
			return res, err
		}
		res.writes = ss.Writes
		if ss.Writes >= res.status.FixesQueued || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the last fixes' read-backs
	ss, err := sm.stats()
	if err != nil {
		return res, err
	}
	res.reads, res.writes = ss.Reads, ss.Writes
	res.calls = ss.Reads + ss.Writes
	for _, n := range ss.BusiestSecond {
		res.busiest = max(res.busiest, n)
	}
	res.firstToLast = ss.LastCall.Sub(ss.Since)
	mem1, err := b.settledMemory(ctx)
	if err != nil {
		return res, err
	}
	res.bytesPerDomain = float64(mem1-mem0) / float64(s.domains)
	for _, p := range workers {
		res.rss[p.name] = peakRSS(p.cmd.Process.Pid)
	}
	res.rss["simulator"] = peakRSS(sm.cmd.Process.Pid)
	res.rss["redis"] = peakRSS(b.redisPID)
	return res, nil
}

// populate records desired = locked for every generated domain, a
// thousand to a round trip.
func populate(ctx context.Context, st *store.Store, s sweepSetup, provider string) error {
	const batch = 1000
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	next := make(chan int)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for from := range next {
				changes := make([]store.Change, 0, batch)
				for i := from; i < min(from+batch, s.domains); i++ {
					c := store.Change{Domain: fmt.Sprintf("sim%07d.%s", i, s.tld()), Kind: store.KindLock, Provider: provider}
					if s.settled {
						c.RequestedAt = time.Now().Add(-48 * time.Hour)
					}
					changes = append(changes, c)
				}
				if _, err := st.FoldMany(ctx, changes); err != nil {
					select {
					case errs <- err:
					default:
					}
					return
				}
			}
		}()
	}
	for from := 0; from < s.domains; from += batch {
		next <- from
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// workerConfig is the configuration of the benchmark's worker processes.
func (b *bench) workerConfig(simBase string, s sweepSetup) string {
	provider := "sim-" + s.registrar
	var creds, endpoint string
	switch s.registrar {
	case "enom":
		endpoint, creds = simBase+"/enom/interface.asp", "    username: reglock\n    password: ${SIM_SECRET}\n"
	case "ee":
		endpoint, creds = simBase+"/ee", "    token: ${SIM_SECRET}\n"
	case "opensrs":
		endpoint, creds = simBase+"/opensrs/", "    username: reglock\n    key: ${SIM_SECRET}\n"
	case "whmcs":
		endpoint, creds = simBase+"/whmcs/includes/api.php", "    identifier: reglock\n    secret: ${SIM_SECRET}\n"
	}
	fresh := ""
	if s.freshness > 0 {
		fresh = fmt.Sprintf("  freshness: %s\n", s.freshness)
	}
	rate := ""
	if s.rate > 0 {
		rate = fmt.Sprintf("    rate: %d\n    burst: 1\n", s.rate)
	}
	if s.bulkMax > 0 {
		rate += fmt.Sprintf("    bulk_max: %d\n", s.bulkMax)
	}
	return fmt.Sprintf(`redis:
  url: redis://%s/0
worker:
  concurrency: 50
  shutdown_timeout: 5s
scheduler:
  sweep: ""
  confirm_delay: 1s
%sproviders:
  - name: %s
    type: %s
    endpoint: %s
%s%s    timeout: 30s
`, b.cfg.redis, fresh, provider, s.registrar, endpoint, creds, rate)
}
