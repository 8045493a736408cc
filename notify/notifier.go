package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/tracing"
)

// TypeWebhook is the task that delivers one event to one endpoint.
// Payload: WebhookPayload.
const TypeWebhook = "notify:webhook"

// Queue holds deliveries. Workers serve it before the background checks:
// deliveries are few and short, and a long sweep must not hold them up.
const Queue = "reglock:notify"

// The delivery task's policy.
const (
	// MaxRetry: with the worker's backoff (2s doubling, capped at an hour)
	// an endpoint gets four to five hours to come back before a delivery
	// is archived.
	MaxRetry = 15
	// Retention keeps a delivered task, and so its ID, for a day: the same
	// event raised again within it is not delivered again.
	Retention = 24 * time.Hour
	// TaskTimeout bounds one attempt, the HTTP request included.
	TaskTimeout = 30 * time.Second
	// HTTPTimeout bounds one request to an endpoint.
	HTTPTimeout = 10 * time.Second
	// RaiseTimeout bounds Raise, so that a slow Redis never holds up the
	// work that raised an event.
	RaiseTimeout = 2 * time.Second
)

// Results of a delivery or a raise, as counted (Counters.Notification).
const (
	ResultDelivered = "delivered" // the endpoint answered 2xx
	ResultFailed    = "failed"    // an attempt failed; it is retried
	ResultGaveUp    = "gave_up"   // failed permanently, or its last retry failed: archived
	ResultNotQueued = "not_queued"
)

// WebhookPayload is the payload of a TypeWebhook task: the endpoint by
// name (never its URL or secret) and the event exactly as it is sent.
type WebhookPayload struct {
	Endpoint string          `json:"endpoint"`
	Event    json.RawMessage `json:"event"`
}

// Counters counts deliveries; *metrics.Metrics is one.
type Counters interface {
	// Notification counts an outcome (Result*) of an event of kind for an
	// endpoint.
	Notification(endpoint, kind, result string)
	// NotificationDelivered notes an endpoint's latest success.
	NotificationDelivered(endpoint string, at time.Time)
}

// Options build a Notifier.
type Options struct {
	// Endpoints are the configured notifications, validated (config.Parse
	// gives each its name); none makes Raise a no-op.
	Endpoints []config.Notification
	// Enqueuer queues deliveries (an *asynq.Client).
	Enqueuer tasks.Enqueuer
	// Namespace prefixes the queue, as tasks.Queue's.
	Namespace tasks.Namespace
	// Redis and Prefix (the store's) hold each endpoint's status, under
	// "<prefix>notify:status".
	Redis  redis.UniversalClient
	Prefix string
	// Counters, if set, counts deliveries (metrics).
	Counters Counters
	// Client sends the requests; nil is one with HTTPTimeout that verifies
	// certificates and follows no redirect.
	Client *http.Client
	Clock  clock.Clock
	Log    zerolog.Logger
}

// Notifier raises events and delivers them. It is safe for concurrent use;
// a nil *Notifier raises nothing.
type Notifier struct {
	o   Options
	eps atomic.Pointer[endpoints]
	key string
}

// endpoints are the configured endpoints, swapped whole by SetEndpoints.
type endpoints struct {
	list   []config.Notification
	byName map[string]config.Notification
}

// New returns the notifier of the configured endpoints.
func New(o Options) *Notifier {
	o.Clock = clock.Or(o.Clock)
	if o.Client == nil {
		o.Client = &http.Client{
			Timeout: HTTPTimeout,
			// A webhook URL's path is often its secret (Slack's are): its
			// span has the host, never the path.
			Transport: tracing.OpaqueTransport(http.DefaultTransport.(*http.Transport).Clone()),
			// A webhook that redirects is misconfigured; following would
			// turn the POST into a GET, or send the body somewhere else.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	n := &Notifier{o: o, key: o.Prefix + "notify:status"}
	n.SetEndpoints(o.Endpoints)
	return n
}

// SetEndpoints replaces the configured endpoints (a configuration reloaded
// on SIGHUP): events raised from now on go to these, and a delivery
// already queued goes to its endpoint's new URL with its new secret, or is
// dropped if the endpoint is gone.
func (n *Notifier) SetEndpoints(list []config.Notification) {
	e := &endpoints{list: slices.Clone(list), byName: make(map[string]config.Notification, len(list))}
	for _, ep := range list {
		e.byName[ep.Name] = ep
	}
	n.eps.Store(e)
}

func (n *Notifier) endpoints() *endpoints { return n.eps.Load() }

// Enabled reports whether any endpoint is configured.
func (n *Notifier) Enabled() bool { return n != nil && len(n.endpoints().list) > 0 }

// TaskID is the ID of the delivery of event eventID to endpoint:
// "notify:<endpoint>:<event id>".
func TaskID(endpoint, eventID string) string { return "notify:" + endpoint + ":" + cleanID(eventID) }

// NewWebhookTask returns the delivery of p, with its retries, timeout and
// retention (queue and ID are the enqueuer's: Raise sets them).
func NewWebhookTask(p WebhookPayload, opts ...asynq.Option) (*asynq.Task, error) {
	return newWebhookTask(p, nil, opts...)
}

// newWebhookTask is NewWebhookTask with asynq headers (the raiser's trace
// context: tracing.Headers).
func newWebhookTask(p WebhookPayload, headers map[string]string, opts ...asynq.Option) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", TypeWebhook, err)
	}
	base := []asynq.Option{asynq.Queue(Queue), asynq.MaxRetry(MaxRetry), asynq.Timeout(TaskTimeout), asynq.Retention(Retention)}
	return asynq.NewTaskWithHeaders(TypeWebhook, b, headers, append(base, opts...)...), nil
}

// Validate checks a payload.
func (p *WebhookPayload) Validate() error {
	if p.Endpoint == "" {
		return &tasks.FieldError{Field: "endpoint", Reason: "required"}
	}
	var e Event
	if err := json.Unmarshal(p.Event, &e); err != nil {
		return &tasks.FieldError{Field: "event", Reason: "not an event: " + err.Error()}
	}
	if e.ID == "" || e.Kind == "" {
		return &tasks.FieldError{Field: "event", Reason: "id and kind required"}
	}
	return nil
}

// Raise queues a delivery of e to every endpoint whose events filter wants
// its kind, once per endpoint and event ID: raising an event again while
// its delivery is queued, retrying, archived or within Retention of being
// delivered queues nothing. It gives up after RaiseTimeout and never waits
// for a delivery; its error (which endpoints could not be queued for) is
// the caller's to log, not to fail on.
func (n *Notifier) Raise(ctx context.Context, e Event) error {
	if !n.Enabled() {
		return nil
	}
	if e.Kind == "" {
		return errors.New("notify: event without a kind")
	}
	if e.Time.IsZero() {
		e.Time = n.o.Clock.Now()
	}
	e.Time = e.Time.UTC()
	if e.ID == "" {
		e.ID = NewID(e.Kind, At(e.Time))
		if sub := e.subject(); sub != "" {
			e.ID = NewID(e.Kind, sub+"@"+At(e.Time))
		}
	}
	if e.Data == nil {
		e.Data = map[string]any{}
	}
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("notify: encode %s event %s: %w", e.Kind, e.ID, err)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RaiseTimeout)
	defer cancel()
	var errs []error
	for _, ep := range n.endpoints().list {
		if !ep.Wants(e.Kind) {
			continue
		}
		id, queue := TaskID(ep.Name, e.ID), n.o.Namespace.Queue(Queue)
		// The delivery continues the raiser's trace (package tracing).
		sctx, span := tracing.StartSend(ctx, TypeWebhook, id, queue)
		t, err := newWebhookTask(WebhookPayload{Endpoint: ep.Name, Event: body}, tracing.Headers(sctx))
		if err == nil {
			_, err = n.o.Enqueuer.EnqueueContext(sctx, t, asynq.TaskID(id), asynq.Queue(queue))
		}
		dup := errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask)
		if dup {
			tracing.EndEnqueue(span, false, nil)
		} else {
			tracing.EndEnqueue(span, err == nil, err)
		}
		switch {
		case err == nil, errors.Is(err, asynq.ErrTaskIDConflict), errors.Is(err, asynq.ErrDuplicateTask):
			// Queued now, or raised already.
		default:
			n.count(ep.Name, e.Kind, ResultNotQueued)
			errs = append(errs, fmt.Errorf("notify %s: queue %s event %s: %w", ep.Name, e.Kind, e.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (n *Notifier) count(endpoint, kind, result string) {
	if n.o.Counters != nil {
		n.o.Counters.Notification(endpoint, kind, result)
	}
}

// EndpointStatus is how deliveries to an endpoint have gone, across every
// process.
type EndpointStatus struct {
	Name string `json:"name"`
	// URL is the endpoint's scheme and host only (config.RedactURL).
	URL    string   `json:"url"`
	Format string   `json:"format"`
	Events []string `json:"events"`
	// LastSuccess is when a delivery last succeeded (zero: never).
	LastSuccess time.Time `json:"last_success,omitzero"`
	// LastError is the latest failure, "" if none yet: the HTTP status and
	// the start of the answer, or the transport error, with no secret and
	// no URL path or query.
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int64 `json:"consecutive_failures"`
}

// Status fields, per endpoint, in the status hash.
const (
	fieldSuccess  = ":last_success"
	fieldError    = ":last_error"
	fieldErrorAt  = ":last_error_at"
	fieldFailures = ":failures"
)

// Status returns every configured endpoint's status, in configuration
// order.
func (n *Notifier) Status(ctx context.Context) ([]EndpointStatus, error) {
	if !n.Enabled() {
		return nil, nil
	}
	m, err := n.o.Redis.HGetAll(ctx, n.key).Result()
	if err != nil {
		return nil, fmt.Errorf("notify: read status: %w", err)
	}
	ms := func(f string) time.Time {
		v, err := strconv.ParseInt(m[f], 10, 64)
		if err != nil || v == 0 {
			return time.Time{}
		}
		return time.UnixMilli(v).UTC()
	}
	eps := n.endpoints().list
	out := make([]EndpointStatus, 0, len(eps))
	for _, ep := range eps {
		events := ep.Events
		if len(events) == 0 {
			events = []string{config.EventsAll}
		}
		fails, _ := strconv.ParseInt(m[ep.Name+fieldFailures], 10, 64)
		out = append(out, EndpointStatus{
			Name: ep.Name, URL: ep.RedactedURL(), Format: ep.Format, Events: events,
			LastSuccess: ms(ep.Name + fieldSuccess), LastError: m[ep.Name+fieldError], LastErrorAt: ms(ep.Name + fieldErrorAt),
			ConsecutiveFailures: fails,
		})
	}
	return out, nil
}

// recordSuccess and recordFailure keep the status hash. Failing to write
// it costs the operator a stale status, not a delivery.
func (n *Notifier) recordSuccess(ctx context.Context, endpoint string, at time.Time) {
	n.writeStatus(ctx, func(p redis.Pipeliner, c context.Context) {
		p.HSet(c, n.key, endpoint+fieldSuccess, at.UnixMilli(), endpoint+fieldFailures, 0)
	})
}

func (n *Notifier) recordFailure(ctx context.Context, endpoint, why string, at time.Time) {
	n.writeStatus(ctx, func(p redis.Pipeliner, c context.Context) {
		p.HSet(c, n.key, endpoint+fieldError, why, endpoint+fieldErrorAt, at.UnixMilli())
		p.HIncrBy(c, n.key, endpoint+fieldFailures, 1)
	})
}

func (n *Notifier) writeStatus(ctx context.Context, fn func(redis.Pipeliner, context.Context)) {
	if n.o.Redis == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RaiseTimeout)
	defer cancel()
	if _, err := n.o.Redis.TxPipelined(ctx, func(p redis.Pipeliner) error { fn(p, ctx); return nil }); err != nil {
		n.o.Log.Warn().Err(err).Msg("notify: could not record the delivery status")
	}
}
