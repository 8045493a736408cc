package enom

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// Bounds on what the parser keeps, so that a hostile or broken answer costs
// at most a little more than its (already bounded) size.
const (
	maxDepth = 32   // eNom answers nest four or five levels deep
	maxErrs  = 16   // Err1..ErrN, ResponseNumbers and ResponseStrings kept
	maxText  = 4096 // characters kept of one element's text
)

var (
	// errTruncated is an answer that did not arrive whole: eNom ends every
	// complete answer with <Done>true</Done>.
	errTruncated = errors.New("truncated answer")
	// errNotENom is a body that is not an <interface-response>.
	errNotENom = errors.New("not an eNom interface-response")
	// errListing is a listing that does not hold what it says it holds.
	errListing = errors.New("listing disagrees with itself")
)

// absent is the value of a count or position the answer does not carry.
const absent = -1

// response is what reglock reads from an eNom <interface-response>.
type response struct {
	// command is <Command> as sent (GETREGLOCK, ...), "" when absent.
	command string
	// errCount is ErrCount, or -1 when the answer has none.
	errCount int
	// errs are the texts of Err1..ErrN, in order.
	errs []string
	// responseNumbers and responseStrings are the <responses><response>
	// entries' ResponseNumber and ResponseString, in order.
	responseNumbers []int
	responseStrings []string
	// rrpCode is RRPCode (or SetRegLock's RRPCodeSR), "" when absent;
	// rrpText is RRPText. They carry the registry's answer, and some errors
	// arrive in them alone (see classify).
	rrpCode, rrpText string
	// done is set by a root-level <Done>true</Done>.
	done bool
	// regLock is GetRegLock's <reg-lock> (or <RegLock>), as sent.
	regLock string
	// isLockable is <IsLockable>: "True", "False" or "" for account-level
	// answers.
	isLockable string

	// domains are GetDomains' <domain-list> entries as lowercase "sld.tld".
	domains []string
	// nextRecords is GetDomains' NextRecords: the next Start, 0 at the end.
	nextRecords int
	// GetDomains' positions and counts, absent (-1) when not sent.
	startPosition, endPosition, domainCount, totalDomainCount int

	// all are GetAllDomains' <DomainDetail> entries.
	all []detail
	// allCount is GetAllDomains' <domaincount>, absent (-1) when not sent.
	allCount int
}

// detail is one GetAllDomains entry.
type detail struct {
	name       string // lowercase A-label
	lockStatus string // "Locked" or "Not Locked", as sent
}

// parser walks the tokens of one answer. It keeps only the fields reglock
// uses, so unknown elements, attributes and ordering do not matter.
type parser struct {
	r            response
	path         []string // local names of the open elements, root first
	text         []byte   // character data of the innermost open element
	errCountText string
	sawErrCount  bool
	sld, tld     string
	detail       detail
}

// parseResponse decodes an eNom XML answer. It never panics and keeps at
// most maxErrs error texts of maxText characters each. Classification is
// left to classify.
func parseResponse(body []byte) (response, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	// Some eNom-platform answers declare encoding="utf-16" while sending
	// UTF-8 bytes; the bytes are what count.
	dec.CharsetReader = func(_ string, input io.Reader) (io.Reader, error) { return input, nil }
	p := parser{r: response{
		errCount: absent, startPosition: absent, endPosition: absent,
		domainCount: absent, totalDomainCount: absent, allCount: absent,
	}}
	sawRoot := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			// eNom's "the entire response has reached you" marker came
			// first: what follows it (debug, TrackingKey) is nothing
			// reglock reads, and the SetRegLock document's own example
			// ends in a stray </debug>.
			if p.r.done {
				break
			}
			if isUnexpectedEOF(err) {
				return response{}, errTruncated
			}
			return response{}, fmt.Errorf("malformed answer: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(p.path) == 0 {
				if sawRoot || !strings.EqualFold(t.Name.Local, "interface-response") {
					return response{}, errNotENom
				}
				sawRoot = true
			}
			if len(p.path) == maxDepth {
				return response{}, errors.New("malformed answer: nested too deeply")
			}
			p.path = append(p.path, t.Name.Local)
			p.text = p.text[:0]
		case xml.CharData:
			if room := maxText - len(p.text); room > 0 {
				p.text = append(p.text, t[:min(len(t), room)]...)
			}
		case xml.EndElement:
			if err := p.end(); err != nil {
				return response{}, err
			}
			p.path = p.path[:len(p.path)-1]
			p.text = p.text[:0]
		}
	}
	if !sawRoot {
		return response{}, errNotENom
	}
	if p.sawErrCount {
		n, err := strconv.Atoi(p.errCountText)
		if err != nil || n < 0 {
			return response{}, fmt.Errorf("malformed answer: ErrCount %q", p.errCountText)
		}
		p.r.errCount = n
	}
	return p.r, nil
}

// end records the element that just closed, if reglock reads it.
func (p *parser) end() error {
	v := strings.TrimSpace(string(p.text))
	switch path := p.path; len(path) {
	case 2:
		p.rootField(path[1], v)
	case 3:
		switch {
		case is(path[1], "errors") && isErrN(path[2]):
			if len(p.r.errs) < maxErrs && v != "" {
				p.r.errs = append(p.r.errs, v)
			}
		case is(path[1], "GetDomains"):
			return p.listField(path[2], v)
		case is(path[1], "GetAllDomains") && is(path[2], "DomainDetail"):
			return p.endDetail()
		case is(path[1], "GetAllDomains") && is(path[2], "domaincount"):
			return count(&p.r.allCount, "domaincount", v)
		}
	case 4:
		switch {
		case is(path[1], "responses") && is(path[2], "response") && is(path[3], "ResponseNumber"):
			if n, err := strconv.Atoi(v); err == nil && len(p.r.responseNumbers) < maxErrs {
				p.r.responseNumbers = append(p.r.responseNumbers, n)
			}
		case is(path[1], "responses") && is(path[2], "response") && is(path[3], "ResponseString"):
			if v != "" && len(p.r.responseStrings) < maxErrs {
				p.r.responseStrings = append(p.r.responseStrings, v)
			}
		case is(path[1], "GetDomains") && is(path[2], "domain-list") && is(path[3], "domain"):
			return p.endDomain()
		case is(path[1], "GetAllDomains") && is(path[2], "DomainDetail"):
			switch {
			case is(path[3], "DomainName"):
				p.detail.name = v
			case is(path[3], "lockstatus"):
				p.detail.lockStatus = v
			}
		}
	case 5:
		if is(path[1], "GetDomains") && is(path[2], "domain-list") && is(path[3], "domain") {
			switch {
			case is(path[4], "sld"):
				p.sld = v
			case is(path[4], "tld"):
				p.tld = v
			}
		}
	}
	return nil
}

// rootField records a direct child of <interface-response>.
func (p *parser) rootField(name, v string) {
	switch {
	case is(name, "ErrCount"):
		p.errCountText, p.sawErrCount = v, true
	case is(name, "Done"):
		p.r.done = strings.EqualFold(v, "true")
	case is(name, "Command"):
		p.r.command = v
	// The XML answer spells it reg-lock, the text answer RegLock; accept
	// both, the first one wins.
	case is(name, "reg-lock"), is(name, "RegLock"):
		if p.r.regLock == "" {
			p.r.regLock = v
		}
	case is(name, "IsLockable"):
		p.r.isLockable = v
	// SetRegLock answers RRPCodeSR where the others answer RRPCode.
	case is(name, "RRPCode"), is(name, "RRPCodeSR"):
		if p.r.rrpCode == "" {
			p.r.rrpCode = v
		}
	case is(name, "RRPText"):
		if p.r.rrpText == "" {
			p.r.rrpText = v
		}
	}
}

// listField records one of GetDomains' positions and counts.
func (p *parser) listField(name, v string) error {
	switch {
	case is(name, "NextRecords"):
		n, err := strconv.Atoi(v)
		if err != nil && v != "" {
			return fmt.Errorf("malformed answer: NextRecords %q", v)
		}
		p.r.nextRecords = n
	case is(name, "StartPosition"):
		return count(&p.r.startPosition, "StartPosition", v)
	case is(name, "EndPosition"):
		return count(&p.r.endPosition, "EndPosition", v)
	case is(name, "DomainCount"):
		return count(&p.r.domainCount, "DomainCount", v)
	case is(name, "TotalDomainCount"):
		return count(&p.r.totalDomainCount, "TotalDomainCount", v)
	}
	return nil
}

// count reads a non-negative number into dst; an empty element leaves it
// absent.
func count(dst *int, name, v string) error {
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return fmt.Errorf("malformed answer: %s %q", name, v)
	}
	*dst = n
	return nil
}

// endDomain closes one <domain-list><domain> entry.
func (p *parser) endDomain() error {
	sld, tld := p.sld, p.tld
	p.sld, p.tld = "", ""
	if sld == "" || tld == "" {
		return errors.New("malformed answer: domain-list entry without sld or tld")
	}
	name, err := aLabel(sld + "." + tld)
	if err != nil {
		return fmt.Errorf("malformed answer: domain-list entry: %v", err)
	}
	p.r.domains = append(p.r.domains, name)
	return nil
}

// endDetail closes one GetAllDomains <DomainDetail> entry.
func (p *parser) endDetail() error {
	d := p.detail
	p.detail = detail{}
	if d.name == "" {
		return errors.New("malformed answer: DomainDetail without DomainName")
	}
	name, err := aLabel(d.name)
	if err != nil {
		return fmt.Errorf("malformed answer: DomainDetail: %v", err)
	}
	d.name = name
	p.r.all = append(p.r.all, d)
	return nil
}

// aLabel lowercases a name the registrar sent and turns it into A-labels.
func aLabel(name string) (string, error) {
	a, err := idna.ToASCII(strings.ToLower(name))
	if err != nil {
		return "", fmt.Errorf("%q: %v", name, err)
	}
	return a, nil
}

// locked reads GetAllDomains' lockstatus.
func (d detail) locked() (bool, error) {
	switch {
	case strings.EqualFold(d.lockStatus, "Locked"):
		return true, nil
	case strings.EqualFold(d.lockStatus, "Not Locked"):
		return false, nil
	}
	return false, fmt.Errorf("malformed answer: %s has lockstatus %q (want Locked or Not Locked)", d.name, d.lockStatus)
}

// checkPage reports whether a GetDomains page asked for with Start=start,
// Display=display holds what its positions and counts say: a page that
// claims more than it holds would otherwise end a listing early, silently.
// A field the answer leaves out is not checked; the listing's count is
// DomainCount (the document's example has it equal to TotalDomainCount for
// the IOwn tab), else TotalDomainCount.
func (r response) checkPage(start, display int) error {
	n := len(r.domains)
	last := start + n - 1 // position of the page's last entry
	listed := r.domainCount
	if listed == absent {
		listed = r.totalDomainCount
	}
	switch {
	case n > display:
		return fmt.Errorf("%w: %d entries on a page of %d", errListing, n, display)
	case r.startPosition != absent && n > 0 && r.startPosition != start:
		return fmt.Errorf("%w: StartPosition %d, asked for %d", errListing, r.startPosition, start)
	case r.endPosition != absent && n > 0 && r.endPosition != last:
		return fmt.Errorf("%w: EndPosition %d, but the page holds %d entries from %d", errListing, r.endPosition, n, start)
	case r.nextRecords > 0 && n > 0 && r.nextRecords != last+1:
		return fmt.Errorf("%w: NextRecords %d after %d entries from %d", errListing, r.nextRecords, n, start)
	case listed == absent:
		return nil
	case r.nextRecords <= 0 && n > 0 && listed != last:
		return fmt.Errorf("%w: the last page ends at %d of %d domains", errListing, last, listed)
	case n == 0 && listed >= start:
		return fmt.Errorf("%w: %d domains, but the page from %d is empty", errListing, listed, start)
	case r.nextRecords > 0 && n > 0 && listed <= last:
		return fmt.Errorf("%w: NextRecords %d after the last of %d domains", errListing, r.nextRecords, listed)
	}
	return nil
}

// checkAll reports whether a GetAllDomains answer holds as many entries as
// its domaincount says, each once and with a lock status reglock can read.
func (r response) checkAll() error {
	if r.allCount == absent {
		return fmt.Errorf("%w: no domaincount", errListing)
	}
	if r.allCount != len(r.all) {
		return fmt.Errorf("%w: domaincount %d, but %d DomainDetail entries", errListing, r.allCount, len(r.all))
	}
	seen := make(map[string]bool, len(r.all))
	for _, d := range r.all {
		if seen[d.name] {
			return fmt.Errorf("%w: %s listed twice", errListing, d.name)
		}
		seen[d.name] = true
		if _, err := d.locked(); err != nil {
			return err
		}
	}
	return nil
}

// is compares element names the way eNom's mixed-case documents need.
func is(name, want string) bool { return strings.EqualFold(name, want) }

// isErrN reports whether name is Err1, Err2, ...
func isErrN(name string) bool {
	if len(name) < 4 || !strings.EqualFold(name[:3], "err") {
		return false
	}
	for _, c := range name[3:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// isUnexpectedEOF reports whether the decoder ran out of input inside the
// document, which is what a cut-off answer looks like.
func isUnexpectedEOF(err error) bool {
	var se *xml.SyntaxError
	return errors.Is(err, io.ErrUnexpectedEOF) || (errors.As(err, &se) && se.Msg == "unexpected EOF")
}
