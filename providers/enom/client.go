// Package enom is reglock's adapter for the eNom reseller API
// (interface.asp): it reads and sets the registrar lock of a domain
// (GetRegLock, SetRegLock) and lists an account (GetDomains).
//
// eNom's quirks stay inside this package so that the providers.Registrar
// contract holds: SetRegLock's flag is inverted (UnlockRegistrar=0 locks),
// unlocking an unlocked domain is an error that means success, and failure
// is signalled only inside an HTTP 200 body.
package enom

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/publicsuffix"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/secret"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// pageSize is GetDomains' Display: the most eNom allows per page.
const pageSize = 100

// Config configures a Client.
type Config struct {
	// Endpoint is the interface.asp URL, e.g.
	// https://resellertest.enom.com/interface.asp; http:// is allowed for
	// simulators.
	Endpoint string
	// UID is the reseller account's login ID.
	UID string
	// PW is the account's API token. It goes only into request bodies,
	// never into URLs, logs or errors.
	PW secret.String
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient is optional; nil means providers.NewHTTPClient(Timeout).
	HTTPClient *http.Client
}

// Client talks to one eNom reseller account. It implements
// providers.Registrar and providers.Lister and is safe for concurrent use.
type Client struct {
	endpoint string
	uid      string
	pw       secret.String
	timeout  time.Duration
	http     *http.Client
}

var (
	_ providers.Registrar = (*Client)(nil)
	_ providers.Lister    = (*Client)(nil)
)

// New validates cfg and returns a Client. Every problem is reported at once,
// each naming its Config field.
func New(cfg Config) (*Client, error) {
	var errs []error
	if _, err := providers.ParseEndpoint("enom", cfg.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(cfg.UID) == "" {
		errs = append(errs, errors.New("enom: UID: must not be empty"))
	}
	if cfg.PW.IsZero() {
		errs = append(errs, errors.New("enom: PW: must not be empty"))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, errors.New("enom: Timeout: must not be negative"))
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
	return &Client{endpoint: cfg.Endpoint, uid: cfg.UID, pw: cfg.PW, timeout: timeout, http: hc}, nil
}

// LockState reads the domain's registrar lock with GetRegLock.
func (c *Client) LockState(ctx context.Context, domain string) (providers.State, error) {
	params, err := domainParams(domain)
	if err != nil {
		return providers.State{}, err
	}
	r, err := c.do(ctx, "GetRegLock", domain, params)
	if err != nil {
		return providers.State{}, err
	}
	switch strings.TrimSpace(r.regLock) {
	case "1":
		return providers.State{Locked: true}, nil
	case "0":
		return providers.State{Locked: false}, nil
	}
	return providers.State{}, c.labelled("GetRegLock "+domain, fmt.Errorf("answer has no usable reg-lock: %q", c.snippet([]byte(r.regLock))))
}

// SetLock turns the registrar lock on or off with SetRegLock. Success is
// decided from ErrCount alone; the caller reads the state back.
func (c *Client) SetLock(ctx context.Context, domain string, locked bool) error {
	params, err := domainParams(domain)
	if err != nil {
		return err
	}
	// eNom's flag is inverted: UnlockRegistrar=0 locks, 1 unlocks.
	unlock := "1"
	if locked {
		unlock = "0"
	}
	params.Set("UnlockRegistrar", unlock)
	_, err = c.do(ctx, "SetRegLock", domain, params)
	// eNom refuses to unlock an unlocked domain (and, on some setups, to lock
	// a locked one); the contract makes both a no-op, so they are success.
	switch {
	case !locked && errors.Is(err, errAlreadyUnlocked):
		return nil
	case locked && errors.Is(err, errAlreadyLocked):
		return nil
	}
	return err
}

// Domains lists the account with GetDomains, a page of 100 at a time,
// yielding lowercase "sld.tld" names. An error is yielded once and ends the
// listing.
func (c *Client) Domains(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		start := 1
		for {
			params := url.Values{
				"Tab":     {"IOwn"},
				"Display": {strconv.Itoa(pageSize)},
				"Start":   {strconv.Itoa(start)},
			}
			r, err := c.do(ctx, "GetDomains", "", params)
			if err != nil {
				yield("", err)
				return
			}
			for _, name := range r.domains {
				if !yield(name, nil) {
					return
				}
			}
			if len(r.domains) == 0 || r.nextRecords <= 0 {
				return
			}
			// A NextRecords that does not move forward would page forever.
			if r.nextRecords <= start {
				yield("", fmt.Errorf("enom: GetDomains: NextRecords %d does not advance past Start %d", r.nextRecords, start))
				return
			}
			start = r.nextRecords
		}
	}
}

// domainParams splits a domain into eNom's sld and tld at its public suffix,
// so that example.co.uk is sld "example", tld "co.uk". Names without a
// registrable part, or below one, are permanent errors: no request can fix
// them.
func domainParams(domain string) (url.Values, error) {
	suffix, _ := publicsuffix.PublicSuffix(domain)
	sld, ok := strings.CutSuffix(domain, "."+suffix)
	if domain == "" || !ok || sld == "" || strings.Contains(sld, ".") {
		return nil, providers.Permanent(fmt.Errorf("enom: %q is not a registrable domain name (public suffix %q)", domain, suffix))
	}
	return url.Values{"sld": {sld}, "tld": {suffix}}, nil
}

// do sends one command and returns its parsed answer, or the error the
// answer means. domain only labels errors.
func (c *Client) do(ctx context.Context, command, domain string, params url.Values) (response, error) {
	label := command
	if domain != "" {
		label += " " + domain
	}
	body, err := c.doRequest(ctx, command, params)
	if err != nil {
		return response{}, c.labelled(label, err)
	}
	r, err := parseResponse(body)
	if err != nil {
		return response{}, c.labelled(label, fmt.Errorf("%w: %s", err, c.snippet(body)))
	}
	if err := classify(r, c.redact); err != nil {
		return response{}, c.labelled(label, err)
	}
	return r, nil
}

// doRequest POSTs the command as a form so that pw never sits in a URL, a
// proxy log or a *url.Error, and returns the body of a 200 answer.
func (c *Client) doRequest(ctx context.Context, command string, params url.Values) ([]byte, error) {
	form := url.Values{
		"command":      {command},
		"uid":          {c.uid},
		"pw":           {c.pw.Reveal()},
		"ResponseType": {"XML"},
	}
	for k, v := range params {
		form[k] = v
	}
	// Every request takes a rate-limit slot of the account, before its own
	// timeout starts: a lookup or a listing page costs what a lock call does.
	if err := providers.Pace(ctx); err != nil {
		return nil, err
	}
	// The per-request timeout also covers a caller-supplied http.Client.
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, c.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.http.Do(req)
	if err != nil {
		// ctx, not reqCtx: our own timeout is transient, the caller's
		// cancellation is returned as is.
		return nil, providers.TransportError(ctx, err)
	}
	body, err := providers.ReadBody(resp)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("reading answer: %w", providers.RedactURL(err))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, providers.HTTPStatusError(resp.StatusCode, resp.Header, c.snippet(body), time.Now())
	}
	return body, nil
}

// String describes the client without its token. fmt cannot call
// secret.String's methods on an unexported field, so printing the struct
// itself would reveal it.
func (c *Client) String() string {
	return fmt.Sprintf("enom.Client{Endpoint: %q, UID: %q, PW: %s}", c.endpoint, c.uid, secret.Redacted)
}

// GoString keeps %#v from printing the token too.
func (c *Client) GoString() string { return c.String() }

// labelled prefixes err with the command and domain, keeping it reachable
// through errors.Is and errors.As.
func (c *Client) labelled(label string, err error) error {
	return fmt.Errorf("enom: %s: %w", label, err)
}

// snippet is the start of a body for an error message, with the token
// removed before cutting so that no part of it survives the cut.
func (c *Client) snippet(body []byte) string {
	return providers.Snippet([]byte(c.redact(string(body))))
}

// redact removes the API token from text that came from the network, in
// case a proxy or a misbehaving server echoes the request. It is applied to
// error text only, never to bodies before parsing: a short token must not
// be able to corrupt the XML.
func (c *Client) redact(s string) string {
	pw := c.pw.Reveal()
	if pw == "" {
		return s
	}
	s = strings.ReplaceAll(s, pw, secret.Redacted)
	if esc := url.QueryEscape(pw); esc != pw {
		s = strings.ReplaceAll(s, esc, secret.Redacted)
	}
	return s
}
