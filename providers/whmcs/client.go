// Package whmcs is reglock's adapter for the WHMCS API (includes/api.php),
// the billing system many resellers put in front of their registrars: it
// reads and sets the registrar lock of a domain (DomainGetLockingStatus,
// DomainUpdateLockingStatus) and lists the installation's domains
// (GetClientsDomains).
//
// WHMCS's quirks stay inside this package so that the providers.Registrar
// contract holds: domains are addressed by WHMCS's numeric domainid, which
// the client looks up by name and caches; a missing lockstatus means
// "unlock", so it is always sent; errors come at HTTP 200 or 403 and only
// the body tells; an answer WHMCS cannot encode as JSON (a record stored in
// another charset) is asked for again as XML; a listing whose counts
// disagree with its entries is broken, never evidence that a domain is
// missing; and WHMCS answers "unlocked" when its own call to the registrar
// failed, so every reading is marked providers.State.Indirect for the
// reconciler to confirm before it acts.
package whmcs

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/secret"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// pageSize is GetClientsDomains' limitnum when listing. WHMCS documents no
// maximum; 250 keeps a page well under a megabyte.
const pageSize = 250

// Config configures a Client.
type Config struct {
	// Endpoint is the api.php URL, e.g.
	// https://billing.example.com/includes/api.php; http:// is allowed for
	// simulators. It must not carry user info.
	Endpoint string
	// Identifier and Secret are the API credential (WHMCS 7.2+, Setup >
	// Staff Management > Manage API Credentials) of an admin whose API role
	// allows DomainGetLockingStatus, DomainUpdateLockingStatus and
	// GetClientsDomains. They go only into request bodies, never into URLs,
	// logs or errors.
	Identifier secret.String
	Secret     secret.String
	// AccessKey is optional: WHMCS's $api_access_key, which lets a caller
	// outside the API IP allow-list in.
	AccessKey secret.String
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient is optional; nil means providers.NewHTTPClient(Timeout).
	// The client uses a copy that does not follow redirects.
	HTTPClient *http.Client
}

// Client talks to one WHMCS installation. It implements providers.Registrar
// and providers.Lister and is safe for concurrent use.
type Client struct {
	endpoint string
	// shownEndpoint is the endpoint without query, for String.
	shownEndpoint string
	identifier    secret.String
	secret        secret.String
	accessKey     secret.String
	timeout       time.Duration
	http          *http.Client
	// pageSize is limitnum when listing; tests make it small.
	pageSize int
	ids      *idCache
	// redactor removes the credentials, in every spelling an echo could
	// use, from text that came from the network.
	redactor *providers.Redactor
}

var (
	_ providers.Registrar = (*Client)(nil)
	_ providers.Lister    = (*Client)(nil)
)

// New validates cfg and returns a Client. Every problem is reported at once,
// each naming its Config field.
func New(cfg Config) (*Client, error) {
	var errs []error
	shown, err := validateEndpoint(cfg.Endpoint)
	if err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(cfg.Identifier.Reveal()) == "" {
		errs = append(errs, errors.New("whmcs: Identifier: must not be empty"))
	}
	if cfg.Secret.IsZero() {
		errs = append(errs, errors.New("whmcs: Secret: must not be empty"))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, errors.New("whmcs: Timeout: must not be negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = providers.NewHTTPClient(timeout)
	}
	// A 307 or 308 would make net/http send the body, credentials and all,
	// again to wherever the Location points; a 301-303 would turn the POST
	// into a GET that WHMCS cannot answer. Either way the Endpoint is wrong,
	// and the error says where it leads.
	own := *hc
	own.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{
		endpoint:      cfg.Endpoint,
		shownEndpoint: shown,
		identifier:    cfg.Identifier,
		secret:        cfg.Secret,
		accessKey:     cfg.AccessKey,
		timeout:       timeout,
		http:          &own,
		pageSize:      pageSize,
		ids:           newIDCache(maxCachedIDs),
		redactor:      providers.NewRedactor(cfg.Identifier.Reveal(), cfg.Secret.Reveal(), cfg.AccessKey.Reveal()),
	}, nil
}

// validateEndpoint accepts an absolute http or https URL with a host and no
// user info, and returns it without query for display. The message does not
// repeat the value: it might carry a password.
func validateEndpoint(endpoint string) (string, error) {
	u, err := providers.ParseEndpoint("whmcs", endpoint)
	switch {
	case err != nil:
		return "", err
	case u.User != nil:
		return "", errors.New("whmcs: Endpoint: must not contain user info (credentials belong in Identifier and Secret)")
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String(), nil
}

// LockState reads the domain's registrar lock with DomainGetLockingStatus.
// The reading is always Indirect: WHMCS answers "unlocked" when its call to
// the registrar failed (the OpenSRS module does), so an "unlocked" here is
// a claim to confirm, not a fact. "Unknown" is what WHMCS answers when the
// registrar module returned no lock state: a module without lock support,
// but also (WHMCS's own code turns module errors into it) a failed registrar
// call. It is therefore a transient error, never a reading.
func (c *Client) LockState(ctx context.Context, domain string) (providers.State, error) {
	if err := providers.CheckDomain("whmcs", domain); err != nil {
		return providers.State{}, err
	}
	var st providers.State
	err := c.withID(ctx, domain, func(id int) error {
		r, err := c.do(ctx, "DomainGetLockingStatus", domain, url.Values{"domainid": {strconv.Itoa(id)}})
		if err != nil {
			return err
		}
		switch status := strings.TrimSpace(r.lockStatus); {
		case strings.EqualFold(status, "locked"):
			st = providers.State{Locked: true, Indirect: true}
		case strings.EqualFold(status, "unlocked"):
			st = providers.State{Locked: false, Indirect: true}
		case strings.EqualFold(status, "unknown"):
			return c.labelled("DomainGetLockingStatus "+domain, fmt.Errorf("lockstatus %q: the registrar module returned no lock state (a failed registrar call, or no lock support)", status))
		default:
			return c.labelled("DomainGetLockingStatus "+domain, providers.Unrecognized(fmt.Errorf("answer has no usable lockstatus: %q", c.redactor.Redact(status))))
		}
		return nil
	})
	if err != nil {
		return providers.State{}, err
	}
	return st, nil
}

// SetLock turns the registrar lock on or off with DomainUpdateLockingStatus.
// lockstatus is always sent: WHMCS reads a missing one as "unlock". Success
// is all the answer says; the caller reads the state back.
func (c *Client) SetLock(ctx context.Context, domain string, locked bool) error {
	if err := providers.CheckDomain("whmcs", domain); err != nil {
		return err
	}
	flag := "0"
	if locked {
		flag = "1"
	}
	err := c.withID(ctx, domain, func(id int) error {
		_, err := c.do(ctx, "DomainUpdateLockingStatus", domain, url.Values{"domainid": {strconv.Itoa(id)}, "lockstatus": {flag}})
		return err
	})
	// A registrar module may refuse to set the state the domain already has
	// (eNom's does for unlocking); the contract makes that a no-op.
	switch {
	case !locked && errors.Is(err, errAlreadyUnlocked):
		return nil
	case locked && errors.Is(err, errAlreadyLocked):
		return nil
	}
	return err
}

// withID runs call with domain's WHMCS id. Only a reading taken after this
// call began may say that the domain is not found. The cache holds ids
// learned earlier (by a lookup, or by a listing) and never the absence of
// a name: a name an earlier listing did not hold (registered a moment
// ago) is a cache miss, which is a fresh, paced lookup. A cached id is a
// hint: one WHMCS no longer knows ("Domain ID Not Found": the record was
// deleted, or the domain transferred in again under a new id) is dropped
// and the name looked up once more, and that lookup's answer counts.
func (c *Client) withID(ctx context.Context, domain string, call func(id int) error) error {
	id, cached := c.ids.get(domain)
	if !cached {
		var err error
		if id, err = c.lookup(ctx, domain); err != nil {
			return err
		}
	}
	err := call(id)
	if !errors.Is(err, errDomainIDNotFound) {
		return err
	}
	c.ids.forget(domain, id)
	if !cached {
		// The id came from this call's own lookup: WHMCS's answer stands.
		return err
	}
	if id, err = c.lookup(ctx, domain); err != nil {
		return err
	}
	if err = call(id); errors.Is(err, errDomainIDNotFound) {
		c.ids.forget(domain, id)
	}
	return err
}

// lookup finds domain's id with GetClientsDomains' domain filter and
// caches it. WHMCS may hold an internationalised name as its U-label, so an
// A-label that matches nothing is tried once more in Unicode.
func (c *Client) lookup(ctx context.Context, domain string) (int, error) {
	id, err := c.lookupAs(ctx, domain, domain)
	if errors.Is(err, errNoSuchDomain) {
		if u, ok := unicodeForm(domain); ok {
			id, err = c.lookupAs(ctx, domain, u)
		}
	}
	if err != nil {
		return 0, err
	}
	c.ids.put(domain, id)
	return id, nil
}

// lookupAs reads every record WHMCS holds under the name asWritten (a
// name can have more than one page of them) and picks domain's.
func (c *Client) lookupAs(ctx context.Context, domain, asWritten string) (int, error) {
	var entries []domainEntry
	for page, err := range c.pages(ctx, domain, url.Values{"domain": {asWritten}}) {
		if err != nil {
			return 0, err
		}
		entries = append(entries, page...)
	}
	id, ok := pick(entries, domain)
	if !ok {
		return 0, c.labelled("GetClientsDomains "+domain, errNoSuchDomain)
	}
	return id, nil
}

// maxLookupPages bounds a lookup by name: WHMCS holds a name a handful of
// times at most (old orders next to the current one), and a broken answer
// must not keep a lookup paging for ever.
const maxLookupPages = 8

// pages yields GetClientsDomains' entries (filtered by filter, nil for the
// whole installation) a page at a time, pageSize per request, from offset
// 0 until totalresults entries have arrived. Each page is one paced
// request. A page whose counts disagree with what it holds ends the
// iteration with errBrokenListing (transient): a listing that claims
// results and holds none says nothing about whether a domain exists.
func (c *Client) pages(ctx context.Context, domain string, filter url.Values) iter.Seq2[[]domainEntry, error] {
	return func(yield func([]domainEntry, error) bool) {
		label := "GetClientsDomains"
		if domain != "" {
			label += " " + domain
		}
		start := 0
		for n := 1; ; n++ {
			params := url.Values{
				"limitstart": {strconv.Itoa(start)},
				"limitnum":   {strconv.Itoa(c.pageSize)},
			}
			for k, v := range filter {
				params[k] = v
			}
			r, err := c.do(ctx, "GetClientsDomains", domain, params)
			if err == nil {
				if cerr := r.checkCounts(start); cerr != nil {
					err = c.labelled(label, cerr)
				}
			}
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(r.domains, nil) {
				return
			}
			// Advance by what arrived, not by limitnum: a WHMCS (or proxy)
			// that caps the page size must not make the listing skip.
			start += len(r.domains)
			switch {
			case len(r.domains) == 0:
				return
			case r.totalResults >= 0 && start >= r.totalResults:
				return
			case r.totalResults < 0 && len(r.domains) < c.pageSize:
				return
			case filter != nil && n >= maxLookupPages:
				yield(nil, c.labelled(label, fmt.Errorf("%w: %d pages and still not at totalresults %d", errBrokenListing, n, r.totalResults)))
				return
			}
		}
	}
}

// pick chooses domain's record among a lookup's entries. WHMCS can hold a
// name more than once (an old cancelled order and the current one), so an
// Active record wins, then any record that is still in WHMCS's care, then
// the rest; among equals the newest (highest id).
func pick(entries []domainEntry, domain string) (int, bool) {
	best, bestRank := 0, 3
	for _, e := range entries {
		if e.id <= 0 {
			continue
		}
		if name, err := normalizeName(e.name); err != nil || name != domain {
			continue
		}
		rank := 1
		switch {
		case strings.EqualFold(strings.TrimSpace(e.status), "Active"):
			rank = 0
		case gone(e.status):
			rank = 2
		}
		if rank < bestRank || (rank == bestRank && e.id > best) {
			best, bestRank = e.id, rank
		}
	}
	return best, bestRank < 3
}

// goneStatuses are WHMCS domain statuses of records no longer in the
// installation's care: the listing leaves them out.
var goneStatuses = []string{"Cancelled", "Fraud", "Transferred Away"}

func gone(status string) bool {
	status = strings.TrimSpace(status)
	return slices.ContainsFunc(goneStatuses, func(s string) bool { return strings.EqualFold(s, status) })
}

// Domains lists the installation with GetClientsDomains, pageSize at a
// time, until totalresults entries have been seen, yielding lowercase
// A-labels. Records that are Cancelled, Fraud or Transferred Away are left
// out: WHMCS keeps them, but the domain is no longer in its care. The ids
// seen fill the lookup cache. An error is yielded once and ends the
// listing; a page whose counts disagree with its entries is one.
func (c *Client) Domains(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for page, err := range c.pages(ctx, "", nil) {
			if err != nil {
				yield("", err)
				return
			}
			for _, e := range page {
				if gone(e.status) {
					continue
				}
				name, err := normalizeName(e.name)
				if err != nil {
					yield("", c.labelled("GetClientsDomains", fmt.Errorf("domain id %d: %w", e.id, err)))
					return
				}
				if e.id > 0 {
					c.ids.put(name, e.id)
				}
				if !yield(name, nil) {
					return
				}
			}
		}
	}
}

// normalizeName turns a domain name as WHMCS stores it (any case, perhaps
// a U-label, perhaps with a trailing dot or spaces) into reglock's form.
func normalizeName(s string) (string, error) {
	name := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), "."))
	ascii, err := idna.ToASCII(name)
	if err != nil || providers.CheckDomain("whmcs", ascii) != nil {
		return "", fmt.Errorf("%q is not a domain name", s)
	}
	return ascii, nil
}

// unicodeForm returns domain's U-label form when it has a punycode label.
func unicodeForm(domain string) (string, bool) {
	if !strings.Contains(domain, "xn--") {
		return "", false
	}
	u, err := idna.ToUnicode(domain)
	if err != nil || u == domain {
		return "", false
	}
	return u, true
}

// The response types (responsetype): JSON always, XML only when WHMCS
// cannot encode an answer as JSON.
const (
	responseJSON = "json"
	responseXML  = "xml"
)

// do sends one command and returns its parsed answer, or the error the
// answer means. domain only labels errors.
//
// WHMCS answers "Error generating JSON encoded response: Malformed UTF-8
// characters" when a record it would send holds bytes that are not UTF-8:
// that request can never succeed as JSON, so it is sent once more asking
// for XML (as other WHMCS clients do), which WHMCS writes without checking
// the encoding. An XML answer that does not read either is a permanent
// error that names both causes.
func (c *Client) do(ctx context.Context, action, domain string, params url.Values) (response, error) {
	label := action
	if domain != "" {
		label += " " + domain
	}
	r, _, err := c.exchange(ctx, action, responseJSON, params)
	if errors.Is(err, errJSONEncoding) {
		jsonErr := err
		var unreadable bool
		r, unreadable, err = c.exchange(ctx, action, responseXML, params)
		switch {
		case unreadable, errors.Is(err, errJSONEncoding):
			err = providers.Permanent(fmt.Errorf("%w; asked for XML instead, and that answer does not read either: %w", jsonErr, err))
		case err != nil:
			err = fmt.Errorf("asked for XML after %q: %w", jsonErr.Error(), err)
		}
	}
	if err != nil {
		return response{}, c.labelled(label, err)
	}
	return r, nil
}

// exchange is one request in the given response type and the meaning of
// its answer; unreadable reports an answer that came (at a 2xx status) and
// does not read as WHMCS's.
func (c *Client) exchange(ctx context.Context, action, format string, params url.Values) (response, bool, error) {
	status, header, body, err := c.doRequest(ctx, action, format, params)
	if err != nil {
		return response{}, false, err
	}
	parse := parseResponse
	if format == responseXML {
		parse = parseXMLResponse
	}
	r, perr := parse(body)
	a := answer{status: status, header: header, r: r, parseErr: perr, snippet: func() string { return c.redactor.BodySummary(header.Get("Content-Type"), body) }}
	if err := classify(a, c.redactor.Redact, time.Now()); err != nil {
		return response{}, perr != nil && status >= 200 && status <= 299, err
	}
	return r, false, nil
}

// doRequest POSTs the command as a form so that the credentials never sit
// in a URL, a proxy log or a *url.Error, and returns the answer whatever
// its status: WHMCS's errors come at 200 or 403, and only the body tells.
// It is the client's only way to the network: every request, lookups,
// listing pages and XML retries included, takes its rate-limit slot here.
func (c *Client) doRequest(ctx context.Context, action, format string, params url.Values) (int, http.Header, []byte, error) {
	form := url.Values{
		"action":       {action},
		"identifier":   {c.identifier.Reveal()},
		"secret":       {c.secret.Reveal()},
		"responsetype": {format},
	}
	if !c.accessKey.IsZero() {
		form.Set("accesskey", c.accessKey.Reveal())
	}
	for k, v := range params {
		form[k] = v
	}
	// Every request takes a rate-limit slot of the account, before its own
	// timeout starts: a lookup or a listing page costs what a lock call does.
	if err := providers.Pace(ctx); err != nil {
		return 0, nil, nil, err
	}
	// The per-request timeout also covers a caller-supplied http.Client.
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, nil, nil, providers.RedactURL(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		// ctx, not reqCtx: our own timeout is transient, the caller's
		// cancellation is returned as is.
		return 0, nil, nil, providers.TransportError(ctx, err)
	}
	body, err := providers.ReadBody(resp)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return 0, nil, nil, ctxErr
		}
		return 0, nil, nil, fmt.Errorf("reading answer: %w", providers.RedactURL(err))
	}
	return resp.StatusCode, resp.Header, body, nil
}

// String describes the client without its credentials. fmt cannot call
// secret.String's methods on unexported fields, so printing the struct
// itself would reveal them.
func (c *Client) String() string {
	key := `""`
	if !c.accessKey.IsZero() {
		key = secret.Redacted
	}
	return fmt.Sprintf("whmcs.Client{Endpoint: %q, Identifier: %s, Secret: %s, AccessKey: %s}",
		c.shownEndpoint, secret.Redacted, secret.Redacted, key)
}

// GoString keeps %#v from printing the credentials too.
func (c *Client) GoString() string { return c.String() }

// labelled prefixes err with the command and domain, keeping it reachable
// through errors.Is and errors.As.
func (c *Client) labelled(label string, err error) error {
	return fmt.Errorf("whmcs: %s: %w", label, err)
}
