package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/worker"
)

// receiver is a webhook endpoint that checks every signature and answers
// with the codes it is given, in order, then 200.
type receiver struct {
	t      *testing.T
	srv    *httptest.Server
	secret string

	mu    sync.Mutex
	codes []int
	// answer is the body of a non-2xx answer; %URL% becomes the request's
	// URL, %SIG% its signature header.
	answer string
	reqs   []request
}

type request struct {
	header http.Header
	body   []byte
	sigErr error
}

func newReceiver(t *testing.T, secret string, codes ...int) *receiver {
	r := &receiver{t: t, secret: secret, codes: codes}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		err := notify.Verify(r.secret, req.Header.Get(notify.SignatureHeader), body, time.Minute, time.Now())
		r.mu.Lock()
		r.reqs = append(r.reqs, request{header: req.Header.Clone(), body: body, sigErr: err})
		code := http.StatusOK
		if len(r.codes) > 0 {
			code, r.codes = r.codes[0], r.codes[1:]
		}
		answer := strings.NewReplacer("%URL%", req.URL.String(), "%SIG%", req.Header.Get(notify.SignatureHeader)).Replace(r.answer)
		r.mu.Unlock()
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(code)
		if code >= 300 {
			io.WriteString(w, answer)
		}
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// counts is a notify.Counters that remembers.
type counts struct {
	mu        sync.Mutex
	m         map[string]int
	delivered map[string]time.Time
}

func (c *counts) Notification(endpoint, kind, result string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[endpoint+" "+kind+" "+result]++
}

func (c *counts) NotificationDelivered(endpoint string, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.delivered[endpoint] = at
}

func (c *counts) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.m {
		out[k] = v
	}
	return out
}

// bundle is one test's world: a namespace on the real test Redis, a
// notifier of the endpoints given, and a worker delivering through the
// worker's own mux and servers (verdicts middleware, queues, backoff).
type bundle struct {
	t      *testing.T
	env    redistest.Env
	n      *notify.Notifier
	counts *counts
	insp   *asynq.Inspector
	queue  string
}

func setup(t *testing.T, endpoints ...config.Notification) *bundle {
	t.Helper()
	env := redistest.New(t)
	ns := tasks.Namespace(env.Namespace)
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.ErrorLevel)
	c := &counts{m: map[string]int{}, delivered: map[string]time.Time{}}
	n := notify.New(notify.Options{
		Endpoints: endpoints, Enqueuer: asynq.NewClientFromRedisClient(env.Client), Namespace: ns,
		Redis: env.Client, Prefix: env.StorePrefix(), Counters: c, Log: log,
	})
	w := &worker.Worker{Reconciler: &reconcile.Reconciler{Log: log}, Notify: n}
	srv := worker.NewServers(env.Client, worker.ServerConfig{
		Concurrency: 2, CheckConcurrency: 2, ShutdownTimeout: time.Second, Queues: ns,
		PollInterval: 20 * time.Millisecond, Backoff: 50 * time.Millisecond, Log: log,
	})
	if err := srv.Start(w.Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return &bundle{t: t, env: env, n: n, counts: c, insp: asynq.NewInspectorFromRedisClient(env.Client),
		queue: ns.Queue(notify.Queue)}
}

func endpoint(name string, r *receiver, path string) config.Notification {
	return config.Notification{Name: name, URL: r.srv.URL + path, Secret: secret.String(r.secret), Format: config.FormatJSON}
}

func (b *bundle) raise(e notify.Event) {
	b.t.Helper()
	if err := b.n.Raise(context.Background(), e); err != nil {
		b.t.Fatalf("Raise: %v", err)
	}
}

// eventually polls cond until it holds or the deadline passes.
func (b *bundle) eventually(what string, cond func() bool) {
	b.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			b.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// idle waits until no delivery is pending, running or waiting to retry.
func (b *bundle) idle() {
	b.t.Helper()
	b.eventually("deliveries to end", func() bool {
		info, err := b.insp.GetQueueInfo(b.queue)
		return err == nil && info.Pending+info.Active+info.Scheduled+info.Retry == 0
	})
}

func (b *bundle) status(name string) notify.EndpointStatus {
	b.t.Helper()
	all, err := b.n.Status(context.Background())
	if err != nil {
		b.t.Fatal(err)
	}
	for _, s := range all {
		if s.Name == name {
			return s
		}
	}
	b.t.Fatalf("no status for %s in %+v", name, all)
	return notify.EndpointStatus{}
}

var t0 = time.Date(2026, 12, 2, 3, 4, 5, 0, time.UTC)

func sweepPaused() notify.Event {
	return notify.Event{ID: notify.NewID(notify.KindSweepPaused, "sweep-20261202T030000Z"), Kind: notify.KindSweepPaused,
		Time: t0, Provider: "enom-main", SweepID: "sweep-20261202T030000Z", Summary: "sweep paused for enom-main",
		Data: map[string]any{"checked": 1200, "paused": map[string]string{"enom-main": "40 of 1200 drifted"}}}
}

// The receiver answers 500 once: the delivery is retried, and the retry
// carries the same event ID and body, freshly signed.
func TestNotifier_retriedAfter500(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, "hook-secret-0123456789", http.StatusInternalServerError)
	r.answer = "upstream down"
	b := setup(t, endpoint("ops", r, "/hooks/reglock"))
	e := sweepPaused()
	b.raise(e)
	b.eventually("a retry after the 500", func() bool { return len(r.requests()) >= 2 })
	b.idle()
	reqs := r.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (one 500, one retry)", len(reqs))
	}
	for i, q := range reqs {
		if q.sigErr != nil {
			t.Errorf("request %d: signature: %v", i, q.sigErr)
		}
		for h, want := range map[string]string{
			"Content-Type": "application/json", "User-Agent": "reglock",
			notify.EventIDHeader: e.ID, notify.EventHeader: notify.KindSweepPaused,
		} {
			if got := q.header.Get(h); got != want {
				t.Errorf("request %d: %s = %q, want %q", i, h, got, want)
			}
		}
	}
	if string(reqs[0].body) != string(reqs[1].body) {
		t.Errorf("the retry's body differs:\n%s\n%s", reqs[0].body, reqs[1].body)
	}
	st := b.status("ops")
	if st.LastSuccess.IsZero() || st.ConsecutiveFailures != 0 || !strings.Contains(st.LastError, "500") ||
		!strings.Contains(st.LastError, "upstream down") || st.LastErrorAt.IsZero() {
		t.Errorf("status after the retry: %+v; want a success, no failures in a row, the 500 as last error", st)
	}
	want := map[string]int{"ops sweep_paused failed": 1, "ops sweep_paused delivered": 1}
	if got := b.counts.snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("counted %v, want %v", got, want)
	}
}

// The JSON body is the event, every field present.
func TestNotifier_jsonBody(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, "hook-secret-0123456789")
	b := setup(t, endpoint("ops", r, "/"))
	b.raise(sweepPaused())
	b.idle()
	reqs := r.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	var got map[string]any
	if err := json.Unmarshal(reqs[0].body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id": "sweep_paused:sweep-20261202T030000Z", "kind": "sweep_paused", "time": "2026-12-02T03:04:05Z",
		"domain": "", "provider": "enom-main", "sweep_id": "sweep-20261202T030000Z", "summary": "sweep paused for enom-main",
		"data": map[string]any{"checked": 1200.0, "paused": map[string]any{"enom-main": "40 of 1200 drifted"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("body %s\nwant %v", reqs[0].body, want)
	}
}

// One event, raised twice before its delivery and once after, reaches
// each endpoint once.
func TestNotifier_sameEventDeliveredOncePerEndpoint(t *testing.T) {
	t.Parallel()
	a := newReceiver(t, "secret-a-0123456789")
	c := newReceiver(t, "secret-c-0123456789")
	b := setup(t, endpoint("a", a, "/"), endpoint("c", c, "/"))
	e := sweepPaused()
	b.raise(e)
	b.raise(e)
	b.idle()
	e.Time = e.Time.Add(time.Hour) // raised again later, by another process
	b.raise(e)
	time.Sleep(300 * time.Millisecond)
	b.idle()
	for name, r := range map[string]*receiver{"a": a, "c": c} {
		if n := len(r.requests()); n != 1 {
			t.Errorf("endpoint %s got %d deliveries, want 1", name, n)
		}
	}
	// A different event is delivered.
	e.ID = notify.NewID(notify.KindSweepPaused, "sweep-2")
	b.raise(e)
	b.idle()
	if n := len(a.requests()); n != 2 {
		t.Errorf("after another event, endpoint a got %d deliveries, want 2", n)
	}
}

func TestNotifier_eventFilter(t *testing.T) {
	t.Parallel()
	ops := newReceiver(t, "secret-ops-0123456789")
	all := newReceiver(t, "secret-all-0123456789")
	star := newReceiver(t, "secret-star-0123456789")
	opsEP := endpoint("ops", ops, "/")
	opsEP.Events = []string{notify.KindSweepPaused, notify.KindBreakerOpened}
	starEP := endpoint("star", star, "/")
	starEP.Events = []string{"*"}
	b := setup(t, opsEP, endpoint("all", all, "/"), starEP)
	b.raise(notify.Event{ID: "drift_fixed:a.com@3", Kind: notify.KindDriftFixed, Domain: "a.com"})
	b.raise(sweepPaused())
	b.idle()
	kinds := func(r *receiver) []string {
		var out []string
		for _, q := range r.requests() {
			out = append(out, q.header.Get(notify.EventHeader))
		}
		slices.Sort(out)
		return out
	}
	for name, tc := range map[string]struct {
		r    *receiver
		want []string
	}{
		"ops":  {ops, []string{"sweep_paused"}},
		"all":  {all, []string{"drift_fixed", "sweep_paused"}},
		"star": {star, []string{"drift_fixed", "sweep_paused"}},
	} {
		if got := kinds(tc.r); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s received %v, want %v", name, got, tc.want)
		}
	}
}

func TestNotifier_slackFormat(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, "slack-secret-0123456789")
	ep := endpoint("slack", r, "/services/T000/B000/XXXX")
	ep.Format = config.FormatSlack
	b := setup(t, ep)
	b.raise(notify.Event{ID: "drift_confirmed:a.com@3", Kind: notify.KindDriftConfirmed, Domain: "a.com",
		Summary: "a.com is unlocked at <enom-main> & should be locked"})
	b.raise(notify.Event{ID: "breaker_closed:enom-main@x", Kind: notify.KindBreakerClosed, Provider: "enom-main"})
	b.idle()
	var bodies []string
	for _, q := range r.requests() {
		if q.sigErr != nil || q.header.Get("Content-Type") != "application/json" || q.header.Get(notify.EventIDHeader) == "" {
			t.Errorf("slack delivery: signature %v, headers %v", q.sigErr, q.header)
		}
		bodies = append(bodies, string(q.body))
	}
	slices.Sort(bodies)
	want := []string{
		`{"text":"reglock: a.com is unlocked at &lt;enom-main&gt; &amp; should be locked"}`,
		`{"text":"reglock: breaker closed enom-main"}`,
	}
	if !reflect.DeepEqual(bodies, want) {
		t.Errorf("slack bodies:\n%s\nwant:\n%s", strings.Join(bodies, "\n"), strings.Join(want, "\n"))
	}
}

// A 4xx other than 408 and 429 is permanent: one attempt, archived, and
// the endpoint's status says why.
func TestNotifier_permanentFailureIsArchived(t *testing.T) {
	t.Parallel()
	for _, code := range []int{http.StatusBadRequest, http.StatusGone} {
		t.Run(http.StatusText(code), func(t *testing.T) {
			r := newReceiver(t, "hook-secret-0123456789", code)
			r.answer = `{"error":"no such hook"}`
			b := setup(t, endpoint("ops", r, "/"))
			e := sweepPaused()
			b.raise(e)
			b.eventually("the delivery to be archived", func() bool {
				info, err := b.insp.GetTaskInfo(b.queue, notify.TaskID("ops", e.ID))
				return err == nil && info.State == asynq.TaskStateArchived
			})
			if n := len(r.requests()); n != 1 {
				t.Errorf("%d attempts, want 1", n)
			}
			st := b.status("ops")
			if !st.LastSuccess.IsZero() || st.ConsecutiveFailures != 1 || !strings.Contains(st.LastError, "no such hook") {
				t.Errorf("status %+v", st)
			}
			if got := b.counts.snapshot(); got["ops sweep_paused gave_up"] != 1 || got["ops sweep_paused delivered"] != 0 {
				t.Errorf("counted %v", got)
			}
			// Raised again: archived deliveries stay deduplicated.
			b.raise(e)
			time.Sleep(200 * time.Millisecond)
			if n := len(r.requests()); n != 1 {
				t.Errorf("%d attempts after raising again, want 1", n)
			}
		})
	}
}

// Neither the secret nor the URL's path or query (a Slack webhook URL is a
// credential) reaches the status, an error, a task payload or a metric
// label, even when the endpoint echoes them.
func TestNotifier_secretsNeverShown(t *testing.T) {
	t.Parallel()
	const hmacKey = "SECRET-hmac-key-0123456789"
	r := newReceiver(t, hmacKey, http.StatusInternalServerError, http.StatusBadRequest)
	r.answer = "echo: %URL% " + hmacKey + " %SIG%"
	echo := endpoint("echo", r, "/services/T0/B0/SECRETPATH?token=SECRETQUERY")
	dead := config.Notification{Name: "dead", URL: "http://127.0.0.1:1/hooks/SECRETPATH?token=SECRETQUERY",
		Secret: hmacKey, Format: config.FormatJSON}
	b := setup(t, echo, dead)
	e := sweepPaused()
	b.raise(e)
	b.eventually("both endpoints to fail", func() bool {
		return b.status("echo").ConsecutiveFailures >= 1 && b.status("dead").ConsecutiveFailures >= 1
	})
	var shown []string
	sts, err := b.n.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		js, _ := json.Marshal(st)
		shown = append(shown, string(js))
	}
	for _, name := range []string{"echo", "dead"} {
		info, err := b.insp.GetTaskInfo(b.queue, notify.TaskID(name, e.ID))
		if err != nil {
			t.Fatal(err)
		}
		shown = append(shown, string(info.Payload), info.LastErr)
	}
	for k := range b.counts.snapshot() {
		shown = append(shown, k)
	}
	if !strings.Contains(shown[0], "HTTP status 500") || !strings.Contains(shown[1], "127.0.0.1:1") {
		t.Errorf("the status should still say what failed: %s", shown[:2])
	}
	for _, s := range shown {
		if strings.Contains(s, "SECRET") {
			t.Errorf("shows a secret: %s", s)
		}
	}
}

func TestNotifier_noEndpointsIsANoOp(t *testing.T) {
	var nilNotifier *notify.Notifier
	// No enqueuer, no Redis: anything Raise touched would panic.
	for _, n := range []*notify.Notifier{nilNotifier, notify.New(notify.Options{})} {
		if n.Enabled() {
			t.Error("Enabled with no endpoints")
		}
		if err := n.Raise(context.Background(), sweepPaused()); err != nil {
			t.Errorf("Raise: %v", err)
		}
		if st, err := n.Status(context.Background()); st != nil || err != nil {
			t.Errorf("Status = %v, %v", st, err)
		}
	}
}

// enqueuer is a queue that fails, or blocks until its context ends.
type enqueuer struct {
	block bool
	calls []string
	mu    sync.Mutex
}

func (q *enqueuer) EnqueueContext(ctx context.Context, t *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	for _, o := range opts {
		if o.Type() == asynq.TaskIDOpt {
			q.calls = append(q.calls, o.Value().(string))
		}
	}
	q.mu.Unlock()
	if q.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return nil, errors.New("redis: connection refused")
}

// Raise never holds up its caller for long, and never fails it: it
// reports what it could not queue, and counts it.
func TestNotifier_raiseFailsFastAndCounts(t *testing.T) {
	t.Parallel()
	c := &counts{m: map[string]int{}, delivered: map[string]time.Time{}}
	eps := []config.Notification{
		{Name: "a", URL: "https://a.example.com", Secret: "SECRET-0123456789abc", Format: "json"},
		{Name: "b", URL: "https://b.example.com", Secret: "SECRET-0123456789abc", Format: "json"},
	}
	q := &enqueuer{}
	n := notify.New(notify.Options{Endpoints: eps, Enqueuer: q, Counters: c})
	// The caller's context has ended: the event is raised all the same.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := n.Raise(ctx, notify.Event{Kind: notify.KindDomainGone, Domain: "gone.com", Time: t0})
	if err == nil || !strings.Contains(err.Error(), "notify a: queue domain_gone event domain_gone:gone.com@20261202T030405.000Z") ||
		!strings.Contains(err.Error(), "notify b:") || strings.Contains(err.Error(), "SECRET") {
		t.Errorf("Raise = %v", err)
	}
	want := []string{"notify:a:domain_gone:gone.com@20261202T030405.000Z", "notify:b:domain_gone:gone.com@20261202T030405.000Z"}
	if !reflect.DeepEqual(q.calls, want) {
		t.Errorf("task IDs %q, want %q", q.calls, want)
	}
	if got := c.snapshot(); !reflect.DeepEqual(got, map[string]int{"a domain_gone not_queued": 1, "b domain_gone not_queued": 1}) {
		t.Errorf("counted %v", got)
	}

	n = notify.New(notify.Options{Endpoints: eps[:1], Enqueuer: &enqueuer{block: true}})
	start := time.Now()
	err = n.Raise(context.Background(), sweepPaused())
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > notify.RaiseTimeout+time.Second {
		t.Errorf("Raise on a stuck queue = %v after %s; want a deadline error after %s", err, took, notify.RaiseTimeout)
	}
}

// Deliver's own errors are permanent, so the worker archives the task
// instead of retrying what cannot work.
func TestNotifier_Deliver_permanentErrors(t *testing.T) {
	n := notify.New(notify.Options{Endpoints: []config.Notification{{Name: "a", URL: "https://a.example.com", Secret: "s-0123456789abcdef", Format: "json"}}})
	gone, err := notify.NewWebhookTask(notify.WebhookPayload{Endpoint: "removed", Event: json.RawMessage(`{"id":"x","kind":"drift_fixed"}`)})
	if err != nil {
		t.Fatal(err)
	}
	for name, task := range map[string]*asynq.Task{
		"not json":         asynq.NewTask(notify.TypeWebhook, []byte("{")),
		"no event":         asynq.NewTask(notify.TypeWebhook, []byte(`{"endpoint":"a"}`)),
		"event without id": asynq.NewTask(notify.TypeWebhook, []byte(`{"endpoint":"a","event":{"kind":"drift_fixed"}}`)),
		"endpoint removed": gone,
	} {
		if err := n.Deliver(context.Background(), task); !providers.IsPermanent(err) {
			t.Errorf("%s: Deliver = %v, want a permanent error", name, err)
		}
	}
}

func TestRaise_derivedID(t *testing.T) {
	t.Parallel()
	r := newReceiver(t, "hook-secret-0123456789")
	b := setup(t, endpoint("ops", r, "/"))
	b.raise(notify.Event{Kind: notify.KindStoreLost, Time: t0.Add(123 * time.Millisecond), Summary: "store lost"})
	b.idle()
	reqs := r.requests()
	if len(reqs) != 1 || reqs[0].header.Get(notify.EventIDHeader) != "store_lost:20261202T030405.123Z" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestTaskID(t *testing.T) {
	for _, tc := range []struct{ endpoint, event, want string }{
		{"ops", "relock_overdue:a.com@20261205T030000.000Z", "notify:ops:relock_overdue:a.com@20261205T030000.000Z"},
		{"ops", "odd/id?with#chars %", "notify:ops:odd_id_with_chars__"},
	} {
		if got := notify.TaskID(tc.endpoint, tc.event); got != tc.want {
			t.Errorf("TaskID(%q, %q) = %q, want %q", tc.endpoint, tc.event, got, tc.want)
		}
	}
	if got := notify.NewID(notify.KindSweepPaused, "a/b", "c d"); got != "sweep_paused:a_b:c_d" {
		t.Errorf("NewID = %q", got)
	}
}

// The kinds are the configuration's.
func TestKinds(t *testing.T) {
	want := []string{
		notify.KindDriftConfirmed, notify.KindDriftFixed, notify.KindFixFailed, notify.KindSweepPaused,
		notify.KindSweepFinished, notify.KindBreakerOpened, notify.KindBreakerClosed, notify.KindRelockDone,
		notify.KindRelockOverdue, notify.KindDomainGone, notify.KindStoreLost, notify.KindTransferPending, notify.KindTransferred, notify.KindRegistryDisagrees,
	}
	if got := notify.Kinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("Kinds() = %v, want the Kind constants %v", got, want)
	}
}
