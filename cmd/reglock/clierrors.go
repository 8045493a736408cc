package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/english"
)

// The CLI's requests go through the HTTP API (over the network, or in
// process with --config), whose errors name JSON fields ("give
// \"provider\"", "relock_after: ...") and Go durations ("8784h0m0s"). A
// person at the CLI typed flags: forCLI says it in those words.

// apiFlags maps the API's request fields to the CLI flags that set them.
var apiFlags = map[string]string{
	"provider":     "--provider",
	"reason":       "--reason",
	"requested_by": "--requested-by",
	"relock_after": "--relock-after",
	"for_transfer": "--for-transfer",
	"enable":       "--enable",
	"consent_ip":   "--consent-ip",
	"dry_run":      "--dry-run",
}

var (
	// fieldRef is a field named in a message: "provider" in quotes, or
	// relock_after: at the start of a clause.
	fieldRef = regexp.MustCompile(`"(provider|reason|requested_by|relock_after|for_transfer|enable|consent_ip|dry_run)"|(^|: |; )(provider|reason|requested_by|relock_after|for_transfer|enable|consent_ip|dry_run):`)
	// goDuration is a Go duration as time.Duration.String writes it.
	goDuration = regexp.MustCompile(`\b\d+h\d+m\d+(?:\.\d+)?s\b|\b\d+m\d+(?:\.\d+)?s\b`)
)

// cliAPIError is an API error as the CLI says it.
type cliAPIError struct {
	msg string
	err *client.Error
}

func (e cliAPIError) Error() string { return e.msg }
func (e cliAPIError) Unwrap() error { return e.err }

// forCLI rewrites an API error in the CLI's terms: its code, then its
// message with flags for fields, days and hours for durations, and what to
// do about a missing token or scope. Other errors pass unchanged.
func forCLI(err error) error {
	var ae *client.Error
	if !errors.As(err, &ae) {
		return err
	}
	msg := ae.Message
	msg = fieldRef.ReplaceAllStringFunc(msg, func(m string) string {
		sub := fieldRef.FindStringSubmatch(m)
		if sub[1] != "" {
			return apiFlags[sub[1]]
		}
		return sub[2] + apiFlags[sub[3]] + ":"
	})
	msg = goDuration.ReplaceAllStringFunc(msg, func(m string) string {
		d, perr := time.ParseDuration(m)
		if perr != nil {
			return m
		}
		return english.Duration(d)
	})
	switch {
	case ae.Status == 401:
		msg += " (give --token, or set REGLOCK_TOKEN)"
	case ae.Status == 403:
		msg += " (use a token that has it: --token, or REGLOCK_TOKEN)"
	case ae.Status >= 500:
		msg += fmt.Sprintf(" (HTTP %d)", ae.Status)
	}
	// The code first, as scripts look for it: provider_conflict, locked_by_policy, ...
	return cliAPIError{msg: ae.Code + ": " + msg, err: ae}
}

// parseDuration reads a duration flag: Go syntax (72h, 90m) or whole days
// (14d) and weeks (2w), as people write them.
func parseDuration(s string) (time.Duration, error) {
	for suffix, unit := range map[string]time.Duration{"d": 24 * time.Hour, "w": 7 * 24 * time.Hour} {
		if n, ok := strings.CutSuffix(s, suffix); ok {
			v, err := strconv.ParseUint(n, 10, 32)
			if err != nil {
				return 0, fmt.Errorf("%q is not a duration", s)
			}
			return time.Duration(v) * unit, nil
		}
	}
	return time.ParseDuration(s)
}
