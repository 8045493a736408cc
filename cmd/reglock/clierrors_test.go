package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
)

func TestParseDuration(t *testing.T) {
	for s, want := range map[string]time.Duration{"72h": 72 * time.Hour, "14d": 14 * 24 * time.Hour, "2w": 14 * 24 * time.Hour, "90m": 90 * time.Minute} {
		if got, err := parseDuration(s); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "d", "1.5d", "-1d", "soon", "3 days"} {
		if _, err := parseDuration(s); err == nil {
			t.Errorf("parseDuration(%q) accepted", s)
		}
	}
}

// The API's words become the CLI's: flags for fields, days for durations.
func TestForCLI(t *testing.T) {
	for _, c := range []struct {
		err  *client.Error
		want string
	}{
		{&client.Error{Status: 400, Code: "invalid_field", Message: "relock_after: must be between 0 and 8784h0m0s (policy.max_unlock_window)"},
			"invalid_field: --relock-after: must be between 0 and 366 days (policy.max_unlock_window)"},
		{&client.Error{Status: 422, Code: "provider_required", Message: `the domain is not in the inventory and no provider's tlds cover it: give "provider"`},
			"provider_required: the domain is not in the inventory and no provider's tlds cover it: give --provider"},
		{&client.Error{Status: 400, Code: "invalid_field", Message: "consent_ip: required: the registrant's IP address when they gave consent"},
			"invalid_field: --consent-ip: required: the registrant's IP address when they gave consent"},
		{&client.Error{Status: 400, Code: "invalid_field", Message: `relock_after: "soon" is not a positive duration such as "72h"`},
			`invalid_field: --relock-after: "soon" is not a positive duration such as "72h"`},
		{&client.Error{Status: 403, Code: "forbidden", Message: "token billing lacks the admin scope"},
			"forbidden: token billing lacks the admin scope (use a token that has it: --token, or REGLOCK_TOKEN)"},
		{&client.Error{Status: 503, Code: "unavailable", Message: "the store or the queue is unavailable; try again"},
			"unavailable: the store or the queue is unavailable; try again (HTTP 503)"},
		// Words that merely look like fields stay.
		{&client.Error{Status: 422, Code: "unknown_provider", Message: `unknown provider "x" (configured: enom-main)`},
			`unknown_provider: unknown provider "x" (configured: enom-main)`},
	} {
		got := forCLI(fmt.Errorf("wrapped: %w", c.err))
		if got.Error() != c.want {
			t.Errorf("forCLI(%q)\n got %q\nwant %q", c.err.Message, got.Error(), c.want)
		}
		var ae *client.Error
		if !errors.As(got, &ae) || ae != c.err {
			t.Errorf("forCLI(%q) lost the API error", c.err.Message)
		}
	}
	plain := errors.New("relock_after: 8784h0m0s")
	if forCLI(plain) != plain {
		t.Error("forCLI changed an error that is not the API's")
	}
}

// End to end, in --config mode (the API's handlers in process) and over
// HTTP: the CLI's errors name its flags and say durations in days, and a
// provider's type takes its article.
func TestE2E_cliErrorsSpeakFlags(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.enom.AddDomain("example.com", true)
	e.start("api")
	e.eventually("the API", 15*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })
	for _, mode := range [][]string{nil, {"--api", "http://" + e.api, "--token", e.token}} {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"unlock", "example.com", "--relock-after", "400d"}, "reglock: invalid_field: --relock-after: must be between 0 and 366 days (policy.max_unlock_window)\n"},
			{[]string{"lock", "new.example"}, "reglock: provider_required: the domain is not in the inventory and no provider's tlds cover it: give --provider\n"},
			{[]string{"trade-lock", "example.com", "--enable=false", "--consent-ip", "203.0.113.7", "--provider", "enom-main"},
				"enom-main is an enom account; accounts with a trade lock: none"},
			{[]string{"unlock", "example.com", "--relock-after", "soon"}, `reglock: --relock-after: "soon" is not a positive duration such as 72h or 14d`},
		} {
			out, err := e.run(append(c.args, mode...)...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Errorf("reglock %s: %v\n%s\nwant %q", strings.Join(c.args, " "), err, out, c.want)
			}
			for _, api := range []string{"relock_after", `"provider"`, "8784h", "(HTTP 4", "a enom"} {
				if strings.Contains(out, api) {
					t.Errorf("reglock %s speaks the API's %s:\n%s", strings.Join(c.args, " "), api, out)
				}
			}
		}
	}
	// Days are accepted, and sent as the API's durations.
	if out, err := e.run("unlock", "example.com", "--relock-after", "14d"); err != nil || !strings.Contains(out, "queued unlock of example.com") {
		t.Fatalf("--relock-after 14d: %v\n%s", err, out)
	}
	d, err := e.domain("example.com")
	if err != nil || d.Desired.RelockAt == nil {
		t.Fatalf("example.com after --relock-after 14d: %+v %v", d, err)
	}
	if left := time.Until(*d.Desired.RelockAt); left < 13*24*time.Hour || left > 14*24*time.Hour {
		t.Errorf("--relock-after 14d relocks in %s", left)
	}
}
