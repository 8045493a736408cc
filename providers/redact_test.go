package providers

import (
	"encoding/json"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/reglock/reglock/secret"
)

// A credential echoed in any of the spellings a page around it would use
// is removed, and nothing else is.
func TestRedactor(t *testing.T) {
	const key = `k3y/with+odd&<chars>"and'ü`
	r := NewRedactor(key, "", "abc") // empty and too short: ignored
	goJSON, _ := json.Marshal(key)
	echoes := map[string]string{
		"raw":                  key,
		"query":                url.QueryEscape(key),
		"path":                 url.PathEscape(key),
		"query with %20":       strings.ReplaceAll(url.QueryEscape(key), "+", "%20"),
		"HTML":                 html.EscapeString(key),
		"HTML over a query":    html.EscapeString(url.QueryEscape(key)),
		"XML named entities":   xmlNamed(key),
		"XML numeric entities": xmlNumeric(key),
		"Go JSON":              string(goJSON[1 : len(goJSON)-1]),
		"PHP json_encode":      phpJSON(key),
	}
	for name, echo := range echoes {
		page := "<html><body>Bad request: pw=" + echo + "&uid=resellid (abc)</body></html>"
		got := r.Redact(page)
		if strings.Contains(got, echo) {
			t.Errorf("%s: %q still in %q", name, echo, got)
		}
		if !strings.Contains(got, secret.Redacted) || !strings.Contains(got, "uid=resellid (abc)") {
			t.Errorf("%s: redacted too little or too much: %q", name, got)
		}
	}
	if got := (*Redactor)(nil).Redact("x"); got != "x" {
		t.Errorf("nil Redactor changed the text: %q", got)
	}
}

func FuzzRedactor(f *testing.F) {
	f.Add("s3cret-token", "error: s3cret-token")
	f.Add(`a&b"c`, `<p>a&amp;b&quot;c</p>`)
	f.Fuzz(func(t *testing.T, key, text string) {
		r := NewRedactor(key)
		out := r.Redact(text + key + text)
		if len(key) >= minSecret && strings.Contains(out, key) && !strings.Contains(secret.Redacted, key) {
			t.Fatalf("raw secret %q survived in %q", key, out)
		}
	})
}
