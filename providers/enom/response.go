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
	maxErrs  = 16   // Err1..ErrN kept for the message
	maxText  = 4096 // characters kept of one element's text
)

var (
	// errTruncated is an answer that did not arrive whole: eNom ends every
	// complete answer with <Done>true</Done>.
	errTruncated = errors.New("truncated answer")
	// errNotENom is a body that is not an <interface-response>.
	errNotENom = errors.New("not an eNom interface-response")
)

// response is what reglock reads from an eNom <interface-response>.
type response struct {
	// errCount is ErrCount, or -1 when the answer has none.
	errCount int
	// errs are the texts of Err1..ErrN, in order.
	errs []string
	// responseNumber is the first <responses><response><ResponseNumber>.
	responseNumber int
	// done is set by <Done>true</Done>.
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
}

// parseResponse decodes an eNom XML answer. It never panics and keeps at
// most maxErrs error texts of maxText characters each. Classification is
// left to classify.
func parseResponse(body []byte) (response, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	// Some eNom-platform answers declare encoding="utf-16" while sending
	// UTF-8 bytes; the bytes are what count.
	dec.CharsetReader = func(_ string, input io.Reader) (io.Reader, error) { return input, nil }
	p := parser{r: response{errCount: -1}}
	sawRoot := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
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
		case is(path[1], "GetDomains") && is(path[2], "NextRecords"):
			n, err := strconv.Atoi(v)
			if err != nil && v != "" {
				return fmt.Errorf("malformed answer: NextRecords %q", v)
			}
			p.r.nextRecords = n
		}
	case 4:
		switch {
		case is(path[1], "responses") && is(path[2], "response") && is(path[3], "ResponseNumber"):
			if p.r.responseNumber == 0 {
				p.r.responseNumber, _ = strconv.Atoi(v)
			}
		case is(path[1], "GetDomains") && is(path[2], "domain-list") && is(path[3], "domain"):
			return p.endDomain()
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
	// The XML answer spells it reg-lock, the text answer RegLock; accept
	// both, the first one wins.
	case is(name, "reg-lock"), is(name, "RegLock"):
		if p.r.regLock == "" {
			p.r.regLock = v
		}
	case is(name, "IsLockable"):
		p.r.isLockable = v
	}
}

// endDomain closes one <domain-list><domain> entry.
func (p *parser) endDomain() error {
	sld, tld := p.sld, p.tld
	p.sld, p.tld = "", ""
	if sld == "" || tld == "" {
		return errors.New("malformed answer: domain-list entry without sld or tld")
	}
	name, err := idna.ToASCII(strings.ToLower(sld + "." + tld))
	if err != nil {
		return fmt.Errorf("malformed answer: domain-list entry %q: %v", sld+"."+tld, err)
	}
	p.r.domains = append(p.r.domains, name)
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
