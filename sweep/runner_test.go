package sweep

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"iter"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

var (
	sweepSeeds = flag.Int("sweep.seeds", 1000, "seeds of TestRunner_property")
	sweepSeed  = flag.Int64("sweep.seed", -1, "run only this seed of TestRunner_property")
)

// fakeRegistrars answers from a table of locks. A "flapping" domain
// answers wrongly on its first reading only; a "broken" one never answers.
type fakeRegistrars struct {
	clock    *clock.Manual
	accounts []Account
	mu       sync.Mutex
	seed     uint64
	attempts map[string]uint64
	locked   map[string]bool
	owner    map[string]string
	flap     map[string]bool
	broken   map[string]bool
	reads    map[string]int
	busy     float64 // share of reads answered "retry after"
	noBulk   bool
	unlisted map[string]bool // missing from the listing
	// byRegistry: locked by the registry, not the account.
	byRegistry map[string]bool
}

func (f *fakeRegistrars) Accounts() []Account { return f.accounts }

func (f *fakeRegistrars) Read(_ context.Context, account, domain, _ string) (providers.State, error) {
	f.clock.Add(time.Second) // a read takes a second
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.owner[domain] != account {
		return providers.State{}, providers.ErrNotFound
	}
	// Whether this attempt finds the registrar busy depends on the domain
	// and the attempt only, not on how concurrent reads interleave.
	f.attempts[domain]++
	if rand.New(rand.NewPCG(f.seed, hash(domain)+f.attempts[domain])).Float64() < f.busy {
		return providers.State{}, providers.RetryAfter(3*time.Second, errors.New("busy"))
	}
	if f.broken[domain] {
		return providers.State{}, errors.New("registrar timeout")
	}
	f.reads[domain]++
	l := f.locked[domain]
	if f.flap[domain] && f.reads[domain] == 1 {
		l = !l
	}
	return providers.State{Locked: l, ByRegistry: f.byRegistry[domain]}, nil
}

func (f *fakeRegistrars) List(_ context.Context, account string) iter.Seq2[providers.DomainState, error] {
	return func(yield func(providers.DomainState, error) bool) {
		if f.noBulk {
			yield(providers.DomainState{}, providers.ErrNoBulk)
			return
		}
		f.mu.Lock()
		var names []string
		for d, o := range f.owner {
			if o == account && !f.unlisted[d] && !f.broken[d] && !f.flap[d] {
				names = append(names, d)
			}
		}
		sort.Strings(names)
		f.mu.Unlock()
		// A domain the account holds that reglock does not manage.
		if !yield(providers.DomainState{Domain: "foreign-" + account + ".com", State: providers.State{Locked: false}}, nil) {
			return
		}
		for _, d := range names {
			f.mu.Lock()
			l := f.locked[d]
			f.mu.Unlock()
			if !yield(providers.DomainState{Domain: d, ID: "id-" + d, State: providers.State{Locked: l}}, nil) {
				return
			}
		}
	}
}

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64() << 8
}

// flakyInventory fails some of its writes, as a Redis failing over does.
type flakyInventory struct {
	*store.Store
	rng  *rand.Rand
	mu   *sync.Mutex
	fail float64
}

func (f flakyInventory) ObserveMany(ctx context.Context, r []store.DomainReading) ([]store.Domain, error) {
	f.mu.Lock()
	fail := f.rng.Float64() < f.fail
	f.mu.Unlock()
	if fail {
		return nil, errors.New("injected: connection reset")
	}
	return f.Store.ObserveMany(ctx, r)
}

// taskQueue is asynq as a sweep sees it: a task ID is queued once, and
// tasks run in any order, some of them twice.
type taskQueue struct {
	rng     *rand.Rand
	fail    float64
	seen    map[string]bool
	pending []tasks.SweepPayload
}

func (q *taskQueue) add(p tasks.SweepPayload) error {
	if q.rng.Float64() < q.fail {
		return errors.New("injected: enqueue failed")
	}
	id := tasks.SweepTaskID(p.SweepID, p.Phase, p.Unit)
	if !q.seen[id] {
		q.seen[id] = true
		q.pending = append(q.pending, p)
	}
	return nil
}

func (q *taskQueue) SweepStart(_ context.Context, id string) error {
	return q.add(tasks.SweepPayload{SweepID: id, Phase: tasks.SweepStart})
}

func (q *taskQueue) SweepUnit(_ context.Context, id, unit string) error {
	return q.add(tasks.SweepPayload{SweepID: id, Phase: tasks.SweepUnit, Unit: unit})
}

func (q *taskQueue) SweepFinish(_ context.Context, id string) error {
	return q.add(tasks.SweepPayload{SweepID: id, Phase: tasks.SweepFinish})
}

// fixes records the fixes queued, as reconcile.FixQueue would.
type fixes struct {
	mu  sync.Mutex
	got map[string]bool // domain -> lock
}

func (f *fixes) QueueFix(_ context.Context, d reconcile.Drift) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_, dup := f.got[d.Domain]
	f.got[d.Domain] = d.Lock
	return !dup, nil
}

// world is one randomized inventory with what the sweep must conclude.
type world struct {
	runner  *Runner
	queue   *taskQueue
	fixes   *fixes
	reg     *fakeRegistrars
	clock   *clock.Manual
	names   []string
	drifted map[string]bool // truly drifted (two readings agree), readable
	desired map[string]bool // the lock each domain should have
}

func newWorld(t testing.TB, rdb redis.UniversalClient, prefix string, rng *rand.Rand) *world {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewManual(time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC))
	reg := &fakeRegistrars{clock: clk, seed: rng.Uint64(), attempts: map[string]uint64{},
		accounts: []Account{{Name: "lister", Bulk: true}, {Name: "single"}},
		locked:   map[string]bool{}, owner: map[string]string{}, flap: map[string]bool{}, broken: map[string]bool{},
		reads: map[string]int{}, unlisted: map[string]bool{}, busy: 0.1 * rng.Float64(), noBulk: rng.IntN(4) == 0}
	st := store.New(rdb, prefix)
	w := &world{reg: reg, clock: clk, drifted: map[string]bool{}, desired: map[string]bool{}, fixes: &fixes{got: map[string]bool{}}}
	n := 10 + rng.IntN(40)
	var changes []store.Change
	for i := range n {
		d := fmt.Sprintf("d%03d.com", i)
		acct := "lister"
		if rng.IntN(2) == 0 {
			acct = "single"
		}
		if rng.IntN(10) == 0 {
			acct = "gone" // an account no longer configured
		}
		reg.owner[d] = acct
		reg.locked[d] = true
		w.desired[d] = true
		w.names = append(w.names, d)
		kind := store.KindLock
		switch r := rng.IntN(24); {
		case r == 5:
			// Meant to be unlocked, locked again behind reglock's back:
			// the fix would unlock, which needs an operator.
			kind, w.desired[d] = store.KindUnlock, false
			if acct != "gone" {
				w.drifted[d] = true
			}
		case r == 0:
			reg.broken[d] = true
		case r == 1:
			reg.flap[d] = true
		case r <= 3:
			reg.locked[d] = false
			if acct != "gone" {
				w.drifted[d] = true
			}
		case r == 4:
			reg.unlisted[d] = true
		}
		changes = append(changes, store.Change{Domain: d, Kind: kind, Provider: acct, Mode: store.ModeRecord})
	}
	if _, err := st.FoldMany(ctx, changes); err != nil {
		t.Fatal(err)
	}
	readings := make([]store.DomainReading, len(w.names))
	for i, d := range w.names {
		readings[i] = store.DomainReading{Domain: d, Reading: store.Reading{Locked: w.desired[d], StartedAt: clk.Now().Add(-24 * time.Hour)}}
	}
	if _, err := st.ObserveMany(ctx, readings); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	w.queue = &taskQueue{rng: rng, fail: 0.05 * rng.Float64(), seen: map[string]bool{}}
	w.runner = &Runner{
		Records:    New(rdb, prefix),
		Inventory:  flakyInventory{Store: st, rng: rand.New(rand.NewPCG(rng.Uint64(), 2)), mu: &mu, fail: 0.1 * rng.Float64()},
		Registrars: reg,
		Queue:      w.queue,
		Fixes:      w.fixes,
		Guard:      Guard{MaxDriftShare: []float64{0.05, 0.2, 1}[rng.IntN(3)]},
		Log:        zerolog.Nop(),
		Clock:      clk,
		UnitBudget: time.Duration(5+rng.IntN(60)) * time.Second,
		Readers:    1 + rng.IntN(4),
		Batch:      1 + rng.IntN(16),
	}
	return w
}

// drain runs the queued tasks in random order until none is left: a failed
// task goes back to the queue, and a task that succeeded is sometimes run
// again (asynq delivers at least once).
func (w *world) drain(rng *rand.Rand) error {
	for steps := 0; len(w.queue.pending) > 0; steps++ {
		if steps > 100000 {
			return fmt.Errorf("the sweep does not end: %d tasks pending", len(w.queue.pending))
		}
		i := rng.IntN(len(w.queue.pending))
		p := w.queue.pending[i]
		w.queue.pending = append(w.queue.pending[:i], w.queue.pending[i+1:]...)
		err := w.runner.Run(context.Background(), p)
		switch {
		case providers.IsPermanent(err):
			return fmt.Errorf("task %+v archived: %v", p, err)
		case err != nil:
			w.queue.pending = append(w.queue.pending, p) // retried
		case rng.IntN(10) == 0:
			w.queue.pending = append(w.queue.pending, p) // delivered again
		}
	}
	return nil
}

// Whatever the order tasks run in, whatever fails and is retried, and
// however often a task is delivered again: a sweep counts every domain
// once, as checked or as an error, finds exactly the drift two readings
// agree on, and queues exactly its fixes.
func TestRunner_property(t *testing.T) {
	env := redistest.New(t)
	rdb := env.Client
	first, n := int64(1), int64(*sweepSeeds)
	if *sweepSeed >= 0 {
		first, n = *sweepSeed, 1
	}
	// Seeds run four at a time, each under a prefix of its own.
	seeds := make(chan int64)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := range seeds {
				if err := runSeed(t, rdb, env.Namespace, seed); err != nil {
					t.Errorf("seed %d: %v (reproduce: go test ./sweep -run TestRunner_property -sweep.seed=%d)", seed, err, seed)
				}
			}
		}()
	}
	for seed := first; seed < first+n && !t.Failed(); seed++ {
		seeds <- seed
	}
	close(seeds)
	wg.Wait()
}

// runSeed sweeps one random world, started by one or two scheduler
// replicas, and checks what the sweep concluded.
func runSeed(t *testing.T, rdb redis.UniversalClient, ns string, seed int64) error {
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	prefix := fmt.Sprintf("%s:s%d:", ns, seed)
	w := newWorld(t, rdb, prefix, rng)
	defer func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	}()
	starter := &Starter{Records: w.runner.Records, Queue: w.queue, Clock: w.clock}
	for range 1 + rng.IntN(2) {
		for {
			// A failed enqueue: the scheduler tries the tick again.
			if _, err := starter.Start(context.Background(), "sweep-1", Options{Trigger: "test"}); err == nil {
				break
			}
		}
	}
	if err := w.drain(rng); err != nil {
		return err
	}
	return w.check()
}

func (w *world) check() error {
	ctx := context.Background()
	st, err := w.runner.Records.Get(ctx, "sweep-1")
	if err != nil {
		return err
	}
	wantState, paused := StateDone, map[string]bool{}
	for _, acct := range []string{"lister", "single", "gone"} {
		want := Counts{}
		for _, d := range w.names {
			if w.reg.owner[d] != acct {
				continue
			}
			switch {
			case acct == "gone" || w.reg.broken[d]:
				want.Errors++
			default:
				want.Checked++
			}
			if w.drifted[d] {
				want.Drifted++
				if !w.desired[d] {
					want.Unlocks++
				}
			}
		}
		if got := st.PerProvider[acct]; got != want {
			return fmt.Errorf("%s: counted %+v, want %+v", acct, got, want)
		}
		if w.runner.Guard.Hold(want) != "" {
			paused[acct], wantState = true, StatePaused
		}
	}
	if st.State != wantState || len(st.Paused) != len(paused) {
		return fmt.Errorf("sweep ended %s, paused %v; want %s, paused %v (%+v)", st.State, st.Paused, wantState, paused, st)
	}
	if err := w.fixed(st, func(d string) bool { return !paused[w.reg.owner[d]] }); err != nil {
		return err
	}
	if st.State != StatePaused {
		return nil
	}
	// An operator applies the sweep: the held fixes go too, once.
	if st, err = w.runner.Records.Apply(ctx, "sweep-1", w.fixes, w.clock.Now()); err != nil {
		return err
	}
	if st.State != StateDone {
		return fmt.Errorf("applied, the sweep is %s", st.State)
	}
	if _, err := w.runner.Records.Apply(ctx, "sweep-1", w.fixes, w.clock.Now()); !errors.Is(err, ErrNotPaused) {
		return fmt.Errorf("applied twice: %v", err)
	}
	return w.fixed(st, func(string) bool { return true })
}

// fixed checks that the fixes queued are exactly the drifted domains that
// may be fixed, each back to its desired lock, and that the record says so.
func (w *world) fixed(st Status, may func(domain string) bool) error {
	want := map[string]bool{}
	for d := range w.drifted {
		if may(d) {
			want[d] = w.desired[d]
		}
	}
	if len(w.fixes.got) != len(want) || st.FixesQueued != int64(len(want)) {
		return fmt.Errorf("queued %d fixes %v (recorded %d), want %d %v", len(w.fixes.got), w.fixes.got, st.FixesQueued, len(want), want)
	}
	for d, lock := range want {
		if got, ok := w.fixes.got[d]; !ok || got != lock {
			return fmt.Errorf("%s: want a fix to locked=%v, got %v (queued: %v)", d, lock, got, ok)
		}
	}
	return nil
}
