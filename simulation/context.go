package simulation

import (
	"context"
	"sync"
	"time"
)

// WithDeadline returns a copy of parent that ends at virtual time d, like
// context.WithDeadline on the virtual clock. A cancellation of parent
// reaches it at the next scheduling step rather than at once, so that the
// moment is the scheduler's to decide.
func (s *Sim) WithDeadline(parent context.Context, d time.Time) (context.Context, context.CancelFunc) {
	c := &deadlineCtx{parent: parent, sim: s, deadline: d, done: make(chan struct{})}
	if pd, ok := parent.Deadline(); ok && pd.Before(d) {
		c.deadline = pd
	}
	switch {
	case isDone(parent):
		c.cancel(parent.Err())
	case !d.After(s.now):
		c.cancel(context.DeadlineExceeded)
	default:
		c.stopTimer = s.after(d, "deadline", func() { c.cancel(context.DeadlineExceeded) })
		if parent.Done() != nil {
			s.watched = append(s.watched, c)
		}
	}
	return c, func() { c.cancel(context.Canceled) }
}

// WithTimeout is WithDeadline(parent, s.Now().Add(d)).
func (s *Sim) WithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return s.WithDeadline(parent, s.now.Add(d))
}

// deadlineCtx ends at a virtual time. It implements AfterFunc so that a
// context the standard library derives from it is cancelled together with
// it, in the same step, instead of by a goroutine of its own.
type deadlineCtx struct {
	parent    context.Context
	sim       *Sim
	deadline  time.Time
	done      chan struct{}
	stopTimer func()

	// mu guards err and funcs for goroutines the simulation does not run
	// (a context read from a go-redis or net/http goroutine).
	mu    sync.Mutex
	err   error
	funcs []*afterFunc
}

type afterFunc struct{ f func() }

func (c *deadlineCtx) Deadline() (time.Time, bool) { return c.deadline, true }
func (c *deadlineCtx) Done() <-chan struct{}       { return c.done }
func (c *deadlineCtx) Value(key any) any           { return c.parent.Value(key) }

func (c *deadlineCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// AfterFunc runs f when c ends (at once if it has), in the goroutine that
// ends it; stop reports whether it kept f from running.
func (c *deadlineCtx) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		f()
		return func() bool { return false }
	}
	af := &afterFunc{f: f}
	c.funcs = append(c.funcs, af)
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for i, x := range c.funcs {
			if x == af {
				c.funcs = append(c.funcs[:i], c.funcs[i+1:]...)
				return true
			}
		}
		return false
	}
}

func (c *deadlineCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	funcs := c.funcs
	c.funcs = nil
	close(c.done)
	c.mu.Unlock()
	if c.stopTimer != nil {
		c.stopTimer()
	}
	s := c.sim
	for i, x := range s.watched {
		if x == c {
			s.watched = append(s.watched[:i], s.watched[i+1:]...)
			break
		}
	}
	for _, af := range funcs {
		af.f()
	}
}

func (c *deadlineCtx) String() string {
	return "simulation.WithDeadline(" + c.deadline.Format(time.RFC3339Nano) + ")"
}
