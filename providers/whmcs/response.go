package whmcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// maxText bounds the characters kept of one text value (a message, a
// lockstatus, a domain name), so that a hostile answer cannot turn into a
// huge error message.
const maxText = 4096

var (
	// errNotWHMCS is a body that is not a WHMCS JSON answer: no JSON object,
	// or one without "result" (an HTML page, a proxy's own JSON).
	errNotWHMCS = errors.New("not a WHMCS API answer")
	// errMalformed is a WHMCS answer that does not decode: cut off, or a
	// field of an impossible type.
	errMalformed = errors.New("malformed answer")
)

// response is what reglock reads from a WHMCS JSON answer.
type response struct {
	// result is "success" or "error" as sent (WHMCS spells them in lower case).
	result string
	// message is the error text of a result=error answer.
	message string
	// lockStatus is DomainGetLockingStatus' lockstatus: "locked",
	// "unlocked" or "Unknown".
	lockStatus string
	// odd names the key an answer without "result" carried its outcome in
	// instead ("status" or "warning": WHMCS commands outside the three this
	// client sends have been seen to answer so); result is empty then.
	odd string
	// totalResults is GetClientsDomains' totalresults, -1 when absent.
	totalResults int
	// numReturned is GetClientsDomains' numreturned, -1 when absent.
	numReturned int
	// domains are GetClientsDomains' domains.domain[] entries, in order.
	domains []domainEntry
}

// domainEntry is one GetClientsDomains item: only the fields reglock uses.
type domainEntry struct {
	id     int // 0 when absent
	name   string
	status string
}

// resultMarker is how every WHMCS JSON answer starts (PHP keeps insertion
// order and "result" is always set first).
var resultMarker = []byte(`{"result"`)

// parseResponse decodes a WHMCS JSON answer. It never panics, keeps at most
// maxText bytes of any text, and leaves classification to classify.
//
// A UTF-8 byte order mark or PHP notices printed before the JSON (a WHMCS
// with display_errors on, or a hook file saved with a BOM) are skipped: the
// answer after them is still WHMCS's own.
func parseResponse(body []byte) (response, error) {
	b := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\xef\xbb\xbf")))
	if len(b) == 0 {
		return response{}, errNotWHMCS
	}
	if b[0] != '{' {
		i := bytes.Index(b, resultMarker)
		if i < 0 {
			return response{}, errNotWHMCS
		}
		b = b[i:]
	}
	var w wireAnswer
	if err := json.Unmarshal(b, &w); err != nil {
		// The messages name fields and JSON types but quote nothing of the
		// body beyond a character: an echoed credential must not reach an
		// error through them.
		var typeErr *json.UnmarshalTypeError
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field == "":
			// The top level is an array, a string or a number.
			return response{}, errNotWHMCS
		case errors.As(err, &typeErr):
			kind, _, _ := strings.Cut(typeErr.Value, " ")
			return response{}, fmt.Errorf("%w: %s is a JSON %s", errMalformed, typeErr.Field, kind)
		case errors.As(err, &syntaxErr):
			return response{}, fmt.Errorf("%w: %v", errMalformed, syntaxErr)
		}
		return response{}, fmt.Errorf("%w: %v", errMalformed, err)
	}
	r := response{
		result:     w.Result.s,
		message:    w.Message.s,
		lockStatus: w.LockStatus.s,
		domains:    w.Domains.entries,
	}
	switch {
	case w.Result.set && w.Result.s != "":
	case strings.EqualFold(strings.TrimSpace(w.Status.s), "error"):
		// {"status":"error","message":"Client ID Not Found"} (GetEmails,
		// WHMCS/developer-docs#80).
		r.odd = "status"
	case strings.TrimSpace(w.Warning.s) != "":
		// {"warning":"Invalid or Missing Payment Information ..."} at HTTP
		// 200 (WHMCS/developer-docs#303).
		r.odd, r.message = "warning", w.Warning.s
	default:
		return response{}, errNotWHMCS
	}
	var err error
	if r.totalResults, err = count("totalresults", w.TotalResults); err != nil {
		return response{}, err
	}
	if r.numReturned, err = count("numreturned", w.NumReturned); err != nil {
		return response{}, err
	}
	return r, nil
}

// count is a listing count as read, -1 when absent.
func count(name string, f flexInt) (int, error) {
	switch {
	case !f.set:
		return -1, nil
	case f.n < 0:
		return 0, fmt.Errorf("%w: %s %d", errMalformed, name, f.n)
	}
	return f.n, nil
}

// wireAnswer is the JSON shape; unknown fields are ignored.
type wireAnswer struct {
	Result       flexString  `json:"result"`
	Status       flexString  `json:"status"`
	Warning      flexString  `json:"warning"`
	Message      flexString  `json:"message"`
	LockStatus   flexString  `json:"lockstatus"`
	TotalResults flexInt     `json:"totalresults"`
	NumReturned  flexInt     `json:"numreturned"`
	Domains      wireDomains `json:"domains"`
}

// flexString is a text value that WHMCS may send as a string, a number or
// a boolean; null is unset. Other JSON values are kept as their raw text.
type flexString struct {
	s   string
	set bool
}

func (f *flexString) UnmarshalJSON(b []byte) error {
	switch {
	case bytes.Equal(b, []byte("null")):
		*f = flexString{}
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString{s: clip(s), set: true}
		return nil
	}
	*f = flexString{s: clip(string(b)), set: true}
	return nil
}

// flexInt is a whole number that WHMCS sends as a JSON number or as a
// string of digits, depending on version and field; null and "" are unset.
type flexInt struct {
	n   int
	set bool
}

func (f *flexInt) UnmarshalJSON(b []byte) error {
	*f = flexInt{}
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	text := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &text); err != nil {
			return err
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return nil
		}
	}
	n, err := wholeNumber(text)
	if err != nil {
		return err
	}
	*f = flexInt{n: n, set: true}
	return nil
}

// wholeNumber reads a count or an id. The error quotes nothing of the text:
// an echoed credential in a number field must not reach an error.
func wholeNumber(text string) (int, error) {
	n, err := strconv.Atoi(text)
	if err != nil {
		return 0, errors.New("a number field is not a whole number")
	}
	return n, nil
}

// wireDomains is GetClientsDomains' "domains": {"domain": [ ... ]}. WHMCS
// sends "" when nothing matches and leaves it out for a page past the end;
// an empty object or array, null, a bare list and a single item instead of
// a list are accepted too.
type wireDomains struct {
	entries []domainEntry
}

type wireDomain struct {
	ID         flexInt    `json:"id"`
	DomainName flexString `json:"domainname"`
	Status     flexString `json:"status"`
}

func (d *wireDomains) UnmarshalJSON(b []byte) error {
	d.entries = nil
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0, bytes.Equal(b, []byte("null")), bytes.Equal(b, []byte(`""`)):
		return nil
	case b[0] == '[':
		return d.list(b)
	case b[0] != '{':
		return errors.New("domains is neither an object nor a list")
	}
	var obj struct {
		Domain json.RawMessage `json:"domain"`
	}
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	inner := bytes.TrimSpace(obj.Domain)
	switch {
	case len(inner) == 0, bytes.Equal(inner, []byte("null")), bytes.Equal(inner, []byte(`""`)):
		return nil
	case inner[0] == '[':
		return d.list(inner)
	case inner[0] == '{':
		var one wireDomain
		if err := json.Unmarshal(inner, &one); err != nil {
			return err
		}
		d.entries = []domainEntry{one.entry()}
		return nil
	}
	return errors.New("domains.domain is neither a list nor an item")
}

func (d *wireDomains) list(b []byte) error {
	var items []wireDomain
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	d.entries = make([]domainEntry, 0, len(items))
	for _, it := range items {
		d.entries = append(d.entries, it.entry())
	}
	return nil
}

func (w wireDomain) entry() domainEntry {
	return domainEntry{id: w.ID.n, name: w.DomainName.s, status: w.Status.s}
}

// clip keeps at most maxText bytes of s, dropping a character the cut
// would split.
func clip(s string) string {
	if len(s) <= maxText {
		return s
	}
	return strings.ToValidUTF8(s[:maxText], "")
}

// errBrokenListing is a GetClientsDomains answer whose counts disagree with
// the entries it holds (a WHMCS that cannot render some rows, a proxy that
// cut the body short and closed the JSON, a hook that rewrote the answer).
// It says nothing about any domain: the listing is broken, so the error is
// transient and never "not found".
var errBrokenListing = errors.New("GetClientsDomains answer disagrees with its own counts")

// checkCounts holds one GetClientsDomains page, asked for from offset
// start, to its own totalresults and numreturned.
func (r response) checkCounts(start int) error {
	n := len(r.domains)
	switch {
	case r.numReturned >= 0 && r.numReturned != n:
		return fmt.Errorf("%w: numreturned %d, %d entries", errBrokenListing, r.numReturned, n)
	case r.totalResults >= 0 && n == 0 && start < r.totalResults:
		return fmt.Errorf("%w: totalresults %d, no entries from offset %d", errBrokenListing, r.totalResults, start)
	case r.totalResults >= 0 && start+n > r.totalResults:
		return fmt.Errorf("%w: totalresults %d, %d entries from offset %d", errBrokenListing, r.totalResults, n, start)
	}
	return nil
}
