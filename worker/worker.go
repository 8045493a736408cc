// Package worker carries out reglock's tasks: asynq handlers that converge
// each domain's registrar lock on the desired state in the store.
//
// Handlers are level-triggered, in the manner of a controller-runtime
// reconciler: a task names a domain and carries an intent; the handler folds
// the intent into the store (dropping it if a newer one is there), reads the
// registrar, writes only when the lock differs, reads it back, and records
// what it saw. Duplicate, late or reordered tasks therefore do no harm.
package worker

import (
	"context"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/metrics"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/tracing"
)

// Account is one configured registrar account.
type Account = reconcile.Account

// Worker holds what the handlers need: the reconciler (store, accounts,
// limiter, queue, log, audit, metrics, clock) and what only tasks need.
type Worker struct {
	*reconcile.Reconciler
	// RouteTLD returns the provider whose tlds cover a domain that is not
	// in the inventory yet, or "".
	RouteTLD func(domain string) string
	// Sweeps, when set, runs sweep:run tasks (see SweepRunner).
	Sweeps *sweep.Runner
	// Metrics, when set, counts what the worker does.
	Metrics *metrics.Metrics
	// Notify, when set, delivers notify:webhook tasks and hears of the
	// sweeps' ends.
	Notify *notify.Notifier
	// StoreGuard, when set, holds every domain and sweep task while the
	// store is lost or replaced (storeguard.go).
	StoreGuard func(context.Context) error
}

// Mux routes task types to their handlers.
func (w *Worker) Mux() *asynq.ServeMux {
	if w.Reconciler == nil {
		panic("worker: no Reconciler")
	}
	mux := asynq.NewServeMux()
	// Outermost, the task's span: a change continues the trace of the
	// request that queued it; a sweep's task starts its own, linked.
	mux.Use(tracing.Tasks(func(typ string) bool { return typ == tasks.TypeSweep }), w.instrument, w.verdicts, w.storeGuard)
	mux.HandleFunc(tasks.TypeLock, w.handleLock)
	mux.HandleFunc(tasks.TypeUnlock, w.handleUnlock)
	mux.HandleFunc(tasks.TypeTradeLock, w.handleTradeLock)
	mux.HandleFunc(tasks.TypeCheck, w.handleCheck)
	mux.HandleFunc(tasks.TypeSweep, w.handleSweep)
	if w.Notify != nil {
		mux.HandleFunc(notify.TypeWebhook, w.Notify.Deliver)
	}
	return mux
}

// taskReport is what a handler tells the metrics middleware about its task.
type taskReport struct{ provider string }

type reportKey struct{}

// instrument counts every task by type, provider and outcome.
func (w *Worker) instrument(next asynq.Handler) asynq.Handler {
	if w.Metrics == nil {
		return next
	}
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		rep := &taskReport{}
		err := next.ProcessTask(context.WithValue(ctx, reportKey{}, rep), t)
		w.Metrics.TasksProcessed.WithLabelValues(t.Type(), rep.provider, metrics.TaskOutcome(err)).Inc()
		return err
	})
}

// report names the task's provider for the metrics.
func report(ctx context.Context, provider string) {
	if rep, ok := ctx.Value(reportKey{}).(*taskReport); ok {
		rep.provider = provider
	}
}

// superseded counts a dropped task.
func (w *Worker) superseded(t *asynq.Task) {
	if w.Metrics != nil {
		w.Metrics.TasksSuperseded.WithLabelValues(t.Type()).Inc()
	}
}

// audit records a domain's history event, logs it and notifies it, as the
// reconciler does.
func (w *Worker) audit(ctx context.Context, e audit.Event) {
	w.Reconciler.Record(ctx, w.Log, e)
}

// ServerConfig configures the asynq servers.
type ServerConfig struct {
	// Concurrency is how many changes and fixes run at once.
	Concurrency int
	// CheckConcurrency is how many background checks and sweep units run at
	// once, on slots of their own: a sweep can never take the slot a
	// customer's change needs. Default: a fifth of Concurrency, at least 2.
	CheckConcurrency int
	ShutdownTimeout  time.Duration
	Queues           tasks.Namespace
	// PollInterval is how often an idle worker looks for new tasks.
	PollInterval time.Duration
	// Backoff is the pause before the first retry; DefaultBackoff if zero.
	Backoff time.Duration
	Log     zerolog.Logger
}

// Servers are the asynq servers of one worker process: one serves
// producer changes before sweep fixes (strict priority), the other the
// background checks and sweeps, with slots of its own.
type Servers struct {
	Changes *asynq.Server
	Checks  *asynq.Server
}

// NewServers returns the servers; they count as failures the errors
// IsFailure says are, and log through zerolog.
func NewServers(rdb redis.UniversalClient, c ServerConfig) *Servers {
	if c.CheckConcurrency <= 0 {
		c.CheckConcurrency = max(2, c.Concurrency/5)
	}
	return &Servers{
		Changes: newServer(rdb, c, c.Concurrency, map[string]int{
			c.Queues.Queue(tasks.QueueChanges): 6,
			c.Queues.Queue(tasks.QueueFixes):   3,
		}),
		// Notifications first: few and short, they must not wait for a sweep.
		Checks: newServer(rdb, c, c.CheckConcurrency, map[string]int{
			c.Queues.Queue(notify.Queue):      2,
			c.Queues.Queue(tasks.QueueChecks): 1,
		}),
	}
}

// Start starts both servers with the handlers of mux.
func (s *Servers) Start(mux *asynq.ServeMux) error {
	if err := s.Changes.Start(mux); err != nil {
		return err
	}
	if err := s.Checks.Start(mux); err != nil {
		s.Changes.Shutdown()
		return err
	}
	return nil
}

// Stop stops taking new tasks at once.
func (s *Servers) Stop() {
	s.Changes.Stop()
	s.Checks.Stop()
}

// Shutdown waits up to the shutdown timeout for tasks in flight, then hands
// the rest back to their queues.
func (s *Servers) Shutdown() {
	done := make(chan struct{})
	go func() { s.Checks.Shutdown(); close(done) }()
	s.Changes.Shutdown()
	<-done
}

func newServer(rdb redis.UniversalClient, c ServerConfig, concurrency int, queues map[string]int) *asynq.Server {
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              concurrency,
		StrictPriority:           true,
		Queues:                   queues,
		RetryDelayFunc:           RetryDelay(c.Backoff),
		IsFailure:                IsFailure,
		ShutdownTimeout:          c.ShutdownTimeout,
		TaskCheckInterval:        c.PollInterval,
		DelayedTaskCheckInterval: time.Second,
		Logger:                   asynqLogger{c.Log.With().Str("component", "asynq").Logger()},
		LogLevel:                 asynq.WarnLevel,
		BaseContext:              context.Background,
	})
}
