package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// A domain's status names the task carrying its pending work and when it
// runs next, who asked for the intent and why, and its relock.
func TestDomainStatus_taskIntentAndRelock(t *testing.T) {
	b := setup(t)
	code, _ := b.call("DELETE", "/v1/domains/example.com/lock", writeToken, `{"relock_after":"72h","reason":"transfer","requested_by":"alice"}`)
	if code != 202 {
		t.Fatalf("unlock: %d", code)
	}
	code, out := b.call("GET", "/v1/domains/example.com", readToken, "")
	if code != 200 {
		t.Fatalf("status: %d %v", code, out)
	}
	task, _ := out["task"].(map[string]any)
	if task["id"] != "unlock:example.com@1" || task["state"] != "pending" || task["type"] != "domain:unlock" {
		t.Fatalf("task = %v", task)
	}
	in, _ := out["intent"].(map[string]any)
	if in["requested_by"] != "alice" || in["reason"] != "transfer" || in["token"] != "billing" || in["kind"] != "unlock" {
		t.Fatalf("intent = %v", in)
	}
	if rl, _ := out["relock"].(map[string]any); rl["state"] != "scheduled" {
		t.Fatalf("relock = %v", rl)
	}
	// With its task gone (a lost enqueue), the work is owed: the janitor
	// queues it at the mark's due time.
	if _, err := b.insp.DeleteAllPendingTasks(b.queues.Queue(tasks.QueueChanges)); err != nil {
		t.Fatal(err)
	}
	_, out = b.call("GET", "/v1/domains/example.com", readToken, "")
	if task, _ := out["task"].(map[string]any); task["state"] != "owed" || task["next_attempt"] == nil {
		t.Fatalf("task without its asynq task = %v", task)
	}
}

// A request naming another provider for a domain in the inventory is 409
// and leaves no trace; forgetting needs the admin scope and is recorded.
func TestProviderConflictAndForget(t *testing.T) {
	b := setup(t)
	if code, _ := b.call("POST", "/v1/domains/example.com/lock", writeToken, `{"provider":"enom-main"}`); code != 202 {
		t.Fatal(code)
	}
	code, out := b.call("POST", "/v1/domains/example.com/lock", writeToken, `{"provider":"opensrs"}`)
	if e, _ := out["error"].(map[string]any); code != 409 || e["code"] != "provider_conflict" || !strings.Contains(e["message"].(string), "enom-main") {
		t.Fatalf("lock under another provider: %d %v", code, out)
	}
	if _, out := b.call("GET", "/v1/domains/example.com/history", readToken, ""); len(out["events"].([]any)) != 1 {
		t.Fatalf("a refused request was recorded: %v", out)
	}
	if d, _ := b.store.Get(context.Background(), "example.com"); d.Desired.Provider != "enom-main" || d.Desired.Generation != 1 {
		t.Fatalf("stored = %+v", d.Desired)
	}
	if code, _ := b.call("DELETE", "/v1/domains/example.com", readToken, ""); code != 403 {
		t.Fatalf("forget with a read token: %d", code)
	}
	code, out = b.call("DELETE", "/v1/domains/example.com", writeToken, `{"reason":"expired"}`)
	if code != 200 || out["provider"] != "enom-main" {
		t.Fatalf("forget: %d %v", code, out)
	}
	if _, err := b.store.Get(context.Background(), "example.com"); err != store.ErrNotFound {
		t.Fatalf("still in the inventory: %v", err)
	}
	_, out = b.call("GET", "/v1/domains/example.com/history?limit=1", readToken, "")
	ev := out["events"].([]any)[0].(map[string]any)
	if ev["kind"] != "forgotten" || ev["reason"] != "expired" || ev["token"] != "billing" || out["next_cursor"] == nil {
		t.Fatalf("history after forgetting: %v", out)
	}
	// Moving is forget, then a request under the new provider.
	if code, out := b.call("POST", "/v1/domains/example.com/lock", writeToken, `{"provider":"opensrs"}`); code != 202 {
		t.Fatalf("lock under the new provider after forgetting: %d %v", code, out)
	}
	if code, _ := b.call("DELETE", "/v1/domains/nothere.com", writeToken, ""); code != 404 {
		t.Fatalf("forget an unknown domain: %d", code)
	}
	for _, q := range []string{"limit=0", "limit=1001", "cursor=x", "since=1"} {
		if code, _ := b.call("GET", "/v1/domains/example.com/history?"+q, readToken, ""); code != 400 {
			t.Errorf("history?%s: %d, want 400", q, code)
		}
	}
	for _, q := range []string{"state=stuck", "cursor=nosuchsweep", "limit=x"} {
		if code, _ := b.call("GET", "/v1/sweeps?"+q, readToken, ""); code != 400 {
			t.Errorf("sweeps?%s: %d, want 400", q, code)
		}
	}
	if code, _ := b.call("GET", "/v1/sweeps/nosuch/report?format=xml", readToken, ""); code != 400 {
		t.Errorf("report?format=xml: %d", code)
	}
	if code, _ := b.call("GET", "/v1/sweeps/nosuch/report", readToken, ""); code != 404 {
		t.Errorf("report of an unknown sweep: %d", code)
	}
}
