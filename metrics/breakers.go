package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reglock/reglock/breaker"
)

// breakerCollector exports each account's circuit breaker, as shared in
// Redis, at scrape time.
type breakerCollector struct {
	read   func(context.Context) (map[string]breaker.Status, error)
	open   *prometheus.Desc
	errors prometheus.Counter
}

// WatchBreakers exports reglock_registrar_circuit_open{provider,state}: 1
// while calls to the account are stopped (open, or half-open with its probe
// under way), 0 when closed or probe_due (see breaker.Report: open, but no
// work has come to probe it). It also counts transitions.
func (m *Metrics) WatchBreakers(read func(context.Context) (map[string]breaker.Status, error)) {
	c := &breakerCollector{
		read: read,
		open: prometheus.NewDesc("reglock_registrar_circuit_open", "1 while calls to the registrar account are stopped by its circuit breaker (failing, or refusing the credentials) and work waits for it; state: open, half_open, probe_due (no work has probed it since its cooldown) or closed.", []string{"provider", "state"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reglock_breaker_metrics_errors_total", Help: "Failed reads of the shared breaker state.",
		}),
	}
	m.Registry.MustRegister(c, c.errors, m.BreakerTransitions)
}

func (c *breakerCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.open }

func (c *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	all, err := c.read(ctx)
	if err != nil {
		c.errors.Inc()
		return
	}
	for p, st := range all {
		v := 0.0
		if st.State == breaker.Open || st.State == breaker.HalfOpen {
			v = 1
		}
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, v, p, st.State)
	}
}
