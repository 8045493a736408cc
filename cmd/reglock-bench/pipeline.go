package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/metrics"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/worker"
)

// pipelineRun is one drain of n lock tasks.
type pipelineRun struct {
	perSec, cmdsPerTask, rttPerTask, cpuPerTask float64
	redisCPU, simCPU                            float64 // per task
	peakRSS                                     int64
	writes                                      int64
}

const (
	pipelineConcurrency = 50
	// pipelineRate is the "set high" shared rate limit of the pipeline run.
	pipelineRate = 100_000
)

// pipeline measures lock tasks per second through reglock's worker versus a
// hand-written asynq worker that makes the same registrar calls (read,
// write, read back) with no store, generation check or rate limit.
func (b *bench) pipeline(ctx context.Context) (*table, error) {
	n, reps := 20000, 3
	if b.cfg.quick {
		n, reps = 2000, 1
	}
	var ours, bare []pipelineRun
	for range reps {
		for _, variant := range []string{"reglock", "bare"} {
			r, err := b.pipelineOnce(ctx, variant, n)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", variant, err)
			}
			if variant == "reglock" {
				ours = append(ours, r)
			} else {
				bare = append(bare, r)
			}
		}
	}
	col := func(runs []pipelineRun, f func(pipelineRun) float64) spread {
		s := make(spread, len(runs))
		for i, r := range runs {
			s[i] = f(r)
		}
		return s
	}
	ratio := make(spread, reps)
	for i := range reps {
		ratio[i] = ours[i].perSec / bare[i].perSec
	}
	t := &table{
		title: fmt.Sprintf("1. Pipeline: %d lock tasks, concurrency %d, zero-latency eNom simulator (median of %d, range)", n, pipelineConcurrency, reps),
		head:  []string{"worker", "tasks/s", "vs bare", "Redis commands/task", "round trips/task", "Go CPU/task", "Redis CPU/task", "simulator CPU/task", "peak RSS", "registrar writes"},
	}
	for _, v := range []struct {
		name string
		runs []pipelineRun
	}{{"reglock (store, generation check, shared rate limit, read, write, read back, observed write)", ours}, {"bare asynq handler (read, write, read back; nothing stored)", bare}} {
		r := ""
		if v.name[:7] == "reglock" {
			r = ratio.format("%.2fx")
		} else {
			r = "1.00x"
		}
		t.add(v.name, col(v.runs, func(r pipelineRun) float64 { return r.perSec }).format("%.0f"), r,
			col(v.runs, func(r pipelineRun) float64 { return r.cmdsPerTask }).format("%.1f"),
			col(v.runs, func(r pipelineRun) float64 { return r.rttPerTask }).format("%.1f"),
			col(v.runs, func(r pipelineRun) float64 { return r.cpuPerTask * 1e6 }).format("%.0f µs"),
			col(v.runs, func(r pipelineRun) float64 { return r.redisCPU * 1e6 }).format("%.0f µs"),
			col(v.runs, func(r pipelineRun) float64 { return r.simCPU * 1e6 }).format("%.0f µs"),
			mib(v.runs[len(v.runs)-1].peakRSS), fmt.Sprint(v.runs[len(v.runs)-1].writes))
	}
	t.notes = append(t.notes,
		fmt.Sprintf("reglock's worker runs with a shared rate limit of %d calls/s, far above what the machine does, so the limiter's cost is in the figures without it holding calls back.", pipelineRate),
		"Both workers run in this process against the same Redis and the same simulator process, one after the other; each run starts with every domain unlocked, so every task reads, writes and reads back.",
		"Redis commands count what Redis executed (a script is one command plus the calls it makes), including asynq's own polling and bookkeeping; round trips count client calls and pipelines.",
		"Go CPU is this process's user+system time over the run divided by tasks; the simulator's CPU is not included.")
	return t, nil
}

// pipelineOnce drains n lock tasks through one variant.
func (b *bench) pipelineOnce(ctx context.Context, variant string, n int) (pipelineRun, error) {
	s, err := b.startSim("--registrars", "enom", "--domains", fmt.Sprint(n), "--locked-share", "0")
	if err != nil {
		return pipelineRun{}, err
	}
	defer s.stop()
	ns, clean := b.namespace()
	defer clean()
	queues := tasks.Namespace(ns)
	reg, err := enom.New(enom.Config{Endpoint: s.base + "/enom/interface.asp", UID: "reglock", PW: secret.String(simSecret)})
	if err != nil {
		return pipelineRun{}, err
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("sim%07d.com", i)
	}
	client := asynq.NewClientFromRedisClient(b.rdb)
	var done atomic.Int64
	count := func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			err := next.ProcessTask(ctx, t)
			if err == nil {
				done.Add(1)
			}
			return err
		})
	}
	var startServers func() (stop func(), err error)
	switch variant {
	case "reglock":
		cfg := &config.Config{Providers: []config.Provider{{Name: "enom", Type: "enom", TLDs: []string{"com"}}}}
		m := metrics.New()
		sys := system.New(system.Options{Config: cfg, Redis: b.rdb, Enqueuer: client, Namespace: ns, Log: zerolog.Nop(), Metrics: m,
			// A limit far above what the machine can do, so that the shared
			// limiter's cost is measured without it ever holding calls back.
			Accounts: map[string]reconcile.Account{"enom": {Name: "enom", Type: "enom", Registrar: m.Registrar("enom", reg),
				Limit: ratelimit.Limit{Rate: pipelineRate, Burst: 1}}},
		})
		if err := parallel(32, names, func(d string) error {
			_, err := sys.Intents.Lock(ctx, intent.Request{Domain: d, RequestedBy: "bench"})
			return err
		}); err != nil {
			return pipelineRun{}, err
		}
		w := sys.Worker()
		w.Audit = nil // measured without the audit trail, as since step 5
		startServers = func() (func(), error) {
			srv := worker.NewServers(b.rdb, worker.ServerConfig{Concurrency: pipelineConcurrency, Queues: queues, Log: zerolog.Nop()})
			mux := w.Mux()
			mux.Use(count)
			return srv.Shutdown, srv.Start(mux)
		}
	case "bare":
		q := queues.Queue(tasks.QueueChanges)
		if err := parallel(32, names, func(d string) error {
			p, _ := json.Marshal(map[string]string{"domain": d})
			_, err := client.Enqueue(asynq.NewTask("bench:lock", p), asynq.Queue(q))
			return err
		}); err != nil {
			return pipelineRun{}, err
		}
		startServers = func() (func(), error) {
			srv := asynq.NewServerFromRedisClient(b.rdb, asynq.Config{
				Concurrency: pipelineConcurrency, Queues: map[string]int{q: 1}, TaskCheckInterval: 200 * time.Millisecond,
				LogLevel: asynq.ErrorLevel,
			})
			mux := asynq.NewServeMux()
			mux.Use(count)
			// What a user writes: decode, read, change if needed, read back.
			mux.HandleFunc("bench:lock", func(ctx context.Context, t *asynq.Task) error {
				var p struct{ Domain string }
				if err := json.Unmarshal(t.Payload(), &p); err != nil {
					return err
				}
				st, err := reg.LockState(ctx, p.Domain)
				if err != nil {
					return err
				}
				if !st.Locked {
					if err := reg.SetLock(ctx, p.Domain, true); err != nil {
						return err
					}
					if _, err := reg.LockState(ctx, p.Domain); err != nil {
						return err
					}
				}
				return nil
			})
			return srv.Shutdown, srv.Start(mux)
		}
	}
	if err := s.resetStats(); err != nil {
		return pipelineRun{}, err
	}
	cmds0, err := b.redisCommands(ctx)
	if err != nil {
		return pipelineRun{}, err
	}
	rtt0, cpu0 := b.rtt.n.Load(), cpuSeconds()
	rcpu0, _ := b.redisCPU(ctx)
	scpu0 := procCPU(s.cmd.Process.Pid)
	resetPeakRSS()
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path + "." + variant)
		if err == nil {
			pprof.StartCPUProfile(f)
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	start := time.Now()
	stop, err := startServers()
	if err != nil {
		return pipelineRun{}, err
	}
	for done.Load() < int64(n) {
		if ctx.Err() != nil {
			stop()
			return pipelineRun{}, ctx.Err()
		}
		if time.Since(start) > 10*time.Minute {
			stop()
			return pipelineRun{}, fmt.Errorf("only %d of %d tasks done after 10 minutes", done.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu, rtt := cpuSeconds()-cpu0, b.rtt.n.Load()-rtt0
	cmds1, _ := b.redisCommands(ctx)
	rcpu1, _ := b.redisCPU(ctx)
	scpu1 := procCPU(s.cmd.Process.Pid)
	rss := peakRSS(os.Getpid())
	stop()
	st, err := s.stats()
	if err != nil {
		return pipelineRun{}, err
	}
	return pipelineRun{
		perSec: float64(n) / elapsed.Seconds(), cmdsPerTask: float64(cmds1-cmds0) / float64(n),
		rttPerTask: float64(rtt) / float64(n), cpuPerTask: cpu / float64(n), peakRSS: rss, writes: st.Writes,
		redisCPU: (rcpu1 - rcpu0) / float64(n), simCPU: (scpu1 - scpu0) / float64(n),
	}, nil
}

// parallel runs fn over items with a bounded number of goroutines.
func parallel(workers int, items []string, fn func(string) error) error {
	ch := make(chan string)
	var wg sync.WaitGroup
	var first atomic.Value
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if err := fn(it); err != nil {
					first.CompareAndSwap(nil, err)
				}
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
	if err, _ := first.Load().(error); err != nil {
		return err
	}
	return nil
}
