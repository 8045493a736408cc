package tracing

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
)

// Registrar returns the middleware (a providers.Middleware) that runs each
// call to account's registrar in a span named "registrar <op>", with the
// account, its type, the operation and the domain (none for a listing or
// bulk read, which is one span from its first page to its last). The
// adapter's error, already redacted where it is made, marks the span
// failed. Under it: the wait for a rate-limit slot (Wait) and each HTTP
// request (Transport).
func Registrar(account, typ string) func(ctx context.Context, op, domain string, call func(context.Context) error) error {
	return func(ctx context.Context, op, domain string, call func(context.Context) error) error {
		if tracer.Load() == nil {
			return call(ctx)
		}
		attrs := []attribute.KeyValue{AttrProvider.String(account), AttrProviderType.String(typ), AttrOperation.String(op)}
		if domain != "" {
			attrs = append(attrs, Domain(domain))
		}
		ctx, span := Start(ctx, "registrar "+op, attrs...)
		err := call(ctx)
		End(span, err)
		return err
	}
}

// Wait starts the span of a wait for an account's rate-limit slot; End it
// when the slot is taken (or the wait fails).
func Wait(ctx context.Context) (context.Context, func(error)) {
	if tracer.Load() == nil {
		return ctx, func(error) {}
	}
	ctx, span := Start(ctx, "ratelimit wait")
	return ctx, func(err error) { End(span, err) }
}
