package providers

import (
	"encoding/json"
	"html"
	"net/url"
	"slices"
	"strings"

	"github.com/reglock/reglock/secret"
)

// Redactor removes credentials from text that came from the network: a
// registrar, a proxy or a misbehaving server that echoes the request into
// an error page. Every adapter applies one to error text (never to bodies
// before parsing: a short credential must not be able to corrupt the XML or
// JSON). An echo may spell a credential raw or escaped as the page around it
// escapes text, so each is removed in every spelling an echo could use:
// raw; URL-escaped as a query or a path; HTML- and XML-escaped (named and
// numeric entities), also over the URL-escaped forms (a query string echoed
// into HTML); JSON-escaped as Go, JavaScript and PHP (json_encode escapes
// '/' and everything outside ASCII) write it.
type Redactor struct {
	forms []string // longest first, so that no shorter form breaks a longer one apart
}

// minSecret is the length below which a value is not worth redacting: it
// would blank out ordinary words and numbers.
const minSecret = 4

// NewRedactor returns a Redactor of the given credentials; empty ones and
// ones shorter than four bytes are ignored.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, v := range secrets {
		if len(v) < minSecret {
			continue
		}
		for _, f := range spellings(v) {
			if f != "" && !slices.Contains(r.forms, f) {
				r.forms = append(r.forms, f)
			}
		}
	}
	slices.SortStableFunc(r.forms, func(a, b string) int { return len(b) - len(a) })
	return r
}

// Redact returns s with every spelling of every credential replaced by
// secret.Redacted. A nil Redactor redacts nothing.
func (r *Redactor) Redact(s string) string {
	if r == nil {
		return s
	}
	for _, f := range r.forms {
		if strings.Contains(s, f) {
			s = strings.ReplaceAll(s, f, secret.Redacted)
		}
	}
	return s
}

// spellings are the ways an echo may write v.
func spellings(v string) []string {
	urlForms := []string{v, url.QueryEscape(v), url.PathEscape(v), strings.ReplaceAll(url.QueryEscape(v), "+", "%20")}
	var out []string
	for _, u := range urlForms {
		out = append(out, u, html.EscapeString(u), xmlNamed(u), xmlNumeric(u))
	}
	goJSON, _ := json.Marshal(v) // escapes <, > and & as \u003c...
	var plain strings.Builder
	enc := json.NewEncoder(&plain)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	for _, j := range []string{string(goJSON), strings.TrimSpace(plain.String())} {
		out = append(out, j[1:len(j)-1])
	}
	return append(out, phpJSON(v))
}

// xmlNamed escapes as XML writers that use named entities do.
func xmlNamed(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

// xmlNumeric escapes as writers that use numeric references do (Go's
// encoding/xml, among others).
func xmlNumeric(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// phpJSON escapes s as PHP's json_encode does by default: slashes as \/ and
// everything outside ASCII as \uXXXX (surrogate pairs beyond the BMP).
func phpJSON(s string) string {
	const hex = "0123456789abcdef"
	var b strings.Builder
	u16 := func(r rune) {
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hex[(r>>shift)&0xf])
		}
	}
	for _, r := range s {
		switch {
		case r == '"' || r == '\\' || r == '/':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			u16(r)
		case r < 0x80:
			b.WriteRune(r)
		case r >= 0x10000:
			r -= 0x10000
			u16(0xd800 + (r>>10)&0x3ff)
			u16(0xdc00 + r&0x3ff)
		default:
			u16(r)
		}
	}
	return b.String()
}
