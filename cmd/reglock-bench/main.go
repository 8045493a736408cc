// Command reglock-bench measures reglock against what a user would build
// instead, in one run, against a real Redis and the built-in simulator:
//
//  1. pipeline: lock tasks per second through reglock's worker versus a
//     hand-written asynq worker making the same registrar calls;
//  2. producer: HTTP API lock requests versus direct asynq enqueue, at 1, 16
//     and 100 concurrent clients;
//  3. sweep: 100,000 and 1,000,000 domains, 1% drifted, with per-domain
//     reads (eNom) and with a bulk listing (.ee);
//  4. rate budget: a sweep against a 100 ms registrar at 20 calls/s shared
//     by four worker processes.
//
// Every figure that depends on the machine is given next to a baseline
// measured in the same run; repeated sections report the median and the
// range. BENCH_QUICK=1 shrinks everything for a smoke run under a minute.
//
//	reglock-bench -reglock bin/reglock -redis 127.0.0.1:6379
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"time"
)

func main() {
	cfg := benchConfig{quick: os.Getenv("BENCH_QUICK") == "1"}
	flag.StringVar(&cfg.redis, "redis", envOr("REGLOCK_TEST_REDIS", "127.0.0.1:6379"), "Redis server to use (a namespace of its own, cleaned up)")
	flag.StringVar(&cfg.reglock, "reglock", "bin/reglock", "the reglock binary, for the simulator and worker processes")
	flag.BoolVar(&cfg.quick, "quick", cfg.quick, "a smoke run (also BENCH_QUICK=1)")
	only := flag.String("only", "pipeline,producer,sweep,rate,latency,calls,freshness", "sections to run")
	flag.StringVar(&cfg.sweepSizes, "sweep-sizes", "", "comma-separated inventory sizes for the sweep section (default 100000,1000000; quick 10000)")
	flag.StringVar(&cfg.sweepRegistrars, "sweep-registrars", "enom,enom-bulk,ee", "registrars for the sweep section (enom-bulk: eNom with bulk_max raised to the inventory)")
	flag.StringVar(&cfg.profileDir, "profile", "", "write CPU profiles of the simulator and worker processes into this directory")
	flag.StringVar(&cfg.logLevel, "log-level", "warn", "log level of the worker processes (their logs stay in the run's directory with -keep)")
	flag.BoolVar(&cfg.keep, "keep", false, "keep the run's directory (process logs, configs) and print its path")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, strings.Split(*only, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "reglock-bench:", err)
		os.Exit(1)
	}
}

type benchConfig struct {
	redis, reglock              string
	quick                       bool
	sweepSizes, sweepRegistrars string
	profileDir                  string
	logLevel                    string
	keep                        bool
}

func run(ctx context.Context, cfg benchConfig, sections []string) error {
	b, err := newBench(ctx, cfg)
	if err != nil {
		return err
	}
	defer b.close()
	start := time.Now()
	fmt.Printf("# reglock benchmark (%s)\n\n", mode(cfg.quick))
	fmt.Printf("machine: %s, %d CPUs, %s; Redis %s at %s\n\n", runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), runtime.Version(), b.redisVersion, cfg.redis)
	for _, s := range sections {
		var t *table
		switch strings.TrimSpace(s) {
		case "pipeline":
			t, err = b.pipeline(ctx)
		case "producer":
			t, err = b.producer(ctx)
		case "sweep":
			t, err = b.sweeps(ctx)
		case "rate":
			t, err = b.rateBudget(ctx)
		case "latency":
			t, err = b.changeLatency(ctx)
		case "calls":
			t, err = b.callsPerDomain(ctx)
		case "freshness":
			t, err = b.freshness(ctx)
		default:
			return fmt.Errorf("unknown section %q", s)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		t.print(os.Stdout)
	}
	fmt.Printf("total time: %s\n", time.Since(start).Round(time.Second))
	return nil
}

func mode(quick bool) string {
	if quick {
		return "BENCH_QUICK=1: smoke sizes"
	}
	return "full"
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
