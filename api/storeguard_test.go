package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
)

// A store wiped under a running API: /readyz turns 503 with the reason
// within a second, every write is refused with 503 store_lost (nothing
// recorded, nothing queued, the Idempotency-Key left free), reads still
// answer; once an operator accepts the store, all is as before.
func TestAPI_storeLostRefusesWrites(t *testing.T) {
	env := redistest.New(t)
	cfg := &config.Config{Providers: []config.Provider{
		{Name: "enom-main", Type: "enom", TLDs: []string{"com", "net"}},
		{Name: "opensrs", Type: "opensrs"},
	}}
	sys := system.New(system.Options{Config: cfg, Redis: env.Client, Namespace: env.Namespace, Log: zerolog.New(zerolog.NewTestWriter(t))})
	ctx := context.Background()
	if st, err := sys.StoreWatch.Adopt(ctx); err != nil || st != store.StateOK {
		t.Fatalf("Adopt: %v %v", st, err)
	}
	hs := httptest.NewServer(sys.API([]config.Token{{Name: "billing", Token: secret.String(writeToken)}}).Handler())
	t.Cleanup(hs.Close)
	b := &bundle{t: t, url: hs.URL, store: sys.Store, queues: tasks.Namespace(env.Namespace)}

	if code, out := b.call("POST", "/v1/domains/a.com/lock", writeToken, ""); code != 202 {
		t.Fatalf("lock before the loss: %d %v", code, out)
	}
	code, out := b.call("GET", "/readyz", "", "")
	if checks, _ := out["checks"].(map[string]any); code != 200 || checks["store"] != "ok" {
		t.Fatalf("/readyz before the loss: %d %v", code, out)
	}

	redistest.Clean(env.Client, env.Namespace) // FLUSHALL, for this namespace
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, out = b.call("GET", "/readyz", "", "")
		if code == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after the wipe: %d %v", code, out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	checks, _ := out["checks"].(map[string]any)
	if msg, _ := checks["store"].(string); out["reason"] != "store lost" || !strings.Contains(msg, "reglock restore FILE") {
		t.Fatalf("/readyz while lost: %v", out)
	}

	writes := []struct{ method, path, body string }{
		{"POST", "/v1/domains/b.com/lock", ""},
		{"DELETE", "/v1/domains/a.com/lock", `{"relock_after":"72h"}`},
		{"PUT", "/v1/domains/b.net/trade-lock", `{"enable":false,"consent_ip":"203.0.113.7","provider":"opensrs"}`},
		{"POST", "/v1/sweeps", ""},
		{"DELETE", "/v1/domains/a.com", ""},
	}
	for _, w := range writes {
		req, _ := http.NewRequest(w.method, hs.URL+w.path, strings.NewReader(w.body))
		req.Header.Set("Authorization", "Bearer "+writeToken)
		req.Header.Set("Idempotency-Key", "k-"+w.method+w.path)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 503 || !strings.Contains(string(body), `"code":"store_lost"`) || !strings.Contains(string(body), "store lost at") ||
			resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s %s while lost: %d %s (Retry-After %q)", w.method, w.path, resp.StatusCode, body, resp.Header.Get("Retry-After"))
		}
	}
	if n, _ := env.Client.Keys(ctx, sys.Store.Prefix()+"{*").Result(); len(n) != 0 {
		t.Fatalf("a refused write recorded something: %v", n)
	}
	if n, _ := env.Client.Keys(ctx, sys.Store.Prefix()+"idem:*").Result(); len(n) != 0 {
		t.Fatalf("a refused write kept its Idempotency-Key: %v", n)
	}
	if q, _ := env.Client.Keys(ctx, "asynq:{"+env.Namespace+":*:t:*").Result(); len(q) != 0 {
		t.Fatalf("a refused write queued a task: %v", q)
	}
	if code, _ := b.call("GET", "/v1/domains/a.com", writeToken, ""); code != 404 {
		t.Errorf("a read while lost: %d, want the store's answer (404: the domain went with the store)", code)
	}

	if _, err := sys.Store.Resolve(ctx, store.ResolvedByAccept); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for {
		if code, _ = b.call("GET", "/readyz", "", ""); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz after the store was accepted: %d", code)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code, out := b.call("POST", "/v1/domains/b.com/lock", writeToken, ""); code != 202 {
		t.Fatalf("lock after the store was accepted: %d %v", code, out)
	}
}
