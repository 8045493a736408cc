package metrics

import (
	"context"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/tasks"
)

// A queue nothing was ever put in (a fresh install; the notify queue with
// no notifications configured) reads as all zero, not as a failed read:
// ReglockMetricsReadErrors must not fire on a healthy install.
func TestWatchQueues_unusedQueueIsNoError(t *testing.T) {
	env := redistest.New(t)
	ns := tasks.Namespace(env.Namespace)
	used, unused := ns.Queue(tasks.QueueChanges), ns.Queue("never-used")
	c := asynq.NewClientFromRedisClient(env.Client)
	if _, err := c.EnqueueContext(context.Background(), asynq.NewTask("x", nil), asynq.Queue(used)); err != nil {
		t.Fatal(err)
	}
	m := New()
	m.WatchQueues(asynq.NewInspectorFromRedisClient(env.Client), []string{used, unused})
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sizes := map[string]float64{}
	errs := -1.0
	for _, f := range families {
		switch f.GetName() {
		case "reglock_queue_metrics_errors_total":
			errs = f.GetMetric()[0].GetCounter().GetValue()
		case "asynq_queue_size":
			for _, mt := range f.GetMetric() {
				sizes[mt.GetLabel()[0].GetValue()] = mt.GetGauge().GetValue()
			}
		}
	}
	if errs != 0 {
		t.Fatalf("reglock_queue_metrics_errors_total = %v, want 0", errs)
	}
	if len(sizes) != 2 || sizes[used] != 1 || sizes[unused] != 0 {
		t.Fatalf("asynq_queue_size = %v", sizes)
	}
}
