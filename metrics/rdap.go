package metrics

import "github.com/prometheus/client_golang/prometheus"

// newWitnessCollectors returns the collectors of the second witness
// (package witness): registry (RDAP) lookups and disagreements.
func newWitnessCollectors() (*prometheus.CounterVec, *prometheus.CounterVec) {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_rdap_lookups_total",
			Help: "Registry (RDAP) lookups by result: ok, error (rate limited, unreachable, malformed), no_service (the TLD has no RDAP).",
		}, []string{"result"}),
		prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "reglock_registry_disagreements_total",
			Help: "Domains whose registry record (RDAP) disagreed with the registrar's reading, by provider; each is read again at the registrar.",
		}, []string{"provider"})
}

// RDAPLookup counts a registry lookup (witness.Counters).
func (m *Metrics) RDAPLookup(_ string, result string) { m.RDAPLookups.WithLabelValues(result).Inc() }

// RegistryDisagrees counts a disagreement (witness.Counters).
func (m *Metrics) RegistryDisagrees(provider string) {
	m.RegistryDisagreements.WithLabelValues(provider).Inc()
}
