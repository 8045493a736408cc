package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/tasks"
)

// readyz returns /readyz's status and body.
func (e *e2e) readyz() (int, string) {
	return e.haGet("/readyz")
}

// scrapeMetric returns one unlabelled sample of /metrics, or "".
func (e *e2e) scrapeMetric(name string) string {
	resp, err := http.Get("http://" + e.api + "/metrics")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// The Redis-loss drill: a running service (API, worker, scheduler) with
// locked domains and unlocked ones in their windows; an export; FLUSHALL
// under it. Within seconds readiness is red with the reason and the
// critical metric is 1; a lock request, a sweep, a policy import and a
// producer's own task are all refused or held, and nothing is written to
// the registrar. A truncated export is refused whole. The export restored,
// the service is ready again by itself: the unlocked domain is still
// desired unlocked with its window, the locked ones locked, a window that
// ended during the outage is relocked, and the held task runs.
func TestStoreLoss_drill(t *testing.T) {
	t.Parallel()
	e, rds := newFaultE2E(t)
	for _, d := range []string{"keep1.com", "keep2.com", "direct.com"} {
		e.enom.AddDomain(d, false)
	}
	e.enom.AddDomain("open.com", true)
	e.enom.AddDomain("short.com", true)
	srv := e.start("serve")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := e.readyz(); return c == 200 })

	for _, d := range []string{"keep1.com", "keep2.com"} {
		e.lock(d)
	}
	if out, err := e.run("unlock", "open.com", "--relock-after", "72h", "--provider", "enom-main", "--reason", "transfer out"); err != nil {
		t.Fatalf("unlock open.com: %v\n%s", err, out)
	}
	for _, d := range []string{"keep1.com", "keep2.com"} {
		e.eventually(d+" to lock", 15*time.Second, func() bool { return e.inSync(d, true) })
	}
	e.eventually("open.com to unlock", 15*time.Second, func() bool { return e.inSync("open.com", false) })
	// A short window, which ends while the store is lost.
	if out, err := e.run("unlock", "short.com", "--relock-after", "10s", "--provider", "enom-main"); err != nil {
		t.Fatalf("unlock short.com: %v\n%s", err, out)
	}
	e.eventually("short.com to unlock", 8*time.Second, func() bool { return e.inSync("short.com", false) })
	open, err := e.domain("open.com")
	if err != nil || open.Desired.RelockAt == nil {
		t.Fatalf("open.com's window: %+v %v", open, err)
	}
	openDesired := open.Desired
	short, err := e.domain("short.com")
	if err != nil || short.Desired.RelockAt == nil {
		t.Fatalf("short.com's window: %+v %v", short, err)
	}
	shortEnds := *short.Desired.RelockAt

	export := filepath.Join(t.TempDir(), "reglock.jsonl")
	if out, err := e.run("export", "--output", export); err != nil || !strings.Contains(out, "exported 4 domains") {
		t.Fatalf("export: %v\n%s", err, out)
	}
	writes := func() (n int) {
		for _, d := range []string{"keep1.com", "keep2.com", "open.com", "short.com", "direct.com"} {
			n += e.sim.Writes(d)
		}
		return n
	}
	before, callsBefore := writes(), e.enom.Calls()

	// The loss.
	if err := rds.Client().FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	lost := time.Now()
	e.eventually("readiness to turn red", 10*time.Second, func() bool { c, _ := e.readyz(); return c == 503 })
	t.Logf("readiness red %v after FLUSHALL", time.Since(lost).Round(time.Millisecond))
	if code, body := e.readyz(); code != 503 || !strings.Contains(body, "store lost") || !strings.Contains(body, "reglock restore FILE") {
		t.Fatalf("/readyz while lost: %d %s", code, body)
	}
	e.eventually("reglock_store_lost to be 1", 10*time.Second, func() bool { return e.scrapeMetric("reglock_store_lost") == "1" })

	// Everything that could write is refused or held.
	if _, err := e.client().Lock(context.Background(), "new.com", client.LockRequest{}); !isAPIError(err, 503, "store_lost") {
		t.Errorf("a lock request while lost: %v", err)
	}
	if _, err := e.client().StartSweep(context.Background(), client.SweepRequest{}); !isAPIError(err, 503, "store_lost") {
		t.Errorf("a sweep while lost: %v", err)
	}
	if out, err := e.run("sweep"); err == nil || !strings.Contains(out, "store lost") {
		t.Errorf("reglock sweep while lost: %v\n%s", err, out)
	}
	if out, err := e.run("lock", "cli.com", "--provider", "enom-main"); err == nil || !strings.Contains(out, "store lost") {
		t.Errorf("reglock lock while lost: %v\n%s", err, out)
	}
	if out, err := e.run("import", "--provider", "enom-main"); err == nil || !strings.Contains(out, "import refused") || !strings.Contains(out, "as locked") {
		t.Errorf("a policy import while lost: %v\n%s", err, out)
	}
	if out, err := e.run("export", "--output", export); err == nil || !strings.Contains(out, "export refused") {
		t.Errorf("an export while lost (it would replace the good one): %v\n%s", err, out)
	}
	// A producer's own task (no API in between) is held by the worker.
	task, err := tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{Domain: "direct.com", Provider: "enom-main", RequestedAt: time.Now()}})
	if err != nil {
		t.Fatal(err)
	}
	producer := asynq.NewClientFromRedisClient(rds.Client())
	defer producer.Close()
	queue := tasks.Namespace(e.env.Namespace).Queue(tasks.QueueChanges)
	held, err := producer.Enqueue(task, asynq.Queue(queue))
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(rds.Client())
	e.eventually("the producer's task to be held", 10*time.Second, func() bool {
		ti, err := insp.GetTaskInfo(queue, held.ID)
		return err == nil && ti.State == asynq.TaskStateRetry && strings.Contains(ti.LastErr, "store lost") && ti.Retried == 0
	})

	// A truncated export is refused whole.
	data, err := os.ReadFile(export)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSpace(string(data)), "\n")
	truncated := filepath.Join(t.TempDir(), "truncated.jsonl")
	os.WriteFile(truncated, []byte(strings.Join(lines[:len(lines)-1], "")), 0o600)
	if out, err := e.run("restore", truncated); err == nil || !strings.Contains(out, "truncated export") || !strings.Contains(out, "nothing was restored") {
		t.Errorf("restore of a truncated export: %v\n%s", err, out)
	}
	if d, err := e.domain("open.com"); !isAPIError(err, 404, "not_found") {
		t.Errorf("a refused restore wrote open.com: %+v %v", d, err)
	}

	// Let short.com's window end while the store is lost.
	time.Sleep(time.Until(shortEnds.Add(500 * time.Millisecond)))
	if after, calls := writes(), e.enom.Calls(); after != before || calls != callsBefore {
		t.Fatalf("the registrar saw %d writes (%d calls) while the store was lost", after-before, calls-callsBefore)
	}
	if l, _ := e.sim.Locked("short.com"); l {
		t.Fatal("short.com was relocked while the store was lost")
	}
	if !strings.Contains(srv.out.String(), "STORE LOST") {
		t.Errorf("no STORE LOST line in the log:\n%s", srv.out.String())
	}

	// The restore.
	out2, err := e.run("restore", export)
	if err != nil || !strings.Contains(out2, "4 domains: 4 added, 0 replaced an older intent, 0 kept") || !strings.Contains(out2, "unlock windows re-armed: 2") {
		t.Fatalf("restore: %v\n%s", err, out2)
	}
	restored := time.Now()
	e.eventually("readiness to turn green", 10*time.Second, func() bool { c, _ := e.readyz(); return c == 200 })
	t.Logf("ready %v after the restore", time.Since(restored).Round(time.Millisecond))
	e.eventually("reglock_store_lost to be 0", 10*time.Second, func() bool { return e.scrapeMetric("reglock_store_lost") == "0" })

	open, err = e.domain("open.com")
	if err != nil || open.Desired.Locked || open.Desired.RelockAt == nil || !open.Desired.RelockAt.Equal(*openDesired.RelockAt) || open.Generation != 1 {
		t.Fatalf("open.com after the restore: %+v %v; before the loss desired %+v", open, err, openDesired)
	}
	for _, d := range []string{"keep1.com", "keep2.com"} {
		if got, err := e.domain(d); err != nil || !got.Desired.Locked {
			t.Errorf("%s after the restore: %+v %v", d, got, err)
		}
	}
	e.eventually("short.com's ended window to be relocked", 30*time.Second, func() bool { return e.inSync("short.com", true) })
	e.eventually("the held task to run", 40*time.Second, func() bool { l, _ := e.sim.Locked("direct.com"); return l })
	if l, _ := e.sim.Locked("open.com"); l {
		t.Error("open.com was relocked: its window runs for 72h")
	}
	if acc, err := e.client().Lock(context.Background(), "new.com", client.LockRequest{}); err != nil || acc.Generation != 1 {
		t.Errorf("a lock request after the restore: %+v %v", acc, err)
	}
	if acc, err := e.client().Lock(context.Background(), "open.com", client.LockRequest{}); err != nil || acc.Generation != 2 {
		t.Errorf("the next intent of a restored domain: %+v %v, want generation 2", acc, err)
	}
}

// After a loss with no export to restore, an operator accepts the empty
// store: the service is ready again and records from scratch.
func TestStoreLoss_acceptEmpty(t *testing.T) {
	t.Parallel()
	e, rds := newFaultE2E(t)
	e.enom.AddDomain("gone.com", false)
	e.start("serve")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := e.readyz(); return c == 200 })
	e.lock("gone.com")
	e.eventually("gone.com to lock", 15*time.Second, func() bool { return e.inSync("gone.com", true) })
	if out, err := e.run("restore", "--accept-empty"); err != nil || !strings.Contains(out, "not marked lost: nothing to accept") {
		t.Fatalf("accepting a store that is fine: %v\n%s", err, out)
	}
	if err := rds.Client().FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	e.eventually("readiness to turn red", 10*time.Second, func() bool { c, _ := e.readyz(); return c == 503 })
	out, err := e.run("restore", "--accept-empty")
	if err != nil || !strings.Contains(out, "accepted as it is (0 domains)") {
		t.Fatalf("restore --accept-empty: %v\n%s", err, out)
	}
	e.eventually("readiness to turn green", 10*time.Second, func() bool { c, _ := e.readyz(); return c == 200 })
	if acc, err := e.client().Lock(context.Background(), "gone.com", client.LockRequest{}); err != nil || acc.Generation != 1 {
		t.Fatalf("lock after accepting the empty store: %+v %v", acc, err)
	}
}
