package main

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startWith runs reglock like e.start, but with exactly the given
// variables besides the namespace: what a process on a host that keeps
// each role's secrets apart sees.
func (e *e2e) startWith(env []string, args ...string) *proc {
	e.t.Helper()
	return e.launch(cleanEnv(append([]string{"REGLOCK_NAMESPACE=" + e.env.Namespace}, env...)...), args)
}

// runWith runs a command to completion with exactly the given variables.
func (e *e2e) runWith(env []string, args ...string) (string, error) {
	e.t.Helper()
	cmd := exec.Command(binary, append(args, "--config", e.config)...)
	cmd.Env = cleanEnv(append([]string{"REGLOCK_NAMESPACE=" + e.env.Namespace}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func healthy(addr string) bool {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// Several processes on one host with one file: each gets its own address
// (--listen, REGLOCK_LISTEN), and each needs only its own role's
// variables: a worker not the API's token, the API not the registrar's
// password, a scheduler and the CLI neither.
func TestConfig_severalProcessesOneFile(t *testing.T) {
	t.Parallel()
	workerListen := "127.0.0.1:" + freePort(t)
	e := newE2E(t, "scheduler:\n  confirm_delay: 200ms\n", "notifications:\n  - name: ops\n    url: ${E2E_HOOK_URL}\n    secret: ${E2E_HOOK_SECRET}\n")
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	cfg = []byte(strings.Replace(string(cfg), "worker:\n", "worker:\n  listen: "+workerListen+"\n", 1))
	if err := os.WriteFile(e.config, cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	e.enom.AddDomain("shared.com", false)
	apiVars := []string{"E2E_TOKEN=" + e.token}
	workerVars := []string{"E2E_ENOM_PW=resellpw", "E2E_HOOK_URL=http://127.0.0.1:1/hook", "E2E_HOOK_SECRET=hook-secret-0123456789"}

	// The first worker takes worker.listen from the file; the next two
	// their own, by environment and by flag.
	second, third := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	w1 := e.startWith(workerVars, "worker")
	w2 := e.startWith(append([]string{"REGLOCK_LISTEN=" + second}, workerVars...), "worker")
	w3 := e.startWith(workerVars, "worker", "--listen", third)
	for _, addr := range []string{workerListen, second, third} {
		e.eventually("a worker's /healthz on "+addr, 15*time.Second, func() bool { return healthy(addr) })
	}
	// A fourth with nothing of its own dies on the taken port, and says what to do.
	w4 := e.startWith(workerVars, "worker")
	done := make(chan error, 1)
	go func() { done <- w4.cmd.Wait() }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(w4.out.String(), "worker.listen "+workerListen) ||
			!strings.Contains(w4.out.String(), "give each process on this host its own address with --listen or REGLOCK_LISTEN") {
			t.Errorf("a fourth worker on the same port: %v\n%s", err, w4.out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("a fourth worker on a taken port did not exit")
	}
	if !strings.Contains(w1.out.String(), `"keys":["api.tokens[0].token"]`) {
		t.Errorf("the worker does not say what it left unchecked:\n%s", w1.out.String())
	}

	// The API on its own address, without the registrar's password or the webhook's secrets.
	apiAddr := e.api
	e.api = "127.0.0.1:" + freePort(t)
	e.startWith(append([]string{"REGLOCK_LISTEN=" + e.api}, apiVars...), "api")
	e.eventually("the API on REGLOCK_LISTEN", 15*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })
	if healthy(apiAddr) {
		t.Errorf("something answers on api.listen %s, which REGLOCK_LISTEN replaced", apiAddr)
	}
	// A scheduler with no secret at all.
	schedAddr := "127.0.0.1:" + freePort(t)
	e.startWith(nil, "scheduler", "--listen", schedAddr)
	e.eventually("the scheduler's /healthz", 15*time.Second, func() bool { return healthy(schedAddr) })

	// The CLI with --config needs no variable either; the workers carry it out.
	if out, err := e.runWith(nil, "lock", "shared.com"); err != nil {
		t.Fatalf("lock with no variables: %v\n%s", err, out)
	}
	e.eventually("the lock", 15*time.Second, func() bool { return e.inSync("shared.com", true) })
	// But import talks to the registrar: the password it needs, the token not.
	if out, err := e.runWith(nil, "import", "--provider", "enom-main"); err == nil ||
		!strings.Contains(out, "providers[0].password: environment variable E2E_ENOM_PW is not set") {
		t.Errorf("import without the registrar's password: %v\n%s", err, out)
	}
	if out, err := e.runWith([]string{"E2E_ENOM_PW=resellpw"}, "import", "--provider", "enom-main", "--adopt"); err != nil {
		t.Errorf("import with the password alone: %v\n%s", err, out)
	}
	// A worker without its own variables does not start, and names them.
	if out, err := e.runWith(apiVars, "worker", "--listen", "127.0.0.1:0"); err == nil ||
		!strings.Contains(out, "providers[0].password: environment variable E2E_ENOM_PW is not set") ||
		!strings.Contains(out, "notifications[0].secret: environment variable E2E_HOOK_SECRET is not set") ||
		strings.Contains(out, "E2E_TOKEN") {
		t.Errorf("a worker without its variables: %v\n%s", err, out)
	}
	// Nor an API without its token.
	if out, err := e.runWith(workerVars, "api", "--listen", "127.0.0.1:0"); err == nil ||
		!strings.Contains(out, "api.tokens[0].token: environment variable E2E_TOKEN is not set") {
		t.Errorf("an API without its token: %v\n%s", err, out)
	}
	// A bad --listen is a usage error.
	if out, err := e.runWith(workerVars, "worker", "--listen", "nowhere"); !exitStatus(err, 2) || !strings.Contains(out, "--listen (or REGLOCK_LISTEN): want host:port") {
		t.Errorf("--listen nowhere: %v\n%s", err, out)
	}
	for _, p := range []*proc{w1, w2, w3} {
		p.cmd.Process.Signal(syscall.SIGTERM)
	}
}

func exitStatus(err error, code int) bool {
	ee, ok := err.(*exec.ExitError)
	return ok && ee.ExitCode() == code
}

// reglock config check: the summary without secrets, the problems with
// file and line, and the exit status.
func TestConfigCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "reglock.yaml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	check := func(env []string, args ...string) (string, string, error) {
		cmd := exec.Command(binary, append([]string{"config", "check"}, args...)...)
		cmd.Env = cleanEnv(append([]string{"REGLOCK_CONFIG=" + file}, env...)...)
		var stdout, stderr strings.Builder
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	secrets := []string{"redis-password-x1", "token-0123456789abcdef", "enom-password-x1", "/services/T0/B0/webhookpath", "hook-secret-0123456789"}
	write(`redis:
  url: redis://:${REDIS_PW}@10.0.0.5:6379/0
api:
  listen: ${API_LISTEN:-127.0.0.1:8080}
  tokens:
    - {name: billing, token: "${TOKEN}", scopes: [read, write]}
worker:
  listen: 127.0.0.1:9090
scheduler:
  freshness: 24h
providers:
  - name: enom-main
    type: enom
    endpoint: https://reseller.enom.com/interface.asp?uid=x
    username: u
    password: ${ENOM_PW}
    tlds: [com]
notifications:
  - name: slack
    url: https://hooks.slack.com${HOOK_PATH}
    secret: ${HOOK_SECRET}
    format: slack
    events: [sweep_paused, drift_confirmed]
`)
	all := []string{"REDIS_PW=redis-password-x1", "TOKEN=token-0123456789abcdef", "ENOM_PW=enom-password-x1",
		"HOOK_PATH=/services/T0/B0/webhookpath", "HOOK_SECRET=hook-secret-0123456789"}
	stdout, stderr, err := check(append(all, "REGLOCK_LISTEN=127.0.0.1:9191"))
	if err != nil {
		t.Fatalf("config check: %v\n%s%s", err, stdout, stderr)
	}
	for _, want := range []string{
		file + ": valid",
		"redis:         redis://:xxxxx@10.0.0.5:6379/0",
		"providers:     enom-main (enom at https://reseller.enom.com/…; tlds com; no rate limit)",
		"api:           listen 127.0.0.1:8080 (REGLOCK_LISTEN=127.0.0.1:9191 overrides it in this shell); tokens billing (read, write); monitoring read-only",
		"worker:        listen 127.0.0.1:9090 (REGLOCK_LISTEN=127.0.0.1:9191 overrides it in this shell); concurrency 50; shutdown timeout 30s",
		"scheduler:     sweep \"0 3 * * *\" (UTC); freshness every domain within 1 day; max drift share 0.1",
		"notifications: slack (https://hooks.slack.com/…, slack; drift_confirmed, sweep_paused)",
		"tracing:       off (no OTEL_EXPORTER_OTLP_ENDPOINT)",
		"roles:         serve ok, api ok, worker ok, scheduler ok, cli ok",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	for _, s := range secrets {
		if strings.Contains(stdout+stderr, s) {
			t.Errorf("config check printed the secret %q:\n%s%s", s, stdout, stderr)
		}
	}

	// Only the scheduler's variables (Redis): which roles could not start,
	// and why, file:line; exit 1.
	stdout, stderr, err = check([]string{"REDIS_PW=redis-password-x1"})
	if !exitStatus(err, 1) {
		t.Errorf("exit: %v", err)
	}
	if !strings.Contains(stdout, "roles:         serve NOT READY (4 problems), api NOT READY (1 problem), worker NOT READY (3 problems), scheduler ok, cli ok") {
		t.Errorf("roles:\n%s", stdout)
	}
	for _, want := range []string{
		file + ":6: api.tokens[0].token: environment variable TOKEN is not set (stops serve, api)",
		file + ":16: providers[0].password: environment variable ENOM_PW is not set (stops serve, worker)",
		file + ":20: notifications[0].url: environment variable HOOK_PATH is not set (stops serve, worker)",
		file + ":21: notifications[0].secret: environment variable HOOK_SECRET is not set (stops serve, worker)",
		"reglock: " + file + ": 3 roles cannot start with the variables set here; a process needs only its own role's variables: check one with --role",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("problems lack %q:\n%s", want, stderr)
		}
	}
	if _, _, err := check([]string{"REDIS_PW=x"}, "--role", "scheduler"); err != nil {
		t.Errorf("--role scheduler with Redis's variable: %v", err)
	}
	// Tracing, from the environment: on, without the endpoint's password;
	// a variable the processes would refuse stops them here too.
	stdout, _, err = check([]string{"REDIS_PW=x", "OTEL_EXPORTER_OTLP_ENDPOINT=https://otel:otel-pw-123@collector:4318"}, "--role", "scheduler")
	if err != nil || !strings.Contains(stdout, "tracing:       on: OTLP http/protobuf to https://collector:4318\n") || strings.Contains(stdout, "otel-pw-123") {
		t.Errorf("tracing on: %v\n%s", err, stdout)
	}
	_, stderr, err = check([]string{"REDIS_PW=x", "OTEL_EXPORTER_OTLP_ENDPOINT=http://collector:4318", "OTEL_EXPORTER_OTLP_PROTOCOL=http/json"}, "--role", "scheduler")
	if !exitStatus(err, 1) || !strings.Contains(stderr, `tracing: OTEL_EXPORTER_OTLP_PROTOCOL="http/json"`) {
		t.Errorf("tracing with a protocol reglock cannot speak: %v\n%s", err, stderr)
	}
	stdout, stderr, err = check([]string{"REDIS_PW=x", "TOKEN=short"}, "--role", "api")
	if !exitStatus(err, 1) || !strings.Contains(stderr, file+":6: api.tokens[0].token: token too short (min 16 characters) (stops api)") ||
		!strings.Contains(stdout, "roles:         api NOT READY (1 problem)\n") {
		t.Errorf("--role api with a short token: %v\n%s%s", err, stdout, stderr)
	}

	// A file wrong for every role: no summary, the problems, exit 1.
	write("redis:\n  url: redis://${REDIS_PW}@x:6379\napi:\n  listen: nowhere\nworker:\n  concurrency: 0\n")
	stdout, stderr, err = check(nil)
	if !exitStatus(err, 1) || stdout != "" ||
		!strings.Contains(stderr, file+":2: redis.url: environment variable REDIS_PW is not set\n") ||
		!strings.Contains(stderr, file+`:4: api.listen: want host:port, got "nowhere"`) ||
		!strings.Contains(stderr, file+":6: worker.concurrency: must be at least 1, got 0") ||
		!strings.Contains(stderr, "reglock: "+file+": 3 problems: no role can start") {
		t.Errorf("a broken file: %v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
	}
	// How it was called.
	if _, stderr, err := check(nil, "--role", "janitor"); !exitStatus(err, 2) || !strings.Contains(stderr, `--role: "janitor" is not serve, api, worker, scheduler or cli`) {
		t.Errorf("--role janitor: %v %s", err, stderr)
	}
	cmd := exec.Command(binary, "config", "check")
	cmd.Env = cleanEnv()
	if out, err := cmd.CombinedOutput(); !exitStatus(err, 2) || !strings.Contains(string(out), "config check needs a file") {
		t.Errorf("no file: %v %s", err, out)
	}
}
