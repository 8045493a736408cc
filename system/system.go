// Package system puts reglock together: the one place where the store, the
// queue, the intent service, the worker, the sweeps, the janitor, the API and
// the registrar accounts are built from a configuration and connections.
// The binary (cmd/reglock), the benchmarks and the tests all build their
// processes here, so that what is tested is what runs.
package system

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/console"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/metrics"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/worker"
)

// Options are what a process is built from.
type Options struct {
	// Config names the providers and holds the policy and tuning.
	Config *config.Config
	// Redis holds the store, the rate limits, the sweeps and the trail.
	Redis redis.UniversalClient
	// Enqueuer queues tasks; nil is an asynq client on Redis.
	Enqueuer tasks.Enqueuer
	// Namespace prefixes every key ("<ns>:rl:") and queue ("<ns>:reglock:...")
	// of this installation; "" is none.
	Namespace string
	// Accounts are the registrar accounts (see Accounts); only workers
	// need them.
	Accounts map[string]reconcile.Account
	// Clock is the time source; nil is the wall clock.
	Clock clock.Clock
	Log   zerolog.Logger
	// Metrics, if set, counts what the process does.
	Metrics *metrics.Metrics
}

// System is one process's shared parts.
type System struct {
	Options
	Store   *store.Store
	Limiter *ratelimit.Limiter
	Queue   tasks.Queue
	Intents *intent.Service
	Sweeps  *sweep.Starter
	Audit   *audit.Log
	// Notify raises events to the configured webhooks (notify.go).
	Notify *notify.Notifier
	// StoreWatch says whether Redis still holds the store this process
	// works for (storewatch.go); the API, the worker and the scheduler
	// refuse to work while it is lost or replaced.
	StoreWatch *store.IdentityWatch
}

// New builds the shared parts of a process.
func New(o Options) *System {
	if o.Config == nil {
		o.Config = config.Default()
	}
	if o.Enqueuer == nil {
		o.Enqueuer = asynq.NewClientFromRedisClient(o.Redis)
	}
	o.Clock = clock.Or(o.Clock)
	prefix := Prefix(o.Namespace)
	s := &System{Options: o, Store: store.New(o.Redis, prefix), Limiter: ratelimit.New(o.Redis, prefix),
		Queue: tasks.Queue{Client: o.Enqueuer, Namespace: tasks.Namespace(o.Namespace)}}
	s.Store.SetHistory(store.HistoryLimits{MaxLen: o.Config.Audit.HistoryMax, Retention: o.Config.Audit.HistoryRetention})
	s.Audit = audit.New(s.Store)
	s.Limiter.Clock = o.Clock
	s.Intents = &intent.Service{Store: s.Store, Queue: s.Queue, Config: o.Config, Clock: o.Clock}
	if o.Config.RDAP.Enabled {
		// The policy windows start from the dates the registry's record
		// gave (the second witness keeps them).
		s.Intents.Dates = s.registryDates
	}
	s.Sweeps = &sweep.Starter{Records: sweep.New(o.Redis, prefix), Queue: s.Queue, Fixes: s.FixQueue(), Clock: o.Clock}
	s.Notify = s.newNotifier()
	s.StoreWatch = s.newStoreWatch()
	if m := o.Metrics; m != nil {
		s.Limiter.OnWait = func(account string, wait time.Duration) {
			m.RateLimitWait.WithLabelValues(account).Observe(wait.Seconds())
		}
		s.Limiter.OnDefer = func(account string) { m.RateLimitDefer.WithLabelValues(account).Inc() }
	}
	return s
}

// Prefix is the store key prefix of a namespace.
func Prefix(namespace string) string {
	if namespace == "" {
		return "rl:"
	}
	return namespace + ":rl:"
}

// Worker returns the task handlers, sweeps included.
func (s *System) Worker() *worker.Worker {
	sched := s.Config.Scheduler
	w := &worker.Worker{
		Reconciler: &reconcile.Reconciler{
			Store: s.Store, Limiter: s.Limiter, Accounts: s.Accounts, Queue: s.Queue,
			Log:          s.Log.With().Str("component", "worker").Logger(),
			Audit:        s.Audit,
			Notify:       s.Notify,
			ConfirmDelay: sched.ConfirmDelay,
			Clock:        s.Clock,
		},
		RouteTLD: s.Config.Route,
		Notify:   s.Notify,
	}
	if s.Metrics != nil {
		w.Counters, w.Metrics = s.Metrics, s.Metrics
	}
	runner := &sweep.Runner{Records: s.Sweeps.Records, Guard: sweep.Guard{MaxDriftShare: sched.MaxDriftShare}}
	if wit := s.newWitness(w.Reconciler); wit != nil {
		runner.Witness = wit
		runner.PolicyLock = s.policyLock
	}
	w.Sweeps = w.SweepRunner(runner)
	w.StoreGuard = s.StoreWatch.Verify
	return w
}

// Janitor returns the janitor of owed work; insp finds the tasks that are
// still queued (nil: an asynq inspector on Redis).
func (s *System) Janitor(insp reconcile.Inspector) *reconcile.Janitor {
	if insp == nil {
		insp = asynq.NewInspectorFromRedisClient(s.Redis)
	}
	return &reconcile.Janitor{Store: s.Store, Queue: s.Queue, Inspector: insp, Clock: s.Clock,
		Log: s.Log.With().Str("component", "janitor").Logger(), Notify: s.Notify}
}

// API returns the HTTP API, accepting tokens.
func (s *System) API(tokens []config.Token) *api.Server {
	srv := api.New(tokens)
	srv.Intents, srv.Store, srv.Sweeps, srv.Metrics = s.Intents, s.Store, s.Sweeps, s.Metrics
	srv.Audit, srv.Clock, srv.Tasks = s.Audit, s.Clock, asynq.NewInspectorFromRedisClient(s.Redis)
	srv.Log = s.Log.With().Str("component", "api").Logger()
	srv.StoreGuard = s.StoreWatch.Verify
	// The console reads through the API with its visitors' tokens: the
	// handler it gets is taken before it is mounted, so it has /v1, not itself.
	srv.Console = console.New(srv.Handler())
	return srv
}

// FixQueue owes and queues the fixes of confirmed drift.
func (s *System) FixQueue() reconcile.FixQueue {
	return reconcile.FixQueue{Store: s.Store, Queue: s.Queue, Clock: s.Clock}
}

// LocalClient is an API client that calls this process's API in process,
// with no network and no configured token: the CLI's --config mode. Its
// requests are authenticated as caller, with every scope.
func (s *System) LocalClient(caller string) *client.Client {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := secret.String(hex.EncodeToString(b))
	srv := s.API([]config.Token{{Name: caller, Token: tok}})
	// A command's own requests are not worth a log line each.
	srv.Log = srv.Log.Level(zerolog.WarnLevel)
	return api.InProcess(srv.Handler(), tok)
}
