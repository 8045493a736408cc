package api

import (
	"html/template"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/reglock/reglock/breaker"
)

// The endpoints that need no token: the front page, /healthz, /readyz and
// /metrics.

// link is one entry of the front page.
type link struct {
	Name string `json:"name"`
	Path string `json:"path"`
	What string `json:"what"`
}

// links are what the front page points to: everything this handler serves
// (full: the API; otherwise a worker's or scheduler's probes).
func (s *Server) links(full bool) []link {
	var out []link
	if full {
		if s.Console != nil {
			out = append(out, link{"console", "/console", "the read-only web console (sign in with a token)"})
		}
		if s.Monitoring != nil {
			out = append(out, link{"monitoring", "/monitoring/", "asynqmon: queues and tasks (the token as password)"})
		}
		out = append(out, link{"openapi", "/v1/openapi.json", "the HTTP API's OpenAPI document (a read token)"})
	}
	out = append(out, link{"healthz", "/healthz", "liveness"}, link{"readyz", "/readyz", "readiness, with the registrars' circuit breakers"})
	if s.Metrics != nil {
		out = append(out, link{"metrics", "/metrics", "Prometheus metrics"})
	}
	return out
}

var frontPage = template.Must(template.New("front").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>reglock</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40em;margin:2em auto;padding:0 1em}code{font-size:90%}</style>
</head>
<body>
<h1>reglock</h1>
<p>{{if .Full}}Keeps domain names locked (or deliberately unlocked) at their registrars. The API is under <code>/v1</code>, with a bearer token.{{else}}A reglock worker or scheduler: only its probes and metrics are served here.{{end}}</p>
<ul>
{{range .Links}}<li><a href="{{.Path}}">{{.Path}}</a>: {{.What}}</li>
{{end}}</ul>
</body>
</html>
`))

// front answers GET /: a small HTML page for a browser, the same links as
// JSON for anyone else.
func (s *Server) front(full bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		links := s.links(full)
		w.Header().Add("Vary", "Accept")
		if !acceptsHTML(r.Header.Values("Accept")) {
			out := map[string]any{"service": "reglock", "links": links}
			if full {
				out["api"] = "/v1"
			}
			writeJSON(w, http.StatusOK, out)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		_ = frontPage.Execute(w, struct {
			Full  bool
			Links []link
		}{full, links})
	}
}

// acceptsHTML reports whether an Accept header asks for text/html more
// than for JSON: a browser does, curl's */* does not.
func acceptsHTML(values []string) bool {
	html, json := -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			q := 1.0
			if qs, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(qs, 64); err == nil {
					q = f
				}
			}
			switch mt {
			case "text/html", "application/xhtml+xml":
				html = max(html, q)
			case "application/json":
				json = max(json, q)
			}
		}
	}
	return html > 0 && html >= json
}

// registrarStatus is a breaker as /readyz shows it: the times only when
// they are set (a breaker that never opened has no since; a closed one no
// until).
type registrarStatus struct {
	State  string    `json:"state"`
	Reason string    `json:"reason,omitempty"`
	Since  time.Time `json:"since,omitzero"`
	Until  time.Time `json:"until,omitzero"`
}

func registrarStatuses(all map[string]breaker.Status) map[string]registrarStatus {
	out := make(map[string]registrarStatus, len(all))
	for account, st := range all {
		rs := registrarStatus{State: st.State, Reason: st.Reason, Since: st.Since, Until: st.Until}
		if rs.Since.Unix() <= 0 { // the zero time, or the epoch of a record without one
			rs.Since = time.Time{}
		}
		if rs.Until.Unix() <= 0 {
			rs.Until = time.Time{}
		}
		out[account] = rs
	}
	return out
}
