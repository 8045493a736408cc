package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func TestParse_notifications(t *testing.T) {
	cfg, errs := problems(t, `
notifications:
  - url: https://hooks.example.com/reglock
    secret: ${HOOK_SECRET}
  - name: ops-slack
    url: https://hooks.slack.com/services/T000/B000/XXXX
    secret: slack-secret-0123456789
    events: [sweep_paused, breaker_opened]
    format: slack
  - url: http://127.0.0.1:9000/hook
    secret: local-secret-0123456789
    events: ["*"]
  - url: https://hooks.example.com/second
    secret: second-secret-0123456789
    events: []
`, map[string]string{"HOOK_SECRET": "hook-secret-0123456789"})
	if errs != nil {
		t.Fatal(errs)
	}
	want := []Notification{
		{Name: "hooks.example.com", URL: "https://hooks.example.com/reglock", Secret: "hook-secret-0123456789", Format: "json"},
		{Name: "ops-slack", URL: "https://hooks.slack.com/services/T000/B000/XXXX", Secret: "slack-secret-0123456789",
			Events: []string{"sweep_paused", "breaker_opened"}, Format: "slack"},
		{Name: "127.0.0.1", URL: "http://127.0.0.1:9000/hook", Secret: "local-secret-0123456789", Events: []string{"*"}, Format: "json"},
		{Name: "hooks.example.com-3", URL: "https://hooks.example.com/second", Secret: "second-secret-0123456789", Events: []string{}, Format: "json"},
	}
	if !reflect.DeepEqual(cfg.Notifications, want) {
		t.Errorf("notifications:\n got %+v\nwant %+v", cfg.Notifications, want)
	}
	if all := cfg.Notifications[0]; !all.Wants("drift_confirmed") || !all.Wants("store_lost") {
		t.Error("no events must want every kind")
	}
	slack := cfg.Notifications[1]
	if !slack.Wants("sweep_paused") || slack.Wants("drift_fixed") {
		t.Errorf("filter [sweep_paused breaker_opened]: Wants(sweep_paused) %v, Wants(drift_fixed) %v",
			slack.Wants("sweep_paused"), slack.Wants("drift_fixed"))
	}
	if !cfg.Notifications[2].Wants("relock_overdue") || !cfg.Notifications[3].Wants("domain_gone") {
		t.Error(`"*" and [] must want every kind`)
	}
	if got := slack.RedactedURL(); got != "https://hooks.slack.com/…" {
		t.Errorf("RedactedURL = %q", got)
	}
}

func TestParse_notificationsDefaultNames(t *testing.T) {
	// A default never takes a name given to a later endpoint.
	cfg, errs := problems(t, `
notifications:
  - {url: "https://a.example.com/x", secret: s-0123456789abcdef}
  - {name: a.example.com, url: "https://b.example.com/x", secret: s-0123456789abcdef}
  - {url: "http://[::1]:8080/x", secret: s-0123456789abcdef}
`, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	var got []string
	for _, n := range cfg.Notifications {
		got = append(got, n.Name)
	}
	if want := []string{"a.example.com-0", "a.example.com", "1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("names %q, want %q", got, want)
	}
}

func TestParse_notificationProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"missing url and secret", "notifications:\n  - events: [drift_fixed]\n", []string{
			"reglock.yaml:2: notifications[0].url: required",
			"reglock.yaml:2: notifications[0].secret: required",
		}},
		{"bad url", `notifications:
  - {url: "ftp://x.example.com", secret: s-0123456789abcdef}
  - {url: "/relative", secret: s-0123456789abcdef}
  - {url: "https://user:SECRET-pw@x.example.com/hook", secret: s-0123456789abcdef}
`, []string{
			"reglock.yaml:2: notifications[0].url: want an absolute http:// or https:// URL with a host",
			"reglock.yaml:3: notifications[1].url: want an absolute http:// or https:// URL with a host",
			"reglock.yaml:4: notifications[2].url: must not hold credentials (user:password@); receivers check the signature made with secret",
		}},
		{"short secret", "notifications:\n  - url: https://x.example.com\n    secret: SECRET-short\n", []string{
			"reglock.yaml:3: notifications[0].secret: secret too short (min 16 characters)",
		}},
		{"unknown event and format", `notifications:
  - url: https://x.example.com
    secret: s-0123456789abcdef
    events: [drift_fixed, drift_found]
    format: teams
`, []string{
			"reglock.yaml:4: notifications[0].events[1]: unknown event \"drift_found\" (known: drift_confirmed, drift_fixed, fix_failed, sweep_paused, sweep_finished, breaker_opened, breaker_closed, relock_done, relock_overdue, domain_gone, store_lost, transfer_pending, transferred, registry_disagrees, or * for all)",
			"reglock.yaml:5: notifications[0].format: unknown format \"teams\" (want json or slack)",
		}},
		{"empty format", "notifications:\n  - {url: \"https://x.example.com\", secret: s-0123456789abcdef, format: \"\"}\n", []string{
			"reglock.yaml:2: notifications[0].format: unknown format \"\" (want json or slack)",
		}},
		{"names", `notifications:
  - {name: Ops, url: "https://x.example.com", secret: s-0123456789abcdef}
  - {name: ops, url: "https://x.example.com", secret: s-0123456789abcdef}
  - {name: ops, url: "https://y.example.com", secret: s-0123456789abcdef}
`, []string{
			`reglock.yaml:2: notifications[0].name: invalid notification name "Ops" (want 1 to 63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit)`,
			`reglock.yaml:4: notifications[2].name: notification name "ops" already used by notifications[1] (line 3)`,
		}},
		{"unknown key", "notifications:\n  - {url: \"https://x.example.com\", secret: s-0123456789abcdef, headers: {a: b}}\n", []string{
			"reglock.yaml:2: notifications[0].headers: unknown key (known: name, url, secret, events, format)",
		}},
		{"not a list", "notifications: {url: x}\n", []string{
			"reglock.yaml:1: notifications: expected a list, got a mapping",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := problems(t, tc.src, nil)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, line := range got {
				if strings.Contains(line, "SECRET") {
					t.Errorf("problem shows a secret: %s", line)
				}
			}
		})
	}
}

func TestNotification_secretNeverPrinted(t *testing.T) {
	cfg, errs := problems(t, `notifications:
  - url: https://hooks.slack.com/services/T000/B000/SECRET-path
    secret: ${HOOK}
`, map[string]string{"HOOK": "hook-SECRET-0123456789"})
	if errs != nil {
		t.Fatal(errs)
	}
	n := cfg.Notifications[0]
	for _, out := range []string{
		fmt.Sprintf("%v %+v %#v", n, n, n), fmt.Sprintf("%v %+v", cfg, cfg), n.RedactedURL(),
	} {
		if strings.Contains(out, "hook-SECRET") {
			t.Errorf("secret printed: %s", out)
		}
	}
	if strings.Contains(n.RedactedURL(), "SECRET") {
		t.Errorf("RedactedURL shows the URL's path: %s", n.RedactedURL())
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T/B/X": "https://hooks.slack.com/…",
		"https://x.example.com":                  "https://x.example.com",
		"https://x.example.com/":                 "https://x.example.com",
		"http://127.0.0.1:9000/?token=abc":       "http://127.0.0.1:9000/…",
		"https://u:p@x.example.com":              "https://x.example.com/…",
		"not a url":                              "[redacted]",
		"http://%zz":                             "[redacted]",
	} {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
