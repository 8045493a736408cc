package whmcs

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// WHMCS's XML answer (responsetype=xml), the fallback for an answer WHMCS
// cannot encode as JSON. It is the JSON answer's array written out as
// elements, one per key, under a whmcsapi root; a list repeats the element
// named for its key:
//
//	<?xml version="1.0" encoding="utf-8"?>
//	<whmcsapi version="8.13.1">
//	<action>getclientsdomains</action>
//	<result>success</result>
//	<totalresults>2</totalresults>
//	<startnumber>0</startnumber>
//	<numreturned>2</numreturned>
//	<domains>
//	<domain>
//	<id>1</id>
//	<domainname>example.com</domainname>
//	<status>Active</status>
//	</domain>
//	<domain>
//	...
//	</domain>
//	</domains>
//	</whmcsapi>
//
// A value holding markup characters comes as a CDATA section; an empty list
// is left out; an error answer has version="". The declared encoding is the
// installation's Charset setting, and the text is whatever bytes WHMCS
// stored: the bytes that made its JSON encoder give up (invalid UTF-8) are
// still in the XML, so they are replaced before parsing, not refused.

// parseXMLResponse decodes a WHMCS XML answer into the same response as
// parseResponse. It never panics, keeps at most maxText bytes of any text
// and quotes nothing of the body in its errors.
func parseXMLResponse(body []byte) (response, error) {
	b := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(body), []byte("\xef\xbb\xbf")))
	// PHP notices may come first, as they do before JSON.
	if i := bytes.Index(b, []byte("<?xml")); i > 0 {
		b = b[i:]
	} else if i < 0 {
		i = bytes.Index(b, []byte("<whmcsapi"))
		if i < 0 {
			return response{}, errNotWHMCS
		}
		b = b[i:]
	}
	b = toUTF8(b, declaredEncoding(b))
	d := xml.NewDecoder(bytes.NewReader(b))
	// Lenient: an older WHMCS or a hook may write a bare & or an HTML
	// entity; the text is converted to UTF-8 above, whatever it declares.
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(_ string, in io.Reader) (io.Reader, error) { return in, nil }

	r := response{totalResults: -1, numReturned: -1}
	var (
		path    []string // element names from the root down
		text    strings.Builder
		rooted  bool
		closed  bool
		counts  = map[string]string{}
		entries []domainEntry
		entry   map[string]string
	)
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			switch {
			case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &se) && se.Msg == "unexpected EOF":
				return response{}, fmt.Errorf("%w: XML answer cut off", errMalformed)
			case errors.As(err, &se):
				// Msg may quote element names from the body: left out.
				return response{}, fmt.Errorf("%w: XML syntax error on line %d", errMalformed, se.Line)
			}
			return response{}, fmt.Errorf("%w: unreadable XML", errMalformed)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			if len(path) == 0 {
				if rooted || name != "whmcsapi" {
					return response{}, errNotWHMCS
				}
				rooted = true
			}
			path = append(path, name)
			text.Reset()
			if isPath(path, "whmcsapi", "domains", "domain") {
				entry = map[string]string{}
			}
		case xml.CharData:
			if text.Len() < maxText+utf8.UTFMax {
				text.Write(t[:min(len(t), maxText+utf8.UTFMax-text.Len())])
			}
		case xml.EndElement:
			if len(path) == 0 {
				return response{}, fmt.Errorf("%w: XML end tag without a start", errMalformed)
			}
			value := clip(strings.TrimSpace(text.String()))
			text.Reset()
			switch {
			case len(path) == 2:
				switch path[1] {
				case "result":
					r.result = value
				case "message":
					r.message = value
				case "lockstatus":
					r.lockStatus = value
				case "totalresults", "numreturned":
					counts[path[1]] = value
				}
			case len(path) == 4 && entry != nil && isPath(path[:3], "whmcsapi", "domains", "domain"):
				entry[path[3]] = value
			case len(path) == 3 && entry != nil && isPath(path, "whmcsapi", "domains", "domain"):
				e := domainEntry{name: entry["domainname"], status: entry["status"]}
				if id := strings.TrimSpace(entry["id"]); id != "" {
					n, err := wholeNumber(id)
					if err != nil {
						return response{}, fmt.Errorf("%w: domains.domain.id: %v", errMalformed, err)
					}
					e.id = n
				}
				entries = append(entries, e)
				entry = nil
			}
			path = path[:len(path)-1]
			closed = closed || len(path) == 0
		}
	}
	switch {
	case !rooted:
		return response{}, errNotWHMCS
	case len(path) > 0 || !closed:
		return response{}, fmt.Errorf("%w: XML answer cut off", errMalformed)
	case r.result == "":
		return response{}, errNotWHMCS
	}
	for name, dst := range map[string]*int{"totalresults": &r.totalResults, "numreturned": &r.numReturned} {
		v, ok := counts[name]
		if !ok || v == "" {
			continue
		}
		n, err := wholeNumber(v)
		if err != nil {
			return response{}, fmt.Errorf("%w: %s: %v", errMalformed, name, err)
		}
		if n < 0 {
			return response{}, fmt.Errorf("%w: %s %d", errMalformed, name, n)
		}
		*dst = n
	}
	r.domains = entries
	return r, nil
}

func isPath(path []string, want ...string) bool {
	if len(path) != len(want) {
		return false
	}
	for i := range want {
		if path[i] != want[i] {
			return false
		}
	}
	return true
}

// declaredEncoding is the encoding named in b's XML declaration, lower
// case, or "".
func declaredEncoding(b []byte) string {
	if !bytes.HasPrefix(b, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(b, []byte("?>"))
	if end < 0 {
		return ""
	}
	decl := string(b[:end])
	i := strings.Index(decl, "encoding=")
	if i < 0 || i+len("encoding=") >= len(decl) {
		return ""
	}
	rest := decl[i+len("encoding="):]
	quote := rest[0]
	if quote != '"' && quote != '\'' {
		return ""
	}
	value, _, _ := strings.Cut(rest[1:], string(quote))
	return strings.ToLower(strings.TrimSpace(value))
}

// toUTF8 converts an answer in WHMCS's Charset to UTF-8. ISO-8859-1 and
// its Windows superset are mapped byte by byte (the ids, statuses and lock
// states reglock reads are ASCII in any case); anything else is read as
// UTF-8, with the bytes that are not UTF-8 replaced by U+FFFD, so that a
// badly encoded note in some record does not make the whole answer
// unreadable.
func toUTF8(b []byte, charset string) []byte {
	switch charset {
	case "iso-8859-1", "iso8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		out := make([]byte, 0, len(b)+len(b)/4)
		for _, c := range b {
			out = utf8.AppendRune(out, rune(c))
		}
		return out
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}
