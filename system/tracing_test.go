package system_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/tracing"
	"github.com/reglock/reglock/worker"
)

// One process built as the binary builds it, tracing into the SDK's
// in-memory exporter: a lock sent to the API is one trace from the API's
// span through the queue (real Redis, asynq's own server) to the worker's
// task, its registrar operations and their HTTP requests to the eNom
// simulator. (cmd/reglock/tracing_test.go shows the same across two
// processes over OTLP.)
func TestTracing_oneTraceFromAPIToRegistrar(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(tracing.Install(tp))

	env := redistest.New(t)
	sim := simulator.New(simulator.Options{})
	acct := sim.AddAccount(simulator.ENom, "resellid", "resellpw")
	acct.AddDomain("traced.com", false)
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	cfg := config.Default()
	cfg.Providers = []config.Provider{{Name: "enom-main", Type: config.TypeEnom, Endpoint: hs.URL + "/enom/interface.asp",
		Username: "resellid", Password: secret.String("resellpw"), TLDs: []string{"com"}}}
	accounts, err := system.Accounts(cfg, nil, nil) // traced: tracing is on by now
	if err != nil {
		t.Fatal(err)
	}
	sys := system.New(system.Options{Config: cfg, Redis: env.Client, Namespace: env.Namespace, Accounts: accounts, Log: zerolog.Nop()})
	srv := worker.NewServers(env.Client, worker.ServerConfig{Concurrency: 2, ShutdownTimeout: 5 * time.Second,
		Queues: tasks.Namespace(env.Namespace), PollInterval: 20 * time.Millisecond, Log: zerolog.Nop()})
	if err := srv.Start(sys.Worker().Mux()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	const token = "billing-token-0123456789"
	api := httptest.NewServer(sys.API([]config.Token{{Name: "billing", Token: secret.String(token)}}).Handler())
	t.Cleanup(api.Close)

	c := &client.Client{BaseURL: api.URL, Token: secret.String(token)}
	acc, err := c.Lock(context.Background(), "traced.com", client.LockRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var byName map[string][]tracetest.SpanStub
	var root tracetest.SpanStub
	deadline := time.Now().Add(15 * time.Second)
	for {
		byName = map[string][]tracetest.SpanStub{}
		spans := exp.GetSpans()
		for _, s := range spans {
			if s.Name == "POST /v1/domains/{domain}/lock" {
				root = s
			}
		}
		for _, s := range spans {
			if s.SpanContext.TraceID() == root.SpanContext.TraceID() {
				byName[s.Name] = append(byName[s.Name], s)
			}
		}
		if len(byName["registrar set_lock"]) == 1 && len(byName["HTTP POST"]) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no registrar write in the lock's trace; its spans: %v", keys(byName))
		}
		time.Sleep(20 * time.Millisecond)
	}
	one := func(name string) tracetest.SpanStub {
		t.Helper()
		if len(byName[name]) != 1 {
			t.Fatalf("%d spans %q in the trace, want 1 (spans: %v)", len(byName[name]), name, keys(byName))
		}
		return byName[name][0]
	}
	enqueue, process, setLock := one("enqueue domain:lock"), one("process domain:lock"), one("registrar set_lock")
	if root.Parent.IsValid() || enqueue.Parent.SpanID() != root.SpanContext.SpanID() ||
		process.Parent.SpanID() != enqueue.SpanContext.SpanID() || setLock.Parent.SpanID() != process.SpanContext.SpanID() {
		t.Fatalf("the chain API -> enqueue -> task -> registrar is broken: root parent %v, enqueue's %v (root %v), task's %v (enqueue %v), set_lock's %v (task %v)",
			root.Parent.SpanID(), enqueue.Parent.SpanID(), root.SpanContext.SpanID(), process.Parent.SpanID(),
			enqueue.SpanContext.SpanID(), setLock.Parent.SpanID(), process.SpanContext.SpanID())
	}
	if id := attr(enqueue, "messaging.message.id"); id != acc.TaskID {
		t.Errorf("the enqueue's task ID %q, want the accepted %q", id, acc.TaskID)
	}
	posted := false
	for _, s := range byName["HTTP POST"] {
		if s.Parent.SpanID() == setLock.SpanContext.SpanID() && attr(s, "url.path") == "/enom/interface.asp" && attr(s, "http.response.status_code") == "200" {
			posted = true
		}
	}
	if !posted {
		t.Error("no HTTP POST to the eNom simulator under set_lock")
	}
	if l, _ := sim.Locked("traced.com"); !l {
		t.Error("the simulator's domain is not locked")
	}
	for _, s := range exp.GetSpans() {
		for _, kv := range s.Attributes {
			if v := kv.Value.Emit(); strings.Contains(v, token) || strings.Contains(v, "resellpw") {
				t.Errorf("span %q: %s holds a secret", s.Name, kv.Key)
			}
		}
	}
}

func attr(s tracetest.SpanStub, key string) string {
	for _, kv := range s.Attributes {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

func keys(m map[string][]tracetest.SpanStub) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
