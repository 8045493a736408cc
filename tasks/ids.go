package tasks

import (
	"context"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
)

// Task IDs. Every task reglock queues itself has a deterministic ID, so that
// queueing the same work twice (a retried request, two janitors, a planner
// run again after a crash) queues it once: asynq refuses a second task with
// an ID that is still queued, retrying, archived or kept. IDs name the
// domain as it is stored and never hold a '/', so asynqmon can open them.

// ChangeID is the ID of the task that carries generation gen of a domain's
// intent: "lock:example.com@3". kind is lock, unlock or trade.
func ChangeID(kind, domain string, gen int64) string {
	return kind + ":" + domain + "@" + strconv.FormatInt(gen, 10)
}

// RelockID is the ID of the relock that ends a domain's unlock window at
// at: "relock:example.com@20261205T030000.000Z". One per window, whatever
// else changes meanwhile.
func RelockID(domain string, at time.Time) string {
	return "relock:" + domain + "@" + at.UTC().Format("20060102T150405.000Z")
}

// ConfirmID is the ID of the second reading of a drift suspected at
// generation gen: "confirm:example.com@3".
func ConfirmID(domain string, gen int64) string {
	return "confirm:" + domain + "@" + strconv.FormatInt(gen, 10)
}

// FixID is the ID of the fix of a drift a sweep confirmed at generation
// gen: "fix:example.com@3:sweep-20261202T030000Z".
func FixID(domain string, gen int64, sweepID string) string {
	return "fix:" + domain + "@" + strconv.FormatInt(gen, 10) + ":" + sweepID
}

// SweepTaskID is the ID of a sweep's task for a phase (and unit):
// "sweep-20261202T030000Z:start", "...:unit:c17", "...:finish".
func SweepTaskID(sweepID, phase, unit string) string {
	id := sweepID + ":" + phase
	if unit != "" {
		id += ":" + unit
	}
	return id
}

// Enqueuer queues tasks: an *asynq.Client, or a test's queue.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}
