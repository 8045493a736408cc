package worker

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/tasks"
)

// This file is the one place where an outcome becomes an asynq verdict:
//
//	payload does not decode or validate  -> archived (SkipRetry)
//	permanent registrar error            -> recorded on the domain, archived
//	*providers.RetryAfterError           -> retried after its delay, not a failure
//	superseded intent                    -> success (nil), logged
//	anything else                        -> retried, capped exponential backoff with jitter

// errBadPayload marks a task that can never run.
var errBadPayload = errors.New("bad task payload")

// badPayload is the verdict on a task whose payload cannot be read.
func badPayload(err error) error {
	return asynqError(fmt.Errorf("%w: %w", errBadPayload, err))
}

// asynqError turns the outcome of a handler into what asynq acts on.
func asynqError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errBadPayload), providers.IsPermanent(err):
		return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
	default:
		return err
	}
}

// IsFailure tells asynq which errors use up a retry: waiting for a busy
// registrar or a rate-limit slot does not.
func IsFailure(err error) bool {
	var ra *providers.RetryAfterError
	return !errors.As(err, &ra)
}

// backoffCap is the longest pause between two retries, per task type.
var backoffCap = map[string]time.Duration{
	tasks.TypeLock:      15 * time.Minute,
	tasks.TypeUnlock:    15 * time.Minute,
	tasks.TypeTradeLock: 15 * time.Minute,
	tasks.TypeCheck:     5 * time.Minute,
	tasks.TypeSweep:     2 * time.Minute,
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
