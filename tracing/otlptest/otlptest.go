// Package otlptest is an OTLP/HTTP trace receiver for tests: it stands
// where an OpenTelemetry Collector would, decodes what reglock exports
// over the wire (protobuf, gzip or not) and keeps the spans in memory.
package otlptest

import (
	"compress/gzip"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	common "go.opentelemetry.io/proto/otlp/common/v1"
	"google.golang.org/protobuf/proto"
)

// Span is one received span, flattened.
type Span struct {
	Name                          string
	Kind                          string // "server", "client", "producer", "consumer", "internal"
	TraceID, SpanID, ParentSpanID string // hex; ParentSpanID is "" for a root
	Attributes                    map[string]string
	// Links are the span IDs (hex) of the spans this one links to.
	Links []string
	// StatusError is set when the span failed; Status is its message.
	StatusError bool
	Status      string
	// Events are the names and attributes of the span's events, as text.
	Events []string
	// Resource is the attributes of the process that sent it.
	Resource map[string]string
}

// Receiver is a running OTLP/HTTP receiver.
type Receiver struct {
	// URL is the receiver's base URL, for OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string
	mu  sync.Mutex
	got []Span
	// headers are the request headers of every export.
	headers []http.Header
	// Fail, when set, makes the receiver answer every export with this
	// status and body.
	Fail     int
	FailBody string
}

// New starts a receiver until the test ends.
func New(t testing.TB) *Receiver {
	r := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/v1/traces" {
		http.NotFound(w, req)
		return
	}
	var body io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg coltrace.ExportTraceServiceRequest
	if err := proto.Unmarshal(b, &msg); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.headers = append(r.headers, req.Header.Clone())
	fail, failBody := r.Fail, r.FailBody
	if fail == 0 {
		for _, rs := range msg.ResourceSpans {
			res := kvs(rs.GetResource().GetAttributes())
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					sp := Span{Name: s.Name, Kind: kind(int32(s.Kind)), TraceID: hex.EncodeToString(s.TraceId),
						SpanID: hex.EncodeToString(s.SpanId), ParentSpanID: hex.EncodeToString(s.ParentSpanId),
						Attributes: kvs(s.Attributes), Resource: res}
					for _, l := range s.Links {
						sp.Links = append(sp.Links, hex.EncodeToString(l.SpanId))
					}
					if st := s.Status; st != nil {
						sp.StatusError = st.Code == 2
						sp.Status = st.Message
					}
					for _, e := range s.Events {
						text := e.Name
						for k, v := range kvs(e.Attributes) {
							text += " " + k + "=" + v
						}
						sp.Events = append(sp.Events, text)
					}
					r.got = append(r.got, sp)
				}
			}
		}
	}
	r.mu.Unlock()
	if fail != 0 {
		http.Error(w, failBody, fail)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	out, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
	_, _ = w.Write(out)
}

// Spans returns the spans received so far.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.got...)
}

// Headers returns the headers of every export request so far.
func (r *Receiver) Headers() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.headers...)
}

func kind(k int32) string {
	switch k {
	case 2:
		return "server"
	case 3:
		return "client"
	case 4:
		return "producer"
	case 5:
		return "consumer"
	default:
		return "internal"
	}
}

func kvs(in []*common.KeyValue) map[string]string {
	out := make(map[string]string, len(in))
	for _, kv := range in {
		out[kv.Key] = text(kv.Value)
	}
	return out
}

// text is an attribute's value as text, whatever its type.
func text(v *common.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *common.AnyValue_StringValue:
		return x.StringValue
	case *common.AnyValue_BoolValue:
		if x.BoolValue {
			return "true"
		}
		return "false"
	case *common.AnyValue_IntValue:
		return strconv.FormatInt(x.IntValue, 10)
	case *common.AnyValue_DoubleValue:
		return strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
	case *common.AnyValue_BytesValue:
		return string(x.BytesValue)
	default:
		return v.String()
	}
}

// Text is everything a span exports as text: name, status, attributes,
// events, links and its resource, for a test that no secret is in it.
func (s Span) Text() string {
	out := s.Name + " " + s.Status
	for k, v := range s.Attributes {
		out += " " + k + "=" + v
	}
	for _, e := range s.Events {
		out += " " + e
	}
	for k, v := range s.Resource {
		out += " " + k + "=" + v
	}
	return out
}
