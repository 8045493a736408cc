package rdap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/providers"
)

// The errors callers branch on.
var (
	// ErrNoService: the domain's TLD has no RDAP service (none in the
	// bootstrap file, or "" in config's servers). Permanent: asking again
	// will not help; the registry's view is simply not available.
	ErrNoService = errors.New("rdap: no RDAP service for this TLD")
	// ErrNotFound: the RDAP server does not know the domain (404).
	// Permanent.
	ErrNotFound = errors.New("rdap: the registry does not know the domain")
)

// MaxResponseBytes bounds an RDAP answer: a domain object is a few
// kilobytes, 1 MiB is generous.
const MaxResponseBytes = 1 << 20

// DefaultRetryAfter is how long a 429 without a usable Retry-After asks to
// wait.
const DefaultRetryAfter = time.Minute

const userAgent = "reglock"

// Pacer spaces requests per key ("rdap:<host>"). RateLimiter is the one
// shared by every process; nil in Options means no pacing.
type Pacer interface {
	Wait(ctx context.Context, key string) error
}

// Options are a Client's parts that are not configuration.
type Options struct {
	// Pacer paces every request per server; nil means none.
	Pacer Pacer
	// HTTP sends the requests; nil means providers.NewHTTPClient with
	// config.RDAP.Timeout (certificates verified).
	HTTP *http.Client
	// Clock reads Retry-After dates and judges the bootstrap file's age;
	// nil means the wall clock.
	Clock clock.Clock
}

// Client looks domains up over RDAP. Safe for concurrent use.
type Client struct {
	bootstrap *Bootstrap
	http      *http.Client
	pacer     Pacer
	clock     clock.Clock
}

// New returns a Client for the rdap section of the configuration (which
// Parse has validated and defaulted).
func New(c config.RDAP, o Options) *Client {
	hc := o.HTTP
	if hc == nil {
		hc = providers.NewHTTPClient(c.Timeout)
	}
	return &Client{
		bootstrap: &Bootstrap{URL: c.Bootstrap, Overrides: c.Servers, Refresh: c.BootstrapRefresh, HTTP: hc, Clock: o.Clock},
		http:      hc,
		pacer:     o.Pacer,
		clock:     clock.Or(o.Clock),
	}
}

// Bootstrap is the client's server finder.
func (c *Client) Bootstrap() *Bootstrap { return c.bootstrap }

// Lookup reads the registry's view of domain (any case, U-labels or
// A-labels). Errors:
//   - ErrNoService (permanent) for a TLD without RDAP;
//   - ErrNotFound (permanent) for a 404;
//   - a *providers.RetryAfterError for a 429 (Retry-After honoured,
//     DefaultRetryAfter without one) or a 503 with Retry-After, and for the
//     pacer's "no slot soon enough": providers.Judge says RetryLater;
//   - transient errors (5xx, network, the bootstrap file unreachable);
//   - an error wrapping ErrMalformed (providers.Unrecognized: retried a
//     few times) for an answer that is not a domain object, or one for
//     another domain.
func (c *Client) Lookup(ctx context.Context, domain string) (Domain, error) {
	name, err := normalize(domain)
	if err != nil {
		return Domain{}, providers.Permanent(err)
	}
	base, ok, err := c.bootstrap.ServerFor(ctx, name)
	if err != nil {
		return Domain{}, err
	}
	if !ok {
		return Domain{}, providers.Permanent(fmt.Errorf("%w: %s", ErrNoService, tldOf(name)))
	}
	u, err := url.Parse(base + "domain/" + name)
	if err != nil {
		return Domain{}, providers.Permanent(fmt.Errorf("rdap: server URL for %s: %w", tldOf(name), err))
	}
	if c.pacer != nil {
		if err := c.pacer.Wait(ctx, "rdap:"+u.Host); err != nil {
			return Domain{}, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Domain{}, providers.Permanent(err)
	}
	req.Header.Set("Accept", "application/rdap+json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return Domain{}, fmt.Errorf("rdap: %s: %w", u.Host, providers.TransportError(ctx, err))
	}
	body, err := readBody(resp)
	if err != nil {
		return Domain{}, fmt.Errorf("rdap: %s: %w", u.Host, providers.TransportError(ctx, err))
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusNotFound:
		return Domain{}, providers.Permanent(fmt.Errorf("%w: %s (%s)", ErrNotFound, name, u.Host))
	case code == http.StatusTooManyRequests:
		se := &providers.StatusError{Code: code, Body: summary(body)}
		d, ok := providers.ParseRetryAfter(resp.Header.Get("Retry-After"), c.clock.Now())
		if !ok {
			d = DefaultRetryAfter
		}
		return Domain{}, providers.RetryAfter(d, fmt.Errorf("rdap: %s: %w", u.Host, se))
	case code >= 500:
		return Domain{}, fmt.Errorf("rdap: %s: %w", u.Host,
			providers.HTTPStatusError(code, resp.Header, summary(body), c.clock.Now()))
	default:
		// 400, 403 (some servers block this way), redirects not followed...
		return Domain{}, providers.Unrecognized(fmt.Errorf("rdap: %s: %w", u.Host,
			&providers.StatusError{Code: code, Body: summary(body)}))
	}
	d, err := ParseDomain(body)
	if err != nil {
		return Domain{}, providers.Unrecognized(fmt.Errorf("rdap: %s: %w", u.Host, err))
	}
	if d.Name != "" && d.Name != name {
		return Domain{}, providers.Unrecognized(fmt.Errorf("rdap: %s: %w: answered for %q, asked for %q",
			u.Host, ErrMalformed, clip(d.Name), name))
	}
	if d.Name == "" {
		d.Name = name
	}
	return d, nil
}

var errTooLarge = errors.New("rdap: answer larger than 1 MiB")

// readBody reads at most MaxResponseBytes and closes the body.
func readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	if resp.ContentLength > MaxResponseBytes {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxResponseBytes {
		return nil, errTooLarge
	}
	return b, nil
}

// normalize returns domain as RDAP wants it in the path: lowercase
// A-labels without a trailing dot.
func normalize(domain string) (string, error) {
	name, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(domain), "."))
	if err != nil || !strings.Contains(name, ".") {
		return "", fmt.Errorf("rdap: %q is not a domain name", clip(domain))
	}
	return name, nil
}

func tldOf(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return name
}

var htmlTitle = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

// summary describes an error body without pasting it: the RDAP error
// object's title (RFC 9083 section 6), or an HTML page's <title>, clipped;
// else nothing.
func summary(body []byte) string {
	var e struct {
		Title string `json:"title"`
	}
	if json.Unmarshal(body, &e) == nil && e.Title != "" {
		return clip(e.Title)
	}
	if m := htmlTitle.FindSubmatch(body); m != nil {
		return clip(strings.Join(strings.Fields(html.UnescapeString(string(m[1]))), " "))
	}
	return ""
}
