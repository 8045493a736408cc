package opensrs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"time"

	"github.com/reglock/reglock/providers"
)

// errNoAnswer is a connection that closed without an answer, or an empty
// answer. OpenSRS treats callers outside the account's IP allow-list this
// way (the PHP toolkit and the Ruby client both say so), so the message
// points there; it is transient, as a dropped connection may be a blip.
var errNoAnswer = errors.New("no answer from OpenSRS; it closes the connection on callers whose IP address is not on the reseller's API allow-list, so check that this host's address is allow-listed")

// The delays of the "try again later" response codes. OpenSRS names none:
// a rate limit clears within a second or two, a domain busy with another
// request or a registry operation in seconds to a minute.
const (
	delayCommandRate = 1 * time.Second // 300: exceeded max command rate; 350: commands per connection
	delayConnections = 2 * time.Second // 310: exceeded max simultaneous connections
	delayBusy        = 5 * time.Second // 437, 486: the domain is busy
)

// maxText bounds the response_text kept in an error.
const maxText = 500

// codeNotYours is response code 415, "registrant (end-user) authentication
// error": about a domain, the account may not act on it (OpenSRS answers it
// for a domain the reseller does not hold); about the account, its
// credentials are refused.
const codeNotYours = 415

// replyError is an XCP failure: is_success 0, with its response code and
// text.
type replyError struct {
	code int // 0 when the reply has none
	text string
}

func (e *replyError) Error() string {
	if e.code == 0 {
		return "XCP failure without a response code: " + e.text
	}
	return fmt.Sprintf("response code %d: %s", e.code, e.text)
}

// classify decides what a parsed reply means; it is the one place where
// OpenSRS's response codes become reglock's error vocabulary. domain is
// the domain the command is about, "" for a command about the account
// (the listing). The text passes through redact before it is cut.
//
// The codes and their meanings are opensrs-client's doc/return_codes.txt
// unless noted; testdata/SOURCES.md has the sources.
//
//	code           meaning                                   scope    verdict
//	300            exceeded max command rate                 account  retry after 1 s
//	310            exceeded max simultaneous connections     account  retry after 2 s
//	350            100 commands per connection (Net::DRI)    account  retry after 1 s
//	400            internal server error                     account  transient
//	405            registry error                            account  transient
//	401            reseller username, key or IP refused      account  ErrAuth
//	               (osrs-toolkit Base.php, troubleshooting guide)
//	410            reseller authentication error             account  ErrAuth
//	415 (domain)   registrant authentication error: a domain domain   ErrNotFound + ErrRefused,
//	               the reseller does not hold                          settled by checkRefusal
//	415 (listing)  the same about the account itself         account  ErrAuth
//	430            invalid command                           request  permanent
//	435            permission denied (also failed registry   domain   ErrNotPermitted
//	               validation: a recorded reply)
//	437            another request is waiting on the domain  domain   retry after 5 s
//	440, 445, 447  quota exceeded                            account  permanent
//	460            missing required field                    request  permanent
//	465            invalid data supplied                     domain   permanent
//	480            item not found                            domain   ErrNotFound
//	485            already exists                            domain   permanent
//	486            exists in a processing state              domain   retry after 5 s
//	487            domain not transferable                   domain   permanent
//	anything else, or no code                                         providers.Unrecognized
//
// is_success 1 is success only with a 2xx code or none: OpenSRS's test
// service answers 701 with is_success 1 (E-NOISE/opensrs's live tests), so
// such a reply is classified by its code like a failure.
func classify(r reply, redact func(string) string, domain string) error {
	if succeeded(r) {
		return nil
	}
	e := &replyError{code: r.code, text: cleanText(r.text, redact)}
	switch r.code {
	case 300, 350:
		return providers.RetryAfter(delayCommandRate, e)
	case 310:
		return providers.RetryAfter(delayConnections, e)
	case 437, 486:
		return providers.RetryAfter(delayBusy, e)
	case 400, 405:
		return e
	case 401, 410:
		return fmt.Errorf("%w: %w", e, providers.ErrAuth)
	case codeNotYours:
		if domain == "" {
			return fmt.Errorf("%w: %w", e, providers.ErrAuth)
		}
		return fmt.Errorf("%w: %w (%w)", e, providers.ErrNotFound, providers.ErrRefused)
	case 480:
		return fmt.Errorf("%w: %w", e, providers.ErrNotFound)
	case 435:
		return fmt.Errorf("%w: %w", e, providers.ErrNotPermitted)
	case 430, 440, 445, 447, 460, 465, 485, 487:
		return providers.Permanent(e)
	}
	return providers.Unrecognized(e)
}

// succeeded reports whether a reply says the command was carried out.
func succeeded(r reply) bool { return r.success && (r.code == 0 || r.code/100 == 2) }

// cleanText makes a response_text fit for an error: without the key, on
// one line (recorded replies wrap their texts over indented lines), and
// bounded. It redacts before and after joining the lines, so that no
// spelling of the key can appear by the joining.
func cleanText(text string, redact func(string) string) string {
	text = redact(strings.Join(strings.Fields(redact(text)), " "))
	if len(text) > maxText {
		text = strings.ToValidUTF8(text[:maxText], "") + "…"
	}
	return text
}

// mayMeanAlready reports whether a failed modify could be OpenSRS's way of
// saying the domain is already in the asked state: any XCP failure except
// those whose meaning is known and different.
func mayMeanAlready(err error) bool {
	var re *replyError
	if !errors.As(err, &re) {
		return false
	}
	switch re.code {
	case 300, 310, 350, 401, 410, 415, 430, 435, 437, 440, 445, 447, 460, 480, 486, 487:
		return false
	}
	return true
}

// transportError classifies a failed round trip: the caller's cancellation
// as is, a connection closed without an answer as errNoAnswer, anything
// else transient with URLs redacted.
func transportError(ctx context.Context, err error) error {
	err = providers.TransportError(ctx, err)
	if ctx.Err() != nil {
		return err
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return fmt.Errorf("%w (%v)", errNoAnswer, err)
	}
	return err
}
