package main

import (
	"context"
	"fmt"
	"time"
)

// rateBudget runs a sweep against a registrar answering in 100 ms with a
// configured rate of 20 calls/s and four worker processes sharing it.
func (b *bench) rateBudget(ctx context.Context) (*table, error) {
	n := 400
	if b.cfg.quick {
		n = 60
	}
	const rate = 20
	r, err := b.sweepOnce(ctx, sweepSetup{registrar: "enom", domains: n, lockedShare: 1, latency: 100 * time.Millisecond, rate: rate, workers: 4})
	if err != nil {
		return nil, err
	}
	used := float64(r.calls-1) / (rate * r.firstToLast.Seconds())
	t := &table{
		title: fmt.Sprintf("4. Rate budget: %d domains, registrar latency 100 ms, rate %d/s burst 1, four worker processes", n, rate),
		head:  []string{"calls", "first to last call", "budget used", "busiest 1-second window", "vs rate"},
	}
	t.add(fmt.Sprint(r.calls), r.firstToLast.Round(10*time.Millisecond).String(), fmt.Sprintf("%.1f%%", 100*used),
		fmt.Sprint(r.busiest), fmt.Sprintf("%.2fx", float64(r.busiest)/rate))
	t.notes = append(t.notes, "Budget used is (calls - 1) / (rate × time from the first call to the last) as the simulator saw them; the busiest window is the most calls the simulator saw in any sliding second.")
	return t, nil
}
