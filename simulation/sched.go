package simulation

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/reglock/reglock/clock"
)

// Sim is one deterministic run: a scheduler, a virtual clock and a seeded
// random generator. Its methods are meant to be called from its actors or,
// between runs, from the test goroutine; never from two goroutines at once.
type Sim struct {
	rng  *rand.Rand
	now  time.Time
	seed uint64

	// actors holds the actors that have not finished, in creation order:
	// that order, not a map's or the Go runtime's, decides every tie.
	actors  []*Actor
	nextID  int
	running *Actor
	// parked is how the running actor hands control back to the scheduler.
	parked chan struct{}

	timers   []*timer
	timerSeq uint64
	// watched holds the deadline contexts whose parents can end: the
	// scheduler polls them at each step instead of letting a goroutine
	// propagate the cancellation at a moment of the Go runtime's choosing.
	watched []*deadlineCtx

	trace    uint64
	failure  error
	inRun    bool
	closed   bool
	runnable []*Actor // scratch space of Run
}

// New returns a simulation whose every decision follows from seed, with its
// virtual clock at start.
func New(seed uint64, start time.Time) *Sim {
	return &Sim{
		// The second PCG word only has to differ from the first; any
		// constant does.
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		now:    start.Round(0), // no monotonic reading: virtual time only
		seed:   seed,
		parked: make(chan struct{}),
		trace:  fnvOffset,
	}
}

// Seed returns the seed the simulation was made with, for failure messages.
func (s *Sim) Seed() uint64 { return s.seed }

// Rand returns the simulation's random generator. Every random choice of a
// run, the scheduler's included, comes from it, so code under test that
// draws from it stays reproducible.
func (s *Sim) Rand() *rand.Rand { return s.rng }

// Now returns the virtual time.
func (s *Sim) Now() time.Time { return s.now }

// Clock returns the virtual clock, for code under test that takes a
// clock.Clock.
func (s *Sim) Clock() clock.Clock { return simClock{s} }

// Trace returns a hash of every scheduling decision so far (which actor ran,
// at what virtual time): two runs with equal traces made the same choices.
func (s *Sim) Trace() uint64 { return s.trace }

type simClock struct{ s *Sim }

func (c simClock) Now() time.Time { return c.s.now }

// Sleep parks the calling actor until the virtual clock has moved on by d,
// or until ctx ends (then it returns ctx.Err()). A d of zero or less is a
// plain scheduling point. Outside actors Sleep returns at once, with
// ctx.Err() and with time unchanged: setup and assertion code that shares
// functions with actors must not block the test, and nothing moves the
// clock while no actor runs.
func (c simClock) Sleep(ctx context.Context, d time.Duration) error {
	s := c.s
	a := s.caller(ctx)
	if a == nil {
		return ctx.Err()
	}
	return s.sleep(a, ctx, d)
}

// Actor is a goroutine the scheduler runs one step at a time.
type Actor struct {
	sim    *Sim
	id     int
	name   string
	ctx    context.Context
	resume chan struct{}

	state actorState
	// While waiting: wakeAt (if not zero) and the end of waitCtx (if not
	// nil) make the actor runnable again; so does Sim.wake.
	wakeAt  time.Time
	waitCtx context.Context
	killed  bool
}

type actorState int

const (
	runnable actorState = iota
	waiting
	finished
)

// Name returns the name the actor was started with.
func (a *Actor) Name() string { return a.name }

// Done reports whether the actor has finished: returned, died after Kill or
// panicked.
func (a *Actor) Done() bool { return a.state == finished }

type actorKey struct{}

// killed is the panic value that unwinds a killed actor. It is unexported
// so that only the actor wrapper recovers it, and never an error, so that
// code which recovers panics into errors (asynq's handler wrapper does)
// is unlikely to be written for it.
type killed struct{}

// Go starts an actor that runs fn. The actor first runs when the scheduler
// picks it; ctx identifies it to Yield, Clock().Sleep and the simulated
// services. Go may be called from inside an actor.
func (s *Sim) Go(name string, fn func(ctx context.Context)) *Actor {
	s.nextID++
	a := &Actor{sim: s, id: s.nextID, name: name, resume: make(chan struct{})}
	a.ctx = context.WithValue(context.Background(), actorKey{}, a)
	s.actors = append(s.actors, a)
	go a.main(fn)
	return a
}

func (a *Actor) main(fn func(context.Context)) {
	s := a.sim
	<-a.resume
	returned := false
	defer func() {
		p := recover()
		switch _, isKill := p.(killed); {
		case p == nil && returned:
		case p == nil:
			s.fail(fmt.Errorf("simulation: seed %d: actor %q called runtime.Goexit (t.Fatal or t.FailNow inside an actor? use t.Error)", s.seed, a.name))
		case isKill && a.killed:
		default:
			s.fail(fmt.Errorf("simulation: seed %d: actor %q panicked at %s: %v\n%s", s.seed, a.name, s.now.Format(time.RFC3339Nano), p, debug.Stack()))
		}
		a.state = finished
		s.parked <- struct{}{}
	}()
	if !a.killed {
		fn(a.ctx)
	}
	returned = true
}

// Yield is a scheduling point for the actor of ctx: another actor may run
// before it continues. Outside actors it does nothing.
func (s *Sim) Yield(ctx context.Context) {
	if a := s.caller(ctx); a != nil {
		s.park(a, runnable, time.Time{}, nil)
	}
}

// Kill makes a die at its next scheduling point, as if its process had
// crashed there: its goroutine unwinds, running deferred functions, and
// any scheduling point one of them reaches unwinds it again. An actor that
// is parked dies before the scheduler's next choice; an actor killing
// itself dies at its next scheduling point. Killing a finished actor does
// nothing.
func (s *Sim) Kill(a *Actor) {
	if a.state == finished {
		return
	}
	a.killed = true
}

// Close kills every actor left and lets each unwind, so that a test running
// thousands of seeds leaves no goroutines behind. The simulation cannot run
// again.
func (s *Sim) Close() {
	if s.inRun {
		panic("simulation: Close called from inside Run")
	}
	s.closed = true
	for len(s.actors) > 0 {
		for _, a := range s.actors {
			a.killed = true
		}
		s.unwindKilled()
	}
}

// Run runs actors until done reports true (it is checked before each step
// and after timers fire, outside any actor) and returns nil. It returns an
// error, which names the seed, when virtual time passes limit, when an
// actor panics (its name, the panic value and its stack), or when no actor
// can ever run again while done is false. Run may be called again to go
// on, with another done.
func (s *Sim) Run(done func() bool, limit time.Time) error {
	switch {
	case s.inRun:
		return errors.New("simulation: Run called from inside Run")
	case s.closed:
		return errors.New("simulation: Run after Close")
	}
	s.inRun = true
	defer func() { s.inRun = false }()
	for {
		s.unwindKilled()
		if s.failure != nil {
			return s.failure
		}
		if done() {
			return nil
		}
		s.now = s.now.Add(time.Duration(1+s.rng.IntN(3)) * time.Millisecond)
		s.wakeDue()
		for !s.anyRunnable() {
			// A timer may have failed, or done what done waits for.
			if s.failure != nil {
				return s.failure
			}
			if done() {
				return nil
			}
			next, ok := s.nextWake()
			if !ok {
				return fmt.Errorf("simulation: seed %d: deadlock at %s: no actor can run and none is sleeping; %s",
					s.seed, s.now.Format(time.RFC3339Nano), s.describeActors())
			}
			if next.After(s.now) {
				s.now = next
			}
			if s.now.After(limit) {
				break
			}
			s.wakeDue()
		}
		if s.now.After(limit) {
			return fmt.Errorf("simulation: seed %d: virtual time passed the limit %s; %s",
				s.seed, limit.Format(time.RFC3339Nano), s.describeActors())
		}
		s.runnable = s.runnable[:0]
		for _, a := range s.actors {
			if a.state == runnable {
				s.runnable = append(s.runnable, a)
			}
		}
		a := s.runnable[s.rng.IntN(len(s.runnable))]
		s.mix(uint64(a.id), uint64(s.now.UnixNano()))
		s.step(a)
		s.reap()
	}
}

// step gives control to a until it parks or finishes.
func (s *Sim) step(a *Actor) {
	s.running = a
	a.state = runnable
	a.wakeAt, a.waitCtx = time.Time{}, nil
	a.resume <- struct{}{}
	<-s.parked
	s.running = nil
}

// park hands control back to the scheduler until the actor runs again, and
// unwinds the actor if it was killed meanwhile. Only a's own goroutine may
// call it, while a runs.
func (s *Sim) park(a *Actor, st actorState, wakeAt time.Time, ctx context.Context) {
	if a.killed {
		panic(killed{})
	}
	a.state, a.wakeAt, a.waitCtx = st, wakeAt, ctx
	s.parked <- struct{}{}
	<-a.resume
	if a.killed {
		panic(killed{})
	}
}

func (s *Sim) sleep(a *Actor, ctx context.Context, d time.Duration) error {
	if d <= 0 || ctx.Err() != nil {
		s.park(a, runnable, time.Time{}, nil)
		return ctx.Err()
	}
	until := s.now.Add(d)
	for s.now.Before(until) && ctx.Err() == nil {
		s.park(a, waiting, until, ctx)
	}
	return ctx.Err()
}

// waitFor parks a until cond holds or the virtual clock reaches until; the
// code that makes cond true calls wake(a).
func (s *Sim) waitFor(a *Actor, until time.Time, cond func() bool) {
	for !cond() && s.now.Before(until) {
		s.park(a, waiting, until, nil)
	}
}

// wake makes a waiting actor runnable.
func (s *Sim) wake(a *Actor) {
	if a.state == waiting {
		a.state = runnable
	}
}

// caller returns the actor a call with ctx is made by: the actor ctx
// belongs to, which must be the one running, or else whichever actor is
// running; nil outside actors.
func (s *Sim) caller(ctx context.Context) *Actor {
	if ctx != nil {
		if a, ok := ctx.Value(actorKey{}).(*Actor); ok && a.sim == s {
			if a != s.running {
				panic(fmt.Sprintf("simulation: a scheduling point of actor %q was reached while %s: "+
					"its context was kept past its life or handed to another goroutine", a.name, s.describeRunning()))
			}
			return a
		}
	}
	return s.running
}

func (s *Sim) describeRunning() string {
	if s.running == nil {
		return "no actor runs"
	}
	return fmt.Sprintf("actor %q runs", s.running.name)
}

// yieldRunning is the scheduling point of calls that take no context.
func (s *Sim) yieldRunning() {
	if a := s.running; a != nil {
		s.park(a, runnable, time.Time{}, nil)
	}
}

func (s *Sim) fail(err error) {
	if s.failure == nil {
		s.failure = err
	}
}

// unwindKilled lets every killed actor die now, in creation order, before
// the scheduler's next choice: a crash takes no virtual time.
func (s *Sim) unwindKilled() {
	for i := 0; i < len(s.actors); i++ { // deferred functions may start actors
		a := s.actors[i]
		if a.killed && a.state != finished && a != s.running {
			s.mix(uint64(a.id), 1<<63)
			s.step(a)
		}
	}
	s.reap()
}

func (s *Sim) reap() {
	live := s.actors[:0]
	for _, a := range s.actors {
		if a.state != finished {
			live = append(live, a)
		}
	}
	clear(s.actors[len(live):])
	s.actors = live
}

func (s *Sim) anyRunnable() bool {
	for _, a := range s.actors {
		if a.state == runnable {
			return true
		}
	}
	return false
}

// wakeDue fires the timers that are due, ends the deadline contexts whose
// parents ended, and makes runnable every waiting actor whose time has come
// or whose context ended.
func (s *Sim) wakeDue() {
	for len(s.timers) > 0 && !s.timers[0].at.After(s.now) {
		t := s.timers[0]
		s.timers = s.timers[1:]
		s.fire(t)
	}
	// Parents come before their children in watched, so one pass carries a
	// cancellation down a chain.
	if len(s.watched) > 0 {
		for _, c := range slices.Clone(s.watched) { // cancel removes c from watched
			if isDone(c.parent) {
				c.cancel(c.parent.Err())
			}
		}
	}
	for _, a := range s.actors {
		if a.state != waiting {
			continue
		}
		if !a.wakeAt.IsZero() && !a.wakeAt.After(s.now) || a.waitCtx != nil && isDone(a.waitCtx) {
			a.state = runnable
		}
	}
}

func (s *Sim) fire(t *timer) {
	defer func() {
		if p := recover(); p != nil {
			s.fail(fmt.Errorf("simulation: seed %d: timer %q panicked at %s: %v\n%s", s.seed, t.name, s.now.Format(time.RFC3339Nano), p, debug.Stack()))
		}
	}()
	t.fn()
}

// nextWake returns the earliest time at which a timer fires or a waiting
// actor wakes.
func (s *Sim) nextWake() (time.Time, bool) {
	var next time.Time
	ok := false
	if len(s.timers) > 0 {
		next, ok = s.timers[0].at, true
	}
	for _, a := range s.actors {
		if a.state == waiting && !a.wakeAt.IsZero() && (!ok || a.wakeAt.Before(next)) {
			next, ok = a.wakeAt, true
		}
	}
	return next, ok
}

func (s *Sim) describeActors() string {
	if len(s.actors) == 0 {
		return "no actors left"
	}
	parts := make([]string, 0, len(s.actors))
	for _, a := range s.actors {
		switch {
		case a.state == runnable:
			parts = append(parts, fmt.Sprintf("%q runnable", a.name))
		case !a.wakeAt.IsZero():
			parts = append(parts, fmt.Sprintf("%q sleeping until %s", a.name, a.wakeAt.Format(time.RFC3339Nano)))
		default:
			parts = append(parts, fmt.Sprintf("%q waiting", a.name))
		}
	}
	return "actors: " + strings.Join(parts, ", ")
}

func isDone(ctx context.Context) bool {
	done := ctx.Done()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// timer is a function the scheduler runs, outside any actor, once the
// virtual clock reaches at.
type timer struct {
	at   time.Time
	seq  uint64
	name string
	fn   func()
}

// after schedules fn at virtual time at; the returned function cancels it.
func (s *Sim) after(at time.Time, name string, fn func()) (stop func()) {
	s.timerSeq++
	t := &timer{at: at, seq: s.timerSeq, name: name, fn: fn}
	i := len(s.timers)
	for i > 0 && t.at.Before(s.timers[i-1].at) {
		i--
	}
	s.timers = append(s.timers, nil)
	copy(s.timers[i+1:], s.timers[i:])
	s.timers[i] = t
	return func() {
		for i, x := range s.timers {
			if x == t {
				s.timers = append(s.timers[:i], s.timers[i+1:]...)
				return
			}
		}
	}
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// mix folds one scheduling decision into the trace (FNV-1a over the words).
func (s *Sim) mix(words ...uint64) {
	var b [8]byte
	for _, w := range words {
		binary.LittleEndian.PutUint64(b[:], w)
		for _, c := range b {
			s.trace ^= uint64(c)
			s.trace *= fnvPrime
		}
	}
}
