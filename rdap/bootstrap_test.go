package rdap

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reglock/reglock/clock"
)

func TestParseBootstrap_recorded(t *testing.T) {
	tests := []struct {
		file string
		want map[string]string // name -> base; "" = none
	}{
		{"dns_iana-excerpt.json", map[string]string{
			"example.com": "https://rdap.verisign.com/com/v1/", "com": "https://rdap.verisign.com/com/v1/",
			"a.b.example.net": "https://rdap.verisign.com/net/v1/", "example.org": "https://rdap.publicinterestregistry.org/rdap/",
			"example.pro": "https://rdap.identitydigital.services/rdap/",
			"example.ee":  "", "example.dev": "https://pubapi.registry.google/rdap/",
		}},
		{"dns_openrdap-2017.json", map[string]string{
			"example.cz": "https://rdap.nic.cz/", "example.br": "https://rdap.registro.br/", "example.com": "",
		}},
	}
	for _, tt := range tests {
		b, err := os.ReadFile("testdata/" + tt.file)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ParseBootstrap(b)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		for name, want := range tt.want {
			got, ok := s.ServerFor(name)
			if got != want || ok != (want != "") {
				t.Errorf("%s: ServerFor(%q) = %q %v, want %q", tt.file, name, got, ok, want)
			}
		}
	}
}

func TestParseBootstrap_shapes(t *testing.T) {
	s, err := ParseBootstrap([]byte(`{"services":[
		[["Com."],["http://plain.example/","https://secure.example/x"]],
		[["uk","co.uk"],["https://uk.example"]],
		[["bad"],["ftp://x.example/","https://user:pw@x.example/"]]]}`))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"a.com": "https://secure.example/x/", "a.co.uk": "https://uk.example/", "a.uk": "https://uk.example/", "a.bad": "",
	} {
		if got, _ := s.ServerFor(name); got != want {
			t.Errorf("ServerFor(%q) = %q, want %q", name, got, want)
		}
	}
	for _, bad := range []string{``, `{}`, `{"services":[[["com"]]]}`, `{"services":[["com","x"]]}`, `<html>`} {
		if _, err := ParseBootstrap([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The bootstrap file is fetched on first use, used for Refresh, fetched
// again after; a failed refresh keeps the old copy and is not retried at
// once; without any copy the error reaches the caller.
func TestBootstrap_refresh(t *testing.T) {
	var fetches atomic.Int64
	var failing atomic.Bool
	base := "https://one.example/"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if failing.Load() {
			http.Error(w, "<html><title>Service Unavailable</title></html>", 503)
			return
		}
		_, _ = w.Write([]byte(`{"services":[[["com"],["` + base + `"]]]}`))
	}))
	defer srv.Close()
	clk := clock.NewManual(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	b := &Bootstrap{URL: srv.URL, Refresh: 24 * time.Hour, Clock: clk, Overrides: map[string]string{"org": "https://org.example", "ee": ""}}
	ctx := context.Background()
	lookup := func(name string) (string, bool, error) { t.Helper(); return b.ServerFor(ctx, name) }

	failing.Store(true)
	if _, _, err := lookup("example.com"); err == nil {
		t.Fatal("no copy and the fetch failed: want the error")
	}
	if _, _, err := lookup("example.com"); err == nil || fetches.Load() != 1 {
		t.Fatalf("retried at once: %d fetches, err %v", fetches.Load(), err)
	}
	if got, ok, err := lookup("example.org"); got != "https://org.example/" || !ok || err != nil {
		t.Errorf("override: %q %v %v", got, ok, err)
	}
	if _, ok, err := lookup("example.ee"); ok || err != nil {
		t.Errorf("override to none: %v %v", ok, err)
	}

	clk.Add(failedRetry)
	failing.Store(false)
	if got, ok, err := lookup("example.com"); got != "https://one.example/" || !ok || err != nil {
		t.Fatalf("after the retry delay: %q %v %v", got, ok, err)
	}
	clk.Add(23 * time.Hour)
	base = "https://two.example/"
	if got, _, _ := lookup("example.com"); got != "https://one.example/" || fetches.Load() != 2 {
		t.Fatalf("within Refresh: %q, %d fetches", got, fetches.Load())
	}
	clk.Add(time.Hour)
	if got, _, _ := lookup("example.com"); got != "https://two.example/" || fetches.Load() != 3 {
		t.Fatalf("after Refresh: %q, %d fetches", got, fetches.Load())
	}

	clk.Add(24 * time.Hour)
	failing.Store(true)
	if got, ok, err := lookup("example.com"); got != "https://two.example/" || !ok || err != nil || fetches.Load() != 4 {
		t.Fatalf("failed refresh: %q %v %v, %d fetches; want the old copy", got, ok, err, fetches.Load())
	}
	clk.Add(time.Minute)
	if _, _, _ = lookup("example.com"); fetches.Load() != 4 {
		t.Errorf("failed refresh retried within %s", failedRetry)
	}
	clk.Add(failedRetry)
	failing.Store(false)
	base = "https://three.example/"
	if got, _, _ := lookup("example.com"); got != "https://three.example/" || fetches.Load() != 5 {
		t.Errorf("after the retry delay: %q, %d fetches", got, fetches.Load())
	}
}
