// Package tracing is reglock's one owner of OpenTelemetry spans: what is
// traced, under which names and attributes, and how a trace crosses the
// queue. A change is one trace from the API request through its enqueue
// (the trace context rides in the asynq task's headers) to the worker's
// handler, each registrar operation, the wait for its rate-limit slot and
// each HTTP request it sends. A sweep's tasks are each a trace of their
// own, linked to the one that queued them: a sweep of a million domains is
// not one trace of a million spans.
//
// Tracing is off until Install is called (the binary calls it through
// tracing/exporter when the OTEL_EXPORTER_OTLP_* variables ask for it).
// Off, every function here returns at once, allocating nothing: the
// check is one atomic load.
//
// No secret reaches a span: attributes are chosen here, one by one, from
// values that are never credentials (token names, never tokens; URL
// paths, never queries or headers; error types at the HTTP level, never
// their text). docs/operations.md, "Tracing", lists every span and
// attribute.
package tracing

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// instrumentation is the name reglock's tracer is registered under.
const instrumentation = "github.com/reglock/reglock"

var (
	// tracer is nil while tracing is off.
	tracer atomic.Pointer[trace.Tracer]
	// propagator carries trace context in W3C traceparent/tracestate.
	propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
)

// Install turns tracing on with tp (an SDK TracerProvider with its
// exporter, or a test's in-memory one) and makes tp and the W3C
// propagator OpenTelemetry's globals. The returned function turns tracing
// off again; it does not shut tp down.
func Install(tp trace.TracerProvider) (uninstall func()) {
	t := tp.Tracer(instrumentation)
	tracer.Store(&t)
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagator)
	return func() { tracer.Store(nil) }
}

// Enabled reports whether spans are being recorded.
func Enabled() bool { return tracer.Load() != nil }

// none is the span handed out while tracing is off: it records nothing.
var none = trace.SpanFromContext(context.Background())

// start starts a span under ctx's, or returns ctx and a span that records
// nothing when tracing is off.
func start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	t := tracer.Load()
	if t == nil {
		return ctx, none
	}
	return (*t).Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// Start starts an internal span named name under ctx's span. End it with
// End.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return start(ctx, name, trace.SpanKindInternal, attrs...)
}

// End ends span, marking it failed with err's text if err is not nil. The
// errors reglock passes here are those it shows in logs and asynqmon,
// which are kept free of secrets where they are made (providers'
// redaction, held by cmd/reglock/secrets_test.go).
func End(span trace.Span, err error) {
	if !span.IsRecording() {
		return
	}
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Annotate adds an attribute to the span of ctx (a task's handler saying
// which domain it serves, say). Off, it does nothing. It takes one
// attribute, not a list, so that a call costs nothing while off: a list
// would be built (on the heap) before Annotate could say no.
func Annotate(ctx context.Context, kv attribute.KeyValue) {
	if tracer.Load() == nil {
		return
	}
	trace.SpanFromContext(ctx).SetAttributes(kv)
}

// The attributes reglock's spans carry beyond OpenTelemetry's semantic
// conventions. Each is safe to export: none is ever a credential.
const (
	// AttrDomain is the domain a span is about (an A-label).
	AttrDomain = attribute.Key("reglock.domain")
	// AttrGeneration is the intent's generation a change task carries.
	AttrGeneration = attribute.Key("reglock.generation")
	// AttrProvider is the configured account's name (providers[].name).
	AttrProvider = attribute.Key("reglock.provider")
	// AttrProviderType is the account's registrar type (enom, opensrs, ...).
	AttrProviderType = attribute.Key("reglock.provider_type")
	// AttrOperation is a registrar operation: lock_state, set_lock,
	// set_trade_lock, list, bulk_read.
	AttrOperation = attribute.Key("reglock.operation")
	// AttrToken is the name of the API token a request was made with (the
	// name, never the token).
	AttrToken = attribute.Key("reglock.token")
	// AttrOutcome is how a task ended: settled, superseded, owed, retry, ...
	AttrOutcome = attribute.Key("reglock.outcome")
	// AttrSweep is a sweep's ID; AttrSweepPhase and AttrSweepUnit say
	// which of its tasks a span is.
	AttrSweep      = attribute.Key("reglock.sweep_id")
	AttrSweepPhase = attribute.Key("reglock.sweep.phase")
	AttrSweepUnit  = attribute.Key("reglock.sweep.unit")
	// AttrRetry is how many times the task ran before (asynq's retry count).
	AttrRetry = attribute.Key("reglock.retry")
	// AttrQueued is false when an enqueue found the task's ID already
	// queued (the same work, queued once).
	AttrQueued = attribute.Key("reglock.queued")
)

// Domain is the AttrDomain attribute.
func Domain(d string) attribute.KeyValue { return AttrDomain.String(d) }
