// Package metrics is what reglock tells Prometheus: tasks processed,
// registrar calls and their latency, rate-limit waits, drift found and
// fixed, domains by sync state, sweep progress, API requests, and asynq's
// own queue figures.
//
// No label ever carries a secret or a domain name: labels are provider
// names, task types, operations and outcomes, so the number of series stays
// small whatever the inventory's size.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/reglock/reglock/providers"
)

// Metrics holds reglock's collectors on a registry of their own.
type Metrics struct {
	Registry *prometheus.Registry

	TasksProcessed   *prometheus.CounterVec   // type, provider, outcome
	TasksSuperseded  *prometheus.CounterVec   // type
	RegistrarCalls   *prometheus.CounterVec   // provider, operation, result
	RegistrarLatency *prometheus.HistogramVec // provider, operation
	RateLimitWait    *prometheus.HistogramVec // provider
	RateLimitDefer   *prometheus.CounterVec   // provider
	DriftFound       *prometheus.CounterVec   // provider, source
	DriftFixedTotal  *prometheus.CounterVec   // provider
	SweepChecked     *prometheus.CounterVec   // provider
	SweepErrors      *prometheus.CounterVec   // provider
	SweepCalls       *prometheus.CounterVec   // provider
	SweepsFinished   *prometheus.CounterVec   // state
	APIRequests      *prometheus.CounterVec   // route, code
	APILatency       *prometheus.HistogramVec // route
	// BreakerTransitions is registered by WatchBreakers.
	BreakerTransitions *prometheus.CounterVec // provider, state
	// Notifications and NotificationLastSuccess count webhook deliveries
	// (notifications.go).
	Notifications           *prometheus.CounterVec // endpoint, kind, result
	NotificationLastSuccess *prometheus.GaugeVec   // endpoint
	// RDAPLookups and RegistryDisagreements count the second witness
	// (rdap.go).
	RDAPLookups           *prometheus.CounterVec // result
	RegistryDisagreements *prometheus.CounterVec // provider
}

// New returns the collectors, registered with the Go runtime and process
// collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		TasksProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_tasks_processed_total",
			Help: "Tasks handled, by type, provider and outcome (success, retry_later, permanent, error).",
		}, []string{"type", "provider", "outcome"}),
		TasksSuperseded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_tasks_superseded_total",
			Help: "Tasks dropped because a newer intent for their domain had been recorded.",
		}, []string{"type"}),
		RegistrarCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_registrar_calls_total",
			Help: "Calls to registrars, by provider, operation and result (ok, not_found, auth, not_permitted, not_lockable, retry_after, permanent, transient, canceled).",
		}, []string{"provider", "operation", "result"}),
		RegistrarLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reglock_registrar_call_duration_seconds",
			Help:    "Latency of registrar calls.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"provider", "operation"}),
		RateLimitWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reglock_rate_limit_wait_seconds",
			Help:    "Time spent waiting for a rate-limit slot before a registrar call.",
			Buckets: []float64{0, .01, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"provider"}),
		RateLimitDefer: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_rate_limit_deferred_total",
			Help: "Work handed back to the queue because no rate-limit slot was free soon enough.",
		}, []string{"provider"}),
		DriftFound: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_drift_found_total",
			Help: "Confirmed drift (a registrar lock differing from the desired one on two readings), by provider and source (sweep, check).",
		}, []string{"provider", "source"}),
		DriftFixedTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_drift_fixed_total",
			Help: "Registrar locks changed to undo drift.",
		}, []string{"provider"}),
		SweepChecked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_sweep_domains_checked_total",
			Help: "Domains read by sweeps.",
		}, []string{"provider"}),
		SweepErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_sweep_errors_total",
			Help: "Domains sweeps could not read.",
		}, []string{"provider"}),
		SweepCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_sweep_registrar_calls_total",
			Help: "Registrar requests sweeps' reads took (lookups, listing pages, logins, retries); divided by reglock_sweep_domains_checked_total it is what a domain costs.",
		}, []string{"provider"}),
		SweepsFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_sweeps_finished_total",
			Help: "Sweeps finished, by final state (done, paused).",
		}, []string{"state"}),
		APIRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_api_requests_total",
			Help: "HTTP API requests by route and status code.",
		}, []string{"route", "code"}),
		BreakerTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_breaker_transitions_total",
			Help: "Circuit breaker transitions seen by this process, by provider and new state (open, closed).",
		}, []string{"provider", "state"}),
		APILatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "reglock_api_request_duration_seconds",
			Help:    "HTTP API latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .02, .05, .1, .25, .5, 1},
		}, []string{"route"}),
	}
	m.Notifications, m.NotificationLastSuccess = newNotificationCollectors()
	m.RDAPLookups, m.RegistryDisagreements = newWitnessCollectors()
	m.Registry.MustRegister(
		m.Notifications, m.NotificationLastSuccess, m.RDAPLookups, m.RegistryDisagreements,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), newBuildInfoGauge(Build()),
		m.TasksProcessed, m.TasksSuperseded, m.RegistrarCalls, m.RegistrarLatency, m.RateLimitWait, m.RateLimitDefer,
		m.DriftFound, m.DriftFixedTotal, m.SweepChecked, m.SweepErrors, m.SweepCalls, m.SweepsFinished, m.APIRequests, m.APILatency,
	)
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}

// Result names an error for the registrar_calls result label.
func Result(err error) string {
	var ra *providers.RetryAfterError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	case errors.Is(err, providers.ErrNotFound):
		return "not_found"
	case errors.Is(err, providers.ErrAuth):
		return "auth"
	case errors.Is(err, providers.ErrNotPermitted):
		return "not_permitted"
	case errors.Is(err, providers.ErrNotLockable):
		return "not_lockable"
	case errors.As(err, &ra):
		return "retry_after"
	case providers.IsPermanent(err):
		return "permanent"
	default:
		return "transient"
	}
}

// TaskOutcome names a handler's result for the tasks_processed outcome label.
func TaskOutcome(err error) string {
	var ra *providers.RetryAfterError
	switch {
	case err == nil:
		return "success"
	case errors.As(err, &ra):
		return "retry_later"
	case errors.Is(err, asynq.SkipRetry):
		return "permanent"
	default:
		return "error"
	}
}

// ObserveCall records one registrar call.
func (m *Metrics) ObserveCall(provider, op string, start time.Time, err error) {
	if m == nil {
		return
	}
	m.RegistrarCalls.WithLabelValues(provider, op, Result(err)).Inc()
	m.RegistrarLatency.WithLabelValues(provider, op).Observe(time.Since(start).Seconds())
}

// DriftConfirmed counts a confirmed drift (reconcile.Counters).
func (m *Metrics) DriftConfirmed(provider, source string) {
	m.DriftFound.WithLabelValues(provider, source).Inc()
}

// DriftFixed counts a drift fixed (reconcile.Counters).
func (m *Metrics) DriftFixed(provider string) {
	m.DriftFixedTotal.WithLabelValues(provider).Inc()
}
