package system_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/system"
)

// taskIDs is an enqueuer that remembers the IDs it was given.
type taskIDs struct {
	mu  sync.Mutex
	ids []string
}

func (q *taskIDs) EnqueueContext(_ context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, o := range opts {
		if o.Type() == asynq.TaskIDOpt {
			q.ids = append(q.ids, o.Value().(string))
		}
	}
	return &asynq.TaskInfo{}, nil
}

// The notifier reaches the worker, the janitor and the breakers; an
// outage is one breaker_opened and one breaker_closed, whatever the
// failed probes in between.
func TestSystem_notifications(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	t.Cleanup(func() { rdb.Close() })
	cfg := config.Default()
	cfg.Notifications = []config.Notification{{Name: "ops", URL: "https://hooks.example.com/x", Secret: "hook-secret-0123456789",
		Events: []string{notify.KindBreakerOpened, notify.KindBreakerClosed}, Format: config.FormatJSON}}
	q := &taskIDs{}
	sys := system.New(system.Options{Config: cfg, Redis: rdb, Enqueuer: q, Namespace: "ns", Log: zerolog.Nop()})
	if !sys.Notify.Enabled() || sys.Worker().Notify != sys.Notify || sys.Janitor(nil).Notify != sys.Notify {
		t.Fatal("the notifier is not wired into the worker and the janitor")
	}

	c := clock.NewManual(time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC))
	set := breaker.New(rdb, "ns:rl:", breaker.Options{Threshold: 1, Cooldown: 10 * time.Second, Clock: c}, zerolog.Nop())
	sys.NotifyBreakers(set)
	reg := &failing{}
	call := providers.Wrap(reg, set.Middleware("enom-main"))
	ctx := context.Background()
	// Opens at 03:00; a failed probe at 03:01 opens it again (the same
	// outage: asynq drops the second task by its ID); a probe at 03:02
	// closes it; 03:03 is another outage.
	for _, fail := range []bool{true, true, false, true} {
		reg.fail = fail
		_ = call.SetLock(ctx, "a.com", true)
		c.Add(time.Minute)
	}
	want := []string{
		"notify:ops:breaker_opened:enom-main@20261202T030000.000Z",
		"notify:ops:breaker_opened:enom-main@20261202T030000.000Z",
		"notify:ops:breaker_closed:enom-main@20261202T030000.000Z",
		"notify:ops:breaker_opened:enom-main@20261202T030300.000Z",
	}
	if strings.Join(q.ids, " ") != strings.Join(want, " ") {
		t.Errorf("queued %q, want %q", q.ids, want)
	}

	// No notifications configured at start: a transition queues nothing,
	// until a reload (SIGHUP) configures an endpoint.
	bare := system.New(system.Options{Config: config.Default(), Redis: rdb, Enqueuer: q, Namespace: "ns2", Log: zerolog.Nop()})
	other := breaker.New(rdb, "ns2:rl:", breaker.Options{Threshold: 1, Cooldown: 10 * time.Second, Clock: c}, zerolog.Nop())
	bare.NotifyBreakers(other)
	q.ids = nil
	otherCall := providers.Wrap(reg, other.Middleware("enom-main"))
	reg.fail = true
	_ = otherCall.SetLock(ctx, "a.com", true)
	if len(q.ids) != 0 {
		t.Errorf("no endpoint configured, yet queued %q", q.ids)
	}
	bare.Notify.SetEndpoints(cfg.Notifications)
	c.Add(time.Minute)
	reg.fail = false
	_ = otherCall.SetLock(ctx, "a.com", true) // the probe closes it
	if len(q.ids) != 1 || !strings.HasPrefix(q.ids[0], "notify:ops:breaker_closed:enom-main@") {
		t.Errorf("after the endpoints were reloaded: queued %q, want the breaker's closing", q.ids)
	}
}

func TestBreakerEvent(t *testing.T) {
	outage := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	open := system.BreakerEvent(breaker.Transition{Account: "enom-main", Outage: outage,
		Status: breaker.Status{State: breaker.Open, Reason: "5 failed calls in a row, the last: HTTP 503", Since: outage, Until: outage.Add(30 * time.Second)}})
	if open.ID != "breaker_opened:enom-main@20261202T030000.000Z" || open.Kind != notify.KindBreakerOpened || open.Provider != "enom-main" ||
		open.Summary != "registrar account enom-main: calls stopped (5 failed calls in a row, the last: HTTP 503); its work waits, next probe at 2026-12-02T03:00:30Z" {
		t.Errorf("opened: %+v", open)
	}
	closed := system.BreakerEvent(breaker.Transition{Account: "enom-main", Outage: outage,
		Status: breaker.Status{State: breaker.Closed, Since: outage.Add(90 * time.Second)}})
	if closed.ID != "breaker_closed:enom-main@20261202T030000.000Z" || closed.Kind != notify.KindBreakerClosed ||
		closed.Summary != "registrar account enom-main answers again: calls resume after 1m30s" {
		t.Errorf("closed: %+v", closed)
	}
}

// failing is a registrar whose calls fail while fail is set.
type failing struct {
	providers.Registrar
	fail bool
}

func (f *failing) SetLock(context.Context, string, bool) error {
	if f.fail {
		return &providers.StatusError{Code: 503}
	}
	return nil
}
