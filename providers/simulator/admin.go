package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// The simulator's own controls, for operators and tests that run it as a
// separate process (`reglock simulate`). Bodies and answers are JSON;
// GET /_sim/ lists these routes from adminTable, which registers them:
//
//	GET  /_sim/                                         this list (?format=text: a table)
//	GET  /_sim/domains/{name}                           a domain's state and counters
//	PUT  /_sim/domains/{name}/lock                      {"locked": bool}: drift behind reglock's back
//	PUT  /_sim/domains/{name}/pending                   {"pending": bool}
//	POST /_sim/accounts/{kind}/{user}/faults            {"fail_next": 3, "fault": "unavailable", "latency": "100ms"}
//	GET  /_sim/log?since=SEQ&limit=N                    the request log
//	GET  /_sim/stats                                    calls per registrar and command, busiest second per account
//	POST /_sim/stats/reset                              start counting afresh
func (s *Simulator) adminRoutes(mux *http.ServeMux) {
	for _, rt := range adminTable() {
		pattern := rt.path
		if strings.HasSuffix(pattern, "/") {
			pattern += "{$}" // the path itself, not everything below it
		}
		handle := rt.handle
		mux.HandleFunc(rt.method+" "+pattern, func(w http.ResponseWriter, r *http.Request) { handle(s, w, r) })
	}
}

// adminRoute is one control under /_sim.
type adminRoute struct {
	method string
	// path is as http.ServeMux reads it; one that ends in "/" means that
	// path only.
	path string
	// body is an example of the JSON body it takes, "" for none.
	body string
	doc  string
	// handle takes the Simulator as an argument, so that the table is
	// built without one.
	handle func(s *Simulator, w http.ResponseWriter, r *http.Request)
}

// adminTable is every /_sim route: it registers them and GET /_sim/ lists
// them, so the list cannot miss one.
func adminTable() []adminRoute {
	return []adminRoute{
		{"GET", "/_sim/", "", "this list of the simulator's controls (?format=text: a table)", (*Simulator).adminIndex},
		{"GET", "/_sim/domains/{name}", "", "a domain's state and counters", (*Simulator).adminDomain},
		{"PUT", "/_sim/domains/{name}/lock", `{"locked": false}`, "drift: change the registrar lock behind reglock's back", (*Simulator).adminSetLock},
		{"PUT", "/_sim/domains/{name}/pending", `{"pending": true}`, "put the domain in or out of a pending state in which the registry refuses changes", (*Simulator).adminSetPending},
		{"POST", "/_sim/accounts/{kind}/{user}/faults", `{"fail_next": 3, "fault": "unavailable", "latency": "100ms"}`, `make the account's next calls fail ("fail_next": 0 clears) and set its latency`, (*Simulator).adminFaults},
		{"GET", "/_sim/log", "", "the request log (?since=SEQ&limit=N)", (*Simulator).adminLog},
		{"GET", "/_sim/stats", "", "calls per registrar and command, busiest second per account", func(s *Simulator, w http.ResponseWriter, _ *http.Request) { adminJSON(w, 200, s.Stats()) }},
		{"POST", "/_sim/stats/reset", "", "start counting afresh", func(s *Simulator, w http.ResponseWriter, _ *http.Request) {
			s.ResetStats()
			adminJSON(w, 200, map[string]bool{"reset": true})
		}},
	}
}

// AdminRoute is one /_sim control as GET /_sim/ lists it.
type AdminRoute struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Body is an example of the JSON body the route takes.
	Body        string `json:"body,omitempty"`
	Description string `json:"description"`
}

// AdminRoutes lists the simulator's controls under /_sim.
func AdminRoutes() []AdminRoute {
	table := adminTable()
	out := make([]AdminRoute, len(table))
	for i, rt := range table {
		out[i] = AdminRoute{Method: rt.method, Path: rt.path, Body: rt.body, Description: rt.doc}
	}
	return out
}

// adminIndex answers GET /_sim/: JSON, or a plain-text table for ?format=text
// and for browsers.
func (s *Simulator) adminIndex(w http.ResponseWriter, r *http.Request) {
	routes := AdminRoutes()
	if r.URL.Query().Get("format") != "text" && !strings.Contains(r.Header.Get("Accept"), "text/html") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"routes": routes})
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "reglock registrar simulator: controls")
	for _, rt := range routes {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", rt.Method, rt.Path, rt.Description)
		if rt.Body != "" {
			fmt.Fprintf(tw, "\t\tbody: %s\n", rt.Body)
		}
	}
	tw.Flush()
}

// DomainInfo is a domain as the simulator holds it.
type DomainInfo struct {
	Name    string `json:"name"`
	Kind    Kind   `json:"kind"`
	Account string `json:"account"`
	Locked  bool   `json:"locked"`
	Pending bool   `json:"pending"`
	Reads   int    `json:"reads"`
	Writes  int    `json:"writes"`
	// TradeLock is the last trade lock setting received (OpenSRS).
	TradeLock *TradeInfo `json:"trade_lock,omitempty"`
}

// TradeInfo is a trade lock setting with its consent IP.
type TradeInfo struct {
	Enable    bool   `json:"enable"`
	ConsentIP string `json:"consent_ip"`
}

// Domain returns a domain's state, and whether it exists.
func (s *Simulator) Domain(name string) (DomainInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.domains[name]
	if !ok {
		return DomainInfo{}, false
	}
	info := DomainInfo{Name: d.name, Kind: d.account.kind, Account: d.account.user, Locked: d.locked,
		Pending: d.pending, Reads: d.reads, Writes: d.writes}
	if d.ee != nil {
		info.Locked = s.eeLocked(d)
	}
	if d.trade.set {
		info.TradeLock = &TradeInfo{Enable: d.trade.enable, ConsentIP: d.trade.ip}
	}
	return info, true
}

func (s *Simulator) adminDomain(w http.ResponseWriter, r *http.Request) {
	info, ok := s.Domain(r.PathValue("name"))
	if !ok {
		adminError(w, 404, "no such domain")
		return
	}
	adminJSON(w, 200, info)
}

func (s *Simulator) adminSetLock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Locked *bool `json:"locked"`
	}
	if err := adminDecode(r, &body); err != nil || body.Locked == nil {
		adminError(w, 400, `want {"locked": true|false}`)
		return
	}
	if !s.SetLocked(r.PathValue("name"), *body.Locked) {
		adminError(w, 404, "no such domain")
		return
	}
	s.adminDomain(w, r)
}

func (s *Simulator) adminSetPending(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Pending *bool `json:"pending"`
	}
	if err := adminDecode(r, &body); err != nil || body.Pending == nil {
		adminError(w, 400, `want {"pending": true|false}`)
		return
	}
	if !s.SetPending(r.PathValue("name"), *body.Pending) {
		adminError(w, 404, "no such domain")
		return
	}
	s.adminDomain(w, r)
}

// adminAccount returns the account the path names, or answers 404.
func (s *Simulator) adminAccount(w http.ResponseWriter, r *http.Request) *Account {
	s.mu.RLock()
	a := s.accounts[accountKey{Kind(r.PathValue("kind")), r.PathValue("user")}]
	s.mu.RUnlock()
	if a == nil {
		adminError(w, 404, "no such account")
	}
	return a
}

func (s *Simulator) adminFaults(w http.ResponseWriter, r *http.Request) {
	a := s.adminAccount(w, r)
	if a == nil {
		return
	}
	var body struct {
		// FailNext is a pointer: 0, which clears the faults still to come,
		// is not the same as leaving them alone.
		FailNext *int   `json:"fail_next"`
		Fault    Fault  `json:"fault"`
		Latency  string `json:"latency"`
	}
	if err := adminDecode(r, &body); err != nil {
		adminError(w, 400, "bad JSON: "+err.Error())
		return
	}
	// Everything is checked before anything changes.
	var latency time.Duration
	if body.Latency != "" {
		d, err := time.ParseDuration(body.Latency)
		if err != nil || d < 0 {
			adminError(w, 400, "latency: want a duration such as 100ms")
			return
		}
		latency = d
	}
	switch body.Fault {
	case "", FaultUnavailable, FaultBusy, FaultError, FaultMalformed, FaultDrop, FaultRateLimited, FaultHuge, FaultFalseUnlocked:
	default:
		adminError(w, 400, "fault: want unavailable, busy, error, malformed, drop, rate_limited, huge or false_unlocked")
		return
	}
	switch {
	case body.FailNext == nil && body.Fault != "":
		adminError(w, 400, `fault: say how many calls fail with "fail_next"`)
		return
	case body.FailNext != nil && *body.FailNext < 0:
		adminError(w, 400, `fail_next: want 0 (clear) or more`)
		return
	case body.FailNext != nil && *body.FailNext > 0 && body.Fault == "":
		adminError(w, 400, "fault: name the fault the calls fail with")
		return
	}
	if body.Latency != "" {
		a.SetLatency(latency)
	}
	if body.FailNext != nil {
		f := body.Fault
		if *body.FailNext == 0 {
			f = ""
		}
		a.FailNext(*body.FailNext, f)
	}
	n, f, lat := a.faults()
	adminJSON(w, 200, map[string]any{"account": a.user, "kind": a.kind, "calls": a.Calls(),
		"fail_next": n, "fault": f, "latency": lat.String()})
}

func (s *Simulator) adminLog(w http.ResponseWriter, r *http.Request) {
	since, _ := strconv.ParseUint(r.URL.Query().Get("since"), 10, 64)
	limit, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || limit <= 0 {
		limit = 1000
	}
	out := []Request{}
	for _, req := range s.Log() {
		if req.Seq > since {
			out = append(out, req)
			if len(out) == limit {
				break
			}
		}
	}
	adminJSON(w, 200, map[string]any{"requests": out})
}

// adminDecode reads a JSON body, refusing fields it does not know: a
// misspelt control must not pass for an empty one.
func adminDecode(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func adminError(w http.ResponseWriter, status int, msg string) {
	adminJSON(w, status, map[string]string{"error": msg})
}

func adminJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
