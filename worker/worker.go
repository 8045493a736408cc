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

	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// Account is one configured registrar account.
type Account struct {
	Name      string
	Type      string
	Registrar providers.Registrar
	Limit     ratelimit.Limit
}

// Worker holds what the handlers need.
type Worker struct {
	Store    *store.Store
	Limiter  *ratelimit.Limiter
	Intents  *intent.Service
	Accounts map[string]Account
	Log      zerolog.Logger
	// ConfirmDelay is how long a check waits before reading a suspected
	// drift again; a single odd reading is never acted on.
	ConfirmDelay time.Duration
	// MaxRateWait is the longest a change waits for a rate-limit slot
	// before it is handed back to the queue.
	MaxRateWait time.Duration
}

// Mux routes task types to their handlers.
func (w *Worker) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeLock, w.handleLock)
	mux.HandleFunc(tasks.TypeUnlock, w.handleUnlock)
	mux.HandleFunc(tasks.TypeTradeLock, w.handleTradeLock)
	mux.HandleFunc(tasks.TypeCheck, w.handleCheck)
	return mux
}

// ServerConfig configures the asynq server.
type ServerConfig struct {
	Concurrency     int
	ShutdownTimeout time.Duration
	Queues          tasks.Namespace
	// PollInterval is how often an idle worker looks for new tasks.
	PollInterval time.Duration
	// Backoff is the pause before the first retry; DefaultBackoff if zero.
	Backoff time.Duration
	Log     zerolog.Logger
}

// NewServer returns an asynq server that serves reglock's queues in strict
// priority order (changes, then fixes, then checks), maps errors the way
// taskError decides, and logs through zerolog.
func NewServer(rdb redis.UniversalClient, c ServerConfig) *asynq.Server {
	if c.PollInterval <= 0 {
		c.PollInterval = 200 * time.Millisecond
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultBackoff
	}
	return asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:    c.Concurrency,
		StrictPriority: true,
		Queues: map[string]int{
			c.Queues.Queue(tasks.QueueChanges): 6,
			c.Queues.Queue(tasks.QueueFixes):   3,
			c.Queues.Queue(tasks.QueueChecks):  1,
		},
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

// taskLog returns a logger carrying the task's identity.
func (w *Worker) taskLog(ctx context.Context, t *asynq.Task, domain, provider string) zerolog.Logger {
	id, _ := asynq.GetTaskID(ctx)
	attempt, _ := asynq.GetRetryCount(ctx)
	return w.Log.With().Str("task_id", id).Str("type", t.Type()).Str("domain", domain).
		Str("provider", provider).Int("attempt", attempt+1).Logger()
}
