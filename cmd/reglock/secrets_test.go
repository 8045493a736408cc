package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/redistest"
)

// A full run with every kind of registrar, right and wrong credentials,
// registrar faults, a Redis password, and every surface an operator or a
// producer sees: no configured secret appears in any of them.
func TestE2E_secretsNeverLeak(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		"REDIS_PASSWORD":      "redis-pass-Qm7Lx2Vw9Rt4",
		"API_TOKEN":           "api-token-Hp3Kd8Nq2Zs6Jw1",
		"READ_TOKEN":          "read-token-Ub5Ye9Tc4Mv7Fx2",
		"ENOM_PW":             "enom-pw-Wr6Gs1Lk8Pq3Dz5",
		"OPENSRS_KEY":         "opensrs-key-Nx4Bh7Cj2Rv9Tm6",
		"WHMCS_IDENTIFIER":    "whmcs-ident-Ke8Sa3Fw6Yp1Lq4",
		"WHMCS_SECRET":        "whmcs-secret-Zd2Hm5Vn8Gt3Xc7",
		"EE_TOKEN":            "ee-token-Jq9Pw4Rb7Ls2Kf5",
		"ENOM_PW_WRONG":       "enom-wrong-Tv3Mx8Qd1Hn6Zs9",
		"OPENSRS_KEY_WRONG":   "opensrs-wrong-Bc5Lr2Wk7Ym4Pj8",
		"WHMCS_SECRET_WRONG":  "whmcs-wrong-Gf1Nz6Sx3Vq9Dh2",
		"EE_TOKEN_WRONG":      "ee-wrong-Yk7Cp2Mt5Rw8Lb3",
		"WHMCS_IDENT_WRONG":   "whmcs-ident-wrong-Qs4Fv9Hx2",
		"ENOM_PW_UNREACHABLE": "enom-unreach-Xa6Dn1Kr8Wm3",
	}

	rs := redistest.StartServer(t, "--requirepass", secrets["REDIS_PASSWORD"])
	sim := simulator.New(simulator.Options{})
	enom := sim.AddAccount(simulator.ENom, "resellid", secrets["ENOM_PW"])
	osrs := sim.AddAccount(simulator.OpenSRS, "osrsuser", secrets["OPENSRS_KEY"])
	whmcs := sim.AddAccount(simulator.WHMCS, secrets["WHMCS_IDENTIFIER"], secrets["WHMCS_SECRET"])
	ee := sim.AddAccount(simulator.EE, "EE-38903110313", secrets["EE_TOKEN"])
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	for _, a := range []struct {
		acct *simulator.Account
		tld  string
	}{{enom, "com"}, {osrs, "net"}, {whmcs, "org"}, {ee, "ee"}} {
		for i := range 3 {
			a.acct.AddDomain(fmt.Sprintf("keep%d.%s", i, a.tld), false)
		}
	}

	e := &e2e{t: t, sim: sim, enom: enom, token: secrets["API_TOKEN"],
		env:    redistest.Env{Namespace: "secrets"},
		api:    "127.0.0.1:" + freePort(t),
		config: filepath.Join(t.TempDir(), "reglock.yaml")}
	for k, v := range secrets {
		e.extraEnv = append(e.extraEnv, k+"="+v)
	}
	cfg := fmt.Sprintf(`redis:
  url: redis://:${REDIS_PASSWORD}@%s/0
api:
  listen: %s
  tokens:
    - name: billing
      token: ${API_TOKEN}
    - name: dashboard
      token: ${READ_TOKEN}
      scopes: [read]
worker:
  concurrency: 8
  shutdown_timeout: 3s
scheduler:
  confirm_delay: 100ms
providers:
  - {name: enom-main, type: enom, endpoint: "%[3]s/enom/interface.asp", username: resellid, password: "${ENOM_PW}", tlds: [com]}
  - {name: opensrs-main, type: opensrs, endpoint: "%[3]s/opensrs/", username: osrsuser, key: "${OPENSRS_KEY}", tlds: [net]}
  - {name: whmcs-main, type: whmcs, endpoint: "%[3]s/whmcs/includes/api.php", identifier: "${WHMCS_IDENTIFIER}", secret: "${WHMCS_SECRET}", tlds: [org]}
  - {name: ee-main, type: ee, api: v1, endpoint: "%[3]s/ee", token: "${EE_TOKEN}", tlds: [ee]}
  - {name: enom-wrong, type: enom, endpoint: "%[3]s/enom/interface.asp", username: resellid, password: "${ENOM_PW_WRONG}"}
  - {name: opensrs-wrong, type: opensrs, endpoint: "%[3]s/opensrs/", username: osrsuser, key: "${OPENSRS_KEY_WRONG}"}
  - {name: whmcs-wrong, type: whmcs, endpoint: "%[3]s/whmcs/includes/api.php", identifier: "${WHMCS_IDENT_WRONG}", secret: "${WHMCS_SECRET_WRONG}"}
  - {name: ee-wrong, type: ee, api: v1, endpoint: "%[3]s/ee", token: "${EE_TOKEN_WRONG}"}
  - {name: enom-unreachable, type: enom, endpoint: "http://127.0.0.1:%[4]s/enom/interface.asp", username: resellid, password: "${ENOM_PW_UNREACHABLE}", timeout: 2s}
`, rs.Addr(), e.api, hs.URL, freePort(t))
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}

	// Everything anyone could read, collected as the run goes.
	var seen []struct{ where, text string }
	saw := func(where, text string) { seen = append(seen, struct{ where, text string }{where, text}) }
	call := func(method, path, token, body string) (int, string) {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, "http://"+e.api+path, r)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var hdr bytes.Buffer
		resp.Header.Write(&hdr)
		saw(method+" "+path, hdr.String()+string(b))
		return resp.StatusCode, string(b)
	}
	cli := func(args ...string) string {
		t.Helper()
		out, _ := e.run(args...)
		saw("reglock "+strings.Join(args, " "), out)
		return out
	}

	srv := e.start("serve", "--log-level", "debug")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := call("GET", "/healthz", "", ""); return c == 200 })

	// Work that succeeds, on every registrar, with faults on the way.
	for _, a := range []*simulator.Account{enom, osrs, whmcs, ee} {
		a.FailNext(3, simulator.FaultMalformed)
	}
	for _, d := range []string{"keep0.com", "keep0.net", "keep0.org", "keep0.ee", "keep1.com", "keep1.net", "keep1.org", "keep1.ee"} {
		if code, body := call("POST", "/v1/domains/"+d+"/lock", e.token, `{"reason":"secrets test"}`); code != 202 {
			t.Fatalf("lock %s: %d %s", d, code, body)
		}
	}
	enom.FailNext(2, simulator.FaultHuge)
	whmcs.FailNext(2, simulator.FaultUnavailable)
	call("DELETE", "/v1/domains/keep2.org/lock", e.token, "")
	call("PUT", "/v1/domains/keep0.net/trade-lock", e.token, `{"enable":true,"consent_ip":"203.0.113.9"}`)
	for _, d := range []string{"keep0.com", "keep0.net", "keep0.org", "keep0.ee"} {
		e.eventually(d+" to lock", 30*time.Second, func() bool { return e.inSync(d, true) })
	}
	// Work that cannot succeed: wrong credentials, an unreachable endpoint.
	for _, p := range []string{"enom-wrong", "opensrs-wrong", "whmcs-wrong", "ee-wrong", "enom-unreachable"} {
		tld := map[string]string{"enom-wrong": "com", "opensrs-wrong": "net", "whmcs-wrong": "org", "ee-wrong": "ee", "enom-unreachable": "com"}[p]
		if code, body := call("POST", "/v1/domains/stolen-"+p+"."+tld+"/lock", e.token, `{"provider":"`+p+`"}`); code != 202 {
			t.Fatalf("lock through %s: %d %s", p, code, body)
		}
	}
	e.eventually("the refused credentials to open their breakers", 30*time.Second, func() bool {
		_, body := call("GET", "/readyz", "", "")
		return strings.Count(body, `"open"`) >= 4
	})
	// Refused requests, wrong tokens.
	call("POST", "/v1/domains/keep0.com/lock", secrets["READ_TOKEN"], "")
	call("POST", "/v1/domains/keep0.com/lock", secrets["ENOM_PW"], "")
	call("POST", "/v1/domains/keep0.com/lock", "", `{"provider":"`+secrets["EE_TOKEN"]+`"}`)

	// The CLI, the sweep, the read endpoints.
	cli("status", "keep0.com")
	cli("status", "stolen-enom-wrong.com")
	cli("lock", "keep2.com", "--reason", "cli")
	cli("import", "--provider", "ee-main")
	cli("import", "--provider", "enom-wrong")
	cli("sweep", "--provider", "opensrs-main", "--wait")
	cli("sweep", "--provider", "whmcs-wrong", "--dry-run")
	cli("drift")
	cli("lock", "keep2.net", "--api", "http://"+e.api, "--token", e.token)
	for _, path := range []string{"/v1/domains", "/v1/domains?drift=true", "/v1/domains/keep0.net", "/v1/domains/stolen-ee-wrong.ee",
		"/v1/openapi.json", "/readyz", "/metrics"} {
		call("GET", path, e.token, "")
	}
	// asynqmon: every queue, every state.
	_, queues := call("GET", "/monitoring/api/queues", e.token, "")
	for _, q := range []string{"changes", "fixes", "checks"} {
		qn := url.PathEscape(e.env.Namespace + ":reglock:" + q)
		if !strings.Contains(queues, e.env.Namespace+":reglock:"+q) {
			continue
		}
		for _, state := range []string{"active", "pending", "scheduled", "retry", "archived", "completed"} {
			call("GET", "/monitoring/api/queues/"+qn+"/"+state+"_tasks?page=1&size=100", e.token, "")
		}
	}
	call("GET", "/monitoring/api/servers", e.token, "")
	call("GET", "/monitoring/api/scheduler_entries", e.token, "")

	// The process's own output, through a graceful stop.
	srv.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { srv.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Error("serve did not stop within 20s of SIGINT")
	}
	saw("serve's logs", srv.out.String())

	// Everything Redis holds.
	rdb := rs.Client()
	ctx := context.Background()
	var keys int
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		k := iter.Val()
		keys++
		saw("Redis key name", k)
		saw("Redis key "+k, redisValue(ctx, t, rdb, k))
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}

	// The scan: each secret as is, URL-encoded, and in base64 (basic auth).
	var bytesScanned int
	for _, s := range seen {
		bytesScanned += len(s.text)
		for name, v := range secrets {
			for _, form := range []string{v, url.QueryEscape(v), base64.StdEncoding.EncodeToString([]byte(v)), base64.StdEncoding.EncodeToString([]byte(v))[:16]} {
				if strings.Contains(s.text, form) {
					i := strings.Index(s.text, form)
					t.Errorf("%s discloses %s: …%s…", s.where, name, s.text[max(0, i-80):min(len(s.text), i+len(form)+40)])
				}
			}
		}
	}
	// The scan looked at something: the run did what it was meant to.
	logs := srv.out.String()
	for _, want := range []string{`"message":"request"`, "credentials", "breaker", "keep0.ee", "stolen-enom-unreachable.com"} {
		if !strings.Contains(logs, want) {
			t.Errorf("serve's logs lack %q: the run did not exercise what this test scans", want)
		}
	}
	if keys < 20 {
		t.Errorf("only %d Redis keys to scan", keys)
	}
	t.Logf("scanned %d outputs (%d KiB: logs, CLI, API, metrics, asynqmon, %d Redis keys) for %d secrets in 4 encodings each",
		len(seen), bytesScanned>>10, keys, len(secrets))
}

// redisValue renders a key's value, whatever its type.
func redisValue(ctx context.Context, t *testing.T, rdb *redis.Client, k string) string {
	typ, err := rdb.Type(ctx, k).Result()
	if err != nil {
		t.Fatal(err)
	}
	var v any
	switch typ {
	case "string":
		v, err = rdb.Get(ctx, k).Result()
	case "hash":
		v, err = rdb.HGetAll(ctx, k).Result()
	case "set":
		v, err = rdb.SMembers(ctx, k).Result()
	case "zset":
		v, err = rdb.ZRangeWithScores(ctx, k, 0, -1).Result()
	case "list":
		v, err = rdb.LRange(ctx, k, 0, -1).Result()
	case "stream":
		v, err = rdb.XRange(ctx, k, "-", "+").Result()
	case "none":
		return ""
	default:
		t.Fatalf("key %s: type %s not scanned", k, typ)
	}
	if err != nil && err != redis.Nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%v", v)
}
