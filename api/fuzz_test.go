package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/system"
)

// fuzzRoutes are the endpoints the fuzzer aims at; %s is the fuzzed path
// segment (a domain or a sweep ID).
var fuzzRoutes = []struct{ method, path string }{
	{"POST", "/v1/domains/%s/lock"},
	{"DELETE", "/v1/domains/%s/lock"},
	{"PUT", "/v1/domains/%s/trade-lock"},
	{"GET", "/v1/domains/%s"},
	{"GET", "/v1/domains?%s"},
	{"POST", "/v1/sweeps"},
	{"GET", "/v1/sweeps/%s"},
	{"POST", "/v1/sweeps/%s/apply"},
}

// FuzzRequest sends arbitrary paths, bodies and content types to every /v1
// endpoint. Whatever arrives, the API must not panic, must answer in its
// JSON envelope with a status it documents, and must record and queue
// nothing for a request it refuses.
func FuzzRequest(f *testing.F) {
	seeds := []struct {
		route        uint8
		segment      string
		body         string
		contentType  string
		idempotency  string
		unauthorized bool
	}{
		{0, "example.com", `{"reason":"customer asked","requested_by":"ticket-1"}`, "application/json", "", false},
		{0, "b%C3%BCcher.com.", ``, "", "", false},
		{1, "example.com", `{"relock_after":"72h"}`, "application/json", "k1", false},
		{1, "example.com", `{"relock_after":"-1h"}`, "application/json", "", false},
		{2, "example.com", `{"enable":true,"consent_ip":"203.0.113.7"}`, "application/json", "", false},
		{2, "example.com", `{"enable":"yes"}`, "application/json", "", false},
		{3, "example.com", ``, "", "", false},
		{4, "provider=enom-main&limit=10&drift=true", ``, "", "", false},
		{4, "cursor=%ff%00&limit=-1", ``, "", "", false},
		{5, "", `{"provider":"enom-main"}`, "application/json", "", false},
		{5, "", `{"provider":["x"]}`, "application/json", "", false},
		{6, "sweep-20260101T000000Z", ``, "", "", false},
		{7, "../../etc/passwd", `{}`, "application/json", "", false},
		{0, "exa_mple.com", `{"reason":`, "application/json", "", false},
		{0, "example.com", `{"reason":"x"} trailing`, "text/plain", "", false},
		{0, "example.com", "\x00\xff{", "application/json; charset=utf-8", "", false},
		{0, "xn--zz.com", `{"provider":"opensrs"}`, "application/json", "", true},
		{0, strings.Repeat("a.", 130) + "com", ``, "", "", false},
		{1, "example.com", `{"relock_after":"9999999999h"}`, "application/json", "", false},
	}
	for _, s := range seeds {
		f.Add(s.route, s.segment, []byte(s.body), s.contentType, s.idempotency, s.unauthorized)
	}

	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(mr.Close)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	f.Cleanup(func() { rdb.Close() })
	cfg := &config.Config{Providers: []config.Provider{
		{Name: "enom-main", Type: "enom", TLDs: []string{"com", "net"}},
		{Name: "opensrs", Type: "opensrs"},
	}}
	sys := system.New(system.Options{Config: cfg, Redis: rdb, Namespace: "fz", Log: zerolog.Nop()})
	srv := sys.API([]config.Token{{Name: "billing", Token: secret.String(writeToken)}})
	h := srv.Handler()

	f.Fuzz(func(t *testing.T, route uint8, segment string, body []byte, contentType, idempotency string, unauthorized bool) {
		rt := fuzzRoutes[int(route)%len(fuzzRoutes)]
		target := rt.path
		if strings.Contains(target, "%s") {
			target = strings.Replace(target, "%s", segment, 1)
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return // not a request a client could send
		}
		req := &http.Request{Method: rt.method, URL: u, RequestURI: target, Header: http.Header{},
			Body: http.NoBody, Host: "reglock.test", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1}
		if len(body) > 0 {
			req = httptest.NewRequest(rt.method, "http://reglock.test/", strings.NewReader(string(body)))
			req.URL, req.RequestURI = u, target
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if idempotency != "" {
			req.Header.Set("Idempotency-Key", idempotency)
		}
		if !unauthorized {
			req.Header.Set("Authorization", "Bearer "+writeToken)
		}
		if len(mr.Keys()) > 2000 {
			mr.FlushAll() // keep Dump cheap as accepted requests pile up
		}
		before := mr.Dump()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s %q: Content-Type %q", rt.method, target, ct)
		}
		var out map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%s %q: %d answer is not a JSON object: %q", rt.method, target, rec.Code, rec.Body.Bytes())
		}
		switch rec.Code {
		case 200, 202:
			if unauthorized {
				t.Fatalf("%s %q: %d without a token", rt.method, target, rec.Code)
			}
		case 400, 401, 403, 404, 405, 409, 413, 415, 422:
			if errCode(out) == "" || errMessage(out) == "" {
				t.Fatalf("%s %q: %d without an error code and message: %s", rt.method, target, rec.Code, rec.Body.Bytes())
			}
			if after := mr.Dump(); after != before {
				t.Fatalf("%s %q %q: refused with %d %s but Redis changed", rt.method, target, body, rec.Code, errCode(out))
			}
		default:
			t.Fatalf("%s %q %q: unexpected status %d: %s", rt.method, target, body, rec.Code, rec.Body.Bytes())
		}
	})
}
