package providertest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// The wire fake: one httptest server every adapter's wire tests share
// (lego's servermock shape), instead of a hand-copied fake per adapter. It
// answers from a script and records every request whole, so that a test
// asserts the exact request an adapter sent (method, path, query, headers,
// body) and replays answers recorded from the real services (testdata).

// Answer is one canned HTTP answer.
type Answer struct {
	// Status defaults to 200.
	Status int
	Header http.Header
	Body   []byte
}

// Request is one request as the fake received it.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   []byte
}

// Form parses a form-encoded body (eNom, WHMCS).
func (r Request) Form() url.Values {
	v, _ := url.ParseQuery(string(r.Body))
	return v
}

// Wire is a fake registrar endpoint.
type Wire struct {
	// URL is the server's base URL, e.g. "http://127.0.0.1:1234".
	URL string

	mu      sync.Mutex
	answers []Answer
	next    int // the answer the next request gets
	route   func(Request) Answer
	reqs    []Request
}

// NewWire starts a fake that answers requests with answers in order (the
// last one repeats; none: 200 with an empty body), closed when the test
// ends.
func NewWire(t testing.TB, answers ...Answer) *Wire {
	t.Helper()
	w := &Wire{answers: answers}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	w.URL = srv.URL
	return w
}

// Script replaces the answers still to come.
func (w *Wire) Script(answers ...Answer) {
	w.mu.Lock()
	w.answers, w.next, w.route = answers, 0, nil
	w.mu.Unlock()
}

// Route answers every request with f instead of a script: for exchanges
// whose order is the adapter's business (a lookup, then the call).
func (w *Wire) Route(f func(Request) Answer) {
	w.mu.Lock()
	w.route = f
	w.mu.Unlock()
}

// Requests returns every request received so far.
func (w *Wire) Requests() []Request {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.reqs)
}

// Last returns the last request; the test fails if there was none.
func (w *Wire) Last(t testing.TB) Request {
	t.Helper()
	reqs := w.Requests()
	if len(reqs) == 0 {
		t.Fatal("no request reached the fake registrar")
	}
	return reqs[len(reqs)-1]
}

func (w *Wire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: body}
	w.mu.Lock()
	w.reqs = append(w.reqs, req)
	var a Answer
	switch {
	case w.route != nil:
		route := w.route
		w.mu.Unlock()
		a = route(req)
		w.mu.Lock()
	case len(w.answers) > 0:
		a = w.answers[min(w.next, len(w.answers)-1)]
		w.next++
	}
	w.mu.Unlock()
	for k, v := range a.Header {
		rw.Header()[k] = v
	}
	if a.Status == 0 {
		a.Status = http.StatusOK
	}
	rw.WriteHeader(a.Status)
	_, _ = rw.Write(a.Body)
}

// Fixture returns a 200 answer with the body of testdata/name.
func Fixture(t testing.TB, name string) Answer {
	t.Helper()
	return Answer{Body: ReadFixture(t, name)}
}

// ReadFixture returns the contents of testdata/name (of the package under
// test), failing the test if it cannot.
func ReadFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Fixtures lists the testdata files whose names match pattern
// (filepath.Match syntax, e.g. "recorded/*.xml"), sorted: the fuzz targets
// seed from them, and replay tests walk them.
func Fixtures(t testing.TB, pattern string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = strings.TrimPrefix(filepath.ToSlash(n), "testdata/")
	}
	slices.Sort(names)
	return names
}
