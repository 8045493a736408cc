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
	// A success about another object (a BALANCE reply, say) would read as
	// an empty listing or a missing lock_state. A failure is classified by
	// its code whatever object it names: an authentication failure may
	// name none, or another.
	if obj := top.Get("object"); r.success && obj.Kind() == ops.KindScalar && !strings.EqualFold(strings.TrimSpace(obj.Text()), "DOMAIN") {
		return reply{}, fmt.Errorf("%w: a reply about the object \"%s\", not DOMAIN", errNotReply, obj.Text())
	}
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
	st.PendingTransfer = st.Pending
	return st, nil
}

// listingPage is one get_domains_by_expiredate page as read.
type listingPage struct {
	// names are exp_domains' names as lowercase A-labels.
	names []string
	// more is remainder: more pages follow.
	more bool
	// page and total are the reply's page number and count of domains in
	// all, -1 when it has none.
	page, total int
}

// parseListing reads a get_domains_by_expiredate page: the names of
// exp_domains as lowercase A-labels, whether remainder says more pages
// follow, and the page and total counts. A page without exp_domains is
// empty.
func parseListing(attrs ops.Assoc) (listingPage, error) {
	p := listingPage{page: -1, total: -1}
	list := attrs.Get("exp_domains")
	switch list.Kind() {
	case ops.KindNone:
	case ops.KindArray:
	default:
		return listingPage{}, fmt.Errorf("answer's exp_domains is a %s, not a dt_array", list.Kind())
	}
	for i, e := range list.Array() {
		raw := strings.TrimSuffix(e.Assoc().Text("name"), ".")
		if raw == "" {
			return listingPage{}, fmt.Errorf("answer's exp_domains entry %d has no name", i)
		}
		name, err := idna.ToASCII(strings.ToLower(raw))
		if err != nil || providers.CheckDomain("opensrs", name) != nil {
			return listingPage{}, fmt.Errorf("answer's exp_domains entry %d: \"%s\" is not a domain name", i, raw)
		}
		p.names = append(p.names, name)
	}
	for _, f := range []struct {
		key string
		n   *int
	}{{"page", &p.page}, {"total", &p.total}} {
		v := attrs.Get(f.key)
		if v.Kind() == ops.KindNone || strings.TrimSpace(v.Text()) == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSpace(v.Text()))
		if err != nil || n < 0 || v.Kind() != ops.KindScalar {
			return listingPage{}, fmt.Errorf("answer's %s is not a count: \"%s\"", f.key, v.Text())
		}
		*f.n = n
	}
	rem := strings.TrimSpace(attrs.Text("remainder"))
	p.more = rem != "" && rem != "0"
	return p, nil
}

// last reports whether the listing ends with this page: remainder says no
// more follow, or the page is empty (a server that keeps saying "more"
// would be listed forever; check says whether that is an error).
func (p listingPage) last() bool { return !p.more || len(p.names) == 0 }

// check compares the page's counts with what was asked and what the pages
// hold: page asked for, before the names of the pages read before it. A
// listing that disagrees with its own counts has lost or invented domains,
// and an import from it would be silently wrong.
func (p listingPage) check(asked, before int) error {
	held := before + len(p.names)
	switch {
	case p.page >= 0 && p.page != asked:
		return fmt.Errorf("asked for page %d, the answer is page %d", asked, p.page)
	case p.total >= 0 && held > p.total:
		return fmt.Errorf("page %d: the answer counts %d domains in all, and its pages so far hold %d", asked, p.total, held)
	case p.more && len(p.names) == 0 && (p.total < 0 || held < p.total):
		return fmt.Errorf("page %d: the answer says more domains follow, and holds none", asked)
	case p.last() && p.total >= 0 && held < p.total:
		return fmt.Errorf("page %d: the answer counts %d domains in all, its pages hold %d, and no more follow", asked, p.total, held)
	}
	return nil
}
