package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, and that what it returns keeps
// its promises: a valid Config or an *Error of well-formed problem lines.
func FuzzParse(f *testing.F) {
	seeds, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "~", "---\n---\n", "- a", "a: &a [*a]", "worker: &w {<<: *w}",
		"x-a: &a {rate: 1}\nproviders: [{<<: [*a, *a], name: a}]",
		"scheduler: {sweep: CRON_TZ=UTC}", "scheduler: {sweep: \"TZ=Nowhere 0 3 * * *\"}",
		"api: {tokens: [{name: a, token: \"${A}$$${AB}\"}]}",
		"providers: [{tlds: [\"xn--\", рф, .Co.Uk.]}]",
		"redis: {url: \"redis://:p@h:1/0?dial_timeout=x\"}",
		"policy: {windows: [{kind: transfer, tlds: [\"*\", Co.Uk], duration: 720h, effective_from: 2027-01-01, effective_until: 2026-01-01T00:00:00Z}]}",
		"policy: {tlds: {COM: {lock: none, locks: [delete]}, com: ~, \"*\": {lock: registry}}}",
	} {
		f.Add([]byte(s))
	}
	// Names of even length are set, to values that must not be expanded.
	env := func(name string) (string, bool) {
		if len(name)%2 == 0 {
			return "v${" + name + "}$", true
		}
		return "", false
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data, env)
		if err != nil {
			if cfg != nil {
				t.Fatal("a Config with an error")
			}
			var e *Error
			if !errors.As(err, &e) || len(e.Problems) == 0 {
				t.Fatalf("error %T without problems: %v", err, err)
			}
			for _, p := range e.Problems {
				if p.File != "fuzz.yaml" || p.Reason == "" || strings.Contains(p.String(), "\n") {
					t.Fatalf("malformed problem %#v", p)
				}
			}
			return
		}
		if cfg == nil {
			t.Fatal("neither a Config nor an error")
		}
		names := make(map[string]bool)
		for _, p := range cfg.Providers {
			if providerTypes[p.Type].keys == nil || p.Burst < 1 || p.Timeout <= 0 || p.Rate < 0 || names[p.Name] ||
				p.BulkMax < 0 || (p.BulkMax != 0 && p.Type != TypeEnom) {
				t.Fatalf("invalid provider passed: %+v", p)
			}
			names[p.Name] = true
			for _, tld := range p.TLDs {
				if n, ok := normalizeTLD(tld); !ok || n != tld {
					t.Fatalf("tld %q passed, normalised %q", tld, n)
				}
			}
		}
		if cfg.Worker.Concurrency < 1 || !(cfg.Scheduler.MaxDriftShare > 0 && cfg.Scheduler.MaxDriftShare <= 1) {
			t.Fatalf("invalid config passed: %+v", cfg)
		}
	})
}
