package simulation_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/simulation"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/worker"
)

// The convergence property, checked FoundationDB-style: producers send random
// lock, unlock (with and without windows) and trade lock requests through
// the API's intent service and as tasks of their own; several worker
// processes carry them out while Redis commands, enqueues and registrar
// calls fail (before or after taking effect), registrar calls hang, writes
// land late, and workers are killed and restarted at any step. When the
// producers have stopped, the faults heal and everything is quiet, every
// domain must be in its latest intent at the registrar, with the record
// saying so, no work owed, no task archived, and no second over the rate
// limit. Each seed reproduces its run exactly.
var (
	simSeeds = flag.Int("sim.seeds", envInt("REGLOCK_SIM_SEEDS", 1000), "how many seeds TestConvergence runs")
	simFirst = flag.Uint64("sim.first", uint64(envInt("REGLOCK_SIM_FIRST", 1)), "the first seed TestConvergence runs")
	simSeed  = flag.Uint64("sim.seed", uint64(envInt("REGLOCK_SIM_SEED", 0)), "run only this seed, with its log")
)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

func TestConvergence(t *testing.T) {
	if *simSeed != 0 {
		if err := runSeed(*simSeed, t); err != nil {
			t.Fatalf("seed %d: %v", *simSeed, err)
		}
		return
	}
	var failed atomic.Int64
	var mu sync.Mutex
	var bad []uint64
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := 0; i < *simSeeds; i++ {
		seed := *simFirst + uint64(i)
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := runSeed(seed, nil); err != nil {
				failed.Add(1)
				mu.Lock()
				bad = append(bad, seed)
				mu.Unlock()
				t.Errorf("seed %d: %v\n    reproduce with its log: go test ./simulation -run '^TestConvergence$' -sim.seed=%d -v", seed, err, seed)
			}
		}()
		if failed.Load() >= 5 {
			break
		}
	}
	wg.Wait()
	sort.Slice(bad, func(i, j int) bool { return bad[i] < bad[j] })
	t.Logf("seeds %d to %d: %d failed %v", *simFirst, *simFirst+uint64(*simSeeds)-1, len(bad), bad)
}

// The simulated installation.
const (
	account  = "osrs"
	ratePerS = 5
	burst    = 1
)

var start = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// request is one accepted intent, as the oracle keeps it.
type request struct {
	domain string
	kind   store.Kind
	at     time.Time // when it was asked for (the order of direct requests)
	gen    int64     // its generation (the order of API requests)
	window time.Duration
	enable bool
	by     string
}

// world is one seed's run.
type world struct {
	s       *simulation.Sim
	rd      *simulation.Redis
	q       *simulation.Queue
	reg     *simulation.Registrar
	cfg     *config.Config
	sys     *system.System
	st      *store.Store
	intents *intent.Service
	log     zerolog.Logger
	trace   []string

	mu       sync.Mutex
	accepted []request
	apiDoms  []string // domains only API producers ask for (ordered by generation)
	dirDoms  []string // domains only direct producers ask for (ordered by request time)
	procs    int
	workers  []*simulation.Actor
	// ghost is an API domain the registrar account does not hold at first
	// (a lock asked for before the registration completes); registered
	// says whether it was registered later.
	ghost      string
	registered bool
	badTasks   int
}

func (w *world) note(format string, args ...any) {
	w.mu.Lock()
	w.trace = append(w.trace, w.s.Now().Sub(start).String()+" "+fmt.Sprintf(format, args...))
	w.mu.Unlock()
}

func runSeed(seed uint64, t *testing.T) (err error) {
	s := simulation.New(seed, start)
	rng := s.Rand()
	w := &world{s: s, log: zerolog.Nop()}
	if t != nil {
		w.log = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
		defer func() {
			for _, line := range w.trace {
				t.Log(line)
			}
		}()
	}
	if w.rd, err = s.NewRedis(); err != nil {
		return err
	}
	defer func() {
		s.Close() // every actor unwound before Redis goes away
		w.rd.Close()
	}()

	w.reg = s.NewRegistrar(account)
	w.q = s.NewQueue(simulation.QueueConfig{
		RetryDelay:    worker.Backoff(worker.DefaultBackoff, func(n int64) int64 { return s.Rand().Int64N(n) }),
		IsFailure:     worker.IsFailure,
		LeaseRecovery: time.Minute,
		PollInterval:  5 * time.Second,
	})
	cfg := &config.Config{Providers: []config.Provider{{Name: account, Type: "opensrs", TLDs: []string{"com", "net"}}}}
	w.cfg = cfg
	w.sys = system.New(w.options(nil))
	w.st, w.intents = w.sys.Store, w.sys.Intents

	// The inventory: domains of API producers and of direct producers.
	nAPI, nDirect := 1+rng.IntN(2), rng.IntN(2)
	for i := range nAPI {
		d := fmt.Sprintf("api%d.com", i)
		w.apiDoms = append(w.apiDoms, d)
		w.reg.Add(d, rng.IntN(2) == 0)
	}
	for i := range nDirect {
		d := fmt.Sprintf("direct%d.net", i)
		w.dirDoms = append(w.dirDoms, d)
		w.reg.Add(d, rng.IntN(2) == 0)
	}
	if rng.IntN(4) == 0 {
		w.ghost = "ghost.com"
		w.apiDoms = append(w.apiDoms, w.ghost)
	}
	drift := rng.IntN(2) == 0

	// Faults, at a strength of the seed's choosing.
	strength := rng.Float64()
	redisFaults := simulation.RedisFaults{Before: 0.04 * strength, After: 0.04 * strength}
	queueFaults := simulation.QueueFaults{EnqueueBefore: 0.05 * strength, EnqueueAfter: 0.05 * strength}
	regFaults := simulation.RegistrarFaults{
		MaxDelay:   time.Duration(rng.IntN(3000)) * time.Millisecond,
		FailBefore: 0.15 * strength, Busy: 0.05 * strength, ApplyThenFail: 0.1 * strength, Hang: 0.05 * strength,
		HangFor: reconcile.DefaultCallTimeout, LandLate: 0.5, LandWithin: reconcile.DefaultInDoubtHold,
	}
	w.rd.SetFaults(redisFaults)
	w.q.SetFaults(queueFaults)
	w.reg.SetFaults(regFaults)
	w.note("seed %d: %d API domains, %d direct domains, ghost %q, drift %v, fault strength %.2f", seed, nAPI, nDirect, w.ghost, drift, strength)

	// Worker processes, killed and restarted at random.
	for range 1 + rng.IntN(3) {
		w.startWorker()
	}
	var producers []*simulation.Actor
	for i := range 1 + rng.IntN(2) {
		producers = append(producers, s.Go(fmt.Sprintf("api-producer-%d", i), w.apiProducer))
	}
	if nDirect > 0 {
		producers = append(producers, s.Go("direct-producer", w.directProducer))
	}
	s.Go("chaos", func(ctx context.Context) {
		for !allDone(producers) {
			if s.Clock().Sleep(ctx, time.Duration(30+s.Rand().IntN(120))*time.Second) != nil {
				return
			}
			w.mu.Lock()
			victims := w.workers
			w.mu.Unlock()
			if len(victims) == 0 || s.Rand().IntN(2) == 0 {
				continue
			}
			i := s.Rand().IntN(len(victims))
			w.note("chaos: kill %s", victims[i].Name())
			s.Kill(victims[i])
			w.mu.Lock()
			w.workers = append(w.workers[:i:i], w.workers[i+1:]...)
			w.mu.Unlock()
			_ = s.Clock().Sleep(ctx, time.Duration(5+s.Rand().IntN(60))*time.Second)
			w.startWorker()
		}
	})
	if drift {
		// Someone changes locks behind reglock's back; checks (a sweep, in
		// life) find it and fix it once confirmed.
		s.Go("drift", func(ctx context.Context) {
			for !allDone(producers) {
				if s.Clock().Sleep(ctx, time.Duration(10+s.Rand().IntN(60))*time.Second) != nil {
					return
				}
				d := w.allDomains()[s.Rand().IntN(len(w.allDomains()))]
				if l, ok := w.reg.Locked(d); ok {
					w.reg.SetLocked(d, !l)
					w.note("drift: %s locked=%v at the registrar behind reglock's back", d, !l)
				}
				w.check(ctx, d)
			}
		})
	}
	if w.ghost != "" && rng.IntN(2) == 0 {
		s.Go("registration", func(ctx context.Context) {
			_ = s.Clock().Sleep(ctx, time.Duration(s.Rand().IntN(180))*time.Second)
			w.reg.Add(w.ghost, false)
			w.registered = true
			w.note("registration: %s is now in the account", w.ghost)
		})
	}
	janitor := w.sys.Janitor(w.q)
	quiet := false
	s.Go("janitor", func(ctx context.Context) {
		for !quiet {
			if s.Clock().Sleep(ctx, time.Minute) != nil {
				return
			}
			if rep, err := janitor.Run(ctx); err == nil && rep.Queued+rep.Requeued > 0 {
				w.note("janitor: %+v", rep)
			}
		}
	})
	s.Go("heal", func(ctx context.Context) {
		for !allDone(producers) {
			if s.Clock().Sleep(ctx, 10*time.Second) != nil {
				return
			}
		}
		// The producers have stopped: faults heal, and everything owed gets
		// done. Quiet is the moment nothing is queued or owed any more.
		w.note("producers done; faults heal")
		w.rd.SetFaults(simulation.RedisFaults{})
		w.q.SetFaults(simulation.QueueFaults{})
		w.reg.SetFaults(simulation.RegistrarFaults{MaxDelay: regFaults.MaxDelay})
		if drift {
			// One last look at every domain: the sweep a drift needs to be
			// found at all.
			for _, d := range w.allDomains() {
				w.check(ctx, d)
			}
		}
		for {
			if s.Clock().Sleep(ctx, time.Minute) != nil {
				return
			}
			if w.q.Idle() && w.nothingOwed(ctx) {
				w.note("quiet: %d registrar calls, %d tasks left in the queue's record", len(w.reg.Calls()), len(w.q.Tasks()))
				for _, d := range w.allDomains() {
					l, _ := w.reg.Locked(d)
					on, set := w.reg.TradeLock(d)
					w.note("  %s at the registrar: locked %v, trade lock %v (set %v)", d, l, on, set)
				}
				quiet = true
				return
			}
		}
	})
	if err := s.Run(func() bool { return quiet }, start.Add(48*time.Hour)); err != nil {
		return fmt.Errorf("%w\n%s", err, w.tail())
	}
	if err := w.verify(); err != nil {
		return fmt.Errorf("%w\n%s", err, w.tail())
	}
	return nil
}

// tail is the end of the run's story, for a failure message.
func (w *world) tail() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := w.trace
	if len(lines) > 80 {
		lines = lines[len(lines)-80:]
	}
	return "    story: " + strings.Join(lines, "\n    story: ")
}

func allDone(as []*simulation.Actor) bool {
	for _, a := range as {
		if !a.Done() {
			return false
		}
	}
	return true
}

// options are the parts of a process of this world.
func (w *world) options(accounts map[string]reconcile.Account) system.Options {
	return system.Options{Config: w.cfg, Redis: w.rd.Client, Enqueuer: w.q, Clock: w.s.Clock(), Accounts: accounts, Log: w.log}
}

// startWorker starts a worker process: its own limiter and breakers, sharing
// Redis, the queue and the registrar with the others.
func (w *world) startWorker() {
	w.mu.Lock()
	w.procs++
	name := fmt.Sprintf("worker-%d", w.procs)
	w.mu.Unlock()
	// A process of its own: its own limiter and breakers, on the
	// simulation's clock.
	brk := breaker.New(w.rd.Client, "rl:", breaker.Options{Clock: w.s.Clock()}, w.log)
	acct := reconcile.Account{Name: account, Type: "opensrs", Registrar: providers.Wrap(w.reg, brk.Middleware(account)),
		Limit: ratelimit.Limit{Rate: ratePerS, Burst: burst}}
	o := w.options(map[string]reconcile.Account{account: acct})
	o.Log = w.log.With().Str("process", name).Logger()
	wk := system.New(o).Worker()
	wk.NewToken = func() string { return name + ":" + strconv.FormatUint(w.s.Rand().Uint64(), 36) }
	a := w.q.StartWorker(name, []string{tasks.QueueChanges, tasks.QueueFixes, tasks.QueueChecks}, wk.Mux(), nil)
	w.mu.Lock()
	w.workers = append(w.workers, a)
	w.mu.Unlock()
	w.note("start %s", name)
}

// apiProducer sends requests through the intent service, as the API and
// the CLI do, retrying each until it is recorded for sure.
func (w *world) apiProducer(ctx context.Context) {
	s := w.s
	for range 3 + s.Rand().IntN(6) {
		if s.Clock().Sleep(ctx, time.Duration(s.Rand().IntN(20000))*time.Millisecond) != nil {
			return
		}
		d := w.apiDoms[s.Rand().IntN(len(w.apiDoms))]
		r := intent.Request{Domain: d, RequestedBy: "api"}
		kind := store.Kind([]string{"lock", "unlock", "trade"}[s.Rand().IntN(3)])
		var window time.Duration
		if kind == store.KindUnlock && s.Rand().IntN(2) == 0 {
			window = time.Duration(30+s.Rand().IntN(600)) * time.Second
			r.RelockAfter = window
		}
		if kind == store.KindTrade {
			r.TradeEnable, r.ConsentIP = s.Rand().IntN(2) == 0, netip.AddrFrom4([4]byte{203, 0, 113, byte(1 + s.Rand().IntN(250))})
		}
		for {
			var acc intent.Accepted
			var err error
			switch kind {
			case store.KindLock:
				acc, err = w.intents.Lock(ctx, r)
			case store.KindUnlock:
				acc, err = w.intents.Unlock(ctx, r)
			default:
				acc, err = w.intents.TradeLock(ctx, r)
			}
			gen := acc.Domain.Desired.Generation
			var nq *intent.NotQueuedError
			if errors.As(err, &nq) {
				gen, err = nq.Generation, nil // recorded; the janitor queues it
			}
			if err == nil {
				w.accept(request{domain: d, kind: kind, gen: gen, window: window, enable: r.TradeEnable, by: "api"})
				w.note("api %s %s gen %d window %v enable %v", kind, d, gen, window, r.TradeEnable)
				break
			}
			w.note("api %s %s failed, retrying: %v", kind, d, err)
			if s.Clock().Sleep(ctx, time.Second) != nil {
				return
			}
		}
	}
}

// directProducer enqueues tasks with the tasks package, as a Go producer
// that bypasses the API does, retrying each enqueue until it is queued.
func (w *world) directProducer(ctx context.Context) {
	s := w.s
	for range 3 + s.Rand().IntN(6) {
		if s.Clock().Sleep(ctx, time.Duration(s.Rand().IntN(20000))*time.Millisecond) != nil {
			return
		}
		if s.Rand().IntN(10) == 0 {
			// A producer's bug: a task that cannot be decoded.
			bad := asynq.NewTask(tasks.TypeLock, []byte(`{"domain":"not a domain!","requested_at":"soon"}`), asynq.Queue(tasks.QueueChanges))
			if _, err := w.q.EnqueueContext(ctx, bad); err == nil {
				w.mu.Lock()
				w.badTasks++
				w.mu.Unlock()
			}
			continue
		}
		d := w.dirDoms[s.Rand().IntN(len(w.dirDoms))]
		in := tasks.Intent{Domain: d, Provider: account, RequestedAt: s.Now(), RequestedBy: "direct"}
		req := request{domain: d, at: in.RequestedAt, by: "direct"}
		var t *asynq.Task
		var err error
		switch s.Rand().IntN(3) {
		case 0:
			req.kind = store.KindLock
			t, err = tasks.NewLockTask(tasks.LockPayload{Intent: in})
		case 1:
			req.kind = store.KindUnlock
			if s.Rand().IntN(2) == 0 {
				req.window = time.Duration(30+s.Rand().IntN(600)) * time.Second
			}
			t, err = tasks.NewUnlockTask(tasks.UnlockPayload{Intent: in, RelockAfter: tasks.Duration(req.window)})
		default:
			req.kind, req.enable = store.KindTrade, s.Rand().IntN(2) == 0
			t, err = tasks.NewTradeLockTask(tasks.TradeLockPayload{Intent: in, Enable: req.enable, ConsentIP: netip.MustParseAddr("198.51.100.9")})
		}
		if err != nil {
			panic(err)
		}
		for {
			_, err := w.q.EnqueueContext(ctx, t)
			if err == nil {
				break
			}
			if s.Clock().Sleep(ctx, time.Second) != nil {
				return
			}
		}
		w.accept(req)
		w.note("direct %s %s at %s window %v enable %v", req.kind, d, req.at.Format("15:04:05.000"), req.window, req.enable)
	}
}

func (w *world) allDomains() []string {
	return append(append([]string{}, w.apiDoms...), w.dirDoms...)
}

// check queues a check of d, as a sweep's read of it would, if d is in the
// inventory (a sweep reads only those).
func (w *world) check(ctx context.Context, d string) {
	if _, err := w.st.Get(ctx, d); err != nil {
		return
	}
	t, err := tasks.NewCheckTask(tasks.CheckPayload{Domain: d})
	if err != nil {
		panic(err)
	}
	for w.s.Clock().Sleep(ctx, 0) == nil {
		if _, err := w.q.EnqueueContext(ctx, t, asynq.Queue(tasks.QueueChecks)); err == nil {
			return
		}
		_ = w.s.Clock().Sleep(ctx, time.Second)
	}
}

func (w *world) accept(r request) {
	w.mu.Lock()
	w.accepted = append(w.accepted, r)
	w.mu.Unlock()
}

// nothingOwed reports whether no domain has a mark or a window still open.
func (w *world) nothingOwed(ctx context.Context) bool {
	for _, d := range w.allDomains() {
		rec, err := w.st.Get(ctx, d)
		if d == w.ghost && !w.registered {
			// Owed for good: quiet once its failure is on the record.
			if err == nil && (rec.Work.Mark.Fails == 0 || rec.Observed.Error == "") {
				return false
			}
			continue
		}
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil || rec.Work.Pending || rec.Work.InDoubt(w.s.Now()) || (!rec.Desired.Locked && !rec.Desired.RelockAt.IsZero()) {
			return false
		}
	}
	return true
}

// expected is what the domain's latest intent wants: the lock of its
// latest lock request (relocked if that request was an unlock whose window
// has ended), and the setting of its latest trade request, if any.
func (w *world) expected(domain string) (req bool, locked bool, trade *bool) {
	var lockReqs, tradeReqs []request
	direct := strings.HasPrefix(domain, "direct")
	for _, r := range w.accepted {
		if r.domain != domain {
			continue
		}
		if r.kind == store.KindTrade {
			tradeReqs = append(tradeReqs, r)
		} else {
			lockReqs = append(lockReqs, r)
		}
	}
	newest := func(rs []request) (request, bool) {
		if len(rs) == 0 {
			return request{}, false
		}
		best := rs[0]
		for _, r := range rs[1:] {
			if (direct && r.at.After(best.at)) || (!direct && r.gen > best.gen) {
				best = r
			}
		}
		return best, true
	}
	if r, ok := newest(tradeReqs); ok {
		trade = &r.enable
	}
	r, ok := newest(lockReqs)
	if !ok {
		// Only trade requests: a domain new to the inventory is recorded
		// locked by its first one.
		return len(tradeReqs) > 0, true, trade
	}
	// Every window ends before the run is quiet.
	return true, r.kind == store.KindLock || r.window > 0, trade
}

// verify tests the invariants once the run is quiet.
func (w *world) verify() error {
	ctx := context.Background()
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	for _, d := range w.allDomains() {
		asked, want, wantTrade := w.expected(d)
		rec, err := w.st.Get(ctx, d)
		if !asked {
			if !errors.Is(err, store.ErrNotFound) {
				fail("%s: never asked for, but in the inventory: %+v %v", d, rec, err)
			}
			continue
		}
		if err != nil {
			fail("%s: not in the inventory: %v", d, err)
			continue
		}
		if d == w.ghost && !w.registered {
			// Never in the account: owed, failing, and saying why.
			if !rec.Work.Pending || rec.Work.Mark.Fails == 0 || !strings.Contains(rec.Observed.Error, "not found") {
				fail("%s: a domain the account does not hold is not reported: %+v", d, rec)
			}
			continue
		}
		got, _ := w.reg.Locked(d)
		if got != want {
			fail("%s: registrar locked=%v, latest intent wants locked=%v", d, got, want)
		}
		if rec.Desired.Locked != want {
			fail("%s: store desires locked=%v, latest intent wants locked=%v", d, rec.Desired.Locked, want)
		}
		if rec.InSync() != (got == rec.Desired.Locked) {
			fail("%s: in_sync=%v while the registrar is locked=%v and desired locked=%v (observed %+v)", d, rec.InSync(), got, rec.Desired.Locked, rec.Observed)
		}
		if rec.Work.Pending {
			fail("%s: work still owed: %+v", d, rec.Work.Mark)
		}
		if !rec.Desired.RelockAt.IsZero() && !rec.Desired.Locked {
			fail("%s: unlock window ending %s never relocked", d, rec.Desired.RelockAt)
		}
		if wantTrade != nil {
			enabled, set := w.reg.TradeLock(d)
			if !set || enabled != *wantTrade {
				fail("%s: registrar trade lock set=%v enabled=%v, latest trade request wants %v", d, set, enabled, *wantTrade)
			}
			if rec.Desired.TradeLock == nil || *rec.Desired.TradeLock != *wantTrade || !rec.Desired.TradeApplied {
				fail("%s: store trade lock %v applied=%v, latest trade request wants %v applied", d, rec.Desired.TradeLock, rec.Desired.TradeApplied, *wantTrade)
			}
		}
	}
	bad := 0
	for _, ti := range w.q.Tasks() {
		if ti.State != asynq.TaskStateArchived {
			continue
		}
		switch {
		case strings.Contains(ti.LastErr, "bad task payload"):
			bad++
		case w.ghost != "" && strings.Contains(ti.LastErr, w.ghost+": domain not found"):
			// A permanent registrar error, for the domain it names.
		default:
			fail("task %s (%s) archived: %s", ti.ID, ti.Type, ti.LastErr)
		}
	}
	if bad < w.badTasks {
		fail("%d undecodable tasks queued, %d archived as such", w.badTasks, bad)
	}
	// No 1-second window saw more calls than the rate allows.
	calls := w.reg.Calls()
	for i := range calls {
		n := 0
		for j := i; j < len(calls) && calls[j].At.Sub(calls[i].At) < time.Second; j++ {
			n++
		}
		if n > ratePerS+burst {
			fail("%d registrar calls within a second from %s (limit %d + burst %d)", n, calls[i].At.Sub(start), ratePerS, burst)
			break
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "\n    "))
}
