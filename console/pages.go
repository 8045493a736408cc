package console

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/reglock/reglock/client"
)

const (
	// recentSweeps is how many sweeps the overview lists.
	recentSweeps = 10
	// driftPreview is how many drifted domains of each provider the drift
	// page shows before "all of them".
	driftPreview = 10
	// searchScan is how many domains a substring search reads per page:
	// the API's largest page.
	searchScan = 1000
	// reportRows is how many entries of a sweep report the page shows; the
	// CSV has them all.
	reportRows = 1000
)

// result is what a page produced: a page to render, or where to go.
type result struct {
	status   int
	name     string
	view     view
	redirect string
}

// page serves a page to a visitor the API accepts.
func (c *Console) page(load func(*visit) result) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, ok := c.open(w, r)
		if !ok {
			return
		}
		res := load(v)
		if v.refused.Load() {
			c.refused(w, v)
			return
		}
		if res.redirect != "" {
			http.Redirect(w, r, res.redirect, http.StatusSeeOther)
			return
		}
		res.view.SignedIn = v.source == fromCookie
		if res.status == 0 {
			res.status = http.StatusOK
		}
		c.render(w, res.status, res.name, res.view)
	})
}

// pageURL is a console URL with a query, leaving out empty values.
func pageURL(p string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return p
	}
	return p + "?" + q.Encode()
}

func next(cursor *string) string {
	if cursor == nil {
		return ""
	}
	return *cursor
}

// overviewPage is /console: compliance per provider and the recent sweeps.
type overviewPage struct {
	Compliance    *client.Compliance
	Total         client.ProviderCompliance
	ComplianceErr *problem
	Sweeps        []client.Sweep
	MoreSweeps    bool
	SweepsErr     *problem
}

func (c *Console) overview(v *visit) result {
	var p overviewPage
	comp, err := v.api.Compliance(v.ctx())
	if p.ComplianceErr = problemOf(err); err == nil {
		p.Compliance = &comp
		p.Total = total(comp.Providers)
	}
	list, err := v.api.Sweeps(v.ctx(), "", "")
	if p.SweepsErr = problemOf(err); err == nil {
		p.Sweeps, p.MoreSweeps = list.Sweeps, list.NextCursor != nil
		if len(p.Sweeps) > recentSweeps {
			p.Sweeps, p.MoreSweeps = p.Sweeps[:recentSweeps], true
		}
	}
	return result{name: "overview", view: view{Title: "Overview", Nav: "overview", Page: p}}
}

// total sums the providers' figures.
func total(ps []client.ProviderCompliance) client.ProviderCompliance {
	t := client.ProviderCompliance{Provider: "all providers"}
	for _, p := range ps {
		t.Domains += p.Domains
		t.InDesiredState += p.InDesiredState
		t.Drifted += p.Drifted
		t.InError += p.InError
		t.NeverRead += p.NeverRead
		t.RegistryLocked += p.RegistryLocked
		t.WindowsOpen += p.WindowsOpen
		t.WindowsOverdue += p.WindowsOverdue
		if p.OldestReading != nil && (t.OldestReading == nil || p.OldestReading.Before(*t.OldestReading)) {
			t.OldestReading = p.OldestReading
		}
	}
	return t
}

// providers are the provider names, for the search form's suggestions.
func providers(v *visit) []string {
	comp, err := v.api.Compliance(v.ctx())
	if err != nil {
		return nil
	}
	var out []string
	for _, p := range comp.Providers {
		out = append(out, p.Provider)
	}
	return out
}

// domainsPage is /console/domains: a domain looked up by name, or a page of
// the inventory, filtered by provider and drift (by the API) and by a part
// of the name (by the console, on the page it read).
type domainsPage struct {
	Q         string
	Provider  string
	Drift     bool
	Providers []string
	// Missing is Q, looked up as a domain name and not in the inventory.
	Missing string
	// Scanned is how many domains of the inventory page were searched for Q.
	Scanned int
	Domains []client.Domain
	Next    string
	First   string
	Err     *problem
}

func (c *Console) domains(v *visit) result {
	q := v.r.URL.Query()
	p := domainsPage{Q: strings.TrimSpace(q.Get("q")), Provider: strings.TrimSpace(q.Get("provider"))}
	p.Drift = q.Get("drift") == "true" || q.Get("drift") == "on"
	cursor := q.Get("cursor")
	res := result{name: "domains", view: view{Title: "Domains", Nav: "domains", Search: p.Q}}
	if p.Q != "" && cursor == "" && strings.Contains(p.Q, ".") {
		d, err := v.api.Domain(v.ctx(), p.Q)
		var ae *client.Error
		switch {
		case err == nil:
			res.redirect = "/console/domains/" + url.PathEscape(d.Domain)
			return res
		case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
			p.Missing = p.Q
		case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
			// Not a domain name: a part of one.
		default:
			p.Err = problemOf(err)
		}
	}
	p.Providers = providers(v)
	if p.Err == nil {
		limit := c.pageSize
		if p.Q != "" {
			limit = searchScan
		}
		list, err := v.api.Domains(v.ctx(), client.ListQuery{Provider: p.Provider, Drift: p.Drift, Cursor: cursor, Limit: limit})
		if p.Err = problemOf(err); err == nil {
			needle := strings.ToLower(p.Q)
			p.Scanned = len(list.Domains)
			for _, d := range list.Domains {
				if strings.Contains(d.Domain, needle) {
					p.Domains = append(p.Domains, d)
				}
			}
			drift := ""
			if p.Drift {
				drift = "true"
			}
			if n := next(list.NextCursor); n != "" {
				p.Next = pageURL("/console/domains", "q", p.Q, "provider", p.Provider, "drift", drift, "cursor", n)
			}
			if cursor != "" {
				p.First = pageURL("/console/domains", "q", p.Q, "provider", p.Provider, "drift", drift)
			}
		}
	}
	res.status, res.view.Page = p.Err.status(), p
	return res
}

// domainPage is /console/domains/{domain}: its record and its history.
type domainPage struct {
	Name       string
	D          *client.Domain
	Err        *problem
	History    *client.History
	HistoryErr *problem
	Older      string
	Newest     string
}

func (c *Console) domain(v *visit) result {
	p := domainPage{Name: v.r.PathValue("domain")}
	d, err := v.api.Domain(v.ctx(), p.Name)
	if p.Err = problemOf(err); err == nil {
		p.D, p.Name = &d, d.Domain
	}
	// A domain no longer in the inventory may still have its history.
	if p.Err == nil || p.Err.Status == http.StatusNotFound {
		cursor := v.r.URL.Query().Get("cursor")
		h, err := v.api.History(v.ctx(), p.Name, cursor, c.pageSize)
		switch {
		case err != nil && p.Err == nil:
			p.HistoryErr = problemOf(err)
		case err == nil:
			p.History = &h
			if n := next(h.NextCursor); n != "" {
				p.Older = pageURL("/console/domains/"+url.PathEscape(p.Name), "cursor", n)
			}
			if cursor != "" {
				p.Newest = "/console/domains/" + url.PathEscape(p.Name)
			}
		}
	}
	return result{status: p.Err.status(), name: "domain", view: view{Title: p.Name, Nav: "domains", Page: p}}
}

// driftPage is /console/drift: each provider's domains that are not in
// sync (the API's drift=true): drifted, or not read since their intent.
type driftPage struct {
	Provider string
	Groups   []driftGroup
	// Err is why the providers are not known (the drift is then listed
	// for all of them at once).
	Err *problem
}

// driftGroup is one provider's drifted domains.
type driftGroup struct {
	// Provider is "" for all providers at once.
	Provider string
	// Summary is the provider's compliance figures, when known.
	Summary *client.ProviderCompliance
	Domains []client.Domain
	More    string
	First   string
	Err     *problem
}

func (c *Console) drift(v *visit) result {
	q := v.r.URL.Query()
	p := driftPage{Provider: strings.TrimSpace(q.Get("provider"))}
	res := result{name: "drift", view: view{Title: "Drift", Nav: "drift"}}
	if p.Provider != "" {
		g := driftList(v, p.Provider, q.Get("cursor"), c.pageSize)
		p.Groups, res.status = []driftGroup{g}, g.Err.status()
		res.view.Title = "Drift at " + p.Provider
		res.view.Page = p
		return res
	}
	comp, err := v.api.Compliance(v.ctx())
	if err != nil {
		p.Err = problemOf(err)
		p.Groups = []driftGroup{driftList(v, "", q.Get("cursor"), c.pageSize)}
	} else {
		for _, pc := range comp.Providers {
			g := driftList(v, pc.Provider, "", driftPreview)
			g.Summary = &pc
			if g.More != "" {
				g.More = pageURL("/console/drift", "provider", pc.Provider)
			}
			p.Groups = append(p.Groups, g)
		}
	}
	res.view.Page = p
	return res
}

func driftList(v *visit, provider, cursor string, limit int) driftGroup {
	g := driftGroup{Provider: provider}
	list, err := v.api.Domains(v.ctx(), client.ListQuery{Provider: provider, Drift: true, Cursor: cursor, Limit: limit})
	if g.Err = problemOf(err); err != nil {
		return g
	}
	g.Domains = list.Domains
	if n := next(list.NextCursor); n != "" {
		g.More = pageURL("/console/drift", "provider", provider, "cursor", n)
	}
	if cursor != "" {
		g.First = pageURL("/console/drift", "provider", provider)
	}
	return g
}

// sweepStates are the states the sweep list can be filtered by ("" is any).
var sweepStates = []string{"", "running", "paused", "done"}

// sweepsPage is /console/sweeps.
type sweepsPage struct {
	State  string
	States []string
	Sweeps []client.Sweep
	Next   string
	First  string
	Err    *problem
}

func (c *Console) sweeps(v *visit) result {
	q := v.r.URL.Query()
	p := sweepsPage{State: q.Get("state"), States: sweepStates}
	cursor := q.Get("cursor")
	list, err := v.api.Sweeps(v.ctx(), p.State, cursor)
	if p.Err = problemOf(err); err == nil {
		p.Sweeps = list.Sweeps
		if n := next(list.NextCursor); n != "" {
			p.Next = pageURL("/console/sweeps", "state", p.State, "cursor", n)
		}
		if cursor != "" {
			p.First = pageURL("/console/sweeps", "state", p.State)
		}
	}
	return result{status: p.Err.status(), name: "sweeps", view: view{Title: "Sweeps", Nav: "sweeps", Page: p}}
}

// sweepPage is /console/sweeps/{id}: its progress and its report.
type sweepPage struct {
	ID        string
	S         *client.Sweep
	Err       *problem
	Report    *client.SweepReport
	Outcomes  map[string]int
	Entries   []client.ReportEntry
	Hidden    int
	ReportErr *problem
	CSV       string
}

func (c *Console) sweep(v *visit) result {
	p := sweepPage{ID: v.r.PathValue("id")}
	p.CSV = "/console/sweeps/" + url.PathEscape(p.ID) + "/report.csv"
	s, err := v.api.Sweep(v.ctx(), p.ID)
	if p.Err = problemOf(err); err == nil {
		p.S = &s
		rep, err := v.api.SweepReport(v.ctx(), p.ID)
		if p.ReportErr = problemOf(err); err == nil {
			p.Report, p.Outcomes = &rep, map[string]int{}
			for _, e := range rep.Domains {
				p.Outcomes[e.Outcome]++
			}
			p.Entries = rep.Domains
			if len(p.Entries) > reportRows {
				p.Entries, p.Hidden = p.Entries[:reportRows], len(p.Entries)-reportRows
			}
		}
	}
	return result{status: p.Err.status(), name: "sweep", view: view{Title: "Sweep " + p.ID, Nav: "sweeps", Page: p}}
}

// failedPage is a page that could not be served.
type failedPage struct {
	Problem *problem
}

// reportCSV passes on the API's CSV of a sweep report, as a download.
func (c *Console) reportCSV(w http.ResponseWriter, r *http.Request) {
	v, ok := c.open(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	fail := func(p *problem) {
		c.render(w, p.status(), "failed", view{Title: "Sweep report", Nav: "sweeps", SignedIn: v.source == fromCookie, Page: failedPage{p}})
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet,
		v.api.BaseURL+"/v1/sweeps/"+url.PathEscape(id)+"/report?format=csv", nil)
	if err != nil {
		fail(problemOf(err))
		return
	}
	req.Header.Set("Authorization", "Bearer "+v.token.Reveal())
	req.Header.Set("Accept", "text/csv")
	resp, err := v.api.HTTP.Do(req)
	if err != nil {
		fail(problemOf(err))
		return
	}
	defer resp.Body.Close()
	if v.refused.Load() {
		c.refused(w, v)
		return
	}
	if resp.StatusCode != http.StatusOK {
		fail(answerProblem(resp))
		return
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/csv" {
		fail(&problem{Status: http.StatusBadGateway, Code: "not_csv", Message: "the API answered " + mt + ", not text/csv"})
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+csvName(id)+`"`)
	w.WriteHeader(http.StatusOK)
	_, _ = io.Copy(w, resp.Body)
}

// answerProblem reads the API's error envelope from an answer.
func answerProblem(resp *http.Response) *problem {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if json.Unmarshal(data, &e) == nil && e.Error.Code != "" {
		return &problem{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	return &problem{Status: resp.StatusCode, Code: "http_error", Message: http.StatusText(resp.StatusCode)}
}

// csvName is the download's file name: the sweep ID, with anything that
// does not belong in a file name replaced.
func csvName(id string) string {
	b := []byte(id)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || slices.Contains([]byte("-_.:"), ch)) {
			b[i] = '_'
		}
	}
	return "sweep-" + strings.ReplaceAll(string(b), ":", "_") + "-report.csv"
}
