package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/spf13/cobra"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/metrics"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/scheduler"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tracing/exporter"
	"github.com/reglock/reglock/worker"
)

// roles says which parts of reglock a process runs.
type roles struct {
	api, worker, scheduler bool
	serve                  bool // everything in one process; the only role that may be a sandbox
	insecure               bool // --insecure-no-auth
	// listen is --listen (or REGLOCK_LISTEN): api.listen, or worker.listen
	// in a process without the API, for this process only.
	listen string
}

// name is the process's command, as its spans' reglock.role says.
func (r roles) name() string {
	switch {
	case r.serve:
		return "serve"
	case r.api:
		return "api"
	case r.worker:
		return "worker"
	default:
		return "scheduler"
	}
}

func newServeCmd(g *globals) *cobra.Command {
	r := roles{api: true, worker: true, scheduler: true, serve: true}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run everything in one process: HTTP API, worker and scheduler (with no config: a sandbox)",
		Long: `serve runs the HTTP API, the worker and the sweep scheduler in one process.

With no configuration at all it is a sandbox: an embedded in-memory Redis, the built-in
registrar simulator with demo domains, and the API on 127.0.0.1:8080 with a generated
token printed at startup.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRoles(cmd.Context(), g, r) },
	}
	cmd.Flags().BoolVar(&r.insecure, "insecure-no-auth", false, "serve the API without tokens (trusted networks only)")
	addListenFlag(cmd, &r, "the API")
	return cmd
}

func newWorkerCmd(g *globals) *cobra.Command {
	r := roles{worker: true}
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Process lock, unlock, trade-lock and check tasks (run any number against one Redis)",
		Long: `worker carries out the queued changes, fixes and checks against the registrars. It
needs the providers' credentials (and the webhooks'), not the API's tokens. Run any
number against one Redis; on one host, give each its own --listen (or REGLOCK_LISTEN)
for /healthz, /readyz and /metrics.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRoles(cmd.Context(), g, r) },
	}
	addListenFlag(cmd, &r, "/healthz, /readyz and /metrics")
	return cmd
}

func newSchedulerCmd(g *globals) *cobra.Command {
	r := roles{scheduler: true}
	cmd := &cobra.Command{
		Use:   "scheduler",
		Short: "Start compliance sweeps on the scheduler.sweep cron (run any number: one sweep per tick)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runRoles(cmd.Context(), g, r) },
	}
	addListenFlag(cmd, &r, "/healthz, /readyz and /metrics")
	return cmd
}

func newAPICmd(g *globals) *cobra.Command {
	r := roles{api: true}
	cmd := &cobra.Command{
		Use:   "api",
		Short: "Serve the HTTP API (run any number against one Redis)",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return runRoles(cmd.Context(), g, r) },
	}
	cmd.Flags().BoolVar(&r.insecure, "insecure-no-auth", false, "serve the API without tokens (trusted networks only)")
	addListenFlag(cmd, &r, "the API")
	return cmd
}

// listenHint says how to run several processes with one file when the
// configuration's address is taken.
func listenHint(key string, err error) string {
	if key == "--listen" || !errors.Is(err, syscall.EADDRINUSE) {
		return ""
	}
	return " (another process has it: give each process on this host its own address with --listen or " + listenEnv + ")"
}

// runRoles starts the roles, waits for SIGINT/SIGTERM, then stops taking new
// work, gives in-flight work the configured grace period and returns. On
// SIGHUP, a process serving the API reloads its tokens.
func runRoles(ctx context.Context, g *globals, r roles) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	// Only the variables of the parts this process uses (one file serves
	// every role on a host).
	cfg, err := g.loadConfigFor(r.uses())
	if err != nil {
		return err
	}
	listenKey, err := r.applyListen(cfg)
	if err != nil {
		return err
	}
	if skipped := cfg.Skipped(); len(skipped) > 0 {
		keys := make([]string, len(skipped))
		for i, p := range skipped {
			keys[i] = p.Key
		}
		log.Info().Strs("keys", keys).Msg("configuration: parts this process does not use were not checked (`reglock config check` shows why)")
	}
	// SIGHUP: the API's new tokens, from the configuration read as above (reload.go).
	reload := listenForReload(r.api, func() (*config.Config, error) { return g.loadConfigFor(r.uses()) })
	defer reload.stop()
	// Tracing, when the OTEL_EXPORTER_OTLP_* variables ask for it: before
	// the runtime, whose registrars are traced only if it is on by then.
	tr, err := exporter.FromEnv(ctx, exporter.Options{Version: metrics.Build().Version, Role: r.name(),
		Log: func(msg string) { log.Warn().Msg(msg) }})
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tr.Shutdown(sctx); err != nil {
			log.Warn().Msg("tracing: the last spans could not be sent: " + err.Error())
		}
	}()
	if tr.Enabled {
		log.Info().Str("endpoint", tr.Endpoint).Str("protocol", tr.Protocol).Msg("tracing: exporting spans over OTLP")
	}
	sandboxToken := ""
	if r.serve && cfg.Redis.Embedded() && len(cfg.Providers) == 0 && len(cfg.API.Tokens) == 0 {
		// A sandbox: generate its token rather than refuse to start.
		sandboxToken = randomToken()
		cfg.API.Tokens = []config.Token{{Name: "sandbox", Token: secret.String(sandboxToken)}}
	}
	if r.api && len(cfg.API.Tokens) == 0 && !r.insecure {
		return errors.New("api.tokens is empty: the API refuses to start without tokens (add one, or pass --insecure-no-auth on a trusted network)")
	}
	rt, err := openRuntime(ctx, cfg, log, runtimeOptions{embeddedOK: r.serve, registrars: r.worker, breakers: r.worker, namespace: g.namespace})
	if err != nil {
		return err
	}
	defer rt.Close()
	// Adopt the store's identity and notice if Redis loses it (docs/operations.md, "Redis loss").
	if _, err := rt.StoreWatch.Adopt(ctx); err != nil {
		return fmt.Errorf("reading the store's identity: %w", err)
	}
	go rt.StoreWatch.Run(ctx)
	if rt.sandbox != nil {
		if err := rt.sandbox.seed(ctx, rt.Store); err != nil {
			return err
		}
	}

	var srv *workerServer
	if r.worker {
		if srv, err = startWorker(rt); err != nil {
			return err
		}
	}
	apiSrv := rt.API(cfg.API.Tokens)
	apiSrv.NoAuth = r.insecure && len(cfg.API.Tokens) == 0
	apiSrv.Breakers = rt.breakerReport
	var httpSrv *http.Server
	switch {
	case r.api:
		if cfg.API.Monitoring {
			apiSrv.Monitoring = monitoring(rt.redisOpt, !cfg.API.MonitoringWrite)
		}
		ln, err := net.Listen("tcp", cfg.API.Listen)
		if err != nil {
			srv.stop()
			return fmt.Errorf("%s %s: %w%s", listenKey, cfg.API.Listen, err, listenHint(listenKey, err))
		}
		httpSrv = newHTTPServer(apiSrv.Handler())
		go func() {
			if err := httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error().Err(err).Msg("api server stopped")
			}
		}()
		log.Info().Str("listen", ln.Addr().String()).Msg("API listening")
		if sandboxToken != "" {
			announceSandbox(g, ln.Addr().String(), sandboxToken)
			defer os.Remove(sandboxInfoPath())
		}
	case cfg.Worker.Listen != "":
		// No API in this process: health and metrics for probes and Prometheus.
		ln, err := net.Listen("tcp", cfg.Worker.Listen)
		if err != nil {
			srv.stop()
			return fmt.Errorf("%s %s: %w%s", listenKey, cfg.Worker.Listen, err, listenHint(listenKey, err))
		}
		httpSrv = newHTTPServer(apiSrv.OpsHandler())
		go httpSrv.Serve(ln)
		log.Info().Str("listen", ln.Addr().String()).Msg("serving /healthz, /readyz and /metrics")
	}
	reload.serve(ctx, g, log, apiSrv, rt.Notify)
	if r.scheduler {
		go runJanitors(ctx, rt)
		go compactHistories(ctx, rt)
		if cfg.Scheduler.Sweep == "" {
			log.Info().Msg("scheduler: scheduler.sweep is empty; no scheduled sweeps")
		} else {
			sched, err := scheduler.New(cfg.Scheduler.Sweep, cfg.Scheduler.Timezone, rt.Sweeps, log.With().Str("component", "scheduler").Logger())
			if err != nil {
				srv.stop()
				return err
			}
			sched.Hold = rt.StoreWatch.Verify
			go sched.Run(ctx)
		}
		if f := cfg.Scheduler.Freshness; f > 0 {
			passes := sweep.Passes{Starter: rt.Sweeps, Freshness: sweep.NewFreshness(f, cfg.Scheduler.FreshnessAtRisk)}
			sched, err := scheduler.New("@every "+passes.Freshness.Window.String(), "", passes, log.With().Str("component", "freshness").Logger())
			if err != nil {
				srv.stop()
				return err
			}
			sched.Hold, sched.Prefix = rt.StoreWatch.Verify, "fresh-"
			log.Info().Dur("period", f).Dur("at_risk", passes.Freshness.AtRisk).Dur("window", passes.Freshness.Window).
				Msg("freshness: every domain read once per period, oldest first, at each account's background budget")
			go sched.Run(ctx)
		}
	}
	log.Info().Bool("api", r.api).Bool("worker", r.worker).Bool("scheduler", r.scheduler).Int("providers", len(cfg.Providers)).Msg("reglock started")

	<-ctx.Done()
	log.Info().Dur("grace", cfg.Worker.ShutdownTimeout).Msg("shutting down: no new work; finishing what is in flight")
	apiSrv.Drain()
	if r.api && httpSrv != nil {
		// Stop taking requests; finish those in flight.
		sctx, cancel := context.WithTimeout(context.Background(), cfg.Worker.ShutdownTimeout)
		_ = httpSrv.Shutdown(sctx)
		cancel()
	}
	srv.stop()
	if !r.api && httpSrv != nil {
		// Probes see "not ready" until the tasks in flight are done.
		_ = httpSrv.Close()
	}
	log.Info().Msg("stopped")
	return nil
}

// compactHistories turns, once at start, the short histories an older
// reglock kept as streams into lists (store.CompactHistories): a quiet
// domain's would otherwise keep its 4.4 KB until it expires.
func compactHistories(ctx context.Context, rt *runtime) {
	n, err := rt.Store.CompactHistories(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		rt.log.Warn().Err(err).Msg("history: compacting the short histories an older version kept as streams failed; each is compacted when its next event is recorded")
	case n > 0:
		rt.log.Info().Int("histories", n).Msg("history: short histories an older version kept as streams are lists now (about 0.5 KB each instead of 4.4 KB)")
	}
}

// runJanitors finishes, every minute, what a process that died (or a Redis
// that failed) between two steps left half done: a sweep recorded but never
// started is started; a domain owed work that no live task carries (an
// intent recorded but never queued, a task archived, a relock lost) gets a
// task. Several schedulers running them at once queue nothing twice.
func runJanitors(ctx context.Context, rt *runtime) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	j := rt.Janitor(nil)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			runJanitorsOnce(ctx, rt, j)
		}
	}
}

func runJanitorsOnce(ctx context.Context, rt *runtime, j *reconcile.Janitor) {
	if err := rt.StoreWatch.Verify(ctx); err != nil {
		rt.log.Warn().Err(err).Msg("janitors held: the store is lost")
		return
	}
	ids, err := rt.Sweeps.ResumeStuck(ctx)
	if err != nil {
		rt.log.Warn().Err(err).Msg("could not look for stuck sweeps")
	}
	for _, id := range ids {
		rt.log.Warn().Str("sweep_id", id).Msg("resumed a sweep that was recorded but never started")
	}
	rep, err := j.Run(ctx)
	if err != nil {
		rt.log.Warn().Err(err).Msg("could not look for owed work")
	}
	if rep.Queued > 0 || rep.Failing > 0 {
		rt.log.Warn().Int("queued", rep.Queued).Int("requeued_after_failure", rep.Requeued).Int("relocks", rep.Relocks).
			Int("failing", rep.Failing).Msg("janitor queued tasks for owed work that had none (a process or Redis failed in between, or a task was archived)")
	}
}

// newHTTPServer sets the timeouts that keep slow or idle clients from holding
// connections.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// monitoring is asynqmon, read-only unless configured otherwise, showing
// payloads as indented JSON.
func monitoring(opt asynq.RedisConnOpt, readOnly bool) http.Handler {
	return asynqmon.New(asynqmon.Options{
		RootPath: "/monitoring", RedisConnOpt: opt, ReadOnly: readOnly,
		PayloadFormatter: asynqmon.PayloadFormatterFunc(prettyJSON),
		ResultFormatter:  asynqmon.ResultFormatterFunc(prettyJSON),
	})
}

// prettyJSON renders a task payload or result for people; payloads carry
// intent only, never credentials.
func prettyJSON(_ string, b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}

// workerServer is a running worker.
type workerServer struct {
	srv *worker.Servers
}

func startWorker(rt *runtime) (*workerServer, error) {
	srv := worker.NewServers(rt.rdb, worker.ServerConfig{
		Concurrency: rt.cfg.Worker.Concurrency, ShutdownTimeout: rt.cfg.Worker.ShutdownTimeout,
		Queues: rt.queues, Log: rt.log,
	})
	if err := srv.Start(rt.Worker().Mux()); err != nil {
		return nil, fmt.Errorf("worker: %w", err)
	}
	rt.log.Info().Int("concurrency", rt.cfg.Worker.Concurrency).Msg("worker started")
	return &workerServer{srv: srv}, nil
}

// stop hands back unfinished tasks after the grace period. A nil server
// (no worker role) does nothing.
func (w *workerServer) stop() {
	if w != nil {
		w.srv.Shutdown()
	}
}

// announceSandbox prints how to use the sandbox. The token is printed on
// purpose: it is the sandbox's, generated for this run, and the operator
// needs it.
func announceSandbox(g *globals, addr, token string) {
	url := "http://" + addr
	fmt.Fprintf(g.stderr, `
  reglock sandbox: in-memory Redis + simulated registrars (eNom, OpenSRS, WHMCS, .ee). Development only.

    API:      %[1]s
    Token:    %[2]s
    Console:  %[1]s/console  (sign in with the token)

    curl -s -X POST -H "Authorization: Bearer %[2]s" %[1]s/v1/domains/example.net/lock
    curl -s -H "Authorization: Bearer %[2]s" %[1]s/v1/domains/example.net
    bin/reglock status example.net     (the CLI finds this sandbox by itself)

`, url, token)
	_ = writeSandboxInfo(sandboxInfo{API: url, Token: token, PID: os.Getpid()})
}
