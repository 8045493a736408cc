package exporter_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"

	"github.com/reglock/reglock/tracing"
	"github.com/reglock/reglock/tracing/exporter"
	"github.com/reglock/reglock/tracing/otlptest"
)

// clearEnv unsets every variable FromEnv reads, for one test.
func clearEnv(t *testing.T) {
	for _, v := range []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES"} {
		t.Setenv(v, "")
	}
}

// With no OTLP variable, tracing stays off.
func TestFromEnv_offWithoutEndpoint(t *testing.T) {
	clearEnv(t)
	s, err := exporter.FromEnv(context.Background(), exporter.Options{Role: "worker"})
	if err != nil || s.Enabled || tracing.Enabled() {
		t.Fatalf("FromEnv with no variables: %+v, %v; tracing on: %v", s, err, tracing.Enabled())
	}
	for _, v := range [][2]string{{"OTEL_SDK_DISABLED", "true"}, {"OTEL_TRACES_EXPORTER", "none"}} {
		t.Run(v[0], func(t *testing.T) {
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
			t.Setenv(v[0], v[1])
			if s, err := exporter.FromEnv(context.Background(), exporter.Options{}); err != nil || s.Enabled {
				t.Fatalf("%s=%s: %+v, %v; want off", v[0], v[1], s, err)
			}
		})
	}
}

// A variable reglock cannot honour is an error naming it, and tracing
// stays off.
func TestFromEnv_badVariablesNamed(t *testing.T) {
	for _, c := range []struct {
		env  [][2]string
		want string
	}{
		{[][2]string{{"OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"}}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{[][2]string{{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://collector"}}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{[][2]string{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"}}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{[][2]string{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "udp"}}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"},
		{[][2]string{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"}, {"OTEL_TRACES_EXPORTER", "zipkin"}}, "OTEL_TRACES_EXPORTER"},
	} {
		t.Run(c.want, func(t *testing.T) {
			clearEnv(t)
			for _, kv := range c.env {
				t.Setenv(kv[0], kv[1])
			}
			s, err := exporter.FromEnv(context.Background(), exporter.Options{})
			if err == nil || !strings.Contains(err.Error(), c.want) || s.Enabled || tracing.Enabled() {
				t.Fatalf("%v: %+v, %v; want an error naming %s", c.env, s, err, c.want)
			}
		})
	}
}

// Spans reach a collector over OTLP/HTTP with the headers the standard
// variables give and the process's resource; the endpoint reglock logs
// holds no password.
func TestFromEnv_exportsOverOTLP(t *testing.T) {
	clearEnv(t)
	rcv := otlptest.New(t)
	u := strings.Replace(rcv.URL, "http://", "http://user:endpoint-pw@", 1)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", u)
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=collector-key-123")
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")
	s, err := exporter.FromEnv(context.Background(), exporter.Options{Version: "v1.2.3", Role: "worker"})
	if err != nil || !s.Enabled || s.Protocol != "http/protobuf" || !tracing.Enabled() {
		t.Fatalf("FromEnv: %+v, %v", s, err)
	}
	if strings.Contains(s.Endpoint, "endpoint-pw") || !strings.HasPrefix(s.Endpoint, "http://127.0.0.1:") {
		t.Fatalf("the endpoint shown: %q", s.Endpoint)
	}
	_, span := tracing.Start(context.Background(), "registrar set_lock", tracing.Domain("example.com"))
	tracing.End(span, nil)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if tracing.Enabled() {
		t.Fatal("tracing still on after Shutdown")
	}
	spans := rcv.Spans()
	if len(spans) != 1 {
		t.Fatalf("received %d spans, want 1", len(spans))
	}
	sp := spans[0]
	if sp.Name != "registrar set_lock" || sp.Attributes["reglock.domain"] != "example.com" {
		t.Fatalf("span %+v", sp)
	}
	if r := sp.Resource; r["service.name"] != "reglock" || r["service.version"] != "v1.2.3" || r["reglock.role"] != "worker" || r["deployment.environment"] != "test" {
		t.Fatalf("resource %v", r)
	}
	if h := rcv.Headers(); len(h) == 0 || h[0].Get("x-api-key") != "collector-key-123" {
		t.Fatalf("export headers %v", h)
	}
}

// A collector that fails is logged without the credentials the
// variables hold, even when its answer quotes them.
func TestFromEnv_exportErrorsRedacted(t *testing.T) {
	clearEnv(t)
	rcv := otlptest.New(t)
	rcv.Fail, rcv.FailBody = 401, "bad key collector-key-123 for user:endpoint-pw"
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", strings.Replace(rcv.URL, "http://", "http://user:endpoint-pw@", 1))
	t.Setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=collector-key-123")
	var logged []string
	s, err := exporter.FromEnv(context.Background(), exporter.Options{Log: func(m string) { logged = append(logged, m) }})
	if err != nil {
		t.Fatal(err)
	}
	_, span := tracing.Start(context.Background(), "x")
	tracing.End(span, nil)
	_ = s.Shutdown(context.Background())
	if len(logged) == 0 {
		t.Fatal("a failed export was not logged")
	}
	for _, m := range logged {
		if strings.Contains(m, "collector-key-123") || strings.Contains(m, "endpoint-pw") || !strings.Contains(m, "[redacted]") {
			t.Fatalf("logged %q", m)
		}
	}
}

// grpcCollector is an OTLP/gRPC trace receiver.
type grpcCollector struct {
	coltrace.UnimplementedTraceServiceServer
	mu    sync.Mutex
	names []string
}

func (c *grpcCollector) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				c.names = append(c.names, s.Name)
			}
		}
	}
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// OTEL_EXPORTER_OTLP_PROTOCOL=grpc exports over gRPC (plain text to an
// http:// endpoint, as the variables' documentation says).
func TestFromEnv_grpc(t *testing.T) {
	clearEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	col := &grpcCollector{}
	srv := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(srv, col)
	go srv.Serve(ln)
	defer srv.Stop()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	s, err := exporter.FromEnv(context.Background(), exporter.Options{Role: "api"})
	if err != nil || !s.Enabled || s.Protocol != "grpc" {
		t.Fatalf("FromEnv: %+v, %v", s, err)
	}
	_, span := tracing.Start(context.Background(), "over grpc")
	tracing.End(span, nil)
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.names) != 1 || col.names[0] != "over grpc" {
		t.Fatalf("the collector received %q", col.names)
	}
}
