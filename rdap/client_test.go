package rdap

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/redistest"
)

// setup serves the bootstrap file at /dns.json (com and net here; ee not)
// and hands every other request to handle.
type setup struct {
	srv    *httptest.Server
	client *Client
	clock  *clock.Manual
	pacer  *recordingPacer
	boot   atomic.Int64
}

type recordingPacer struct {
	mu   sync.Mutex
	keys []string
	err  error
}

func (p *recordingPacer) Wait(_ context.Context, key string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, key)
	return p.err
}

func newSetup(t *testing.T, servers map[string]string, handle http.HandlerFunc) *setup {
	t.Helper()
	s := &setup{clock: clock.NewManual(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)), pacer: &recordingPacer{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dns.json" {
			s.boot.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"version":"1.0","services":[[["com","net"],["` + s.srv.URL + `/v1/"]]]}`))
			return
		}
		handle(w, r)
	}))
	t.Cleanup(s.srv.Close)
	c := config.DefaultRDAP()
	c.Enabled, c.Bootstrap, c.Servers = true, s.srv.URL+"/dns.json", servers
	s.client = New(c, Options{Pacer: s.pacer, Clock: s.clock})
	return s
}

func TestClient_Lookup_request(t *testing.T) {
	body, err := os.ReadFile("testdata/domain_verisign-stateofapi.com.json")
	if err != nil {
		t.Fatal(err)
	}
	var got *http.Request
	s := newSetup(t, nil, func(w http.ResponseWriter, r *http.Request) {
		got = r
		w.Header().Set("Content-Type", "application/rdap+json")
		_, _ = w.Write(body)
	})
	d, err := s.client.Lookup(context.Background(), "StateOfAPI.com.")
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "GET" || got.URL.Path != "/v1/domain/stateofapi.com" || got.URL.RawQuery != "" ||
		got.Header.Get("Accept") != "application/rdap+json" || got.Header.Get("User-Agent") != "reglock" {
		t.Errorf("request %s %s Accept %q User-Agent %q", got.Method, got.URL, got.Header.Get("Accept"), got.Header.Get("User-Agent"))
	}
	if d.Name != "stateofapi.com" || !d.Has("active") || d.TransferProhibited {
		t.Errorf("domain %+v", d)
	}
	host := strings.TrimPrefix(s.srv.URL, "http://")
	if len(s.pacer.keys) != 1 || s.pacer.keys[0] != "rdap:"+host {
		t.Errorf("pacer keys %q, want [rdap:%s]", s.pacer.keys, host)
	}
}

func TestClient_Lookup_idn(t *testing.T) {
	var path string
	s := newSetup(t, nil, func(w http.ResponseWriter, r *http.Request) {
		path = r.URL.Path
		_, _ = w.Write([]byte(`{"objectClassName":"domain","ldhName":"xn--bcher-kva.com","status":["client transfer prohibited"]}`))
	})
	d, err := s.client.Lookup(context.Background(), "Bücher.com")
	if err != nil || path != "/v1/domain/xn--bcher-kva.com" || !d.TransferProhibited {
		t.Fatalf("path %q domain %+v err %v", path, d, err)
	}
}

func TestClient_Lookup_errors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		header  map[string]string
		body    string
		is      error
		verdict providers.TaskVerdict
		after   time.Duration
		notIn   string // never in the error text
		in      string
	}{
		{"404", 404, nil, `{"errorCode":404,"title":"Not Found","description":["no such domain"]}`, ErrNotFound, providers.Archive, 0, "no such domain", "example.com"},
		{"429 seconds", 429, map[string]string{"Retry-After": "7"}, `{"errorCode":429,"title":"Too Many Requests"}`, nil, providers.RetryLater, 7 * time.Second, "", "Too Many Requests"},
		{"429 date", 429, map[string]string{"Retry-After": "Sat, 01 Mar 2025 12:01:00 GMT"}, ``, nil, providers.RetryLater, time.Minute, "", "429"},
		{"429 without Retry-After", 429, nil, ``, nil, providers.RetryLater, DefaultRetryAfter, "", "429"},
		{"503 with Retry-After", 503, map[string]string{"Retry-After": "2"}, ``, nil, providers.RetryLater, 2 * time.Second, "", "503"},
		{"500 HTML", 500, nil, "<html><head><title>500 Internal\n Server Error</title></head><body><script>secret()</script>" + strings.Repeat("x", 5000) + "</body></html>",
			nil, providers.Retry, 0, "script", "500 Internal Server Error"},
		{"502", 502, nil, `oops`, nil, providers.Retry, 0, "oops", "502"},
		{"403", 403, nil, `<h1>blocked</h1>`, nil, providers.Retry, 0, "blocked", "403"},
		{"malformed", 200, nil, `{"objectClassName":"domain","status":`, ErrMalformed, providers.Retry, 0, "", "malformed"},
		{"other domain", 200, nil, `{"objectClassName":"domain","ldhName":"other.com"}`, ErrMalformed, providers.Retry, 0, "", "other.com"},
		{"error object at 200", 200, nil, `{"errorCode":500,"title":"x"}`, ErrMalformed, providers.Retry, 0, "", "error object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSetup(t, nil, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			ctx := context.Background()
			_, err := s.client.Lookup(ctx, "example.com")
			if err == nil {
				t.Fatal("no error")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("err %v, want %v", err, tt.is)
			}
			if v := providers.Judge(ctx, err).Task; v != tt.verdict {
				t.Errorf("Judge: %s, want %s (%v)", v, tt.verdict, err)
			}
			var ra *providers.RetryAfterError
			if tt.after != 0 && (!errors.As(err, &ra) || ra.After != tt.after) {
				t.Errorf("err %v, want retry after %s", err, tt.after)
			}
			if tt.notIn != "" && strings.Contains(err.Error(), tt.notIn) {
				t.Errorf("error pastes the body: %v", err)
			}
			if !strings.Contains(err.Error(), tt.in) || len(err.Error()) > 300 {
				t.Errorf("error %q, want it to mention %q, briefly", err, tt.in)
			}
			if tt.name == "malformed" && !providers.IsUnrecognized(err) {
				t.Error("a malformed answer is unrecognized: retried a bounded number of times")
			}
		})
	}
}

func TestClient_Lookup_tooLarge(t *testing.T) {
	s := newSetup(t, nil, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"objectClassName":"domain","x":"`))
		_, _ = w.Write([]byte(strings.Repeat("a", MaxResponseBytes)))
	})
	if _, err := s.client.Lookup(context.Background(), "example.com"); err == nil || !strings.Contains(err.Error(), "larger than 1 MiB") {
		t.Fatalf("err %v", err)
	}
}

func TestClient_Lookup_noService(t *testing.T) {
	calls := 0
	s := newSetup(t, map[string]string{"net": ""}, func(w http.ResponseWriter, r *http.Request) { calls++ })
	ctx := context.Background()
	for _, name := range []string{"example.ee", "example.net", "example.co.uk"} {
		_, err := s.client.Lookup(ctx, name)
		if !errors.Is(err, ErrNoService) || providers.Judge(ctx, err).Task != providers.Archive {
			t.Errorf("%s: err %v, want ErrNoService, archived", name, err)
		}
	}
	if calls != 0 || len(s.pacer.keys) != 0 {
		t.Errorf("%d requests and %d pacer waits for TLDs without RDAP", calls, len(s.pacer.keys))
	}
	if _, err := s.client.Lookup(ctx, "not a domain"); err == nil || providers.Judge(ctx, err).Task != providers.Archive {
		t.Errorf("bad name: %v", err)
	}
}

func TestClient_Lookup_override(t *testing.T) {
	var hit string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hit = r.URL.Path
		_, _ = w.Write([]byte(`{"objectClassName":"domain","ldhName":"example.com"}`))
	}))
	defer other.Close()
	s := newSetup(t, map[string]string{"com": other.URL + "/rdap"}, func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the bootstrap's server was asked: %s", r.URL)
	})
	if _, err := s.client.Lookup(context.Background(), "example.com"); err != nil || hit != "/rdap/domain/example.com" {
		t.Fatalf("hit %q err %v", hit, err)
	}
	if s.boot.Load() != 0 {
		t.Error("the bootstrap file was fetched for an overridden TLD")
	}
}

func TestClient_Lookup_pacerRefuses(t *testing.T) {
	s := newSetup(t, nil, func(w http.ResponseWriter, r *http.Request) { t.Error("asked despite the pacer") })
	s.pacer.err = providers.RetryAfter(3*time.Second, ratelimit.ErrLimited)
	_, err := s.client.Lookup(context.Background(), "example.com")
	if providers.Judge(context.Background(), err).Task != providers.RetryLater {
		t.Fatalf("err %v", err)
	}
}

// RateLimiter paces through real Redis: at 2/s with burst 1, the third of
// three back-to-back requests waits about a second.
func TestRateLimiter_redis(t *testing.T) {
	env := redistest.New(t)
	l := ratelimit.New(env.Client, env.StorePrefix())
	c := config.DefaultRDAP()
	c.Rate, c.Burst = 2, 1
	p := NewRateLimiter(l, c)
	ctx := context.Background()
	start := time.Now()
	for range 3 {
		if err := p.Wait(ctx, "rdap:rdap.example"); err != nil {
			t.Fatal(err)
		}
	}
	if el := time.Since(start); el < 900*time.Millisecond || el > 3*time.Second {
		t.Errorf("3 requests at 2/s took %s, want about 1s", el)
	}
	p.MaxWait = time.Millisecond
	for range 3 {
		_ = p.Wait(ctx, "rdap:rdap.example") // use up the slots
	}
	err := p.Wait(ctx, "rdap:rdap.example")
	if !errors.Is(err, ratelimit.ErrLimited) || providers.Judge(ctx, err).Task != providers.RetryLater {
		t.Errorf("err %v, want ErrLimited as retry later", err)
	}
}
