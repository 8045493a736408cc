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
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// later is when the janitor acts on what was recorded now.
func later() time.Time { return time.Now().Add(intent.UnqueuedAge + 2*time.Minute) }

// owed counts the domains owed work, whatever its due time.
func (b *bundle) owed() int {
	b.t.Helper()
	n := 0
	err := b.store.ScanOwed(context.Background(), time.Now().Add(24*time.Hour), func(os []store.Owed) error {
		for _, o := range os {
			if o.Mark != nil || o.Legacy {
				n++
			}
		}
		return nil
	})
	if err != nil {
		b.t.Fatal(err)
	}
	return n
}

func (b *bundle) runJanitor(at time.Time) reconcile.JanitorReport {
	b.t.Helper()
	rep, err := b.janitor(at).Run(context.Background())
	if err != nil {
		b.t.Fatal(err)
	}
	return rep
}

// Redis fails between recording an intent and queueing its task (here the
// queue's connection is dead; in life a failover, a blip, or the API
// process killed in between): the producer hears 503, the intent stands,
// and the janitor queues its task, which converges the registrar and queues
// the relock of its window.
func TestWorker_intentRecordedButNotQueuedIsQueuedByTheJanitor(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("blip.com", true)
	ctx := context.Background()
	dead := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	broken := *b.intents
	broken.Queue.Client = dead

	_, err := broken.Unlock(ctx, intent.Request{Domain: "blip.com", RequestedBy: "billing", Reason: "transfer out", RelockAfter: time.Hour})
	var nq *intent.NotQueuedError
	if !errors.As(err, &nq) || nq.Generation != 1 {
		t.Fatalf("Unlock with the queue down = %v, want a NotQueuedError for generation 1", err)
	}
	d := b.domain("blip.com")
	if d.Desired.Locked || d.Desired.Generation != 1 || !d.Work.Pending {
		t.Fatalf("the intent was not recorded with its mark: %+v", d)
	}
	if _, err := b.insp.GetTaskInfo(b.queues.Queue(tasks.QueueChanges), "unlock:blip.com@1"); err == nil {
		t.Fatal("a task was queued through a dead connection")
	}
	// Too young: the janitor leaves it (its producer may be about to queue it).
	if rep := b.runJanitor(time.Now()); rep.Queued != 0 {
		t.Fatalf("janitor on a fresh intent: %+v", rep)
	}
	if rep := b.runJanitor(later()); rep.Queued != 1 {
		t.Fatalf("janitor: %+v, want 1 task queued", rep)
	}
	b.converged("blip.com", false)
	if w := b.sim.Writes("blip.com"); w != 1 {
		t.Errorf("registrar saw %d writes, want 1", w)
	}
	// The relock is queued as the task settles, which may be just after the
	// store shows the domain converged.
	var info *asynq.TaskInfo
	b.eventually("the unlock window's relock to be scheduled", 5*time.Second, func() bool {
		info, _ = b.insp.GetTaskInfo(b.queues.Queue(tasks.QueueFixes), tasks.RelockID("blip.com", d.Desired.RelockAt))
		return info != nil
	})
	if info.State != asynq.TaskStateScheduled {
		t.Errorf("relock task state %v, want scheduled", info.State)
	}
	b.eventually("the mark to be settled", 5*time.Second, func() bool { return b.owed() == 0 })
	if rep := b.runJanitor(later()); rep.Queued != 0 || rep.Alive != 0 {
		t.Fatalf("janitor again: %+v; want nothing", rep)
	}
}

// The common path leaves the janitor nothing: the worker's reading, in sync
// with the intent, settles the mark, so no task runs twice.
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
	if got := b.owed(); got != 0 {
		t.Fatalf("%d marks left after the tasks ran", got)
	}
	if rep := b.runJanitor(later()); rep.Queued != 0 {
		t.Fatalf("janitor: %+v; want nothing queued", rep)
	}
	if r := b.sim.Reads("locked.com"); r != 1 {
		t.Errorf("registrar saw %d reads of the in-sync domain, want 1", r)
	}
}

// A task that is queued but has not run yet (a backlog, a breaker, a
// registrar outage) is not queued twice: the janitor finds it under its ID
// and leaves the mark, which stays until the task has run.
func TestWorker_janitorDoesNotQueueATaskTwice(t *testing.T) {
	b := setup(t)
	b.srv.Shutdown() // nothing runs the tasks
	b.acct.AddDomain("backlog.com", false)
	ctx := context.Background()
	if _, err := b.intents.Lock(ctx, intent.Request{Domain: "backlog.com"}); err != nil {
		t.Fatal(err)
	}
	if rep := b.runJanitor(later()); rep.Queued != 0 || rep.Alive != 1 {
		t.Fatalf("janitor: %+v; want the queued task found alive", rep)
	}
	if got := b.owed(); got != 1 {
		t.Errorf("%d marks; the mark must stay until the task has run", got)
	}
	info, err := b.insp.GetQueueInfo(b.queues.Queue(tasks.QueueChanges))
	if err != nil || info.Pending != 1 {
		t.Fatalf("queue: %+v, %v; want exactly 1 pending task", info, err)
	}
	b.startWorker()
	b.converged("backlog.com", true)
	b.eventually("the mark to be settled", 5*time.Second, func() bool { return b.owed() == 0 })
}

// A trade lock setting, then a lock, then an unlock, all recorded but none
// queued: the janitor queues one task for the domain's current intent, and
// that task carries out both the unlock and the trade lock setting, with
// its consent IP, from the store.
func TestWorker_janitorQueuesOneTaskForEverythingOwed(t *testing.T) {
	b := setup(t)
	b.srv.Shutdown()
	b.addOpenSRS()
	b.osrs.AddDomain("traded.net", true)
	b.intents.Config = &config.Config{Providers: []config.Provider{{Name: "opensrs", Type: "opensrs", TLDs: []string{"net"}}}}
	ctx := context.Background()
	dead := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	broken := *b.intents
	broken.Queue.Client = dead
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
	if rep := b.runJanitor(later()); rep.Queued != 1 {
		t.Fatalf("janitor: %+v, want 1 task queued", rep)
	}
	if _, err := b.insp.GetTaskInfo(b.queues.Queue(tasks.QueueChanges), "unlock:traded.net@3"); err != nil {
		t.Fatalf("the unlock of generation 3 was not queued: %v", err)
	}
	b.startWorker()
	b.converged("traded.net", false)
	b.eventually("the trade lock setting", 5*time.Second, func() bool {
		enable, ip, set := b.sim.TradeLock("traded.net")
		return set && enable && ip == consent.String()
	})
	b.eventually("the mark to be settled", 5*time.Second, func() bool { return b.owed() == 0 })
	if d := b.domain("traded.net"); !d.Desired.TradeApplied {
		t.Fatalf("trade setting not recorded as applied: %+v", d.Desired)
	}
}
