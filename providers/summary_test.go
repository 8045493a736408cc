package providers

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

const nginx502 = `<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.25.3</center>
</body>
</html>
`

func TestSummarizeBody(t *testing.T) {
	long := strings.Repeat("word ", 100)
	tests := []struct {
		name   string
		status int
		ct     string
		body   string
		want   string
	}{
		{"nginx 502 page", 502, "text/html", nginx502, `HTTP 502 Bad Gateway: "502 Bad Gateway"`},
		{"page without a content type", 503, "", "<!DOCTYPE html><html><head><meta charset=utf-8><title>\n  Maintenance &amp; upgrades\n</title><style>p{}</style></head><body><p>Back soon</p></body></html>",
			`HTTP 503 Service Unavailable: "Maintenance & upgrades"`},
		{"title that would open a tag", 500, "text/html", "<title>a &lt;script&gt; b</title>", `HTTP 500 Internal Server Error: "a ‹script› b"`},
		{"empty title: the page's text", 500, "text/html", "<html><head><title> </title><script>var x = '<b>';</script></head><body><h1>Oops</h1><p>Something   broke</p></body></html>",
			`HTTP 500 Internal Server Error: "Oops Something broke"`},
		{"XML", 500, "text/xml", `<?xml version="1.0"?><error><code>9</code><text>Database down</text></error>`, `HTTP 500 Internal Server Error: "9 Database down"`},
		{"JSON problem", 502, "application/problem+json", `{"type":"about:blank","title":"Upstream unavailable","status":502}`, `HTTP 502 Bad Gateway: "Upstream unavailable"`},
		{"JSON nested error", 500, "application/json", `{"error":{"code":1,"message":"Database <down>"}}`, `HTTP 500 Internal Server Error: "Database ‹down›"`},
		{"JSON errors list", 422, "", `{"errors":[{"field":"x","message":"x is wrong"}]}`, `HTTP 422 Unprocessable Entity: "x is wrong"`},
		{"JSON without a message", 500, "application/json", `{"status":500}`, `HTTP 500 Internal Server Error: "{\"status\":500}"`},
		{"text with control characters", 500, "text/plain", "bad\x1b[31m thing\r\n\tnext\u202eline\x7f", "HTTP 500 Internal Server Error: \"bad [31m thing next line\""},
		{"stray less-than", 400, "text/plain", "a < b", `HTTP 400 Bad Request: "a ‹ b"`},
		{"binary", 502, "image/png", "\x89PNG\r\n\x1a\n\x00\x00", `HTTP 502 Bad Gateway: "10 bytes of image/png"`},
		{"binary without a type", 502, "", "\x00\x01\x02", `HTTP 502 Bad Gateway: "3 bytes of binary data"`},
		{"empty body", 503, "text/html", "  \n", `HTTP 503 Service Unavailable`},
		{"unknown status", 599, "", "x", `HTTP 599: "x"`},
		{"no status", 0, "", "<html><title>T</title></html>", `"T"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SummarizeBody(tt.status, tt.ct, []byte(tt.body)); got != tt.want {
				t.Errorf("SummarizeBody = %s\n                 want %s", got, tt.want)
			}
		})
	}
	got := BodySummary("text/plain", []byte(long))
	if len(got) > SummaryMax || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "word word") {
		t.Errorf("long body: %q (%d bytes)", got, len(got))
	}
	if again := BodySummary("", []byte(got)); again != got {
		t.Errorf("a summary summarises to %q, not to itself", again)
	}
}

// A *StatusError made with the raw start of a page (as notify and rdap
// still make them) prints the page's title, not its markup.
func TestStatusError_neverPrintsMarkup(t *testing.T) {
	err := &StatusError{Code: 502, Body: Snippet([]byte(nginx502))}
	if got, want := err.Error(), `unexpected HTTP status 502 Bad Gateway: "502 Bad Gateway"`; got != want {
		t.Errorf("Error() = %s, want %s", got, want)
	}
	if got, want := (&StatusError{Code: 503}).Error(), "unexpected HTTP status 503 Service Unavailable"; got != want {
		t.Errorf("Error() = %s, want %s", got, want)
	}
}

// A credential that markup, an entity or a control character splits in
// the body comes together only in the summary: it is redacted there too.
func TestRedactor_SummarizeBody(t *testing.T) {
	const sec = "hunter2-secret"
	r := NewRedactor(sec)
	for _, body := range []string{
		"<html><title>hunter2-<b>secret</b></title></html>",
		"<p>hunter2&#45;secret</p>",
		"hunter2-\x00secret",
		"<html><title>" + sec + "</title></html>",
	} {
		got := r.SummarizeBody(500, "", []byte(body))
		if strings.Contains(got, sec) || strings.Contains(got, "<") {
			t.Errorf("SummarizeBody(%q) = %s", body, got)
		}
	}
	if got := r.Text("root element is <html> for " + sec); got != "root element is ‹html› for [redacted]" {
		t.Errorf("Text = %q", got)
	}
}

func FuzzSummarizeBody(f *testing.F) {
	f.Add(502, "text/html", []byte(nginx502))
	f.Add(500, "", []byte("<title>a &lt;b&gt;</title>"))
	f.Add(200, "application/json", []byte(`{"error":{"message":"x"}}`))
	f.Add(503, "text/plain; charset=utf-8", []byte("plain\x1b[0m text\xff\xfe"))
	f.Add(0, "image/png", []byte("\x89PNG\x00"))
	f.Add(404, "", []byte("<!-- <title>x</title> --><script><title>y</title></script>"))
	f.Add(500, "text/xml", []byte("<![CDATA[<b>x</b>]]><a>&#60;script&#62;</a>"))
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		s := BodySummary(ct, body)
		if strings.ContainsRune(s, '<') {
			t.Fatalf("summary %q contains '<'", s)
		}
		if len(s) > SummaryMax || !utf8.ValidString(s) {
			t.Fatalf("summary %q: %d bytes, valid UTF-8 %v", s, len(s), utf8.ValidString(s))
		}
		for _, r := range s {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Fatalf("summary %q contains %U", s, r)
			}
		}
		if again := BodySummary("", []byte(s)); again != s {
			t.Fatalf("summary %q summarises to %q", s, again)
		}
		full := SummarizeBody(status, ct, body)
		if strings.ContainsRune(full, '<') {
			t.Fatalf("SummarizeBody = %q contains '<'", full)
		}
		if e := (&StatusError{Code: status, Body: string(body)}).Error(); strings.ContainsRune(e, '<') {
			t.Fatalf("StatusError = %q contains '<'", e)
		}
	})
}
