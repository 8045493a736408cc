package tracing_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/reglock/reglock/tracing"
)

// install turns tracing on for one test, recording into an in-memory
// exporter.
func install(t *testing.T) *tracetest.InMemoryExporter {
	t.Helper()
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	uninstall := tracing.Install(tp)
	t.Cleanup(func() { uninstall(); _ = tp.Shutdown(context.Background()) })
	return exp
}

func attrs(s tracetest.SpanStub) map[string]string {
	out := map[string]string{}
	for _, kv := range s.Attributes {
		out[string(kv.Key)] = kv.Value.Emit()
	}
	return out
}

func named(t *testing.T, spans tracetest.SpanStubs, name string) tracetest.SpanStub {
	t.Helper()
	for _, s := range spans {
		if s.Name == name {
			return s
		}
	}
	var names []string
	for _, s := range spans {
		names = append(names, s.Name)
	}
	t.Fatalf("no span %q among %q", name, names)
	return tracetest.SpanStub{}
}

// Off (the default), nothing is recorded and nothing allocated: the
// request, the task and the context come back as they went in.
func TestOff_isFree(t *testing.T) {
	if tracing.Enabled() {
		t.Fatal("tracing is on before any Install")
	}
	ctx := context.Background()
	r := httptest.NewRequest("GET", "/v1/domains/x.com", nil)
	task := asynq.NewTask("domain:lock", []byte(`{}`))
	mw := tracing.Registrar("enom-main", "enom")
	call := func(context.Context) error { return nil }
	allocs := testing.AllocsPerRun(100, func() {
		r2, span := tracing.StartServer(r)
		span.Finish("GET /v1/domains/{domain}", 200, "billing")
		if r2 != r {
			t.Fatal("StartServer made a new request while off")
		}
		if tracing.Carry(ctx, task) != task {
			t.Fatal("Carry made a new task while off")
		}
		t2, espan := tracing.StartEnqueue(ctx, task, "lock:x.com@1", "reglock:changes")
		tracing.EndEnqueue(espan, true, nil)
		if t2 != task {
			t.Fatal("StartEnqueue made a new task while off")
		}
		_ = mw(ctx, "set_lock", "x.com", call)
		tracing.Annotate(ctx, tracing.Domain("x.com"))
		wctx, done := tracing.Wait(ctx)
		done(nil)
		if wctx != ctx {
			t.Fatal("Wait made a new context while off")
		}
	})
	if allocs != 0 {
		t.Fatalf("tracing off allocates %v times per request, want 0", allocs)
	}
}

// A task carries its enqueue's context: the worker's span is a child of
// the producer's, in the same trace; a linked task type starts a trace of
// its own, linked to the producer.
func TestTasks_continueOrLinkTheTrace(t *testing.T) {
	exp := install(t)
	ctx, root := tracing.Start(context.Background(), "request")
	lock, espan := tracing.StartEnqueue(ctx, asynq.NewTask("domain:lock", []byte(`{"domain":"x.com"}`)), "lock:x.com@1", "reglock:changes")
	tracing.EndEnqueue(espan, true, nil)
	sweep, sspan := tracing.StartEnqueue(ctx, asynq.NewTask("sweep:run", []byte(`{}`)), "sweep:s1:start", "reglock:checks")
	tracing.EndEnqueue(sspan, false, nil)
	tracing.End(root, nil)
	if lock.Headers()["traceparent"] == "" || string(lock.Payload()) != `{"domain":"x.com"}` || lock.Type() != "domain:lock" {
		t.Fatalf("the queued task: type %q, payload %s, headers %v", lock.Type(), lock.Payload(), lock.Headers())
	}

	mw := tracing.Tasks(func(typ string) bool { return typ == "sweep:run" })
	failed := errors.New("registrar busy")
	h := mw(asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		tracing.Annotate(ctx, tracing.Domain("x.com"))
		if task.Type() == "domain:lock" {
			return failed
		}
		return nil
	}))
	// Each task, as a worker would receive it: decoded from Redis, its
	// headers and nothing else of the producer's context.
	for _, task := range []*asynq.Task{lock, sweep} {
		received := asynq.NewTaskWithHeaders(task.Type(), task.Payload(), task.Headers())
		if err := h.ProcessTask(context.Background(), received); err != nil && err != failed {
			t.Fatal(err)
		}
	}
	spans := exp.GetSpans()
	req := named(t, spans, "request")
	enq := named(t, spans, "enqueue domain:lock")
	proc := named(t, spans, "process domain:lock")
	if enq.SpanKind != trace.SpanKindProducer || enq.Parent.SpanID() != req.SpanContext.SpanID() {
		t.Fatalf("enqueue span: kind %v, parent %v; want a producer under the request", enq.SpanKind, enq.Parent.SpanID())
	}
	if proc.SpanKind != trace.SpanKindConsumer || proc.SpanContext.TraceID() != req.SpanContext.TraceID() || proc.Parent.SpanID() != enq.SpanContext.SpanID() {
		t.Fatalf("process span: kind %v, trace %v parent %v; want a consumer under the enqueue in trace %v",
			proc.SpanKind, proc.SpanContext.TraceID(), proc.Parent.SpanID(), req.SpanContext.TraceID())
	}
	if a := attrs(proc); a["reglock.domain"] != "x.com" || a["messaging.system"] != "asynq" || proc.Status.Description != "registrar busy" {
		t.Fatalf("process span: attributes %v, status %+v", a, proc.Status)
	}
	if a := attrs(enq); a["messaging.message.id"] != "lock:x.com@1" || a["reglock.queued"] != "true" {
		t.Fatalf("enqueue span attributes %v", a)
	}
	if a := attrs(named(t, spans, "enqueue sweep:run")); a["reglock.queued"] != "false" {
		t.Fatalf("a duplicate enqueue: attributes %v, want reglock.queued=false", a)
	}
	sw := named(t, spans, "process sweep:run")
	senq := named(t, spans, "enqueue sweep:run")
	if sw.Parent.IsValid() || sw.SpanContext.TraceID() == req.SpanContext.TraceID() {
		t.Fatalf("a sweep task joined the producer's trace (parent %v)", sw.Parent)
	}
	if len(sw.Links) != 1 || sw.Links[0].SpanContext.SpanID() != senq.SpanContext.SpanID() {
		t.Fatalf("a sweep task's links %+v, want its enqueue", sw.Links)
	}
}

// A registrar request's span has what locates it (method, host, port,
// path, status) and nothing a registrar takes credentials in: no query,
// no header, no body, no error text.
func TestTransport_spanHoldsNoCredentials(t *testing.T) {
	exp := install(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" {
			t.Error("a trace context was sent to the registrar")
		}
		io.WriteString(w, "<ok/>")
	}))
	defer srv.Close()
	hc := &http.Client{Transport: tracing.Transport(nil)}
	const pw = "s3cret-pw-value"
	ctx, parent := tracing.Start(context.Background(), "registrar set_lock")
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/interface.asp?uid=reseller&pw="+pw, strings.NewReader("pw="+pw))
	req.Header.Set("Authorization", "Bearer "+pw)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if len(exp.GetSpans()) != 0 {
		t.Fatal("the request's span ended before its answer was read")
	}
	io.ReadAll(resp.Body)
	resp.Body.Close()
	// A request that fails: the error quotes the URL, the span only its type.
	bad, _ := http.NewRequestWithContext(ctx, "GET", "http://127.0.0.1:1/x?pw="+pw, nil)
	if _, err := hc.Do(bad); err == nil || !strings.Contains(err.Error(), pw) {
		t.Fatalf("expected a refused connection quoting the URL, got %v", err)
	}
	// A webhook's URL path can be its secret: the opaque transport leaves it out.
	opaque := &http.Client{Transport: tracing.OpaqueTransport(nil)}
	hreq, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/services/"+pw, nil)
	if resp, err := opaque.Do(hreq); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	tracing.End(parent, nil)

	spans := exp.GetSpans()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want 4", len(spans))
	}
	if a := attrs(spans[2]); a["url.path"] != "" || a["server.address"] != "127.0.0.1" || a["http.response.status_code"] != "200" {
		t.Fatalf("the opaque request's span: %v", a)
	}
	ok, failed := spans[0], spans[1]
	if a := attrs(ok); ok.Name != "HTTP POST" || ok.SpanKind != trace.SpanKindClient || a["url.path"] != "/interface.asp" ||
		a["server.address"] != "127.0.0.1" || a["http.response.status_code"] != "200" || a["server.port"] == "" {
		t.Fatalf("the request's span: %s %v %v", ok.Name, ok.SpanKind, a)
	}
	if a := attrs(failed); a["error.type"] == "" || failed.Status.Description == "" {
		t.Fatalf("the failed request's span: %v, status %+v", a, failed.Status)
	}
	for _, s := range spans {
		if text := spanText(s); strings.Contains(text, pw) || strings.Contains(text, "uid=") {
			t.Fatalf("span %q holds a credential: %s", s.Name, text)
		}
	}
}

// spanText is everything a span exports as text.
func spanText(s tracetest.SpanStub) string {
	var b strings.Builder
	b.WriteString(s.Name + " " + s.Status.Description)
	add := func(kvs []attribute.KeyValue) {
		for _, kv := range kvs {
			b.WriteString(" " + string(kv.Key) + "=" + kv.Value.Emit())
		}
	}
	add(s.Attributes)
	for _, e := range s.Events {
		b.WriteString(" " + e.Name)
		add(e.Attributes)
	}
	add(s.Resource.Attributes())
	return b.String()
}

// The API's span is named by its route and continues a caller's trace.
func TestServer_namedByRoute(t *testing.T) {
	exp := install(t)
	r := httptest.NewRequest("POST", "/v1/domains/x.com/lock", nil)
	r.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	r2, span := tracing.StartServer(r)
	if !trace.SpanContextFromContext(r2.Context()).IsValid() {
		t.Fatal("no span in the request's context")
	}
	span.Finish("POST /v1/domains/{domain}/lock", 503, "billing")
	s := exp.GetSpans()[0]
	if a := attrs(s); s.Name != "POST /v1/domains/{domain}/lock" || a["http.route"] != s.Name ||
		a["http.response.status_code"] != "503" || a["reglock.token"] != "billing" || s.Status.Code.String() != "Error" {
		t.Fatalf("span %q %v %+v", s.Name, a, s.Status)
	}
	if s.SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || s.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Fatalf("the caller's traceparent was not continued: trace %v parent %v", s.SpanContext.TraceID(), s.Parent.SpanID())
	}
}
