package metrics

import (
	"context"
	"errors"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/tasks"
)

// A queue nothing was ever put in (a fresh install; the notify queue with
// no notifications configured) reads as all zero, not as a failed read:
// ReglockMetricsReadErrors must not fire on a healthy install. A paused
// queue reads as paused.
func TestWatchQueues_unusedQueueIsNoError(t *testing.T) {
	env := redistest.New(t)
	ns := tasks.Namespace(env.Namespace)
	used, unused, paused := ns.Queue(tasks.QueueChanges), ns.Queue("never-used"), ns.Queue(tasks.QueueFixes)
	c := asynq.NewClientFromRedisClient(env.Client)
	for _, q := range []string{used, paused} {
		if _, err := c.EnqueueContext(context.Background(), asynq.NewTask("x", nil), asynq.Queue(q)); err != nil {
			t.Fatal(err)
		}
	}
	insp := asynq.NewInspectorFromRedisClient(env.Client)
	if err := insp.PauseQueue(paused); err != nil {
		t.Fatal(err)
	}
	m := New()
	m.WatchQueues(insp, []string{used, unused, paused})
	for range 2 {
		families, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		sizes, pausedBy := map[string]float64{}, map[string]float64{}
		errs := -1.0
		for _, f := range families {
			switch f.GetName() {
			case "reglock_queue_metrics_errors_total":
				errs = f.GetMetric()[0].GetCounter().GetValue()
			case "asynq_queue_size":
				for _, mt := range f.GetMetric() {
					sizes[mt.GetLabel()[0].GetValue()] = mt.GetGauge().GetValue()
				}
			case "asynq_queue_paused_total":
				for _, mt := range f.GetMetric() {
					pausedBy[mt.GetLabel()[0].GetValue()] = mt.GetGauge().GetValue()
				}
			}
		}
		if errs != 0 {
			t.Fatalf("reglock_queue_metrics_errors_total = %v, want 0", errs)
		}
		if len(sizes) != 3 || sizes[used] != 1 || sizes[unused] != 0 || sizes[paused] != 1 {
			t.Fatalf("asynq_queue_size = %v", sizes)
		}
		if len(pausedBy) != 3 || pausedBy[used] != 0 || pausedBy[unused] != 0 || pausedBy[paused] != 1 {
			t.Fatalf("asynq_queue_paused_total = %v", pausedBy)
		}
	}
}

// Every Inspector read of a queue that was never used fails with an error
// queueNotFound recognises, whether asynq wraps ErrQueueNotFound (the task
// listings, GetTaskInfo) or returns its internal error (GetQueueInfo,
// History); other failures are not taken for it.
func TestQueueNotFound(t *testing.T) {
	env := redistest.New(t)
	q := tasks.Namespace(env.Namespace).Queue("never-used")
	insp := asynq.NewInspectorFromRedisClient(env.Client)
	calls := map[string]func() error{
		"GetQueueInfo":         func() error { _, err := insp.GetQueueInfo(q); return err },
		"History":              func() error { _, err := insp.History(q, 7); return err },
		"GetTaskInfo":          func() error { _, err := insp.GetTaskInfo(q, "some-id"); return err },
		"ListPendingTasks":     func() error { _, err := insp.ListPendingTasks(q); return err },
		"ListActiveTasks":      func() error { _, err := insp.ListActiveTasks(q); return err },
		"ListScheduledTasks":   func() error { _, err := insp.ListScheduledTasks(q); return err },
		"ListRetryTasks":       func() error { _, err := insp.ListRetryTasks(q); return err },
		"ListArchivedTasks":    func() error { _, err := insp.ListArchivedTasks(q); return err },
		"ListCompletedTasks":   func() error { _, err := insp.ListCompletedTasks(q); return err },
		"DeleteQueue":          func() error { return insp.DeleteQueue(q, false) },
		"DeleteAllRetryTasks":  func() error { _, err := insp.DeleteAllRetryTasks(q); return err },
		"RunAllArchivedTasks":  func() error { _, err := insp.RunAllArchivedTasks(q); return err },
		"ArchiveAllRetryTasks": func() error { _, err := insp.ArchiveAllRetryTasks(q); return err },
	}
	for name, call := range calls {
		err := call()
		if err == nil {
			// Some bulk calls treat a missing queue as an empty one.
			continue
		}
		if !queueNotFound(err) {
			t.Errorf("%s on a queue never used: %v (%T) is not recognised as a missing queue", name, err, err)
		}
	}
	if _, err := insp.GetQueueInfo(q); err == nil || !queueNotFound(err) {
		t.Fatalf("GetQueueInfo on a queue never used: %v, want a missing queue", err)
	}
	if _, err := insp.History(q, 7); err == nil || !queueNotFound(err) {
		t.Fatalf("History on a queue never used: %v, want a missing queue", err)
	}
	for _, err := range []error{errors.New("queue not found"), errors.New(`NOT_FOUND: queue "x" does not exist`), context.DeadlineExceeded} {
		if queueNotFound(err) {
			t.Errorf("queueNotFound(%v) = true", err)
		}
	}
	if _, err := insp.GetQueueInfo(""); err == nil || queueNotFound(err) {
		t.Errorf("GetQueueInfo(\"\"): %v: want an error that is not a missing queue", err)
	}
}
