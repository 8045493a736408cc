package main

import (
	"context"
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

	"github.com/reglock/reglock/client"
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

	if acc := e.lock("clustered.com"); acc.TaskID != "lock:clustered.com@1" {
		t.Fatalf("lock: %+v", acc)
	}
	e.eventually("the lock to converge", 15*time.Second, func() bool { return e.inSync("clustered.com", true) })
	e.unlock("clustered.com")
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
	// The listing, in pages of five, holds all thirteen domains once.
	listed := map[string]bool{}
	q := client.ListQuery{Limit: 5}
	for pages := 0; ; pages++ {
		page, err := e.client().Domains(context.Background(), q)
		if err != nil || len(page.Domains) > 5 || pages > 20 {
			t.Fatalf("listing, page %d: %+v %v", pages, page, err)
		}
		for _, d := range page.Domains {
			if listed[d.Domain] {
				t.Errorf("%s listed twice", d.Domain)
			}
			listed[d.Domain] = true
		}
		if page.NextCursor == nil {
			break
		}
		q.Cursor = *page.NextCursor
	}
	if len(listed) != 13 {
		t.Fatalf("the listing holds %d domains, want 13: %v", len(listed), listed)
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
	e.lock("before.com")
	e.eventually("the lock to converge", 15*time.Second, func() bool { return e.inSync("before.com", true) })
	// Replication is asynchronous: what the master acknowledged may not be
	// on the replica yet. Wait until it is, or the crash may lose it.
	ss.WaitReplicated(10 * time.Second)

	// Lock requests, one after another, from before the crash until the
	// API accepts them again.
	type result struct {
		domain string
		// accepted: the API answered with an accepted change; else status
		// and code are its error's (0 and "": no answer), and err says it.
		accepted bool
		status   int
		code     string
		err      string
		took     time.Duration
		at       time.Duration
	}
	var (
		mu      sync.Mutex
		results []result
		stop    = make(chan struct{})
		done    = make(chan struct{})
	)
	c := e.client()
	c.HTTP = &http.Client{Timeout: 30 * time.Second}
	lock := func(domain string) result {
		acc, err := c.Lock(context.Background(), domain, client.LockRequest{})
		r := result{domain: domain, accepted: err == nil && acc.Generation >= 1 && acc.TaskID != ""}
		if ae := apiError(err); ae != nil {
			r.status, r.code = ae.Status, ae.Code
		}
		if err != nil {
			r.err = err.Error()
		}
		return r
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
			r := lock(d)
			r.took, r.at = time.Since(start), start.Sub(killed)
			mu.Lock()
			results = append(results, r)
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
		return len(results) > 0 && results[len(results)-1].accepted && results[len(results)-1].at > failover
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
		case r.accepted:
			accepted = append(accepted, r.domain)
		case r.status == 503 && r.code == "unavailable":
			unavailable++
		default:
			t.Errorf("lock %s during the failover (at +%v, took %v): %s; want accepted or 503 unavailable", r.domain, r.at.Round(time.Millisecond), r.took.Round(time.Millisecond), r.err)
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
	e.lock("after.com")
	e.eventually("the lock after the failover to converge", 20*time.Second, func() bool { return e.inSync("after.com", true) })
	// Every 202 was recorded for good and is carried out: none was lost.
	for _, d := range accepted {
		e.eventually(d+" (accepted during the failover) to converge", 20*time.Second, func() bool { return e.inSync(d, true) })
	}
	// What was locked and replicated before the crash is still recorded.
	if d, err := e.domain("before.com"); err != nil || !d.Desired.Locked || d.Generation != 1 || !d.InSync {
		t.Fatalf("before.com after the failover: %+v %v", d, err)
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
	_, err := e.client().Lock(context.Background(), "outage.com", client.LockRequest{})
	took := time.Since(start)
	if !isAPIError(err, 503, "unavailable") {
		t.Fatalf("lock with no Redis master: %v after %v; want 503 unavailable", err, took)
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
		_, err := e.client().Lock(context.Background(), "outage.com", client.LockRequest{})
		return isAPIError(err, 503, "store_lost")
	})
	if c, body := e.haGet("/readyz"); c != 503 || !strings.Contains(body, "store lost") {
		t.Fatalf("/readyz with the store lost: %d %s", c, body)
	}
	// With nothing to restore, the operator accepts the empty store.
	if out, err := e.run("restore", "--accept-empty"); err != nil {
		t.Fatalf("restore --accept-empty: %v\n%s", err, out)
	}
	e.eventually("the API to accept the lock again", 20*time.Second, func() bool {
		acc, err := e.client().Lock(context.Background(), "outage.com", client.LockRequest{})
		return err == nil && acc.Generation >= 1 && acc.TaskID != ""
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
