package simulator

// The Estonian .ee registry's registrant API (internetee/registry), after
// protocols.md section 4: POST auth/eid, Bearer tokens, the domain listing,
// GET domain, and POST/DELETE registry_lock with the registry's filter
// order (401 -> 404 -> 401 admin -> 422/200) and its model rules
// (Domain::RegistryLockable). Two dialects share one registry state:
//
//	/api/v1/registrant/...   as the registry serves it (HEAD): error bases
//	                         are arrays, success bodies are the serializer's
//	                         object with locked_by_registrant_at
//	/repp/v1/registrant/...  the 2018 draft (seeds/002): 400 for refused
//	                         lock changes, string error bases, the raw model
//	                         with "uuid" and serverUpdateProhibited
//
// Decisions where the documents are silent are marked [sim].

import (
	"bytes"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"
)

// The registry's texts (api/v1, HEAD).
const (
	eeNotAuthorized = "Not authorized"
	eeNotFound      = "Domain not found"
	eeNotAdmin      = "Only administrative contacts can manage registry locks"
	eeCannotLock    = "Domain cannot be locked"
	eeNotLocked     = "Domain is not locked"
	eeOutOfRange    = "parameter is out of range"
	eeRequired      = "parameter is required"
)

// The 2018 draft's texts (repp/v1). The draft documents only these three;
// the other answers reuse the api/v1 texts in the draft's string shape [sim].
const (
	eeReppCannotLock   = "domain cannot be locked"
	eeReppCannotUnlock = "domain cannot be unlocked"
	eeReppNotFound     = "domain does not exist"
)

// Domain statuses (app/models/domain_status.rb).
const (
	eeOK                          = "ok"
	eeServerObjUpdateProhibited   = "serverObjUpdateProhibited"
	eeServerUpdateProhibited      = "serverUpdateProhibited" // the 2018 draft's name for it
	eeServerDeleteProhibited      = "serverDeleteProhibited"
	eeServerTransferProhibited    = "serverTransferProhibited"
	eeServerExtensionUpdateProhib = "serverExtensionUpdateProhibited"
	eeServerForceDelete           = "serverForceDelete"
	eeServerRenewProhibited       = "serverRenewProhibited"
	eeClientTransferProhibited    = "clientTransferProhibited"
	eePendingUpdate               = "pendingUpdate"
	eePendingTransfer             = "pendingTransfer"
)

// Status sets of the model. They are shared: status slices are never
// changed in place, only replaced.
var (
	eeStatusesOK = []string{eeOK}
	// eeLockStatuses is Domain::RegistryLockable::LOCK_STATUSES, in its order.
	eeLockStatuses = []string{eeServerObjUpdateProhibited, eeServerDeleteProhibited, eeServerTransferProhibited}
	// eePendingStatuses block a registry lock (registry_lockable?).
	eePendingStatuses = []string{"pendingDeleteConfirmation", "pendingCreate", eePendingUpdate,
		"pendingDelete", "pendingRenew", eePendingTransfer}
	// eeForceDeleteStatuses is Domain::FORCE_DELETE_STATUSES.
	eeForceDeleteStatuses = []string{eeServerForceDelete, eeServerRenewProhibited, eeServerTransferProhibited}
)

// eeTokenValidity is AuthTokenCreator::DEFAULT_VALIDITY.
const eeTokenValidity = 2 * time.Hour

// The listing's bounds (DomainsController#index) and the domain count at
// which tech=init stops including technical-contact domains.
const (
	eeMaxLimit      = 200
	eeTechInitLimit = 3000
)

// The roles a registrant user can have for a domain. Registrants and
// administrative contacts may manage registry locks; technical contacts see
// the domain but may not.
const (
	EERoleRegistrant = "registrant"
	EERoleAdmin      = "admin"
	EERoleTech       = "tech"
)

type eeRole uint8

const (
	eeRoleRegistrant eeRole = iota // the zero value: the account holds the domain
	eeRoleAdmin
	eeRoleTech
)

var eeRoleNames = [...]string{EERoleRegistrant, EERoleAdmin, EERoleTech}

// eeState is the .ee registrant API's own state. Guarded by Simulator.mu;
// its maps are made on first write.
type eeState struct {
	// sessions are the tokens POST auth/eid issued. Tokens are opaque random
	// strings [sim]; the registry encrypts {user_ident, user_username,
	// expires_at} instead, which behaves the same for a client.
	sessions map[string]eeSession
	// names are the eID users' names ("Mari Maasikas") by registrant ident
	// ("EE-38903110313"), as their latest login gave them. A token is valid
	// only while its name matches (AuthTokenDecryptor#valid_user?).
	names map[string]string
	// userIDs number the users for updator_str ("7-RegistrantUser: ...").
	userIDs map[string]int
	// byUUID indexes the .ee domains by UUID.
	byUUID map[[16]byte]*domain
	// lists keep each account's domains in listing order.
	lists map[*Account]*eeList
	// swept is when expired sessions were last dropped.
	swept time.Time
}

type eeSession struct {
	user, username string
	expires        time.Time
}

func (e *eeState) init() {
	if e.byUUID == nil {
		e.sessions = make(map[string]eeSession)
		e.names = make(map[string]string)
		e.userIDs = make(map[string]int)
		e.byUUID = make(map[[16]byte]*domain)
		e.lists = make(map[*Account]*eeList)
	}
}

// eeList is one account's domains in insertion order, the order the
// listing pages through [sim: the registry's query has no ORDER BY]. It
// keeps paging O(limit) over a million domains: entries are appended, and
// a removal only marks the list for one compaction at the next listing.
type eeList struct {
	all []*domain
	// dirty: all may hold domains that left the account.
	dirty bool
	// admin is the default listing's scope (registrant and administrative
	// contact domains), in the order of all; nil when it must be rebuilt.
	admin []*domain
}

// eeDomain is the .ee registry's view of a domain. Guarded by
// Simulator.mu. Slices are never changed in place, so a copy of the struct
// is a consistent snapshot.
type eeDomain struct {
	uuid        [16]byte
	role        eeRole
	forceDelete bool
	statuses    []string
	// history is admin_store_statuses_history: the statuses saved by the
	// last registry lock, restored by unlocking.
	history []string
	// fdHistory holds the statuses from before force delete was scheduled.
	fdHistory []string
	// lockedAt is locked_by_registrant_at; zero is null.
	lockedAt        time.Time
	forceDeleteDate time.Time
	created         time.Time
	updated         time.Time
	// updator is updator_str after a registrant changed the domain.
	updator string
	// versions counts PaperTrail versions written by registrant changes.
	versions int
	// notes are the registrar's notifications ("Domain x has been locked
	// by registrant").
	notes []string
	// details, when set, replace the generated serializer fields.
	details *EEDetails
}

// lockedByRegistrant is Domain#locked_by_registrant?: the timestamp and all
// three lock statuses.
func (e *eeDomain) lockedByRegistrant() bool {
	return !e.lockedAt.IsZero() && eeHasAll(e.statuses, eeLockStatuses...)
}

// lockedByRegistry reports the registry's own lock: the three lock
// statuses without a registrant's lock (what an admin sets), or, under a
// registrant's lock, among the saved statuses its unlock restores.
func (e *eeDomain) lockedByRegistry() bool {
	if e.lockedByRegistrant() {
		return eeHasAll(e.history, eeLockStatuses...)
	}
	return eeHasAll(e.statuses, eeLockStatuses...)
}

// registryLock sets or lifts the registry's own lock [sim: the registry
// has no such call; this is an admin adding or removing the three lock
// statuses]. Under a registrant's lock the statuses are already there and
// stay; the registry's lock is then added to, or removed from, the saved
// statuses, so that the registrant's unlock leaves the registry's lock as
// it is. Lifting keeps serverTransferProhibited while force delete holds
// it.
func (e *eeDomain) registryLock(on bool) {
	mine := e.lockedByRegistrant()
	switch {
	case on && mine:
		e.history = eeUnion(e.history, eeLockStatuses)
	case on:
		e.statuses = eeAutomatic(eeUnion(e.statuses, eeLockStatuses))
	case mine:
		e.history = eeWithout(e.history, eeLockStatuses...)
	default:
		drop := eeLockStatuses
		if e.forceDelete {
			drop = eeWithout(drop, eeForceDeleteStatuses...)
		}
		e.statuses = eeAutomatic(eeWithout(e.statuses, drop...))
	}
}

// transferBlocked reports a status that makes the registry refuse a
// transfer: serverTransferProhibited (a registrant's or the registry's
// lock, force delete) or the registrar's clientTransferProhibited.
func (e *eeDomain) transferBlocked() bool {
	return slices.Contains(e.statuses, eeServerTransferProhibited) || slices.Contains(e.statuses, eeClientTransferProhibited)
}

// eeHasAll reports whether st holds every status of want.
func eeHasAll(st []string, want ...string) bool {
	for _, w := range want {
		if !slices.Contains(st, w) {
			return false
		}
	}
	return true
}

func (e *eeDomain) pending() bool {
	return slices.ContainsFunc(e.statuses, func(st string) bool { return slices.Contains(eePendingStatuses, st) })
}

// lock is apply_statuses_locked_statuses: save the statuses, union in the
// lock statuses, stamp the time.
func (e *eeDomain) lock(now time.Time, extensionsProhibited bool) {
	e.history = e.statuses
	st := eeUnion(e.statuses, eeLockStatuses)
	if extensionsProhibited {
		st = eeUnion(st, []string{eeServerExtensionUpdateProhib})
	}
	e.statuses = eeAutomatic(st)
	e.lockedAt = now
}

// unlock is remove_statuses_from_locked_domain: restore the saved
// statuses, keep the force delete statuses if force delete is scheduled,
// clear the time.
func (e *eeDomain) unlock() {
	st := slices.Clone(e.history)
	if e.forceDelete {
		st = eeUnion(st, eeForceDeleteStatuses)
	}
	e.statuses = eeAutomatic(st)
	e.lockedAt = time.Time{}
}

// eeUnion is Ruby's a | b: a's order, then b's new elements.
func eeUnion(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func eeWithout(a []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(a), func(s string) bool { return slices.Contains(drop, s) })
}

// eeAutomatic is Domain#manage_automatic_statuses: "ok" when nothing else,
// and only then.
func eeAutomatic(st []string) []string {
	if len(st) == 0 {
		return eeStatusesOK
	}
	if len(st) > 1 && slices.Contains(st, eeOK) {
		return eeWithout(st, eeOK)
	}
	return st
}

// eeAdd gives a new .ee domain its registry view under uuid: the lock
// statuses and a lock time when it is added locked (as if its registrant
// had locked an "ok" domain), else ["ok"].
func (s *Simulator) eeAdd(d *domain, uuid [16]byte) {
	s.ee.init()
	now := s.now()
	e := &eeDomain{uuid: uuid, statuses: eeStatusesOK, created: now, updated: now}
	if d.locked {
		e.lock(now, false)
	}
	d.ee = e
	s.ee.byUUID[e.uuid] = d
	l := s.eeList(d.account)
	l.all = append(l.all, d)
	if l.admin != nil {
		l.admin = append(l.admin, d)
	}
	s.eeSync(d)
}

// eeForget drops a domain that is being replaced from the indexes.
func (s *Simulator) eeForget(d *domain) {
	if s.ee.byUUID[d.ee.uuid] == d {
		delete(s.ee.byUUID, d.ee.uuid)
	}
	if l := s.ee.lists[d.account]; l != nil {
		l.dirty, l.admin = true, nil
	}
}

// eeLocked is the registry's own rule: locked by the registrant.
func (s *Simulator) eeLocked(d *domain) bool { return d.ee.lockedByRegistrant() }

// eeSetLocked changes the lock behind reglock's back. Unlocking is what the
// admin UI does (remove_registry_lock), after which none of the three lock
// statuses is left unless force delete holds serverTransferProhibited;
// locking is what a registrant's lock does.
func (s *Simulator) eeSetLocked(d *domain, locked bool) {
	e := d.ee
	switch {
	case locked && !e.lockedByRegistrant():
		e.lock(s.now(), false)
	case !locked:
		if e.lockedByRegistrant() {
			e.unlock()
		}
		drop := eeLockStatuses
		if e.forceDelete {
			drop = eeWithout(drop, eeForceDeleteStatuses...)
		}
		e.statuses = eeAutomatic(eeWithout(e.statuses, drop...))
		e.lockedAt = time.Time{}
	}
	e.updated = s.now()
	s.eeSync(d)
}

// eeSetPending adds or removes pendingUpdate.
func (s *Simulator) eeSetPending(d *domain, pending bool) {
	e := d.ee
	if pending {
		e.statuses = eeAutomatic(eeUnion(e.statuses, []string{eePendingUpdate}))
	} else {
		e.statuses = eeAutomatic(eeWithout(e.statuses, eePendingUpdate))
	}
	e.updated = s.now()
	s.eeSync(d)
}

// eeSync keeps the shared core's fields in step with the registry's view.
func (s *Simulator) eeSync(d *domain) {
	d.locked = d.ee.lockedByRegistrant()
	d.pending = d.ee.pending()
	d.transferPending = slices.Contains(d.ee.statuses, eePendingTransfer)
	d.registryLocked = d.ee.lockedByRegistry()
}

// eeSetTransferPending adds or removes pendingTransfer.
func (s *Simulator) eeSetTransferPending(d *domain, pending bool) {
	e := d.ee
	if pending {
		e.statuses = eeAutomatic(eeUnion(e.statuses, []string{eePendingTransfer}))
	} else {
		e.statuses = eeAutomatic(eeWithout(e.statuses, eePendingTransfer))
	}
	e.updated = s.now()
	s.eeSync(d)
}

// eeSetRegistryLock sets or lifts the registry's own lock.
func (s *Simulator) eeSetRegistryLock(d *domain, locked bool) {
	d.ee.registryLock(locked)
	d.ee.updated = s.now()
	s.eeSync(d)
}

func (s *Simulator) eeList(a *Account) *eeList {
	l := s.ee.lists[a]
	if l == nil {
		l = &eeList{}
		s.ee.lists[a] = l
	}
	return l
}

// eeLive reports whether d is still account a's .ee domain.
func (s *Simulator) eeLive(a *Account, d *domain) bool {
	return d.ee != nil && d.account == a && s.domains[d.name] == d
}

// eeScope returns the listing's scope for account a, and the number of all
// its domains. Caller holds s.mu for writing.
func (s *Simulator) eeScope(a *Account, withTech bool) (scope []*domain, total int) {
	l := s.eeList(a)
	if l.dirty {
		l.all = slices.DeleteFunc(l.all, func(d *domain) bool { return !s.eeLive(a, d) })
		l.dirty, l.admin = false, nil
	}
	if withTech {
		return l.all, len(l.all)
	}
	if l.admin == nil {
		l.admin = make([]*domain, 0, len(l.all))
		for _, d := range l.all {
			if d.ee.role != eeRoleTech {
				l.admin = append(l.admin, d)
			}
		}
	}
	return l.admin, len(l.all)
}

// eeFind looks a domain up by UUID among all domains linked to account a
// (any role). Caller holds s.mu.
func (s *Simulator) eeFind(a *Account, id [16]byte) *domain {
	d := s.ee.byUUID[id]
	if a == nil || d == nil || !s.eeLive(a, d) {
		return nil
	}
	return d
}

// ---- exported controls for tests and operators ----

// EEDomainInfo is a .ee domain as the registry holds it.
type EEDomainInfo struct {
	UUID     string
	Statuses []string
	// LockedByRegistrantAt is nil when not set.
	LockedByRegistrantAt *time.Time
	// StatusHistory is admin_store_statuses_history.
	StatusHistory []string
	Role          string
	ForceDelete   bool
	// Versions counts PaperTrail versions written by registrant changes;
	// Updator is updator_str.
	Versions      int
	Updator       string
	Notifications []string
}

// EEDomain returns a .ee domain's registry state, and whether there is such
// a .ee domain.
func (s *Simulator) EEDomain(name string) (EEDomainInfo, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.domains[name]
	if !ok || d.ee == nil {
		return EEDomainInfo{}, false
	}
	e := d.ee
	info := EEDomainInfo{
		UUID: eeFormatUUID(e.uuid), Statuses: slices.Clone(e.statuses), StatusHistory: slices.Clone(e.history),
		Role: eeRoleNames[e.role], ForceDelete: e.forceDelete, Versions: e.versions, Updator: e.updator,
		Notifications: slices.Clone(e.notes),
	}
	if !e.lockedAt.IsZero() {
		t := e.lockedAt
		info.LockedByRegistrantAt = &t
	}
	return info, true
}

// EEDomainUUID returns a .ee domain's UUID, or "" when there is no such .ee
// domain. New domains get the name-based UUID (version 5, DNS namespace) of
// their name, so tests can also compute it.
func (s *Simulator) EEDomainUUID(name string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if d, ok := s.domains[name]; ok && d.ee != nil {
		return eeFormatUUID(d.ee.uuid)
	}
	return ""
}

// EESetUUID gives a .ee domain a specific UUID, e.g. a registry fixture's.
// It reports false when there is no such domain, the UUID is malformed or
// another domain has it.
func (s *Simulator) EESetUUID(name, uuid string) bool {
	id, ok := eeParseUUID(uuid)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	if !ok || d.ee == nil {
		return false
	}
	if other := s.ee.byUUID[id]; other != nil && other != d && s.domains[other.name] == other {
		return false
	}
	if s.ee.byUUID[d.ee.uuid] == d {
		delete(s.ee.byUUID, d.ee.uuid)
	}
	d.ee.uuid = id
	s.ee.byUUID[id] = d
	return true
}

// EESetRole sets the account user's role for a .ee domain: EERoleRegistrant
// (the default), EERoleAdmin or EERoleTech. It reports false for an unknown
// domain or role.
func (s *Simulator) EESetRole(name, role string) bool {
	r := slices.Index(eeRoleNames[:], role)
	if r < 0 {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	if !ok || d.ee == nil {
		return false
	}
	d.ee.role = eeRole(r)
	if l := s.ee.lists[d.account]; l != nil {
		l.admin = nil
	}
	return true
}

// EESetStatuses writes a .ee domain's statuses and lock time directly, as a
// database fixture or an admin would: no automatic "ok", no history. A nil
// lockedAt clears the time.
func (s *Simulator) EESetStatuses(name string, statuses []string, lockedAt *time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	if !ok || d.ee == nil {
		return false
	}
	d.ee.statuses = slices.Clone(statuses)
	if d.ee.statuses == nil {
		d.ee.statuses = []string{}
	}
	d.ee.lockedAt = time.Time{}
	if lockedAt != nil {
		d.ee.lockedAt = *lockedAt
	}
	d.ee.updated = s.now()
	s.eeSync(d)
	return true
}

// EESetForceDelete schedules or cancels force delete: scheduling adds
// serverForceDelete, serverRenewProhibited and serverTransferProhibited;
// cancelling removes those that were not there before, except lock
// statuses of a registrant lock [sim: simplified CancelForceDelete].
func (s *Simulator) EESetForceDelete(name string, scheduled bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	if !ok || d.ee == nil {
		return false
	}
	e, now := d.ee, s.now()
	switch {
	case scheduled && !e.forceDelete:
		e.fdHistory = e.statuses
		e.statuses = eeAutomatic(eeUnion(e.statuses, eeForceDeleteStatuses))
		e.forceDelete, e.forceDeleteDate = true, now.AddDate(0, 0, 30)
	case !scheduled && e.forceDelete:
		keep := e.fdHistory
		if e.lockedByRegistrant() {
			keep = eeUnion(keep, eeLockStatuses)
		}
		drop := eeWithout(eeForceDeleteStatuses, keep...)
		e.statuses = eeAutomatic(eeWithout(e.statuses, drop...))
		e.forceDelete, e.forceDeleteDate, e.fdHistory = false, time.Time{}, nil
	}
	e.updated = now
	s.eeSync(d)
	return true
}

// EEDetails is what the registry's serializer shows of a domain besides
// its lock. Domains without details get generated ones.
type EEDetails struct {
	Registrar     EERegistrar
	Registrant    EERegistrant
	AdminContacts []EEContact
	TechContacts  []EEContact
	Nameservers   []EENameserver
	// RegisteredAt and ValidTo; zero means from the domain's creation.
	RegisteredAt, ValidTo time.Time
}

// EERegistrar is the serializer's registrar; an empty Website is null.
type EERegistrar struct{ Name, Website string }

// EERegistrant is the serializer's registrant contact.
type EERegistrant struct {
	Name, ID, Ident, IdentType, IdentCountryCode, Phone, Email string
	Org                                                        bool
}

// EEContact is an administrative or technical contact.
type EEContact struct{ Name, ID, Email string }

// EENameserver is one nameserver with its glue.
type EENameserver struct {
	Hostname   string
	IPv4, IPv6 []string
}

// EESetDetails sets a .ee domain's serializer fields.
func (s *Simulator) EESetDetails(name string, details EEDetails) bool {
	details.AdminContacts = slices.Clone(details.AdminContacts)
	details.TechContacts = slices.Clone(details.TechContacts)
	details.Nameservers = slices.Clone(details.Nameservers)
	for i, ns := range details.Nameservers {
		details.Nameservers[i].IPv4, details.Nameservers[i].IPv6 = slices.Clone(ns.IPv4), slices.Clone(ns.IPv6)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	if !ok || d.ee == nil {
		return false
	}
	d.ee.details = &details
	return true
}

// EEIssueToken issues a Bearer token for the registrant user ident (e.g.
// "EE-38903110313"), valid for validFor from the simulator's clock, as a
// login would; a validFor <= 0 issues an expired one.
func (s *Simulator) EEIssueToken(user string, validFor time.Duration) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ee.init()
	username, ok := s.ee.names[user]
	if !ok {
		username = user
		s.ee.names[user] = username
	}
	return s.eeIssue(user, username, s.now().Add(validFor))
}

// eeIssue records a new session. Caller holds s.mu for writing.
func (s *Simulator) eeIssue(user, username string, expires time.Time) string {
	now := s.now()
	if now.Sub(s.ee.swept) > time.Minute {
		for tok, ses := range s.ee.sessions {
			if !now.Before(ses.expires) {
				delete(s.ee.sessions, tok)
			}
		}
		s.ee.swept = now
	}
	b := make([]byte, 48)
	rand.Read(b)
	tok := base64.URLEncoding.EncodeToString(b)
	s.ee.sessions[tok] = eeSession{user: user, username: username, expires: expires}
	return tok
}

// ---- HTTP ----

// eeAPI is the dialect of a request.
type eeAPI uint8

const (
	eeV1   eeAPI = iota // /api/v1/registrant
	eeRepp              // /repp/v1/registrant, the 2018 draft
)

var eeJSONType = []string{"application/json; charset=utf-8"}

// eeCall is one request being served, for the request log.
type eeCall struct {
	api     eeAPI
	op      string
	user    string
	domain  string
	write   bool
	outcome string
}

// serveEE answers /ee/... with the prefix stripped.
func (s *Simulator) serveEE(w http.ResponseWriter, r *http.Request) {
	c := &eeCall{outcome: "ok"}
	defer func() {
		s.record(Request{Kind: EE, Account: c.user, Op: c.op, Domain: c.domain, Write: c.write, Outcome: c.outcome})
	}()
	// Every registrant API controller echoes the Origin (set_cors_header).
	if origin := r.Header.Get("Origin"); origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v1/registrant/")
	if !ok {
		if rest, ok = strings.CutPrefix(r.URL.Path, "/repp/v1/registrant/"); ok {
			c.api = eeRepp
		}
	}
	if r.Method == http.MethodOptions {
		// CorsController#cors_preflight_check answers every OPTIONS.
		c.op = "OPTIONS"
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", "POST, GET, PUT, PATCH, DELETE, OPTIONS")
		h.Set("Access-Control-Allow-Headers", "Origin, Content-Type, Accept, Authorization, Token, Auth-Token, Email, X-User-Token, X-User-Email")
		h.Set("Access-Control-Max-Age", "3600")
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		return
	}
	if !ok {
		c.op = "unknown route"
		s.eeRoutingError(w, c)
		return
	}
	parts := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	// Rails routes take a ".json" format suffix on the last segment.
	parts[len(parts)-1] = strings.TrimSuffix(parts[len(parts)-1], ".json")
	switch {
	case len(parts) == 2 && parts[0] == "auth" && parts[1] == "eid" && r.Method == http.MethodPost:
		c.op = "POST auth/eid"
		s.eeAuthEID(w, r, c)
	case len(parts) == 1 && parts[0] == "domains" && r.Method == http.MethodGet:
		c.op = "GET domains"
		s.eeAuthenticated(w, r, c, s.eeListDomains)
	case len(parts) == 2 && parts[0] == "domains" && r.Method == http.MethodGet:
		c.op = "GET domain"
		s.eeAuthenticated(w, r, c, func(w http.ResponseWriter, r *http.Request, c *eeCall, a *Account) {
			s.eeShowDomain(w, c, a, parts[1])
		})
	case len(parts) == 3 && parts[0] == "domains" && parts[2] == "registry_lock" &&
		(r.Method == http.MethodPost || r.Method == http.MethodDelete):
		c.op, c.write = r.Method+" registry_lock", true
		s.eeAuthenticated(w, r, c, func(w http.ResponseWriter, r *http.Request, c *eeCall, a *Account) {
			s.eeRegistryLock(w, r, c, a, parts[1])
		})
	default:
		c.op = "unknown route"
		s.eeRoutingError(w, c)
	}
}

// eeRoutingError is Rails' answer to a request no route matches, as an
// API-only application renders it for JSON clients.
func (s *Simulator) eeRoutingError(w http.ResponseWriter, c *eeCall) {
	c.outcome = "Not Found"
	eeWriteJSON(w, http.StatusNotFound, map[string]any{"status": 404, "error": "Not Found"})
}

// eeAuthenticated authenticates the Bearer token (BaseController
// #authenticate), applies the account's faults and latency, and runs next.
func (s *Simulator) eeAuthenticated(w http.ResponseWriter, r *http.Request, c *eeCall,
	next func(http.ResponseWriter, *http.Request, *eeCall, *Account)) {
	a, user, ok := s.eeAuthenticate(r)
	if !ok {
		s.eeError(w, c, http.StatusUnauthorized, "base", eeNotAuthorized)
		return
	}
	c.user = user
	// A user without an account is a registrant with no domains, as a
	// fresh eID user is at the registry.
	if a != nil && !s.eeBegin(w, r, c, a) {
		return
	}
	next(w, r, c, a)
}

// eeBegin applies the account's latency and faults; it returns false when
// the call was answered (or abandoned) instead.
func (s *Simulator) eeBegin(w http.ResponseWriter, r *http.Request, c *eeCall, a *Account) bool {
	fault, ok := a.begin(r)
	if !ok {
		c.outcome = "canceled"
		return false
	}
	if fault == "" {
		return true
	}
	c.outcome = string(fault)
	switch fault {
	case FaultUnavailable:
		w.Header()["Content-Type"] = htmlContentType
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>\n"))
	case FaultBusy, FaultRateLimited:
		// The registry has no rate limiting (HEAD); a proxy in front would
		// answer like this.
		w.Header()["Content-Type"] = htmlContentType
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTooManyRequests)
		w.Write([]byte("<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>\n"))
	case FaultMalformed:
		// The start of a success body, cut off.
		body := `{"id":"`
		switch c.op {
		case "GET domains":
			body = `{"total":1,"count":1,"domains":[{"id":"`
		case "POST auth/eid":
			body = `{"access_token":"`
		}
		w.Header()["Content-Type"] = eeJSONType
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(body))
	case FaultHuge:
		writeHuge(w, "application/json; charset=utf-8", `{"id":"`)
	case FaultDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return false
			}
		}
		panic(http.ErrAbortHandler)
	default: // FaultError, and faults .ee has no rendering for
		// Rails' API-only exception page.
		eeWriteJSON(w, http.StatusInternalServerError, map[string]any{"status": 500, "error": "Internal Server Error"})
	}
	return false
}

// eeAuthenticate finds the user of the request's Bearer token: a session
// from POST auth/eid, or an account's static token (its password) [sim].
// The account is nil for an eID user no account stands for.
func (s *Simulator) eeAuthenticate(r *http.Request) (a *Account, user string, ok bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		return nil, "", false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if ses, ok := s.ee.sessions[tok]; ok {
		if !s.now().Before(ses.expires) || s.ee.names[ses.user] != ses.username {
			return nil, "", false
		}
		return s.accounts[accountKey{EE, ses.user}], ses.user, true
	}
	for k, a := range s.accounts {
		if k.kind == EE && a.password != "" && constantTimeEqual(a.password, tok) {
			return a, a.user, true
		}
	}
	return nil, "", false
}

// eeAuthEID is AuthController#eid: the IP allow-list, the three required
// parameters in order, then a token for "<CC>-<ident>". The token's user is
// the EE account of that name [sim]; there may be none, as for a user the
// registry has just created.
func (s *Simulator) eeAuthEID(w http.ResponseWriter, r *http.Request, c *eeCall) {
	if !s.eeAllowed(eeClientIP(r)) {
		s.eeError(w, c, http.StatusUnauthorized, "base", eeNotAuthorized)
		return
	}
	params, err := eeParams(r)
	if err != nil {
		c.outcome = "Bad Request"
		eeWriteJSON(w, http.StatusBadRequest, map[string]any{"status": 400, "error": "Bad Request"})
		return
	}
	for _, k := range []string{"ident", "first_name", "last_name"} {
		if v, ok := params[k]; !ok || strings.TrimSpace(v) == "" {
			s.eeError(w, c, http.StatusUnprocessableEntity, k, eeRequired)
			return
		}
	}
	cc := strings.ToUpper(params["country_code"])
	if cc == "" {
		cc = "EE"
	}
	user := cc + "-" + params["ident"]
	username := params["first_name"] + " " + params["last_name"]
	c.user = user
	s.mu.RLock()
	a := s.accounts[accountKey{EE, user}]
	s.mu.RUnlock()
	if a != nil && !s.eeBegin(w, r, c, a) {
		return
	}
	s.mu.Lock()
	s.ee.init()
	s.ee.names[user] = username
	expires := s.now().Add(eeTokenValidity)
	tok := s.eeIssue(user, username, expires)
	s.mu.Unlock()
	eeWriteJSON(w, http.StatusOK, struct {
		AccessToken string `json:"access_token"`
		ExpiresAt   string `json:"expires_at"`
		Type        string `json:"type"`
	}{tok, expires.UTC().Format("2006-01-02 15:04:05") + " UTC", "Bearer"})
}

// eeAllowed is AuthController#ip_allowed?: each entry a network or an exact
// address; no entries allows everyone [sim: the registry then allows no
// one outside development].
func (s *Simulator) eeAllowed(ip string) bool {
	nets := s.opts.EEAuthAllowedNets
	if len(nets) == 0 {
		return true
	}
	addr, addrErr := netip.ParseAddr(ip)
	addr = addr.Unmap()
	for _, entry := range nets {
		entry = strings.TrimSpace(entry)
		if p, err := netip.ParsePrefix(entry); err == nil {
			if addrErr == nil && p.Contains(addr) {
				return true
			}
			continue
		}
		if e, err := netip.ParseAddr(entry); err == nil {
			if addrErr == nil && e.Unmap() == addr {
				return true
			}
			continue
		}
		if entry == ip {
			return true
		}
	}
	return false
}

// eeClientIP is Rails' request.ip: the peer, unless it is a trusted proxy
// (loopback or private) that forwarded the request, then the nearest
// untrusted X-Forwarded-For entry (or the farthest, if all are trusted).
// Unlike Rails, X-Forwarded-For from an untrusted peer is ignored.
func eeClientIP(r *http.Request) string {
	peer := r.RemoteAddr
	if h, _, err := net.SplitHostPort(peer); err == nil {
		peer = h
	}
	var fwd []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				fwd = append(fwd, f)
			}
		}
	}
	if len(fwd) == 0 || !eeTrustedProxy(peer) {
		return peer
	}
	for i := len(fwd) - 1; i >= 0; i-- {
		if !eeTrustedProxy(fwd[i]) {
			return fwd[i]
		}
	}
	return fwd[0]
}

// eeTrustedProxy is ActionDispatch::RemoteIp::TRUSTED_PROXIES.
func eeTrustedProxy(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	return a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast()
}

// eeParams reads Rails-style params: a JSON or form body, then the query,
// which wins. Values are strings; a JSON false or null counts as blank, a
// JSON array or object is not a usable value.
func eeParams(r *http.Request) (map[string]string, error) {
	params := make(map[string]string)
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) > 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt == "application/json" || strings.HasSuffix(mt, "+json") {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(body, &m); err != nil {
				return nil, err
			}
			for k, raw := range m {
				var v any
				if json.Unmarshal(raw, &v) != nil {
					continue
				}
				switch v := v.(type) {
				case string:
					params[k] = v
				case float64:
					params[k] = string(bytes.TrimSpace(raw))
				case bool:
					if v {
						params[k] = "true"
					}
				}
			}
		} else {
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, err
			}
			for k, v := range form {
				params[k] = v[0]
			}
		}
	}
	for k, v := range r.URL.Query() {
		params[k] = v[0]
	}
	return params, nil
}

// eeListDomains is DomainsController#index.
func (s *Simulator) eeListDomains(w http.ResponseWriter, r *http.Request, c *eeCall, a *Account) {
	q := r.URL.Query()
	limit, offset := eeMaxLimit, 0
	if q.Has("limit") {
		limit = eeRubyInt(q.Get("limit"))
	}
	if q.Has("offset") {
		offset = eeRubyInt(q.Get("offset"))
	}
	if limit > eeMaxLimit || limit < 1 {
		s.eeError(w, c, http.StatusBadRequest, "limit", eeOutOfRange)
		return
	}
	if offset < 0 {
		s.eeError(w, c, http.StatusBadRequest, "offset", eeOutOfRange)
		return
	}
	simple := q.Get("simple") == "true"
	var views []eeView
	var total, count int
	if a != nil {
		s.mu.Lock()
		views, total, count = s.eePage(a, q.Get("tech"), offset, limit)
		s.mu.Unlock()
	}
	out := make([]any, len(views))
	for i := range views {
		switch {
		case c.api == eeRepp:
			out[i] = views[i].repp()
		case simple:
			out[i] = views[i].simple()
		default:
			out[i] = views[i].full()
		}
	}
	eeWriteJSON(w, http.StatusOK, struct {
		Total   int   `json:"total"`
		Count   int   `json:"count"`
		Domains []any `json:"domains"`
	}{total, count, out})
}

// eePage snapshots one page of account a's listing. Caller holds s.mu for
// writing.
func (s *Simulator) eePage(a *Account, tech string, offset, limit int) (views []eeView, total, count int) {
	for {
		scope, n := s.eeScope(a, true)
		if tech != "true" && (tech != "init" || n >= eeTechInitLimit) {
			scope, _ = s.eeScope(a, false)
		}
		page := scope[min(offset, len(scope)):min(len(scope), offset+limit)]
		// A domain that left the inventory without eeForget makes the list
		// compact once more.
		if slices.ContainsFunc(page, func(d *domain) bool { return !s.eeLive(a, d) }) {
			l := s.eeList(a)
			l.dirty, l.admin = true, nil
			continue
		}
		views = make([]eeView, len(page))
		for i, d := range page {
			views[i] = s.eeViewOf(d)
		}
		return views, n, len(scope)
	}
}

// eeShowDomain is DomainsController#show: any domain the user is linked to.
func (s *Simulator) eeShowDomain(w http.ResponseWriter, c *eeCall, a *Account, rawID string) {
	id, ok := eeParseUUID(rawID)
	var view eeView
	s.mu.Lock()
	var d *domain
	if ok {
		d = s.eeFind(a, id)
	}
	if d != nil {
		d.reads++
		view = s.eeViewOf(d)
	}
	s.mu.Unlock()
	if d == nil {
		s.eeNotFound(w, c)
		return
	}
	c.domain = d.name
	s.eeWriteDomain(w, c, view)
}

// eeRegistryLock is RegistryLocksController: find the domain (404), check
// the user administers it (401), then lock or unlock (422 when refused).
func (s *Simulator) eeRegistryLock(w http.ResponseWriter, r *http.Request, c *eeCall, a *Account, rawID string) {
	params, err := eeParams(r)
	if err != nil {
		c.outcome = "Bad Request"
		eeWriteJSON(w, http.StatusBadRequest, map[string]any{"status": 400, "error": "Bad Request"})
		return
	}
	lock := r.Method == http.MethodPost
	id, ok := eeParseUUID(rawID)
	var (
		d       *domain
		view    eeView
		refusal string
		notAdm  bool
	)
	s.mu.Lock()
	if ok {
		d = s.eeFind(a, id)
	}
	if d != nil {
		d.writes++
		e, now := d.ee, s.now()
		switch {
		case e.role == eeRoleTech:
			notAdm = true
		case lock && (e.pending() || e.lockedByRegistrant()):
			refusal = "lock"
		case !lock && !e.lockedByRegistrant():
			refusal = "unlock"
		default:
			verb := "unlocked"
			if lock {
				e.lock(now, strings.EqualFold(params["extensionsProhibited"], "true"))
				verb = "locked"
			} else {
				e.unlock()
			}
			e.updated, e.versions = now, e.versions+1
			e.updator = s.eeUpdator(a)
			e.notes = append(e.notes, "Domain "+d.name+" has been "+verb+" by registrant")
			s.eeSync(d)
		}
		view = s.eeViewOf(d)
	}
	s.mu.Unlock()
	switch {
	case d == nil:
		s.eeNotFound(w, c)
		return
	case notAdm:
		c.domain = d.name
		s.eeError(w, c, http.StatusUnauthorized, "base", eeNotAdmin)
		return
	}
	c.domain = d.name
	switch {
	case refusal == "lock" && c.api == eeRepp:
		s.eeError(w, c, http.StatusBadRequest, "base", eeReppCannotLock)
	case refusal == "lock":
		s.eeError(w, c, http.StatusUnprocessableEntity, "base", eeCannotLock)
	case refusal == "unlock" && c.api == eeRepp:
		s.eeError(w, c, http.StatusBadRequest, "base", eeReppCannotUnlock)
	case refusal == "unlock":
		s.eeError(w, c, http.StatusUnprocessableEntity, "base", eeNotLocked)
	default:
		s.eeWriteDomain(w, c, view)
	}
}

// eeUpdator is updator_str for a change by account a's user:
// RegistrantUser#id_role_username. Caller holds s.mu for writing.
func (s *Simulator) eeUpdator(a *Account) string {
	id, ok := s.ee.userIDs[a.user]
	if !ok {
		id = len(s.ee.userIDs) + 1
		s.ee.userIDs[a.user] = id
	}
	name := s.ee.names[a.user]
	if name == "" {
		name = a.user
	}
	return strconv.Itoa(id) + "-RegistrantUser: " + name
}

func (s *Simulator) eeNotFound(w http.ResponseWriter, c *eeCall) {
	if c.api == eeRepp {
		s.eeError(w, c, http.StatusNotFound, "base", eeReppNotFound)
		return
	}
	s.eeError(w, c, http.StatusNotFound, "base", eeNotFound)
}

// eeError answers {"errors":[{field:[text]}]}, or with a bare string in
// the 2018 draft.
func (s *Simulator) eeError(w http.ResponseWriter, c *eeCall, status int, field, text string) {
	c.outcome = text
	var v any = []string{text}
	if c.api == eeRepp {
		v = text
	}
	eeWriteJSON(w, status, map[string][]map[string]any{"errors": {{field: v}}})
}

func (s *Simulator) eeWriteDomain(w http.ResponseWriter, c *eeCall, v eeView) {
	if c.api == eeRepp {
		eeWriteJSON(w, http.StatusOK, v.repp())
		return
	}
	eeWriteJSON(w, http.StatusOK, v.full())
}

func eeWriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only the simulator's own types get here
	}
	h := w.Header()
	h["Content-Type"] = eeJSONType
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// eeRubyInt is Ruby's String#to_i: leading blanks, a sign, digits; 0 when
// there are none; clamped instead of growing without bound.
func eeRubyInt(s string) int {
	s = strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<40 {
			n = n*10 + int(s[i]-'0')
		}
	}
	if neg {
		return -n
	}
	return n
}

// ---- serializers ----

// eeView is a snapshot of a domain for rendering outside the lock.
type eeView struct {
	name     string
	id       int
	user     string
	username string
	e        eeDomain
}

// eeViewOf snapshots d. Caller holds s.mu.
func (s *Simulator) eeViewOf(d *domain) eeView {
	v := eeView{name: d.name, id: d.id, user: d.account.user, e: *d.ee}
	v.username = s.ee.names[v.user]
	if v.username == "" {
		v.username = v.user
	}
	return v
}

// details returns the domain's serializer fields, generated when unset.
func (v *eeView) details() EEDetails {
	if v.e.details != nil {
		return *v.e.details
	}
	cc, ident, ok := strings.Cut(v.user, "-")
	if !ok || len(cc) != 2 {
		cc, ident = "EE", v.user
	}
	contactID := eeFormatUUID(eeNameUUID("registrant." + v.user))
	return EEDetails{
		Registrar: EERegistrar{Name: "Simulated Registrar AS", Website: "https://registrar.example"},
		Registrant: EERegistrant{Name: v.username, ID: contactID, Ident: ident, IdentType: "priv",
			IdentCountryCode: cc, Phone: "+372.5555555", Email: "registrant@example.ee"},
		AdminContacts: []EEContact{{Name: v.username, ID: contactID, Email: "registrant@example.ee"}},
		TechContacts: []EEContact{{Name: "Simulated Registrar AS", ID: eeFormatUUID(eeNameUUID("tech.registrar.example")),
			Email: "tech@registrar.example"}},
		Nameservers: []EENameserver{
			{Hostname: "ns1.registrar.example", IPv4: []string{"192.0.2.1"}, IPv6: []string{"2001:db8::1"}},
			{Hostname: "ns2.registrar.example", IPv4: []string{"192.0.2.2"}, IPv6: []string{"2001:db8::2"}},
		},
	}
}

func (v *eeView) dates(d EEDetails) (registered, validTo time.Time) {
	registered, validTo = d.RegisteredAt, d.ValidTo
	if registered.IsZero() {
		registered = v.e.created
	}
	if validTo.IsZero() {
		validTo = registered.AddDate(1, 0, 0)
	}
	return registered, validTo
}

func (v *eeView) unicodeName() string {
	if u, err := idna.ToUnicode(v.name); err == nil {
		return u
	}
	return v.name
}

func (v *eeView) transferCode() string {
	h := sha1.Sum([]byte("transfer-code:" + v.name))
	return hex.EncodeToString(h[:8])
}

type eeJSONRegistrar struct {
	Name    string  `json:"name"`
	Website *string `json:"website"`
}

type eeJSONContact struct {
	Name  string `json:"name"`
	ID    string `json:"id"`
	Email string `json:"email"`
}

type eeJSONNameserver struct {
	Hostname string   `json:"hostname"`
	IPv4     []string `json:"ipv4"`
	IPv6     []string `json:"ipv6"`
}

type eeJSONRegistrant struct {
	Name             string `json:"name"`
	ID               string `json:"id"`
	Ident            string `json:"ident"`
	IdentType        string `json:"ident_type"`
	IdentCountryCode string `json:"ident_country_code"`
	Phone            string `json:"phone"`
	Email            string `json:"email"`
	Org              bool   `json:"org"`
}

// eeJSONDomain is Serializers::RegistrantApi::Domain#to_json, in its order.
type eeJSONDomain struct {
	ID                            string             `json:"id"`
	Name                          string             `json:"name"`
	Registrar                     eeJSONRegistrar    `json:"registrar"`
	RegisteredAt                  string             `json:"registered_at"`
	ValidTo                       string             `json:"valid_to"`
	CreatedAt                     string             `json:"created_at"`
	UpdatedAt                     string             `json:"updated_at"`
	Registrant                    eeJSONRegistrant   `json:"registrant"`
	TechContacts                  []eeJSONContact    `json:"tech_contacts"`
	AdminContacts                 []eeJSONContact    `json:"admin_contacts"`
	TransferCode                  string             `json:"transfer_code"`
	NameDirty                     string             `json:"name_dirty"`
	NamePuny                      string             `json:"name_puny"`
	Period                        int                `json:"period"`
	PeriodUnit                    string             `json:"period_unit"`
	CreatorStr                    *string            `json:"creator_str"`
	UpdatorStr                    *string            `json:"updator_str"`
	OutzoneAt                     *string            `json:"outzone_at"`
	DeleteDate                    *string            `json:"delete_date"`
	RegistrantVerificationAskedAt *string            `json:"registrant_verification_asked_at"`
	RegistrantVerificationToken   *string            `json:"registrant_verification_token"`
	PendingJSON                   struct{}           `json:"pending_json"`
	ForceDeleteDate               *string            `json:"force_delete_date"`
	Statuses                      []string           `json:"statuses"`
	LockedByRegistrantAt          *string            `json:"locked_by_registrant_at"`
	StatusNotes                   struct{}           `json:"status_notes"`
	Nameservers                   []eeJSONNameserver `json:"nameservers"`
	DNSSECKeys                    []string           `json:"dnssec_keys"`
	DNSSECChangedAt               *string            `json:"dnssec_changed_at"`
}

// eeJSONSimpleDomain is the serializer's simple_object (simple=true): no
// locked_by_registrant_at.
type eeJSONSimpleDomain struct {
	ID                            string          `json:"id"`
	Name                          string          `json:"name"`
	RegisteredAt                  string          `json:"registered_at"`
	ValidTo                       string          `json:"valid_to"`
	OutzoneAt                     *string         `json:"outzone_at"`
	Statuses                      []string        `json:"statuses"`
	RegistrantVerificationAskedAt *string         `json:"registrant_verification_asked_at"`
	Registrar                     eeJSONRegistrar `json:"registrar"`
	Registrant                    struct {
		Name  string `json:"name"`
		ID    string `json:"id"`
		Phone string `json:"phone"`
		Email string `json:"email"`
		Ident string `json:"ident"`
		Org   bool   `json:"org"`
	} `json:"registrant"`
}

// eeJSONReppDomain is the raw model of the 2018 draft, in its order.
type eeJSONReppDomain struct {
	UUID                          string   `json:"uuid"`
	Name                          string   `json:"name"`
	RegistrarID                   int      `json:"registrar_id"`
	RegisteredAt                  string   `json:"registered_at"`
	Status                        *string  `json:"status"`
	ValidFrom                     string   `json:"valid_from"`
	ValidTo                       string   `json:"valid_to"`
	RegistrantID                  int      `json:"registrant_id"`
	TransferCode                  string   `json:"transfer_code"`
	CreatedAt                     string   `json:"created_at"`
	UpdatedAt                     string   `json:"updated_at"`
	NameDirty                     string   `json:"name_dirty"`
	NamePuny                      string   `json:"name_puny"`
	Period                        int      `json:"period"`
	PeriodUnit                    string   `json:"period_unit"`
	CreatorStr                    *string  `json:"creator_str"`
	UpdatorStr                    *string  `json:"updator_str"`
	LegacyID                      *int     `json:"legacy_id"`
	LegacyRegistrarID             *int     `json:"legacy_registrar_id"`
	LegacyRegistrantID            *int     `json:"legacy_registrant_id"`
	OutzoneAt                     *string  `json:"outzone_at"`
	DeleteAt                      *string  `json:"delete_at"`
	RegistrantVerificationAskedAt *string  `json:"registrant_verification_asked_at"`
	RegistrantVerificationToken   *string  `json:"registrant_verification_token"`
	PendingJSON                   struct{} `json:"pending_json"`
	ForceDeleteAt                 *string  `json:"force_delete_at"`
	Statuses                      []string `json:"statuses"`
	Reserved                      bool     `json:"reserved"`
	StatusNotes                   struct{} `json:"status_notes"`
	StatusesBackup                []string `json:"statuses_backup"`
}

func (v *eeView) full() eeJSONDomain {
	d := v.details()
	registered, validTo := v.dates(d)
	out := eeJSONDomain{
		ID: eeFormatUUID(v.e.uuid), Name: v.unicodeName(),
		Registrar:    eeJSONRegistrar{Name: d.Registrar.Name, Website: eeNullable(d.Registrar.Website)},
		RegisteredAt: eeRailsTime(registered), ValidTo: eeRailsTime(validTo),
		CreatedAt: eeRailsTime(v.e.created), UpdatedAt: eeRailsTime(v.e.updated),
		Registrant: eeJSONRegistrant{Name: d.Registrant.Name, ID: d.Registrant.ID, Ident: d.Registrant.Ident,
			IdentType: d.Registrant.IdentType, IdentCountryCode: d.Registrant.IdentCountryCode,
			Phone: d.Registrant.Phone, Email: d.Registrant.Email, Org: d.Registrant.Org},
		TechContacts: eeContacts(d.TechContacts), AdminContacts: eeContacts(d.AdminContacts),
		TransferCode: v.transferCode(), NameDirty: v.unicodeName(), NamePuny: v.name,
		Period: 1, PeriodUnit: "y", UpdatorStr: eeNullable(v.e.updator),
		Statuses:    eeStatusList(v.e.statuses, eeV1),
		Nameservers: make([]eeJSONNameserver, 0, len(d.Nameservers)),
		DNSSECKeys:  []string{},
	}
	if !v.e.forceDeleteDate.IsZero() {
		out.ForceDeleteDate = eeNullable(eeTallinn(v.e.forceDeleteDate).Format(time.DateOnly))
	}
	if !v.e.lockedAt.IsZero() {
		out.LockedByRegistrantAt = eeNullable(eeRailsTime(v.e.lockedAt))
	}
	for _, ns := range d.Nameservers {
		out.Nameservers = append(out.Nameservers, eeJSONNameserver{Hostname: ns.Hostname,
			IPv4: eeNonNil(ns.IPv4), IPv6: eeNonNil(ns.IPv6)})
	}
	return out
}

func (v *eeView) simple() eeJSONSimpleDomain {
	d := v.details()
	registered, validTo := v.dates(d)
	out := eeJSONSimpleDomain{
		ID: eeFormatUUID(v.e.uuid), Name: v.unicodeName(),
		RegisteredAt: eeRailsTime(registered), ValidTo: eeRailsTime(validTo),
		Statuses:  eeStatusList(v.e.statuses, eeV1),
		Registrar: eeJSONRegistrar{Name: d.Registrar.Name, Website: eeNullable(d.Registrar.Website)},
	}
	out.Registrant.Name, out.Registrant.ID, out.Registrant.Phone = d.Registrant.Name, d.Registrant.ID, d.Registrant.Phone
	out.Registrant.Email, out.Registrant.Ident, out.Registrant.Org = d.Registrant.Email, d.Registrant.Ident, d.Registrant.Org
	return out
}

// repp renders the raw model the 2018 draft shows, with its status names.
// statuses_backup shows the saved statuses [sim: the draft shows [] after
// locking a domain that had none].
func (v *eeView) repp() eeJSONReppDomain {
	d := v.details()
	registered, validTo := v.dates(d)
	out := eeJSONReppDomain{
		UUID: eeFormatUUID(v.e.uuid), Name: v.unicodeName(), RegistrarID: 1,
		RegisteredAt: eeUTCTime(registered), ValidFrom: eeUTCTime(registered), ValidTo: eeUTCTime(validTo),
		RegistrantID: v.id, TransferCode: v.transferCode(),
		CreatedAt: eeUTCTime(v.e.created), UpdatedAt: eeUTCTime(v.e.updated),
		NameDirty: v.unicodeName(), NamePuny: v.name, Period: 1, PeriodUnit: "y",
		UpdatorStr: eeNullable(v.e.updator), Statuses: eeStatusList(v.e.statuses, eeRepp),
		StatusesBackup: eeStatusList(v.e.history, eeRepp),
	}
	if !v.e.forceDeleteDate.IsZero() {
		out.ForceDeleteAt = eeNullable(eeUTCTime(v.e.forceDeleteDate))
	}
	return out
}

// eeStatusList copies statuses for rendering; the draft calls
// serverObjUpdateProhibited serverUpdateProhibited.
func eeStatusList(st []string, api eeAPI) []string {
	out := make([]string, len(st))
	for i, s := range st {
		if api == eeRepp && s == eeServerObjUpdateProhibited {
			s = eeServerUpdateProhibited
		}
		out[i] = s
	}
	return out
}

func eeContacts(cs []EEContact) []eeJSONContact {
	out := make([]eeJSONContact, len(cs))
	for i, c := range cs {
		out[i] = eeJSONContact{Name: c.Name, ID: c.ID, Email: c.Email}
	}
	return out
}

func eeNullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func eeNonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// eeRailsTime renders a time as Rails does for the registry: ISO 8601 with
// milliseconds in the application's zone, Europe/Tallinn.
func eeRailsTime(t time.Time) string {
	return eeTallinn(t).Format("2006-01-02T15:04:05.000-07:00")
}

// eeUTCTime renders a time as the 2018 draft shows them.
func eeUTCTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}

var (
	eeEET  = time.FixedZone("EET", 2*3600)
	eeEEST = time.FixedZone("EEST", 3*3600)
)

// eeTallinn converts t to Estonian time by the EU summer-time rule (last
// Sunday of March to last Sunday of October, 01:00 UTC), so that answers do
// not depend on the host's zone database.
func eeTallinn(t time.Time) time.Time {
	u := t.UTC()
	lastSunday := func(month time.Month) time.Time {
		d := time.Date(u.Year(), month+1, 1, 1, 0, 0, 0, time.UTC).AddDate(0, 0, -1)
		return d.AddDate(0, 0, -int(d.Weekday()))
	}
	if !u.Before(lastSunday(time.March)) && u.Before(lastSunday(time.October)) {
		return u.In(eeEEST)
	}
	return u.In(eeEET)
}

// ---- UUIDs ----

// eeDNSNamespace is RFC 9562's namespace for DNS names.
var eeDNSNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// eeNameUUID is the version 5 UUID of name in the DNS namespace.
func eeNameUUID(name string) [16]byte {
	h := sha1.New()
	h.Write(eeDNSNamespace[:])
	h.Write([]byte(name))
	var id [16]byte
	copy(id[:], h.Sum(nil))
	id[6] = id[6]&0x0f | 0x50
	id[8] = id[8]&0x3f | 0x80
	return id
}

func eeFormatUUID(id [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], id[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], id[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], id[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], id[8:10])
	b[23] = '-'
	hex.Encode(b[24:], id[10:])
	return string(b[:])
}

// eeParseUUID reads a UUID as PostgreSQL's uuid type does: hex digits in
// either case, hyphens after groups of four, optional braces.
func eeParseUUID(s string) ([16]byte, bool) {
	var id [16]byte
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	if len(s) > 45 {
		return id, false
	}
	digits := make([]byte, 0, 32)
	for i := 0; i < len(s); i++ {
		if s[i] == '-' {
			if len(digits) == 0 || len(digits)%4 != 0 || i == len(s)-1 || s[i+1] == '-' {
				return id, false
			}
			continue
		}
		digits = append(digits, s[i])
	}
	if len(digits) != 32 {
		return id, false
	}
	if _, err := hex.Decode(id[:], digits); err != nil {
		return id, false
	}
	return id, true
}
