package api

import (
	"bytes"
	"io"
	"net/http"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/secret"
)

// InProcess returns a client of the API handler h in this process: the
// CLI's --config mode, which serves its requests with the API's own
// handlers on the configuration's Redis instead of repeating them.
func InProcess(h http.Handler, token secret.String) *client.Client {
	return &client.Client{BaseURL: "http://in-process", Token: token, HTTP: &http.Client{Transport: handlerTransport{h}}}
}

// handlerTransport answers requests by calling a handler.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.RemoteAddr = "in-process"
	r.RequestURI = req.URL.RequestURI()
	if r.Body == nil {
		r.Body = http.NoBody
	}
	rec := &recorder{header: http.Header{}}
	t.h.ServeHTTP(rec, r)
	if rec.code == 0 {
		rec.code = http.StatusOK
	}
	return &http.Response{
		Status: http.StatusText(rec.code), StatusCode: rec.code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: rec.header, Body: io.NopCloser(&rec.body), ContentLength: int64(rec.body.Len()), Request: req,
	}, nil
}

// recorder is the http.ResponseWriter of an in-process request.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
