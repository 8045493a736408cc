package api_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/policy"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
)

// setupPolicy is setup with the default policy windows and a capability
// table that has a TLD without a lock (nolock), and the intent service's
// Dates hook answering from dates; clk is the clock (nil: the wall clock).
func setupPolicy(t *testing.T, clk clock.Clock, dates map[string]policy.Dates) *bundle {
	t.Helper()
	env := redistest.New(t)
	cfg := config.Default()
	cfg.Policy.TLDs["nolock"] = config.TLDCapability{Lock: config.LockNone, Note: "the registry offers no registrar lock"}
	cfg.Providers = []config.Provider{{Name: "enom-main", Type: "enom", TLDs: []string{"com", "net", "nolock"}}}
	sys := system.New(system.Options{Config: cfg, Redis: env.Client, Namespace: env.Namespace, Clock: clk, Log: zerolog.New(zerolog.NewTestWriter(t))})
	sys.Intents.Dates = func(_ context.Context, domain string) (policy.Dates, error) {
		if domain == "broken.com" {
			return policy.Dates{}, errors.New("dates unavailable")
		}
		return dates[domain], nil
	}
	b := &bundle{t: t, store: sys.Store, intents: sys.Intents, queues: tasks.Namespace(env.Namespace), sys: sys}
	b.insp = asynq.NewInspectorFromRedisClient(env.Client)
	srv := sys.API([]config.Token{{Name: "billing", Token: secret.String(writeToken)}})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	b.url = hs.URL
	return b
}

func TestAPI_policyRefusals(t *testing.T) {
	registered := time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(time.Second)
	b := setupPolicy(t, nil, map[string]policy.Dates{"young.com": {Registered: registered}})
	until := registered.Add(60 * 24 * time.Hour).Format(time.RFC3339)
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
		mentions                 []string
	}{
		{"lock on a TLD without a lock", "POST", "/v1/domains/example.nolock/lock", "", 422, "lock_unsupported",
			[]string{".nolock", "cannot be locked", "the registry offers no registrar lock"}},
		{"unlock on a TLD without a lock", "DELETE", "/v1/domains/example.nolock/lock", `{"relock_after":"1h"}`, 422, "lock_unsupported",
			[]string{".nolock"}},
		{"lock on a TLD without a lock, with a provider", "POST", "/v1/domains/example.nolock/lock", `{"provider":"enom-main"}`, 422, "lock_unsupported",
			[]string{".nolock"}},
		{"unlock inside the registration window", "DELETE", "/v1/domains/young.com/lock", "", 422, "locked_by_policy",
			[]string{"young.com", "transfer lock after registration", "until " + until}},
		{"the dates cannot be read", "DELETE", "/v1/domains/broken.com/lock", "", 503, "unavailable", []string{"try again"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.t = t
			code, out := b.call(c.method, c.path, writeToken, c.body)
			if code != c.status || errCode(out) != c.code {
				t.Errorf("got %d %s %q; want %d %s", code, errCode(out), errMessage(out), c.status, c.code)
			}
			for _, m := range c.mentions {
				if !strings.Contains(errMessage(out), m) {
					t.Errorf("message %q does not mention %q", errMessage(out), m)
				}
			}
			b.nothingRecorded()
		})
	}
}

func TestAPI_policyAllows(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	clk := clock.NewManual(now)
	b := setupPolicy(t, clk, map[string]policy.Dates{
		"young.com":  {Registered: now.Add(-10 * 24 * time.Hour)},
		"old.com":    {Registered: now.Add(-400 * 24 * time.Hour), Transferred: now.Add(-61 * 24 * time.Hour)},
		"traded.com": {Registered: now.Add(-400 * 24 * time.Hour), RegistrantChanged: now.Add(-24 * time.Hour)},
	})
	for _, c := range []struct{ method, path string }{
		{"POST", "/v1/domains/young.com/lock"},     // a lock inside a window is fine
		{"DELETE", "/v1/domains/old.com/lock"},     // the windows are over
		{"DELETE", "/v1/domains/traded.com/lock"},  // the registrar's window: the registrant may opt out
		{"DELETE", "/v1/domains/unknown.com/lock"}, // no dates known: no window
		{"DELETE", "/v1/domains/example.net/lock"},
	} {
		if code, out := b.call(c.method, c.path, writeToken, ""); code != 202 {
			t.Errorf("%s %s: %d %v; want 202", c.method, c.path, code, out)
		}
	}
	// young.com's unlock is refused until its registration window ends.
	clk.Add(50*24*time.Hour - time.Second)
	if code, out := b.call("DELETE", "/v1/domains/young.com/lock", writeToken, ""); code != 422 || errCode(out) != "locked_by_policy" {
		t.Errorf("unlock of young.com a second before the window ends: %d %v", code, out)
	}
	clk.Add(time.Second)
	if code, out := b.call("DELETE", "/v1/domains/young.com/lock", writeToken, ""); code != 202 {
		t.Errorf("unlock of young.com when the window ends: %d %v; want 202", code, out)
	}
}
