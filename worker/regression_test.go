package worker_test

// Regression tests for the interleavings that ended in the wrong lock
// before reglock reconciled every task on the current intent under a lease
// (step 7, issue 11). Each runs the real handlers against the real store on
// the test Redis, with a registrar the test steers call by call and a clock
// it sets, so the interleaving is exactly the one named.

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/worker"
)

// outcome decides one registrar call: apply makes a write take effect.
type outcome func(apply func()) error

func fail(err error) outcome { return func(func()) error { return err } }

func applyThenFail(err error) outcome { return func(apply func()) error { apply(); return err } }

var errTimeout = errors.New("timeout awaiting response headers")

// steer is a registrar whose calls the test decides, one by one.
type steer struct {
	mu      sync.Mutex
	locked  map[string]bool
	trade   map[string]bool
	writes  atomic.Int64
	scripts map[string][]outcome
}

func newSteer() *steer {
	return &steer{locked: map[string]bool{}, trade: map[string]bool{}, scripts: map[string][]outcome{}}
}

// script queues outcomes for the next calls of op.
func (s *steer) script(op string, o ...outcome) {
	s.mu.Lock()
	s.scripts[op] = append(s.scripts[op], o...)
	s.mu.Unlock()
}

func (s *steer) call(op, domain string, write func()) error {
	s.mu.Lock()
	var o outcome
	if q := s.scripts[op]; len(q) > 0 {
		o, s.scripts[op] = q[0], q[1:]
	}
	_, known := s.locked[domain]
	s.mu.Unlock()
	if !known {
		return providers.ErrNotFound
	}
	apply := func() {
		if write != nil {
			s.mu.Lock()
			write()
			s.mu.Unlock()
			s.writes.Add(1)
		}
	}
	if o == nil {
		apply()
		return nil
	}
	return o(apply)
}

func (s *steer) LockState(_ context.Context, domain string) (providers.State, error) {
	if err := s.call("lock_state", domain, nil); err != nil {
		return providers.State{}, err
	}
	return providers.State{Locked: s.is(domain)}, nil
}

func (s *steer) SetLock(_ context.Context, domain string, locked bool) error {
	return s.call("set_lock", domain, func() { s.locked[domain] = locked })
}

func (s *steer) SetTradeLock(_ context.Context, domain string, enable bool, _ netip.Addr) error {
	return s.call("set_trade_lock", domain, func() { s.trade[domain] = enable })
}

func (s *steer) add(domain string, locked bool) {
	s.mu.Lock()
	s.locked[domain] = locked
	s.mu.Unlock()
}

func (s *steer) is(domain string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locked[domain]
}

func (s *steer) tradeOf(domain string) (bool, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.trade[domain]
	return v, ok
}

// rig is one regression test's world: the store and asynq's queues in a
// namespace of the test Redis, the steered registrar (an OpenSRS account
// "osrs" for .com and .net), the handlers, and the clock.
type rig struct {
	t       *testing.T
	env     redistest.Env
	store   *store.Store
	client  *asynq.Client
	insp    *asynq.Inspector
	queues  tasks.Namespace
	clock   *clock.Manual
	reg     *steer
	w       *worker.Worker
	intents *intent.Service
	blocks  []*blocked
}

func newRig(t *testing.T, storeClient ...*redis.Client) *rig {
	t.Helper()
	env := redistest.New(t)
	rc := env.Client
	if len(storeClient) > 0 {
		rc = storeClient[0]
	}
	r := &rig{t: t, env: env, client: asynq.NewClientFromRedisClient(env.Client),
		insp: asynq.NewInspectorFromRedisClient(env.Client), queues: tasks.Namespace(env.Namespace),
		clock: clock.NewManual(time.Now().UTC().Truncate(time.Millisecond)), reg: newSteer()}
	sys := system.New(system.Options{
		Config: &config.Config{Providers: []config.Provider{{Name: "osrs", Type: "opensrs", TLDs: []string{"com", "net"}}}},
		Redis:  rc, Enqueuer: r.client, Namespace: env.Namespace, Clock: r.clock,
		Accounts: map[string]reconcile.Account{"osrs": {Name: "osrs", Type: "opensrs", Registrar: r.reg}},
		Log:      zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	})
	r.store, r.intents, r.w = sys.Store, sys.Intents, sys.Worker()
	return r
}

// run runs a task through the handlers as attempt retried of its ID.
func (r *rig) run(t *asynq.Task, id string, retried int) error {
	ctx := worker.WithAttempt(context.Background(), reconcile.Attempt{TaskID: id, Retried: retried, MaxRetry: tasks.ChangeMaxRetry})
	return r.w.Mux().ProcessTask(ctx, t)
}

// queued returns the task queued under id.
func (r *rig) queued(queue, id string) *asynq.Task {
	r.t.Helper()
	info, err := r.insp.GetTaskInfo(r.queues.Queue(queue), id)
	if err != nil {
		r.t.Fatalf("task %s not queued in %s: %v", id, queue, err)
	}
	return asynq.NewTask(info.Type, info.Payload)
}

// runQueued runs the task queued under id as asynq would: a success
// removes it, a permanent error archives it, anything else leaves it to be
// retried.
func (r *rig) runQueued(queue, id string, retried int) error {
	r.t.Helper()
	err := r.run(r.queued(queue, id), id, retried)
	q := r.queues.Queue(queue)
	switch {
	case err == nil:
		if err := r.insp.DeleteTask(q, id); err != nil {
			r.t.Fatal(err)
		}
	case errors.Is(err, asynq.SkipRetry):
		if err := r.insp.ArchiveTask(q, id); err != nil {
			r.t.Fatal(err)
		}
	}
	return err
}

// settle runs the task queued under id until it succeeds, moving the clock
// past every "retry after" (a lease held, a busy registrar).
func (r *rig) settle(queue, id string, retried int) {
	r.t.Helper()
	for n := retried; ; n++ {
		err := r.runQueued(queue, id, n)
		if err == nil {
			return
		}
		if n > retried+10 {
			r.t.Fatalf("%s does not converge: %v", id, err)
		}
		var ra *providers.RetryAfterError
		if errors.As(err, &ra) {
			r.clock.Add(ra.After + time.Millisecond)
		} else {
			r.clock.Add(5 * time.Second)
		}
	}
}

func (r *rig) domain(name string) store.Domain {
	r.t.Helper()
	d, err := r.store.Get(context.Background(), name)
	if err != nil {
		r.t.Fatalf("Get(%s): %v", name, err)
	}
	return d
}

// converged checks that the registrar, the record and the work owed agree
// on locked.
func (r *rig) converged(name string, locked bool) {
	r.t.Helper()
	d := r.domain(name)
	if got := r.reg.is(name); got != locked || d.Desired.Locked != locked || !d.InSync() || d.Work.Pending {
		r.t.Fatalf("%s: registrar locked=%v, want %v; record %+v", name, got, locked, d)
	}
}

func (r *rig) janitor() reconcile.JanitorReport {
	r.t.Helper()
	j := &reconcile.Janitor{Store: r.store, Queue: tasks.Queue{Client: r.client, Namespace: r.queues}, Inspector: r.insp, Clock: r.clock, Log: r.w.Log}
	rep, err := j.Run(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	return rep
}

// blocked is a registrar call held in flight until the test releases it,
// with the outcome it then has.
type blocked struct {
	reached chan struct{}
	release chan outcome
}

func (r *rig) hold(op string) *blocked {
	b := &blocked{reached: make(chan struct{}), release: make(chan outcome, 1)}
	r.reg.script(op, func(apply func()) error {
		close(b.reached)
		o := <-b.release
		return o(apply)
	})
	r.blocks = append(r.blocks, b)
	r.t.Cleanup(b.free)
	return b
}

// free lets a call still held in flight end, with a timeout.
func (b *blocked) free() {
	select {
	case b.release <- fail(errTimeout):
	default:
	}
}

// background runs a task in a goroutine (a worker that is mid-call) and
// returns where its error arrives.
func (r *rig) background(queue, id string, retried int) chan error {
	task := r.queued(queue, id)
	done := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- r.run(task, id, retried)
	}()
	// A worker the test abandoned mid-call (a process that "died") still
	// ends before the test does, so that it logs nothing afterwards.
	r.t.Cleanup(func() {
		for _, b := range r.blocks {
			b.free()
		}
		<-finished
	})
	return done
}

// 1. A relock whose first attempt fails is retried, not dropped as
// superseded by the generation it moved to itself.
func TestConvergence_1_relockWhoseFirstAttemptFails(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault outcome
	}{
		{"503", fail(&providers.StatusError{Code: 503})},
		{"timeout after the registrar applied it", applyThenFail(errTimeout)},
		{"rate-limit deferral", fail(providers.RetryAfter(2*time.Second, errors.New("local rate limit: no free slot soon enough")))},
		{"open breaker", fail(providers.RetryAfter(30*time.Second, breaker.ErrOpen))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			r.reg.add("window.com", true)
			d := r.relockDue("window.com")
			r.reg.script("set_lock", tc.fault)
			id := tasks.RelockID("window.com", d.Desired.RelockAt)
			err := r.runQueued(tasks.QueueFixes, id, 0)
			if err == nil || errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("first attempt: %v, want an error that is retried", err)
			}
			r.settle(tasks.QueueFixes, id, 1)
			r.converged("window.com", true)
		})
	}
	t.Run("worker killed mid-call", func(t *testing.T) {
		r := newRig(t)
		r.reg.add("window.com", true)
		d := r.relockDue("window.com")
		id := tasks.RelockID("window.com", d.Desired.RelockAt)
		call := r.hold("set_lock")
		r.background(tasks.QueueFixes, id, 0) // never returns: the process is gone
		<-call.reached
		// asynq hands the task back a minute or so later; it waits for the
		// dead worker's lease (its write may still land), then converges.
		r.clock.Add(time.Minute)
		r.settle(tasks.QueueFixes, id, 1)
		r.converged("window.com", true)
	})
}

// relockDue unlocks name for an hour through the API, carries the unlock
// out, and moves the clock past the window's end.
func (r *rig) relockDue(name string) store.Domain {
	r.t.Helper()
	acc, err := r.intents.Unlock(context.Background(), intent.Request{Domain: name, RelockAfter: time.Hour})
	if err != nil {
		r.t.Fatal(err)
	}
	r.settle(tasks.QueueChanges, acc.TaskID, 0)
	r.converged(name, false)
	r.clock.Add(time.Hour + time.Second)
	return r.domain(name)
}

// 2. A stale write that then errors is undone: unlock@2's write is in
// flight when lock@3 is recorded; the unlock lands, then its call fails.
// lock/unlock/lock ends locked, and the record never says in sync while it
// is not.
func TestConvergence_2_staleWriteThatErrorsIsUndone(t *testing.T) {
	for _, tc := range []struct {
		name string
		// then ends unlock@2's write (and what follows it).
		then func(r *rig, call *blocked)
		// late: the write lands only after its call failed.
		late bool
	}{
		{"timeout after the registrar applied it", func(r *rig, call *blocked) { call.release <- applyThenFail(errTimeout) }, false},
		{"timeout, the write landing after it", func(r *rig, call *blocked) { call.release <- fail(errTimeout) }, true},
		{"failed read-back", func(r *rig, call *blocked) {
			r.reg.script("lock_state", fail(&providers.StatusError{Code: 502}))
			call.release <- func(apply func()) error { apply(); return nil }
		}, false},
		{"worker restart", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			r.reg.add("flip.com", true)
			acc, _ := r.intents.Lock(ctx, intent.Request{Domain: "flip.com"})
			r.settle(tasks.QueueChanges, acc.TaskID, 0)
			unlock, _ := r.intents.Unlock(ctx, intent.Request{Domain: "flip.com"})
			call := r.hold("set_lock")
			done := r.background(tasks.QueueChanges, unlock.TaskID, 0)
			<-call.reached
			lock, err := r.intents.Lock(ctx, intent.Request{Domain: "flip.com"})
			if err != nil || lock.Domain.Desired.Generation != 3 {
				t.Fatalf("lock@3: %v %+v", err, lock)
			}
			// lock@3 may not read while unlock@2's write is in flight.
			var ra *providers.RetryAfterError
			if err := r.runQueued(tasks.QueueChanges, lock.TaskID, 0); !errors.As(err, &ra) {
				t.Fatalf("lock@3 during unlock@2's write: %v, want retry after", err)
			}
			if tc.then == nil {
				// The worker is gone mid-call; its write lands.
				r.reg.add("flip.com", false)
				r.clock.Add(3 * time.Minute)
			} else {
				tc.then(r, call)
				err := <-done
				if err == nil || errors.Is(err, asynq.SkipRetry) {
					t.Fatalf("unlock@2: %v, want a retried error", err)
				}
				if tc.late {
					// Nobody may believe a reading while the write may land.
					if err := r.runQueued(tasks.QueueChanges, lock.TaskID, 1); !errors.As(err, &ra) {
						t.Fatalf("lock@3 right after unlock@2's call failed: %v, want retry after", err)
					}
					r.clock.Add(10 * time.Second)
					r.reg.add("flip.com", false) // the unlock lands
				}
				if l := r.reg.is("flip.com"); l {
					t.Fatal("the unlock did not land")
				}
				if d := r.domain("flip.com"); d.InSync() {
					t.Fatalf("the record says in sync while the registrar is unlocked and lock is desired: %+v", d)
				}
				// Its retry finds a newer intent and is dropped.
				if err := r.runQueued(tasks.QueueChanges, unlock.TaskID, 1); err != nil {
					t.Fatalf("unlock@2's retry: %v, want dropped as superseded", err)
				}
			}
			r.settle(tasks.QueueChanges, lock.TaskID, 1)
			r.converged("flip.com", true)
		})
	}
}

// 3. A trade lock request does not swallow a queued lock: lock@2 is queued,
// trade@3 is recorded, and the trade lock setting fails (for good, or for
// hours): the lock is carried out all the same.
func TestConvergence_3_tradeRequestDoesNotSwallowAQueuedLock(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fault     outcome
		permanent bool
	}{
		{"permanent", fail(providers.ErrNotPermitted), true},
		{"hours of retries", fail(&providers.StatusError{Code: 503}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			ctx := context.Background()
			r.reg.add("traded.net", false)
			first, _ := r.intents.Unlock(ctx, intent.Request{Domain: "traded.net"})
			r.settle(tasks.QueueChanges, first.TaskID, 0)
			lock, _ := r.intents.Lock(ctx, intent.Request{Domain: "traded.net"})
			trade, err := r.intents.TradeLock(ctx, intent.Request{Domain: "traded.net", TradeEnable: false, ConsentIP: netip.MustParseAddr("203.0.113.7")})
			if err != nil {
				t.Fatal(err)
			}
			if err := r.runQueued(tasks.QueueChanges, lock.TaskID, 0); err != nil {
				t.Fatalf("lock@2, superseded by the trade request: %v", err)
			}
			for i := range 5 {
				r.reg.script("set_trade_lock", tc.fault)
				err := r.runQueued(tasks.QueueChanges, trade.TaskID, i)
				if tc.permanent != errors.Is(err, asynq.SkipRetry) {
					t.Fatalf("trade@3 attempt %d: %v", i, err)
				}
				if !r.reg.is("traded.net") {
					t.Fatalf("attempt %d: the lock was not carried out while the trade lock setting failed", i)
				}
				if tc.permanent {
					break
				}
				r.clock.Add(reconcile.DefaultInDoubtHold + time.Minute)
			}
			d := r.domain("traded.net")
			if !d.Desired.Locked || d.Desired.TradeApplied || !strings.Contains(d.Observed.Error, "traded.net") || !d.Work.Pending {
				t.Fatalf("record: %+v", d)
			}
			if tc.permanent && (d.Work.Mark.Fails != 1 || d.Work.Mark.Due.Before(r.clock.Now().Add(59*time.Minute))) {
				t.Fatalf("a permanent failure must be looked at again in an hour: %+v", d.Work.Mark)
			}
		})
	}
}

// 4. A trade lock request during an unlock window keeps the window: the
// domain is relocked when it ends.
func TestConvergence_4_tradeRequestDuringAWindowKeepsTheRelock(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.reg.add("window.net", true)
	unlock, _ := r.intents.Unlock(ctx, intent.Request{Domain: "window.net", RelockAfter: time.Hour})
	r.settle(tasks.QueueChanges, unlock.TaskID, 0)
	trade, err := r.intents.TradeLock(ctx, intent.Request{Domain: "window.net", TradeEnable: true, ConsentIP: netip.MustParseAddr("203.0.113.7")})
	if err != nil {
		t.Fatal(err)
	}
	r.settle(tasks.QueueChanges, trade.TaskID, 0)
	r.converged("window.net", false)
	relockAt := r.domain("window.net").Desired.RelockAt
	if relockAt.IsZero() {
		t.Fatal("the trade request ended the window")
	}
	r.clock.Add(time.Hour + time.Second)
	r.settle(tasks.QueueFixes, tasks.RelockID("window.net", relockAt), 0)
	r.converged("window.net", true)
	if on, ok := r.reg.tradeOf("window.net"); !ok || !on {
		t.Fatal("the trade lock setting was lost")
	}
}

// 5. A stale trade setting that lands last is sent again: the opt-out is
// sent slowly, the opt-in is asked for, the opt-out's call fails and the
// opt-out lands after it; the registrar ends with the opt-in, and the
// record says so only once it is true.
func TestConvergence_5_staleTradeSettingLandingLastIsSentAgain(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.reg.add("slow.net", true)
	ip := netip.MustParseAddr("203.0.113.7")
	out, _ := r.intents.TradeLock(ctx, intent.Request{Domain: "slow.net", TradeEnable: false, ConsentIP: ip})
	call := r.hold("set_trade_lock")
	done := r.background(tasks.QueueChanges, out.TaskID, 0)
	<-call.reached
	in, err := r.intents.TradeLock(ctx, intent.Request{Domain: "slow.net", TradeEnable: true, ConsentIP: ip})
	if err != nil {
		t.Fatal(err)
	}
	var ra *providers.RetryAfterError
	if err := r.runQueued(tasks.QueueChanges, in.TaskID, 0); !errors.As(err, &ra) {
		t.Fatalf("opt-in while the opt-out is in flight: %v, want retry after", err)
	}
	call.release <- fail(errTimeout)
	if err := <-done; err == nil {
		t.Fatal("the opt-out's failed call reported success")
	}
	if err := r.runQueued(tasks.QueueChanges, in.TaskID, 1); !errors.As(err, &ra) {
		t.Fatalf("opt-in right after the opt-out's call failed: %v, want retry after", err)
	}
	r.clock.Add(10 * time.Second)
	r.reg.mu.Lock()
	r.reg.trade["slow.net"] = false // the opt-out lands after its call failed
	r.reg.mu.Unlock()
	if on, _ := r.reg.tradeOf("slow.net"); on {
		t.Fatal("the opt-out did not land")
	}
	if d := r.domain("slow.net"); d.Desired.TradeApplied {
		t.Fatalf("the record says a setting is applied while the registrar has the older one: %+v", d.Desired)
	}
	if err := r.runQueued(tasks.QueueChanges, out.TaskID, 1); err != nil {
		t.Fatalf("the opt-out's retry: %v, want dropped as superseded", err)
	}
	r.settle(tasks.QueueChanges, in.TaskID, 2)
	d := r.domain("slow.net")
	if on, _ := r.reg.tradeOf("slow.net"); !on || d.Desired.TradeLock == nil || !*d.Desired.TradeLock || !d.Desired.TradeApplied || d.Work.Pending {
		t.Fatalf("registrar opt-in %v, record %+v", on, d)
	}
}

// failingScripts fails the store's next n EVALSHA commands (a pipeline
// holding one fails whole, as a failover makes it).
type failingScripts struct{ n atomic.Int64 }

func (f *failingScripts) DialHook(next redis.DialHook) redis.DialHook { return next }

func (f *failingScripts) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.EqualFold(cmd.Name(), "evalsha") && f.n.Add(-1) >= 0 {
			err := errors.New("READONLY You can't write against a read only replica.")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func (f *failingScripts) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		for _, c := range cmds {
			if strings.EqualFold(c.Name(), "evalsha") && f.n.Add(-1) >= 0 {
				err := errors.New("READONLY You can't write against a read only replica.")
				for _, c := range cmds {
					c.SetErr(err)
				}
				return err
			}
		}
		return next(ctx, cmds)
	}
}

// 6. A Redis error while a trade task folds is retried, not archived as a
// bad payload; and a trade task archived for whatever reason is queued
// again by the janitor, never counted as delivered.
func TestConvergence_6_redisErrorWhileATradeTaskFolds(t *testing.T) {
	faults := &failingScripts{}
	c := redis.NewClient(&redis.Options{Addr: redistest.Addr()})
	c.AddHook(faults)
	t.Cleanup(func() { c.Close() })
	r := newRig(t, c)
	r.reg.add("fold.net", true)
	task, err := tasks.NewTradeLockTask(tasks.TradeLockPayload{Intent: tasks.Intent{Domain: "fold.net", Provider: "osrs",
		RequestedAt: r.clock.Now()}, Enable: false, ConsentIP: netip.MustParseAddr("198.51.100.4")})
	if err != nil {
		t.Fatal(err)
	}
	faults.n.Store(1)
	err = r.run(task, "direct-trade", 0)
	if err == nil || errors.Is(err, asynq.SkipRetry) || strings.Contains(err.Error(), "payload") {
		t.Fatalf("Redis failing under the fold: %v, want a transient error", err)
	}
	if err := r.run(task, "direct-trade", 1); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if on, ok := r.reg.tradeOf("fold.net"); !ok || on {
		t.Fatalf("trade lock setting at the registrar: %v %v", on, ok)
	}

	// A trade task that asynq archived (whatever the reason) leaves its
	// mark: the janitor replaces the archived task and the setting is
	// delivered.
	trade, err := r.intents.TradeLock(context.Background(), intent.Request{Domain: "fold.net", TradeEnable: true, ConsentIP: netip.MustParseAddr("198.51.100.4")})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.insp.ArchiveTask(r.queues.Queue(tasks.QueueChanges), trade.TaskID); err != nil {
		t.Fatal(err)
	}
	r.clock.Add(intent.UnqueuedAge + 2*time.Minute)
	if rep := r.janitor(); rep.Requeued != 1 {
		t.Fatalf("janitor: %+v, want the archived trade task replaced", rep)
	}
	r.settle(tasks.QueueChanges, trade.TaskID, 0)
	if on, _ := r.reg.tradeOf("fold.net"); !on || !r.domain("fold.net").Desired.TradeApplied {
		t.Fatal("the trade lock setting of the archived task was never delivered")
	}
}

// 7. The relock needs no second step in the API: when the unlock's task
// is never queued (the producer got a 503, or the API died), the janitor
// queues it and the worker queues the relock; when the worker cannot queue
// the relock, the janitor does once the window has ended.
func TestConvergence_7_relockWithoutASecondStepInTheAPI(t *testing.T) {
	dead := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	t.Run("unlock never queued", func(t *testing.T) {
		r := newRig(t)
		r.reg.add("api-died.com", true)
		broken := *r.intents
		broken.Queue.Client = dead
		_, err := broken.Unlock(context.Background(), intent.Request{Domain: "api-died.com", RelockAfter: time.Hour})
		var nq *intent.NotQueuedError
		if !errors.As(err, &nq) {
			t.Fatalf("unlock with the queue down: %v", err)
		}
		r.clock.Add(intent.UnqueuedAge + 2*time.Minute)
		if rep := r.janitor(); rep.Queued != 1 {
			t.Fatalf("janitor: %+v", rep)
		}
		r.settle(tasks.QueueChanges, tasks.ChangeID("unlock", "api-died.com", 1), 0)
		r.converged("api-died.com", false)
		d := r.domain("api-died.com")
		r.clock.Add(time.Hour)
		r.settle(tasks.QueueFixes, tasks.RelockID("api-died.com", d.Desired.RelockAt), 0)
		r.converged("api-died.com", true)
	})
	t.Run("relock never queued", func(t *testing.T) {
		r := newRig(t)
		r.reg.add("lost-relock.com", true)
		r.w.Queue.Client = dead // the worker carries out the unlock but cannot queue its relock
		acc, err := r.intents.Unlock(context.Background(), intent.Request{Domain: "lost-relock.com", RelockAfter: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		r.settle(tasks.QueueChanges, acc.TaskID, 0)
		d := r.domain("lost-relock.com")
		id := tasks.RelockID("lost-relock.com", d.Desired.RelockAt)
		if _, err := r.insp.GetTaskInfo(r.queues.Queue(tasks.QueueFixes), id); err == nil {
			t.Fatal("the relock was queued through a dead connection")
		}
		r.clock.Add(time.Hour)
		if rep := r.janitor(); rep.Relocks != 0 {
			t.Fatalf("janitor at the window's end: %+v, want nothing yet", rep)
		}
		r.clock.Add(2 * time.Minute)
		if rep := r.janitor(); rep.Relocks != 1 {
			t.Fatalf("janitor after the window: %+v, want the relock queued", rep)
		}
		r.settle(tasks.QueueFixes, id, 0)
		r.converged("lost-relock.com", true)
	})
}

// 8. A producer-supplied generation out of range is refused, with the field
// named, and never stored; a large one in range is stored exactly.
func TestConvergence_8_generationOutOfRangeIsRefused(t *testing.T) {
	r := newRig(t)
	r.reg.add("gen.com", true)
	_, err := tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{Domain: "gen.com", Provider: "osrs", Generation: 10_000_000_000_000_000}})
	var fe *tasks.FieldError
	if !errors.As(err, &fe) || fe.Field != "generation" {
		t.Fatalf("NewLockTask with generation 1e16: %v, want a FieldError on generation", err)
	}
	raw := asynq.NewTask(tasks.TypeLock, []byte(`{"domain":"gen.com","provider":"osrs","generation":10000000000000000,"requested_at":"2026-12-01T00:00:00Z"}`))
	if err := r.run(raw, "raw", 0); !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "generation") {
		t.Fatalf("a raw task with generation 1e16: %v, want archived naming the generation", err)
	}
	if _, err := r.store.Get(context.Background(), "gen.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused task left a record: %v", err)
	}
	big, err := tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{Domain: "gen.com", Provider: "osrs", Generation: 1_000_000_000_000_000}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.run(big, "big", 0); err != nil {
		t.Fatal(err)
	}
	acc, err := r.intents.Unlock(context.Background(), intent.Request{Domain: "gen.com"})
	if err != nil || acc.Domain.Desired.Generation != 1_000_000_000_000_001 {
		t.Fatalf("a request after generation 1e15: %v %+v", err, acc)
	}
	r.settle(tasks.QueueChanges, acc.TaskID, 0)
	r.converged("gen.com", false)
}

// 11. A domain whose task was archived (here: not yet in the account) is
// not left alone until the next sweep: the error is on its record and its
// task names it, and the janitor queues it again after an hour.
func TestConvergence_11_archivedDomainIsLookedAtAgain(t *testing.T) {
	r := newRig(t)
	acc, err := r.intents.Lock(context.Background(), intent.Request{Domain: "registering.com"})
	if err != nil {
		t.Fatal(err)
	}
	err = r.runQueued(tasks.QueueChanges, acc.TaskID, 0)
	if !errors.Is(err, asynq.SkipRetry) || !strings.Contains(err.Error(), "registering.com") {
		t.Fatalf("lock of a domain the account does not hold: %v, want archived, naming the domain", err)
	}
	d := r.domain("registering.com")
	if !strings.Contains(d.Observed.Error, "not found") || d.InSync() || d.Work.Mark.Fails != 1 {
		t.Fatalf("record after the permanent error: %+v", d)
	}
	r.clock.Add(30 * time.Minute)
	if rep := r.janitor(); rep.Requeued != 0 {
		t.Fatalf("janitor within the hour: %+v", rep)
	}
	r.reg.add("registering.com", false) // the registration completes
	r.clock.Add(32 * time.Minute)
	if rep := r.janitor(); rep.Requeued != 1 || rep.Failing != 1 {
		t.Fatalf("janitor after an hour: %+v, want the archived task queued again", rep)
	}
	r.settle(tasks.QueueChanges, acc.TaskID, 0)
	r.converged("registering.com", true)
}

// 10. A domain in the middle of its own change is not drift: a sweep that
// reads it while its user's unlock waits for its turn neither counts it nor
// pauses the account over it, and the unlock is carried out.
func TestConvergence_10_aChangeInFlightIsNotDrift(t *testing.T) {
	b := setup(t)
	names := b.inventory(20)
	ctx := context.Background()
	// The unlock is recorded; its task is not run yet (here it never got
	// queued: the same as waiting for a rate-limit slot behind a backlog).
	dead := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 50 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	slow := *b.intents
	slow.Queue.Client = dead
	if _, err := slow.Unlock(ctx, intent.Request{Domain: names[7], RequestedBy: "customer"}); err == nil {
		t.Fatal("the unlock was queued through a dead connection")
	}
	st := b.sweep(sweep.Options{})
	if st.State != sweep.StateDone || st.Drifted != 0 || st.Unlocks != 0 || len(st.Paused) != 0 || st.FixesQueued != 0 {
		t.Fatalf("sweep over a change in flight: %+v", st)
	}
	if st.Checked != 20 {
		t.Fatalf("sweep checked %d domains, want 20", st.Checked)
	}
	// The change is carried out all the same (here by the janitor).
	if rep := b.runJanitor(later()); rep.Queued != 1 {
		t.Fatalf("janitor: %+v", rep)
	}
	b.converged(names[7], false)
}
