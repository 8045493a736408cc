package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/redistest"
)

// The end-to-end tests of reglock on the Redis topologies it supports for
// production beyond a single server: a Redis Cluster and a Sentinel-managed
// master with a replica. Each test starts its own topology (redistest), so
// they need REGLOCK_REDIS_SERVER or redis-server on PATH (`make test`), not
// the shared test server.

// newHA is an end-to-end world like newE2E's, on the Redis the redis YAML
// section describes.
func newHA(t *testing.T, namespace, redisYAML string) *e2e {
	t.Helper()
	e := &e2e{t: t, env: redistest.Env{Namespace: namespace}, sim: simulator.New(simulator.Options{})}
	e.enom = e.sim.AddAccount(simulator.ENom, "resellid", "resellpw")
	hs := httptest.NewServer(e.sim.Handler())
	t.Cleanup(hs.Close)
	e.api = "127.0.0.1:" + freePort(t)
	e.token = "e2e-token-0123456789abcdef"
	e.config = filepath.Join(t.TempDir(), "reglock.yaml")
	cfg := fmt.Sprintf(`%s
api:
  listen: %s
  tokens:
    - name: billing
      token: ${E2E_TOKEN}
worker:
  concurrency: 8
  shutdown_timeout: 3s
scheduler:
  sweep: ""
  confirm_delay: 200ms
providers:
  - name: enom-main
    type: enom
    endpoint: %s/enom/interface.asp
    username: resellid
    password: ${E2E_ENOM_PW}
    tlds: [com, net]
    rate: 200
`, redisYAML, e.api, hs.URL)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// haGet calls the API with the token and returns the status and raw body.
func (e *e2e) haGet(path string) (int, string) {
	req, _ := http.NewRequest("GET", "http://"+e.api+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// reglock serve on a three-node Redis Cluster: a lock and an unlock through
// the API converge, an import and a sweep from the CLI finish and their fix
// lands, and the metrics and asynqmon (its cluster view) read the queues.
func TestHA_cluster(t *testing.T) {
	t.Parallel()
	cl := redistest.StartCluster(t, 3)
	e := newHA(t, "hacluster", "redis:\n  cluster:\n    addrs: ["+strings.Join(cl.Addrs(), ", ")+"]")
	for i := range 12 {
		e.enom.AddDomain(fmt.Sprintf("owned%02d.com", i), i%4 != 0)
	}
	out, err := e.run("import", "--provider", "enom-main", "--adopt")
	if err != nil || !strings.Contains(out, "12 listed, 12 added") {
		t.Fatalf("import: %v\n%s", err, out)
	}
	e.enom.AddDomain("clustered.com", false)
	e.start("serve")
	e.eventually("the API to be ready", 15*time.Second, func() bool { c, _ := e.haGet("/readyz"); return c == 200 })

	code, resp := e.http("POST", "/v1/domains/clustered.com/lock")
	if code != 202 || resp["task_id"] != "lock:clustered.com@1" {
		t.Fatalf("lock: %d %v", code, resp)
	}
	e.eventually("the lock to converge", 15*time.Second, func() bool { return e.inSync("clustered.com", true) })
	if code, resp := e.http("DELETE", "/v1/domains/clustered.com/lock"); code != 202 {
		t.Fatalf("unlock: %d %v", code, resp)
	}
	e.eventually("the unlock to converge", 15*time.Second, func() bool { return e.inSync("clustered.com", false) })

	// Drift behind reglock's back; a sweep from the CLI (its own cluster
	// client) finds it, and the serving worker fixes it.
	e.sim.SetLocked("owned01.com", false)
	out, err = e.run("sweep", "--wait")
	if err != nil || !strings.Contains(out, "done: checked 13, drifted 1, errors 0, fixes queued 1") {
		t.Fatalf("sweep --wait: %v\n%s", err, out)
	}
	e.eventually("the sweep's fix", 15*time.Second, func() bool { l, _ := e.sim.Locked("owned01.com"); return l })
	if out, err := e.run("drift", "--format", "csv"); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("drift after the fix: %v\n%s", err, out)
	}
	code, listing := e.haGet("/v1/domains?limit=5")
	if code != 200 || !strings.Contains(listing, `"next_cursor"`) {
		t.Fatalf("listing: %d %s", code, listing)
	}

	// Queue figures through asynq's inspector on the cluster client (read
	// at scrape time; the second scrape shows whether the first failed).
	e.haGet("/metrics")
	_, metrics := e.haGet("/metrics")
	if !strings.Contains(metrics, "reglock_queue_metrics_errors_total 0") {
		t.Errorf("reading the queue figures failed on the cluster:\n%s", haGrepLines(metrics, "reglock_queue_metrics_errors_total"))
	}
	if processed := haGrepLines(metrics, `asynq_tasks_processed_total{queue="hacluster:reglock:changes"}`); processed == "" ||
		strings.HasSuffix(processed, " 0") {
		t.Errorf("no processed tasks in the metrics: %q", processed)
	}
	// asynqmon makes its own cluster connection (RedisClusterClientOpt).
	if code, body := e.haGet("/monitoring/api/queues"); code != 200 || !strings.Contains(body, "hacluster:reglock:changes") {
		t.Errorf("asynqmon queues: %d %.300s", code, body)
	}
	if code, body := e.haGet("/monitoring/api/redis_info"); code != 200 || !strings.Contains(body, `"cluster":true`) {
		t.Errorf("asynqmon redis_info: %d %.300s", code, body)
	}
}

// reglock serve on a Sentinel setup survives a crash of the Redis master:
// the sentinels promote the replica, the API answers 503 while there is no
// master (never a 202 that is then lost), accepts writes again afterwards,
// the worker carries on by itself, and what was recorded before the crash
// (and replicated) is still there.
func TestHA_sentinelFailover(t *testing.T) {
	t.Parallel()
	ss := redistest.StartSentinel(t)
	e := newHA(t, "hasentinel", fmt.Sprintf("redis:\n  sentinel:\n    master_name: %s\n    addrs: [%s]",
		ss.MasterName(), strings.Join(ss.SentinelAddrs(), ", ")))
	const during = 400
	e.enom.AddDomain("before.com", false)
	e.enom.AddDomain("after.com", false)
	for i := range during {
		e.enom.AddDomain(fmt.Sprintf("during%03d.com", i), false)
	}
	e.start("serve")
	e.eventually("the API to be ready", 15*time.Second, func() bool { c, _ := e.haGet("/readyz"); return c == 200 })
	if code, resp := e.http("POST", "/v1/domains/before.com/lock"); code != 202 {
		t.Fatalf("lock: %d %v", code, resp)
	}
	e.eventually("the lock to converge", 15*time.Second, func() bool { return e.inSync("before.com", true) })
	// Replication is asynchronous: what the master acknowledged may not be
	// on the replica yet. Wait until it is, or the crash may lose it.
	ss.WaitReplicated(10 * time.Second)

	// Lock requests, one after another, from before the crash until the
	// API accepts them again.
	type result struct {
		domain string
		code   int
		err    string
		took   time.Duration
		at     time.Duration
	}
	var (
		mu      sync.Mutex
		results []result
		stop    = make(chan struct{})
		done    = make(chan struct{})
	)
	client := &http.Client{Timeout: 30 * time.Second}
	post := func(domain string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+e.api+"/v1/domains/"+domain+"/lock", nil)
		req.Header.Set("Authorization", "Bearer "+e.token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		var body struct {
			Error struct{ Code string } `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body.Error.Code
	}
	// And readiness probes meanwhile: 200 or 503, never a hang.
	probes := map[int]int{}
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			c, _ := e.haGet("/readyz")
			mu.Lock()
			probes[c]++
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
	}()
	killed := time.Now()
	ss.KillMaster()
	go func() {
		defer close(done)
		for i := 0; i < during; i++ {
			select {
			case <-stop:
				return
			default:
			}
			d := fmt.Sprintf("during%03d.com", i)
			start := time.Now()
			code, msg := post(d)
			mu.Lock()
			results = append(results, result{d, code, msg, time.Since(start), start.Sub(killed)})
			mu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	promoted := ss.WaitForNewMaster(30 * time.Second)
	failover := time.Since(killed)
	// Keep writing until the API takes writes again (it must, by itself).
	e.eventually("the API to accept writes on the new master", 20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(results) > 0 && results[len(results)-1].code == 202 && results[len(results)-1].at > failover
	})
	close(stop)
	<-done
	recovered := time.Since(killed)

	// A request made while there is no master either waits for the new
	// one (the client's retries span a short failover) and is accepted
	// there, or fails with 503; nothing else.
	var accepted []string
	unavailable, slowest := 0, time.Duration(0)
	for _, r := range results {
		slowest = max(slowest, r.took)
		switch {
		case r.code == 202:
			accepted = append(accepted, r.domain)
		case r.code == 503 && r.err == "unavailable":
			unavailable++
		default:
			t.Errorf("lock %s during the failover (at +%v, took %v): %d %s; want 202 or 503", r.domain, r.at.Round(time.Millisecond), r.took.Round(time.Millisecond), r.code, r.err)
		}
	}
	mu.Lock()
	for c, n := range probes {
		if c != 200 && c != 503 {
			t.Errorf("/readyz answered %d %d times during the failover", c, n)
		}
	}
	t.Logf("master %s killed; sentinels promoted %s after %v; API accepted writes again after %v; %d lock requests meanwhile: %d answered 503, %d accepted, slowest %v; /readyz: %v",
		ss.Replica().Addr(), promoted.Addr(), failover.Round(time.Millisecond), recovered.Round(time.Millisecond), len(results), unavailable, len(accepted), slowest.Round(time.Millisecond), probes)
	mu.Unlock()

	// A new lock through the API after the failover is accepted and the
	// worker, which was never restarted, carries it out.
	if code, resp := e.http("POST", "/v1/domains/after.com/lock"); code != 202 {
		t.Fatalf("lock after the failover: %d %v", code, resp)
	}
	e.eventually("the lock after the failover to converge", 20*time.Second, func() bool { return e.inSync("after.com", true) })
	// Every 202 was recorded for good and is carried out: none was lost.
	for _, d := range accepted {
		e.eventually(d+" (accepted during the failover) to converge", 20*time.Second, func() bool { return e.inSync(d, true) })
	}
	// What was locked and replicated before the crash is still recorded.
	code, out := e.http("GET", "/v1/domains/before.com")
	desired, _ := out["desired"].(map[string]any)
	if code != 200 || desired["locked"] != true || out["generation"] != float64(1) || out["in_sync"] != true {
		t.Fatalf("before.com after the failover: %d %v", code, out)
	}
	if c, body := e.haGet("/readyz"); c != 200 {
		t.Fatalf("readyz after the failover: %d %s", c, body)
	}
	if c, body := e.haGet("/monitoring/api/queues"); c != 200 || !strings.Contains(body, "hasentinel:reglock:changes") {
		t.Errorf("asynqmon after the failover: %d %.300s", c, body)
	}
}

// With no master at all (master and replica both down, so the sentinels
// have nothing to promote), a lock request fails with 503 in bounded time
// and /readyz says so; once a master is back (empty: the store is lost) and
// an operator has accepted the empty store, the same process accepts the
// lock and its worker carries it out, with no restart.
func TestHA_sentinelNoMasterAnswers503(t *testing.T) {
	t.Parallel()
	ss := redistest.StartSentinel(t)
	e := newHA(t, "hanomaster", fmt.Sprintf("redis:\n  sentinel:\n    master_name: %s\n    addrs: [%s]",
		ss.MasterName(), strings.Join(ss.SentinelAddrs(), ", ")))
	e.enom.AddDomain("outage.com", false)
	e.start("serve")
	e.eventually("the API to be ready", 15*time.Second, func() bool { c, _ := e.haGet("/readyz"); return c == 200 })
	master := ss.Master()
	ss.Replica().Kill()
	master.Kill()

	start := time.Now()
	code, resp := e.http("POST", "/v1/domains/outage.com/lock")
	took := time.Since(start)
	errBody, _ := resp["error"].(map[string]any)
	if code != 503 || errBody["code"] != "unavailable" {
		t.Fatalf("lock with no Redis master: %d %v after %v; want 503 unavailable", code, resp, took)
	}
	if c, body := e.haGet("/readyz"); c != 503 {
		t.Fatalf("/readyz with no Redis master: %d %s", c, body)
	}
	t.Logf("with no master, a lock request answered 503 after %v", took.Round(time.Millisecond))

	// The master comes back (empty: it persisted nothing), at the address
	// the sentinels still give. Its data is gone: that is a Redis loss, and
	// the process says so instead of starting again from nothing.
	master.Start()
	e.eventually("the process to see the store lost", 20*time.Second, func() bool {
		code, resp := e.http("POST", "/v1/domains/outage.com/lock")
		errBody, _ := resp["error"].(map[string]any)
		return code == 503 && errBody["code"] == "store_lost"
	})
	if c, body := e.haGet("/readyz"); c != 503 || !strings.Contains(body, "store lost") {
		t.Fatalf("/readyz with the store lost: %d %s", c, body)
	}
	// With nothing to restore, the operator accepts the empty store.
	if out, err := e.run("restore", "--accept-empty"); err != nil {
		t.Fatalf("restore --accept-empty: %v\n%s", err, out)
	}
	e.eventually("the API to accept the lock again", 20*time.Second, func() bool {
		code, _ := e.http("POST", "/v1/domains/outage.com/lock")
		return code == 202
	})
	e.eventually("the lock to converge", 20*time.Second, func() bool { return e.inSync("outage.com", true) })
}

// haGrepLines returns the lines of text that start with prefix.
func haGrepLines(text, prefix string) string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, prefix) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
