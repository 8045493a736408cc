package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tasks"
)

// Tokens limited to providers (api.tokens[].providers): a brand or a
// reseller on a shared reglock sees and changes only its accounts'
// domains, and learns nothing of the others':
//
//   - a read of a domain outside its providers (GET, history, forget) is
//     the 404 of a domain not in the inventory, word for word;
//   - a write (lock, unlock, trade-lock) is checked against the provider
//     the domain would have if it were not in the inventory (the request's
//     provider, else its TLD route), so a domain held under another
//     provider and one that would be routed there get the same 403
//     forbidden_provider; the request then names that provider, so that
//     a domain recorded elsewhere in between is refused, not changed;
//   - listings, compliance and sweeps show only its providers.
//
// A token with no providers (and --insecure-no-auth) sees everything.

type providersKey struct{}

// limitedTo returns the providers the request's token is limited to, or
// nil for a token limited to none.
func limitedTo(r *http.Request) []string {
	ps, _ := r.Context().Value(providersKey{}).([]string)
	return ps
}

// mayUse reports whether the request's token may act on provider's domains.
func mayUse(r *http.Request, provider string) bool {
	ps := limitedTo(r)
	return ps == nil || slices.Contains(ps, provider)
}

// forbidProvider refuses a request outside the token's providers. Its
// text names only the token's own providers, never the domain's.
func forbidProvider(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusForbidden, "forbidden_provider", fmt.Sprintf(
		"token %s may act only on domains of %s", tokenName(r), strings.Join(limitedTo(r), ", ")))
}

// notInInventory is the 404 of a domain not in the inventory, and of one
// outside a limited token's providers.
func notInInventory(w http.ResponseWriter, name string) {
	writeError(w, http.StatusNotFound, "not_found", name+" is not in the inventory")
}

// visible reads a domain for a read or a forget: ErrNotFound if it is not
// in the inventory or, for a limited token, is under another provider.
func (s *Server) visible(r *http.Request, name string) (store.Domain, error) {
	d, err := s.Store.Get(r.Context(), name)
	if err != nil {
		return d, err
	}
	if !mayUse(r, d.Desired.Provider) {
		return store.Domain{}, store.ErrNotFound
	}
	return d, nil
}

// historyVisible reports whether a limited token may read the history of
// name: a domain in the inventory under one of its providers, or one no
// longer in it whose last provider was one of them.
func (s *Server) historyVisible(ctx context.Context, r *http.Request, name string) (bool, error) {
	d, err := s.Store.Get(ctx, name)
	switch {
	case err == nil:
		return mayUse(r, d.Desired.Provider), nil
	case !errors.Is(err, store.ErrNotFound):
		return false, err
	}
	cursor := ""
	for range 10 {
		events, next, err := s.Audit.History(ctx, name, cursor, 100)
		if err != nil {
			return false, err
		}
		for _, e := range events {
			if e.Provider != "" {
				return mayUse(r, e.Provider), nil
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return false, nil
}

// scopedProvider is the provider a limited token's lock, unlock or
// trade-lock request is made under: the provider asked for, else the
// domain's (when it is one of the token's), else the TLD route. A domain
// under another provider counts as not in the inventory, so that it gets
// the answer of a new domain. It answers a refusal itself (ok false).
// For an unlimited token it returns asked unchanged.
func (s *Server) scopedProvider(w http.ResponseWriter, r *http.Request, asked string) (string, bool) {
	ps := limitedTo(r)
	if ps == nil {
		return asked, true
	}
	name, err := tasks.NormalizeDomain(r.PathValue("domain"))
	if err != nil {
		s.writeErr(w, err)
		return "", false
	}
	if asked != "" {
		if s.Intents.Known(asked) && !slices.Contains(ps, asked) {
			forbidProvider(w, r)
			return "", false
		}
		// An unknown name is refused by the intent service as usual.
		return asked, true
	}
	p := ""
	d, err := s.Store.Get(r.Context(), name)
	switch {
	case err == nil && slices.Contains(ps, d.Desired.Provider):
		p = d.Desired.Provider
	case err == nil, errors.Is(err, store.ErrNotFound):
		p = s.Intents.Config.Route(name)
	default:
		s.writeErr(w, err)
		return "", false
	}
	if p == "" {
		s.writeErr(w, store.ErrProviderRequired)
		return "", false
	}
	if !slices.Contains(ps, p) {
		forbidProvider(w, r)
		return "", false
	}
	return p, true
}

// scopedErr hides, from a limited token, the provider of a domain held
// under another provider (a request naming its own provider for it).
func scopedErr(r *http.Request, err error) bool {
	var pc *store.ProviderConflictError
	return limitedTo(r) != nil && errors.As(err, &pc) && !mayUse(r, pc.Stored)
}

// sweepVisible reports whether a limited token may see a sweep: one
// started for one of its providers. A sweep of all the accounts (the
// schedule's) holds the others' figures and domains, so it is not shown.
func sweepVisible(r *http.Request, st sweep.Status) bool {
	return limitedTo(r) == nil || (st.Options.Provider != "" && mayUse(r, st.Options.Provider))
}
