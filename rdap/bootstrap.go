package rdap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
)

// Services is a parsed bootstrap file: TLD (lowercase, without dots around
// it) to the base URL of its RDAP server, ending in "/".
type Services map[string]string

// ParseBootstrap parses an RFC 9224 bootstrap file for the DNS
// (IANA's dns.json): {"services": [[["com", "net"], ["https://..."]], ...]}.
// Of a service's URLs the first https one wins, else the first (RFC 9224
// section 3 prefers https). An entry of another shape is an error: a file
// that is not what it should be must not replace a good copy.
func ParseBootstrap(data []byte) (Services, error) {
	var f struct {
		Services [][][]string `json:"services"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("rdap: bootstrap file: %w", err)
	}
	if f.Services == nil {
		return nil, errors.New("rdap: bootstrap file: no services")
	}
	out := make(Services)
	for i, svc := range f.Services {
		if len(svc) != 2 {
			return nil, fmt.Errorf("rdap: bootstrap file: service %d: want [[tlds], [urls]]", i)
		}
		base := ""
		for _, u := range svc[1] {
			if !validBase(u) {
				continue
			}
			if base == "" || strings.HasPrefix(u, "https://") && !strings.HasPrefix(base, "https://") {
				base = u
			}
		}
		if base == "" {
			continue // no usable URL: as if the TLDs had no service
		}
		if !strings.HasSuffix(base, "/") {
			base += "/"
		}
		for _, tld := range svc[0] {
			tld = strings.Trim(strings.ToLower(tld), ".")
			if tld != "" {
				out[tld] = base
			}
		}
	}
	return out, nil
}

func validBase(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

// ServerFor returns the base URL of the RDAP server of name, a TLD or a
// domain (lowercase A-labels): the entry of its longest suffix, as RFC 9224
// says.
func (s Services) ServerFor(name string) (baseURL string, ok bool) {
	name = strings.Trim(name, ".")
	for {
		if base, found := s[name]; found {
			return base, true
		}
		_, rest, more := strings.Cut(name, ".")
		if !more {
			return "", false
		}
		name = rest
	}
}

// failedRetry is how soon a failed fetch of the bootstrap file is tried
// again, so that an IANA outage costs one request per few minutes, not one
// per lookup.
const failedRetry = 5 * time.Minute

// Bootstrap finds the RDAP server of a domain: the configured overrides
// first, then the bootstrap file, fetched on first use and again every
// Refresh. A failed refresh keeps the copy held. Safe for concurrent use.
type Bootstrap struct {
	// URL is the bootstrap file's (config.RDAP.Bootstrap).
	URL string
	// Overrides are config.RDAP.Servers: TLD to base URL, "" for none.
	Overrides map[string]string
	// Refresh is how long a copy is used; 0 means a day.
	Refresh time.Duration
	// HTTP fetches the file; nil means a client with a 30s timeout.
	HTTP *http.Client
	// Clock tells when a copy is stale; nil means the wall clock.
	Clock clock.Clock

	mu       sync.Mutex
	services Services
	fetched  time.Time // of the copy held
	tried    time.Time // of the last failed attempt
	lastErr  error     // its error
}

// ServerFor returns the base URL (ending in "/") of the RDAP server of
// domain (lowercase A-labels), and false when its TLD has none. err is set
// only when the bootstrap file is needed, could not be fetched, and no
// copy is held.
func (b *Bootstrap) ServerFor(ctx context.Context, domain string) (baseURL string, ok bool, err error) {
	domain = strings.Trim(domain, ".")
	if base, found := Services(b.Overrides).ServerFor(domain); found {
		if base != "" && !strings.HasSuffix(base, "/") {
			base += "/"
		}
		return base, base != "", nil
	}
	services, err := b.current(ctx)
	if err != nil {
		return "", false, err
	}
	base, ok := services.ServerFor(domain)
	return base, ok, nil
}

// current returns the copy held, fetching a new one first when it is stale.
func (b *Bootstrap) current(ctx context.Context) (Services, error) {
	clk := clock.Or(b.Clock)
	refresh := b.Refresh
	if refresh <= 0 {
		refresh = 24 * time.Hour
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := clk.Now()
	if b.services != nil && now.Sub(b.fetched) < refresh {
		return b.services, nil
	}
	if !b.tried.IsZero() && now.Sub(b.tried) < min(failedRetry, refresh) {
		// Failed a moment ago: not again yet.
		if b.services != nil {
			return b.services, nil
		}
		return nil, b.lastErr
	}
	services, err := b.fetch(ctx)
	if err != nil {
		if ctx.Err() == nil { // the caller giving up says nothing of the file
			b.tried, b.lastErr = now, err
		}
		if b.services != nil {
			return b.services, nil // keep the old copy
		}
		return nil, err
	}
	b.services, b.fetched, b.tried, b.lastErr = services, now, time.Time{}, nil
	return services, nil
}

// maxBootstrapBytes bounds the bootstrap file (IANA's is about 20 KB).
const maxBootstrapBytes = 4 << 20

func (b *Bootstrap) fetch(ctx context.Context) (Services, error) {
	hc := b.HTTP
	if hc == nil {
		hc = providers.NewHTTPClient(30 * time.Second)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("rdap: bootstrap file: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("rdap: bootstrap file: %w", providers.TransportError(ctx, err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("rdap: bootstrap file: %w", &providers.StatusError{Code: resp.StatusCode, Body: summary(body)})
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBootstrapBytes+1))
	if err != nil {
		return nil, fmt.Errorf("rdap: bootstrap file: %w", providers.TransportError(ctx, err))
	}
	if len(body) > maxBootstrapBytes {
		return nil, errors.New("rdap: bootstrap file larger than 4 MiB")
	}
	return ParseBootstrap(body)
}
