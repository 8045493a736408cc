// Package opensrs is reglock's adapter for the OpenSRS XCP API: it reads
// and sets the registrar lock of a domain (get with type=status, modify
// with data=status), records the registrant's trade lock choice
// (modify_trade_lock_setting) and lists an account
// (get_domains_by_expiredate).
//
// OpenSRS's quirks stay inside this package so that the providers.Registrar
// contract holds: every body is signed with a double MD5 keyed by the
// private key, which itself is never sent; a caller outside the account's
// IP allow-list gets a dropped connection rather than an error; failures
// arrive at HTTP 200 as is_success 0 with a response code. Requests name
// the domain inside the attributes (the reseller "cookie bypass"), so no
// login or cookie is needed.
//
// Response codes are decided in one place, classify (errors.go), which
// holds the table of codes and their sources. One answer cannot be decided
// from the reply alone: 415 about a domain is what OpenSRS answers for a
// domain the reseller does not hold, and it is also what an answer to bad
// credentials has been reported to be. The adapter then asks one question
// about the account itself (checkRefusal) before it says which.
package opensrs

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/opensrs/ops"
	"github.com/reglock/reglock/secret"
)

// DefaultTimeout bounds one request when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// pageSize is get_domains_by_expiredate's limit. OpenSRS documents no
// maximum; 500 keeps a page well under a megabyte.
const pageSize = 500

// The listing window: get_domains_by_expiredate requires one, so the
// listing asks for every date a domain can expire on.
const (
	listAction = "get_domains_by_expiredate"
	listFrom   = "1970-01-01"
	listTo     = "2199-12-31"
)

// Config configures a Client.
type Config struct {
	// Endpoint is the URL requests are POSTed to, as is, e.g.
	// https://horizon.opensrs.net:55443 (the test system); http:// is
	// allowed for simulators.
	Endpoint string
	// Username is the reseller username, sent as X-Username.
	Username string
	// Key is the reseller's private API key. It signs every body and is
	// never sent, logged or put into an error.
	Key secret.String
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// HTTPClient is optional; nil means providers.NewHTTPClient(Timeout).
	HTTPClient *http.Client
}

// Client talks to one OpenSRS reseller account. It implements
// providers.Registrar, providers.TradeLocker and providers.Lister and is
// safe for concurrent use.
type Client struct {
	endpoint string
	username string
	key      secret.String
	timeout  time.Duration
	http     *http.Client
	// redactor removes the key from text that came from the network.
	redactor *providers.Redactor
}

var (
	_ providers.Registrar   = (*Client)(nil)
	_ providers.TradeLocker = (*Client)(nil)
	_ providers.Lister      = (*Client)(nil)
)

// New validates cfg and returns a Client. Every problem is reported at once,
// each naming its Config field.
func New(cfg Config) (*Client, error) {
	var errs []error
	if _, err := providers.ParseEndpoint("opensrs", cfg.Endpoint); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(cfg.Username) == "" {
		errs = append(errs, errors.New("opensrs: Username: must not be empty"))
	} else if strings.ContainsAny(cfg.Username, "\r\n") {
		errs = append(errs, errors.New("opensrs: Username: must not contain line breaks"))
	}
	if cfg.Key.IsZero() {
		errs = append(errs, errors.New("opensrs: Key: must not be empty"))
	}
	if cfg.Timeout < 0 {
		errs = append(errs, errors.New("opensrs: Timeout: must not be negative"))
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
	return &Client{endpoint: cfg.Endpoint, username: cfg.Username, key: cfg.Key, timeout: timeout, http: hc,
		redactor: providers.NewRedactor(cfg.Key.Reveal())}, nil
}

// LockState reads the domain's registrar lock with get, type=status. A
// transfer away in progress reads as Pending.
func (c *Client) LockState(ctx context.Context, domain string) (providers.State, error) {
	if err := providers.CheckDomain("opensrs", domain); err != nil {
		return providers.State{}, err
	}
	attrs, err := c.do(ctx, "get", domain, ops.Assoc{
		ops.Field("domain", domain),
		ops.Field("type", "status"),
	})
	if err != nil {
		return providers.State{}, err
	}
	st, err := parseStatus(attrs)
	if err != nil {
		return providers.State{}, c.labelled("get "+domain, c.answerError(err, nil))
	}
	return st, nil
}

// SetLock turns the registrar lock on or off with modify, data=status.
//
// What OpenSRS answers to setting the state a domain already has is not
// documented. If it refuses with an error that could mean that (anything
// but the codes whose meaning is known), SetLock reads the lock back and
// reports success when the domain is already as asked.
func (c *Client) SetLock(ctx context.Context, domain string, locked bool) error {
	if err := providers.CheckDomain("opensrs", domain); err != nil {
		return err
	}
	_, err := c.do(ctx, "modify", domain, ops.Assoc{
		ops.Field("affect_domains", "0"),
		ops.Field("data", "status"),
		ops.Field("domain", domain),
		ops.Field("domain_name", domain),
		ops.Field("lock_state", flag(locked)),
	})
	if err == nil || !mayMeanAlready(err) {
		return err
	}
	if st, rerr := c.LockState(ctx, domain); rerr == nil && st.Locked == locked {
		return nil
	}
	return err
}

// SetTradeLock records with modify_trade_lock_setting whether the 60-day
// transfer lock applies after the domain's next change of registrant;
// consentIP is the registrant's address when they opted out. The setting
// cannot be read back: OpenSRS has no command for it.
func (c *Client) SetTradeLock(ctx context.Context, domain string, enabled bool, consentIP netip.Addr) error {
	if err := providers.CheckDomain("opensrs", domain); err != nil {
		return err
	}
	if !consentIP.IsValid() {
		return providers.Permanent(errors.New("opensrs: modify_trade_lock_setting " + domain + ": no consent IP address"))
	}
	// The order is the document's example's.
	_, err := c.do(ctx, "modify_trade_lock_setting", domain, ops.Assoc{
		ops.Field("enable", flag(enabled)),
		ops.Field("domain", domain),
		ops.Field("ip_address", consentIP.WithZone("").Unmap().String()),
	})
	return err
}

// Domains lists the account with get_domains_by_expiredate over every
// possible expiry date, pageSize names a page, yielding lowercase A-labels.
// A page whose counts disagree with what the pages hold (page, total,
// remainder) ends the listing with an error before its names are yielded.
// An error is yielded once and ends the listing.
func (c *Client) Domains(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		var prevFirst string
		listed := 0
		for page := 1; ; page++ {
			attrs, err := c.do(ctx, listAction, "", listAttrs(pageSize, page))
			if err != nil {
				yield("", err)
				return
			}
			p, err := parseListing(attrs)
			if err != nil {
				yield("", c.labelled(listAction, c.answerError(err, nil)))
				return
			}
			if err := p.check(page, listed); err != nil {
				yield("", c.labelled(listAction, providers.Unrecognized(c.answerError(err, nil))))
				return
			}
			// A server that ignores page, and says neither its page nor
			// its total, would repeat itself forever.
			if len(p.names) > 0 && page > 1 && p.names[0] == prevFirst {
				yield("", c.labelled(listAction, fmt.Errorf("page %d repeats page %d", page, page-1)))
				return
			}
			for _, name := range p.names {
				if !yield(name, nil) {
					return
				}
			}
			listed += len(p.names)
			if p.last() {
				return
			}
			prevFirst = p.names[0]
		}
	}
}

// listAttrs are get_domains_by_expiredate's attributes for one page.
func listAttrs(limit, page int) ops.Assoc {
	return ops.Assoc{
		ops.Field("exp_from", listFrom),
		ops.Field("exp_to", listTo),
		ops.Field("limit", strconv.Itoa(limit)),
		ops.Field("page", strconv.Itoa(page)),
	}
}

func flag(on bool) string {
	if on {
		return "1"
	}
	return "0"
}

// do sends one XCP command about the domain object and returns the reply's
// attributes, or the error the reply means. domain is the domain the
// command is about, "" for a command about the account: it labels errors,
// and it decides whose refusal a 415 is.
func (c *Client) do(ctx context.Context, action, domain string, attrs ops.Assoc) (ops.Assoc, error) {
	label := action
	if domain != "" {
		label += " " + domain
	}
	body, err := ops.Append(nil, ops.Assoc{
		ops.Field("protocol", "XCP"),
		ops.Field("object", "DOMAIN"),
		ops.Field("action", action),
		{Key: "attributes", Value: attrs.Value()},
	}.Value())
	if err != nil {
		return nil, c.labelled(label, providers.Permanent(err))
	}
	answer, err := c.doRequest(ctx, body)
	if err != nil {
		return nil, c.labelled(label, err)
	}
	r, err := parseReply(answer)
	if err != nil {
		return nil, c.labelled(label, c.answerError(err, answer))
	}
	if err := classify(r, c.redactor.Redact, domain); err != nil {
		var re *replyError
		if domain != "" && errors.As(err, &re) && re.code == codeNotYours {
			err = c.checkRefusal(ctx, re, err)
		}
		return nil, c.labelled(label, err)
	}
	return r.attrs, nil
}

// checkRefusal settles a 415 about a domain (refused, classify's
// ErrNotFound and ErrRefused) with one request about the account itself,
// the first page of its listing with room for one name: OpenSRS answers
// 415 for a domain the reseller does not hold, and an answer to bad
// credentials has been reported to be 415 too. If the listing answers,
// the credentials work and the domain is not the account's: ErrNotFound
// alone, so that any number of such domains is no evidence against the
// account. If the listing is refused as well, the credentials are:
// ErrAuth. If the listing fails otherwise, refused stands, and the circuit
// breaker counts the refused domains.
func (c *Client) checkRefusal(ctx context.Context, re *replyError, refused error) error {
	_, err := c.do(ctx, listAction, "", listAttrs(1, 1))
	switch {
	case err == nil:
		return fmt.Errorf("%w: %w (the account's listing answers, so the refusal is about this domain)", re, providers.ErrNotFound)
	case errors.Is(err, providers.ErrAuth):
		return fmt.Errorf("%w, and so is a listing of the account (%s): %w", re, refusal(err), providers.ErrAuth)
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return fmt.Errorf("%w (a listing to tell the domain's refusal from the account's failed: %v)", refused, err)
}

// refusal is the reply error in err, or err's text.
func refusal(err error) string {
	var re *replyError
	if errors.As(err, &re) {
		return re.Error()
	}
	return err.Error()
}

// doRequest POSTs a signed body and returns the body of a 200 answer.
func (c *Client) doRequest(ctx context.Context, body []byte) ([]byte, error) {
	// Every request takes a rate-limit slot of the account, before its own
	// timeout starts: a lookup or a listing page costs what a lock call does.
	if err := providers.Pace(ctx); err != nil {
		return nil, err
	}
	// The per-request timeout also covers a caller-supplied http.Client.
	reqCtx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("X-Username", c.username)
	req.Header.Set("X-Signature", sign(body, c.key.Reveal()))
	resp, err := c.http.Do(req)
	if err != nil {
		// ctx, not reqCtx: our own timeout is transient, the caller's
		// cancellation is returned as is.
		return nil, transportError(ctx, err)
	}
	answer, err := providers.ReadBody(resp)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, ctxErr
		}
		return nil, fmt.Errorf("reading answer: %w", providers.RedactURL(err))
	}
	if resp.StatusCode == http.StatusUnauthorized {
		// OpenSRS's troubleshooting guide: "401 Authentication Error" is a
		// wrong key or username, or an address off the allow-list.
		return nil, fmt.Errorf("%w: %w", &providers.StatusError{Code: resp.StatusCode, Body: c.redactor.BodySummary(resp.Header.Get("Content-Type"), answer)}, providers.ErrAuth)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, providers.HTTPStatusError(resp.StatusCode, resp.Header, c.redactor.BodySummary(resp.Header.Get("Content-Type"), answer), time.Now())
	}
	if len(bytes.TrimSpace(answer)) == 0 {
		return nil, fmt.Errorf("%w (HTTP 200 with an empty body)", errNoAnswer)
	}
	return answer, nil
}

// sign is OpenSRS's X-Signature: md5_hex(md5_hex(body + key) + key), in
// lowercase hex, over the exact bytes sent.
func sign(body []byte, key string) string {
	h := md5.New()
	h.Write(body)
	h.Write([]byte(key))
	var inner [2 * md5.Size]byte
	hex.Encode(inner[:], h.Sum(nil))
	h.Reset()
	h.Write(inner[:])
	h.Write([]byte(key))
	return hex.EncodeToString(h.Sum(nil))
}

// String describes the client without its key. fmt cannot call
// secret.String's methods on an unexported field, so printing the struct
// itself would reveal it.
func (c *Client) String() string {
	return fmt.Sprintf("opensrs.Client{Endpoint: %q, Username: %q, Key: %s}", c.endpoint, c.username, secret.Redacted)
}

// GoString keeps %#v from printing the key too.
func (c *Client) GoString() string { return c.String() }

// labelled prefixes err with the command and domain, keeping it reachable
// through errors.Is and errors.As.
func (c *Client) labelled(label string, err error) error {
	return fmt.Errorf("opensrs: %s: %w", label, err)
}

// answerError describes an answer that is not a usable reply, followed by
// a summary of the answer when there is one. The parsers' messages can
// quote the answer, so they are redacted, then cleaned and shortened, and
// only the sentinel matched stays in the chain.
func (c *Client) answerError(err error, answer []byte) error {
	var kind error
	for _, sentinel := range []error{ops.ErrNotOPS, ops.ErrTruncated, ops.ErrMalformed, errNotReply} {
		if errors.Is(err, sentinel) {
			kind = sentinel
			break
		}
	}
	msg := c.redactor.Text(err.Error())
	if answer != nil {
		msg += ": " + c.redactor.SummarizeBody(http.StatusOK, "", answer)
	}
	return &answerError{kind: kind, msg: msg}
}

type answerError struct {
	kind error
	msg  string
}

func (e *answerError) Error() string { return e.msg }
func (e *answerError) Unwrap() error { return e.kind }
