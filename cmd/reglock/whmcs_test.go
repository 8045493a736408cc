package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
)

// TestWHMCS runs the WHMCS addon's hooks (integrations/whmcs) in php-cli,
// through a stand-in for WHMCS's add_hook/localAPI/logActivity, against a
// real reglock API with the eNom simulator, and checks the intents recorded.
// It needs php with curl: run it through scripts/with-php.sh.
func TestWHMCS(t *testing.T) {
	php := os.Getenv("REGLOCK_PHP")
	if php == "" {
		t.Fatal("REGLOCK_PHP is not set: run the tests through scripts/with-php.sh (it installs Debian's php-cli and php-curl if missing), e.g. ./scripts/with-redis.sh ./scripts/with-php.sh go test ./cmd/reglock -run TestWHMCS")
	}
	t.Parallel()
	e := newE2E(t)
	for _, d := range []string{"whmcs-reg.com", "whmcs-xfer.com", "whmcs-retry.com", "whmcs-down.com", "whmcs-only.com"} {
		e.enom.AddDomain(d, false)
	}
	e.start("serve")
	e.eventually("the API", 20*time.Second, e.apiUp)

	script, err := filepath.Abs("../../integrations/whmcs/tests/run.php")
	if err != nil {
		t.Fatal(err)
	}
	type result struct {
		Step    string   `json:"step"`
		Seconds float64  `json:"seconds"`
		Log     []string `json:"log"`
	}
	step := func(url, name string) result {
		t.Helper()
		cmd := exec.Command(php, script, name)
		cmd.Env = append(os.Environ(), "REGLOCK_URL="+url, "REGLOCK_TOKEN="+e.token)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("php run.php %s: %v\n%s", name, err, out)
		}
		var r result
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
			t.Fatalf("php run.php %s: %v\n%s", name, err, out)
		}
		return r
	}
	api := "http://" + e.api
	intents := func(domain string) []client.HistoryEvent {
		t.Helper()
		h, err := e.client().History(context.Background(), domain, "", 0)
		if err != nil {
			t.Fatalf("history of %s: %v", domain, err)
		}
		var got []client.HistoryEvent
		for _, ev := range h.Events {
			if ev.Kind == "intent" {
				got = append(got, ev)
			}
		}
		return got // newest first
	}

	// Registration and incoming transfer: locked, asked for by WHMCS.
	if r := step(api, "register"); len(r.Log) != 0 {
		t.Fatalf("register logged errors: %v", r.Log)
	}
	for _, d := range []string{"whmcs-reg.com", "whmcs-xfer.com"} {
		in := intents(d)
		if len(in) != 1 || in[0].Intent != "lock" || !strings.HasPrefix(in[0].RequestedBy, "whmcs") {
			t.Fatalf("%s: want one lock intent requested by WHMCS, got %+v", d, in)
		}
		e.eventually(d+" locked at the registrar", 20*time.Second, func() bool { return e.inSync(d, true) })
	}

	// The client turns the lock off in the client area: an unlock by that user.
	if r := step(api, "toggle_off"); len(r.Log) != 0 {
		t.Fatalf("toggle_off logged errors: %v", r.Log)
	}
	in := intents("whmcs-reg.com")
	if len(in) != 2 || in[0].Intent != "unlock" || in[0].RequestedBy != "whmcs:client:7" {
		t.Fatalf("want an unlock requested by whmcs:client:7 on top, got %+v", in)
	}

	// WHMCS runs the same lock save twice: one intent.
	if r := step(api, "retry"); len(r.Log) != 0 {
		t.Fatalf("retry logged errors: %v", r.Log)
	}
	in = intents("whmcs-retry.com")
	if len(in) != 1 || in[0].Intent != "lock" || in[0].RequestedBy != "whmcs:admin:1" {
		t.Fatalf("a retried hook: want one lock intent by whmcs:admin:1, got %+v", in)
	}
	if dom, err := e.domain("whmcs-retry.com"); err != nil || dom.Generation != in[0].Generation {
		t.Fatalf("generation %d (%v) after the retry, the intent's is %d", dom.Generation, err, in[0].Generation)
	}

	// reglock down: the hook returns well inside its timeout, with an admin-visible error.
	start := time.Now()
	r := step("http://127.0.0.1:"+freePort(t), "down")
	if time.Since(start) > 5*time.Second || r.Seconds > 2.5 {
		t.Fatalf("the hook took %.1fs (the process %v) with reglock down", r.Seconds, time.Since(start))
	}
	if len(r.Log) != 1 || !strings.Contains(r.Log[0], "reglock") || !strings.Contains(r.Log[0], "whmcs-down.com") {
		t.Fatalf("want one activity-log error naming the domain, got %v", r.Log)
	}
	if _, err := e.domain("whmcs-down.com"); err == nil && len(intents("whmcs-down.com")) != 0 {
		t.Fatal("an intent was recorded while reglock was unreachable")
	}

	// The daily cron: WHMCS's whmcs-only.com is not in reglock; cancelled domains are not reported.
	r = step(api, "cron")
	if len(r.Log) != 1 || !strings.Contains(r.Log[0], "whmcs-only.com") || strings.Contains(r.Log[0], "whmcs-reg.com") || strings.Contains(r.Log[0], "gone.com") {
		t.Fatalf("daily report: want whmcs-only.com alone, got %v", r.Log)
	}
}
