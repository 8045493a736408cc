package metrics

import (
	"context"
	"testing"

	"github.com/reglock/reglock/breaker"
)

func TestWatchBreakers_valuesByState(t *testing.T) {
	m := New()
	m.WatchBreakers(func(context.Context) (map[string]breaker.Status, error) {
		return map[string]breaker.Status{
			"enom":    {State: breaker.Open},
			"opensrs": {State: breaker.HalfOpen},
			"whmcs":   {State: breaker.ProbeDue},
			"ee":      {State: breaker.Closed},
		}, nil
	})
	// provider -> state label and value
	want := map[string]struct {
		state string
		value float64
	}{
		"enom":    {"open", 1},
		"opensrs": {"half_open", 1},
		"whmcs":   {"probe_due", 0},
		"ee":      {"closed", 0},
	}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, mf := range mfs {
		if mf.GetName() != "reglock_registrar_circuit_open" {
			continue
		}
		for _, metric := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range metric.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			w, ok := want[labels["provider"]]
			if !ok {
				t.Errorf("unexpected series %v", labels)
				continue
			}
			seen++
			if labels["state"] != w.state || metric.GetGauge().GetValue() != w.value {
				t.Errorf("%s: state %q value %v, want %q %v", labels["provider"], labels["state"], metric.GetGauge().GetValue(), w.state, w.value)
			}
		}
	}
	if seen != len(want) {
		t.Fatalf("saw %d series, want %d", seen, len(want))
	}
}
