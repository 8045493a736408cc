package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Uses says which parts of the configuration a process uses, for LoadFor
// and ParseFor: a ${NAME} that is set nowhere, or a credential left empty
// (${NAME:-}), is an error only in a part the process uses. One file can then serve every role on a host, and each
// process needs only its own role's secrets: a worker does not need the
// API's tokens, an API process not the registrars' credentials.
//
// Everything outside the three parts below (redis, listen addresses,
// policy, the providers' names, types and tlds, ...) is always used.
type Uses struct {
	// API: the process serves /v1, so api.tokens are used.
	API bool
	// Registrars: the process talks to registrars, so each provider's
	// endpoint and credential keys are used.
	Registrars bool
	// Deliveries: the process delivers webhooks, so each notification's
	// url and secret are used.
	Deliveries bool
}

// UsesAll is every part: what Load and Parse check.
var UsesAll = Uses{API: true, Registrars: true, Deliveries: true}

// registrarKeys are the provider keys only a process that talks to the
// registrar uses.
var registrarKeys = []string{"endpoint", "username", "password", "key", "identifier", "secret", "api", "token", "eid"}

// Needs reports whether a process that uses u uses the key at path (a
// Problem's Key: providers[0].password, api.tokens[1].token, ...).
func (u Uses) Needs(path string) bool {
	list, rest, ok := cutItem(path)
	if !ok {
		return true
	}
	field, _, _ := strings.Cut(rest, ".")
	switch list {
	case "api.tokens":
		return u.API
	case "providers":
		return u.Registrars || !slices.Contains(registrarKeys, field)
	case "notifications":
		return u.Deliveries || (field != "url" && field != "secret")
	}
	return true
}

// cutItem splits "providers[2].eid.ident" into "providers", "eid.ident".
func cutItem(path string) (list, rest string, ok bool) {
	i := strings.IndexByte(path, '[')
	j := strings.IndexByte(path, ']')
	if i < 0 || j < i {
		return "", "", false
	}
	return path[:i], strings.TrimPrefix(path[j+1:], "."), true
}

// itemIndex is the list index in a path like api.tokens[3].token, or -1.
func itemIndex(path string) int {
	i := strings.IndexByte(path, '[')
	j := strings.IndexByte(path, ']')
	if i < 0 || j < i {
		return -1
	}
	n, err := strconv.Atoi(path[i+1 : j])
	if err != nil {
		return -1
	}
	return n
}

// Skipped lists the problems found in parts of the configuration this
// process does not use (see Uses), in file order, as they would have been
// reported: ${NAME}s set nowhere, credentials left empty. They are errors
// for the processes that use those parts; `reglock config check` shows
// them per role. Their keys keep their defaults, and an API token with
// one is left out.
func (c *Config) Skipped() []Problem { return slices.Clone(c.skipped) }

// settleSkipped applies what the skipped problems mean to cfg: a token
// with a problem is dropped (this process serves no API, and a token it
// could not check must not authenticate anything).
func (d *decoder) settleSkipped(cfg *Config) {
	drop := map[int]bool{}
	for _, p := range d.skipped {
		if list, _, ok := cutItem(p.Key); ok && list == "api.tokens" {
			drop[itemIndex(p.Key)] = true
		}
	}
	if len(drop) > 0 {
		kept := cfg.API.Tokens[:0:0]
		for i, t := range cfg.API.Tokens {
			if !drop[i] {
				kept = append(kept, t)
			}
		}
		cfg.API.Tokens = kept
	}
	cfg.skipped = d.skipped
}

// skippedAt reports whether the key at path has a skipped problem.
func (d *decoder) skippedAt(path string) bool {
	for _, p := range d.skipped {
		if p.Key == path {
			return true
		}
	}
	return false
}

// CheckListen checks a listen address given outside the file (reglock's
// --listen and REGLOCK_LISTEN) as api.listen and worker.listen are checked.
func CheckListen(addr string) error {
	if reason := checkHostPort(addr, false); reason != "" {
		return fmt.Errorf("%s", reason)
	}
	return nil
}
