package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParse_rdapDefaults(t *testing.T) {
	cfg, errs := problems(t, "rdap: {enabled: true}\n", nil)
	if errs != nil {
		t.Fatal(errs)
	}
	want := DefaultRDAP()
	want.Enabled = true
	if !reflect.DeepEqual(cfg.RDAP, want) {
		t.Errorf("rdap:\n got %+v\nwant %+v", cfg.RDAP, want)
	}
	if d := Default().RDAP; d.Enabled || d.Bootstrap != "https://data.iana.org/rdap/dns.json" || d.Rate != 1 ||
		d.Burst != 1 || d.Timeout != 10*time.Second || d.Freshness != 15*time.Minute || d.BootstrapRefresh != 24*time.Hour {
		t.Errorf("Default().RDAP = %+v", d)
	}
}

func TestParse_rdap(t *testing.T) {
	cfg, errs := problems(t, `
rdap:
  enabled: true
  bootstrap: http://127.0.0.1:8081/rdap/dns.json
  servers:
    .COM: https://rdap.example.net/com/v1/
    ee: ""
    co.uk: ""
    net:
    bücher: https://rdap.example.net/
  rate: 0.5
  burst: 3
  timeout: 5s
  freshness: 1h
  bootstrap_refresh: 6h
`, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	want := RDAP{
		Enabled:   true,
		Bootstrap: "http://127.0.0.1:8081/rdap/dns.json",
		Servers: map[string]string{
			"com": "https://rdap.example.net/com/v1/", "ee": "", "co.uk": "", "xn--bcher-kva": "https://rdap.example.net/",
		},
		Rate: 0.5, Burst: 3, Timeout: 5 * time.Second, Freshness: time.Hour, BootstrapRefresh: 6 * time.Hour,
	}
	if !reflect.DeepEqual(cfg.RDAP, want) {
		t.Errorf("rdap:\n got %+v\nwant %+v", cfg.RDAP, want)
	}
}

func TestParse_rdapProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"bad values", `
rdap:
  bootstrap: ftp://data.iana.org/rdap/dns.json
  rate: -1
  burst: 0
  timeout: 0s
  freshness: -1s
  bootstrap_refresh: 1s
`, []string{
			"reglock.yaml:3: rdap.bootstrap: want an absolute http:// or https:// URL with a host",
			"reglock.yaml:4: rdap.rate: must be >= 0 (0 = unlimited), got -1",
			"reglock.yaml:5: rdap.burst: must be at least 1, got 0",
			"reglock.yaml:6: rdap.timeout: must be positive, got 0s",
			"reglock.yaml:7: rdap.freshness: must not be negative, got -1s",
			"reglock.yaml:8: rdap.bootstrap_refresh: must be at least 1m, got 1s",
		}},
		{"empty bootstrap", "rdap:\n  bootstrap: \"\"\n", []string{
			"reglock.yaml:2: rdap.bootstrap: required",
		}},
		{"servers", `
rdap:
  servers:
    com: rdap.verisign.com
    "-bad-": https://x.example/
    net: https://user:pw@rdap.example/
    org: https://rdap.example/?q=1
    COM: https://other.example/
`, []string{
			"reglock.yaml:4: rdap.servers.com: want an absolute http:// or https:// URL with a host (or \"\" for a TLD without RDAP)",
			"reglock.yaml:5: rdap.servers.-bad-: invalid tld \"-bad-\"",
			"reglock.yaml:6: rdap.servers.net: must not hold user info (user:password@) (or \"\" for a TLD without RDAP)",
			"reglock.yaml:7: rdap.servers.org: must not have a query or fragment (or \"\" for a TLD without RDAP)",
			`reglock.yaml:8: rdap.servers.COM: tld "com" already set as "com"`,
		}},
		{"servers not a mapping", "rdap:\n  servers: [com]\n", []string{
			"reglock.yaml:2: rdap.servers: expected a mapping, got a list",
		}},
		{"servers value not a string", "rdap:\n  servers:\n    com: [x]\n", []string{
			"reglock.yaml:3: rdap.servers.com: expected a string, got a list",
		}},
		{"unknown key", "rdap:\n  enable: true\n", []string{
			"reglock.yaml:2: rdap.enable: unknown key (known: enabled, bootstrap, servers, rate, burst, timeout, freshness, bootstrap_refresh)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, all := problems(t, tt.src, nil)
			var errs []string // this section's: others may be mid-change
			for _, e := range all {
				if strings.Contains(e, ": rdap.") {
					errs = append(errs, e)
				}
			}
			if !reflect.DeepEqual(errs, tt.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
