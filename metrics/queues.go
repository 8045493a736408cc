package metrics

import (
	"errors"
	"reflect"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// queueCollector reads asynq's queue figures at scrape time, under the
// names asynq's own x/metrics exporter uses.
type queueCollector struct {
	insp   *asynq.Inspector
	queues []string

	size, latency, memory, processed, failed, paused, tasks *prometheus.Desc
	errors                                                  prometheus.Counter
}

// WatchQueues exports asynq's figures for the given queues.
func (m *Metrics) WatchQueues(insp *asynq.Inspector, queues []string) {
	l := []string{"queue"}
	c := &queueCollector{
		insp: insp, queues: queues,
		size:      prometheus.NewDesc("asynq_queue_size", "Tasks in the queue, all states.", l, nil),
		latency:   prometheus.NewDesc("asynq_queue_latency_seconds", "Age of the oldest pending task.", l, nil),
		memory:    prometheus.NewDesc("asynq_queue_memory_usage_approx_bytes", "Approximate Redis memory the queue uses.", l, nil),
		processed: prometheus.NewDesc("asynq_tasks_processed_total", "Tasks processed (succeeded or failed).", l, nil),
		failed:    prometheus.NewDesc("asynq_tasks_failed_total", "Tasks that failed.", l, nil),
		paused:    prometheus.NewDesc("asynq_queue_paused_total", "1 if the queue is paused.", l, nil),
		tasks:     prometheus.NewDesc("asynq_tasks_enqueued_total", "Tasks in the queue, by state (pending, active, scheduled, retry, archived, completed).", []string{"queue", "state"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reglock_queue_metrics_errors_total", Help: "Failed reads of asynq's queue figures.",
		}),
	}
	m.Registry.MustRegister(c, c.errors)
}

func (c *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.size, c.latency, c.memory, c.processed, c.failed, c.paused, c.tasks} {
		ch <- d
	}
}

func (c *queueCollector) Collect(ch chan<- prometheus.Metric) {
	for _, q := range c.queues {
		// A queue nothing was ever put in does not exist yet (a fresh
		// install; the notify queue with no notifications configured):
		// it reads as all zero, not as a failed read. asynq learns of a
		// queue when a task is first put in it, so a queue paused before
		// that reads as not paused until then; nothing in it can wait.
		info := &asynq.QueueInfo{Queue: q}
		got, err := c.insp.GetQueueInfo(q)
		switch {
		case err == nil:
			info = got
		case queueNotFound(err):
		default:
			c.errors.Inc()
			continue
		}
		paused := 0.0
		if info.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(info.Size), q)
		ch <- prometheus.MustNewConstMetric(c.latency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		ch <- prometheus.MustNewConstMetric(c.memory, prometheus.GaugeValue, float64(info.MemoryUsage), q)
		ch <- prometheus.MustNewConstMetric(c.processed, prometheus.CounterValue, float64(info.ProcessedTotal), q)
		ch <- prometheus.MustNewConstMetric(c.failed, prometheus.CounterValue, float64(info.FailedTotal), q)
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, paused, q)
		for state, n := range map[string]int{"pending": info.Pending, "active": info.Active, "scheduled": info.Scheduled,
			"retry": info.Retry, "archived": info.Archived, "completed": info.Completed} {
			ch <- prometheus.MustNewConstMetric(c.tasks, prometheus.GaugeValue, float64(n), q, state)
		}
	}
}

// queueNotFound reports whether err says the queue does not exist. Some
// Inspector calls wrap asynq.ErrQueueNotFound; GetQueueInfo and History
// return asynq's internal error instead (internal/errors.QueueNotFoundError
// under a NOT_FOUND code), which no caller can name: it is recognised by
// its type's name and package, and TestQueueNotFound holds that to the
// asynq in go.mod.
func queueNotFound(err error) bool {
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return true
	}
	for e := err; e != nil; e = errors.Unwrap(e) {
		t := reflect.TypeOf(e)
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Name() == "QueueNotFoundError" && t.PkgPath() == "github.com/hibiken/asynq/internal/errors" {
			return true
		}
	}
	return false
}
