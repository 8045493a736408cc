package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// LockRequest is the optional body of POST /v1/domains/{domain}/lock.
type LockRequest struct {
	Provider    string `json:"provider,omitempty"`
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
}

// UnlockRequest is the optional body of DELETE /v1/domains/{domain}/lock.
type UnlockRequest struct {
	RelockAfter string `json:"relock_after,omitempty"`
	// ForTransfer keeps the domain unlocked until it leaves the account
	// (the transfer is done: recorded, and the domain forgotten) or the
	// window ends (relocked; default intent.DefaultTransferWindow).
	ForTransfer bool   `json:"for_transfer,omitempty"`
	Provider    string `json:"provider,omitempty"`
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
}

// TradeLockRequest is the body of PUT /v1/domains/{domain}/trade-lock.
type TradeLockRequest struct {
	Enable      *bool  `json:"enable"`
	ConsentIP   string `json:"consent_ip"`
	Provider    string `json:"provider,omitempty"`
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
}

func (s *Server) lock(w http.ResponseWriter, r *http.Request) {
	var b LockRequest
	if !decodeBody(w, r, &b, true) {
		return
	}
	provider, ok := s.scopedProvider(w, r, b.Provider)
	if !ok {
		return
	}
	acc, err := s.Intents.Lock(r.Context(), intent.Request{
		Domain: r.PathValue("domain"), Provider: provider, Reason: b.Reason, RequestedBy: requester(r, b.RequestedBy),
		Token: tokenName(r),
	})
	s.accepted(w, r, acc, err)
}

func (s *Server) unlock(w http.ResponseWriter, r *http.Request) {
	var b UnlockRequest
	if !decodeBody(w, r, &b, true) {
		return
	}
	provider, ok := s.scopedProvider(w, r, b.Provider)
	if !ok {
		return
	}
	req := intent.Request{Domain: r.PathValue("domain"), Provider: provider, Reason: b.Reason,
		RequestedBy: requester(r, b.RequestedBy), Token: tokenName(r), ForTransfer: b.ForTransfer}
	if b.RelockAfter != "" {
		d, err := time.ParseDuration(b.RelockAfter)
		if err != nil || d <= 0 {
			writeError(w, http.StatusBadRequest, "invalid_field", fmt.Sprintf("relock_after: %q is not a positive duration such as \"72h\"", b.RelockAfter))
			return
		}
		req.RelockAfter = d
	}
	acc, err := s.Intents.Unlock(r.Context(), req)
	s.accepted(w, r, acc, err)
}

func (s *Server) tradeLock(w http.ResponseWriter, r *http.Request) {
	var b TradeLockRequest
	if !decodeBody(w, r, &b, false) {
		return
	}
	if b.Enable == nil {
		writeError(w, http.StatusBadRequest, "invalid_field", "enable: required (true or false)")
		return
	}
	ip, err := netip.ParseAddr(b.ConsentIP)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_field", fmt.Sprintf("consent_ip: %q is not an IP address", b.ConsentIP))
		return
	}
	provider, ok := s.scopedProvider(w, r, b.Provider)
	if !ok {
		return
	}
	acc, err := s.Intents.TradeLock(r.Context(), intent.Request{
		Domain: r.PathValue("domain"), Provider: provider, Reason: b.Reason,
		RequestedBy: requester(r, b.RequestedBy), Token: tokenName(r), TradeEnable: *b.Enable, ConsentIP: ip,
	})
	s.accepted(w, r, acc, err)
}

// requester is who asked: the body's requested_by, else the token's name.
func requester(r *http.Request, given string) string {
	if given != "" {
		return given
	}
	return "token:" + tokenName(r)
}

// accepted answers an accepted change, or the error that refused it.
func (s *Server) accepted(w http.ResponseWriter, r *http.Request, acc intent.Accepted, err error) {
	if scopedErr(r, err) {
		forbidProvider(w, r)
		return
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, AcceptedOf(acc))
}

func (s *Server) getDomain(w http.ResponseWriter, r *http.Request) {
	name, err := tasks.NormalizeDomain(r.PathValue("domain"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	d, err := s.visible(r, name)
	if errors.Is(err, store.ErrNotFound) {
		notInInventory(w, name)
		return
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := DomainOf(d)
	s.describe(r.Context(), d, &out)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		switch k {
		case "provider", "drift", "cursor", "limit":
		default:
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown query parameter %q (known: provider, drift, cursor, limit)", k))
			return
		}
	}
	opt := store.ListOptions{Provider: q.Get("provider"), Cursor: q.Get("cursor")}
	if opt.Provider != "" && !s.Intents.Known(opt.Provider) {
		s.writeErr(w, fmt.Errorf("%w %q", intent.ErrUnknownProvider, opt.Provider))
		return
	}
	if opt.Provider != "" && !mayUse(r, opt.Provider) {
		forbidProvider(w, r)
		return
	}
	if ps := limitedTo(r); opt.Provider == "" && len(ps) == 1 {
		opt.Provider = ps[0]
	}
	if v := q.Get("drift"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("drift: %q is not true or false", v))
			return
		}
		opt.Drift = b
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("limit: %q is not a number from 1 to 1000", v))
			return
		}
		opt.Limit = n
	}
	page, err := s.Store.List(r.Context(), opt)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := DomainList{Domains: make([]Domain, 0, len(page.Domains))}
	for _, d := range page.Domains {
		// A token limited to several providers: the others' are left out
		// (a page may hold fewer domains than the limit, as it may anyway).
		if mayUse(r, d.Desired.Provider) {
			out.Domains = append(out.Domains, DomainOf(d))
		}
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	writeJSON(w, http.StatusOK, out)
}

// Accepted is the answer to an accepted change (202).
type Accepted struct {
	Domain     string  `json:"domain"`
	Generation int64   `json:"generation"`
	TaskID     string  `json:"task_id"`
	Desired    Desired `json:"desired"`
}

// Desired is a domain's desired state.
type Desired struct {
	Locked       bool       `json:"locked"`
	TradeLock    *bool      `json:"trade_lock"`
	TradeApplied *bool      `json:"trade_lock_applied,omitempty"`
	RelockAt     *time.Time `json:"relock_at"`
	// ForTransfer: unlocked for a transfer away.
	ForTransfer bool `json:"for_transfer,omitempty"`
}

// Observed is the registrar's lock as last read.
type Observed struct {
	Locked     *bool      `json:"locked"`
	CheckedAt  *time.Time `json:"checked_at"`
	Error      *string    `json:"error"`
	ByRegistry bool       `json:"by_registry,omitempty"`
	Pending    bool       `json:"pending,omitempty"`
	Indirect   bool       `json:"indirect,omitempty"`
	// TransferPending: a transfer away is pending at the registry.
	TransferPending bool `json:"transfer_pending,omitempty"`
}

// Domain is a domain's record: GET /v1/domains/{domain}.
type Domain struct {
	Domain     string   `json:"domain"`
	Provider   string   `json:"provider"`
	Generation int64    `json:"generation"`
	Desired    Desired  `json:"desired"`
	Observed   Observed `json:"observed"`
	InSync     bool     `json:"in_sync"`
	// Intent says who asked for the current intent and why (GET of one
	// domain only: from its history).
	Intent *IntentInfo `json:"intent,omitempty"`
	// Task is the queued or retrying task of its pending work, if any.
	Task *TaskInfo `json:"task,omitempty"`
	// Relock is the end of its unlock window, if one is open.
	Relock *RelockInfo `json:"relock,omitempty"`
}

// DomainList is a page of GET /v1/domains.
type DomainList struct {
	Domains    []Domain `json:"domains"`
	NextCursor *string  `json:"next_cursor"`
}

func desiredOf(d store.Domain) Desired {
	out := Desired{Locked: d.Desired.Locked, TradeLock: d.Desired.TradeLock, ForTransfer: d.Desired.ForTransfer && !d.Desired.Locked}
	if d.Desired.TradeLock != nil {
		applied := d.Desired.TradeApplied
		out.TradeApplied = &applied
	}
	if !d.Desired.RelockAt.IsZero() {
		t := d.Desired.RelockAt
		out.RelockAt = &t
	}
	return out
}

// DomainOf renders a stored record.
func DomainOf(d store.Domain) Domain {
	out := Domain{
		Domain: d.Name, Provider: d.Desired.Provider, Generation: d.Desired.Generation,
		Desired: desiredOf(d), InSync: d.InSync(),
	}
	o := d.Observed
	if o.Known {
		locked, at := o.Locked, o.CheckedAt
		out.Observed.Locked, out.Observed.CheckedAt = &locked, &at
		out.Observed.ByRegistry = o.Flags&store.FlagByRegistry != 0
		out.Observed.Pending = o.Flags&store.FlagPending != 0
		out.Observed.Indirect = o.Flags&store.FlagIndirect != 0
		out.Observed.TransferPending = o.Flags&store.FlagTransfer != 0
	}
	if o.Error != "" {
		e := o.Error
		out.Observed.Error = &e
	}
	return out
}

// AcceptedOf renders an accepted change.
func AcceptedOf(acc intent.Accepted) Accepted {
	return Accepted{
		Domain:     acc.Domain.Name,
		Generation: acc.Domain.Desired.Generation,
		TaskID:     acc.TaskID,
		Desired:    desiredOf(acc.Domain),
	}
}
