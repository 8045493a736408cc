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

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/system"
)

// opsServers are the API's handler and a worker's OpsHandler, with
// monitoring and breakers as serve sets them.
func opsServers(t *testing.T) (apiURL, opsURL string) {
	t.Helper()
	env := redistest.New(t)
	sys := system.New(system.Options{Config: &config.Config{}, Redis: env.Client, Namespace: env.Namespace, Log: zerolog.Nop()})
	srv := sys.API([]config.Token{{Name: "billing", Token: secret.String(writeToken)}})
	srv.Monitoring = http.NotFoundHandler()
	opened := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	srv.Breakers = func(context.Context) (map[string]breaker.Status, error) {
		return map[string]breaker.Status{
			"enom-main": {State: breaker.Closed},                         // never opened
			"ee":        {State: breaker.Closed, Since: opened},          // closed again
			"opensrs":   {State: breaker.Closed, Since: time.Unix(0, 0)}, // a record without a time
			"whmcs":     {State: breaker.Open, Reason: "refused", Since: opened, Until: opened.Add(time.Minute)},
		}, nil
	}
	a := httptest.NewServer(srv.Handler())
	t.Cleanup(a.Close)
	o := httptest.NewServer(srv.OpsHandler())
	t.Cleanup(o.Close)
	return a.URL, o.URL
}

func opsGet(t *testing.T, url, accept string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// GET / is a small page of links for a browser, and the same links as JSON
// for a program (curl's */*, application/json, no Accept at all).
func TestAPI_frontPage(t *testing.T) {
	apiURL, opsURL := opsServers(t)

	code, h, body := opsGet(t, apiURL+"/", browserAccept)
	if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !strings.Contains(h.Get("Vary"), "Accept") {
		t.Fatalf("browser: %d %v\n%s", code, h, body)
	}
	for _, want := range []string{`<a href="/console">`, `<a href="/monitoring/">`, `<a href="/v1/openapi.json">`, `<a href="/healthz">`, `<a href="/readyz">`, "<title>reglock</title>"} {
		if !strings.Contains(body, want) {
			t.Errorf("front page lacks %s:\n%s", want, body)
		}
	}

	for _, accept := range []string{"", "*/*", "application/json", "application/json, text/html;q=0.5", "text/html;q=0"} {
		code, h, body := opsGet(t, apiURL+"/", accept)
		var out struct {
			Service string `json:"service"`
			API     string `json:"api"`
			Links   []struct{ Name, Path string }
		}
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || json.Unmarshal([]byte(body), &out) != nil {
			t.Fatalf("Accept %q: %d %v\n%s", accept, code, h, body)
		}
		paths := map[string]string{}
		for _, l := range out.Links {
			paths[l.Name] = l.Path
		}
		if out.Service != "reglock" || out.API != "/v1" || paths["console"] != "/console" || paths["openapi"] != "/v1/openapi.json" ||
			paths["healthz"] != "/healthz" || paths["monitoring"] != "/monitoring/" {
			t.Errorf("Accept %q: %s", accept, body)
		}
	}

	// A worker's probes: no console, no API to point to.
	code, _, body = opsGet(t, opsURL+"/", browserAccept)
	if code != 200 || !strings.Contains(body, `<a href="/readyz">`) || strings.Contains(body, "/console") || strings.Contains(body, "/v1") {
		t.Errorf("worker's front page: %d\n%s", code, body)
	}
	code, _, body = opsGet(t, opsURL+"/", "")
	if code != 200 || !strings.Contains(body, `"/healthz"`) || strings.Contains(body, "/console") {
		t.Errorf("worker's front page as JSON: %d %s", code, body)
	}

	// Only / itself: anything else under it is still not found.
	if code, _, _ := opsGet(t, apiURL+"/nothing-here", browserAccept); code != 404 {
		t.Errorf("/nothing-here: %d", code)
	}
}

// /readyz shows a breaker's times only when it has them: never
// 0001-01-01T00:00:00Z for a breaker that never opened.
func TestAPI_readyzBreakerTimes(t *testing.T) {
	apiURL, opsURL := opsServers(t)
	for _, url := range []string{apiURL, opsURL} {
		code, _, body := opsGet(t, url+"/readyz", "")
		if code != 200 {
			t.Fatalf("%s/readyz: %d %s", url, code, body)
		}
		if strings.Contains(body, "0001-01-01") || strings.Contains(body, "1970-01-01") {
			t.Errorf("/readyz shows a zero time: %s", body)
		}
		var out struct {
			Registrars map[string]map[string]any `json:"registrars"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		r := out.Registrars
		if _, ok := r["enom-main"]["since"]; ok || r["enom-main"]["state"] != "closed" {
			t.Errorf("never opened: %v", r["enom-main"])
		}
		if _, ok := r["opensrs"]["since"]; ok {
			t.Errorf("no time recorded: %v", r["opensrs"])
		}
		if _, ok := r["ee"]["until"]; ok || r["ee"]["since"] != "2026-05-01T12:00:00Z" {
			t.Errorf("closed again: %v", r["ee"])
		}
		if r["whmcs"]["until"] != "2026-05-01T12:01:00Z" || r["whmcs"]["reason"] != "refused" {
			t.Errorf("open: %v", r["whmcs"])
		}
	}
}
