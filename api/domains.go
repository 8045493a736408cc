package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

func (s *Server) lock(w http.ResponseWriter, r *http.Request) {
	var b client.LockRequest
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
	var b client.UnlockRequest
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
	var b client.TradeLockRequest
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
	out := client.DomainList{Domains: make([]client.Domain, 0, len(page.Domains))}
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

func desiredOf(d store.Domain) client.Desired {
	out := client.Desired{Locked: d.Desired.Locked, TradeLock: d.Desired.TradeLock, ForTransfer: d.Desired.ForTransfer && !d.Desired.Locked}
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
func DomainOf(d store.Domain) client.Domain {
	out := client.Domain{
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
func AcceptedOf(acc intent.Accepted) client.Accepted {
	return client.Accepted{
		Domain:     acc.Domain.Name,
		Generation: acc.Domain.Desired.Generation,
		TaskID:     acc.TaskID,
		Desired:    desiredOf(acc.Domain),
	}
}
