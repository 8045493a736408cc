package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/reglock/reglock/client"
)

//go:embed templates/*.html templates/console.css
var files embed.FS

// style is the console's whole stylesheet, inlined in every page; the
// Content-Security-Policy allows it by its hash, and nothing else.
var style = func() string {
	b, err := files.ReadFile("templates/console.css")
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// csp allows the inline stylesheet and this origin's forms; no script, no
// frame, nothing from elsewhere.
var csp = func() string {
	sum := sha256.Sum256([]byte(style))
	return "default-src 'none'; style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
}()

// pages are the templates, each the layout with one page's "content".
var pages = func() map[string]*template.Template {
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html"))
	out := map[string]*template.Template{}
	for _, name := range []string{"login", "notfound", "overview", "domains", "domain", "drift", "sweeps", "sweep", "failed", "reopen"} {
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(files, "templates/"+name+".html"))
	}
	return out
}()

// view is what the layout renders around a page.
type view struct {
	Title string
	// Nav is the menu entry to mark current.
	Nav string
	// Bare leaves out the menu and the search (the sign-in page).
	Bare bool
	// SignedIn shows "Sign out": the token is in the cookie.
	SignedIn bool
	// Refresh is a console URL the page opens at once.
	Refresh string
	// Search fills the search box.
	Search string
	CSS    template.CSS
	Page   any
}

// render writes a page; the whole page is rendered before anything is
// written, so that a template error is a clean 500.
func (c *Console) render(w http.ResponseWriter, status int, name string, v view) {
	v.CSS = template.CSS(style)
	var buf bytes.Buffer
	if err := pages[name].ExecuteTemplate(&buf, "layout", v); err != nil {
		http.Error(w, "console: the page could not be rendered: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// problem is an error box: what the API answered instead of the data.
type problem struct {
	Status  int
	Code    string
	Message string
}

func problemOf(err error) *problem {
	if err == nil {
		return nil
	}
	var ae *client.Error
	if errors.As(err, &ae) {
		return &problem{Status: ae.Status, Code: ae.Code, Message: ae.Message}
	}
	return &problem{Status: http.StatusBadGateway, Code: "api_failed", Message: err.Error()}
}

// status is the HTTP status of a page whose main read failed with p.
func (p *problem) status() int {
	if p == nil {
		return http.StatusOK
	}
	if p.Status >= 400 && p.Status < 600 {
		return p.Status
	}
	return http.StatusBadGateway
}

var funcs = template.FuncMap{
	// when is a time in UTC, or "—".
	"when": func(t any) string {
		var tm time.Time
		switch t := t.(type) {
		case time.Time:
			tm = t
		case *time.Time:
			if t != nil {
				tm = *t
			}
		}
		if tm.IsZero() {
			return "—"
		}
		return tm.UTC().Format("2006-01-02 15:04:05") + " UTC"
	},
	// lock is a lock state: locked, unlocked, or unknown (never read).
	"lock": func(b any) string {
		switch b := b.(type) {
		case bool:
			if b {
				return "locked"
			}
			return "unlocked"
		case *bool:
			if b == nil {
				return "unknown"
			}
			if *b {
				return "locked"
			}
			return "unlocked"
		}
		return "unknown"
	},
	"onoff": func(b *bool) string {
		if b == nil {
			return "not managed"
		}
		if *b {
			return "on"
		}
		return "off"
	},
	// pending is a trade lock setting not yet applied at the registrar.
	"pending": func(applied *bool) bool { return applied != nil && !*applied },
	"str": func(s *string) string {
		if s == nil {
			return ""
		}
		return *s
	},
	// share is part of whole as a percentage.
	"share": func(part, whole int64) string {
		if whole == 0 {
			return "—"
		}
		return fmt.Sprintf("%.1f%%", 100*float64(part)/float64(whole))
	},
	"ratio": func(part, whole int64) float64 {
		if whole == 0 {
			return 0
		}
		return float64(part) / float64(whole)
	},
	"domainURL": func(d string) string { return "/console/domains/" + url.PathEscape(d) },
	"sweepURL":  func(id string) string { return "/console/sweeps/" + url.PathEscape(id) },
	"driftURL":  func(p string) string { return "/console/drift?" + url.Values{"provider": {p}}.Encode() },
}
