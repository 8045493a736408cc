package ee

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"github.com/reglock/reglock/providers"
)

// Bounds on what the parsers keep, so that a hostile or broken answer costs
// at most a little more than its (already bounded) size.
const (
	maxStatuses = 64   // a domain has a handful
	maxMessages = 16   // error messages kept
	maxText     = 512  // characters kept of one message
	maxToken    = 4096 // bytes of an access token
)

var (
	// errTruncated is an answer that stops in the middle of its JSON.
	errTruncated = errors.New("truncated answer")
	// errMalformed is an answer that is not the JSON the registry sends.
	errMalformed = errors.New("malformed answer")
	// errInconsistent is a listing whose pages do not add up to its count.
	errInconsistent = errors.New("inconsistent listing")
)

// The statuses that make up a registry lock: Domain::RegistryLockable
// ::LOCK_STATUSES since the registry's 2021 change (commit 700d61988, which
// dropped the enable_lock_domain_with_new_statuses switch) has
// serverObjUpdateProhibited where the locks set before it have
// serverUpdateProhibited (as the 2018 draft and the registrant portal's
// 2018 recording show).
const (
	statusObjUpdateProhibited = "serverObjUpdateProhibited"
	statusUpdateProhibited    = "serverUpdateProhibited"
	statusDeleteProhibited    = "serverDeleteProhibited"
	statusTransferProhibited  = "serverTransferProhibited"
	statusClientTransferProh  = "clientTransferProhibited"
)

// pendingStatuses are those in which the registry refuses a lock
// (registry_lockable?).
var pendingStatuses = []string{"pendingDeleteConfirmation", "pendingCreate", "pendingUpdate",
	"pendingDelete", "pendingRenew", "pendingTransfer"}

// domainObject is what reglock reads of a domain object: the serializer's
// (api/v1), its simple form (simple=true), or the draft's raw model (repp).
type domainObject struct {
	// id is the UUID, lowercase.
	id string
	// name is the lowercase A-label (name_puny, or name converted).
	name     string
	statuses []string
	// lockedAt is set when locked_by_registrant_at is not null; hasLockedAt
	// when the key is there at all.
	lockedAt    bool
	hasLockedAt bool
}

func (o domainObject) has(status string) bool { return slices.Contains(o.statuses, status) }

// registrantLock reports whether the registrant locked the domain through
// this API (mine), and whether that lock has the statuses of before the
// registry's 2021 change (legacy). Who locked it decides, not the status
// set alone [decision, from Domain::RegistryLockable and its history]:
//
//   - locked_by_registrant_at is set only by the registrant's registry
//     lock (apply_statuses_locked_statuses) and cleared by its removal;
//     an admin or the registry setting the same statuses leaves it null;
//   - with it set, serverDeleteProhibited, serverTransferProhibited and
//     either serverObjUpdateProhibited (since 2021) or
//     serverUpdateProhibited (before) make the lock the registrant's.
//     The registry's own predicate (locked_by_registrant?) knows only the
//     set of its version: HEAD does not count a pre-2021 lock as the
//     registrant's and refuses to remove it (SetLock says so);
//   - a lock status missing (an admin removed it) means the lock is no
//     longer the registrant's, as the registry reads it too.
//
// The draft's raw model (repp) has no timestamp, so there the three
// statuses alone count: repp cannot tell a registrant lock from the same
// statuses set by an admin.
func (o domainObject) registrantLock(api string) (mine, legacy bool) {
	if !o.has(statusDeleteProhibited) || !o.has(statusTransferProhibited) {
		return false, false
	}
	newSet, oldSet := o.has(statusObjUpdateProhibited), o.has(statusUpdateProhibited)
	if api != APIRepp && !o.lockedAt {
		return false, false
	}
	// The draft's locks are serverUpdateProhibited ones: nothing legacy.
	return newSet || oldSet, api != APIRepp && oldSet && !newSet
}

// state reads providers.State from the object [decision]:
//
//   - Locked: locked by the registrant (registrantLock), or transfers
//     blocked by a status someone else set (serverTransferProhibited: the
//     registry, an admin, force delete; clientTransferProhibited: the
//     registrar);
//   - ByRegistry: transfers blocked, but not by the registrant's registry
//     lock. reglock never tries to remove it; DELETE registry_lock would be
//     refused anyway;
//   - Pending: any status in which the registry refuses to lock.
func (o domainObject) state(api string) providers.State {
	mine, _ := o.registrantLock(api)
	blocked := o.has(statusTransferProhibited) || o.has(statusClientTransferProh)
	return providers.State{
		Locked:     mine || blocked,
		ByRegistry: blocked && !mine,
		Pending:    slices.ContainsFunc(o.statuses, func(s string) bool { return slices.Contains(pendingStatuses, s) }),
		// The registry's own word for a transfer away under way.
		PendingTransfer: o.has("pendingTransfer"),
	}
}

func (o domainObject) statusList() string { return "[" + strings.Join(o.statuses, ", ") + "]" }

// wireDomain is the part of a domain object reglock reads; the rest
// (registrar, contacts, nameservers, ...) is skipped by the decoder without
// being kept.
type wireDomain struct {
	ID       json.RawMessage `json:"id"`
	UUID     json.RawMessage `json:"uuid"`
	Name     json.RawMessage `json:"name"`
	NamePuny json.RawMessage `json:"name_puny"`
	Statuses json.RawMessage `json:"statuses"`
	// LockedAt is nil when the key is absent, "null" when it is null.
	LockedAt json.RawMessage `json:"locked_by_registrant_at"`
}

// parseDomain decodes one domain object. It never panics. full requires
// locked_by_registrant_at in api/v1: without it the lock cannot be read.
func parseDomain(body []byte, api string, full bool) (domainObject, error) {
	var w *wireDomain
	if err := decode(body, &w); err != nil {
		return domainObject{}, err
	}
	return domainFrom(w, api, full)
}

func domainFrom(w *wireDomain, api string, full bool) (domainObject, error) {
	if w == nil {
		return domainObject{}, fmt.Errorf("%w: not a domain object", errMalformed)
	}
	idField, otherField, idKey, otherKey := w.ID, w.UUID, "id", "uuid"
	if api == APIRepp {
		idField, otherField, idKey, otherKey = w.UUID, w.ID, "uuid", "id"
	}
	var o domainObject
	id, err := stringField(idField, idKey)
	if err == nil && id == "" {
		id, err = stringField(otherField, otherKey)
	}
	if err != nil {
		return domainObject{}, err
	}
	if o.id = strings.ToLower(id); !isUUID(o.id) {
		return domainObject{}, fmt.Errorf("%w: domain id %q is not a UUID", errMalformed, providers.Snippet([]byte(id)))
	}
	if o.name, err = domainName(w); err != nil {
		return domainObject{}, err
	}
	if w.Statuses == nil {
		return domainObject{}, fmt.Errorf("%w: domain %s has no statuses", errMalformed, o.name)
	}
	if err := json.Unmarshal(w.Statuses, &o.statuses); err != nil {
		return domainObject{}, fmt.Errorf("%w: statuses of %s are not a list of strings", errMalformed, o.name)
	}
	if len(o.statuses) > maxStatuses {
		return domainObject{}, fmt.Errorf("%w: %s has %d statuses", errMalformed, o.name, len(o.statuses))
	}
	if w.LockedAt != nil {
		o.hasLockedAt = true
		var s *string
		if err := json.Unmarshal(w.LockedAt, &s); err != nil {
			return domainObject{}, fmt.Errorf("%w: locked_by_registrant_at of %s is not a time", errMalformed, o.name)
		}
		o.lockedAt = s != nil && *s != ""
	}
	if full && api == APIV1 && !o.hasLockedAt {
		return domainObject{}, fmt.Errorf("%w: domain %s has no locked_by_registrant_at", errMalformed, o.name)
	}
	return o, nil
}

// domainName reads name_puny, or converts name (the simple object has only
// the Unicode name), to a lowercase A-label.
func domainName(w *wireDomain) (string, error) {
	name, err := stringField(w.NamePuny, "name_puny")
	if err == nil && name == "" {
		name, err = stringField(w.Name, "name")
	}
	if err != nil {
		return "", err
	}
	lower := strings.ToLower(name)
	ascii := lower
	if !isLDH(lower) {
		ascii, err = idna.Lookup.ToASCII(lower)
	}
	if name == "" || err != nil || len(ascii) > 253 || !strings.Contains(ascii, ".") {
		return "", fmt.Errorf("%w: domain name %q", errMalformed, providers.Snippet([]byte(name)))
	}
	return ascii, nil
}

// isLDH reports whether s is already a plain lowercase ASCII name, which
// needs no IDNA conversion (the common case, kept cheap for listings).
func isLDH(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return s != "" && !strings.Contains(s, "..") && s[0] != '.' && s[0] != '-'
}

// stringField reads an optional string; null and absent are "".
func stringField(v json.RawMessage, key string) (string, error) {
	if v == nil {
		return "", nil
	}
	var s *string
	if err := json.Unmarshal(v, &s); err != nil {
		return "", fmt.Errorf("%w: %s is not a string", errMalformed, key)
	}
	if s == nil {
		return "", nil
	}
	return *s, nil
}

// isUUID accepts the canonical 8-4-4-4-12 lowercase form, the only one the
// client puts into a path.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case (c < '0' || c > '9') && (c < 'a' || c > 'f'):
			return false
		}
	}
	return true
}

// listPage is one page of GET domains.
type listPage struct {
	// count is the size of the listed set before paging; -1 when the
	// answer has none.
	count   int
	domains []domainObject
}

// parseList decodes {"total","count","domains":[...]}; a bare array, as
// the 2018 document shows the listing, is accepted too.
func parseList(body []byte, api string, full bool) (listPage, error) {
	var items []*wireDomain
	page := listPage{count: -1}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
		if err := decode(body, &items); err != nil {
			return listPage{}, err
		}
	} else {
		var env struct {
			Count   *json.Number   `json:"count"`
			Domains *[]*wireDomain `json:"domains"`
		}
		if err := decode(body, &env); err != nil {
			return listPage{}, err
		}
		if env.Domains == nil {
			return listPage{}, fmt.Errorf("%w: listing has no domains", errMalformed)
		}
		items = *env.Domains
		if env.Count != nil {
			n, err := env.Count.Int64()
			if err != nil || n < 0 {
				return listPage{}, fmt.Errorf("%w: listing count %q", errMalformed, env.Count.String())
			}
			page.count = int(min(n, 1<<40))
		}
	}
	page.domains = make([]domainObject, 0, len(items))
	for _, raw := range items {
		o, err := domainFrom(raw, api, full)
		if err != nil {
			return listPage{}, err
		}
		page.domains = append(page.domains, o)
	}
	return page, nil
}

// apiMessage is one error message: errors: [{field: [text]}].
type apiMessage struct{ field, text string }

// parseErrors reads an error body in any of the registry's shapes and never
// fails: {"errors":[{"base":["..."]}]} (api/v1), {"errors":[{"base":"..."}]}
// (the 2018 draft), {"errors":{"base":[...]}}, {"error":"..."} (the
// registry before 2018). It keeps at most maxMessages of maxText each.
func parseErrors(body []byte) []apiMessage {
	var env struct {
		Errors json.RawMessage `json:"errors"`
		Error  json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &env) != nil {
		return nil
	}
	var out []apiMessage
	add := func(field, text string) {
		if text = strings.TrimSpace(text); text != "" && len(out) < maxMessages {
			if len(text) > maxText {
				text = text[:maxText] + "…"
			}
			out = append(out, apiMessage{field, text})
		}
	}
	var value func(field string, raw json.RawMessage, depth int)
	value = func(field string, raw json.RawMessage, depth int) {
		var v any
		if depth > 3 || json.Unmarshal(raw, &v) != nil {
			return
		}
		switch v := v.(type) {
		case string:
			add(field, v)
		case []any:
			var items []json.RawMessage
			json.Unmarshal(raw, &items)
			for _, it := range items {
				value(field, it, depth+1)
			}
		case map[string]any:
			var obj map[string]json.RawMessage
			json.Unmarshal(raw, &obj)
			keys := make([]string, 0, len(obj))
			for k := range obj {
				keys = append(keys, k)
			}
			// base first, then the rest in a stable order.
			slices.SortFunc(keys, func(a, b string) int {
				switch {
				case a == b:
					return 0
				case a == "base":
					return -1
				case b == "base":
					return 1
				}
				return strings.Compare(a, b)
			})
			for _, k := range keys {
				value(k, obj[k], depth+1)
			}
		case nil:
		default:
			add(field, string(raw))
		}
	}
	if len(env.Errors) > 0 {
		value("", env.Errors, 0)
	}
	if len(env.Error) > 0 {
		value("error", env.Error, 0)
	}
	return out
}

// authAnswer is POST auth/eid's answer.
type authAnswer struct {
	token string
	// expiresAt is zero when the answer has no readable expires_at.
	expiresAt time.Time
}

// parseAuth decodes {"access_token","expires_at","type":"Bearer"}.
// expires_at is "2018-07-13 11:30:51 UTC"; RFC 3339 is accepted too.
// Errors never quote the token.
func parseAuth(body []byte) (authAnswer, error) {
	var v struct {
		AccessToken *string `json:"access_token"`
		ExpiresAt   *string `json:"expires_at"`
		Type        *string `json:"type"`
	}
	if err := decode(body, &v); err != nil {
		return authAnswer{}, err
	}
	if v.AccessToken == nil || *v.AccessToken == "" {
		return authAnswer{}, fmt.Errorf("%w: login answer has no access_token", errMalformed)
	}
	tok := *v.AccessToken
	if len(tok) > maxToken || strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r >= 0x7f }) {
		return authAnswer{}, fmt.Errorf("%w: access_token is not a usable token", errMalformed)
	}
	if v.Type != nil && !strings.EqualFold(*v.Type, "Bearer") {
		return authAnswer{}, fmt.Errorf("%w: token type %q, want Bearer", errMalformed, providers.Snippet([]byte(*v.Type)))
	}
	a := authAnswer{token: tok}
	if v.ExpiresAt != nil {
		for _, layout := range []string{"2006-01-02 15:04:05 MST", time.RFC3339} {
			if t, err := time.Parse(layout, strings.TrimSpace(*v.ExpiresAt)); err == nil {
				a.expiresAt = t
				break
			}
		}
	}
	return a, nil
}

// decode unmarshals JSON, telling a cut-off answer from a broken one.
func decode(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) && se.Offset >= int64(len(bytes.TrimRight(body, " \t\r\n"))) {
		return errTruncated
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return fmt.Errorf("%w: empty answer", errMalformed)
	}
	return fmt.Errorf("%w: %v", errMalformed, err)
}
