package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// StoreStatus is what a process knows of its store's identity (see
// store.IdentityWatch).
type StoreStatus struct {
	// ID is the id of the store the process works for ("" before it saw one).
	ID string
	// State is ok, lost or replaced ("" before it looked).
	State string
	// Lost is set while the process refuses to work: lost or replaced.
	Lost bool
}

// storeCollector exports the process's view of its store at scrape time; it
// reads nothing from Redis.
type storeCollector struct {
	status     func() StoreStatus
	lost, info *prometheus.Desc
}

// WatchStore exports reglock_store_lost (1 while the store is lost or
// replaced: the process fixes nothing and records nothing until an
// operator restores or accepts the store) and reglock_store_info{store_id,
// state}, whose store_id changing, or differing between processes, is a
// store wiped while nothing ran or a process on the wrong database.
func (m *Metrics) WatchStore(status func() StoreStatus) {
	m.Registry.MustRegister(&storeCollector{
		status: status,
		lost:   prometheus.NewDesc("reglock_store_lost", "1 while the store this process works for is lost (wiped: Redis lost its data) or replaced (Redis now holds another installation's store); nothing is fixed or recorded until an operator runs `reglock restore`.", nil, nil),
		info:   prometheus.NewDesc("reglock_store_info", "The store this process works for: its id (a random name written at installation; a new one means the store was created again) and state (ok, lost, replaced).", []string{"store_id", "state"}, nil),
	})
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.lost
	ch <- c.info
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	lost := 0.0
	if st.Lost {
		lost = 1
	}
	ch <- prometheus.MustNewConstMetric(c.lost, prometheus.GaugeValue, lost)
	if st.ID != "" {
		ch <- prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, st.ID, st.State)
	}
}
