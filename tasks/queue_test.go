package tasks

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// recorder is an Enqueuer that keeps what it was given and refuses a
// second task under an ID, as asynq does.
type recorder struct {
	tasks map[string]queued
}

type queued struct {
	typ, queue string
	at         time.Time
	in         time.Duration
	retention  time.Duration
}

func (r *recorder) EnqueueContext(_ context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	q := queued{typ: t.Type()}
	var id string
	for _, o := range opts {
		switch o.Type() {
		case asynq.TaskIDOpt:
			id = o.Value().(string)
		case asynq.QueueOpt:
			q.queue = o.Value().(string)
		case asynq.ProcessAtOpt:
			q.at = o.Value().(time.Time)
		case asynq.ProcessInOpt:
			q.in = o.Value().(time.Duration)
		case asynq.RetentionOpt:
			q.retention = o.Value().(time.Duration)
		}
	}
	if _, dup := r.tasks[id]; dup {
		return nil, asynq.ErrTaskIDConflict
	}
	r.tasks[id] = q
	return &asynq.TaskInfo{ID: id, Queue: q.queue}, nil
}

// Every kind of work goes under its ID, on its queue, with its options, in
// the namespace; queueing it twice is no error and queues it once.
func TestQueue(t *testing.T) {
	rec := &recorder{tasks: map[string]queued{}}
	q := Queue{Client: rec, Namespace: "ns"}
	ctx := context.Background()
	at := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	in := Intent{Domain: "example.com", Provider: "enom", Generation: 3, RequestedAt: at}
	for range 2 {
		if id, err := q.Lock(ctx, LockPayload{Intent: in}); err != nil || id != "lock:example.com@3" {
			t.Fatalf("Lock: %q %v", id, err)
		}
		if id, err := q.Unlock(ctx, UnlockPayload{Intent: in}); err != nil || id != "unlock:example.com@3" {
			t.Fatalf("Unlock: %q %v", id, err)
		}
		if _, err := q.Relock(ctx, in); err != nil {
			t.Fatalf("Relock: %v", err)
		}
		if err := q.Confirm(ctx, "example.com", 3, 30*time.Second); err != nil {
			t.Fatalf("Confirm: %v", err)
		}
		if id, err := q.Fix(ctx, in, true, "sweep-1"); err != nil || id != "fix:example.com@3:sweep-1" {
			t.Fatalf("Fix: %q %v", id, err)
		}
		if err := q.SweepStart(ctx, "sweep-1"); err != nil {
			t.Fatalf("SweepStart: %v", err)
		}
		if err := q.SweepUnit(ctx, "sweep-1", "k:b:enom-main"); err != nil {
			t.Fatalf("SweepUnit: %v", err)
		}
		if err := q.SweepFinish(ctx, "sweep-1"); err != nil {
			t.Fatalf("SweepFinish: %v", err)
		}
	}
	if queued, err := q.Relock(ctx, in); err != nil || queued {
		t.Fatalf("Relock again: queued %v, %v", queued, err)
	}
	want := map[string]queued{
		"lock:example.com@3":                      {typ: TypeLock, queue: "ns:reglock:changes"},
		"unlock:example.com@3":                    {typ: TypeUnlock, queue: "ns:reglock:changes"},
		"relock:example.com@20261205T030000.000Z": {typ: TypeLock, queue: "ns:reglock:fixes", at: at},
		"confirm:example.com@3":                   {typ: TypeCheck, queue: "ns:reglock:checks", in: 30 * time.Second},
		"fix:example.com@3:sweep-1":               {typ: TypeLock, queue: "ns:reglock:fixes"},
		"sweep-1:start":                           {typ: TypeSweep, queue: "ns:reglock:checks", retention: SweepRetention},
		"sweep-1:unit:k:b:enom-main":              {typ: TypeSweep, queue: "ns:reglock:checks", retention: time.Hour},
		"sweep-1:finish":                          {typ: TypeSweep, queue: "ns:reglock:checks", retention: time.Hour},
	}
	if len(rec.tasks) != len(want) {
		t.Fatalf("queued %d tasks, want %d: %v", len(rec.tasks), len(want), rec.tasks)
	}
	for id, w := range want {
		if got := rec.tasks[id]; got != w {
			t.Errorf("%s: %+v, want %+v", id, got, w)
		}
		// asynqmon puts the ID in a URL path: a '/' makes the task
		// impossible to open or act on there.
		if strings.ContainsAny(id, "/?#%") {
			t.Errorf("%s: ID cannot be opened in asynqmon", id)
		}
	}
	if _, err := q.Lock(ctx, LockPayload{Intent: Intent{Domain: "not a domain"}}); err == nil {
		t.Fatal("an invalid payload was queued")
	}
}
