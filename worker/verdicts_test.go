package worker

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/reconcile"
)

// Every handler's outcome reaches asynq through one middleware, by the
// table of providers.Judge.
func TestVerdicts(t *testing.T) {
	w := &Worker{Reconciler: &reconcile.Reconciler{Log: zerolog.Nop()}}
	middle := reconcile.Attempt{Retried: 1, MaxRetry: 5}
	last := reconcile.Attempt{Retried: 5, MaxRetry: 5}
	transient := errors.New("registrar timeout")
	busy := providers.RetryAfter(time.Second, errors.New("busy"))
	for _, c := range []struct {
		name     string
		err      error
		skip     bool // archived
		failure  bool // uses up an attempt
		sameErr  bool // asynq sees the handler's error
		exhausts bool
	}{
		{name: "success"},
		{name: "transient", err: transient, sameErr: true, failure: true},
		{name: "busy", err: busy, sameErr: true},
		{name: "permanent", err: providers.ErrNotFound, skip: true, failure: true},
		{name: "bad payload", err: badPayload(errors.New("no domain")), skip: true, failure: true},
		{name: "owed, retries left", err: owed(transient, "a.com", middle), sameErr: true, failure: true},
		{name: "owed, last attempt", err: owed(transient, "a.com", last), exhausts: true},
		{name: "owed, last attempt, busy", err: owed(busy, "a.com", last), exhausts: true},
		{name: "owed, permanent", err: owed(providers.ErrNotFound, "a.com", last), skip: true, failure: true},
		{name: "not recorded, last attempt", err: transient, sameErr: true, failure: true},
	} {
		h := w.verdicts(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return c.err }))
		got := h.ProcessTask(context.Background(), asynq.NewTask("reglock:lock", nil))
		switch {
		case c.err == nil || c.exhausts:
			if got != nil {
				t.Errorf("%s: %v, want success", c.name, got)
			}
		case c.skip:
			if !errors.Is(got, asynq.SkipRetry) || !errors.Is(got, c.err) {
				t.Errorf("%s: %v, want it archived", c.name, got)
			}
		case c.sameErr:
			if got != c.err || errors.Is(got, asynq.SkipRetry) {
				t.Errorf("%s: %v, want %v retried", c.name, got, c.err)
			}
		}
		if got != nil && IsFailure(got) != c.failure {
			t.Errorf("%s: IsFailure = %v", c.name, IsFailure(got))
		}
	}
}
