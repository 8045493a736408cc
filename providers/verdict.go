package providers

import (
	"context"
	"errors"
)

// Judge is the one place where an outcome gets its meaning. Adapters only
// classify what the registrar answered (the errors of errors.go); every
// layer above reads this table instead of deciding again: the reconciler
// (what to record on the domain), the circuit breaker (what says something
// about the account) and the worker's asynq middleware (retry, retry
// later or archive).
//
//	outcome                          task          account (breaker)
//	nil                              Done          Up
//	the caller's ctx ended           Retry         Neutral
//	*RetryAfterError (busy, limits)  RetryLater    Up: answering "busy" is being up
//	ErrAuth                          Archive       CredentialsRefused: open at once
//	ErrRefused                       Archive       Refused: opens on several distinct domains
//	other permanent (ErrNotFound...) Archive       Up: the domain's problem
//	Unrecognized                     Retry         Failing (bounded: UnrecognizedAttempts)
//	anything else (timeouts, 5xx)    Retry         Failing
//
// A breaker that opens turns the call's error into a *RetryAfterError for
// its cooldown, so a task that met refused credentials waits for them to be
// fixed (RetryLater) instead of being archived domain by domain.
func Judge(ctx context.Context, err error) Verdict {
	var ra *RetryAfterError
	switch {
	case err == nil:
		return Verdict{Task: Done, Account: Up}
	case ctx != nil && ctx.Err() != nil:
		return Verdict{Task: Retry, Account: Neutral}
	case errors.As(err, &ra):
		return Verdict{Task: RetryLater, Account: Up}
	case errors.As(err, new(*NotSentError)):
		// Nothing reached the registrar (reglock's own Redis failed).
		return Verdict{Task: Retry, Account: Neutral}
	case errors.Is(err, ErrAuth):
		return Verdict{Task: Archive, Account: CredentialsRefused}
	case errors.Is(err, ErrRefused):
		return Verdict{Task: Archive, Account: Refused}
	case IsPermanent(err):
		return Verdict{Task: Archive, Account: Up}
	default:
		return Verdict{Task: Retry, Account: Failing}
	}
}

// Verdict is what an outcome means for the task that met it and for its
// registrar account.
type Verdict struct {
	Task    TaskVerdict
	Account Evidence
}

// TaskVerdict is what becomes of a task.
type TaskVerdict int

const (
	// Done: the task succeeded.
	Done TaskVerdict = iota
	// Retry: a transient failure; the task is retried with backoff and the
	// attempt counts.
	Retry
	// RetryLater: not a failure; the task runs again after the
	// *RetryAfterError's delay and the attempt does not count.
	RetryLater
	// Archive: retrying cannot help; the error is recorded on the domain
	// and the task archived.
	Archive
)

// Evidence is what an outcome says about a registrar account.
type Evidence int

const (
	// Neutral says nothing (the caller gave up).
	Neutral Evidence = iota
	// Up: the registrar answered.
	Up
	// Failing counts towards opening the account's breaker.
	Failing
	// Refused is a refusal of one domain's request that does not tell the
	// domain's problem from the account's: refusals of several distinct
	// domains, or of a request about no domain, open the breaker.
	Refused
	// CredentialsRefused opens the breaker at once.
	CredentialsRefused
)

var taskVerdicts = [...]string{Done: "done", Retry: "retry", RetryLater: "retry_later", Archive: "archive"}

func (v TaskVerdict) String() string { return taskVerdicts[v] }
