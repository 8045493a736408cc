// Package exporter turns reglock's tracing on from OpenTelemetry's
// standard environment variables, exporting spans over OTLP. It is apart
// from package tracing so that what a producer imports (tasks, and through
// it tracing) carries no SDK, exporter or gRPC.
package exporter

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/reglock/reglock/tracing"
)

// Options describe the process whose spans are exported.
type Options struct {
	// Version is reglock's build version (service.version).
	Version string
	// Role is what the process runs: "serve", "api", "worker",
	// "scheduler" (reglock.role), so that one service's spans say which
	// process made them.
	Role string
	// Log receives export failures, at most one line a minute, with
	// credentials from the OTLP variables removed. Nil drops them.
	Log func(msg string)
}

// Setup is what FromEnv did.
type Setup struct {
	// Enabled is true when spans are exported.
	Enabled bool
	// Endpoint is where they go, without credentials; Protocol is
	// "http/protobuf" or "grpc".
	Endpoint, Protocol string
	// Shutdown flushes the spans not yet sent and stops exporting; it is
	// a no-op when tracing is off.
	Shutdown func(context.Context) error
}

// FromEnv turns tracing on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
// OTEL_EXPORTER_OTLP_ENDPOINT is set (and OTEL_SDK_DISABLED is not "true",
// nor OTEL_TRACES_EXPORTER "none"), exporting over
// OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL: "http/protobuf" (the default) or
// "grpc". Everything else the OTLP exporters and the SDK read from the
// environment applies as OpenTelemetry documents it: headers, certificates
// (TLS is verified), timeouts, compression, OTEL_SERVICE_NAME,
// OTEL_RESOURCE_ATTRIBUTES, OTEL_TRACES_SAMPLER, OTEL_BSP_*. With none of
// them set, tracing stays off and costs nothing. A variable reglock cannot
// honour is an error naming it.
func FromEnv(ctx context.Context, o Options) (Setup, error) {
	off := Setup{Shutdown: func(context.Context) error { return nil }}
	settings, err := Settings()
	if err != nil || !settings.Enabled {
		return off, err
	}
	shown, protocol := settings.Endpoint, settings.Protocol
	var exp sdktrace.SpanExporter
	switch protocol {
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	}
	if err != nil {
		// The exporter's own error may quote what the variables hold.
		return off, fmt.Errorf("OTLP %s exporter for %s: %s", protocol, shown, redact(err.Error(), secretsOf(os.Getenv)))
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(
			attribute.String("service.name", "reglock"),
			attribute.String("service.version", o.Version),
			attribute.String("reglock.role", o.Role),
		),
		resource.WithTelemetrySDK(),
		// Last, so that OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
		resource.WithFromEnv(),
	)
	if err != nil && res == nil {
		return off, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	otel.SetErrorHandler(&errorLog{log: o.Log, redact: secretsOf(os.Getenv)})
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	uninstall := tracing.Install(tp)
	return Setup{Enabled: true, Endpoint: shown, Protocol: protocol, Shutdown: func(ctx context.Context) error {
		uninstall()
		return tp.Shutdown(ctx)
	}}, nil
}

// Settings reads what FromEnv would do from the OTEL_* variables, without
// starting anything (`reglock config check` prints it): off, or on with the
// endpoint (without credentials) and protocol; an error names a variable
// reglock cannot honour.
func Settings() (Setup, error) {
	getenv := os.Getenv // the exporters read the same variables themselves
	var off Setup
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return off, nil
	}
	switch e := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); e {
	case "", "otlp":
	case "none":
		return off, nil
	default:
		return off, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: reglock exports traces over OTLP only (otlp, or none)", e)
	}
	endpointVar := "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	endpoint := strings.TrimSpace(getenv(endpointVar))
	if endpoint == "" {
		endpointVar = "OTEL_EXPORTER_OTLP_ENDPOINT"
		endpoint = strings.TrimSpace(getenv(endpointVar))
	}
	if endpoint == "" {
		return off, nil
	}
	shown, err := checkEndpoint(endpoint)
	if err != nil {
		return off, fmt.Errorf("%s: %w", endpointVar, err)
	}
	protocolVar := "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
	protocol := strings.TrimSpace(getenv(protocolVar))
	if protocol == "" {
		protocolVar = "OTEL_EXPORTER_OTLP_PROTOCOL"
		protocol = strings.TrimSpace(getenv(protocolVar))
	}
	switch protocol {
	case "", "http/protobuf":
		protocol = "http/protobuf"
	case "grpc":
	default:
		return off, fmt.Errorf("%s=%q: reglock exports OTLP as http/protobuf or grpc", protocolVar, protocol)
	}
	return Setup{Enabled: true, Endpoint: shown, Protocol: protocol}, nil
}

// checkEndpoint requires an http(s) URL with a host, and returns it
// without its user information (which could hold a credential).
func checkEndpoint(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", errors.New("not an http:// or https:// URL with a host (e.g. http://otel-collector:4318)")
	}
	u.User = nil
	return u.Redacted(), nil
}

// secretsOf is every value the OTLP variables may hold a credential in:
// the headers' values (an API key, say) and the endpoints' passwords.
func secretsOf(getenv func(string) string) []string {
	var out []string
	for _, v := range []string{"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"} {
		for _, kv := range strings.Split(getenv(v), ",") {
			_, val, ok := strings.Cut(kv, "=")
			if val = strings.TrimSpace(val); !ok || val == "" {
				continue
			}
			out = append(out, val)
			if dec, err := url.QueryUnescape(val); err == nil && dec != val {
				out = append(out, dec)
			}
		}
	}
	for _, v := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"} {
		if u, err := url.Parse(getenv(v)); err == nil && u.User != nil {
			out = append(out, u.User.String())
			if pw, ok := u.User.Password(); ok && pw != "" {
				out = append(out, pw)
			}
		}
	}
	return out
}

// redact removes each of secrets from msg.
func redact(msg string, secrets []string) string {
	for _, s := range secrets {
		msg = strings.ReplaceAll(msg, s, "[redacted]")
	}
	return msg
}

// errorLog reports OpenTelemetry's errors (a collector that cannot be
// reached, say) at most once a minute, credentials removed: spans are
// dropped, never the process's work.
type errorLog struct {
	log    func(string)
	redact []string
	mu     sync.Mutex
	last   time.Time
}

func (l *errorLog) Handle(err error) {
	if l.log == nil || err == nil {
		return
	}
	l.mu.Lock()
	if !l.last.IsZero() && time.Since(l.last) < time.Minute {
		l.mu.Unlock()
		return
	}
	l.last = time.Now()
	l.mu.Unlock()
	msg := redact(err.Error(), l.redact)
	l.log("tracing: exporting spans failed (spans are dropped, work goes on): " + msg)
}
