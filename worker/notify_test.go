package worker_test

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/worker"
)

func TestSweepEvents(t *testing.T) {
	at := time.Date(2026, 12, 2, 3, 30, 0, 0, time.UTC)
	done := sweep.Status{ID: "sweep-20261202T030000Z", State: sweep.StateDone, Counts: sweep.Counts{Checked: 1200, Drifted: 3},
		FixesQueued: 3, FinishedAt: at, Options: sweep.Options{Trigger: "schedule"}}
	evs := worker.SweepEvents(done)
	if len(evs) != 1 {
		t.Fatalf("done sweep: %d events, want 1 (finished)", len(evs))
	}
	e := evs[0]
	if e.ID != "sweep_finished:sweep-20261202T030000Z" || e.Kind != notify.KindSweepFinished || !e.Time.Equal(at) ||
		e.SweepID != done.ID || e.Summary != "sweep sweep-20261202T030000Z done: 1200 domains checked, 3 drifted, 0 unreadable, 3 fixes queued" ||
		e.Data["checked"] != int64(1200) || e.Data["state"] != "done" {
		t.Errorf("finished event %+v", e)
	}

	paused := done
	paused.State = sweep.StatePaused
	paused.Paused = map[string]string{"opensrs": "2 fixes would unlock domains", "enom-main": "40 of 400 domains drifted"}
	evs = worker.SweepEvents(paused)
	var kinds []string
	for _, e := range evs {
		kinds = append(kinds, e.Kind)
	}
	if !reflect.DeepEqual(kinds, []string{notify.KindSweepFinished, notify.KindSweepPaused}) {
		t.Fatalf("paused sweep: kinds %v", kinds)
	}
	p := evs[1]
	if p.ID != "sweep_paused:sweep-20261202T030000Z" || p.Provider != "" ||
		p.Summary != "sweep sweep-20261202T030000Z paused by the blast-radius guard (enom-main: 40 of 400 domains drifted; opensrs: 2 fixes would unlock domains); `reglock sweep apply sweep-20261202T030000Z` queues the held fixes" {
		t.Errorf("paused event %+v", p)
	}
	if !strings.HasSuffix(evs[0].Summary, "; paused for enom-main, opensrs") {
		t.Errorf("finished summary of a paused sweep: %q", evs[0].Summary)
	}
	paused.Paused = map[string]string{"enom-main": "40 of 400 domains drifted"}
	if evs = worker.SweepEvents(paused); evs[1].Provider != "enom-main" {
		t.Errorf("one account paused: provider %q, want enom-main", evs[1].Provider)
	}
}

// An unlock window that ended without its relock (the worker was down):
// the janitor queues the relock and raises relock_overdue, once.
func TestWorker_janitorRaisesRelockOverdue(t *testing.T) {
	b := setup(t)
	b.srv.Shutdown() // nothing runs the tasks
	b.acct.AddDomain("window.com", true)
	ctx := context.Background()
	if _, err := b.intents.Unlock(ctx, intent.Request{Domain: "window.com", RelockAfter: time.Hour}); err != nil {
		t.Fatal(err)
	}
	end := b.domain("window.com").Desired.RelockAt
	n := notify.New(notify.Options{
		Endpoints: []config.Notification{{Name: "ops", URL: "https://hooks.example.com", Secret: "hook-secret-0123456789",
			Events: []string{notify.KindRelockOverdue}, Format: config.FormatJSON}},
		Enqueuer: b.client, Namespace: b.queues, Redis: b.env.Client, Prefix: b.env.StorePrefix(),
	})
	id := notify.TaskID("ops", notify.NewID(notify.KindRelockOverdue, "window.com@"+notify.At(end)))
	for i := range 2 {
		j := b.janitor(end.Add(2 * time.Minute))
		j.Notify = n
		rep, err := j.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := 1 - i; rep.Relocks != want {
			t.Errorf("run %d: %+v, want %d relocks", i, rep, want)
		}
		info, err := b.insp.GetTaskInfo(b.queues.Queue(notify.Queue), id)
		if err != nil {
			t.Fatalf("run %d: no notification %s: %v", i, id, err)
		}
		if info.State != asynq.TaskStatePending || !strings.Contains(string(info.Payload), `"kind":"relock_overdue"`) ||
			!strings.Contains(string(info.Payload), `"domain":"window.com"`) {
			t.Errorf("run %d: notification %s: %v %s", i, id, info.State, info.Payload)
		}
	}
	qi, err := b.insp.GetQueueInfo(b.queues.Queue(notify.Queue))
	if err != nil || qi.Pending != 1 {
		t.Errorf("notification queue: %+v %v; want one pending delivery", qi, err)
	}
}
