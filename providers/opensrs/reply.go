package opensrs

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/net/idna"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/opensrs/ops"
)

// errNotReply is an OPS envelope that is not an XCP reply: no is_success,
// an action other than REPLY (a proxy echoing the request), a data block
// that is not a dt_assoc.
var errNotReply = errors.New("not an XCP reply")

// reply is what reglock reads from an XCP reply envelope.
type reply struct {
	// success is is_success "1".
	success bool
	// code is response_code, 0 when there is none.
	code int
	// text is response_text, as sent.
	text string
	// attrs are the reply's attributes; nil when it has none.
	attrs ops.Assoc
}

// parseReply decodes an XCP reply. It never panics; classification is left
// to classify.
func parseReply(body []byte) (reply, error) {
	v, err := ops.Decode(body)
	if err != nil {
		return reply{}, err
	}
	if v.Kind() != ops.KindAssoc {
		return reply{}, fmt.Errorf("%w: the data block is a %s, not a dt_assoc", errNotReply, v.Kind())
	}
	top := v.Assoc()
	if action := top.Get("action"); action.Kind() != ops.KindScalar || !strings.EqualFold(action.Text(), "REPLY") {
		return reply{}, fmt.Errorf("%w: action is %q, not REPLY", errNotReply, action.Text())
	}
	var r reply
	switch s := top.Get("is_success"); {
	case s.Kind() != ops.KindScalar:
		return reply{}, fmt.Errorf("%w: no is_success", errNotReply)
	case s.Text() == "1":
		r.success = true
	case s.Text() != "0":
		return reply{}, fmt.Errorf("%w: is_success is %q", errNotReply, s.Text())
	}
	if code := top.Text("response_code"); code != "" {
		n, err := strconv.Atoi(code)
		if err != nil || n < 0 {
			return reply{}, fmt.Errorf("%w: response_code is %q", errNotReply, code)
		}
		r.code = n
	}
	r.text = top.Text("response_text")
	switch attrs := top.Get("attributes"); attrs.Kind() {
	case ops.KindNone:
	case ops.KindAssoc:
		r.attrs = attrs.Assoc()
	default:
		return reply{}, fmt.Errorf("%w: attributes is a %s, not a dt_assoc", errNotReply, attrs.Kind())
	}
	return r, nil
}

// The errors of parseStatus and parseListing quote the answer as it is
// (not %q, which would hide an echoed key from redaction); the client
// redacts and shortens them.

// parseStatus reads a get type=status reply's attributes: lock_state "1"
// or "0", and transfer_away_in_progress "1" as a pending state.
func parseStatus(attrs ops.Assoc) (providers.State, error) {
	var st providers.State
	switch v := attrs.Text("lock_state"); v {
	case "1":
		st.Locked = true
	case "0":
	default:
		return providers.State{}, fmt.Errorf("answer has no usable lock_state: \"%s\"", v)
	}
	st.Pending = attrs.Text("transfer_away_in_progress") == "1"
	return st, nil
}

// parseListing reads a get_domains_by_expiredate page: the names of
// exp_domains as lowercase A-labels, and whether remainder says more pages
// follow. A page without exp_domains is empty.
func parseListing(attrs ops.Assoc) (names []string, more bool, err error) {
	list := attrs.Get("exp_domains")
	switch list.Kind() {
	case ops.KindNone:
	case ops.KindArray:
	default:
		return nil, false, fmt.Errorf("answer's exp_domains is a %s, not a dt_array", list.Kind())
	}
	for i, e := range list.Array() {
		raw := strings.TrimSuffix(e.Assoc().Text("name"), ".")
		if raw == "" {
			return nil, false, fmt.Errorf("answer's exp_domains entry %d has no name", i)
		}
		name, err := idna.ToASCII(strings.ToLower(raw))
		if err != nil || !isDomainName(name) {
			return nil, false, fmt.Errorf("answer's exp_domains entry %d: \"%s\" is not a domain name", i, raw)
		}
		names = append(names, name)
	}
	rem := strings.TrimSpace(attrs.Text("remainder"))
	return names, rem != "" && rem != "0", nil
}
