package simulation

import (
	"context"
	"fmt"
	"reflect"
	"time"
	"unsafe"

	"github.com/hibiken/asynq"
)

// This file reaches into asynq v0.26.0 (pinned in go.mod) twice, for the
// two things its API keeps to itself and the simulated queue needs:
//
//   - the options given to asynq.NewTask, which Client.EnqueueContext
//     merges with its own but which no exported method returns;
//   - the task context of a handler, which carries the values behind
//     asynq.GetTaskID, GetRetryCount, GetMaxRetry and GetQueueName, which
//     reglock's handlers read.
//
// Both are checked when first used and fail loudly if asynq changed.

// taskOptions returns the options t was made with.
func taskOptions(t *asynq.Task) []asynq.Option {
	f := reflect.ValueOf(t).Elem().FieldByName("opts")
	if !f.IsValid() || f.Type() != reflect.TypeFor[[]asynq.Option]() {
		panic("simulation: asynq.Task has no opts []asynq.Option field any more: asynq was upgraded past v0.26; update taskOptions")
	}
	return *(*[]asynq.Option)(unsafe.Pointer(f.UnsafeAddr()))
}

// asynqTaskMessage has the layout of asynq v0.26.0's
// internal/base.TaskMessage, of which internal/context.New reads ID, Queue,
// Retry and Retried.
type asynqTaskMessage struct {
	Type         string
	Payload      []byte
	Headers      map[string]string
	ID           string
	Queue        string
	Retry        int
	Retried      int
	ErrorMsg     string
	LastFailedAt int64
	Timeout      int64
	Deadline     int64
	UniqueKey    string
	GroupKey     string
	Retention    int64
	CompletedAt  int64
}

// asynqNewContext is asynq's own constructor of a handler's context.
//
//go:linkname asynqNewContext github.com/hibiken/asynq/internal/context.New
func asynqNewContext(base context.Context, msg *asynqTaskMessage, deadline time.Time) (context.Context, context.CancelFunc)

// farFuture is the wall-clock deadline handed to asynq's constructor: the
// real deadline is virtual, and applied on top by Sim.WithDeadline.
var farFuture = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// asynqContext returns base with asynq's task values for a, as asynq's
// processor makes it (without the deadline).
func asynqContext(base context.Context, a Attempt) (context.Context, context.CancelFunc) {
	ctx, cancel := asynqNewContext(base, &asynqTaskMessage{ID: a.TaskID, Queue: a.Queue, Retry: a.MaxRetry, Retried: a.Retried}, farFuture)
	id, _ := asynq.GetTaskID(ctx)
	n, _ := asynq.GetRetryCount(ctx)
	m, _ := asynq.GetMaxRetry(ctx)
	q, _ := asynq.GetQueueName(ctx)
	if id != a.TaskID || n != a.Retried || m != a.MaxRetry || q != a.Queue {
		panic(fmt.Sprintf("simulation: asynq's task context reads back %q/%q/%d/%d for %+v: "+
			"asynq was upgraded past v0.26; update asynqTaskMessage", id, q, n, m, a))
	}
	return ctx, cancel
}
