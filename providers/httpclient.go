package providers

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/reglock/reglock/tracing"
)

// MaxResponseBytes bounds how much of a registrar answer is read: a lock
// answer is a few kilobytes, a listing page well under a megabyte.
const MaxResponseBytes = 8 << 20

// NewHTTPClient returns the client every adapter uses: certificates verified
// (the default transport), enough idle connections for a busy worker, an
// overall timeout per request, and a span per request when tracing is on
// (tracing.Transport: no query, header or body in it).
func NewHTTPClient(timeout time.Duration) *http.Client {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns = 512
	tr.MaxIdleConnsPerHost = 256
	tr.IdleConnTimeout = 90 * time.Second
	return &http.Client{Timeout: timeout, Transport: tracing.Transport(tr)}
}

// ErrTooLarge is an answer larger than MaxResponseBytes: transient for a
// lock call (a broken proxy, an error page gone wild), and for a bulk read
// a sign that the account is too large to read in one answer.
var ErrTooLarge = errors.New("registrar answer larger than 8 MiB")

// ReadBody reads at most MaxResponseBytes of resp.Body and closes it. A body
// that is larger is ErrTooLarge rather than a memory spike; one that says so
// in its Content-Length is refused without being read.
func ReadBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > MaxResponseBytes {
		return nil, ErrTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponseBytes {
		return nil, ErrTooLarge
	}
	return b, nil
}

// TransportError classifies a failed round trip: the caller's own
// cancellation is returned as is; everything else (refused connection,
// timeout, reset) is transient, with URLs redacted.
func TransportError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return RedactURL(err)
}

// Snippet returns the start of a text for an error message, so that a
// multi-megabyte value does not become a multi-megabyte log line. An
// answer's body is described by SummarizeBody or BodySummary instead,
// which never quote markup.
func Snippet(b []byte) string {
	const max = 200
	s := string(b)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// ParseEndpoint parses an adapter's Endpoint setting: an absolute http or
// https URL with a host. The error names the adapter and the setting but
// not the value, which might carry credentials.
func ParseEndpoint(adapter, endpoint string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New(adapter + ": Endpoint: must be an http:// or https:// URL with a host")
	}
	return u, nil
}
