package providers

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// SummaryMax is the most an error message quotes of a body, in bytes.
const SummaryMax = 120

// summaryScan bounds how much of a body the summariser looks at: an error
// page's title sits in its first kilobytes.
const summaryScan = 64 << 10

// SummarizeBody describes an HTTP answer for an error message, as asynqmon
// and the domain's record show it: its status and what the body says, never
// the body itself:
//
//	HTTP 502 Bad Gateway: "502 Bad Gateway - upstream timed out"
//
// The quote is BodySummary's: the <title> of an HTML page, the text of
// other markup, or the start of a text body, at most SummaryMax bytes,
// without control characters and without '<' (so without tags). A status
// of 0 leaves the status out. An adapter applies it through its Redactor
// (Redactor.SummarizeBody), which removes the credentials before and after.
func SummarizeBody(status int, contentType string, body []byte) string {
	return summarize(status, BodySummary(contentType, body))
}

// summarize is SummarizeBody of a body already summarised.
func summarize(status int, summary string) string {
	var b strings.Builder
	if status != 0 {
		b.WriteString("HTTP " + strconv.Itoa(status))
		if t := http.StatusText(status); t != "" {
			b.WriteString(" " + t)
		}
	}
	if summary != "" {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(strconv.Quote(summary))
	}
	return b.String()
}

// BodySummary is what an error message may say of a body: the <title> of
// an HTML page (else its text), the text of other markup, the message of
// a JSON error object, the start of a text body, or its size for a binary
// one; at most SummaryMax bytes, with
// control and formatting characters removed, whitespace collapsed and
// '<' and '>' replaced by '‹' and '›', so that no tag survives. "" for an
// empty body. A summary summarises to itself.
func BodySummary(contentType string, body []byte) string {
	total := len(body)
	if len(body) > summaryScan {
		body = body[:summaryScan]
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return ""
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if binary(mt, body) {
		if mt == "" {
			mt = "binary data"
		}
		return clean(strconv.Itoa(total) + " bytes of " + mt)
	}
	if t := bytes.TrimSpace(body); strings.Contains(mt, "json") || t[0] == '{' {
		if m := jsonMessage(t); m != "" {
			return m
		}
	}
	if strings.Contains(mt, "html") || strings.Contains(mt, "xml") || bytes.IndexByte(body, '<') >= 0 {
		title, text := markupText(body)
		if title != "" {
			return title
		}
		return text
	}
	return clean(string(body))
}

// jsonKeys are the members that carry a JSON error body's message, in
// order of preference: RFC 9457's title and detail, and the usual others.
var jsonKeys = []string{"title", "message", "error_description", "error", "detail", "errors", "msg"}

// jsonMessage is the cleaned message of a JSON error object, or "".
func jsonMessage(body []byte) string {
	var obj map[string]any
	if json.Unmarshal(body, &obj) != nil {
		return ""
	}
	return clean(messageOf(obj, 0))
}

// messageOf finds a message in v: a string, the first message of a list,
// or a message member of an object (error: {message: ...}).
func messageOf(v any, depth int) string {
	if depth > 3 {
		return ""
	}
	switch v := v.(type) {
	case string:
		return v
	case []any:
		for _, e := range v {
			if m := messageOf(e, depth+1); strings.TrimSpace(m) != "" {
				return m
			}
		}
	case map[string]any:
		for _, k := range jsonKeys {
			if m := messageOf(v[k], depth+1); strings.TrimSpace(m) != "" {
				return m
			}
		}
	}
	return ""
}

// binary reports a body that is not text: by its media type, or by a NUL
// or mostly invalid UTF-8 in its start.
func binary(mt string, body []byte) bool {
	switch {
	case strings.HasPrefix(mt, "image/"), strings.HasPrefix(mt, "audio/"), strings.HasPrefix(mt, "video/"),
		mt == "application/octet-stream", mt == "application/pdf", mt == "application/zip", mt == "application/gzip":
		return true
	}
	head := body[:min(len(body), 512)]
	if bytes.IndexByte(head, 0) >= 0 {
		return true
	}
	bad := 0
	for len(head) > 0 {
		r, n := utf8.DecodeRune(head)
		if r == utf8.RuneError && n <= 1 && len(head) >= utf8.UTFMax {
			bad++
		}
		head = head[n:]
	}
	return bad > 8
}

// markupText reads HTML or XML: the cleaned text of its first <title>,
// and the cleaned text outside <title>, <script>, <style> and comments.
func markupText(body []byte) (title, text string) {
	z := html.NewTokenizer(bytes.NewReader(body))
	z.SetMaxBuf(summaryScan)
	var inTitle, titled bool
	var skip int // depth in <script> or <style>
	var tb, xb strings.Builder
	for tb.Len() < 4*SummaryMax && xb.Len() < 8*SummaryMax {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return clean(tb.String()), clean(xb.String())
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch strings.ToLower(string(name)) {
			case "title":
				switch {
				case tt == html.StartTagToken && !titled:
					inTitle, titled = true, true
				case tt == html.EndTagToken && inTitle:
					inTitle = false
					if t := clean(tb.String()); t != "" {
						return t, "" // the first title is the page's
					}
				}
			case "script", "style":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			}
			xb.WriteByte(' ')
		case html.TextToken:
			t := z.Text() // entities decoded
			switch {
			case inTitle:
				tb.Write(t)
			case skip == 0:
				xb.Write(t)
			}
		}
	}
	return clean(tb.String()), clean(xb.String())
}

// clean makes text fit an error message: valid UTF-8, no control or
// formatting characters (line breaks, escapes, bidirectional overrides),
// whitespace collapsed, '<' and '>' replaced, at most SummaryMax bytes
// with "…" where it was cut. Clean text cleans to itself.
func clean(s string) string { return cleanMax(s, SummaryMax) }

// cleanMax is clean with another limit.
func cleanMax(s string, limit int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '<':
			return '‹'
		case r == '>':
			return '›'
		case unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if len(s) <= limit {
		return s
	}
	const ellipsis = "…"
	cut := limit - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strings.TrimRight(s[:cut], " ") + ellipsis
}

// SummarizeBody is providers.SummarizeBody with the credentials removed
// from the body before it is summarised and from the summary after (a
// credential split by markup or control characters comes together again
// only there). Every adapter describes an answer through it.
func (r *Redactor) SummarizeBody(status int, contentType string, body []byte) string {
	return summarize(status, r.BodySummary(contentType, body))
}

// BodySummary is providers.BodySummary with the credentials removed, for
// a *StatusError's Body.
func (r *Redactor) BodySummary(contentType string, body []byte) string {
	if r == nil {
		return BodySummary(contentType, body)
	}
	return clean(r.Redact(BodySummary(contentType, []byte(r.Redact(string(body))))))
}

// TextMax is the most Redactor.Text keeps of a message, in bytes.
const TextMax = 200

// Text makes a message that may quote the answer (a parser's complaint)
// fit an error: credentials removed, then cleaned as BodySummary cleans
// (no control characters, '<' and '>' replaced), at most TextMax bytes. It
// strips no markup: a parser's "root element is <html>" keeps its word.
func (r *Redactor) Text(s string) string {
	return cleanMax(r.Redact(cleanMax(r.Redact(s), 4*TextMax)), TextMax)
}
