package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/tasks"
)

// This file maps outcomes onto asynq, by the table of providers.Judge, in
// one middleware every handler runs under:
//
//	Done                        -> success
//	Archive (permanent errors,  -> archived (SkipRetry); a registrar's
//	  payloads that cannot run)    error is recorded on its domain first
//	RetryLater                  -> retried after its delay; not a failure
//	Retry                       -> retried, capped exponential backoff with
//	                               jitter
//
// On its last attempt, a task that would be retried ends instead if its
// domain's work is recorded as owed: the janitor queues it again.

// errBadPayload marks a task that can never run.
var errBadPayload = errors.New("bad task payload")

// badPayload is a handler's error for a task whose payload cannot run.
func badPayload(err error) error {
	return providers.Permanent(fmt.Errorf("%w: %w", errBadPayload, err))
}

// owedError is a handler's error on a domain whose work is recorded as
// owed: its mark carries a backoff, and the janitor queues the work again
// when it is due. Such a task need not be archived when its retries run
// out.
type owedError struct {
	err     error
	domain  string
	attempt reconcile.Attempt
}

func (e *owedError) Error() string { return e.err.Error() }
func (e *owedError) Unwrap() error { return e.err }

// owed marks err as met on a domain whose work is recorded as owed.
func owed(err error, domain string, a reconcile.Attempt) error {
	if err == nil {
		return nil
	}
	return &owedError{err: err, domain: domain, attempt: a}
}

// verdicts is the middleware that tells asynq what became of each task.
func (w *Worker) verdicts(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		err := next.ProcessTask(ctx, t)
		switch providers.Judge(ctx, err).Task {
		case providers.Done:
			return nil
		case providers.Archive:
			return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
		case providers.Retry, providers.RetryLater:
			var o *owedError
			if errors.As(err, &o) && o.attempt.Last() {
				w.Log.Warn().Err(err).Str("task_id", o.attempt.TaskID).Str("type", t.Type()).Str("domain", o.domain).
					Int("attempts", o.attempt.Retried+1).
					Msg("retries exhausted; the domain's work stays owed and the janitor queues it again")
				writeResult(t, "exhausted")
				return nil
			}
		}
		return err
	})
}

// IsFailure tells asynq which errors use up a retry: waiting for a busy
// registrar or a rate-limit slot does not.
func IsFailure(err error) bool {
	return providers.Judge(context.Background(), err).Task != providers.RetryLater
}

// backoffCap is the longest pause between two retries, per task type.
var backoffCap = map[string]time.Duration{
	tasks.TypeLock:      15 * time.Minute,
	tasks.TypeUnlock:    15 * time.Minute,
	tasks.TypeTradeLock: 15 * time.Minute,
	tasks.TypeCheck:     5 * time.Minute,
	tasks.TypeSweep:     2 * time.Minute,
	notify.TypeWebhook:  time.Hour, // an endpoint down for hours still hears (notify.MaxRetry)
}

// DefaultBackoff is the pause before the first retry.
const DefaultBackoff = 2 * time.Second

// RetryDelay returns asynq's RetryDelayFunc: a RetryAfterError's own delay,
// else exponential backoff from base, capped per task type; both with
// jitter so that a registrar coming back is not hit by every task at once.
func RetryDelay(base time.Duration) asynq.RetryDelayFunc {
	return Backoff(base, func(n int64) int64 { return rand.N(n) })
}

// Backoff is RetryDelay with its jitter drawn from jitter (a number in
// [0, n)), so that a simulation can make it reproducible.
func Backoff(base time.Duration, jitter func(n int64) int64) asynq.RetryDelayFunc {
	return func(n int, err error, t *asynq.Task) time.Duration {
		var ra *providers.RetryAfterError
		if errors.As(err, &ra) {
			d := max(ra.After, 100*time.Millisecond)
			return d + time.Duration(jitter(int64(d/5+1)))
		}
		limit, ok := backoffCap[t.Type()]
		if !ok {
			limit = 15 * time.Minute
		}
		d := limit
		if n < 30 {
			d = min(base<<n, limit)
		}
		// "Equal jitter": at least half the delay, so the backoff still grows.
		return d/2 + time.Duration(jitter(int64(d/2+1)))
	}
}

// asynqLogger sends asynq's own log lines to zerolog.
type asynqLogger struct{ l zerolog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Fatal().Msg(fmt.Sprint(args...)) }
