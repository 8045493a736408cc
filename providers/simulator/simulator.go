// Package simulator fakes registrar endpoints over HTTP, each following its
// registrar's documents: authentication, error bodies, status codes and
// formats. It is production code: `reglock simulate` and the embedded
// sandbox serve it, and every provider's tests run against it.
//
// All registrars share one inventory of domains. Tests and operators steer
// it with fault switches (next N calls fail, latency), drift (flip a lock
// behind reglock's back) and a registrar's life (life.go): a domain is
// registered, transferred away (at once, or pending and then completed or
// cancelled) or in, and the registry sets or lifts its own lock. Each
// protocol then answers as its registrar would: a domain that left is
// unknown everywhere, a transfer in brings a new registrar-side ID. Every
// control is a Go method and an HTTP route under /_sim (admin.go); GET
// /_sim/ lists the routes. The request log records every protocol call.
package simulator

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Kind names a registrar protocol.
type Kind string

// The protocols the simulator speaks.
const (
	ENom    Kind = "enom"
	OpenSRS Kind = "opensrs"
	WHMCS   Kind = "whmcs"
	EE      Kind = "ee"
)

// Fault is what a failing call answers instead of the real thing.
type Fault string

// The faults every protocol can inject. Each protocol renders them in its own
// way (eNom: ErrCount at HTTP 200, OpenSRS: a response code, ...).
const (
	// FaultUnavailable answers HTTP 503 with an HTML page, as a load balancer would.
	FaultUnavailable Fault = "unavailable"
	// FaultBusy answers the protocol's own "busy, try later" or rate-limit error.
	FaultBusy Fault = "busy"
	// FaultError answers the protocol's generic error at HTTP 200.
	FaultError Fault = "error"
	// FaultMalformed answers a truncated body.
	FaultMalformed Fault = "malformed"
	// FaultDrop closes the connection without an answer.
	FaultDrop Fault = "drop"
	// FaultRateLimited answers the protocol's rate-limit error (OpenSRS 300/310,
	// HTTP 429 where the protocol has none).
	FaultRateLimited Fault = "rate_limited"
	// FaultHuge answers HTTP 200 with a body of a gigabyte, the start of a
	// success answer followed by padding: a broken proxy or registrar that
	// would exhaust a client reading without a bound.
	FaultHuge Fault = "huge"
	// FaultFalseUnlocked makes lock reads answer "unlocked" whatever the
	// state: what WHMCS's OpenSRS module does when its registrar call fails.
	FaultFalseUnlocked Fault = "false_unlocked"
)

// Options configure a Simulator. The zero value is usable.
type Options struct {
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// LogSize bounds the request log; 0 means 10,000 entries.
	LogSize int
	// ENomLockWhenLockedFails makes eNom answer an error to locking a domain
	// that is already locked (the documents do not say what it does).
	ENomLockWhenLockedFails bool
	// NotLockableTLDs lists TLDs whose registry offers no registrar lock.
	NotLockableTLDs []string
	// OpenSRSBadAuthReply makes OpenSRS answer a bad signature or unknown
	// user with an XCP error (code 415) instead of dropping the connection,
	// which is what a caller outside the IP allow-list sees.
	OpenSRSBadAuthReply bool
	// OpenSRSNotHeldNotFound makes OpenSRS answer get, modify and
	// modify_trade_lock_setting of a domain the account does not hold (never
	// had, another reseller's, transferred away) with 480 "Domain not found",
	// the documented "item not found", instead of 415 "Authentication
	// Error.", which is what OpenSRS answers live for a domain outside the
	// reseller's profile (and the simulator by default).
	OpenSRSNotHeldNotFound bool
	// WHMCSAllowedIPs, when set, is WHMCS's API IP allow-list; WHMCSAccessKey
	// bypasses it.
	WHMCSAllowedIPs []string
	WHMCSAccessKey  string
	// EEAuthAllowedNets, when set, limits who may log in with
	// POST auth/eid (the registry's registrant_api_auth_allowed_ips).
	EEAuthAllowedNets []string
}

// Simulator is a set of fake registrar accounts sharing one inventory.
// It is safe for concurrent use.
type Simulator struct {
	opts Options
	now  func() time.Time

	mu       sync.RWMutex
	accounts map[accountKey]*Account
	domains  map[string]*domain
	nextID   int
	// version counts changes of names or owners (a domain added, moved or
	// gone): the listings' caches are valid while it stands still.
	version int
	// byID indexes domains by id (byID[id-1]); a moved domain's old entry
	// stays, replaced by nothing: readers check it against domains.
	byID []*domain
	// ee is the .ee registrant API's own state (tokens, UUID index).
	ee eeState

	logMu   sync.Mutex
	log     []Request
	logNext int
	logFull bool
	seq     atomic.Uint64
	stats   stats

	// rdap holds the RDAP switches (rdap.go).
	rdap rdapState
}

type accountKey struct {
	kind Kind
	user string
}

// domain is one registered name. Fields are guarded by Simulator.mu.
type domain struct {
	name    string
	account *Account
	// locked is the registrar lock; for .ee domains it mirrors ee (see
	// eeLocked), which is the truth there.
	locked bool
	// pending marks a pending state in which the registry refuses changes
	// (SetPending).
	pending bool
	// transferPending marks a transfer away that was requested and is
	// neither complete nor cancelled (StartTransferAway); for .ee domains it
	// mirrors the pendingTransfer status.
	transferPending bool
	// registryLocked is the registry's own lock (SetRegistryLock), which the
	// account cannot lift; for .ee domains it mirrors the statuses.
	registryLocked bool
	reads          int
	writes         int
	// id is the domain's number in the simulator: WHMCS's domainid.
	id int
	// trade is OpenSRS's trade lock setting (modify_trade_lock_setting).
	trade tradeSetting
	// ee is the .ee registry's view (UUID, statuses, lock time, role); nil
	// for other kinds.
	ee *eeDomain
	// created is when the record was added: RDAP's registration event.
	created time.Time
}

// tradeSetting is the last modify_trade_lock_setting a domain received.
type tradeSetting struct {
	set    bool
	enable bool
	ip     string
}

// Request is one call as the simulator saw it.
type Request struct {
	Seq     uint64
	Time    time.Time
	Kind    Kind
	Account string
	// Op is the protocol's command name, e.g. "GetRegLock".
	Op     string
	Domain string
	// Write is set for calls that change state.
	Write bool
	// Outcome is "ok", a fault name, or the protocol's error text.
	Outcome string
}

// New returns an empty simulator.
func New(opts Options) *Simulator {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	if opts.LogSize <= 0 {
		opts.LogSize = 10000
	}
	s := &Simulator{
		opts:     opts,
		now:      now,
		accounts: make(map[accountKey]*Account),
		domains:  make(map[string]*domain),
		log:      make([]Request, opts.LogSize),
	}
	s.ee.init()
	return s
}

// Handler serves every protocol under its own path prefix:
//
//	/enom/interface.asp                 eNom reseller API (GET or POST)
//	/opensrs/                           OpenSRS XCP (POST, signed)
//	/whmcs/includes/api.php             WHMCS API (POST form)
//	/ee/api/v1/registrant/...           .ee registrant API, as the registry serves it
//	/ee/repp/v1/registrant/...          .ee registrant API, the 2018 draft
//	/rdap/dns.json, /rdap/domain/{name} RDAP of the .com, .net and .org domains (rdap.go)
//	/_sim/...                           the simulator's own controls (admin.go; GET /_sim/ lists them)
func (s *Simulator) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/enom/interface.asp", http.HandlerFunc(s.serveENom))
	mux.Handle("/opensrs/", http.HandlerFunc(s.serveOpenSRS))
	mux.Handle("/whmcs/includes/api.php", http.HandlerFunc(s.serveWHMCS))
	mux.Handle("/ee/", http.StripPrefix("/ee", http.HandlerFunc(s.serveEE)))
	mux.Handle("/rdap/", http.HandlerFunc(s.serveRDAP))
	s.adminRoutes(mux)
	return mux
}

// Account is one registrar account: credentials, its domains and its faults.
type Account struct {
	sim      *Simulator
	kind     Kind
	user     string
	password string

	faultMu   sync.Mutex
	failNext  int
	fault     Fault
	latency   time.Duration
	callCount atomic.Int64

	// doms are the account's domains in id order, guarded by Simulator.mu;
	// entries of domains that moved to another account linger until the
	// next listing drops them.
	doms []*domain
	// lists caches sorted views of doms for paging, per order.
	listMu sync.Mutex
	lists  map[string]accountList
}

// accountList is a sorted view of an account's domains, valid while the
// inventory's version is unchanged.
type accountList struct {
	version int
	doms    []*domain
}

// AddAccount creates (or replaces the credentials of) an account.
func (s *Simulator) AddAccount(kind Kind, user, password string) *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := accountKey{kind, user}
	if a, ok := s.accounts[k]; ok {
		a.password = password
		return a
	}
	a := &Account{sim: s, kind: kind, user: user, password: password}
	s.accounts[k] = a
	return a
}

// account returns the account whose credentials match, or nil.
func (s *Simulator) account(kind Kind, user, password string) *Account {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a := s.accounts[accountKey{kind, user}]
	if a == nil || !constantTimeEqual(a.password, password) {
		return nil
	}
	return a
}

// User is the account's login name.
func (a *Account) User() string { return a.user }

// AddDomain registers name in this account with the given lock state,
// moving it from any other account. Unlike Register and TransferIn it
// never refuses: it sets up a test's or a demo's inventory.
func (a *Account) AddDomain(name string, locked bool) {
	s := a.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	s.add(a, name, locked, false)
}

// add puts a new record of name into account a, replacing any other
// record of it. Every record gets the next id (WHMCS's domainid); a .ee
// record gets the name-based UUID, or with freshUUID one of its own. The
// caller holds s.mu.
func (s *Simulator) add(a *Account, name string, locked, freshUUID bool) *domain {
	if old, ok := s.domains[name]; ok && old.ee != nil {
		s.eeForget(old)
	}
	s.nextID++
	s.version++
	d := &domain{name: name, account: a, locked: locked, id: s.nextID, created: s.now()}
	s.domains[name] = d
	s.byID = append(s.byID, d)
	a.doms = append(a.doms, d)
	if a.kind == EE {
		uuid := eeNameUUID(name)
		if freshUUID {
			// Another name-based UUID, of the name and this record's id:
			// new, and still the same for the same sequence of events.
			uuid = eeNameUUID(name + "#" + strconv.Itoa(d.id))
		}
		s.eeAdd(d, uuid)
	}
	return d
}

// remove takes d out of the inventory: its name, its WHMCS id and its .ee
// UUID are unknown from now on, and it drops out of its account's
// listings. The caller holds s.mu.
func (s *Simulator) remove(d *domain) {
	if d.ee != nil {
		s.eeForget(d)
	}
	delete(s.domains, d.name)
	s.version++
}

// busy reports a pending state in which the registry refuses changes: the
// SetPending switch or a transfer away in progress.
func (d *domain) busy() bool { return d.pending || d.transferPending }

// writeHuge sends prefix and then padding up to hugeBytes, from one reused
// buffer, until the client hangs up.
func writeHuge(w http.ResponseWriter, contentType, prefix string) {
	w.Header()["Content-Type"] = []string{contentType}
	w.WriteHeader(http.StatusOK)
	if _, err := io.WriteString(w, prefix); err != nil {
		return
	}
	pad := bytes.Repeat([]byte(" "), 64<<10)
	for sent := 0; sent < hugeBytes; sent += len(pad) {
		if _, err := w.Write(pad); err != nil {
			return
		}
	}
}

// hugeBytes is the size of a FaultHuge answer.
const hugeBytes = 1 << 30

// FailNext makes the next n calls to this account answer f.
func (a *Account) FailNext(n int, f Fault) {
	a.faultMu.Lock()
	defer a.faultMu.Unlock()
	a.failNext, a.fault = n, f
}

// faults returns the calls still to fail, their fault, and the latency.
func (a *Account) faults() (n int, f Fault, latency time.Duration) {
	a.faultMu.Lock()
	defer a.faultMu.Unlock()
	if a.failNext > 0 {
		f = a.fault
	}
	return a.failNext, f, a.latency
}

// SetLatency delays every answer of this account by d.
func (a *Account) SetLatency(d time.Duration) {
	a.faultMu.Lock()
	defer a.faultMu.Unlock()
	a.latency = d
}

// Calls is the number of calls this account has received.
func (a *Account) Calls() int64 { return a.callCount.Load() }

// begin counts a call, waits out the latency, and returns the fault to
// inject, if any. It returns false when the client went away while waiting.
func (a *Account) begin(r *http.Request) (Fault, bool) {
	a.callCount.Add(1)
	a.faultMu.Lock()
	lat := a.latency
	var f Fault
	if a.failNext > 0 {
		a.failNext--
		f = a.fault
	}
	a.faultMu.Unlock()
	if lat > 0 {
		t := time.NewTimer(lat)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return "", false
		}
	}
	return f, true
}

// SetLocked changes a domain's lock behind reglock's back (drift). It reports
// whether the domain exists.
func (s *Simulator) SetLocked(name string, locked bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	if !ok {
		return false
	}
	if d.ee != nil {
		s.eeSetLocked(d, locked)
	} else {
		d.locked = locked
	}
	s.rdapNote(d)
	return true
}

// SetPending puts a domain in or out of a pending state in which the
// registry refuses changes. It reports whether the domain exists.
func (s *Simulator) SetPending(name string, pending bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	if !ok {
		return false
	}
	d.pending = pending
	if d.ee != nil {
		s.eeSetPending(d, pending)
	}
	return true
}

// TradeLock returns the last trade lock setting a domain received, with the
// consent IP, and whether it received one.
func (s *Simulator) TradeLock(name string) (enable bool, ip string, set bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.domains[name]
	if !ok {
		return false, "", false
	}
	return d.trade.enable, d.trade.ip, d.trade.set
}

// Locked reports a domain's lock and whether it exists.
func (s *Simulator) Locked(name string) (locked, ok bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.domains[name]
	if !ok {
		return false, false
	}
	if d.ee != nil {
		return s.eeLocked(d), true
	}
	return d.locked, true
}

// Writes is the number of state-changing calls a domain has received.
func (s *Simulator) Writes(name string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if d, ok := s.domains[name]; ok {
		return d.writes
	}
	return 0
}

// Reads is the number of lock reads a domain has received.
func (s *Simulator) Reads(name string) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if d, ok := s.domains[name]; ok {
		return d.reads
	}
	return 0
}

// domainByID returns the domain with WHMCS-style id, or nil. The caller
// holds s.mu.
func (s *Simulator) domainByID(id int) *domain {
	if id <= 0 || id > len(s.byID) {
		return nil
	}
	d := s.byID[id-1]
	if s.domains[d.name] != d {
		return nil // replaced since
	}
	return d
}

// listing returns account a's domains ordered by cmp (nil: by id), cached
// under key until the inventory changes (every change of names or owners
// goes through add or remove, which bump version). The caller holds s.mu
// for reading at least; the domains' fields are read under it too.
func (s *Simulator) listing(a *Account, key string, cmp func(x, y *domain) int) []*domain {
	a.listMu.Lock()
	defer a.listMu.Unlock()
	if l, ok := a.lists[key]; ok && l.version == s.version {
		return l.doms
	}
	doms := make([]*domain, 0, len(a.doms))
	for _, d := range a.doms {
		if d.account == a && s.domains[d.name] == d {
			doms = append(doms, d)
		}
	}
	if cmp != nil {
		slices.SortFunc(doms, cmp)
	}
	if a.lists == nil {
		a.lists = map[string]accountList{}
	}
	a.lists[key] = accountList{version: s.version, doms: doms}
	return doms
}

// lookup finds a domain held by account a.
func (s *Simulator) lookup(a *Account, name string) (*domain, bool) {
	d, ok := s.domains[name]
	if !ok || d.account != a {
		return nil, false
	}
	return d, true
}

// lockable reports whether the TLD of name offers a registrar lock.
func (s *Simulator) lockable(name string) bool {
	for _, t := range s.opts.NotLockableTLDs {
		if strings.HasSuffix(name, "."+t) {
			return false
		}
	}
	return true
}

// record appends to the request log.
func (s *Simulator) record(r Request) {
	if r.Write {
		s.rdapNoteName(r.Domain) // RDAP's lag dates the change now
	}
	r.Seq = s.seq.Add(1)
	r.Time = s.now()
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.log[s.logNext] = r
	s.logNext++
	if s.logNext == len(s.log) {
		s.logNext, s.logFull = 0, true
	}
	s.stats.add(r)
}

// Log returns the retained requests, oldest first.
func (s *Simulator) Log() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if !s.logFull {
		return append([]Request(nil), s.log[:s.logNext]...)
	}
	out := make([]Request, 0, len(s.log))
	out = append(out, s.log[s.logNext:]...)
	return append(out, s.log[:s.logNext]...)
}

// constantTimeEqual compares credentials without leaking their length or
// content through timing.
func constantTimeEqual(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
