package main

import (
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/tracing/otlptest"
)

// One lock request is one trace across two processes: the API's request
// (continuing the caller's traceparent), its enqueue, the worker's task in
// another process (the context crossed Redis in the task's headers), each
// registrar operation, its wait for a rate-limit slot and its HTTP request
// to the registrar. A sweep's tasks are traces of their own, linked to the
// enqueue that queued them. No span holds a token or a password, in any
// encoding. Spans leave each process over OTLP/HTTP, configured by the
// standard variables alone, into a receiver that keeps them in memory.
func TestE2E_traceAcrossAPIQueueAndRegistrar(t *testing.T) {
	t.Parallel()
	rcv := otlptest.New(t)
	// A webhook whose URL path is its secret, as Slack's are.
	const hookPath = "/services/T0001/B0001/hook-path-secret-4f9a"
	heard := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case heard <- r.URL.Path:
		default:
		}
	}))
	t.Cleanup(hook.Close)
	e := newE2E(t, "notifications:\n  - name: chat\n    url: "+hook.URL+hookPath+"\n    secret: "+hookSecret+"\n    events: [sweep_finished]\n")
	e.extraEnv = []string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + rcv.URL, "OTEL_BSP_SCHEDULE_DELAY=100"}
	e.enom.AddDomain("traced.com", false)
	e.enom.AddDomain("other.com", true)
	e.start("api")
	e.start("worker")
	e.eventually("the API", 15*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })

	// The caller (a billing system) sends its own trace context.
	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	req, _ := http.NewRequest("POST", "http://"+e.api+"/v1/domains/traced.com/lock", strings.NewReader(`{"reason":"traced"}`))
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("lock: %v %v", resp, err)
	}
	resp.Body.Close()
	e.eventually("the lock to converge", 15*time.Second, func() bool { return e.inSync("traced.com", true) })

	var trace []otlptest.Span
	byName := map[string][]otlptest.Span{}
	e.eventually("the trace's registrar spans", 15*time.Second, func() bool {
		trace, byName = nil, map[string][]otlptest.Span{}
		for _, s := range rcv.Spans() {
			if s.TraceID == callerTrace {
				trace = append(trace, s)
				byName[s.Name] = append(byName[s.Name], s)
			}
		}
		return len(byName["registrar set_lock"]) == 1 && len(byName["registrar lock_state"]) >= 2 && len(byName["HTTP POST"]) >= 3
	})
	one := func(name string) otlptest.Span {
		t.Helper()
		if len(byName[name]) != 1 {
			t.Fatalf("%d spans %q in the trace, want 1; the trace: %v", len(byName[name]), name, names(trace))
		}
		return byName[name][0]
	}
	server := one("POST /v1/domains/{domain}/lock")
	enqueue := one("enqueue domain:lock")
	process := one("process domain:lock")
	setLock := one("registrar set_lock")
	checks := []struct {
		what string
		ok   bool
	}{
		{"the API's span continues the caller's", server.ParentSpanID == callerSpan && server.Kind == "server"},
		{"the API's span: route, status, token name", server.Attributes["http.route"] == server.Name &&
			server.Attributes["http.response.status_code"] == "202" && server.Attributes["reglock.token"] == "billing"},
		{"the API process made the API's and the enqueue's spans", server.Resource["reglock.role"] == "api" && enqueue.Resource["reglock.role"] == "api"},
		{"the enqueue is a producer under the request", enqueue.Kind == "producer" && enqueue.ParentSpanID == server.SpanID &&
			enqueue.Attributes["messaging.message.id"] == "lock:traced.com@1" && enqueue.Attributes["reglock.queued"] == "true"},
		{"the worker process's task continues the enqueue", process.Kind == "consumer" && process.ParentSpanID == enqueue.SpanID &&
			process.Resource["reglock.role"] == "worker"},
		{"the task's span says what it did", process.Attributes["reglock.domain"] == "traced.com" &&
			process.Attributes["reglock.generation"] == "1" && process.Attributes["reglock.provider"] == "enom-main" &&
			process.Attributes["reglock.outcome"] == "converged" && !process.StatusError},
		{"the registrar's operations are under the task", setLock.ParentSpanID == process.SpanID &&
			setLock.Attributes["reglock.provider"] == "enom-main" && setLock.Attributes["reglock.provider_type"] == "enom" &&
			setLock.Attributes["reglock.domain"] == "traced.com"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: not so; the trace:\n%s", c.what, dump(trace))
		}
	}
	// Under set_lock: its rate-limit wait and its HTTP request to eNom.
	var wait, post bool
	for _, s := range trace {
		if s.ParentSpanID != setLock.SpanID {
			continue
		}
		switch s.Name {
		case "ratelimit wait":
			wait = true
		case "HTTP POST":
			post = s.Kind == "client" && s.Attributes["server.address"] == "127.0.0.1" &&
				s.Attributes["url.path"] == "/enom/interface.asp" && s.Attributes["http.response.status_code"] == "200"
		}
	}
	if !wait || !post {
		t.Errorf("under set_lock: rate-limit wait %v, HTTP POST to eNom %v; the trace:\n%s", wait, post, dump(trace))
	}

	// A sweep: each of its tasks is a trace, linked to its enqueue.
	sreq, _ := http.NewRequest("POST", "http://"+e.api+"/v1/sweeps", nil)
	sreq.Header.Set("Authorization", "Bearer "+e.token)
	if resp, err := http.DefaultClient.Do(sreq); err != nil || resp.StatusCode != 202 {
		t.Fatalf("sweep: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	e.eventually("a sweep unit's listing span", 20*time.Second, func() bool {
		spans := rcv.Spans()
		ids := bySpanID(spans)
		for _, s := range spans {
			if s.Name != "registrar bulk_read" {
				continue
			}
			unit, ok := ids[s.ParentSpanID]
			if !ok || unit.Name != "process sweep:run" || unit.Attributes["reglock.sweep.phase"] != "unit" {
				continue
			}
			if len(unit.Links) != 1 || unit.ParentSpanID != "" {
				t.Fatalf("a sweep unit's span: parent %q, links %v; want a root linked to its enqueue", unit.ParentSpanID, unit.Links)
			}
			enq, ok := ids[unit.Links[0]]
			return ok && enq.Name == "enqueue sweep:run" && enq.TraceID != unit.TraceID
		}
		return false
	})

	// The webhook the sweep raised: delivered under its enqueue, its
	// request's span without the path.
	select {
	case p := <-heard:
		if p != hookPath {
			t.Fatalf("the webhook was posted to %q", p)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no webhook delivery")
	}
	e.eventually("the webhook delivery's spans", 15*time.Second, func() bool {
		spans := rcv.Spans()
		ids := bySpanID(spans)
		for _, s := range spans {
			deliver, ok := ids[s.ParentSpanID]
			if s.Name != "HTTP POST" || !ok || deliver.Name != "process notify:webhook" {
				continue
			}
			if _, has := s.Attributes["url.path"]; has || s.Attributes["server.address"] != "127.0.0.1" {
				t.Fatalf("the webhook request's span: %v; want its host and no path", s.Attributes)
			}
			enq, ok := ids[deliver.ParentSpanID]
			return ok && enq.Name == "enqueue notify:webhook"
		}
		return false
	})

	// No secret in any span, in any encoding.
	for _, secret := range []string{e.token, "resellpw", hookSecret, "hook-path-secret-4f9a"} {
		forms := []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)), base64.URLEncoding.EncodeToString([]byte(secret)),
			hex.EncodeToString([]byte(secret)), url.QueryEscape(secret)}
		for _, s := range rcv.Spans() {
			text := s.Text()
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Fatalf("span %q holds a secret (%q): %s", s.Name, f, text)
				}
			}
		}
	}
}

// bySpanID indexes spans by their ID.
func bySpanID(spans []otlptest.Span) map[string]otlptest.Span {
	ids := make(map[string]otlptest.Span, len(spans))
	for _, s := range spans {
		ids[s.SpanID] = s
	}
	return ids
}

func names(spans []otlptest.Span) []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.Name
	}
	return out
}

func dump(spans []otlptest.Span) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.SpanID + " <- " + s.ParentSpanID + " " + s.Kind + " " + s.Name + " " + s.Resource["reglock.role"] + "\n")
		for k, v := range s.Attributes {
			b.WriteString("    " + k + "=" + v + "\n")
		}
	}
	return b.String()
}
