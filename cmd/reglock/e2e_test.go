package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/store"
)

// binary is reglock built once for the end-to-end tests, which run it as
// separate processes so that a kill is a real kill.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reglock-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "reglock")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building reglock: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// e2e is one end-to-end test's world: a namespace on the test Redis, the
// simulator, a config file pointing at both.
type e2e struct {
	t      *testing.T
	env    redistest.Env
	sim    *simulator.Simulator
	enom   *simulator.Account
	config string
	// simURL is the simulator's address ("{{SIM}}" in extra config).
	simURL string
	api    string
	token  string
	// extraEnv is added to every process's environment.
	extraEnv []string
}

func newE2E(t *testing.T, extraConfig ...string) *e2e {
	t.Helper()
	e := &e2e{t: t, env: redistest.New(t), sim: simulator.New(simulator.Options{})}
	e.enom = e.sim.AddAccount(simulator.ENom, "resellid", "resellpw")
	hs := httptest.NewServer(e.sim.Handler())
	t.Cleanup(hs.Close)
	e.simURL = hs.URL
	e.api = "127.0.0.1:" + freePort(t)
	e.token = "e2e-token-0123456789abcdef"
	e.config = filepath.Join(t.TempDir(), "reglock.yaml")
	cfg := fmt.Sprintf(`redis:
  url: redis://%s/0
api:
  listen: %s
  tokens:
    - name: billing
      token: ${E2E_TOKEN}
worker:
  concurrency: 8
  shutdown_timeout: 3s
providers:
  - name: enom-main
    type: enom
    endpoint: %s/enom/interface.asp
    username: resellid
    password: ${E2E_ENOM_PW}
    tlds: [com, net]
    rate: 100
%s`, redistest.Addr(), e.api, hs.URL, strings.ReplaceAll(strings.Join(extraConfig, ""), "{{SIM}}", hs.URL))
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// proc is a running reglock process.
type proc struct {
	cmd *exec.Cmd
	out *syncBuffer
}

// start runs reglock with args (the config and namespace are added).
func (e *e2e) start(args ...string) *proc {
	e.t.Helper()
	env := append(os.Environ(), "E2E_TOKEN="+e.token, "E2E_ENOM_PW=resellpw", "REGLOCK_NAMESPACE="+e.env.Namespace)
	return e.launch(append(env, e.extraEnv...), args)
}

// launch runs reglock with args and exactly env until the test ends; its
// output is logged if the test fails.
func (e *e2e) launch(env, args []string) *proc {
	e.t.Helper()
	p := &proc{out: &syncBuffer{}}
	p.cmd = exec.Command(binary, append(args, "--config", e.config, "--log-format", "json")...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		if e.t.Failed() {
			e.t.Logf("reglock %v output:\n%s", args, p.out.String())
		}
	})
	return p
}

// run runs a reglock command to completion and returns its output.
func (e *e2e) run(args ...string) (string, error) {
	e.t.Helper()
	cmd := exec.Command(binary, append(args, "--config", e.config)...)
	cmd.Env = append(os.Environ(), "E2E_TOKEN="+e.token, "E2E_ENOM_PW=resellpw", "REGLOCK_NAMESPACE="+e.env.Namespace)
	cmd.Env = append(cmd.Env, e.extraEnv...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// http calls the API with the token and decodes the answer: for what the
// client does not model (the probes, a raw status); API calls go through
// e.client().
func (e *e2e) http(method, path string) (int, map[string]any) {
	e.t.Helper()
	req, _ := http.NewRequest(method, "http://"+e.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// client is the public Go client of the running API, with the test's token.
func (e *e2e) client() *client.Client {
	return &client.Client{BaseURL: "http://" + e.api, Token: secret.String(e.token)}
}

// lock asks the API to lock domain and fails the test unless it is
// accepted: a change recorded as a generation and queued as a task.
func (e *e2e) lock(domain string) client.Accepted {
	e.t.Helper()
	acc, err := e.client().Lock(context.Background(), domain, client.LockRequest{})
	if err != nil || acc.Generation < 1 || acc.TaskID == "" || !acc.Desired.Locked {
		e.t.Fatalf("lock %s: %+v %v", domain, acc, err)
	}
	return acc
}

// unlock asks the API to unlock domain and fails the test unless it is
// accepted.
func (e *e2e) unlock(domain string) client.Accepted {
	e.t.Helper()
	acc, err := e.client().Unlock(context.Background(), domain, client.UnlockRequest{})
	if err != nil || acc.Generation < 1 || acc.TaskID == "" || acc.Desired.Locked {
		e.t.Fatalf("unlock %s: %+v %v", domain, acc, err)
	}
	return acc
}

// domain reads a domain's record through the client.
func (e *e2e) domain(name string) (client.Domain, error) {
	return e.client().Domain(context.Background(), name)
}

// sweepStateOf is a sweep's state as the API reads it: running, paused or
// done; "" when it cannot be read.
func (e *e2e) sweepStateOf(id string) string {
	st, err := e.client().Sweep(context.Background(), id)
	if err != nil {
		return ""
	}
	return st.State
}

// apiUp reports whether the API answers a read with the test's token.
func (e *e2e) apiUp() bool {
	_, err := e.client().Domains(context.Background(), client.ListQuery{Limit: 1})
	return err == nil
}

// apiError is err as the API's *client.Error, or nil (no error, or the
// transport's).
func apiError(err error) *client.Error {
	var ae *client.Error
	if errors.As(err, &ae) {
		return ae
	}
	return nil
}

// isAPIError reports whether err is the API's answer with status and code.
func isAPIError(err error, status int, code string) bool {
	ae := apiError(err)
	return ae != nil && ae.Status == status && ae.Code == code
}

func (e *e2e) eventually(what string, timeout time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// inSync reports whether the API shows the domain converged on locked.
func (e *e2e) inSync(domain string, locked bool) bool {
	d, err := e.domain(domain)
	if err != nil {
		return false
	}
	l, _ := e.sim.Locked(domain)
	return d.InSync && d.Desired.Locked == locked && l == locked
}

func TestE2E_serveLockUnlockAndCLI(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.enom.AddDomain("example.com", false)
	e.start("serve")
	e.eventually("the API", 10*time.Second, func() bool {
		_, err := e.domain("example.com")
		return isAPIError(err, 404, "not_found")
	})

	if acc := e.lock("example.com"); acc.TaskID != "lock:example.com@1" || acc.Generation != 1 {
		t.Fatalf("lock: %+v", acc)
	}
	e.eventually("the lock to converge", 15*time.Second, func() bool { return e.inSync("example.com", true) })

	// The CLI records straight into Redis; the serving worker carries it out.
	if out, err := e.run("unlock", "example.com", "--reason", "transfer out"); err != nil || !strings.Contains(out, "queued unlock of example.com: generation 2") {
		t.Fatalf("reglock unlock: %v\n%s", err, out)
	}
	e.eventually("the unlock to converge", 15*time.Second, func() bool { return e.inSync("example.com", false) })
	status, err := e.run("status", "EXAMPLE.com.")
	if err != nil || !strings.Contains(status, "desired:     unlocked") || !strings.Contains(status, "in sync:     yes") {
		t.Fatalf("reglock status: %v\n%s", err, status)
	}
	if out, err := e.run("lock", "bad_name.com"); err == nil || !strings.Contains(out, `contains "_"`) {
		t.Fatalf("reglock lock of a bad name: %v\n%s", err, out)
	}
	// A domain the registrar account does not hold: archived after one
	// attempt, with the registrar's error on the domain.
	e.lock("not-at-the-registrar.com")
	e.eventually("the error to show", 15*time.Second, func() bool {
		d, err := e.domain("not-at-the-registrar.com")
		return err == nil && d.Observed.Error != nil && strings.Contains(*d.Observed.Error, "not found") && !d.InSync
	})
}

// A worker killed with SIGKILL in the middle of a registrar call loses
// nothing: once a worker runs again, asynq's recoverer hands the task back
// (after its 30-second lease and 30 more of clock-skew allowance) and the
// domain converges.
func TestE2E_workerKilledMidTaskLosesNothing(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.enom.AddDomain("killed.com", false)
	e.enom.SetLatency(time.Hour) // the registrar call hangs until the worker dies
	w := e.start("worker")
	if out, err := e.run("lock", "killed.com"); err != nil {
		t.Fatalf("reglock lock: %v\n%s", err, out)
	}
	e.eventually("the registrar call to be in flight", 15*time.Second, func() bool { return e.enom.Calls() >= 1 })
	if err := w.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	w.cmd.Wait()
	e.enom.SetLatency(0)
	e.start("serve")
	e.eventually("the killed task to be recovered and converge", 150*time.Second, func() bool { return e.inSync("killed.com", true) })
	if w := e.sim.Writes("killed.com"); w != 1 {
		t.Errorf("%d registrar writes for one lock across a worker crash, want 1", w)
	}
}

// The sandbox: no Redis, no providers, a generated token; the CLI finds it.
func TestE2E_sandbox(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := "127.0.0.1:" + freePort(t)
	cfg := filepath.Join(dir, "sandbox.yaml")
	os.WriteFile(cfg, []byte("api:\n  listen: "+addr+"\n"), 0o600)
	cmd := exec.Command(binary, "serve", "--config", cfg, "--log-format", "json")
	cmd.Env = append(os.Environ(), "TMPDIR="+dir)
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	sandboxToken(t, out, 10*time.Second) // the sandbox prints its generated token
	first := strings.SplitN(out.String(), "\n", 2)[0]
	if !strings.Contains(first, "SANDBOX") {
		t.Errorf("first log line does not say it is a sandbox: %s", first)
	}
	// The CLI finds the sandbox through its file in TMPDIR.
	cli := func(args ...string) string {
		c := exec.Command(binary, args...)
		c.Env = append(os.Environ(), "TMPDIR="+dir, "REGLOCK_CONFIG=")
		o, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("reglock %v: %v\n%s", args, err, o)
		}
		return string(o)
	}
	cli("lock", "example.net")
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(cli("status", "example.net"), "in sync:     yes") {
		if time.Now().After(deadline) {
			t.Fatalf("example.net did not converge in the sandbox:\n%s", out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sandbox did not exit cleanly on SIGTERM: %v", err)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

// syncBuffer is a bytes.Buffer safe for a process's output and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With `reglock simulate` and `reglock serve` configured for all four
// providers, a lock and an unlock through the API converge on each
// registrar, and an OpenSRS trade-lock change lands with its consent IP.
func TestE2E_simulateAllFourRegistrars(t *testing.T) {
	t.Parallel()
	env := redistest.New(t)
	dir := t.TempDir()
	simAddr := "127.0.0.1:" + freePort(t)
	_, providersYAML := startSimulate(t, "--listen", simAddr, "--domains", "40", "--locked-share", "0")
	apiAddr := "127.0.0.1:" + freePort(t)
	e := &e2e{t: t, env: env, api: apiAddr, token: "e2e-token-0123456789abcdef", config: filepath.Join(dir, "reglock.yaml")}
	cfg := fmt.Sprintf("redis:\n  url: redis://%s/0\napi:\n  listen: %s\n  tokens:\n    - name: billing\n      token: ${E2E_TOKEN}\nworker:\n  concurrency: 16\n%s",
		redistest.Addr(), apiAddr, providersYAML)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	e.start("serve")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })

	simState := func(domain string) map[string]any {
		resp, err := http.Get("http://" + simAddr + "/_sim/domains/" + domain)
		if err != nil {
			return nil
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	converged := func(domain string, locked bool) bool {
		d, err := e.domain(domain)
		return err == nil && d.InSync && d.Desired.Locked == locked && simState(domain)["locked"] == locked
	}
	// sim0000000.com (eNom), sim0000001.net (OpenSRS), sim0000002.org (WHMCS), sim0000003.ee (.ee).
	domains := []string{"sim0000000.com", "sim0000001.net", "sim0000002.org", "sim0000003.ee"}
	for _, d := range domains {
		e.lock(d)
	}
	for _, d := range domains {
		e.eventually(d+" to lock", 20*time.Second, func() bool { return converged(d, true) })
	}
	for _, d := range domains {
		e.unlock(d)
	}
	for _, d := range domains {
		e.eventually(d+" to unlock", 20*time.Second, func() bool { return converged(d, false) })
	}
	off := false
	acc, err := e.client().TradeLock(context.Background(), "sim0000001.net", client.TradeLockRequest{Enable: &off, ConsentIP: "203.0.113.7"})
	if err != nil || acc.Desired.TradeLock == nil || *acc.Desired.TradeLock || acc.TaskID == "" {
		t.Fatalf("trade-lock: %+v %v", acc, err)
	}
	e.eventually("the trade lock setting to land", 20*time.Second, func() bool {
		tl, _ := simState("sim0000001.net")["trade_lock"].(map[string]any)
		return tl["enable"] == false && tl["consent_ip"] == "203.0.113.7"
	})
	e.eventually("the trade lock to show as applied", 10*time.Second, func() bool {
		d, err := e.domain("sim0000001.net")
		return err == nil && d.Desired.TradeLock != nil && !*d.Desired.TradeLock &&
			d.Desired.TradeApplied != nil && *d.Desired.TradeApplied && d.InSync
	})
}

// Import with --adopt, the drift report, a sweep from the CLI, and two
// scheduler processes that start one sweep per tick between them.
func TestE2E_importSweepAndSchedulers(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "scheduler:\n  sweep: \"@every 2s\"\n  confirm_delay: 200ms\n")
	for i := range 12 {
		e.enom.AddDomain(fmt.Sprintf("owned%02d.com", i), i%4 != 0)
	}
	out, err := e.run("import", "--provider", "enom-main", "--adopt")
	if err != nil || !strings.Contains(out, "12 listed, 12 added, 0 already in the inventory, 0 failed") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	out, err = e.run("import", "--provider", "enom-main", "--adopt")
	if err != nil || !strings.Contains(out, "12 listed, 0 added, 12 already in the inventory") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	if out, err := e.run("drift", "--format", "csv"); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("drift after an adopting import: %v\n%s", err, out)
	}
	e.start("worker")
	// Drift behind reglock's back, found and fixed by a sweep from the CLI.
	e.sim.SetLocked("owned01.com", false)
	out, err = e.run("sweep", "--wait")
	if err != nil || !strings.Contains(out, "done: checked 12, drifted 1, errors 0, fixes queued 1") {
		t.Fatalf("sweep --wait: %v\n%s", err, out)
	}
	e.eventually("the fix", 15*time.Second, func() bool { l, _ := e.sim.Locked("owned01.com"); return l })
	if out, err := e.run("drift", "--format", "table"); err != nil || !strings.Contains(out, "0 domains out of sync") {
		t.Fatalf("drift after the fix: %v\n%s", err, out)
	}

	// Two schedulers on "@every 2s": each tick one sweep, each sweep one read per domain.
	before := e.sim.Reads("owned05.com")
	s1, s2 := e.start("scheduler"), e.start("scheduler")
	time.Sleep(5 * time.Second)
	s1.cmd.Process.Signal(syscall.SIGTERM)
	s2.cmd.Process.Signal(syscall.SIGTERM)
	s1.cmd.Wait()
	s2.cmd.Wait()
	ids := e.scheduledSweeps()
	if len(ids) < 2 || len(ids) > 4 {
		t.Fatalf("%d scheduled sweeps in 5s of @every 2s: %v", len(ids), ids)
	}
	for _, id := range ids {
		st := e.sweepState(id)
		e.eventually("sweep "+id, 20*time.Second, func() bool { st = e.sweepState(id); return st["state"] == "done" })
		if st["checked"] != "12" {
			t.Fatalf("sweep %s checked %s domains, want 12", id, st["checked"])
		}
	}
	if reads := e.sim.Reads("owned05.com") - before; reads != len(ids) {
		t.Fatalf("owned05.com read %d times by %d scheduled sweeps: a tick ran twice", reads, len(ids))
	}
}

// scheduledSweeps lists the IDs of the sweeps the scheduler started.
func (e *e2e) scheduledSweeps() []string {
	ctx := context.Background()
	keys, err := e.env.Client.Keys(ctx, e.env.Namespace+":rl:sweep:{sweep-*}").Result()
	if err != nil {
		e.t.Fatal(err)
	}
	var ids []string
	for _, k := range keys {
		ids = append(ids, strings.TrimSuffix(strings.TrimPrefix(k, e.env.Namespace+":rl:sweep:{"), "}"))
	}
	return ids
}

func (e *e2e) sweepState(id string) map[string]string {
	m, _ := e.env.Client.HGetAll(context.Background(), e.env.Namespace+":rl:sweep:{"+id+"}").Result()
	return m
}

// /metrics exposes the named series once a lock has been processed;
// /monitoring serves asynqmon's UI and API to a token holder and refuses
// anyone else.
func TestE2E_metricsAndMonitoring(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.enom.AddDomain("metered.com", false)
	e.start("serve")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })
	e.lock("metered.com")
	e.eventually("the lock", 15*time.Second, func() bool { return e.inSync("metered.com", true) })
	out, err := e.run("sweep", "--wait")
	if err != nil {
		t.Fatalf("sweep: %v\n%s", err, out)
	}
	get := func(path string, auth func(*http.Request)) (int, string) {
		req, _ := http.NewRequest("GET", "http://"+e.api+path, nil)
		if auth != nil {
			auth(req)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b := new(bytes.Buffer)
		b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	code, metrics := get("/metrics", nil)
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, series := range []string{
		`reglock_tasks_processed_total{outcome="success",provider="enom-main",type="domain:lock"} 1`,
		`reglock_registrar_calls_total{operation="set_lock",provider="enom-main",result="ok"} 1`,
		`reglock_registrar_call_duration_seconds_count{operation="lock_state",provider="enom-main"}`,
		`reglock_rate_limit_wait_seconds_count{provider="enom-main"}`,
		`reglock_sweeps_finished_total{state="done"} 1`,
		`reglock_sweep_domains_checked_total{provider="enom-main"} 1`,
		`reglock_domains{provider="enom-main",state="in_sync"} 1`,
		`reglock_sweep_last_finished_timestamp_seconds{provider="enom-main"}`,
		`reglock_api_requests_total{code="202",route="POST /v1/domains/{domain}/lock"} 1`,
		`asynq_queue_size{queue="` + e.env.Namespace + `:reglock:changes"}`,
		`asynq_tasks_processed_total{queue="` + e.env.Namespace + `:reglock:changes"}`,
	} {
		if !strings.Contains(metrics, series) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	if strings.Contains(metrics, "resellpw") || strings.Contains(metrics, e.token) {
		t.Error("/metrics discloses a secret")
	}

	bearer := func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+e.token) }
	basic := func(r *http.Request) { r.SetBasicAuth("operator", e.token) }
	if code, _ := get("/monitoring/", nil); code != 401 {
		t.Errorf("anonymous /monitoring/: %d, want 401", code)
	}
	if code, _ := get("/monitoring/", func(r *http.Request) { r.SetBasicAuth("operator", "wrong-password-0123456789") }); code != 401 {
		t.Errorf("/monitoring/ with a wrong password: %d, want 401", code)
	}
	if code, page := get("/monitoring/", basic); code != 200 || !strings.Contains(page, "<html") {
		t.Errorf("/monitoring/ UI for a token holder: %d", code)
	}
	code, queues := get("/monitoring/api/queues", bearer)
	if code != 200 || !strings.Contains(queues, e.env.Namespace+":reglock:changes") {
		t.Errorf("/monitoring/api/queues: %d %s", code, queues)
	}
	// Task lists render with readable types, payloads and error messages:
	// a lock of a domain the registrar does not hold is archived.
	e.lock("not-held.com")
	var list string
	e.eventually("the archived task in asynqmon", 15*time.Second, func() bool {
		code, list = get("/monitoring/api/queues/"+e.env.Namespace+":reglock:changes/archived_tasks", bearer)
		return code == 200 && strings.Contains(list, "domain:lock")
	})
	for _, want := range []string{"domain:lock", "not-held.com", "not found"} {
		if !strings.Contains(list, want) {
			t.Errorf("archived tasks lack %q: %s", want, list)
		}
	}
	if code, _ := get("/monitoring/api/queues", nil); code != 401 {
		t.Errorf("anonymous asynqmon API: %d, want 401", code)
	}
}

// SIGTERM: the worker stops taking tasks, finishes the one in flight within
// the grace period, and exits 0.
func TestE2E_gracefulShutdownFinishesInFlightTask(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.enom.AddDomain("draining.com", false)
	e.enom.SetLatency(600 * time.Millisecond) // read, write, read back: 1.8s, inside the 3s grace
	w := e.start("worker")
	if out, err := e.run("lock", "draining.com"); err != nil {
		t.Fatalf("lock: %v\n%s", err, out)
	}
	e.eventually("the registrar call to be in flight", 15*time.Second, func() bool { return e.enom.Calls() >= 1 })
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("worker exit after SIGTERM: %v\n%s", err, w.out.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("worker did not exit within its grace period")
	}
	// The in-flight task ran to the end: read, write, read back.
	if l, _ := e.sim.Locked("draining.com"); !l {
		t.Fatalf("in-flight lock not finished before exit:\n%s", w.out.String())
	}
	d, err := e.env.Client.HGetAll(context.Background(), e.env.Namespace+":rl:{"+strconv.FormatInt(int64(store.Bucket("draining.com")), 16)+"}:o").Result()
	if err != nil || !strings.HasPrefix(d["draining.com"], "1|") {
		t.Fatalf("observation not recorded before exit: %v %v", d, err)
	}
}

// startSimulate runs `reglock simulate` with args until the test ends, and
// returns its output and the providers section it printed (the config
// that points reglock at it).
func startSimulate(t *testing.T, args ...string) (*syncBuffer, string) {
	t.Helper()
	sim := exec.Command(binary, append([]string{"simulate", "--log-format", "json"}, args...)...)
	out := &syncBuffer{}
	sim.Stdout, sim.Stderr = out, out
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Process.Kill(); sim.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), "tlds: [ee]") {
		if time.Now().After(deadline) {
			t.Fatalf("simulate printed no config:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	var providers strings.Builder
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "providers:") || strings.HasPrefix(line, "  ") {
			providers.WriteString(line + "\n")
		}
	}
	return out, providers.String()
}

// sandboxToken waits for the sandbox to print its generated token.
func sandboxToken(t *testing.T, out *syncBuffer, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(out.String(), "\n") {
			if f := strings.Fields(line); len(f) == 2 && f[0] == "Token:" {
				return f[1]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the sandbox printed no token:\n%s", out.String())
	return ""
}
