package metrics

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/reglock/reglock/store"
)

// RelockGrace is how long after its unlock window ends a domain's relock
// counts as due rather than overdue: `reglock compliance` (the API's
// RelockGrace) draws the line at the same place.
const RelockGrace = 10 * time.Minute

// workTTL is how long one read of the inventory's owed work answers
// scrapes, in every process of the installation (store.SharedWorkStats):
// it reads every occupied bucket (four commands each, pipelined in round
// trips of 1,024 buckets: at most 64k commands a minute for the whole
// installation, not per process), and the alerts built on it are about
// minutes and hours. A process asks Redis for the shared figures at most
// every workTTL/4.
const workTTL = time.Minute

// workCollector exports what reglock owes the inventory, read from Redis
// (store.WorkStats), so that every process exports the same numbers.
type workCollector struct {
	st  *store.Store
	now func() time.Time

	owed, oldest, windows, overdue, overdueAge *prometheus.Desc
	errors                                     prometheus.Counter

	mu   sync.Mutex
	at   time.Time
	last store.WorkStats
}

// WatchWork exports the work reglock owes: changes not yet confirmed at
// the registrar by kind, how long the oldest has waited (whatever its
// tasks are doing: queued, retrying, archived or lost), and the relocks of
// unlock windows that are overdue.
func (m *Metrics) WatchWork(st *store.Store) {
	c := &workCollector{
		st: st, now: time.Now,
		owed:       prometheus.NewDesc("reglock_owed_work", "Domains owed work not yet confirmed at the registrar, by kind: lock (a lock or unlock request), trade (a trade lock setting), relock (the end of an unlock window), fix (confirmed drift).", []string{"kind"}, nil),
		oldest:     prometheus.NewDesc("reglock_owed_work_oldest_age_seconds", "How long ago the oldest owed work of the kind was asked for (a relock: its window ended; a fix: it was confirmed), whatever its task is doing; 0 when none is owed.", []string{"kind"}, nil),
		windows:    prometheus.NewDesc("reglock_unlock_windows", "Unlock windows whose relock is not recorded yet: running, or ended and overdue.", nil, nil),
		overdue:    prometheus.NewDesc("reglock_relocks_overdue", "Domains whose unlock window ended more than 10 minutes ago and which are not yet confirmed locked: the relock is not recorded, or not yet confirmed at the registrar.", nil, nil),
		overdueAge: prometheus.NewDesc("reglock_relock_overdue_seconds", "How long ago the oldest unlock window ended whose domain is not yet confirmed locked; 0 when none.", nil, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "reglock_work_metrics_errors_total", Help: "Failed reads of the owed work figures.",
		}),
	}
	m.Registry.MustRegister(c, c.errors)
}

func (c *workCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.owed, c.oldest, c.windows, c.overdue, c.overdueAge} {
		ch <- d
	}
}

func (c *workCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.at.IsZero() || now.Sub(c.at) >= workTTL/4 || now.Before(c.at) {
		// One process of the installation reads the inventory per
		// workTTL; the others take its figures from Redis.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, _, err := c.st.SharedWorkStats(ctx, now, workTTL, now.Add(-RelockGrace))
		cancel()
		if err != nil {
			c.errors.Inc()
			c.at = time.Time{}
			return
		}
		c.at, c.last = now, st
	}
	age := func(t time.Time) float64 {
		if t.IsZero() || !t.Before(now) {
			return 0
		}
		return now.Sub(t).Seconds()
	}
	for kind, o := range c.last.Marks {
		ch <- prometheus.MustNewConstMetric(c.owed, prometheus.GaugeValue, float64(o.Count), string(kind))
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age(o.Oldest), string(kind))
	}
	w, r := c.last.Windows, c.last.Marks[store.MarkRelock]
	ch <- prometheus.MustNewConstMetric(c.windows, prometheus.GaugeValue, float64(w.Count))
	ch <- prometheus.MustNewConstMetric(c.overdue, prometheus.GaugeValue, float64(w.Before+r.Before))
	ch <- prometheus.MustNewConstMetric(c.overdueAge, prometheus.GaugeValue, max(age(w.Oldest), age(r.Oldest)))
}
