package tracing

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// ServerSpan is an API request's span; Finish ends it.
type ServerSpan struct{ span trace.Span }

// StartServer starts the server span of an API request, continuing the
// caller's trace if the request carries a W3C traceparent. The span is
// named by its method until Finish names its route. Off, it returns r
// itself.
func StartServer(r *http.Request) (*http.Request, ServerSpan) {
	if tracer.Load() == nil {
		return r, ServerSpan{none}
	}
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	ctx, span := start(ctx, r.Method, trace.SpanKindServer,
		attribute.String("http.request.method", r.Method),
		attribute.String("url.path", r.URL.Path),
	)
	return r.WithContext(ctx), ServerSpan{span}
}

// Finish names the span after the route that served the request (its
// ServeMux pattern, e.g. "POST /v1/domains/{domain}/lock"; "" when no
// route took it) and records the answer's status and the token's name.
// A 5xx answer marks the span failed; a 4xx is the client's, not ours.
func (s ServerSpan) Finish(route string, status int, token string) {
	if !s.span.IsRecording() {
		return
	}
	if route != "" {
		s.span.SetName(route)
		s.span.SetAttributes(attribute.String("http.route", route))
	}
	s.span.SetAttributes(attribute.Int("http.response.status_code", status))
	if token != "" {
		s.span.SetAttributes(AttrToken.String(token))
	}
	if status >= 500 {
		s.span.SetStatus(codes.Error, strconv.Itoa(status))
	}
	s.span.End()
}

// Transport traces every request sent through rt with a client span
// carrying the method, the server's host and port, the URL's scheme and
// path and the answer's status. Never the query, the headers or the body,
// where registrars take credentials; and when a request fails, only the
// error's type, since a transport error can quote the URL. No trace
// context is sent: the registrars are third parties.
func Transport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return transport{next: rt, path: true}
}

// OpaqueTransport is Transport for URLs whose path can itself be a
// credential, as a webhook's often is (a Slack incoming webhook is
// https://hooks.slack.com/services/<secret>): its spans have no url.path,
// only the method, host, port, scheme and status.
func OpaqueTransport(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		rt = http.DefaultTransport
	}
	return transport{next: rt}
}

type transport struct {
	next http.RoundTripper
	path bool // record url.path
}

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if tracer.Load() == nil {
		return t.next.RoundTrip(req)
	}
	host, port := req.URL.Hostname(), req.URL.Port()
	if port == "" && req.URL.Scheme == "https" {
		port = "443"
	} else if port == "" && req.URL.Scheme == "http" {
		port = "80"
	}
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", req.Method),
		attribute.String("server.address", host),
		attribute.String("url.scheme", req.URL.Scheme),
	}
	if t.path {
		attrs = append(attrs, attribute.String("url.path", req.URL.Path))
	}
	if p, err := strconv.Atoi(port); err == nil {
		attrs = append(attrs, attribute.Int("server.port", p))
	}
	ctx, span := start(req.Context(), "HTTP "+req.Method, trace.SpanKindClient, attrs...)
	resp, err := t.next.RoundTrip(req.WithContext(ctx))
	if err != nil {
		typ := fmt.Sprintf("%T", err)
		if e, ok := err.(net.Error); ok && e.Timeout() {
			typ = "timeout"
		}
		span.SetAttributes(attribute.String("error.type", typ))
		span.SetStatus(codes.Error, typ)
		span.End()
		return resp, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", resp.StatusCode))
	if resp.StatusCode >= 400 {
		span.SetAttributes(attribute.String("error.type", strconv.Itoa(resp.StatusCode)))
		span.SetStatus(codes.Error, strconv.Itoa(resp.StatusCode))
	}
	// The span lasts until the answer is read: a slow listing page is slow
	// in its body, not its headers.
	resp.Body = &endOnClose{ReadCloser: resp.Body, span: span}
	return resp, nil
}

// endOnClose ends a client span when the answer's body is closed.
type endOnClose struct {
	io.ReadCloser
	span trace.Span
	once sync.Once
}

func (b *endOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() { b.span.End() })
	return err
}
