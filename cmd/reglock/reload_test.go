package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/notify"
)

// SIGHUP rotates the API's tokens without a restart: serve re-reads its
// configuration, the old token is refused and the new one accepted, on
// /v1 and /monitoring alike. A configuration that does not load, or that
// has no token, is logged and the tokens in use stay.
func TestE2E_reloadTokensOnSIGHUP(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	p := e.start("serve")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })
	status := func(path string, auth func(*http.Request)) int {
		t.Helper()
		req, _ := http.NewRequest("GET", "http://"+e.api+path, nil)
		auth(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	basic := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth("operator", tok) }
	}
	oldToken, newToken := e.token, "rotated-token-0123456789abcdef"
	if c := status("/v1/domains", bearer(oldToken)); c != 200 {
		t.Fatalf("the configured token before the reload: %d", c)
	}
	original, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	// Written as configuration management writes: a new file renamed over the old.
	write := func(content string) {
		t.Helper()
		tmp := filepath.Join(filepath.Dir(e.config), ".reglock.yaml.new")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, e.config); err != nil {
			t.Fatal(err)
		}
	}
	hup := func() {
		t.Helper()
		if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	rotated := strings.Replace(string(original), "token: ${E2E_TOKEN}", "token: "+newToken, 1)
	if rotated == string(original) {
		t.Fatal("the test's configuration has no ${E2E_TOKEN} token to rotate")
	}
	write(rotated)
	hup()
	e.eventually("the new token", 10*time.Second, func() bool { return status("/v1/domains", bearer(newToken)) == 200 })
	if c := status("/v1/domains", bearer(oldToken)); c != 401 {
		t.Errorf("the old token after the reload: %d, want 401", c)
	}
	if c := status("/monitoring/", basic(oldToken)); c != 401 {
		t.Errorf("/monitoring with the old token: %d, want 401", c)
	}
	if c := status("/monitoring/", basic(newToken)); c != 200 {
		t.Errorf("/monitoring with the new token: %d, want 200", c)
	}
	if !strings.Contains(p.out.String(), "SIGHUP: configuration reloaded") {
		t.Errorf("no reload in the log:\n%s", p.out.String())
	}

	// Broken configurations change nothing, and say why.
	for _, bad := range []struct{ name, content, logged string }{
		{"not YAML", "api: [tokens\n", "SIGHUP: the configuration does not load"},
		{"no token", strings.Replace(rotated, "token: "+newToken, "token: ${E2E_UNSET_TOKEN}", 1), "SIGHUP: the configuration does not load"},
		{"an empty token list", strings.Replace(rotated, "  tokens:\n    - name: billing\n      token: "+newToken+"\n", "  tokens: []\n", 1), "SIGHUP: api.tokens is empty"},
	} {
		if bad.content == rotated {
			t.Fatalf("%s: the test did not change the configuration", bad.name)
		}
		before := strings.Count(p.out.String(), bad.logged)
		write(bad.content)
		hup()
		e.eventually("the reload error of "+bad.name, 10*time.Second, func() bool {
			return strings.Count(p.out.String(), bad.logged) > before
		})
		if c := status("/v1/domains", bearer(newToken)); c != 200 {
			t.Errorf("%s: the token in use after a failed reload: %d, want 200", bad.name, c)
		}
		if c := status("/v1/domains", bearer(oldToken)); c != 401 {
			t.Errorf("%s: the old token after a failed reload: %d, want 401", bad.name, c)
		}
	}
	for _, line := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(line, "SIGHUP: the configuration does not load") && !strings.Contains(line, `"level":"error"`) {
			t.Errorf("a failed reload is not logged as an error: %s", line)
		}
		if strings.Contains(line, newToken) || strings.Contains(line, oldToken) {
			t.Errorf("the log shows a token: %s", line)
		}
	}
	if c, _ := e.http("GET", "/healthz"); c != 200 {
		t.Errorf("the server after the SIGHUPs: /healthz %d", c)
	}
}

// A worker has no tokens: SIGHUP is logged and ends nothing (its default
// would end the process without the grace period).
func TestE2E_SIGHUPLeavesAWorkerRunning(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	p := e.start("worker")
	e.eventually("the worker", 10*time.Second, func() bool { return strings.Contains(p.out.String(), "worker started") })
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	e.eventually("the SIGHUP in the log", 10*time.Second, func() bool {
		return strings.Contains(p.out.String(), "SIGHUP: this process serves no API")
	})
	// It still works: no other worker would carry the lock out.
	e.enom.AddDomain("after-hup.com", false)
	if out, err := e.run("lock", "after-hup.com"); err != nil {
		t.Fatalf("lock: %v\n%s", err, out)
	}
	e.eventually("the lock after SIGHUP", 15*time.Second, func() bool { l, _ := e.sim.Locked("after-hup.com"); return l })
}

// SIGHUP reloads the webhook endpoints too: after the secret and the URL
// are rotated in the file, the next event is delivered to the new URL and
// signed with the new secret, without a restart.
func TestE2E_reloadWebhooksOnSIGHUP(t *testing.T) {
	t.Parallel()
	const oldSecret, newSecret = "old-webhook-secret-0123456789", "new-webhook-secret-9876543210"
	type delivery struct{ path, secret string }
	got := make(chan delivery, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, s := range []string{oldSecret, newSecret} {
			if notify.Verify(s, r.Header.Get("Reglock-Signature"), body, time.Minute, time.Now()) == nil {
				got <- delivery{r.URL.Path, s}
				return
			}
		}
		got <- delivery{r.URL.Path, "none"}
	}))
	t.Cleanup(hook.Close)
	hooks := func(path, secret string) string {
		return "notifications:\n  - name: ops\n    url: " + hook.URL + path + "\n    secret: " + secret + "\n    events: [sweep_finished]\n"
	}
	e := newE2E(t, hooks("/old", oldSecret))
	p := e.start("serve")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })
	sweep := func() delivery {
		t.Helper()
		if _, err := e.client().StartSweep(context.Background(), client.SweepRequest{}); err != nil {
			t.Fatal(err)
		}
		select {
		case d := <-got:
			return d
		case <-time.After(20 * time.Second):
			t.Fatal("no webhook delivery")
			return delivery{}
		}
	}
	if d := sweep(); d != (delivery{"/old", oldSecret}) {
		t.Fatalf("before the reload: delivered %+v", d)
	}
	original, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	rotated := strings.Replace(string(original), hooks("/old", oldSecret), hooks("/new", newSecret), 1)
	if rotated == string(original) {
		t.Fatal("the test did not change the configuration")
	}
	if err := os.WriteFile(e.config, []byte(rotated), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	e.eventually("the reload", 10*time.Second, func() bool { return strings.Contains(p.out.String(), "SIGHUP: webhook endpoints reloaded") })
	if d := sweep(); d != (delivery{"/new", newSecret}) {
		t.Fatalf("after the reload: delivered %+v, want to /new signed with the new secret", d)
	}
	for _, line := range strings.Split(p.out.String(), "\n") {
		if strings.Contains(line, oldSecret) || strings.Contains(line, newSecret) {
			t.Errorf("the log shows a webhook secret: %s", line)
		}
	}
}
