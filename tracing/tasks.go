package tracing

import (
	"context"

	"github.com/hibiken/asynq"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// messaging is the attributes every queue span shares.
func messaging(op, queue, id string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String("messaging.system", "asynq"),
		attribute.String("messaging.operation.type", op),
		attribute.String("messaging.destination.name", queue),
		attribute.String("messaging.message.id", id),
	}
}

// StartEnqueue starts the producer span of queueing t under id on queue,
// and returns t carrying that span's context in its headers, so that the
// worker's span continues the trace. End the span with EndEnqueue. Off, it
// returns t itself.
func StartEnqueue(ctx context.Context, t *asynq.Task, id, queue string) (*asynq.Task, trace.Span) {
	ctx, span := StartSend(ctx, t.Type(), id, queue)
	return Carry(ctx, t), span
}

// EndEnqueue ends an enqueue's span: queued is false when a task of the
// same ID was there already (the work is queued once).
func EndEnqueue(span trace.Span, queued bool, err error) {
	if span.IsRecording() && err == nil {
		span.SetAttributes(AttrQueued.Bool(queued))
	}
	End(span, err)
}

// Headers returns ctx's trace context as asynq task headers, for a
// producer that builds its task with asynq.NewTaskWithHeaders and its own
// options; nil when tracing is off or ctx carries no span.
func Headers(ctx context.Context) map[string]string {
	if tracer.Load() == nil || !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	h := map[string]string{}
	propagator.Inject(ctx, propagation.MapCarrier(h))
	return h
}

// StartSend starts the producer span of queueing a task of type typ under
// id on queue, for a producer that builds the task itself (with Headers of
// the returned context). End it with EndEnqueue.
func StartSend(ctx context.Context, typ, id, queue string) (context.Context, trace.Span) {
	if tracer.Load() == nil {
		return ctx, none // before the name and attributes are built
	}
	return start(ctx, "enqueue "+typ, trace.SpanKindProducer, messaging("send", queue, id)...)
}

// Carry returns t with ctx's trace context (W3C traceparent) added to its
// headers, for a Go producer that enqueues with its own asynq.Client and
// wants the worker's spans in its trace. It returns t itself when tracing
// is off or ctx carries no span. asynq keeps a task's options private, so
// options given to NewTask do not carry over: give them to Enqueue.
func Carry(ctx context.Context, t *asynq.Task) *asynq.Task {
	h := Headers(ctx)
	if h == nil {
		return t
	}
	for k, v := range t.Headers() {
		if _, ok := h[k]; !ok {
			h[k] = v
		}
	}
	return asynq.NewTaskWithHeaders(t.Type(), t.Payload(), h)
}

// Tasks is the asynq middleware that runs each task in a consumer span,
// named "process <type>", continuing the trace its headers carry. A task
// for which linked(type) is true starts a trace of its own with a link to
// the one that queued it instead: a sweep's units, each a trace, rather
// than one trace of the whole sweep. Handlers add what they know with
// Annotate.
func Tasks(linked func(taskType string) bool) asynq.MiddlewareFunc {
	return func(next asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			if tracer.Load() == nil {
				return next.ProcessTask(ctx, t)
			}
			id, _ := asynq.GetTaskID(ctx)
			queue, _ := asynq.GetQueueName(ctx)
			retried, _ := asynq.GetRetryCount(ctx)
			attrs := append(messaging("process", queue, id), AttrRetry.Int(retried))
			producer := propagator.Extract(ctx, propagation.MapCarrier(t.Headers()))
			opts := []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...)}
			parent := producer
			if linked != nil && linked(t.Type()) {
				if sc := trace.SpanContextFromContext(producer); sc.IsValid() {
					opts = append(opts, trace.WithLinks(trace.Link{SpanContext: sc}))
				}
				opts = append(opts, trace.WithNewRoot())
			}
			ctx, span := (*tracer.Load()).Start(parent, "process "+t.Type(), opts...)
			err := next.ProcessTask(ctx, t)
			End(span, err)
			return err
		})
	}
}
