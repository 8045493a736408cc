package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
)

const (
	writeToken = "write-token-0123456789abcdef"
	readToken  = "read-token-0123456789abcdef"
)

type bundle struct {
	t       *testing.T
	url     string
	store   *store.Store
	insp    *asynq.Inspector
	queues  tasks.Namespace
	intents *intent.Service
	sys     *system.System
}

func setup(t *testing.T) *bundle {
	t.Helper()
	return setupEnv(t, redistest.New(t))
}

// setupEnv is setup on a given test Redis connection, for tests that hook
// into its client.
func setupEnv(t *testing.T, env redistest.Env) *bundle {
	t.Helper()
	cfg := &config.Config{Providers: []config.Provider{
		{Name: "enom-main", Type: "enom", TLDs: []string{"com", "net"}},
		{Name: "opensrs", Type: "opensrs"},
	}}
	sys := system.New(system.Options{Config: cfg, Redis: env.Client, Namespace: env.Namespace, Log: zerolog.New(zerolog.NewTestWriter(t))})
	b := &bundle{t: t, store: sys.Store, intents: sys.Intents, queues: tasks.Namespace(env.Namespace), sys: sys}
	b.insp = asynq.NewInspectorFromRedisClient(env.Client)
	srv := sys.API([]config.Token{
		{Name: "billing", Token: secret.String(writeToken)},
		{Name: "dashboard", Token: secret.String(readToken), Scopes: []string{"read"}},
	})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	b.url = hs.URL
	return b
}

// send makes a request to the API at base, with the bearer token and the
// JSON body when they are not empty.
func send(t testing.TB, base, method, path, token, body string) *http.Response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, base+path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// call makes a request and decodes the JSON answer into a map.
func (b *bundle) call(method, path, token, body string) (int, map[string]any) {
	b.t.Helper()
	resp := send(b.t, b.url, method, path, token, body)
	defer resp.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		b.t.Fatalf("%s %s: answer is not JSON: %q", method, path, data)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		b.t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return resp.StatusCode, out
}

// nothingRecorded asserts that the store and the queue are empty.
func (b *bundle) nothingRecorded() {
	b.t.Helper()
	p, err := b.store.List(context.Background(), store.ListOptions{})
	if err != nil {
		b.t.Fatal(err)
	}
	for p.Next != "" && len(p.Domains) == 0 {
		if p, err = b.store.List(context.Background(), store.ListOptions{Cursor: p.Next}); err != nil {
			b.t.Fatal(err)
		}
	}
	if len(p.Domains) != 0 {
		b.t.Fatalf("a refused request recorded %s", p.Domains[0].Name)
	}
	if info, err := b.insp.GetQueueInfo(b.queues.Queue(tasks.QueueChanges)); err == nil && info.Size > 0 {
		b.t.Fatalf("a refused request queued %d tasks", info.Size)
	}
}

func errCode(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func errMessage(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

func TestAPI_lockUnlockAndStatus(t *testing.T) {
	b := setup(t)
	code, out := b.call("POST", "/v1/domains/B%C3%BCcher.COM./lock", writeToken, `{"reason":"customer asked","requested_by":"ticket-42"}`)
	if code != 202 || out["domain"] != "xn--bcher-kva.com" || out["generation"] != 1.0 || out["task_id"] != "lock:xn--bcher-kva.com@1" {
		t.Fatalf("lock: %d %v", code, out)
	}
	if d := out["desired"].(map[string]any); d["locked"] != true || d["trade_lock"] != nil || d["relock_at"] != nil {
		t.Fatalf("desired: %v", d)
	}
	if _, err := b.insp.GetTaskInfo(b.queues.Queue(tasks.QueueChanges), "lock:xn--bcher-kva.com@1"); err != nil {
		t.Fatalf("task not queued: %v", err)
	}
	code, out = b.call("DELETE", "/v1/domains/xn--bcher-kva.com/lock", writeToken, `{"relock_after":"72h"}`)
	if code != 202 || out["generation"] != 2.0 || out["desired"].(map[string]any)["relock_at"] == nil {
		t.Fatalf("unlock: %d %v", code, out)
	}
	// The end of the window is recorded with the intent, which is owed until
	// a worker carries it out (and queues the relock): the API takes no
	// second step that could fail after it answered.
	if d, err := b.store.Get(context.Background(), "xn--bcher-kva.com"); err != nil || d.Desired.RelockAt.IsZero() || !d.Work.Pending {
		t.Fatalf("unlock window not recorded with its mark: %v %+v", err, d)
	}
	code, out = b.call("GET", "/v1/domains/bücher.com", readToken, "")
	if code != 200 || out["provider"] != "enom-main" || out["in_sync"] != false {
		t.Fatalf("get: %d %v", code, out)
	}
	obs := out["observed"].(map[string]any)
	if obs["locked"] != nil || obs["checked_at"] != nil || obs["error"] != nil {
		t.Fatalf("observed before any read: %v", obs)
	}
	code, out = b.call("GET", "/v1/domains?drift=true&limit=10", readToken, "")
	if code != 200 || len(out["domains"].([]any)) != 1 || out["next_cursor"] != nil {
		t.Fatalf("list: %d %v", code, out)
	}
	code, out = b.call("GET", "/v1/domains/other.com", readToken, "")
	if code != 404 || errCode(out) != "not_found" {
		t.Fatalf("unknown domain: %d %v", code, out)
	}
}

// Redis fails between recording the intent and queueing its task: the
// answer is 503, and says that the intent stands and will be queued.
func TestAPI_recordedButNotQueued(t *testing.T) {
	b := setup(t)
	dead := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:1", DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { dead.Close() })
	b.intents.Queue.Client = dead
	code, out := b.call("POST", "/v1/domains/example.com/lock", writeToken, "")
	if code != http.StatusServiceUnavailable || errCode(out) != "unavailable" ||
		!strings.Contains(errMessage(out), "recorded as generation 1") || !strings.Contains(errMessage(out), "retrying is safe") {
		t.Fatalf("lock with the queue down: %d %v", code, out)
	}
	d, err := b.store.Get(context.Background(), "example.com")
	if err != nil || !d.Desired.Locked || d.Desired.Generation != 1 {
		t.Fatalf("the intent was not recorded: %+v, %v", d, err)
	}
}

func TestAPI_tradeLock(t *testing.T) {
	b := setup(t)
	code, out := b.call("PUT", "/v1/domains/trade.org/trade-lock", writeToken, `{"enable":false,"consent_ip":"203.0.113.7","provider":"opensrs"}`)
	if code != 202 || out["desired"].(map[string]any)["trade_lock"] != false {
		t.Fatalf("trade-lock: %d %v", code, out)
	}
	code, out = b.call("PUT", "/v1/domains/trade.com/trade-lock", writeToken, `{"enable":false,"consent_ip":"203.0.113.7"}`)
	if code != 422 || errCode(out) != "trade_lock_unsupported" {
		t.Fatalf("trade-lock on an eNom domain: %d %v", code, out)
	}
}

// Every refused request answers a clear 4xx naming the problem, and records
// and queues nothing.
func TestAPI_refusedRequestsRecordNothing(t *testing.T) {
	big := `{"reason":"` + strings.Repeat("x", 70<<10) + `"}`
	cases := []struct {
		name, method, path, token, body string
		status                          int
		code, mentions                  string
	}{
		{"no token", "POST", "/v1/domains/example.com/lock", "", "", 401, "unauthorized", "bearer token"},
		{"wrong token", "POST", "/v1/domains/example.com/lock", "nope-nope-nope-nope", "", 401, "unauthorized", "bearer token"},
		{"read-only token", "POST", "/v1/domains/example.com/lock", readToken, "", 403, "forbidden", "write"},
		{"invalid domain", "POST", "/v1/domains/exa_mple.com/lock", writeToken, "", 400, "invalid_domain", `"_"`},
		{"subdomain", "POST", "/v1/domains/www.example.com/lock", writeToken, "", 400, "invalid_domain", "example.com"},
		{"public suffix", "POST", "/v1/domains/co.uk/lock", writeToken, "", 400, "invalid_domain", "public suffix"},
		{"too long", "POST", "/v1/domains/" + strings.Repeat("a", 64) + ".com/lock", writeToken, "", 400, "invalid_domain", "63"},
		{"unknown provider", "POST", "/v1/domains/example.com/lock", writeToken, `{"provider":"godaddy"}`, 422, "unknown_provider", "godaddy"},
		{"no provider for a TLD nobody routes", "POST", "/v1/domains/example.ee/lock", writeToken, "", 422, "provider_required", "provider"},
		{"malformed JSON", "POST", "/v1/domains/example.com/lock", writeToken, `{"reason":`, 400, "invalid_json", "malformed"},
		{"not an object", "POST", "/v1/domains/example.com/lock", writeToken, `["x"]`, 400, "invalid_field", "JSON object"},
		{"unknown field", "POST", "/v1/domains/example.com/lock", writeToken, `{"reasn":"x"}`, 400, "unknown_field", `"reasn"`},
		{"wrong type", "POST", "/v1/domains/example.com/lock", writeToken, `{"reason":42}`, 400, "invalid_field", "reason"},
		{"trailing data", "POST", "/v1/domains/example.com/lock", writeToken, `{} {}`, 400, "invalid_body", "after the JSON"},
		{"oversized body", "POST", "/v1/domains/example.com/lock", writeToken, big, 400, "body_too_large", "64 KiB"},
		{"reason too long", "POST", "/v1/domains/example.com/lock", writeToken, `{"reason":"` + strings.Repeat("r", 600) + `"}`, 400, "invalid_field", "reason"},
		{"bad relock_after", "DELETE", "/v1/domains/example.com/lock", writeToken, `{"relock_after":"3 days"}`, 400, "invalid_field", "relock_after"},
		{"negative relock_after", "DELETE", "/v1/domains/example.com/lock", writeToken, `{"relock_after":"-1h"}`, 400, "invalid_field", "relock_after"},
		{"trade lock without enable", "PUT", "/v1/domains/example.com/trade-lock", writeToken, `{"consent_ip":"203.0.113.7"}`, 400, "invalid_field", "enable"},
		{"trade lock with a bad IP", "PUT", "/v1/domains/example.com/trade-lock", writeToken, `{"enable":false,"consent_ip":"203.0.113"}`, 400, "invalid_field", "consent_ip"},
		{"trade lock without a body", "PUT", "/v1/domains/example.com/trade-lock", writeToken, ``, 400, "invalid_body", "JSON object"},
		{"wrong method", "PATCH", "/v1/domains/example.com/lock", writeToken, ``, 405, "method_not_allowed", "PATCH"},
		{"unknown route", "GET", "/v1/registrars", writeToken, ``, 404, "not_found", "/v1/registrars"},
		{"bad limit", "GET", "/v1/domains?limit=5000", writeToken, ``, 400, "invalid_query", "limit"},
		{"bad drift", "GET", "/v1/domains?drift=maybe", writeToken, ``, 400, "invalid_query", "drift"},
		{"bad cursor", "GET", "/v1/domains?cursor=zz", writeToken, ``, 400, "invalid_query", "cursor"},
		{"unknown query parameter", "GET", "/v1/domains?sort=name", writeToken, ``, 400, "invalid_query", "sort"},
		{"unknown provider filter", "GET", "/v1/domains?provider=nope", writeToken, ``, 422, "unknown_provider", "nope"},
	}
	b := setup(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b.t = t
			code, out := b.call(c.method, c.path, c.token, c.body)
			if code != c.status || errCode(out) != c.code || !strings.Contains(errMessage(out), c.mentions) {
				t.Errorf("got %d %s %q; want %d %s mentioning %q", code, errCode(out), errMessage(out), c.status, c.code, c.mentions)
			}
			b.nothingRecorded()
		})
	}
}

func TestAPI_healthAndReadiness(t *testing.T) {
	b := setup(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		code, out := b.call("GET", p, "", "")
		if code != 200 {
			t.Errorf("%s: %d %v", p, code, out)
		}
	}
}

func TestAPI_sweeps(t *testing.T) {
	b := setup(t)
	code, out := b.call("POST", "/v1/sweeps", writeToken, `{"provider":"enom-main","dry_run":true}`)
	id, _ := out["sweep_id"].(string)
	if code != 202 || !strings.HasPrefix(id, "manual-") {
		t.Fatalf("start: %d %v", code, out)
	}
	if _, err := b.insp.GetTaskInfo(b.queues.Queue(tasks.QueueChecks), id+":start"); err != nil {
		t.Fatalf("start task not queued: %v", err)
	}
	code, out = b.call("GET", "/v1/sweeps/"+id, readToken, "")
	if code != 200 || out["state"] != "running" || out["checked"] != 0.0 || out["dry_run"] != true || out["provider"] != "enom-main" {
		t.Fatalf("get: %d %v", code, out)
	}
	for _, k := range []string{"sweep_id", "state", "checked", "drifted", "fixes_queued", "errors"} {
		if _, ok := out[k]; !ok {
			t.Errorf("sweep status lacks %q", k)
		}
	}
	if code, out = b.call("POST", "/v1/sweeps/"+id+"/apply", readToken, ""); code != 403 || errCode(out) != "forbidden" {
		t.Fatalf("apply with a read-only token: %d %v", code, out)
	}
	if code, out = b.call("POST", "/v1/sweeps/"+id+"/apply", writeToken, ""); code != 409 || errCode(out) != "not_paused" {
		t.Fatalf("apply of a running sweep: %d %v", code, out)
	}
	code, out = b.call("GET", "/v1/sweeps/nope", readToken, "")
	if code != 404 || errCode(out) != "not_found" {
		t.Fatalf("unknown sweep: %d %v", code, out)
	}
	code, out = b.call("POST", "/v1/sweeps", writeToken, `{"provider":"nope"}`)
	if code != 422 || errCode(out) != "unknown_provider" {
		t.Fatalf("unknown provider: %d %v", code, out)
	}
}

// A retried request with the same Idempotency-Key gets the first answer
// and records no second intent; the key cannot be reused for another
// request.
func TestAPI_idempotencyKey(t *testing.T) {
	b := setup(t)
	call := func(method, path, key, body string) (int, map[string]any, http.Header) {
		req, _ := http.NewRequest(method, b.url+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+writeToken)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out, resp.Header
	}
	code, first, _ := call("POST", "/v1/domains/once.com/lock", "order-4711-lock", `{"reason":"paid"}`)
	if code != 202 || first["generation"] != 1.0 {
		t.Fatalf("first: %d %v", code, first)
	}
	for range 3 {
		code, again, h := call("POST", "/v1/domains/once.com/lock", "order-4711-lock", `{"reason":"paid"}`)
		if code != 202 || again["task_id"] != first["task_id"] || again["generation"] != 1.0 || h.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay: %d %v %v", code, again, h)
		}
	}
	if d, _ := b.store.Get(context.Background(), "once.com"); d.Desired.Generation != 1 {
		t.Fatalf("a replayed request recorded another intent: generation %d", d.Desired.Generation)
	}
	if code, out, _ := call("POST", "/v1/domains/other.com/lock", "order-4711-lock", ""); code != 422 || errCode(out) != "idempotency_key_reused" {
		t.Fatalf("key reused for another request: %d %v", code, out)
	}
	// A refusal leaves nothing behind, not even the key: the corrected
	// request may use it. A request without a key is not deduplicated.
	if code, out, _ := call("POST", "/v1/domains/bad_name.com/lock", "k2", ""); code != 400 || errCode(out) != "invalid_domain" {
		t.Fatalf("refused: %d %v", code, out)
	}
	if code, out, h := call("POST", "/v1/domains/good-name.com/lock", "k2", ""); code != 202 || h.Get("Idempotent-Replayed") != "" {
		t.Fatalf("the corrected request under the refused one's key: %d %v", code, out)
	}
	if code, out, _ := call("POST", "/v1/domains/once.com/lock", "", ""); code != 202 || out["generation"] != 2.0 {
		t.Fatalf("without a key: %d %v", code, out)
	}
	if code, out, _ := call("POST", "/v1/domains/once.com/lock", strings.Repeat("k", 300), ""); code != 400 || errCode(out) != "invalid_header" {
		t.Fatalf("overlong key: %d %v", code, out)
	}
}
