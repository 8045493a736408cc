package simulation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// queueBundle is a simulation with one queue whose retry delays are
// recorded.
type queueBundle struct {
	s      *Sim
	q      *Queue
	delays []delayCall
}

type delayCall struct {
	n   int
	err error
}

func setupQueue(t *testing.T, seed uint64, isFailure func(error) bool) *queueBundle {
	t.Helper()
	b := &queueBundle{s: setup(t, seed)}
	b.q = b.s.NewQueue(QueueConfig{
		RetryDelay: func(n int, err error, _ *asynq.Task) time.Duration {
			b.delays = append(b.delays, delayCall{n, err})
			return 10 * time.Second
		},
		IsFailure:     isFailure,
		LeaseRecovery: time.Minute,
	})
	return b
}

// enqueue queues a task from outside actors.
func (b *queueBundle) enqueue(t *testing.T, typ string, opts ...asynq.Option) *asynq.TaskInfo {
	t.Helper()
	info, err := b.q.EnqueueContext(context.Background(), asynq.NewTask(typ, []byte(typ)), opts...)
	if err != nil {
		t.Fatalf("enqueue %s: %v", typ, err)
	}
	return info
}

// runUntil runs until cond holds, within a virtual hour.
func (b *queueBundle) runUntil(t *testing.T, cond func() bool) {
	t.Helper()
	if err := b.s.Run(cond, b.s.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func (b *queueBundle) info(t *testing.T, queue, id string) *asynq.TaskInfo {
	t.Helper()
	info, err := b.q.GetTaskInfo(queue, id)
	if err != nil {
		t.Fatalf("GetTaskInfo(%s, %s): %v", queue, id, err)
	}
	return info
}

// failing is a handler that returns err every time and counts its calls.
type failing struct {
	err   error
	calls int
}

func (h *failing) ProcessTask(context.Context, *asynq.Task) error {
	h.calls++
	return h.err
}

func stateIs(q *Queue, queue, id string, st asynq.TaskState) func() bool {
	return func() bool {
		info, err := q.GetTaskInfo(queue, id)
		return err == nil && info.State == st
	}
}

func TestQueue_outcomes(t *testing.T) {
	busy := errors.New("busy")
	tests := []struct {
		name        string
		err         error
		isFailure   func(error) bool
		maxRetry    int
		retention   time.Duration
		attempts    int // handler calls to wait for
		wantState   asynq.TaskState
		wantGone    bool
		wantRetried int
		wantDelayNs []int // retry counts RetryDelay was asked with
	}{
		{name: "failures count", err: busy, maxRetry: 5, attempts: 3, wantState: asynq.TaskStateRetry, wantRetried: 3, wantDelayNs: []int{0, 1, 2}},
		{name: "not failures do not count", err: busy, isFailure: func(error) bool { return false }, maxRetry: 5, attempts: 3,
			wantState: asynq.TaskStateRetry, wantRetried: 0, wantDelayNs: []int{0, 0, 0}},
		{name: "exhausted", err: busy, maxRetry: 2, attempts: 3, wantState: asynq.TaskStateArchived, wantRetried: 2, wantDelayNs: []int{0, 1}},
		// asynq v0.26 archives an exhausted task whatever IsFailure says;
		// with IsFailure false the count never grows, so only MaxRetry 0
		// exhausts it.
		{name: "exhausted not failure", err: busy, isFailure: func(error) bool { return false }, maxRetry: 0, attempts: 1,
			wantState: asynq.TaskStateArchived, wantRetried: 0},
		{name: "SkipRetry", err: fmt.Errorf("bad payload: %w", asynq.SkipRetry), maxRetry: 5, attempts: 1, wantState: asynq.TaskStateArchived},
		{name: "RevokeTask", err: fmt.Errorf("stale: %w", asynq.RevokeTask), maxRetry: 5, retention: time.Hour, attempts: 1, wantGone: true},
		{name: "success", maxRetry: 5, attempts: 1, wantGone: true},
		{name: "success with retention", maxRetry: 5, retention: time.Hour, attempts: 1, wantState: asynq.TaskStateCompleted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setupQueue(t, 1, tt.isFailure)
			h := &failing{err: tt.err}
			b.q.StartWorker("worker", []string{"q"}, h, nil)
			info := b.enqueue(t, "t", asynq.Queue("q"), asynq.MaxRetry(tt.maxRetry), asynq.Retention(tt.retention))
			b.runUntil(t, func() bool {
				if h.calls < tt.attempts {
					return false
				}
				got, err := b.q.GetTaskInfo("q", info.ID)
				return err == nil && got.State != asynq.TaskStateActive || errors.Is(err, asynq.ErrTaskNotFound)
			})
			if h.calls != tt.attempts {
				t.Fatalf("handler called %d times, want %d", h.calls, tt.attempts)
			}
			got, err := b.q.GetTaskInfo("q", info.ID)
			if tt.wantGone {
				if !errors.Is(err, asynq.ErrTaskNotFound) {
					t.Fatalf("GetTaskInfo: %+v, %v; want asynq.ErrTaskNotFound", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tt.wantState || got.Retried != tt.wantRetried {
				t.Errorf("state %s, retried %d; want %s, %d", got.State, got.Retried, tt.wantState, tt.wantRetried)
			}
			if tt.err != nil && got.LastErr != tt.err.Error() {
				t.Errorf("LastErr %q, want %q", got.LastErr, tt.err)
			}
			var ns []int
			for _, d := range b.delays {
				ns = append(ns, d.n)
				if !errors.Is(d.err, tt.err) {
					t.Errorf("RetryDelay asked with %v", d.err)
				}
			}
			if !slices.Equal(ns, tt.wantDelayNs) {
				t.Errorf("RetryDelay asked with counts %v, want %v", ns, tt.wantDelayNs)
			}
		})
	}
}

func TestQueue_retention(t *testing.T) {
	b := setupQueue(t, 2, nil)
	b.q.StartWorker("worker", []string{"q"}, &failing{}, nil)
	info := b.enqueue(t, "t", asynq.Queue("q"), asynq.TaskID("id"), asynq.Retention(10*time.Second))
	b.runUntil(t, stateIs(b.q, "q", info.ID, asynq.TaskStateCompleted))
	done := b.s.Now()
	b.runUntil(t, func() bool { return b.s.Now().After(done.Add(12 * time.Second)) })
	if _, err := b.q.GetTaskInfo("q", "id"); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Fatalf("GetTaskInfo after the retention: %v, want asynq.ErrTaskNotFound", err)
	}
	b.enqueue(t, "t", asynq.Queue("q"), asynq.TaskID("id")) // the ID is free again
}

// blocking is a handler that sleeps on the virtual clock until its context
// ends or the hour is up.
type blocking struct {
	s       *Sim
	started int
	ctxErr  error
	ended   time.Time
	taskID  string
}

func (h *blocking) ProcessTask(ctx context.Context, _ *asynq.Task) error {
	h.started++
	h.taskID, _ = asynq.GetTaskID(ctx)
	err := h.s.Clock().Sleep(ctx, time.Hour)
	h.ctxErr, h.ended = err, h.s.Now()
	return err
}

func TestQueue_TaskIDConflict(t *testing.T) {
	b := setupQueue(t, 3, nil)
	h := &blocking{s: b.s}
	b.q.StartWorker("active", []string{"active"}, h, nil)
	b.q.StartWorker("others", []string{"retry", "archived", "completed"}, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		switch t.Type() {
		case "retry":
			return errors.New("again later")
		case "archived":
			return asynq.SkipRetry
		}
		return nil
	}), nil)
	b.enqueue(t, "pending", asynq.Queue("pending"), asynq.TaskID("id"))
	b.enqueue(t, "scheduled", asynq.Queue("scheduled"), asynq.TaskID("id"), asynq.ProcessIn(time.Hour))
	for _, q := range []string{"active", "retry", "archived", "completed"} {
		b.enqueue(t, q, asynq.Queue(q), asynq.TaskID("id"), asynq.Retention(time.Hour))
	}
	b.runUntil(t, func() bool {
		return stateIs(b.q, "active", "id", asynq.TaskStateActive)() && stateIs(b.q, "retry", "id", asynq.TaskStateRetry)() &&
			stateIs(b.q, "archived", "id", asynq.TaskStateArchived)() && stateIs(b.q, "completed", "id", asynq.TaskStateCompleted)()
	})
	for _, q := range []string{"pending", "scheduled", "active", "retry", "archived", "completed"} {
		_, err := b.q.EnqueueContext(context.Background(), asynq.NewTask("again", nil), asynq.Queue(q), asynq.TaskID("id"))
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			t.Errorf("enqueue over a %s task: %v, want asynq.ErrTaskIDConflict", q, err)
		}
	}
	// The same ID in another queue is another task.
	b.enqueue(t, "elsewhere", asynq.Queue("elsewhere"), asynq.TaskID("id"))
	if h.taskID != "id" {
		t.Errorf("asynq.GetTaskID in the handler: %q", h.taskID)
	}
}

func TestQueue_leaseRecovery(t *testing.T) {
	for _, maxRetry := range []int{0, 3} {
		t.Run(fmt.Sprint("MaxRetry ", maxRetry), func(t *testing.T) {
			b := setupQueue(t, 4, nil)
			h := &blocking{s: b.s}
			w := b.q.StartWorker("worker", []string{"q"}, h, nil)
			info := b.enqueue(t, "t", asynq.Queue("q"), asynq.MaxRetry(maxRetry))
			b.runUntil(t, func() bool { return h.started == 1 })
			b.s.Kill(w)
			killedAt := b.s.Now()
			b.runUntil(t, w.Done)
			if !h.ended.IsZero() {
				t.Fatal("the handler of a killed worker went on running")
			}
			tasks := b.q.Tasks()
			if len(tasks) != 1 || tasks[0].State != asynq.TaskStateActive || !tasks[0].IsOrphaned {
				t.Fatalf("tasks after the kill: %+v, want one orphaned active task", tasks)
			}
			b.runUntil(t, func() bool { return !stateIs(b.q, "q", info.ID, asynq.TaskStateActive)() })
			if d := b.s.Now().Sub(killedAt); d < time.Minute || d > time.Minute+10*time.Millisecond {
				t.Errorf("handed back %s after the kill, want a minute", d)
			}
			got := b.info(t, "q", info.ID)
			wantState, wantRetried := asynq.TaskStateRetry, 1
			if maxRetry == 0 {
				wantState, wantRetried = asynq.TaskStateArchived, 0
			}
			if got.State != wantState || got.Retried != wantRetried || got.LastErr != asynq.ErrLeaseExpired.Error() {
				t.Fatalf("recovered task: %s, retried %d, %q", got.State, got.Retried, got.LastErr)
			}
			if maxRetry > 0 && (len(b.delays) != 1 || !errors.Is(b.delays[0].err, asynq.ErrLeaseExpired)) {
				t.Fatalf("RetryDelay calls %v, want one for asynq.ErrLeaseExpired", b.delays)
			}
		})
	}
}

func TestQueue_replacementWorker(t *testing.T) {
	b := setupQueue(t, 5, nil)
	h := &blocking{s: b.s}
	w := b.q.StartWorker("worker", []string{"q"}, h, nil)
	b.enqueue(t, "t", asynq.Queue("q"))
	b.runUntil(t, func() bool { return h.started == 1 })
	b.s.Kill(w)
	done := &failing{}
	b.q.StartWorker("worker again", []string{"q"}, done, nil)
	b.runUntil(t, b.q.Idle)
	if done.calls != 1 {
		t.Fatalf("the replacement ran the task %d times, want once", done.calls)
	}
}

func TestQueue_deadline(t *testing.T) {
	b := setupQueue(t, 6, nil)
	h := &blocking{s: b.s}
	b.q.StartWorker("worker", []string{"q"}, h, nil)
	info := b.enqueue(t, "t", asynq.Queue("q"), asynq.Timeout(5*time.Second))
	begin := b.s.Now()
	b.runUntil(t, stateIs(b.q, "q", info.ID, asynq.TaskStateRetry))
	if !errors.Is(h.ctxErr, context.DeadlineExceeded) {
		t.Fatalf("the handler's context ended with %v", h.ctxErr)
	}
	if d := h.ended.Sub(begin); d < 5*time.Second || d > 6*time.Second {
		t.Errorf("the handler's context ended after %s, want 5s", d)
	}
	if got := b.info(t, "q", info.ID); got.LastErr != context.DeadlineExceeded.Error() || got.Retried != 1 {
		t.Errorf("after the deadline: %q, retried %d", got.LastErr, got.Retried)
	}
}

func TestQueue_ordering(t *testing.T) {
	tests := []struct {
		name    string
		queues  []string
		enqueue func(b *queueBundle, t *testing.T)
		want    []string
	}{
		{
			name:   "ProcessAt",
			queues: []string{"q"},
			enqueue: func(b *queueBundle, t *testing.T) {
				at := b.s.Now().Add(10 * time.Second)
				b.enqueue(t, "third", asynq.Queue("q"), asynq.ProcessAt(at.Add(5*time.Second)))
				b.enqueue(t, "first", asynq.Queue("q"), asynq.ProcessAt(at.Add(time.Second)))
				b.enqueue(t, "second", asynq.Queue("q"), asynq.ProcessAt(at.Add(3*time.Second)))
			},
			want: []string{"first", "second", "third"},
		},
		{
			name:   "enqueue order",
			queues: []string{"q"},
			enqueue: func(b *queueBundle, t *testing.T) {
				for _, n := range []string{"a", "b", "c", "d"} {
					b.enqueue(t, n, asynq.Queue("q"))
				}
			},
			want: []string{"a", "b", "c", "d"},
		},
		{
			name:   "strict priority",
			queues: []string{"high", "low"},
			enqueue: func(b *queueBundle, t *testing.T) {
				b.enqueue(t, "low 1", asynq.Queue("low"))
				b.enqueue(t, "high 1", asynq.Queue("high"))
				b.enqueue(t, "low 2", asynq.Queue("low"))
				b.enqueue(t, "high 2", asynq.Queue("high"))
			},
			want: []string{"high 1", "high 2", "low 1", "low 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setupQueue(t, 7, nil)
			var got []string
			tt.enqueue(b, t)
			b.q.StartWorker("worker", tt.queues, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
				got = append(got, t.Type())
				return nil
			}), nil)
			b.runUntil(t, b.q.Idle)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("processed %v, want %v", got, tt.want)
			}
		})
	}
}

// asynq's forwarder works in Unix seconds: a task is due once the clock's
// second reaches its own.
func TestQueue_dueToTheSecond(t *testing.T) {
	b := setupQueue(t, 8, nil)
	var ran time.Time
	b.q.StartWorker("worker", []string{"q"}, asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		ran = b.s.Now()
		return nil
	}), nil)
	at := start.Add(10*time.Second + 900*time.Millisecond)
	b.enqueue(t, "t", asynq.Queue("q"), asynq.ProcessAt(at))
	b.runUntil(t, b.q.Idle)
	if sec := at.Truncate(time.Second); ran.Before(sec) || !ran.Before(at.Add(time.Second)) {
		t.Fatalf("ran at %s for %s: want from %s on, within the poll interval", ran, at, sec)
	}
}

func TestQueue_taskOptions(t *testing.T) {
	b := setupQueue(t, 9, nil)
	task := asynq.NewTaskWithHeaders("t", []byte("p"), map[string]string{"h": "v"}, asynq.Queue("from-task"), asynq.MaxRetry(3), asynq.Timeout(time.Minute))
	info, err := b.q.EnqueueContext(context.Background(), task, asynq.TaskID("id"), asynq.MaxRetry(7))
	if err != nil {
		t.Fatal(err)
	}
	if info.Queue != "from-task" || info.MaxRetry != 7 || info.Timeout != time.Minute || info.Headers["h"] != "v" || string(info.Payload) != "p" {
		t.Fatalf("enqueued %+v", info)
	}
	var gotHeaders map[string]string
	var gotRetry, gotMax int
	b.q.StartWorker("worker", []string{"from-task"}, asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		gotHeaders = t.Headers()
		gotRetry, _ = asynq.GetRetryCount(ctx)
		gotMax, _ = asynq.GetMaxRetry(ctx)
		return nil
	}), nil)
	b.runUntil(t, b.q.Idle)
	if gotHeaders["h"] != "v" || gotRetry != 0 || gotMax != 7 {
		t.Fatalf("handler saw headers %v, retry %d of %d", gotHeaders, gotRetry, gotMax)
	}
	info2, err := b.q.EnqueueContext(context.Background(), asynq.NewTask("t", nil))
	if err != nil || info2.Queue != "default" || info2.MaxRetry != 25 || info2.Timeout != 30*time.Minute || info2.ID == "" {
		t.Fatalf("defaults: %+v, %v", info2, err)
	}
}

func TestQueue_inspector(t *testing.T) {
	b := setupQueue(t, 10, nil)
	if _, err := b.q.GetTaskInfo("nowhere", "id"); !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Errorf("GetTaskInfo in an unknown queue: %v", err)
	}
	b.enqueue(t, "t", asynq.Queue("q"), asynq.TaskID("pending"))
	if _, err := b.q.GetTaskInfo("q", "missing"); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("GetTaskInfo of a missing task: %v", err)
	}
	if err := b.q.DeleteTask("q", "pending"); err != nil {
		t.Fatalf("DeleteTask of a pending task: %v", err)
	}
	if err := b.q.DeleteTask("q", "pending"); !errors.Is(err, asynq.ErrTaskNotFound) {
		t.Errorf("DeleteTask twice: %v", err)
	}
	h := &blocking{s: b.s}
	b.q.StartWorker("worker", []string{"q"}, h, nil)
	b.enqueue(t, "t", asynq.Queue("q"), asynq.TaskID("active"))
	b.runUntil(t, func() bool { return h.started == 1 })
	if err := b.q.DeleteTask("q", "active"); err == nil {
		t.Fatal("DeleteTask of an active task: no error")
	}
}

func TestQueue_faults(t *testing.T) {
	for _, tt := range []struct {
		faults     QueueFaults
		wantQueued bool
	}{{QueueFaults{EnqueueBefore: 1}, false}, {QueueFaults{EnqueueAfter: 1}, true}} {
		b := setupQueue(t, 11, nil)
		b.q.SetFaults(tt.faults)
		var err error
		inActor(t, b.s, func(ctx context.Context) {
			_, err = b.q.EnqueueContext(ctx, asynq.NewTask("t", nil), asynq.TaskID("id"))
		})
		var f *Fault
		if !errors.As(err, &f) || f.Lost != tt.wantQueued {
			t.Errorf("%+v: %v", tt.faults, err)
		}
		if _, err := b.q.GetTaskInfo("default", "id"); (err == nil) != tt.wantQueued {
			t.Errorf("%+v: queued %v, want %v", tt.faults, err == nil, tt.wantQueued)
		}
	}
}

func TestQueue_Unique(t *testing.T) {
	b := setupQueue(t, 12, nil)
	b.enqueue(t, "t", asynq.Unique(time.Minute))
	if _, err := b.q.EnqueueContext(context.Background(), asynq.NewTask("t", []byte("t")), asynq.Unique(time.Minute)); !errors.Is(err, asynq.ErrDuplicateTask) {
		t.Fatalf("a duplicate: %v, want asynq.ErrDuplicateTask", err)
	}
	b.q.StartWorker("worker", []string{"default"}, &failing{}, nil)
	b.runUntil(t, b.q.Idle)
	b.enqueue(t, "t", asynq.Unique(time.Minute)) // success released the lock
}
