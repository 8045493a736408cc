package worker

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/tasks"
)

// While the store is lost every domain and sweep task is held (retried
// later, no attempt used, the reason kept); other tasks run.
func TestStoreGuard(t *testing.T) {
	lost := errors.New("store lost at 2026-11-22T10:00:00Z (marker x gone): restore with `reglock restore FILE`")
	var guardErr error
	w := &Worker{Reconciler: &reconcile.Reconciler{Log: zerolog.Nop()}, StoreGuard: func(context.Context) error { return guardErr }}
	for _, c := range []struct {
		typ  string
		held bool
	}{
		{tasks.TypeLock, true}, {tasks.TypeUnlock, true}, {tasks.TypeTradeLock, true}, {tasks.TypeCheck, true},
		{tasks.TypeSweep, true}, {"notify:webhook", false},
	} {
		for _, isLost := range []bool{false, true} {
			guardErr = nil
			if isLost {
				guardErr = lost
			}
			ran := false
			h := w.verdicts(w.storeGuard(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { ran = true; return nil })))
			err := h.ProcessTask(context.Background(), asynq.NewTask(c.typ, nil))
			if !isLost || !c.held {
				if !ran || err != nil {
					t.Errorf("%s (lost %v): ran %v, err %v; want it run", c.typ, isLost, ran, err)
				}
				continue
			}
			var ra *providers.RetryAfterError
			if ran || !errors.As(err, &ra) || ra.After != StoreHold || IsFailure(err) || !errors.Is(err, lost) ||
				!strings.Contains(err.Error(), "reglock restore") {
				t.Errorf("%s while lost: ran %v, err %v (failure %v); want it held for %v, not a failure, with the reason",
					c.typ, ran, err, IsFailure(err), StoreHold)
			}
			if d := RetryDelay(time.Second)(0, err, asynq.NewTask(c.typ, nil)); d < StoreHold || d > StoreHold*13/10 {
				t.Errorf("%s held for %v, want about %v", c.typ, d, StoreHold)
			}
		}
	}
	// No guard: nothing held.
	w.StoreGuard = nil
	ran := false
	_ = w.storeGuard(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { ran = true; return nil })).
		ProcessTask(context.Background(), asynq.NewTask(tasks.TypeLock, nil))
	if !ran {
		t.Error("a worker without a guard held a task")
	}
}
