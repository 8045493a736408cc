package rdap

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// RFC 8056 status names that this package reads.
const (
	StatusActive                   = "active"
	StatusClientTransferProhibited = "client transfer prohibited"
	StatusServerTransferProhibited = "server transfer prohibited"
	StatusPendingTransfer          = "pending transfer"
)

// Domain is the registry's view of a domain, as its RDAP server answered.
// A zero time is an event the answer did not carry (or carried unreadable).
type Domain struct {
	// Name is the ldhName, lowercase, without a trailing dot.
	Name string
	// Statuses are the RFC 8056 names, lowercase, in the order given.
	Statuses []string
	// TransferProhibited: "client transfer prohibited" or "server transfer
	// prohibited".
	TransferProhibited bool
	// ServerTransferProhibited: the registry's own lock.
	ServerTransferProhibited bool
	// PendingTransfer: a transfer was requested and is not complete.
	PendingTransfer bool

	Registered  time.Time
	Transferred time.Time
	LastChanged time.Time
	Expires     time.Time
	// DatabaseUpdated is "last update of RDAP database": how old the
	// answer is.
	DatabaseUpdated time.Time
}

// Has reports whether the domain has status (an RFC 8056 name).
func (d Domain) Has(status string) bool { return slices.Contains(d.Statuses, status) }

// ClientTransferProhibited reports "client transfer prohibited": where a
// registrar's lock shows in RDAP.
func (d Domain) ClientTransferProhibited() bool { return d.Has(StatusClientTransferProhibited) }

// ErrMalformed is an answer that is not an RDAP domain object.
var ErrMalformed = errors.New("rdap: malformed answer")

// ParseDomain parses an RDAP domain object (RFC 9083 section 5.3). Status
// values are read as RFC 8056 names, case-insensitively; an EPP spelling
// ("clientTransferProhibited", "ok"), which some servers send, is mapped to
// its RFC 8056 name. It returns an error wrapping ErrMalformed, never
// panics, for anything that is not a domain object.
func ParseDomain(data []byte) (Domain, error) {
	var raw struct {
		ObjectClassName *string         `json:"objectClassName"`
		LDHName         string          `json:"ldhName"`
		Status          []string        `json:"status"`
		Events          []event         `json:"events"`
		ErrorCode       json.RawMessage `json:"errorCode"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Domain{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch {
	case raw.ErrorCode != nil:
		return Domain{}, fmt.Errorf("%w: an error object, not a domain", ErrMalformed)
	case raw.ObjectClassName != nil && *raw.ObjectClassName != "domain":
		return Domain{}, fmt.Errorf("%w: objectClassName %q, want \"domain\"", ErrMalformed, clip(*raw.ObjectClassName))
	case raw.ObjectClassName == nil && raw.LDHName == "":
		return Domain{}, fmt.Errorf("%w: neither objectClassName nor ldhName", ErrMalformed)
	}
	d := Domain{Name: strings.TrimSuffix(strings.ToLower(raw.LDHName), ".")}
	for _, s := range raw.Status {
		s = StatusName(s)
		if s == "" || slices.Contains(d.Statuses, s) {
			continue
		}
		d.Statuses = append(d.Statuses, s)
		switch s {
		case StatusClientTransferProhibited:
			d.TransferProhibited = true
		case StatusServerTransferProhibited:
			d.TransferProhibited, d.ServerTransferProhibited = true, true
		case StatusPendingTransfer:
			d.PendingTransfer = true
		}
	}
	for _, e := range raw.Events {
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(e.Date))
		if err != nil {
			continue // unreadable: as if not given
		}
		switch strings.ToLower(strings.TrimSpace(e.Action)) {
		case "registration":
			d.Registered = t
		case "transfer":
			d.Transferred = later(d.Transferred, t)
		case "last changed":
			d.LastChanged = later(d.LastChanged, t)
		case "expiration":
			d.Expires = t
		case "last update of rdap database":
			d.DatabaseUpdated = t
		}
	}
	return d, nil
}

// event is an RDAP event; eventActor and links are not read.
type event struct {
	Action string `json:"eventAction"`
	Date   string `json:"eventDate"`
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// StatusName returns the RFC 8056 name of an RDAP status value: trimmed,
// lowercase, single-spaced; an EPP spelling such as
// "clientTransferProhibited" becomes "client transfer prohibited", and EPP's
// "ok" becomes "active".
func StatusName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	if !strings.ContainsRune(s, ' ') {
		// camelCase: a space where a lower-case letter meets an upper-case one.
		var b strings.Builder
		prevLower := false
		for _, r := range s {
			if unicode.IsUpper(r) && prevLower {
				b.WriteByte(' ')
			}
			prevLower = unicode.IsLower(r)
			b.WriteRune(unicode.ToLower(r))
		}
		s = b.String()
	}
	s = strings.Join(strings.Fields(strings.ToLower(s)), " ")
	if s == "ok" {
		return StatusActive
	}
	return s
}

// clip bounds text from the network that goes into an error.
func clip(s string) string {
	const max = 80
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
