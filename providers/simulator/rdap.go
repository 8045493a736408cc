package simulator

// RDAP: the registry's public view of the simulator's gTLD domains (.com,
// .net, .org), as a registry's RDAP server shows it (RFC 9083, statuses
// named as RFC 8056 says). .ee is not served: its registry has no RDAP
// service in production.
//
//	GET /rdap/dns.json             a bootstrap file (RFC 9224): com, net, org -> <sim>/rdap/
//	GET /rdap/domain/{name}        the domain object; 404 for a domain no account holds
//
// Statuses: "client transfer prohibited" for the registrar lock, "server
// transfer prohibited" for the registry's (SetRegistryLock), "pending
// transfer" during a transfer away, and "active" otherwise. Switches
// (Go methods, and routes under /_sim): SetRDAPDisagree (the opposite of
// the registrar lock), SetRDAPLag (the state as it was a while ago) and
// SetRDAPRateLimit (the next requests answer 429).

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"
)

// RDAP is the request log's Kind of RDAP requests.
const RDAP Kind = "rdap"

// rdapTLDs are the TLDs the simulator serves RDAP for.
var rdapTLDs = []string{"com", "net", "org"}

// rdapRegistered is the registration date of domains created before the
// simulator tracked one.
var rdapRegistered = time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC)

// rdapState holds the RDAP switches and the lag's history. Its mutex is
// taken after Simulator.mu, never before.
type rdapState struct {
	mu       sync.Mutex
	lag      time.Duration
	disagree map[string]bool
	limited  int
	// history is, per domain while a lag is set, the views it has had,
	// oldest first, each from when it was first seen.
	history map[string][]rdapEntry
}

// rdapView is what RDAP shows of a domain's state.
type rdapView struct {
	locked, registryLocked, transferPending bool
}

type rdapEntry struct {
	at   time.Time
	view rdapView
}

// rdapViewOf is d's current state. The caller holds s.mu.
func (s *Simulator) rdapViewOf(d *domain) rdapView {
	v := rdapView{locked: d.locked, registryLocked: d.registryLocked, transferPending: d.transferPending}
	if d.ee != nil {
		v.locked = s.eeLocked(d)
	}
	return v
}

// rdapNote records d's state for the lag's history. The caller holds s.mu.
func (s *Simulator) rdapNote(d *domain) {
	r := &s.rdap
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lag <= 0 {
		return
	}
	s.rdapNoteLocked(d, s.now())
}

// rdapNoteLocked appends d's view if it changed, and forgets views that
// the lag no longer reaches. The caller holds s.mu and s.rdap.mu.
func (s *Simulator) rdapNoteLocked(d *domain, now time.Time) {
	r := &s.rdap
	if r.history == nil {
		r.history = make(map[string][]rdapEntry)
	}
	h := r.history[d.name]
	v := s.rdapViewOf(d)
	if len(h) == 0 || h[len(h)-1].view != v {
		h = append(h, rdapEntry{at: now, view: v})
	}
	for len(h) > 1 && !h[1].at.After(now.Add(-r.lag)) {
		h = h[1:]
	}
	r.history[d.name] = h
}

// rdapNoteName is rdapNote for a state-changing protocol call, which does
// not hold s.mu.
func (s *Simulator) rdapNoteName(name string) {
	s.rdap.mu.Lock()
	lag := s.rdap.lag
	s.rdap.mu.Unlock()
	if lag <= 0 || name == "" {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if d, ok := s.domains[name]; ok {
		s.rdapNote(d)
	}
}

// SetRDAPDisagree makes RDAP report the opposite of the domain's registrar
// lock (on) or the truth (off).
func (s *Simulator) SetRDAPDisagree(name string, on bool) {
	s.rdap.mu.Lock()
	defer s.rdap.mu.Unlock()
	if s.rdap.disagree == nil {
		s.rdap.disagree = make(map[string]bool)
	}
	if on {
		s.rdap.disagree[name] = true
	} else {
		delete(s.rdap.disagree, name)
	}
}

// SetRDAPLag makes RDAP answer each domain's state as it was d ago, and
// report "last update of RDAP database" d ago; 0 ends the lag. A change is
// dated when the simulator sees it: at once for lock changes through a
// protocol or a switch. A domain that is gone is gone at once.
func (s *Simulator) SetRDAPLag(d time.Duration) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.rdap.mu.Lock()
	defer s.rdap.mu.Unlock()
	s.rdap.lag = max(d, 0)
	s.rdap.history = nil
	if d <= 0 {
		return
	}
	// What every domain looks like now is what the lag shows until
	// it changes and the change is d old.
	now := s.now()
	for _, dom := range s.domains {
		s.rdapNoteLocked(dom, now)
	}
}

// SetRDAPRateLimit makes the next n RDAP requests answer 429 with
// Retry-After: 1; 0 clears it.
func (s *Simulator) SetRDAPRateLimit(n int) {
	s.rdap.mu.Lock()
	defer s.rdap.mu.Unlock()
	s.rdap.limited = max(n, 0)
}

// serveRDAP answers /rdap/...
func (s *Simulator) serveRDAP(w http.ResponseWriter, r *http.Request) {
	op, name := "", ""
	switch {
	case r.URL.Path == "/rdap/dns.json":
		op = "bootstrap"
	case strings.HasPrefix(r.URL.Path, "/rdap/domain/"):
		op = "domain"
		name = strings.TrimSuffix(strings.ToLower(strings.TrimPrefix(r.URL.Path, "/rdap/domain/")), ".")
	}
	outcome := "ok"
	defer func() { s.record(Request{Kind: RDAP, Op: op, Domain: name, Outcome: outcome}) }()
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		outcome = "method not allowed"
		rdapError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	s.rdap.mu.Lock()
	limited := s.rdap.limited > 0
	if limited {
		s.rdap.limited--
	}
	s.rdap.mu.Unlock()
	if limited {
		outcome = string(FaultRateLimited)
		w.Header().Set("Retry-After", "1")
		rdapError(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}
	switch op {
	case "bootstrap":
		s.serveRDAPBootstrap(w, r)
	case "domain":
		if !s.serveRDAPDomain(w, name) {
			outcome = "not found"
		}
	default:
		outcome = "not found"
		rdapError(w, http.StatusNotFound, "Not Found")
	}
}

func (s *Simulator) serveRDAPBootstrap(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + "/rdap/"
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"description": "RDAP bootstrap file for Domain Name System registrations (reglock simulator)",
		"publication": s.now().UTC().Format(time.RFC3339),
		"version":     "1.0",
		"services":    [][][]string{{rdapTLDs, {base}}},
	})
}

// serveRDAPDomain answers the domain object, or 404; it reports whether
// the domain was found.
func (s *Simulator) serveRDAPDomain(w http.ResponseWriter, name string) bool {
	served := false
	for _, t := range rdapTLDs {
		served = served || strings.HasSuffix(name, "."+t)
	}
	now := s.now()
	s.mu.RLock()
	d, ok := s.domains[name]
	var view rdapView
	var registered time.Time
	if ok && served {
		registered = d.created
		s.rdap.mu.Lock()
		view = s.rdapViewOf(d)
		if s.rdap.lag > 0 {
			s.rdapNoteLocked(d, now)
			view = s.rdapLagged(name, now)
		}
		if s.rdap.disagree[name] {
			view.locked = !view.locked
		}
		s.rdap.mu.Unlock()
	}
	s.mu.RUnlock()
	if !ok || !served {
		rdapError(w, http.StatusNotFound, "Not Found")
		return false
	}
	s.rdap.mu.Lock()
	updated := now.Add(-s.rdap.lag)
	s.rdap.mu.Unlock()
	if registered.IsZero() {
		registered = rdapRegistered
	}
	var status []string
	if view.locked {
		status = append(status, "client transfer prohibited")
	}
	if view.registryLocked {
		status = append(status, "server transfer prohibited", "server update prohibited", "server delete prohibited")
	}
	if view.transferPending {
		status = append(status, "pending transfer")
	}
	if len(status) == 0 {
		status = []string{"active"}
	}
	w.Header().Set("Content-Type", "application/rdap+json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"rdapConformance": []string{"rdap_level_0", "icann_rdap_response_profile_1", "icann_rdap_technical_implementation_guide_1"},
		"objectClassName": "domain",
		"handle":          strings.ToUpper(strings.ReplaceAll(name, ".", "_")) + "-SIM",
		"ldhName":         strings.ToUpper(name),
		"status":          status,
		"events": []map[string]string{
			{"eventAction": "registration", "eventDate": registered.UTC().Format(time.RFC3339)},
			{"eventAction": "expiration", "eventDate": registered.AddDate(int(now.Sub(registered).Hours()/(24*365))+1, 0, 0).UTC().Format(time.RFC3339)},
			{"eventAction": "last update of RDAP database", "eventDate": updated.UTC().Format(time.RFC3339)},
		},
	})
	return true
}

// rdapLagged is the view of name as it was lag ago: the newest one seen
// by then, or the oldest one held. The caller holds s.rdap.mu, with a
// history for name.
func (s *Simulator) rdapLagged(name string, now time.Time) rdapView {
	h := s.rdap.history[name]
	v := h[0].view
	for _, e := range h {
		if !e.at.After(now.Add(-s.rdap.lag)) {
			v = e.view
		}
	}
	return v
}

// rdapError answers an RDAP error object (RFC 9083 section 6).
func rdapError(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "application/rdap+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errorCode": status, "title": title})
}
