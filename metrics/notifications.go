package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// newNotificationCollectors returns the collectors of webhook deliveries
// (package notify). Endpoint labels are configured names, never URLs.
func newNotificationCollectors() (*prometheus.CounterVec, *prometheus.GaugeVec) {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_notifications_total",
			Help: "Webhook notifications by endpoint, event kind and result: delivered, failed (an attempt failed; it is retried), gave_up (failed permanently or out of retries: archived), not_queued (could not be queued when raised).",
		}, []string{"endpoint", "kind", "result"}),
		prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "reglock_notification_last_success_timestamp_seconds",
			Help: "When this process last delivered a notification to the endpoint (take max across processes).",
		}, []string{"endpoint"})
}

// Notification counts an outcome of a notification (notify.Counters).
func (m *Metrics) Notification(endpoint, kind, result string) {
	m.Notifications.WithLabelValues(endpoint, kind, result).Inc()
}

// NotificationDelivered notes an endpoint's latest delivery
// (notify.Counters).
func (m *Metrics) NotificationDelivered(endpoint string, at time.Time) {
	m.NotificationLastSuccess.WithLabelValues(endpoint).Set(float64(at.UnixNano()) / 1e9)
}
