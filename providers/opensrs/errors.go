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
	delayCommandRate = 1 * time.Second // 300: exceeded max command rate
	delayConnections = 2 * time.Second // 310: exceeded max simultaneous connections
	delayBusy        = 5 * time.Second // 437, 486: the domain is busy
)

// maxText bounds the response_text kept in an error.
const maxText = 500

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
// OpenSRS's response codes become reglock's error vocabulary. The text
// passes through redact before it is cut.
func classify(r reply, redact func(string) string) error {
	if r.success {
		return nil
	}
	text := redact(r.text)
	if len(text) > maxText {
		text = strings.ToValidUTF8(text[:maxText], "") + "…"
	}
	e := &replyError{code: r.code, text: text}
	switch r.code {
	case 300:
		return providers.RetryAfter(delayCommandRate, e)
	case 310:
		return providers.RetryAfter(delayConnections, e)
	case 437, 486:
		return providers.RetryAfter(delayBusy, e)
	case 410, 415: // reseller authentication; 415 is also the registrant's (or a bad cookie)
		return fmt.Errorf("%w: %w", e, providers.ErrAuth)
	case 480:
		return fmt.Errorf("%w: %w", e, providers.ErrNotFound)
	case 435:
		return fmt.Errorf("%w: %w", e, providers.ErrNotPermitted)
	case 430, 460, 465: // invalid command, missing field, invalid data: the request is wrong
		return providers.Permanent(e)
	}
	// 400 (internal error), 405 (registry error) and codes this adapter
	// does not know: transient.
	return e
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
	case 300, 310, 410, 415, 430, 435, 437, 460, 480, 486:
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
