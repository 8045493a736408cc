package simulation

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"
)

// QueueConfig is the part of asynq.Config the simulated queue honours.
type QueueConfig struct {
	// RetryDelay is asynq.Config.RetryDelayFunc. Required.
	RetryDelay asynq.RetryDelayFunc
	// IsFailure is asynq.Config.IsFailure; nil counts every error.
	IsFailure func(error) bool
	// LeaseRecovery is how long after its worker dies an active task is
	// handed back (by asynq's recoverer: between one and two minutes with
	// its defaults). Zero means one minute.
	LeaseRecovery time.Duration
	// PollInterval is asynq.Config.TaskCheckInterval: an idle worker looks
	// again after half of it plus a random share of it. Zero means 100ms.
	PollInterval time.Duration
}

// QueueFaults are the chances that an enqueue from an actor fails.
type QueueFaults struct {
	// EnqueueBefore: the task is not queued; the caller sees a *Fault.
	EnqueueBefore float64
	// EnqueueAfter: the task is queued, then the caller sees a *Fault.
	EnqueueAfter float64
}

// Queue is asynq v0.26.0 as its clients, inspectors and handlers see it,
// kept in memory on the virtual clock: Client.EnqueueContext,
// Inspector.GetTaskInfo and DeleteTask, and workers (a Server with
// Concurrency 1 and StrictPriority) that run handlers and settle their
// outcomes as asynq's processor and recoverer do.
//
// Where asynq works in whole seconds, so does Queue: a scheduled or retry
// task is due once the clock's Unix second reaches that of its time, which
// is up to a second early, as asynq's forwarder does it.
type Queue struct {
	sim    *Sim
	cfg    QueueConfig
	faults QueueFaults

	// all holds every task still stored, in enqueue order; live the ones
	// not archived or completed. byKey and known are only looked up, never
	// ranged over.
	all    []*qtask
	live   []*qtask
	byKey  map[taskKey]*qtask
	known  map[string]bool // asynq's set of queues: every queue ever enqueued to
	unique map[string]uniqueLock
	seq    uint64
	lease  uint64
}

type taskKey struct{ queue, id string }

type uniqueLock struct {
	id      string
	expires time.Time
}

// qtask is asynq's TaskMessage with the state its keys hold.
type qtask struct {
	seq          uint64
	id, queue    string
	typ          string
	payload      []byte
	headers      map[string]string
	state        asynq.TaskState
	maxRetry     int
	retried      int
	lastErr      string
	lastFailedAt int64 // Unix seconds, as asynq stores it
	timeout      int64 // seconds
	deadline     int64 // Unix seconds; zero: none
	retention    int64 // seconds
	uniqueKey    string
	// processAt is when a scheduled or retry task is due; pendingSince when
	// a pending one was queued.
	processAt    time.Time
	pendingSince time.Time
	completedAt  int64
	expires      time.Time // a completed task's end of retention
	// owner and lease identify the attempt of an active task.
	owner *worker
	lease uint64
}

// Attempt is one run of a task by a handler.
type Attempt struct {
	TaskID, Queue string
	// Retried and MaxRetry are what asynq.GetRetryCount and GetMaxRetry
	// report to the handler.
	Retried, MaxRetry int
}

const (
	defaultMaxRetry = 25               // asynq's
	defaultTimeout  = 30 * time.Minute // asynq's
)

// NewQueue returns an empty queue.
func (s *Sim) NewQueue(cfg QueueConfig) *Queue {
	if cfg.RetryDelay == nil {
		panic("simulation: QueueConfig.RetryDelay is required")
	}
	if cfg.IsFailure == nil {
		cfg.IsFailure = func(err error) bool { return err != nil }
	}
	if cfg.LeaseRecovery <= 0 {
		cfg.LeaseRecovery = time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = 100 * time.Millisecond
	}
	return &Queue{
		sim:    s,
		cfg:    cfg,
		byKey:  map[taskKey]*qtask{},
		known:  map[string]bool{},
		unique: map[string]uniqueLock{},
	}
}

// SetFaults sets the chances of failure from now on.
func (q *Queue) SetFaults(f QueueFaults) { q.faults = f }

// options is asynq's composeOptions result.
type options struct {
	retry     int
	queue     string
	taskID    string
	timeout   time.Duration
	deadline  time.Time
	uniqueTTL time.Duration
	processAt time.Time
	retention time.Duration
}

func (q *Queue) compose(opts []asynq.Option) (options, error) {
	o := options{retry: defaultMaxRetry, queue: "default", processAt: q.sim.now}
	for _, opt := range opts {
		switch v := opt.Value(); opt.Type() {
		case asynq.MaxRetryOpt:
			o.retry, _ = v.(int)
		case asynq.QueueOpt:
			name, _ := v.(string)
			if err := validateQueue(name); err != nil {
				return options{}, err
			}
			o.queue = name
		case asynq.TaskIDOpt:
			id, _ := v.(string)
			if strings.TrimSpace(id) == "" {
				return options{}, errors.New("task ID cannot be empty")
			}
			o.taskID = id
		case asynq.TimeoutOpt:
			o.timeout, _ = v.(time.Duration)
		case asynq.DeadlineOpt:
			o.deadline, _ = v.(time.Time)
		case asynq.UniqueOpt:
			ttl, _ := v.(time.Duration)
			if ttl < time.Second {
				return options{}, errors.New("Unique TTL cannot be less than 1s")
			}
			o.uniqueTTL = ttl
		case asynq.ProcessAtOpt:
			o.processAt, _ = v.(time.Time)
		case asynq.ProcessInOpt:
			d, _ := v.(time.Duration)
			o.processAt = q.sim.now.Add(d)
		case asynq.RetentionOpt:
			o.retention, _ = v.(time.Duration)
		case asynq.GroupOpt:
			return options{}, errors.New("simulation: asynq.Group (task aggregation) is not simulated")
		}
	}
	return o, nil
}

func validateQueue(name string) error {
	if strings.TrimSpace(name) == "" {
		return errors.New("queue name must contain one or more characters")
	}
	return nil
}

// EnqueueContext is asynq.Client.EnqueueContext: the options given to
// asynq.NewTask come first, then opts; a TaskID already present in the
// queue in any state (completed ones until their retention ends) is
// asynq.ErrTaskIDConflict; no TaskID gets a fresh random one. From an actor
// it is a scheduling point and may fail as QueueFaults say.
func (q *Queue) EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	if t == nil {
		return nil, errors.New("task cannot be nil")
	}
	if strings.TrimSpace(t.Type()) == "" {
		return nil, errors.New("task typename cannot be empty")
	}
	o, err := q.compose(append(slices.Clone(taskOptions(t)), opts...))
	if err != nil {
		return nil, err
	}
	s := q.sim
	if o.taskID == "" {
		o.taskID = newUUID(s)
	}
	msg := &qtask{
		id:        o.taskID,
		queue:     o.queue,
		typ:       t.Type(),
		payload:   slices.Clone(t.Payload()),
		headers:   maps.Clone(t.Headers()),
		maxRetry:  o.retry,
		retention: int64(o.retention.Seconds()),
	}
	// asynq's noDeadline is the Unix epoch, and a task with neither a
	// deadline nor a timeout gets the default timeout.
	if !o.deadline.IsZero() {
		msg.deadline = o.deadline.Unix()
	}
	timeout := o.timeout
	if msg.deadline == 0 && timeout == 0 {
		timeout = defaultTimeout
	}
	msg.timeout = int64(timeout.Seconds())
	if o.uniqueTTL > 0 {
		msg.uniqueKey = o.queue + "\x00" + t.Type() + "\x00" + string(t.Payload())
	}
	// asynq decides between pending and scheduled before it talks to
	// Redis, on the time it read then, and reports that time.
	readAt := s.now
	scheduled := o.processAt.After(readAt)

	a := s.caller(ctx)
	fault := noFault
	if a != nil {
		s.park(a, runnable, time.Time{}, nil)
		fault = q.roll()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if fault == faultBefore {
		return nil, &Fault{Op: "asynq enqueue"}
	}
	q.known[o.queue] = true
	if msg.uniqueKey != "" {
		ttl := o.uniqueTTL
		if scheduled {
			ttl = o.processAt.Add(o.uniqueTTL).Sub(s.now)
		}
		if l, ok := q.unique[msg.uniqueKey]; ok && s.now.Before(l.expires) {
			return nil, fmt.Errorf("%w", asynq.ErrDuplicateTask)
		}
		// Like asynq's script, the lock is taken before the ID is checked,
		// and kept when the ID conflicts.
		q.unique[msg.uniqueKey] = uniqueLock{id: msg.id, expires: s.now.Add(ttl.Truncate(time.Second))}
	}
	if q.lookup(o.queue, o.taskID) != nil {
		return nil, fmt.Errorf("%w", asynq.ErrTaskIDConflict)
	}
	next := readAt
	if scheduled {
		msg.state, msg.processAt, next = asynq.TaskStateScheduled, o.processAt, o.processAt
	} else {
		msg.state, msg.pendingSince = asynq.TaskStatePending, s.now
	}
	q.insert(msg)
	if fault == faultAfter {
		return nil, &Fault{Op: "asynq enqueue", Lost: true}
	}
	return msg.info(next, false), nil
}

// GetTaskInfo is asynq.Inspector.GetTaskInfo: asynq.ErrQueueNotFound for a
// queue never enqueued to, asynq.ErrTaskNotFound for a task it does not
// hold. From an actor it is a scheduling point.
func (q *Queue) GetTaskInfo(queue, id string) (*asynq.TaskInfo, error) {
	q.sim.yieldRunning()
	if !q.known[queue] {
		return nil, fmt.Errorf("asynq: %w", asynq.ErrQueueNotFound)
	}
	t := q.lookup(queue, id)
	if t == nil {
		return nil, fmt.Errorf("asynq: %w", asynq.ErrTaskNotFound)
	}
	return t.info(t.nextProcessAt(q.sim.now), false), nil
}

// DeleteTask is asynq.Inspector.DeleteTask: it deletes a task in any state
// but active, and releases its uniqueness lock. From an actor it is a
// scheduling point.
func (q *Queue) DeleteTask(queue, id string) error {
	if err := validateQueue(queue); err != nil {
		return fmt.Errorf("asynq: %w", err)
	}
	q.sim.yieldRunning()
	if !q.known[queue] {
		return fmt.Errorf("asynq: %w", asynq.ErrQueueNotFound)
	}
	t := q.lookup(queue, id)
	switch {
	case t == nil:
		return fmt.Errorf("asynq: %w", asynq.ErrTaskNotFound)
	case t.state == asynq.TaskStateActive:
		return errors.New("asynq: cannot delete task in active state. use CancelProcessing instead.")
	}
	q.releaseUnique(t)
	q.remove(t)
	return nil
}

// Tasks returns every task the queue holds, in any state, in enqueue order.
// Active tasks whose worker died are marked IsOrphaned.
func (q *Queue) Tasks() []*asynq.TaskInfo {
	out := make([]*asynq.TaskInfo, 0, len(q.all))
	for _, t := range slices.Clone(q.all) {
		if q.expire(t) {
			continue
		}
		out = append(out, t.info(t.nextProcessAt(q.sim.now), true))
	}
	return out
}

// Idle reports whether no task is pending, active, scheduled or waiting to
// be retried.
func (q *Queue) Idle() bool { return len(q.live) == 0 }

// lookup finds a task, dropping it first if its retention is over (asynq's
// janitor deletes those every few seconds; here it happens on the dot).
func (q *Queue) lookup(queue, id string) *qtask {
	t := q.byKey[taskKey{queue, id}]
	if t == nil || q.expire(t) {
		return nil
	}
	return t
}

func (q *Queue) expire(t *qtask) bool {
	if t.state == asynq.TaskStateCompleted && !q.sim.now.Before(t.expires) {
		q.remove(t)
		return true
	}
	return false
}

func (q *Queue) insert(t *qtask) {
	q.seq++
	t.seq = q.seq
	q.all = append(q.all, t)
	q.live = append(q.live, t)
	q.byKey[taskKey{t.queue, t.id}] = t
}

func (q *Queue) remove(t *qtask) {
	q.all = slices.DeleteFunc(q.all, func(x *qtask) bool { return x == t })
	q.live = slices.DeleteFunc(q.live, func(x *qtask) bool { return x == t })
	delete(q.byKey, taskKey{t.queue, t.id})
}

// settle moves a task out of the live ones (archived or completed).
func (q *Queue) settle(t *qtask, st asynq.TaskState) {
	t.state, t.owner = st, nil
	q.live = slices.DeleteFunc(q.live, func(x *qtask) bool { return x == t })
}

func (q *Queue) releaseUnique(t *qtask) {
	if l, ok := q.unique[t.uniqueKey]; ok && t.uniqueKey != "" && l.id == t.id {
		delete(q.unique, t.uniqueKey)
	}
}

func (q *Queue) roll() faultKind {
	f := q.faults
	if f.EnqueueBefore <= 0 && f.EnqueueAfter <= 0 {
		return noFault
	}
	switch u := q.sim.rng.Float64(); {
	case u < f.EnqueueBefore:
		return faultBefore
	case u < f.EnqueueBefore+f.EnqueueAfter:
		return faultAfter
	}
	return noFault
}

// dequeue returns the task a worker serving queues (in strict priority
// order) takes now: in the first queue that has one ready, the one ready
// longest, ties by enqueue order.
func (q *Queue) dequeue(queues []string) *qtask {
	sec := q.sim.now.Unix()
	for _, name := range queues {
		var best *qtask
		var bestAt time.Time
		for _, t := range q.live {
			if t.queue != name {
				continue
			}
			var at time.Time
			switch t.state {
			case asynq.TaskStatePending:
				at = t.pendingSince
			case asynq.TaskStateScheduled, asynq.TaskStateRetry:
				if t.processAt.Unix() > sec {
					continue
				}
				at = time.Unix(t.processAt.Unix(), 0)
			default:
				continue
			}
			if best == nil || at.Before(bestAt) {
				best, bestAt = t, at
			}
		}
		if best != nil {
			return best
		}
	}
	return nil
}

// deadline is asynq's processor.computeDeadline.
func (q *Queue) deadline(t *qtask) time.Time {
	now := q.sim.now
	switch {
	case t.timeout == 0 && t.deadline == 0:
		return now.Add(defaultTimeout)
	case t.timeout != 0 && t.deadline != 0:
		return time.Unix(min(now.Unix()+t.timeout, t.deadline), 0)
	case t.timeout != 0:
		return now.Add(time.Duration(t.timeout) * time.Second)
	}
	return time.Unix(t.deadline, 0)
}

// succeed is asynq's handleSucceededMessage.
func (q *Queue) succeed(t *qtask) {
	q.releaseUnique(t)
	if t.retention <= 0 {
		q.remove(t)
		return
	}
	now := q.sim.now.Unix()
	t.completedAt = now
	t.expires = time.Unix(now+t.retention, 0)
	q.settle(t, asynq.TaskStateCompleted)
}

// fail is asynq's handleFailedMessage.
func (q *Queue) fail(t *qtask, err error) {
	switch {
	case errors.Is(err, asynq.RevokeTask):
		q.releaseUnique(t)
		q.remove(t)
	case t.retried >= t.maxRetry || errors.Is(err, asynq.SkipRetry):
		q.archive(t, err)
	default:
		q.retry(t, err)
	}
}

func (q *Queue) archive(t *qtask, err error) {
	t.lastErr = err.Error()
	t.lastFailedAt = q.sim.now.Unix()
	q.settle(t, asynq.TaskStateArchived)
}

// retry is asynq's processor.retry and recoverer.retry: the delay is asked
// with the count before this failure, which counts only if IsFailure says
// so.
func (q *Queue) retry(t *qtask, err error) {
	d := q.cfg.RetryDelay(t.retried, err, asynq.NewTaskWithHeaders(t.typ, slices.Clone(t.payload), maps.Clone(t.headers)))
	if q.cfg.IsFailure(err) {
		t.retried++
	}
	t.lastErr = err.Error()
	t.lastFailedAt = q.sim.now.Unix()
	t.processAt = q.sim.now.Add(d)
	t.state, t.owner = asynq.TaskStateRetry, nil
}

// recoverLease is asynq's recoverer for a task whose worker died.
func (q *Queue) recoverLease(t *qtask, lease uint64) {
	if t.state != asynq.TaskStateActive || t.lease != lease || q.byKey[taskKey{t.queue, t.id}] != t {
		return
	}
	if t.retried >= t.maxRetry {
		q.archive(t, asynq.ErrLeaseExpired)
		return
	}
	q.retry(t, asynq.ErrLeaseExpired)
}

func (t *qtask) nextProcessAt(now time.Time) time.Time {
	switch t.state {
	case asynq.TaskStatePending:
		return time.Unix(now.Unix(), 0)
	case asynq.TaskStateScheduled, asynq.TaskStateRetry:
		return time.Unix(t.processAt.Unix(), 0)
	}
	return time.Time{}
}

// info is asynq's newTaskInfo.
func (t *qtask) info(next time.Time, orphans bool) *asynq.TaskInfo {
	unixOrZero := func(sec int64) time.Time {
		if sec == 0 {
			return time.Time{}
		}
		return time.Unix(sec, 0)
	}
	return &asynq.TaskInfo{
		ID:            t.id,
		Queue:         t.queue,
		Type:          t.typ,
		Payload:       slices.Clone(t.payload),
		Headers:       maps.Clone(t.headers),
		State:         t.state,
		MaxRetry:      t.maxRetry,
		Retried:       t.retried,
		LastErr:       t.lastErr,
		LastFailedAt:  unixOrZero(t.lastFailedAt),
		Timeout:       time.Duration(t.timeout) * time.Second,
		Deadline:      unixOrZero(t.deadline),
		NextProcessAt: next,
		IsOrphaned:    orphans && t.state == asynq.TaskStateActive && t.owner != nil && t.owner.actor.Done(),
		Retention:     time.Duration(t.retention) * time.Second,
		CompletedAt:   unixOrZero(t.completedAt),
	}
}

// newUUID returns a version 4 UUID from the simulation's generator.
func newUUID(s *Sim) string {
	hi, lo := s.rng.Uint64(), s.rng.Uint64()
	hi = hi&^0xf000 | 0x4000     // version 4
	lo = lo&^(0xc<<60) | 0x8<<60 // RFC 4122 variant
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", hi>>32, hi>>16&0xffff, hi&0xffff, lo>>48, lo&0xffffffffffff)
}

// worker is one asynq server with Concurrency 1.
type worker struct {
	q      *Queue
	name   string
	queues []string
	h      asynq.Handler
	wrap   func(context.Context, Attempt) context.Context
	actor  *Actor

	current *qtask
	waiting *handlerRun
	// handlers holds the handler actors that may still run: a handler past
	// its deadline goes on running, as in asynq, while the worker moves on.
	handlers []*Actor
}

type handlerRun struct {
	done bool
	err  error
}

// StartWorker starts an actor that serves queues, first listed first, one
// task at a time, each in a handler actor of its own whose context is
// wrap(ctx, attempt) (wrap may be nil) where ctx carries asynq's task values
// (asynq.GetTaskID and the rest work) and the task's deadline on the
// virtual clock. When the deadline passes first, the task fails with
// context.DeadlineExceeded and the worker moves on while the handler runs
// to its end, as in asynq. A panicking handler fails the run (asynq would
// retry the task).
//
// Killing the worker kills its handlers and leaves its task active until
// QueueConfig.LeaseRecovery has passed; a new StartWorker stands for the
// restarted process.
func (q *Queue) StartWorker(name string, queues []string, h asynq.Handler, wrap func(context.Context, Attempt) context.Context) *Actor {
	w := &worker{q: q, name: name, queues: slices.Clone(queues), h: h, wrap: wrap}
	w.actor = q.sim.Go(name, w.run)
	return w.actor
}

func (w *worker) run(ctx context.Context) {
	s := w.q.sim
	defer w.crash()
	for {
		t := w.q.dequeue(w.queues)
		if t == nil {
			// asynq's processor sleeps half the interval plus a random
			// share of it when every queue is empty.
			poll := w.q.cfg.PollInterval
			_ = s.sleep(w.actor, ctx, poll/2+time.Duration(s.rng.Int64N(int64(poll))))
			continue
		}
		w.process(t)
	}
}

func (w *worker) process(t *qtask) {
	q, s := w.q, w.q.sim
	q.lease++
	lease := q.lease
	t.state, t.owner, t.lease = asynq.TaskStateActive, w, lease
	t.pendingSince = time.Time{}
	// current stays set if the worker dies in this function: crash reads it.
	w.current = t

	att := Attempt{TaskID: t.id, Queue: t.queue, Retried: t.retried, MaxRetry: t.maxRetry}
	deadline := q.deadline(t)
	if !deadline.After(s.now) {
		q.fail(t, context.DeadlineExceeded)
		w.current = nil
		return
	}
	run := &handlerRun{}
	task := asynq.NewTaskWithHeaders(t.typ, slices.Clone(t.payload), maps.Clone(t.headers))
	h := s.Go(w.name+": "+t.id, func(ctx context.Context) {
		actx, cancelTask := asynqContext(ctx, att)
		defer cancelTask()
		hctx, cancel := s.WithDeadline(actx, deadline)
		defer cancel()
		if w.wrap != nil {
			hctx = w.wrap(hctx, att)
		}
		err := w.h.ProcessTask(hctx, task)
		run.done, run.err = true, err
		if w.waiting == run {
			s.wake(w.actor)
		}
	})
	w.handlers = append(slices.DeleteFunc(w.handlers, (*Actor).Done), h)
	w.waiting = run
	s.waitFor(w.actor, deadline, func() bool { return run.done })
	w.waiting = nil
	w.current = nil
	if t.state != asynq.TaskStateActive || t.lease != lease {
		return
	}
	switch {
	case !run.done:
		q.fail(t, context.DeadlineExceeded)
	case run.err != nil:
		q.fail(t, run.err)
	default:
		q.succeed(t)
	}
}

// crash runs when the worker dies: its handlers die with it, and its task
// stays active until the recoverer hands it back.
func (w *worker) crash() {
	s := w.q.sim
	for _, h := range w.handlers {
		s.Kill(h)
	}
	if t := w.current; t != nil && t.state == asynq.TaskStateActive && t.owner == w {
		lease := t.lease
		s.after(s.now.Add(w.q.cfg.LeaseRecovery), "lease recovery of "+t.id, func() { w.q.recoverLease(t, lease) })
	}
}
