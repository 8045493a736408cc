// Package ee is reglock's adapter for the Estonian .ee registry's
// registrant API (internetee/registry): it reads a domain's registry lock
// (GET domains/{uuid}), sets and removes it (POST and DELETE
// domains/{uuid}/registry_lock) and lists the account (GET domains).
//
// The registry's quirks stay inside this package so that the
// providers.Registrar contract holds: domains are addressed by UUID, which
// the client finds in the listing and caches (a name is "not found" only
// on a listing begun after the call did, so that a domain registered a
// moment before its lock request is not archived as unknown; see
// uuidCache); locking a locked domain and
// unlocking an unlocked one are errors (422) that mean success; a domain
// can be transfer-locked by the registry itself, which reglock reports but
// never removes; tokens from the eID login expire after two hours and are
// renewed before they do.
//
// Two dialects are spoken (Config.API): "v1", the API the registry serves,
// and "repp", the 2018 design draft (repp/v1 paths, 400 for refused lock
// changes, string error bases, the raw model without
// locked_by_registrant_at).
package ee

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/secret"
)

// The dialects of Config.API.
const (
	// APIV1 is api/v1/registrant/..., as the registry serves it.
	APIV1 = "v1"
	// APIRepp is repp/v1/registrant/..., the 2018 draft's paths and shapes.
	APIRepp = "repp"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// pageSize is the listing's limit: the most the registry allows.
const pageSize = 200

// EID is an eID identity: the registry's POST auth/eid issues a token for
// it to callers on its IP allow-list.
type EID struct {
	// Ident is the personal identification code (the certificate's
	// serialNumber without its country prefix).
	Ident     string
	FirstName string
	LastName  string
	// CountryCode is two letters; empty means the registry's default, EE.
	CountryCode string
}

// Config configures a Client.
type Config struct {
	// Endpoint is the registry's base URL, e.g.
	// https://registrant.internet.ee; http:// is allowed for simulators.
	// The client appends /api/v1/registrant/... (or /repp/v1/registrant/...).
	Endpoint string
	// API is APIV1 (the default when empty) or APIRepp.
	API string
	// Token is a static Bearer token. Set it or EID, not both.
	Token secret.String
	// EID makes the client log in with POST auth/eid and renew the token
	// before its two hours run out.
	EID *EID
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient is optional; nil means providers.NewHTTPClient(Timeout).
	HTTPClient *http.Client
	// Now is the clock for token renewal and the UUID cache; nil means
	// time.Now.
	Now func() time.Time
}

// Client talks to one registrant's account at the .ee registry. It
// implements providers.Registrar, providers.Lister and
// providers.BulkReader and is safe for concurrent use.
type Client struct {
	endpoint string
	api      string
	prefix   string // "/api/v1/registrant" or "/repp/v1/registrant"
	timeout  time.Duration
	http     *http.Client
	now      func() time.Time
	pageSize int

	token secret.String
	eid   *EID
	// session is the eID login's token; nil before the first login and
	// after the registry refused it.
	session atomic.Pointer[session]
	// login admits one login at a time.
	login chan struct{}

	uuids *uuidCache
}

var (
	_ providers.Registrar  = (*Client)(nil)
	_ providers.Lister     = (*Client)(nil)
	_ providers.BulkReader = (*Client)(nil)
)

// New validates cfg and returns a Client. Every problem is reported at once,
// each naming its Config field.
func New(cfg Config) (*Client, error) {
	var errs []error
	endpoint, err := validateEndpoint(cfg.Endpoint)
	if err != nil {
		errs = append(errs, err)
	}
	api := cfg.API
	if api == "" {
		api = APIV1
	}
	if api != APIV1 && api != APIRepp {
		errs = append(errs, fmt.Errorf("ee: API: want %q or %q, got %q", APIV1, APIRepp, cfg.API))
	}
	switch {
	case !cfg.Token.IsZero() && cfg.EID != nil:
		errs = append(errs, errors.New("ee: Token: set Token or EID, not both"))
	case cfg.Token.IsZero() && cfg.EID == nil:
		errs = append(errs, errors.New("ee: Token: set Token or EID"))
	case strings.ContainsAny(cfg.Token.Reveal(), " \t\r\n"):
		errs = append(errs, errors.New("ee: Token: must not contain white space"))
	}
	var eid *EID
	if cfg.EID != nil {
		e := *cfg.EID
		for _, f := range []struct{ name, value string }{
			{"Ident", e.Ident}, {"FirstName", e.FirstName}, {"LastName", e.LastName},
		} {
			if strings.TrimSpace(f.value) == "" {
				errs = append(errs, fmt.Errorf("ee: EID.%s: must not be empty", f.name))
			}
		}
		e.CountryCode = strings.ToUpper(e.CountryCode)
		if cc := e.CountryCode; cc != "" && (len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z') {
			errs = append(errs, errors.New("ee: EID.CountryCode: want two letters"))
		}
		eid = &e
	}
	if cfg.Timeout < 0 {
		errs = append(errs, errors.New("ee: Timeout: must not be negative"))
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
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	prefix := "/api/v1/registrant"
	if api == APIRepp {
		prefix = "/repp/v1/registrant"
	}
	c := &Client{
		endpoint: endpoint, api: api, prefix: prefix, timeout: timeout, http: hc, now: now,
		pageSize: pageSize, token: cfg.Token, eid: eid, login: make(chan struct{}, 1),
	}
	c.uuids = newUUIDCache(now, c.listUUIDs)
	return c, nil
}

// validateEndpoint accepts an absolute http or https URL with a host and no
// user info, query or fragment, and returns it without a trailing slash.
// Messages do not repeat the value: it might carry credentials.
func validateEndpoint(endpoint string) (string, error) {
	u, err := providers.ParseEndpoint("ee", endpoint)
	switch {
	case err != nil:
		return "", err
	case u.User != nil:
		return "", errors.New("ee: Endpoint: must not contain user info")
	case u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(endpoint, "?"):
		return "", errors.New("ee: Endpoint: must not have a query or fragment")
	}
	return strings.TrimRight(endpoint, "/"), nil
}

// LockState reads the domain's registry lock with GET domains/{uuid}.
func (c *Client) LockState(ctx context.Context, domain string) (providers.State, error) {
	if err := providers.CheckDomain("ee", domain); err != nil {
		return providers.State{}, err
	}
	name := domain
	var st providers.State
	err := c.withUUID(ctx, name, func(id string) error {
		obj, err := c.getDomain(ctx, id)
		if err == nil {
			st = obj.state(c.api)
		}
		return err
	})
	if err != nil {
		return providers.State{}, c.labelled("LockState "+name, err)
	}
	return st, nil
}

// SetLock sets the registry lock with POST domains/{uuid}/registry_lock or
// removes it with DELETE. The registry refuses to lock a locked domain and
// to unlock an unlocked one; the client then reads the domain back and
// decides (refusal):
//
//   - lock refused, the domain is locked by the registrant: nil;
//   - lock refused, the domain is pending: a transient error (it clears);
//   - unlock refused, the domain is not locked: nil;
//   - unlock refused, the domain is locked by the registry, not the
//     registrant: a permanent error (reglock cannot remove a registry lock);
//   - anything else: a permanent error with the statuses.
func (c *Client) SetLock(ctx context.Context, domain string, locked bool) error {
	if err := providers.CheckDomain("ee", domain); err != nil {
		return err
	}
	name := domain
	method, label := http.MethodDelete, "SetLock(false) "+name
	if locked {
		method, label = http.MethodPost, "SetLock(true) "+name
	}
	err := c.withUUID(ctx, name, func(id string) error {
		_, err := c.do(ctx, method, c.prefix+"/domains/"+id+"/registry_lock", nil, nil, opDomain)
		if errors.Is(err, errCannotLock) || errors.Is(err, errNotLocked) {
			return c.refusal(ctx, id, locked, err)
		}
		return err
	})
	if err != nil {
		return c.labelled(label, err)
	}
	return nil
}

// refusal decides what a refused lock change means from the domain's
// current state.
func (c *Client) refusal(ctx context.Context, id string, locked bool, refused error) error {
	obj, err := c.getDomain(ctx, id)
	if err != nil {
		return fmt.Errorf("%v; reading the domain back: %w", refused, err)
	}
	st := obj.state(c.api)
	mine, legacy := obj.registrantLock(c.api)
	switch {
	case locked && mine:
		return nil
	case locked && st.Pending:
		return fmt.Errorf("%w: the domain is pending (statuses %s); the registry refuses to lock it until that clears", refused, obj.statusList())
	case locked:
		return providers.Permanent(fmt.Errorf("%w (statuses %s)", refused, obj.statusList()))
	case !st.Locked:
		return nil
	case st.ByRegistry:
		return providers.Permanent(fmt.Errorf("%w: the domain is locked by the registry, not by the registrant (statuses %s), and reglock cannot remove a registry lock", refused, obj.statusList()))
	case legacy:
		// The registry's code since 2021 counts only serverObjUpdateProhibited
		// locks as the registrant's and refuses to remove this one; locking
		// it again and unlocking would restore these very statuses from the
		// history the lock saves, without the timestamp: a lock nobody could
		// remove through the API.
		return providers.Permanent(fmt.Errorf("%w: the registrant locked the domain before the registry's 2021 status change (statuses %s, locked_by_registrant_at set), and the registry no longer removes such a lock through the registrant API; the registry must convert it (its locked_domains:replace_new_status task) or remove it", refused, obj.statusList()))
	}
	// Locked by the registrant, yet the unlock was refused: a race with
	// another change, most likely; try again.
	return fmt.Errorf("%w although the domain reads locked by the registrant (statuses %s)", refused, obj.statusList())
}

// Domains lists the account (domains where the user is the registrant or an
// administrative contact) 200 at a time, yielding lowercase A-labels. An
// error is yielded once and ends the listing.
func (c *Client) Domains(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		for obj, err := range c.listing(ctx, url.Values{"simple": {"true"}}, false) {
			if err != nil {
				yield("", c.labelled("Domains", err))
				return
			}
			c.uuids.learn(obj.name, obj.id)
			if !yield(obj.name, nil) {
				return
			}
		}
	}
}

// LockStates lists the account with each domain's lock, from the full
// domain objects (simple=true lacks locked_by_registrant_at).
func (c *Client) LockStates(ctx context.Context) iter.Seq2[providers.DomainState, error] {
	return func(yield func(providers.DomainState, error) bool) {
		for obj, err := range c.listing(ctx, nil, true) {
			if err != nil {
				yield(providers.DomainState{}, c.labelled("LockStates", err))
				return
			}
			// The ID goes to the caller rather than into the cache, so that a
			// million-domain read does not leave a million-entry cache behind.
			if !yield(providers.DomainState{Domain: obj.name, ID: obj.id, State: obj.state(c.api)}, nil) {
				return
			}
		}
	}
}

// listingWindow is how many pages of a listing are fetched at once: the
// next pages download while the caller works through the current one.
const listingWindow = 4

// listing pages through GET domains with extra parameters until the
// offset reaches count (or, for the registry's answers before 2020 that
// give no count, until a page comes back short); full requires the objects
// to carry their lock. Once the first page has told the count, the next
// pages are fetched a few at a time, and yielded in order. Each page waits
// for the context's pacer (the account's rate limit).
//
// count is the size of the listed set before paging, on every page, so a
// listing whose pages do not add up to it is an error (errInconsistent),
// never a short listing taken as whole: a page holding other than
// min(limit, count-offset) domains, or a count that changes between pages
// (domains added or removed while it pages shift the offsets, which are
// all the registry offers, so one may have been skipped).
func (c *Client) listing(ctx context.Context, extra url.Values, full bool) iter.Seq2[domainObject, error] {
	return func(yield func(domainObject, error) bool) {
		first, err := c.listPage(ctx, extra, full, 0)
		if err == nil {
			err = c.checkPage(first, first.count, 0)
		}
		if err != nil {
			yield(domainObject{}, err)
			return
		}
		for _, obj := range first.domains {
			if !yield(obj, nil) {
				return
			}
		}
		if first.count < 0 {
			if len(first.domains) >= c.pageSize {
				c.listSequential(ctx, extra, full, len(first.domains), yield)
			}
			return
		}
		var offsets []int
		for off := len(first.domains); off < first.count; off += c.pageSize {
			offsets = append(offsets, off)
		}
		type result struct {
			page listPage
			err  error
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		results := make([]chan result, len(offsets))
		launch := func(i int) {
			results[i] = make(chan result, 1)
			go func() {
				p, err := c.listPage(ctx, extra, full, offsets[i])
				results[i] <- result{p, err}
			}()
		}
		for i := range min(listingWindow, len(offsets)) {
			launch(i)
		}
		for i := range offsets {
			if next := i + listingWindow; next < len(offsets) {
				launch(next)
			}
			r := <-results[i]
			if r.err == nil {
				r.err = c.checkPage(r.page, first.count, offsets[i])
			}
			if r.err != nil {
				yield(domainObject{}, r.err)
				return
			}
			for _, obj := range r.page.domains {
				if !yield(obj, nil) {
					return
				}
			}
		}
	}
}

// checkPage checks a page at offset of a listing whose first page said
// count (-1: no count, nothing to check).
func (c *Client) checkPage(p listPage, count, offset int) error {
	switch want := min(c.pageSize, max(count-offset, 0)); {
	case count < 0:
		return nil
	case p.count != count:
		return fmt.Errorf("%w: the account changed while it was listed (count %d on the first page, %d at offset %d), so the pages may have skipped a domain; list again", errInconsistent, count, p.count, offset)
	case len(p.domains) != want:
		return fmt.Errorf("%w: the page at offset %d holds %d domains; with count %d and limit %d it should hold %d", errInconsistent, offset, len(p.domains), count, c.pageSize, want)
	}
	return nil
}

// listSequential pages on one page at a time from offset, for answers that
// give no count.
func (c *Client) listSequential(ctx context.Context, extra url.Values, full bool, offset int, yield func(domainObject, error) bool) {
	for {
		page, err := c.listPage(ctx, extra, full, offset)
		if err != nil {
			yield(domainObject{}, err)
			return
		}
		for _, obj := range page.domains {
			if !yield(obj, nil) {
				return
			}
		}
		offset += len(page.domains)
		if len(page.domains) < c.pageSize {
			return
		}
	}
}

// listPage fetches one page of GET domains.
func (c *Client) listPage(ctx context.Context, extra url.Values, full bool, offset int) (listPage, error) {
	q := url.Values{"limit": {strconv.Itoa(c.pageSize)}, "offset": {strconv.Itoa(offset)}}
	for k, v := range extra {
		q[k] = v
	}
	body, err := c.do(ctx, http.MethodGet, c.prefix+"/domains", q, nil, opList)
	if err != nil {
		return listPage{}, err
	}
	page, err := parseList(body, c.api, full)
	if err != nil {
		return listPage{}, c.badAnswer(err, body)
	}
	return page, nil
}

// listUUIDs reads the name -> UUID map of every domain the user is linked
// to, technical contact included (tech=true), so that such a domain is
// found and answers ErrNotPermitted rather than ErrNotFound. It also
// returns how many pages the listing took.
func (c *Client) listUUIDs(ctx context.Context) (map[string]string, int, error) {
	m := make(map[string]string)
	for obj, err := range c.listing(ctx, url.Values{"simple": {"true"}, "tech": {"true"}}, false) {
		if err != nil {
			return nil, 0, err
		}
		if _, dup := m[obj.name]; dup {
			// The pages overlap (the registry's query has no ORDER BY), so
			// as many domains are missing as appear twice: a listing that
			// cannot say "not found".
			return nil, 0, fmt.Errorf("%w: %s appears twice in one listing, so the pages may have skipped a domain; list again", errInconsistent, obj.name)
		}
		m[obj.name] = obj.id
	}
	return m, max(1, (len(m)+c.pageSize-1)/c.pageSize), nil
}

// withUUID runs fn with the domain's UUID: the caller's hint, the cached
// one, or one from a listing begun after this call did. Only evidence from
// after the call began makes "not found" final (uuidCache.fresh): a
// domain registered a moment before the request that asks to lock it is
// missing from an older listing. A UUID that answers 404 (the domain left
// the account, or left and came back under a new UUID) makes the client
// look the name up once more, whatever the listing's age.
func (c *Client) withUUID(ctx context.Context, name string, fn func(id string) error) error {
	since := c.uuids.mark(name)
	var stale []string // UUIDs that answered 404
	var notFound error
	if hint, ok := providers.RegistrarID(ctx, name); ok {
		// The caller knows the UUID (from a listing): try it first.
		err := fn(hint)
		if !errors.Is(err, providers.ErrNotFound) {
			return err
		}
		stale, notFound = append(stale, hint), err
	}
	if id, ok := c.uuids.cached(name); ok && !slices.Contains(stale, id) {
		err := fn(id)
		if !errors.Is(err, providers.ErrNotFound) {
			return err
		}
		stale, notFound = append(stale, id), err
	}
	for _, id := range stale {
		c.uuids.drop(name, id)
	}
	id, err := c.uuids.fresh(ctx, name, since, len(stale) > 0)
	switch {
	case err != nil:
		return err
	case slices.Contains(stale, id):
		// A listing begun after this call still gives the UUID the
		// registry has just answered 404 for: both are fresh evidence.
		return notFound
	}
	return fn(id)
}

// getDomain reads one domain object.
func (c *Client) getDomain(ctx context.Context, id string) (domainObject, error) {
	body, err := c.do(ctx, http.MethodGet, c.prefix+"/domains/"+id, nil, nil, opDomain)
	if err != nil {
		return domainObject{}, err
	}
	obj, err := parseDomain(body, c.api, true)
	if err != nil {
		return domainObject{}, c.badAnswer(err, body)
	}
	if obj.id != id {
		return domainObject{}, fmt.Errorf("answer is about domain %s, asked for %s", obj.id, id)
	}
	return obj, nil
}

// The kinds of call, for classify: what a 404 means depends on it.
type op int

const (
	opDomain op = iota // GET domains/{uuid}, registry_lock
	opList             // GET domains
	opLogin            // POST auth/eid
)

// do sends one authenticated request and returns the body of a 2xx answer,
// or the error the answer means. With an eID login, a token the registry
// refuses is replaced once.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body []byte, kind op) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		tok, err := c.bearer(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.send(ctx, method, path, query, body, tok)
		if err != nil {
			return nil, err
		}
		err = classify(kind, resp.status, resp.header, resp.body, c.now(), c.redactor())
		if errors.Is(err, errUnauthorized) && c.eid != nil && attempt == 0 {
			c.dropSession(tok)
			continue
		}
		if err != nil {
			return nil, err
		}
		return resp.body, nil
	}
}

// httpAnswer is an HTTP answer, read whole.
type httpAnswer struct {
	status int
	header http.Header
	body   []byte
}

// send makes one HTTP request. The token goes only into the Authorization
// header, never into a URL.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, token string) (httpAnswer, error) {
	u := c.endpoint + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	// Every request takes a rate-limit slot of the account, before its own
	// timeout starts: a lookup or a listing page costs what a lock call does.
	if err := providers.Pace(ctx); err != nil {
		return httpAnswer{}, err
	}
	// The per-request timeout also covers a caller-supplied http.Client.
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(reqCtx, method, u, rd)
	if err != nil {
		return httpAnswer{}, err
	}
	req.Header.Set("Accept", "application/json")
	if method != http.MethodGet {
		// As the documents' requests do, with or without a body.
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// ctx, not reqCtx: our own timeout is transient, the caller's
		// cancellation is returned as is.
		return httpAnswer{}, providers.TransportError(ctx, err)
	}
	b, err := providers.ReadBody(resp)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return httpAnswer{}, ctxErr
		}
		return httpAnswer{}, fmt.Errorf("reading answer: %w", providers.RedactURL(err))
	}
	return httpAnswer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// String describes the client without its credentials. fmt cannot call
// secret.String's methods on an unexported field, so printing the struct
// itself would reveal them.
func (c *Client) String() string {
	auth := "Token: " + secret.Redacted
	if c.eid != nil {
		auth = "EID: " + secret.Redacted
	}
	return fmt.Sprintf("ee.Client{Endpoint: %q, API: %q, %s}", c.endpoint, c.api, auth)
}

// GoString keeps %#v from printing the credentials too.
func (c *Client) GoString() string { return c.String() }

// labelled prefixes err with the call and domain, keeping it reachable
// through errors.Is and errors.As.
func (c *Client) labelled(label string, err error) error {
	return fmt.Errorf("ee: %s: %w", label, err)
}

// badAnswer describes an answer the parsers refused, with the parser's
// message and a summary of the body, both redacted; it stays errors.Is
// errMalformed or errTruncated.
func (c *Client) badAnswer(err error, body []byte) error {
	kind := errMalformed
	if errors.Is(err, errTruncated) {
		kind = errTruncated
	}
	r := c.redactor()
	return &sentinel{msg: r.Text(err.Error()) + ": " + r.SummarizeBody(0, "", body), is: kind}
}

// redactor removes the credentials from text that came from the network,
// in case a proxy or a misbehaving server echoes the request: the static
// token, the personal code and the current and previous eID tokens, in
// every spelling an echo may use. It is built when an error is formatted,
// because the session tokens change at runtime, and applied to error text
// only, never to bodies before parsing.
func (c *Client) redactor() *providers.Redactor {
	secrets := []string{c.token.Reveal()}
	if c.eid != nil {
		secrets = append(secrets, c.eid.Ident)
	}
	if ses := c.session.Load(); ses != nil {
		secrets = append(secrets, ses.token, ses.previous)
	}
	return providers.NewRedactor(secrets...)
}
