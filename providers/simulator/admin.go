package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/net/idna"
)

// The simulator's own controls, for operators and tests that run it as a
// separate process (`reglock simulate`). Bodies and answers are JSON;
// GET /_sim/ lists these routes from adminTable, which registers them:
//
//	GET  /_sim/                                         this list (?format=text: a table)
//	GET  /_sim/domains/{name}                           a domain's state and counters
//	PUT  /_sim/domains/{name}/lock                      {"locked": bool}: drift behind reglock's back
//	PUT  /_sim/domains/{name}/pending                   {"pending": bool}
//	PUT  /_sim/domains/{name}/registry-lock             {"locked": bool}: the registry's own lock set or lifted
//	POST /_sim/domains/{name}/transfer-away             the domain leaves its account now
//	POST /_sim/domains/{name}/transfer-away/start       a transfer away begins and stays pending
//	POST /_sim/domains/{name}/transfer-away/complete    the pending transfer completes: the domain leaves
//	POST /_sim/domains/{name}/transfer-away/cancel      the pending transfer is cancelled
//	POST /_sim/accounts/{kind}/{user}/domains           {"name": "example.com", "locked": false}: register
//	POST /_sim/accounts/{kind}/{user}/transfer-in       {"name": "example.com", "locked": false}: transfer in
//	POST /_sim/accounts/{kind}/{user}/faults            {"fail_next": 3, "fault": "unavailable", "latency": "100ms"}
//	PUT  /_sim/domains/{name}/rdap-disagree             {"disagree": true}: RDAP shows the opposite of the registrar lock
//	PUT  /_sim/rdap                                     {"lag": "5m", "rate_limit_next": 2}: RDAP's lag and next 429s
//	GET  /_sim/log?since=SEQ&limit=N                    the request log
//	GET  /_sim/stats                                    calls per registrar and command, busiest second per account
//	POST /_sim/stats/reset                              start counting afresh
//
// The domain routes and the account routes that add a domain answer the
// domain (DomainInfo; a transfer away answers it as it left, with
// "transferred_away": true); errors are {"error": "..."} with 400 for a
// bad body, 404 for an unknown domain or account, 409 for an event the
// domain's state refuses (ErrRegistered, ErrHeld, ErrTransferLocked,
// ErrNoTransfer).
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
		{"PUT", "/_sim/domains/{name}/registry-lock", `{"locked": true}`, "set or lift the registry's own lock, which the account cannot lift", (*Simulator).adminRegistryLock},
		{"POST", "/_sim/domains/{name}/transfer-away", "", "transfer the domain away now: it leaves its account (it must be unlocked unless a transfer is pending)", adminEvent((*Simulator).TransferAway)},
		{"POST", "/_sim/domains/{name}/transfer-away/start", "", "start a transfer away that stays pending (the domain must be unlocked)", adminEvent((*Simulator).StartTransferAway)},
		{"POST", "/_sim/domains/{name}/transfer-away/complete", "", "complete the pending transfer away: the domain leaves its account", adminEvent((*Simulator).CompleteTransferAway)},
		{"POST", "/_sim/domains/{name}/transfer-away/cancel", "", "cancel the pending transfer away", adminEvent((*Simulator).CancelTransferAway)},
		{"POST", "/_sim/accounts/{kind}/{user}/domains", `{"name": "example.com", "locked": false}`, "register a new domain in the account (unlocked unless locked is true)", adminArrival((*Account).Register)},
		{"POST", "/_sim/accounts/{kind}/{user}/transfer-in", `{"name": "example.com", "locked": false}`, "transfer a domain in to the account, with a new WHMCS domainid or .ee UUID", adminArrival((*Account).TransferIn)},
		{"POST", "/_sim/accounts/{kind}/{user}/faults", `{"fail_next": 3, "fault": "unavailable", "latency": "100ms"}`, `make the account's next calls fail ("fail_next": 0 clears) and set its latency`, (*Simulator).adminFaults},
		{"PUT", "/_sim/domains/{name}/rdap-disagree", `{"disagree": true}`, "make RDAP report the opposite of the domain's registrar lock (false: the truth)", (*Simulator).adminRDAPDisagree},
		{"PUT", "/_sim/rdap", `{"lag": "5m", "rate_limit_next": 2}`, `RDAP answers the state as it was "lag" ago ("0s": no lag); the next "rate_limit_next" RDAP requests answer 429`, (*Simulator).adminRDAP},
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
	// RegistrarID is the registrar's own identifier of the domain where
	// its protocol has one: WHMCS's domainid, the .ee UUID.
	RegistrarID string `json:"registrar_id,omitempty"`
	Locked      bool   `json:"locked"`
	// Pending is a pending state in which the registry refuses changes:
	// SetPending's, or a transfer away in progress.
	Pending bool `json:"pending"`
	// TransferPending is a transfer away started and neither completed nor
	// cancelled.
	TransferPending bool `json:"transfer_pending"`
	// RegistryLocked is the registry's own lock (SetRegistryLock).
	RegistryLocked bool `json:"registry_locked"`
	// TransferredAway is set only in the answer of a transfer away: the
	// domain as it left.
	TransferredAway bool `json:"transferred_away,omitempty"`
	Reads           int  `json:"reads"`
	Writes          int  `json:"writes"`
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
	return s.info(d), true
}

// info is d's DomainInfo. The caller holds s.mu.
func (s *Simulator) info(d *domain) DomainInfo {
	info := DomainInfo{Name: d.name, Kind: d.account.kind, Account: d.account.user, RegistrarID: d.registrarID(),
		Locked: d.locked, Pending: d.busy(), TransferPending: d.transferPending, RegistryLocked: d.registryLocked,
		Reads: d.reads, Writes: d.writes}
	if d.ee != nil {
		info.Locked = s.eeLocked(d)
	}
	if d.trade.set {
		info.TradeLock = &TradeInfo{Enable: d.trade.enable, ConsentIP: d.trade.ip}
	}
	return info
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

func (s *Simulator) adminRegistryLock(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Locked *bool `json:"locked"`
	}
	if err := adminDecode(r, &body); err != nil || body.Locked == nil {
		adminError(w, 400, `want {"locked": true|false}`)
		return
	}
	info, err := s.SetRegistryLock(r.PathValue("name"), *body.Locked)
	adminAnswer(w, 200, info, err)
}

// adminEvent serves a life event of the domain the path names.
func adminEvent(event func(s *Simulator, name string) (DomainInfo, error)) func(*Simulator, http.ResponseWriter, *http.Request) {
	return func(s *Simulator, w http.ResponseWriter, r *http.Request) {
		info, err := event(s, r.PathValue("name"))
		adminAnswer(w, 200, info, err)
	}
}

// adminArrival serves a domain's arrival in the account the path names:
// {"name": "...", "locked": bool}, the name in any case, as a U-label or
// A-label.
func adminArrival(event func(a *Account, name string, locked bool) (DomainInfo, error)) func(*Simulator, http.ResponseWriter, *http.Request) {
	return func(s *Simulator, w http.ResponseWriter, r *http.Request) {
		a := s.adminAccount(w, r)
		if a == nil {
			return
		}
		var body struct {
			Name   string `json:"name"`
			Locked bool   `json:"locked"`
		}
		if err := adminDecode(r, &body); err != nil {
			adminError(w, 400, `want {"name": "example.com", "locked": false}: `+err.Error())
			return
		}
		name, err := adminDomainName(body.Name)
		if err != nil {
			adminError(w, 400, "name: "+err.Error())
			return
		}
		info, err := event(a, name, body.Locked)
		adminAnswer(w, http.StatusCreated, info, err)
	}
}

// adminDomainName is a domain as the inventory keys it: the lowercase
// A-label without a trailing dot.
func adminDomainName(raw string) (string, error) {
	name, err := idna.Lookup.ToASCII(strings.TrimSuffix(strings.TrimSpace(raw), "."))
	switch {
	case err != nil:
		return "", err
	case !strings.Contains(name, "."):
		return "", fmt.Errorf("%q is not a domain name", raw)
	}
	return name, nil
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

// adminAnswer answers a life event: the domain with status, or its error.
func adminAnswer(w http.ResponseWriter, status int, info DomainInfo, err error) {
	switch {
	case errors.Is(err, ErrNoDomain):
		adminError(w, 404, "no such domain")
	case err != nil:
		adminError(w, 409, err.Error())
	default:
		adminJSON(w, status, info)
	}
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

func (s *Simulator) adminRDAPDisagree(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Disagree *bool `json:"disagree"`
	}
	if err := adminDecode(r, &body); err != nil || body.Disagree == nil {
		adminError(w, 400, `want {"disagree": true|false}`)
		return
	}
	name := strings.ToLower(r.PathValue("name"))
	s.SetRDAPDisagree(name, *body.Disagree)
	adminJSON(w, 200, map[string]any{"name": name, "rdap_disagree": *body.Disagree})
}

func (s *Simulator) adminRDAP(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Lag           *string `json:"lag"`
		RateLimitNext *int    `json:"rate_limit_next"`
	}
	if err := adminDecode(r, &body); err != nil {
		adminError(w, 400, "bad JSON: "+err.Error())
		return
	}
	var lag time.Duration
	if body.Lag != nil {
		d, err := time.ParseDuration(*body.Lag)
		if err != nil || d < 0 {
			adminError(w, 400, "lag: want a duration such as 5m")
			return
		}
		lag = d
	}
	if body.RateLimitNext != nil && *body.RateLimitNext < 0 {
		adminError(w, 400, "rate_limit_next: want 0 (clear) or more")
		return
	}
	if body.Lag != nil {
		s.SetRDAPLag(lag)
	}
	if body.RateLimitNext != nil {
		s.SetRDAPRateLimit(*body.RateLimitNext)
	}
	s.rdap.mu.Lock()
	out := map[string]any{"lag": s.rdap.lag.String(), "rate_limit_next": s.rdap.limited}
	s.rdap.mu.Unlock()
	adminJSON(w, 200, out)
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
