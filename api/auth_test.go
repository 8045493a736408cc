package api_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/secret"
)

// monitoringServer is an API with a stand-in for asynqmon at /monitoring.
func monitoringServer(t *testing.T, tokens ...config.Token) (*api.Server, *httptest.Server) {
	t.Helper()
	s := api.New(tokens)
	s.Monitoring = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("dashboard")) })
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	return s, hs
}

func get(t *testing.T, url string, auth func(*http.Request)) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != nil {
		auth(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// A refusal challenges for Bearer and Basic in two headers: Chromium does
// not split one header listing both and would not ask for the token.
func TestAuth_challengesInSeparateHeaders(t *testing.T) {
	_, hs := monitoringServer(t, config.Token{Name: "ops", Token: secret.String("ops-token-0123456789")})
	for _, path := range []string{"/monitoring/", "/v1/domains"} {
		resp := get(t, hs.URL+path, nil)
		got := resp.Header.Values("WWW-Authenticate")
		want := []string{`Bearer realm="reglock"`, `Basic realm="reglock", charset="UTF-8"`}
		if resp.StatusCode != http.StatusUnauthorized || !slices.Equal(got, want) {
			t.Errorf("%s without credentials: %d, WWW-Authenticate %q; want 401 and %q", path, resp.StatusCode, got, want)
		}
	}
	resp := get(t, hs.URL+"/monitoring/", func(r *http.Request) { r.SetBasicAuth("anyone", "ops-token-0123456789") })
	if resp.StatusCode != http.StatusOK || resp.Header.Get("WWW-Authenticate") != "" {
		t.Errorf("/monitoring/ with the token as basic password: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
}

// SetTokens swaps the accepted tokens whole, while requests come in.
func TestAuth_setTokens(t *testing.T) {
	oldTok := config.Token{Name: "old", Token: secret.String("old-token-0123456789")}
	newTok := config.Token{Name: "new", Token: secret.String("new-token-0123456789"), Scopes: []string{api.ScopeRead}}
	s, hs := monitoringServer(t, oldTok)
	bearer := func(tok string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
	}
	if code := get(t, hs.URL+"/monitoring/", bearer("old-token-0123456789")).StatusCode; code != 200 {
		t.Fatalf("old token before the swap: %d", code)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				s.SetTokens([]config.Token{newTok})
			}
		})
	}
	wg.Go(func() { // not get: no t.Fatal off the test's goroutine
		for range 20 {
			req, _ := http.NewRequest(http.MethodGet, hs.URL+"/monitoring/", nil)
			bearer("new-token-0123456789")(req)
			if resp, err := http.DefaultClient.Do(req); err != nil {
				t.Error(err)
			} else {
				resp.Body.Close()
			}
		}
	})
	wg.Wait()
	if code := get(t, hs.URL+"/monitoring/", bearer("old-token-0123456789")).StatusCode; code != 401 {
		t.Errorf("old token after the swap: %d, want 401", code)
	}
	if code := get(t, hs.URL+"/monitoring/", bearer("new-token-0123456789")).StatusCode; code != 200 {
		t.Errorf("new token after the swap: %d, want 200", code)
	}
	// The new token's scopes count: reading only.
	req, _ := http.NewRequest(http.MethodPost, hs.URL+"/monitoring/api/queues/x:pause", nil)
	bearer("new-token-0123456789")(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a read token acting in asynqmon: %d, want 403", resp.StatusCode)
	}
}

// asynqmon shows every account's tasks: a token limited to some providers
// is refused there, an unlimited one is not.
func TestAuth_monitoringRefusesLimitedTokens(t *testing.T) {
	_, hs := monitoringServer(t,
		config.Token{Name: "ops", Token: secret.String("ops-token-0123456789")},
		config.Token{Name: "brand-a", Token: secret.String("brand-a-token-0123456789"), Providers: []string{"enom-a"}})
	for tok, want := range map[string]int{"ops-token-0123456789": http.StatusOK, "brand-a-token-0123456789": http.StatusForbidden} {
		resp := get(t, hs.URL+"/monitoring/", func(r *http.Request) { r.SetBasicAuth("anyone", tok) })
		if resp.StatusCode != want {
			t.Errorf("/monitoring/ with %s: %d, want %d", tok, resp.StatusCode, want)
		}
	}
}
