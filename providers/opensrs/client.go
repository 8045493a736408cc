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
	"net/url"
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
	listFrom = "1970-01-01"
	listTo   = "2199-12-31"
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
	return &Client{endpoint: cfg.Endpoint, username: cfg.Username, key: cfg.Key, timeout: timeout, http: hc}, nil
}

// LockState reads the domain's registrar lock with get, type=status. A
// transfer away in progress reads as Pending.
func (c *Client) LockState(ctx context.Context, domain string) (providers.State, error) {
	if err := checkDomain(domain); err != nil {
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
	if err := checkDomain(domain); err != nil {
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
	if err := checkDomain(domain); err != nil {
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
// An error is yielded once and ends the listing.
func (c *Client) Domains(ctx context.Context) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		var prevFirst string
		for page := 1; ; page++ {
			attrs, err := c.do(ctx, "get_domains_by_expiredate", "", ops.Assoc{
				ops.Field("exp_from", listFrom),
				ops.Field("exp_to", listTo),
				ops.Field("limit", strconv.Itoa(pageSize)),
				ops.Field("page", strconv.Itoa(page)),
			})
			if err != nil {
				yield("", err)
				return
			}
			names, more, err := parseListing(attrs)
			if err != nil {
				yield("", c.labelled("get_domains_by_expiredate", c.answerError(err, nil)))
				return
			}
			// A server that ignores page would repeat itself forever.
			if len(names) > 0 && page > 1 && names[0] == prevFirst {
				yield("", c.labelled("get_domains_by_expiredate", fmt.Errorf("page %d repeats page %d", page, page-1)))
				return
			}
			for _, name := range names {
				if !yield(name, nil) {
					return
				}
			}
			if len(names) == 0 || !more {
				return
			}
			prevFirst = names[0]
		}
	}
}

func flag(on bool) string {
	if on {
		return "1"
	}
	return "0"
}

// checkDomain accepts lowercase LDH names of two labels or more, as
// tasks.NormalizeDomain makes them; anything else is a permanent error
// before any request. The registry decides what is registrable.
func checkDomain(domain string) error {
	if !isDomainName(domain) {
		return providers.Permanent(fmt.Errorf("opensrs: %q is not a domain name in lowercase A-labels", domain))
	}
	return nil
}

func isDomainName(s string) bool {
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := range len(label) {
			if ch := label[i]; !(ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-') {
				return false
			}
		}
	}
	return true
}

// do sends one XCP command about the domain object and returns the reply's
// attributes, or the error the reply means. domain only labels errors.
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
	if err := classify(r, c.redact); err != nil {
		return nil, c.labelled(label, err)
	}
	return r.attrs, nil
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
	if resp.StatusCode != http.StatusOK {
		return nil, providers.HTTPStatusError(resp.StatusCode, resp.Header, c.snippet(answer), time.Now())
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
// the start of the answer when there is one. The parsers' messages can
// quote the answer, so they are redacted, then shortened, and only the
// sentinel matched stays in the chain.
func (c *Client) answerError(err error, answer []byte) error {
	var kind error
	for _, sentinel := range []error{ops.ErrNotOPS, ops.ErrTruncated, ops.ErrMalformed, errNotReply} {
		if errors.Is(err, sentinel) {
			kind = sentinel
			break
		}
	}
	msg := providers.Snippet([]byte(c.redact(err.Error())))
	if answer != nil {
		msg += ": " + c.snippet(answer)
	}
	return &answerError{kind: kind, msg: msg}
}

type answerError struct {
	kind error
	msg  string
}

func (e *answerError) Error() string { return e.msg }
func (e *answerError) Unwrap() error { return e.kind }

// snippet is the start of a body for an error message, with the key
// removed before cutting so that no part of it survives the cut.
func (c *Client) snippet(body []byte) string {
	return providers.Snippet([]byte(c.redact(string(body))))
}

// redact removes the key from text that came from the network, in case a
// proxy or a misbehaving server echoes it. It is applied to error text
// only, never to bodies before parsing: a short key must not be able to
// corrupt the XML.
func (c *Client) redact(s string) string {
	key := c.key.Reveal()
	if key == "" {
		return s
	}
	s = strings.ReplaceAll(s, key, secret.Redacted)
	quoted := strconv.Quote(key)
	for _, esc := range []string{url.QueryEscape(key), xmlEscape(key), quoted[1 : len(quoted)-1]} {
		if esc != key {
			s = strings.ReplaceAll(s, esc, secret.Redacted)
		}
	}
	return s
}

// xmlEscape is the key as it would appear escaped in an XML echo.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}
