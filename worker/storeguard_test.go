package worker_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/worker"
)

// A running worker whose store is wiped writes nothing to any registrar: a
// producer's task that arrives meanwhile is held (retried later, no attempt
// used, the reason in asynqmon) until an operator accepts or restores the
// store; then it runs.
func TestWorker_storeLostHoldsTasks(t *testing.T) {
	env := redistest.New(t)
	sim := simulator.New(simulator.Options{})
	acct := sim.AddAccount(simulator.ENom, "resellid", "resellpw")
	acct.AddDomain("held.com", false)
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	reg, err := enom.New(enom.Config{Endpoint: hs.URL + "/enom/interface.asp", UID: "resellid", PW: secret.String("resellpw")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{Providers: []config.Provider{{Name: "enom-main", Type: "enom", TLDs: []string{"com"}}}}
	sys := system.New(system.Options{Config: cfg, Redis: env.Client, Namespace: env.Namespace,
		Accounts: map[string]worker.Account{"enom-main": {Name: "enom-main", Type: "enom", Registrar: reg}},
		Log:      zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	ctx := context.Background()
	if _, err := sys.StoreWatch.Adopt(ctx); err != nil {
		t.Fatal(err)
	}
	srv := worker.NewServers(env.Client, worker.ServerConfig{Concurrency: 4, ShutdownTimeout: 5 * time.Second,
		Queues: tasks.Namespace(env.Namespace), PollInterval: 20 * time.Millisecond, Log: sys.Log})
	if err := srv.Start(sys.Worker().Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)

	redistest.Clean(env.Client, env.Namespace) // the wipe
	time.Sleep(1100 * time.Millisecond)        // older than the guard's last look

	task, err := tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{Domain: "held.com", Provider: "enom-main", RequestedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	queue := tasks.Namespace(env.Namespace).Queue(tasks.QueueChanges)
	info, err := asynq.NewClientFromRedisClient(env.Client).Enqueue(task, asynq.Queue(queue), asynq.MaxRetry(3))
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(env.Client)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ti, err := insp.GetTaskInfo(queue, info.ID)
		if err == nil && ti.State == asynq.TaskStateRetry {
			if !strings.Contains(ti.LastErr, "store lost") || ti.Retried != 0 {
				t.Fatalf("held task: last error %q, retried %d; want the reason and no attempt used", ti.LastErr, ti.Retried)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the task was not held: %+v %v", ti, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := acct.Calls(); n != 0 {
		t.Fatalf("%d registrar calls while the store was lost", n)
	}
	if st := sys.StoreWatch.State(); st != store.StateLost {
		t.Fatalf("watch state %q", st)
	}

	if _, err := sys.Store.Resolve(ctx, store.ResolvedByAccept); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := insp.RunTask(queue, info.ID); err != nil { // rather than wait out the hold
		t.Fatal(err)
	}
	deadline = time.Now().Add(15 * time.Second)
	for l, _ := sim.Locked("held.com"); !l; l, _ = sim.Locked("held.com") {
		if time.Now().After(deadline) {
			t.Fatal("the held task did not run once the store was accepted")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
