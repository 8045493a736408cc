package metrics

import (
	"errors"
	"slices"

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
	// A queue nothing was ever put in does not exist yet, and asynq's
	// GetQueueInfo answers it with an internal error no caller can tell
	// from a failure: ask which queues exist first, and report the others
	// as all zero.
	known, err := c.insp.Queues()
	exists := func(string) bool { return true }
	if err != nil {
		c.errors.Inc()
	} else {
		exists = func(q string) bool { return slices.Contains(known, q) }
	}
	for _, q := range c.queues {
		info := &asynq.QueueInfo{Queue: q}
		if exists(q) {
			got, err := c.insp.GetQueueInfo(q)
			switch {
			case err == nil:
				info = got
			case !errors.Is(err, asynq.ErrQueueNotFound):
				c.errors.Inc()
			}
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
