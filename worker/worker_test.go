package worker_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/providers/ee"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/providers/opensrs"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/worker"
)

// bundle is one test's world: a namespace on the real test Redis, the
// registrar simulator over HTTP, and a running worker.
type bundle struct {
	t       *testing.T
	sim     *simulator.Simulator
	acct    *simulator.Account // eNom
	ee      *simulator.Account // .ee
	osrs    *simulator.Account // OpenSRS, after addOpenSRS
	store   *store.Store
	intents *intent.Service
	client  *asynq.Client
	insp    *asynq.Inspector
	queues  tasks.Namespace
	srv     *worker.Servers
	worker  *worker.Worker
	env     redistest.Env
	sweeps  *sweep.Starter
	simURL  string
}

func setup(t *testing.T) *bundle {
	t.Helper()
	env := redistest.New(t)
	sim := simulator.New(simulator.Options{})
	acct := sim.AddAccount(simulator.ENom, "resellid", "resellpw")
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	reg, err := enom.New(enom.Config{Endpoint: hs.URL + "/enom/interface.asp", UID: "resellid", PW: secret.String("resellpw")})
	if err != nil {
		t.Fatal(err)
	}
	b := &bundle{t: t, sim: sim, acct: acct, queues: tasks.Namespace(env.Namespace), env: env, simURL: hs.URL}
	cfg := &config.Config{
		Providers: []config.Provider{{Name: "enom-main", Type: "enom", TLDs: []string{"com"}}, {Name: "ee", Type: "ee", TLDs: []string{"ee"}}},
		Scheduler: config.Scheduler{ConfirmDelay: 200 * time.Millisecond, MaxDriftShare: 0.10},
	}
	b.ee = sim.AddAccount(simulator.EE, "EE-38903110313", "ee-static-token-0123456789")
	eeReg, err := ee.New(ee.Config{Endpoint: hs.URL + "/ee", Token: secret.String("ee-static-token-0123456789")})
	if err != nil {
		t.Fatal(err)
	}
	sys := system.New(system.Options{Config: cfg, Redis: env.Client, Namespace: env.Namespace,
		Accounts: map[string]worker.Account{
			"enom-main": {Name: "enom-main", Type: "enom", Registrar: reg},
			"ee":        {Name: "ee", Type: "ee", Registrar: eeReg},
		},
		Log: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
	})
	b.store, b.intents, b.sweeps, b.worker = sys.Store, sys.Intents, sys.Sweeps, sys.Worker()
	// Tests change the providers as they go: the worker routes by the
	// intent service's configuration of the moment.
	b.worker.RouteTLD = func(d string) string { return b.intents.Config.Route(d) }
	b.client = asynq.NewClientFromRedisClient(env.Client)
	b.insp = asynq.NewInspectorFromRedisClient(env.Client)
	b.startWorker()
	return b
}

// startWorker starts (another) worker process's servers on the bundle's world.
func (b *bundle) startWorker() *worker.Servers {
	b.t.Helper()
	srv := worker.NewServers(b.env.Client, worker.ServerConfig{
		Concurrency: 8, ShutdownTimeout: 5 * time.Second, Queues: b.queues,
		PollInterval: 20 * time.Millisecond, Backoff: 100 * time.Millisecond, Log: b.worker.Log,
	})
	if err := srv.Start(b.worker.Mux()); err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(srv.Shutdown)
	b.srv = srv
	return srv
}

// janitor returns the janitor of owed work, on a clock that says at.
func (b *bundle) janitor(at time.Time) *reconcile.Janitor {
	return &reconcile.Janitor{Store: b.store, Queue: b.intents.Queue, Inspector: b.insp,
		Clock: fixedClock(at), Log: b.worker.Log}
}

// fixedClock is a clock stopped at one time.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func (c fixedClock) Sleep(ctx context.Context, d time.Duration) error { return ctx.Err() }

// eventually polls cond until it holds or the deadline passes.
func (b *bundle) eventually(what string, timeout time.Duration, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (b *bundle) domain(name string) store.Domain {
	b.t.Helper()
	d, err := b.store.Get(context.Background(), name)
	if err != nil {
		b.t.Fatalf("Get(%s): %v", name, err)
	}
	return d
}

// converged waits until the registrar and the store agree on locked.
func (b *bundle) converged(name string, locked bool) {
	b.t.Helper()
	b.eventually(name+" to converge", 15*time.Second, func() bool {
		l, _ := b.sim.Locked(name)
		d, err := b.store.Get(context.Background(), name)
		return err == nil && l == locked && d.InSync() && d.Desired.Locked == locked
	})
}

// idle waits until no task of the namespace is pending, active, scheduled or retrying.
func (b *bundle) idle() {
	b.t.Helper()
	b.eventually("queues to drain", 15*time.Second, func() bool {
		for _, q := range []string{tasks.QueueChanges, tasks.QueueFixes, tasks.QueueChecks} {
			info, err := b.insp.GetQueueInfo(b.queues.Queue(q))
			if err != nil {
				continue // a queue nothing was ever put in does not exist
			}
			if info.Pending+info.Active+info.Scheduled+info.Retry > 0 {
				return false
			}
		}
		return true
	})
}

func TestWorker_lockAndUnlockConverge(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("example.com", false)
	ctx := context.Background()
	acc, err := b.intents.Lock(ctx, intent.Request{Domain: "Example.COM.", RequestedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if acc.TaskID != "lock:example.com@1" || acc.Domain.Desired.Provider != "enom-main" {
		t.Fatalf("accepted %+v", acc)
	}
	b.converged("example.com", true)
	if _, err := b.intents.Unlock(ctx, intent.Request{Domain: "example.com"}); err != nil {
		t.Fatal(err)
	}
	b.converged("example.com", false)
	b.idle()
	// Read before each write, read back after: exactly two writes, no more.
	if w := b.sim.Writes("example.com"); w != 2 {
		t.Errorf("registrar saw %d writes, want 2", w)
	}
}

func TestWorker_inSyncDomainGetsNoWrite(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("quiet.com", true)
	if _, err := b.intents.Lock(context.Background(), intent.Request{Domain: "quiet.com"}); err != nil {
		t.Fatal(err)
	}
	b.converged("quiet.com", true)
	b.idle()
	if w := b.sim.Writes("quiet.com"); w != 0 {
		t.Errorf("registrar saw %d writes to a domain already locked, want 0", w)
	}
}

func TestWorker_quickSuccessionEndsOnTheLastIntent(t *testing.T) {
	for _, seq := range [][]bool{{true, false, true}, {false, true, false}, {true, false, true, false, true, false, true}} {
		b := setup(t)
		b.acct.AddDomain("flip.com", !seq[0])
		ctx := context.Background()
		for _, lock := range seq {
			var err error
			if lock {
				_, err = b.intents.Lock(ctx, intent.Request{Domain: "flip.com"})
			} else {
				_, err = b.intents.Unlock(ctx, intent.Request{Domain: "flip.com"})
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		last := seq[len(seq)-1]
		b.converged("flip.com", last)
		b.idle()
		if l, _ := b.sim.Locked("flip.com"); l != last {
			t.Errorf("sequence %v ended locked=%v at the registrar", seq, l)
		}
		if d := b.domain("flip.com"); d.Desired.Generation != int64(len(seq)) || !d.InSync() {
			t.Errorf("sequence %v: %+v", seq, d)
		}
	}
}

// Tasks enqueued by a producer without the API carry no generation; they
// are ordered by request time, whatever order they run in.
func TestWorker_directProducerTasksAreOrderedByRequestTime(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("direct.com", false)
	t0 := time.Now().UTC()
	newer, err := tasks.NewUnlockTask(tasks.UnlockPayload{Intent: tasks.Intent{Domain: "direct.com", Provider: "enom-main", RequestedAt: t0.Add(time.Second)}})
	if err != nil {
		t.Fatal(err)
	}
	older, err := tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{Domain: "direct.com", Provider: "enom-main", RequestedAt: t0}})
	if err != nil {
		t.Fatal(err)
	}
	// The newer intent runs first; the older one must not undo it.
	if _, err := b.client.Enqueue(newer, asynq.Queue(b.queues.Queue(tasks.QueueChanges))); err != nil {
		t.Fatal(err)
	}
	b.converged("direct.com", false)
	if _, err := b.client.Enqueue(older, asynq.Queue(b.queues.Queue(tasks.QueueChanges))); err != nil {
		t.Fatal(err)
	}
	b.idle()
	if l, _ := b.sim.Locked("direct.com"); l {
		t.Fatal("an older intent undid a newer one")
	}
	if d := b.domain("direct.com"); d.Desired.Locked || d.Desired.Generation != 1 {
		t.Fatalf("store: %+v", d.Desired)
	}
}

func TestWorker_unknownDomainIsArchivedAfterOneAttempt(t *testing.T) {
	b := setup(t)
	if _, err := b.intents.Lock(context.Background(), intent.Request{Domain: "missing.com"}); err != nil {
		t.Fatal(err)
	}
	q := b.queues.Queue(tasks.QueueChanges)
	b.eventually("the task to be archived", 10*time.Second, func() bool {
		info, err := b.insp.GetQueueInfo(q)
		return err == nil && info.Archived == 1
	})
	archived, err := b.insp.ListArchivedTasks(q)
	if err != nil || len(archived) != 1 {
		t.Fatalf("archived: %v %v", archived, err)
	}
	if archived[0].Retried != 0 || !strings.Contains(archived[0].LastErr, "not found") {
		t.Errorf("archived after %d retries with %q", archived[0].Retried, archived[0].LastErr)
	}
	d := b.domain("missing.com")
	if !strings.Contains(d.Observed.Error, "not found") || d.InSync() {
		t.Errorf("domain record: %+v", d.Observed)
	}
}

func TestWorker_transientFailuresRetryThenConverge(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("flaky.com", false)
	b.acct.FailNext(3, simulator.FaultUnavailable)
	if _, err := b.intents.Lock(context.Background(), intent.Request{Domain: "flaky.com"}); err != nil {
		t.Fatal(err)
	}
	b.converged("flaky.com", true)
	if d := b.domain("flaky.com"); d.Observed.Error != "" {
		t.Errorf("error not cleared by the successful read: %q", d.Observed.Error)
	}
}

// A busy registrar is waited out without using up retries.
func TestWorker_retryAfterIsNotAFailure(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("busy.com", false)
	b.acct.FailNext(2, simulator.FaultBusy)
	if _, err := b.intents.Lock(context.Background(), intent.Request{Domain: "busy.com"}); err != nil {
		t.Fatal(err)
	}
	b.converged("busy.com", true)
	b.idle()
	// Two retries later it succeeded, and asynq counted no failure.
	info, err := b.insp.GetQueueInfo(b.queues.Queue(tasks.QueueChanges))
	if err != nil {
		t.Fatal(err)
	}
	if info.Failed != 0 || info.FailedTotal != 0 || info.Processed < 1 {
		t.Errorf("busy answers counted as failures: %+v", info)
	}
}

func TestWorker_checkConfirmsDriftBeforeFixing(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("drift.com", true)
	ctx := context.Background()
	if _, err := b.intents.Lock(ctx, intent.Request{Domain: "drift.com"}); err != nil {
		t.Fatal(err)
	}
	b.converged("drift.com", true)
	// A single false "unlocked" reading: flip, check, flip back before the
	// confirmation read.
	b.sim.SetLocked("drift.com", false)
	check, _ := tasks.NewCheckTask(tasks.CheckPayload{Domain: "drift.com"})
	if _, err := b.client.Enqueue(check, asynq.Queue(b.queues.Queue(tasks.QueueChecks))); err != nil {
		t.Fatal(err)
	}
	b.eventually("the check to read the drift", 5*time.Second, func() bool { return !b.domain("drift.com").InSync() })
	b.sim.SetLocked("drift.com", true)
	b.idle()
	if w := b.sim.Writes("drift.com"); w != 0 {
		t.Fatalf("acted on a single reading: %d writes", w)
	}
	// Real drift is confirmed and fixed.
	b.sim.SetLocked("drift.com", false)
	check, _ = tasks.NewCheckTask(tasks.CheckPayload{Domain: "drift.com"})
	if _, err := b.client.Enqueue(check, asynq.Queue(b.queues.Queue(tasks.QueueChecks))); err != nil {
		t.Fatal(err)
	}
	b.converged("drift.com", true)
	b.idle()
	if w := b.sim.Writes("drift.com"); w != 1 {
		t.Fatalf("%d writes to fix one drift, want 1", w)
	}
}

func TestWorker_badPayloadIsArchived(t *testing.T) {
	b := setup(t)
	q := b.queues.Queue(tasks.QueueChanges)
	if _, err := b.client.Enqueue(asynq.NewTask(tasks.TypeLock, []byte(`{"domain":"not a domain"}`)), asynq.Queue(q)); err != nil {
		t.Fatal(err)
	}
	b.eventually("the bad task to be archived", 10*time.Second, func() bool {
		info, err := b.insp.GetQueueInfo(q)
		return err == nil && info.Archived == 1
	})
	archived, _ := b.insp.ListArchivedTasks(q)
	if len(archived) != 1 || !strings.Contains(archived[0].LastErr, "invalid domain") {
		t.Fatalf("archived: %+v", archived)
	}
}

func TestRetryDelay(t *testing.T) {
	delay := worker.RetryDelay(2 * time.Second)
	lock := asynq.NewTask(tasks.TypeLock, nil)
	for n, want := range map[int][2]time.Duration{0: {time.Second, 2 * time.Second}, 3: {8 * time.Second, 16 * time.Second}, 20: {450 * time.Second, 900 * time.Second}} {
		for range 50 {
			if d := delay(n, errors.New("x"), lock); d < want[0] || d > want[1] {
				t.Fatalf("retry %d: %v outside %v", n, d, want)
			}
		}
	}
	if d := delay(20, errors.New("x"), asynq.NewTask(tasks.TypeCheck, nil)); d > 5*time.Minute {
		t.Fatalf("check backoff %v over its 5m cap", d)
	}
}

// addOpenSRS adds an OpenSRS account "opensrs" to the simulator and the
// worker.
func (b *bundle) addOpenSRS() {
	b.t.Helper()
	b.osrs = b.sim.AddAccount(simulator.OpenSRS, "reseller", "osrs-key-0123456789")
	reg, err := opensrs.New(opensrs.Config{Endpoint: b.simURL + "/opensrs/", Username: "reseller", Key: secret.String("osrs-key-0123456789")})
	if err != nil {
		b.t.Fatal(err)
	}
	b.worker.Accounts["opensrs"] = worker.Account{Name: "opensrs", Type: "opensrs", Registrar: reg}
}

// A trade-lock request supersedes a lock request still in the queue (its
// generation is newer): the lock must still be carried out.
func TestWorker_tradeLockRequestDoesNotLoseAQueuedLock(t *testing.T) {
	b := setup(t)
	b.addOpenSRS()
	b.osrs.AddDomain("traded.net", false)
	b.intents.Config = &config.Config{Providers: []config.Provider{{Name: "opensrs", Type: "opensrs"}}}
	b.srv.Shutdown() // hold the tasks until both are queued
	ctx := context.Background()
	if _, err := b.intents.Lock(ctx, intent.Request{Domain: "traded.net", Provider: "opensrs"}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.intents.TradeLock(ctx, intent.Request{Domain: "traded.net", TradeEnable: false, ConsentIP: netip.MustParseAddr("203.0.113.7")}); err != nil {
		t.Fatal(err)
	}
	b.startWorker()
	b.converged("traded.net", true)
	if enable, ip, set := b.sim.TradeLock("traded.net"); !set || enable || ip != "203.0.113.7" {
		t.Fatalf("trade lock at the registrar: set %v enable %v ip %q", set, enable, ip)
	}
}
