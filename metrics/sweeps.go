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
	// From the newest freshness plan (scheduler.freshness).
	oldest, covers, period, atRisk *prometheus.Desc
	// The newest sweep of each kind (sweep.KindOf): when it started, how
	// long it ran (or has run so far), its state and what it has read.
	started, duration, state, read *prometheus.Desc
	errors                         prometheus.Counter
	now                            func() time.Time
}

// WatchSweeps exports the domains of each provider by sync state, as the
// latest sweep found them; the freshness figures of the newest plan; and
// the start, duration, state and progress of the newest sweep of each
// kind, so that a sweep that never finishes shows within the hour.
func (m *Metrics) WatchSweeps(r *sweep.Records) {
	c := &sweepCollector{
		records:  r,
		domains:  prometheus.NewDesc("reglock_domains", "Domains by provider and sync state (in_sync, drifted, unfixable, error), as the latest finished sweep found them; in freshness mode, the whole inventory by its newest readings, as the newest pass's plan counted it.", []string{"provider", "state"}, nil),
		last:     prometheus.NewDesc("reglock_sweep_last_finished_timestamp_seconds", "When the latest sweep of each provider finished.", []string{"provider"}, nil),
		paused:   prometheus.NewDesc("reglock_sweep_paused", "1 if the latest sweep of the provider was paused by the blast-radius guard.", []string{"provider"}, nil),
		oldest:   prometheus.NewDesc("reglock_oldest_reading_age_seconds", "Age of the oldest successful reading of any of the provider's domains, as of the newest freshness plan (scheduler.freshness); it keeps growing if the plans stop.", []string{"provider"}, nil),
		covers:   prometheus.NewDesc("reglock_freshness_cover_seconds", "How long the provider's background budget (rate x sweep_share) takes to make one freshness period's reads; above reglock_freshness_period_seconds the budget cannot keep every domain fresh.", []string{"provider"}, nil),
		period:   prometheus.NewDesc("reglock_freshness_period_seconds", "scheduler.freshness: every domain is to be read once per period.", []string{"provider"}, nil),
		atRisk:   prometheus.NewDesc("reglock_freshness_domains_at_risk", "Domains read more often in freshness mode: an error, a pending transfer, an open unlock window, drift, a recent change.", []string{"provider"}, nil),
		started:  prometheus.NewDesc("reglock_sweep_started_timestamp_seconds", "When the newest sweep of the kind (scheduled, freshness, manual) started.", []string{"kind"}, nil),
		duration: prometheus.NewDesc("reglock_sweep_duration_seconds", "How long the newest sweep of the kind ran: until it finished (done or paused), or so far while it runs.", []string{"kind"}, nil),
		state:    prometheus.NewDesc("reglock_sweep_state", "1 for the state (running, paused, done) of the newest sweep of the kind, 0 for the others.", []string{"kind", "state"}, nil),
		read:     prometheus.NewDesc("reglock_sweep_domains_read", "Domains the newest sweep of the kind has read so far, successfully or not: it stops growing when the sweep is stuck.", []string{"kind"}, nil),
		now:      time.Now,
		errors:   prometheus.NewCounter(prometheus.CounterOpts{Name: "reglock_sweep_metrics_errors_total", Help: "Failed reads of the sweep figures."}),
	}
	m.Registry.MustRegister(c, c.errors)
}

func (c *sweepCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.domains
	ch <- c.last
	ch <- c.paused
	ch <- c.oldest
	ch <- c.covers
	ch <- c.period
	ch <- c.atRisk
	ch <- c.started
	ch <- c.duration
	ch <- c.state
	ch <- c.read
}

func (c *sweepCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	now := c.now()
	c.collectNewest(ctx, ch, now)
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
	fresh, err := c.records.Freshness(ctx)
	if err != nil {
		c.errors.Inc()
		return
	}
	for p, f := range fresh {
		if !f.Oldest.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, now.Sub(f.Oldest).Seconds(), p)
		}
		if f.Budget > 0 {
			ch <- prometheus.MustNewConstMetric(c.covers, prometheus.GaugeValue, f.Covers.Seconds(), p)
		}
		ch <- prometheus.MustNewConstMetric(c.period, prometheus.GaugeValue, f.Period.Seconds(), p)
		ch <- prometheus.MustNewConstMetric(c.atRisk, prometheus.GaugeValue, float64(f.AtRisk), p)
	}
}

// collectNewest exports the newest sweep of each kind. Before the first
// sweep (a fresh install) there is nothing to export.
func (c *sweepCollector) collectNewest(ctx context.Context, ch chan<- prometheus.Metric, now time.Time) {
	newest, err := c.records.Newest(ctx)
	if err != nil {
		c.errors.Inc()
		return
	}
	for kind, st := range newest {
		end := st.FinishedAt
		if st.State == sweep.StateRunning || end.IsZero() {
			end = now
		}
		if !st.CreatedAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.started, prometheus.GaugeValue, float64(st.CreatedAt.UnixMilli())/1e3, kind)
			ch <- prometheus.MustNewConstMetric(c.duration, prometheus.GaugeValue, max(end.Sub(st.CreatedAt).Seconds(), 0), kind)
		}
		for _, s := range []string{sweep.StateRunning, sweep.StatePaused, sweep.StateDone} {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, v, kind, s)
		}
		ch <- prometheus.MustNewConstMetric(c.read, prometheus.GaugeValue, float64(st.Checked+st.Errors), kind)
	}
}
