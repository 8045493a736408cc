// Package enom is reglock's adapter for the eNom reseller API
// (interface.asp): it reads and sets the registrar lock of a domain
// (GetRegLock, SetRegLock), lists an account (GetDomains) and reads a
// whole account's locks at once (GetAllDomains).
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
	"net"
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

// DefaultBulkMax is Config.BulkMax when it is zero. eNom's documents warn
// that GetAllDomains can time out above a few hundred names (their own
// example took 74 s); a bulk read of up to this many costs one request
// instead of one per domain.
const DefaultBulkMax = 2000

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
	// BulkMax is the largest account, in domains, that LockStates reads
	// with one GetAllDomains call; above it LockStates answers
	// providers.ErrNoBulk and the caller reads domain by domain. Zero
	// means DefaultBulkMax.
	BulkMax int
}

// Client talks to one eNom reseller account. It implements
// providers.Registrar, providers.Lister and providers.BulkReader and is
// safe for concurrent use.
type Client struct {
	endpoint string
	uid      string
	pw       secret.String
	timeout  time.Duration
	bulkMax  int
	http     *http.Client
	redactor *providers.Redactor
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
	if cfg.BulkMax < 0 {
		errs = append(errs, errors.New("enom: BulkMax: must not be negative"))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	bulkMax := cfg.BulkMax
	if bulkMax == 0 {
		bulkMax = DefaultBulkMax
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = providers.NewHTTPClient(timeout)
	}
	return &Client{
		endpoint: cfg.Endpoint, uid: cfg.UID, pw: cfg.PW, timeout: timeout, bulkMax: bulkMax, http: hc,
		redactor: providers.NewRedactor(cfg.PW.Reveal()),
	}, nil
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
	return providers.State{}, c.labelled("GetRegLock "+domain, providers.Unrecognized(fmt.Errorf("answer has no usable reg-lock: %q", c.snippet([]byte(r.regLock)))))
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
// yielding lowercase "sld.tld" names. A page that does not hold what its
// positions and counts say is an error, not the end of the listing. An
// error is yielded once and ends the listing.
func (c *Client) Domains(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		start := 1
		for {
			r, err := c.page(ctx, start, pageSize)
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
			start = r.nextRecords
		}
	}
}

// page reads one GetDomains page of the account's own names (Tab=IOwn) and
// checks it against its own positions and counts.
func (c *Client) page(ctx context.Context, start, display int) (response, error) {
	params := url.Values{
		"Tab":     {"IOwn"},
		"Display": {strconv.Itoa(display)},
		"Start":   {strconv.Itoa(start)},
	}
	r, err := c.do(ctx, "GetDomains", "", params)
	if err != nil {
		return response{}, err
	}
	if err := r.checkPage(start, display); err != nil {
		return response{}, c.labelled("GetDomains", err)
	}
	return r, nil
}

// LockStates reads the whole account's locks with one GetAllDomains call,
// whose entries carry lockstatus Locked or Not Locked. eNom's GetAllDomains
// can time out on large accounts, so the account's size is asked first
// (GetDomains with Display=1 answers TotalDomainCount): above BulkMax, and
// when GetAllDomains runs out of time, it yields providers.ErrNoBulk and
// the caller reads domain by domain. An answer whose domaincount differs
// from its entries is an error. A name absent from the listing is not
// reported at all, never as not found: a per-domain read decides that.
func (c *Client) LockStates(ctx context.Context) iter.Seq2[providers.DomainState, error] {
	return func(yield func(providers.DomainState, error) bool) {
		size, err := c.accountSize(ctx)
		if err != nil {
			yield(providers.DomainState{}, err)
			return
		}
		if size > c.bulkMax {
			yield(providers.DomainState{}, c.labelled("GetAllDomains",
				fmt.Errorf("%w: the account holds %d domains, more than BulkMax %d", providers.ErrNoBulk, size, c.bulkMax)))
			return
		}
		r, err := c.do(ctx, "GetAllDomains", "", nil)
		var ne net.Error
		if err != nil && ctx.Err() == nil && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, providers.ErrTooLarge)) {
			// eNom timed out building the answer, or it is beyond reglock's
			// bound on an answer: this account is read domain by domain.
			err = fmt.Errorf("%w (%w)", err, providers.ErrNoBulk)
		}
		if err == nil {
			if cerr := r.checkAll(); cerr != nil {
				err = c.labelled("GetAllDomains", cerr)
			}
		}
		if err != nil {
			yield(providers.DomainState{}, err)
			return
		}
		for _, d := range r.all {
			locked, _ := d.locked() // checkAll vetted every entry
			if !yield(providers.DomainState{Domain: d.name, State: providers.State{Locked: locked}}, nil) {
				return
			}
		}
	}
}

// accountSize asks GetDomains for one name, for the count of the account's
// own names that comes with it.
func (c *Client) accountSize(ctx context.Context) (int, error) {
	r, err := c.page(ctx, 1, 1)
	if err != nil {
		return 0, err
	}
	size := r.totalDomainCount
	if size == absent {
		size = r.domainCount
	}
	if size == absent {
		return 0, c.labelled("GetDomains", fmt.Errorf("%w: no TotalDomainCount, so the account's size is unknown", errListing))
	}
	return size, nil
}

// domainParams checks a domain against the contract's form and splits it
// into eNom's sld and tld at its public suffix, so that example.co.uk is
// sld "example", tld "co.uk". Names without a registrable part, or below
// one, are permanent errors: no request can fix them.
func domainParams(domain string) (url.Values, error) {
	if err := providers.CheckDomain("enom", domain); err != nil {
		return nil, err
	}
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
		return response{}, c.labelled(label, fmt.Errorf("%w: %s", err, c.redactor.SummarizeBody(http.StatusOK, "", body)))
	}
	if err := classify(r, c.redactor.Redact); err != nil {
		return response{}, c.labelled(label, err)
	}
	// Other commands' answers carry fields of the same names (a ModifyNS
	// answer has a reg-lock): read only the answer to this command.
	if r.command != "" && !strings.EqualFold(r.command, command) {
		return response{}, c.labelled(label, providers.Unrecognized(fmt.Errorf("the answer is to command %q", c.redactor.Redact(r.command))))
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
		return nil, providers.HTTPStatusError(resp.StatusCode, resp.Header, c.redactor.BodySummary(resp.Header.Get("Content-Type"), body), time.Now())
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

// snippet is what an error message quotes of a text from the answer: its
// summary (providers.BodySummary), with the token removed (in every
// spelling an echo could use) before it is cut so that no part of it
// survives the cut. Redaction applies to error text only, never to bodies
// before parsing: a short token must not be able to corrupt the XML.
func (c *Client) snippet(body []byte) string {
	return c.redactor.BodySummary("", body)
}
