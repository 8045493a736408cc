package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reglock/reglock/sweep"
)

// sweepCollector reads each account's figures from its latest finished
// sweep at scrape time, so that every process (API, workers) exports the
// same numbers.
type sweepCollector struct {
	records               *sweep.Records
	domains, last, paused *prometheus.Desc
	errors                prometheus.Counter
}

// WatchSweeps exports the domains of each provider by sync state, as the
// latest sweep found them.
func (m *Metrics) WatchSweeps(r *sweep.Records) {
	c := &sweepCollector{
		records: r,
		domains: prometheus.NewDesc("reglock_domains", "Domains by provider and sync state (in_sync, drifted, unfixable, error), as the latest finished sweep found them.", []string{"provider", "state"}, nil),
		last:    prometheus.NewDesc("reglock_sweep_last_finished_timestamp_seconds", "When the latest sweep of each provider finished.", []string{"provider"}, nil),
		paused:  prometheus.NewDesc("reglock_sweep_paused", "1 if the latest sweep of the provider was paused by the blast-radius guard.", []string{"provider"}, nil),
		errors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "reglock_sweep_metrics_errors_total", Help: "Failed reads of the sweep figures."}),
	}
	m.Registry.MustRegister(c, c.errors)
}

func (c *sweepCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.domains
	ch <- c.last
	ch <- c.paused
}

func (c *sweepCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	last, err := c.records.LastByProvider(ctx)
	if err != nil {
		c.errors.Inc()
		return
	}
	for p, l := range last {
		fixable := l.Drifted - l.Unfixable
		for state, n := range map[string]int64{"in_sync": l.Checked - l.Drifted, "drifted": fixable, "unfixable": l.Unfixable, "error": l.Errors} {
			ch <- prometheus.MustNewConstMetric(c.domains, prometheus.GaugeValue, float64(n), p, state)
		}
		ch <- prometheus.MustNewConstMetric(c.last, prometheus.GaugeValue, float64(l.FinishedAt.Unix()), p)
		paused := 0.0
		if l.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(c.paused, prometheus.GaugeValue, paused, p)
	}
}
