// Package clock is the time source of everything in reglock whose behaviour
// depends on time: unlock windows, leases, confirmations, backoff, rate-limit
// slots. Production code uses Real; tests and the deterministic simulation
// pass a clock they control, so that no test has to sleep to see a window
// end or a lease expire.
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time and waits.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Sleep waits for d, or until ctx ends (then it returns ctx.Err()). A
	// d of zero or less returns ctx.Err() at once.
	Sleep(ctx context.Context, d time.Duration) error
}

// Real is the wall clock.
var Real Clock = real{}

type real struct{}

func (real) Now() time.Time { return time.Now() }

func (real) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Or returns c, or Real when c is nil: for structs whose zero value should
// run on the wall clock.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

// Manual is a clock that moves only when told to, for tests: Sleep moves it
// on by d at once. It is safe for concurrent use.
type Manual struct {
	mu  sync.Mutex
	now time.Time
}

// NewManual returns a manual clock that says t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Sleep moves the clock on by d, unless ctx has ended.
func (m *Manual) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.Add(d)
	return nil
}

// Add moves the clock on by d (back, if d is negative).
func (m *Manual) Add(d time.Duration) {
	m.mu.Lock()
	m.now = m.now.Add(d)
	m.mu.Unlock()
}
