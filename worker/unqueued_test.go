package worker_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// later returns a clock UnqueuedAge and a bit past now, where the janitor
// acts on what was recorded now.
func later() func() time.Time {
	return func() time.Time { return time.Now().Add(intent.UnqueuedAge + time.Second) }
}

// unqueued counts the notes of intents not known to be queued, whatever
// their age.
func (b *bundle) unqueued() int {
	b.t.Helper()
	n := 0
	err := b.store.ScanUnqueued(context.Background(), time.Now().Add(time.Hour), func(us []store.Unqueued) error {
		n += len(us)
		return nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

// Redis fails between recording an intent and queueing its task (here the
// queue's connection is dead; in life a failover, a blip, or the API
// process killed in between): the producer hears 503, the intent stands,
// and the janitor queues its task, which converges the registrar.
func TestWorker_intentRecordedButNotQueuedIsQueuedByTheJanitor(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("blip.com", true)
	ctx := context.Background()
	dead := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	broken := *b.intents
	broken.Client = dead

	_, err := broken.Unlock(ctx, intent.Request{Domain: "blip.com", RequestedBy: "billing", Reason: "transfer out", RelockAfter: time.Hour})
	var nq *intent.NotQueuedError
	if !errors.As(err, &nq) || nq.Generation != 1 {
		t.Fatalf("Unlock with the queue down = %v, want a NotQueuedError for generation 1", err)
	}
	if d := b.domain("blip.com"); d.Desired.Locked || d.Desired.Generation != 1 {
		t.Fatalf("the intent was not recorded: %+v", d.Desired)
	}
	if _, err := b.insp.GetTaskInfo(b.queues.Queue(tasks.QueueChanges), "unlock:blip.com@1"); err == nil {
		t.Fatal("a task was queued through a dead connection")
	}
	// Too young: the janitor leaves it (its producer may be about to queue it).
	if n, err := b.intents.RequeueUnqueued(ctx); err != nil || n != 0 {
		t.Fatalf("janitor on a fresh intent: queued %d, %v; want 0", n, err)
	}

	janitor := *b.intents
	janitor.Now = later()
	n, err := janitor.RequeueUnqueued(ctx)
	if err != nil || n != 1 {
		t.Fatalf("janitor: queued %d, %v; want 1", n, err)
	}
	b.converged("blip.com", false)
	if w := b.sim.Writes("blip.com"); w != 1 {
		t.Errorf("registrar saw %d writes, want 1", w)
	}
	// The task carried the producer's words to the audit trail's task, and
	// the unlock window was scheduled.
	info, err := b.insp.GetTaskInfo(b.queues.Queue(tasks.QueueFixes), "relock:blip.com@1")
	if err != nil {
		t.Fatalf("the unlock window's relock was not scheduled: %v", err)
	}
	if info.State != asynq.TaskStateScheduled {
		t.Errorf("relock task state %v, want scheduled", info.State)
	}
	if got := b.unqueued(); got != 0 {
		t.Errorf("%d notes left after the task ran", got)
	}
	if n, err := janitor.RequeueUnqueued(ctx); err != nil || n != 0 {
		t.Fatalf("janitor again: queued %d, %v; want 0", n, err)
	}
}

// The common path leaves the janitor nothing: the worker's reading, in sync
// with the intent, settles it, so no task runs twice.
func TestWorker_queuedIntentLeavesTheJanitorNothing(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("calm.com", false)
	b.acct.AddDomain("locked.com", true)
	ctx := context.Background()
	for _, d := range []string{"calm.com", "locked.com"} {
		if _, err := b.intents.Lock(ctx, intent.Request{Domain: d}); err != nil {
			t.Fatal(err)
		}
	}
	b.converged("calm.com", true)
	b.converged("locked.com", true)
	b.idle()
	if got := b.unqueued(); got != 0 {
		t.Fatalf("%d notes left after the tasks ran", got)
	}
	janitor := *b.intents
	janitor.Now = later()
	if n, err := janitor.RequeueUnqueued(ctx); err != nil || n != 0 {
		t.Fatalf("janitor: queued %d, %v; want 0", n, err)
	}
	if r := b.sim.Reads("locked.com"); r != 1 {
		t.Errorf("registrar saw %d reads of the in-sync domain, want 1", r)
	}
}

// A task that is queued but has not run yet (a backlog, a breaker, a
// registrar outage) is not queued twice: the janitor finds it under its ID
// and only drops its note.
func TestWorker_janitorDoesNotQueueATaskTwice(t *testing.T) {
	b := setup(t)
	b.srv.Shutdown() // nothing runs the tasks
	b.acct.AddDomain("backlog.com", false)
	ctx := context.Background()
	if _, err := b.intents.Lock(ctx, intent.Request{Domain: "backlog.com"}); err != nil {
		t.Fatal(err)
	}
	janitor := *b.intents
	janitor.Now = later()
	if n, err := janitor.RequeueUnqueued(ctx); err != nil || n != 0 {
		t.Fatalf("janitor: queued %d, %v; want 0 (the task is queued)", n, err)
	}
	if got := b.unqueued(); got != 0 {
		t.Errorf("%d notes left; the queued task's note should be settled", got)
	}
	info, err := b.insp.GetQueueInfo(b.queues.Queue(tasks.QueueChanges))
	if err != nil || info.Pending != 1 {
		t.Fatalf("queue: %+v, %v; want exactly 1 pending task", info, err)
	}
}

// A trade lock setting recorded but not queued is queued again with its
// consent IP, even after newer lock intents (its task still delivers it); a
// lock intent superseded meanwhile is dropped, not queued.
func TestWorker_janitorRebuildsTradeLockAndDropsSuperseded(t *testing.T) {
	b := setup(t)
	b.srv.Shutdown()
	b.intents.Routes = intent.NewRoutes(&config.Config{Providers: []config.Provider{{Name: "opensrs", Type: "opensrs", TLDs: []string{"net"}}}})
	ctx := context.Background()
	dead := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	broken := *b.intents
	broken.Client = dead
	consent := netip.MustParseAddr("198.51.100.4")
	if _, err := broken.TradeLock(ctx, intent.Request{Domain: "traded.net", TradeEnable: true, ConsentIP: consent, RequestedBy: "crm"}); err == nil {
		t.Fatal("TradeLock through a dead queue succeeded")
	}
	if _, err := broken.Lock(ctx, intent.Request{Domain: "traded.net"}); err == nil {
		t.Fatal("Lock through a dead queue succeeded")
	}
	if _, err := broken.Unlock(ctx, intent.Request{Domain: "traded.net"}); err == nil {
		t.Fatal("Unlock through a dead queue succeeded")
	}
	janitor := *b.intents
	janitor.Now = later()
	n, err := janitor.RequeueUnqueued(ctx)
	if err != nil || n != 2 {
		t.Fatalf("janitor: queued %d, %v; want 2 (the trade setting and the unlock)", n, err)
	}
	q := b.queues.Queue(tasks.QueueChanges)
	if _, err := b.insp.GetTaskInfo(q, "unlock:traded.net@3"); err != nil {
		t.Fatalf("the unlock of generation 3 was not queued: %v", err)
	}
	if _, err := b.insp.GetTaskInfo(q, "lock:traded.net@2"); err == nil {
		t.Fatal("the superseded lock was queued")
	}
	info, err := b.insp.GetTaskInfo(q, "trade:traded.net@1")
	if err != nil {
		t.Fatalf("the trade lock setting was not queued: %v", err)
	}
	var p tasks.TradeLockPayload
	if err := tasks.Decode(asynq.NewTask(info.Type, info.Payload), &p); err != nil {
		t.Fatal(err)
	}
	if !p.Enable || p.ConsentIP != consent || p.RequestedBy != "crm" || p.Generation != 1 || p.Provider != "opensrs" {
		t.Fatalf("rebuilt trade lock task: %+v", p)
	}
	if got := b.unqueued(); got != 0 {
		t.Errorf("%d notes left after the janitor", got)
	}
}
