package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/redistest"
)

// newFaultE2E is an e2e world whose Redis is a server of the test's own,
// which it may kill and restart.
func newFaultE2E(t *testing.T, redisArgs ...string) (*e2e, *redistest.Server) {
	t.Helper()
	srv := redistest.StartServer(t, redisArgs...)
	e := newE2E(t)
	cfg, err := os.ReadFile(e.config)
	if err != nil {
		t.Fatal(err)
	}
	// The same world on the test's own Redis.
	patched := strings.Replace(string(cfg), "redis://"+redistest.Addr()+"/0", "redis://"+srv.Addr()+"/0", 1)
	if err := os.WriteFile(e.config, []byte(patched), 0o600); err != nil {
		t.Fatal(err)
	}
	return e, srv
}

// lockWithin asks the API to lock domain, giving up on the answer after
// 20 seconds.
func (e *e2e) lockWithin(domain string) (client.Accepted, error) {
	c := e.client()
	c.HTTP = &http.Client{Timeout: 20 * time.Second}
	return c.Lock(context.Background(), domain, client.LockRequest{})
}

// Redis killed (SIGKILL) mid-run and restarted from its AOF: no accepted
// intent and no queued task is lost; while it is down, writes are refused
// with 503 (never a silent 202) and readiness fails; the processes resume
// by themselves.
func TestFault_redisKilledMidRunLosesNothing(t *testing.T) {
	t.Parallel()
	e, redis := newFaultE2E(t, "--appendonly", "yes", "--appendfsync", "always")
	const n = 30
	for i := range n {
		e.enom.AddDomain(fmt.Sprintf("aof%02d.com", i), false)
	}
	e.enom.SetLatency(300 * time.Millisecond) // work is still queued when Redis dies
	e.start("serve")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })
	for i := range n {
		if acc, err := e.lockWithin(fmt.Sprintf("aof%02d.com", i)); err != nil || acc.Generation != 1 {
			t.Fatalf("lock %d: %+v %v", i, acc, err)
		}
	}
	converged := 0
	for i := range n {
		if l, _ := e.sim.Locked(fmt.Sprintf("aof%02d.com", i)); l {
			converged++
		}
	}
	redis.Kill()
	// Down: refused loudly.
	began := time.Now()
	if _, err := e.lockWithin("while-down.com"); apiError(err) == nil || apiError(err).Status != http.StatusServiceUnavailable {
		t.Errorf("a write while Redis is down answered %v, want 503", err)
	}
	refusedIn := time.Since(began)
	if code, _ := e.http("GET", "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while Redis is down: %d, want 503", code)
	}
	time.Sleep(time.Second)
	redis.Start()
	restarted := time.Now()
	e.enom.SetLatency(0)
	for i := range n {
		d := fmt.Sprintf("aof%02d.com", i)
		e.eventually(d+" to converge after the restart", 60*time.Second, func() bool { return e.inSync(d, true) })
		if got, err := e.domain(d); err != nil || got.Generation != 1 {
			t.Errorf("%s: generation %d (%v) after the restart, want 1 (intent kept, not re-recorded)", d, got.Generation, err)
		}
	}
	t.Logf("%d locks accepted, %d carried out when Redis was SIGKILLed; a write meanwhile got 503 in %v; after the restart all %d converged in %v",
		n, converged, refusedIn.Round(time.Millisecond), n, time.Since(restarted).Round(time.Millisecond))
	if code, _ := e.http("GET", "/readyz"); code != 200 {
		t.Errorf("/readyz after Redis came back: %d", code)
	}
	if acc, err := e.lockWithin("after.com"); err != nil || acc.Generation != 1 {
		t.Errorf("a write after Redis came back: %+v %v", acc, err)
	}
}

// The scheduler killed with SIGKILL right after it started a sweep: the
// sweep lives in Redis and the workers, and completes.
func TestFault_schedulerKilledDuringSweep(t *testing.T) {
	t.Parallel()
	e := newE2E(t, "scheduler:\n  sweep: \"@every 2s\"\n  confirm_delay: 200ms\n")
	for i := range 20 { // one drifted of 20 stays under the 10% guard
		e.enom.AddDomain(fmt.Sprintf("sched%02d.com", i), true)
	}
	if out, err := e.run("import", "--provider", "enom-main", "--adopt"); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	e.sim.SetLocked("sched03.com", false) // one domain to fix
	e.enom.SetLatency(100 * time.Millisecond)
	s := e.start("scheduler")
	e.eventually("a scheduled sweep", 15*time.Second, func() bool { return len(e.scheduledSweeps()) > 0 })
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
	ids := e.scheduledSweeps()
	e.start("worker")
	for _, id := range ids {
		e.eventually("sweep "+id+" to finish without its scheduler", 30*time.Second, func() bool { return e.sweepState(id)["state"] == "done" })
		st := e.sweepState(id)
		t.Logf("sweep %s, its scheduler SIGKILLed: %s, checked %s, drifted %s, fixes queued %s", id, st["state"], st["checked"], st["drifted"], st["fixes_queued"])
	}
	e.eventually("the drift to be fixed", 15*time.Second, func() bool { l, _ := e.sim.Locked("sched03.com"); return l })
}

// Two worker processes racing on one domain, with a burst of alternating
// requests: the registrar ends as the last request asked, and writes stay
// within one per request.
func TestFault_twoWorkersRaceOnOneDomain(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	e.enom.AddDomain("contested.com", false)
	e.enom.SetLatency(20 * time.Millisecond)
	e.start("worker")
	e.start("worker")
	e.start("api")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })
	const n = 25 // odd: the last request is a lock, so at least one write is due
	for i := range n {
		if i%2 == 0 {
			e.lock("contested.com")
		} else {
			e.unlock("contested.com")
		}
	}
	d, err := e.domain("contested.com")
	if err != nil || d.Generation != n {
		t.Fatalf("generation %d (%v), want %d", d.Generation, err, n)
	}
	if !d.Desired.Locked {
		t.Fatalf("desired unlocked after a last request to lock")
	}
	e.eventually("the last intent to win", 30*time.Second, func() bool { return e.inSync("contested.com", true) })
	time.Sleep(500 * time.Millisecond) // a late, stale task would write now
	w := e.sim.Writes("contested.com")
	if w < 1 || w > n {
		t.Errorf("%d registrar writes for %d requests", w, n)
	}
	t.Logf("%d requests, %d registrar writes", n, w)
	if l, _ := e.sim.Locked("contested.com"); !l {
		t.Fatal("the registrar ended unlocked; the last request asked for a lock")
	}
}
