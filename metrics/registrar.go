package metrics

import (
	"context"
	"time"

	"github.com/reglock/reglock/providers"
)

// Registrar wraps r so that every call is counted and timed under the
// provider's name; the result keeps r's optional abilities.
func (m *Metrics) Registrar(provider string, r providers.Registrar) providers.Registrar {
	if m == nil {
		return r
	}
	// The hot paths' series, resolved once.
	readOK := m.RegistrarCalls.WithLabelValues(provider, "lock_state", "ok")
	readTime := m.RegistrarLatency.WithLabelValues(provider, "lock_state")
	return providers.Wrap(r, func(ctx context.Context, op, _ string, call func(context.Context) error) error {
		start := time.Now()
		err := call(ctx)
		if op == "lock_state" && err == nil {
			readOK.Inc()
			readTime.Observe(time.Since(start).Seconds())
			return nil
		}
		m.ObserveCall(provider, op, start, err)
		return err
	})
}
