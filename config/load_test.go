package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// envOf turns a map into the env function Load and Parse take.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

// problems parses src as reglock.yaml and returns the problem lines, or nil.
func problems(t *testing.T, src string, env map[string]string) (*Config, []string) {
	t.Helper()
	cfg, err := Parse("reglock.yaml", []byte(src), envOf(env))
	if err == nil {
		if cfg == nil {
			t.Fatal("Parse returned neither a Config nor an error")
		}
		return cfg, nil
	}
	if cfg != nil {
		t.Errorf("Parse returned a Config with an error")
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error is %T, not *Error: %v", err, err)
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != len(e.Problems) {
		t.Errorf("Error() has %d lines for %d problems", got, len(e.Problems))
	}
	return nil, strings.Split(err.Error(), "\n")
}

func TestLoad_specExample(t *testing.T) {
	env := map[string]string{
		"REGLOCK_BILLING_TOKEN": "billing-token-0123456789",
		"ENOM_PW":               "enom-pw",
		"OPENSRS_KEY":           "opensrs-key",
		"WHMCS_IDENTIFIER":      "whmcs-id",
		"WHMCS_SECRET":          "whmcs-secret",
		"EE_TOKEN":              "ee-token",
	}
	cfg, err := Load("testdata/spec-example.yaml", envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Redis: Redis{URL: "redis://127.0.0.1:6379/0"},
		API: API{
			Listen:     "127.0.0.1:8080",
			Tokens:     []Token{{Name: "billing", Token: "billing-token-0123456789"}},
			Monitoring: true,
		},
		Worker:    Worker{Concurrency: 50, ShutdownTimeout: 30 * time.Second},
		Scheduler: Scheduler{Sweep: "0 3 * * *", Timezone: "UTC", MaxDriftShare: 0.10, ConfirmDelay: DefaultConfirmDelay},
		Policy:    Policy{ImportLocked: true, MaxUnlockWindow: DefaultMaxUnlockWindow, Windows: DefaultWindows(), TLDs: DefaultTLDs()},
		RDAP:      DefaultRDAP(),
		Providers: []Provider{
			{
				Name: "enom-main", Type: "enom", Endpoint: "https://resellertest.enom.com/interface.asp",
				Username: "resellid", Password: "enom-pw", TLDs: []string{"com", "net"},
				Rate: 5, Burst: 1, SweepShare: 0.8, Timeout: 30 * time.Second,
			},
			{
				Name: "opensrs", Type: "opensrs", Endpoint: "https://horizon.opensrs.net:55443",
				Username: "reseller", Key: "opensrs-key", Burst: 1, SweepShare: 0.8, Timeout: 30 * time.Second,
			},
			{
				Name: "whmcs", Type: "whmcs", Endpoint: "https://billing.example.com/includes/api.php",
				Identifier: "whmcs-id", Secret: "whmcs-secret", Burst: 1, SweepShare: 0.8, Timeout: 30 * time.Second,
			},
			{
				Name: "ee", Type: "ee", Endpoint: "https://registrant.internet.ee", API: "v1",
				Token: "ee-token", TLDs: []string{"ee"}, Burst: 1, SweepShare: 0.8, Timeout: 30 * time.Second,
			},
		},
	}
	assertConfig(t, cfg, want)
}

func TestLoad_haSentinel(t *testing.T) {
	env := map[string]string{"REDIS_PW": "redis-pw", "OPS_TOKEN": "ops-token-0123456789"}
	cfg, err := Load("testdata/ha-sentinel.yaml", envOf(env))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Redis: Redis{Sentinel: &Sentinel{
			MasterName: "mymaster", Addrs: []string{"10.0.0.1:26379", "10.0.0.2:26379"}, Password: "redis-pw",
		}},
		API: API{
			Listen:     ":8080",
			Tokens:     []Token{{Name: "ops", Token: "ops-token-0123456789", Scopes: []string{"read", "admin"}}},
			Monitoring: false,
		},
		Worker:    Worker{Concurrency: 8, ShutdownTimeout: 2 * time.Minute},
		Scheduler: Scheduler{Sweep: "@every 15m", Timezone: "Europe/Tallinn", MaxDriftShare: 1, ConfirmDelay: DefaultConfirmDelay},
		Policy:    Policy{ImportLocked: true, MaxUnlockWindow: DefaultMaxUnlockWindow, Windows: DefaultWindows(), TLDs: DefaultTLDs()},
		RDAP:      DefaultRDAP(),
		Providers: []Provider{{
			Name: "ee", Type: "ee", Endpoint: "https://registrant.internet.ee", API: "repp",
			EID:  &EID{Ident: "38903110313", FirstName: "Mari", LastName: "Maasikas", CountryCode: "EE"},
			TLDs: []string{"ee", "pri.ee", "xn--p1ai"}, Rate: 2.5, Burst: 3, SweepShare: 0.8, Timeout: 10 * time.Second,
		}},
	}
	assertConfig(t, cfg, want)
}

func TestLoad_cluster(t *testing.T) {
	cfg, err := Load("testdata/cluster.yaml", envOf(map[string]string{"REDIS_PW": "", "OPENSRS_KEY": "k"}))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Redis:     Redis{Cluster: &Cluster{Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7000"}}},
		API:       API{Listen: "127.0.0.1:8080", Monitoring: true},
		Worker:    Worker{Concurrency: 50, ShutdownTimeout: 30 * time.Second},
		Scheduler: Scheduler{Sweep: "", Timezone: "UTC", MaxDriftShare: 0.10, ConfirmDelay: DefaultConfirmDelay},
		Policy:    Policy{ImportLocked: true, MaxUnlockWindow: DefaultMaxUnlockWindow, Windows: DefaultWindows(), TLDs: DefaultTLDs()},
		RDAP:      DefaultRDAP(),
		Providers: []Provider{
			{
				Name: "uk", Type: "whmcs", Endpoint: "http://127.0.0.1:9000/includes/api.php",
				Identifier: "id", Secret: "${not-a-variable}", TLDs: []string{"uk"}, Burst: 1, SweepShare: 0.8, Timeout: 30 * time.Second,
			},
			{
				Name: "co.uk", Type: "opensrs", Endpoint: "http://127.0.0.1:9001",
				Username: "reseller", Key: "k", TLDs: []string{"co.uk"}, Burst: 1, SweepShare: 0.8, Timeout: 30 * time.Second,
			},
		},
	}
	assertConfig(t, cfg, want)
}

// assertConfig compares field by field so that a failure says where; the
// secrets print as [redacted], so a secret mismatch names only its field.
func assertConfig(t *testing.T, got, want *Config) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range g.NumField() {
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			t.Errorf("%s:\n got %+v\nwant %+v", g.Type().Field(i).Name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
	for i := range min(len(got.Providers), len(want.Providers)) {
		gp, wp := got.Providers[i], want.Providers[i]
		if !reflect.DeepEqual(gp.EID, wp.EID) {
			t.Errorf("Providers[%d].EID: got %+v, want %+v", i, gp.EID, wp.EID)
		}
	}
}

func TestDefault(t *testing.T) {
	want := &Config{
		API:       API{Listen: "127.0.0.1:8080", Monitoring: true},
		Worker:    Worker{Concurrency: 50, ShutdownTimeout: 30 * time.Second},
		Scheduler: Scheduler{Sweep: "0 3 * * *", Timezone: "UTC", MaxDriftShare: 0.10, ConfirmDelay: DefaultConfirmDelay},
		Policy:    Policy{ImportLocked: true, MaxUnlockWindow: DefaultMaxUnlockWindow, Windows: DefaultWindows(), TLDs: DefaultTLDs()},
		RDAP:      DefaultRDAP(),
	}
	assertConfig(t, Default(), want)
	if !Default().Redis.Embedded() {
		t.Error("Default uses a Redis server; want the embedded one")
	}
	// A file that says nothing, or only empty sections, means the defaults.
	for _, src := range []string{"", "# nothing yet\n", "{}", "---\n", "~", "redis:\napi:\nworker:\nscheduler:\nproviders:\n"} {
		cfg, errs := problems(t, src, nil)
		if errs != nil {
			t.Errorf("%q: %v", src, errs)
			continue
		}
		assertConfig(t, cfg, want)
	}
}

func TestParse_defaults(t *testing.T) {
	cfg, errs := problems(t, `
api:
  listen: "[::1]:9000"
providers:
  - name: a
    type: enom
    endpoint: http://127.0.0.1:1
    username: u
    password: p
  - name: b
    type: ee
    endpoint: http://127.0.0.1:2
    eid: {ident: "1", first_name: F, last_name: L}
`, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	if cfg.API.Listen != "[::1]:9000" || !cfg.API.Monitoring {
		t.Errorf("api: got %+v, want the listen given and monitoring true", cfg.API)
	}
	a, b := cfg.Providers[0], cfg.Providers[1]
	if a.Burst != 1 || a.Timeout != 30*time.Second || a.Rate != 0 || a.API != "" || a.BulkMax != 0 {
		t.Errorf("enom defaults: got burst %d timeout %s rate %v api %q bulk_max %d", a.Burst, a.Timeout, a.Rate, a.API, a.BulkMax)
	}
	if b.API != "v1" || b.EID.CountryCode != "EE" || b.Burst != 1 || b.Timeout != 30*time.Second {
		t.Errorf("ee defaults: got api %q country %q burst %d timeout %s", b.API, b.EID.CountryCode, b.Burst, b.Timeout)
	}
}

func TestParse_bulkMax(t *testing.T) {
	cfg, errs := problems(t, enom+"    bulk_max: 500\n", nil)
	if errs != nil {
		t.Fatal(errs)
	}
	if got := cfg.Providers[0].BulkMax; got != 500 {
		t.Errorf("bulk_max = %d, want 500", got)
	}
}

func TestParse_sweep(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"absent", "scheduler:\n  timezone: UTC\n", "0 3 * * *"},
		{"null", "scheduler:\n  sweep:\n", "0 3 * * *"},
		{"empty string disables", "scheduler:\n  sweep: \"\"\n", ""},
		{"empty variable disables", "scheduler:\n  sweep: ${SWEEP}\n", ""},
		{"descriptor", "scheduler:\n  sweep: \"@every 15m\"\n", "@every 15m"},
		{"daily", "scheduler:\n  sweep: \"@daily\"\n", "@daily"},
		{"cron", "scheduler:\n  sweep: \"*/5 * * * *\"\n", "*/5 * * * *"},
		{"CRON_TZ", "scheduler:\n  sweep: \"CRON_TZ=Europe/Tallinn 0 3 * * *\"\n", "CRON_TZ=Europe/Tallinn 0 3 * * *"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, errs := problems(t, tc.src, map[string]string{"SWEEP": ""})
			if errs != nil {
				t.Fatal(errs)
			}
			if cfg.Scheduler.Sweep != tc.want {
				t.Errorf("sweep %q, want %q", cfg.Scheduler.Sweep, tc.want)
			}
		})
	}
}

func TestParse_monitoring(t *testing.T) {
	for src, want := range map[string]bool{
		"api: {listen: \"127.0.0.1:1\"}": true,
		"api: {monitoring: true}":        true,
		"api: {monitoring: false}":       false,
		"api: {monitoring: FALSE}":       false,
		"api: {monitoring: ~}":           true,
	} {
		cfg, errs := problems(t, src, nil)
		if errs != nil {
			t.Errorf("%s: %v", src, errs)
		} else if cfg.API.Monitoring != want {
			t.Errorf("%s: monitoring %v, want %v", src, cfg.API.Monitoring, want)
		}
	}
}

func TestParse_mergeKeys(t *testing.T) {
	cfg, errs := problems(t, `
x-slow: &slow {rate: 1, burst: 2, timeout: 1m}
x-fast: &fast {rate: 50, burst: 10}
providers:
  - name: a
    type: enom
    endpoint: https://x
    username: u
    password: p
    <<: [*fast, *slow]
    burst: 3
`, nil)
	if errs != nil {
		t.Fatal(errs)
	}
	// Own keys beat merged ones; among merged mappings the first wins.
	p := cfg.Providers[0]
	if p.Rate != 50 || p.Burst != 3 || p.Timeout != time.Minute {
		t.Errorf("rate %v burst %d timeout %s; want 50, 3, 1m0s", p.Rate, p.Burst, p.Timeout)
	}
}

func TestParse_expand(t *testing.T) {
	env := map[string]string{
		"PW":    "a$b${C}$$", // taken literally: values are not expanded again
		"HOST":  "127.0.0.1",
		"PORT":  "9000",
		"N":     "7",
		"EMPTY": "",
	}
	cfg, errs := problems(t, `
api:
  listen: ${HOST}:${PORT}
worker:
  concurrency: ${N}
providers:
  - name: a${EMPTY}
    type: enom
    endpoint: "http://${HOST}/x?a=$$1"
    username: "$$${HOST}$$"
    password: ${PW}
`, env)
	if errs != nil {
		t.Fatal(errs)
	}
	p := cfg.Providers[0]
	for _, c := range []struct{ name, got, want string }{
		{"listen", cfg.API.Listen, "127.0.0.1:9000"},
		{"name", p.Name, "a"},
		{"endpoint", p.Endpoint, "http://127.0.0.1/x?a=$1"},
		{"username", p.Username, "$127.0.0.1$"},
		{"password", p.Password.Reveal(), "a$b${C}$$"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, c.got, c.want)
		}
	}
	if cfg.Worker.Concurrency != 7 {
		t.Errorf("concurrency %d, want 7", cfg.Worker.Concurrency)
	}
}

// enom is a valid provider list to build cases on; its lines are 1 to 6.
const enom = `providers:
  - name: enom-main
    type: enom
    endpoint: https://reseller.enom.com/interface.asp
    username: u
    password: p
`

func TestParse_problems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		env  map[string]string
		want []string
	}{
		// Syntax and shape.
		{"yaml syntax", "api:\n  listen: [1\n", nil, []string{
			"reglock.yaml:2: did not find expected ',' or ']'", // where the [ is
		}},
		{"two documents", "api: {}\n---\napi: {}\n", nil, []string{
			"reglock.yaml:2: more than one YAML document; put everything in one",
		}},
		{"not a mapping", "- a\n", nil, []string{
			"reglock.yaml:1: expected a mapping, got a list",
		}},
		{"unknown top-level key", "redis: {}\nredsi: {}\n", nil, []string{
			"reglock.yaml:2: redsi: unknown key (known: redis, api, worker, scheduler, policy, providers, audit, notifications, rdap)",
		}},
		{"unknown nested key", enom + "  - name: b\n    type: enom\n    endpoint: https://x\n    usrname: u\n    password: p\n", nil, []string{
			"reglock.yaml:7: providers[1].username: required for type enom",
			"reglock.yaml:10: providers[1].usrname: unknown key (known: name, type, endpoint, username, password, key, identifier, secret, api, token, eid, tlds, rate, burst, sweep_share, timeout, bulk_max)",
		}},
		{"unknown key deep", enom + "    type: ee\n    token: t\n    eid: {ident: x, first_name: a, last_name: b, middle_name: c}\n", nil, []string{
			"reglock.yaml:7: providers[0].type: duplicate key (first at line 3)",
			"reglock.yaml:8: providers[0].token: token is not used by type enom",
			"reglock.yaml:9: providers[0].eid.middle_name: unknown key (known: ident, first_name, last_name, country_code)",
			"reglock.yaml:9: providers[0].eid: eid is not used by type enom",
		}},
		{"duplicate key", "worker:\n  concurrency: 1\n  concurrency: 2\n", nil, []string{
			"reglock.yaml:3: worker.concurrency: duplicate key (first at line 2)",
		}},
		{"duplicate top-level key", "api: {}\napi: {}\n", nil, []string{
			"reglock.yaml:2: api: duplicate key (first at line 1)",
		}},
		{"x- keys hold anchors", "x-any: {whatever: 1}\nxx: 1\n", nil, []string{
			"reglock.yaml:2: xx: unknown key (known: redis, api, worker, scheduler, policy, providers, audit, notifications, rdap)",
		}},
		{"x- keys only at the top", "worker:\n  x-a: 1\n", nil, []string{
			"reglock.yaml:2: worker.x-a: unknown key (known: concurrency, shutdown_timeout, listen)",
		}},
		{"merge key unknown", "x-base: &b {concurrency: 2, threads: 3}\nworker:\n  <<: *b\n  concurrency: 4\n", nil, []string{
			"reglock.yaml:1: worker.threads: unknown key (known: concurrency, shutdown_timeout, listen)",
		}},
		{"merge key of a scalar", "worker:\n  <<: 3\n", nil, []string{
			"reglock.yaml:2: worker: << takes a mapping or a list of mappings",
		}},
		{"merge into itself", "worker: &w\n  <<: *w\n", nil, []string{
			"reglock.yaml:2: worker: << merges a mapping into itself",
		}},
		{"odd unknown keys are quoted", "\"redis.url\": x\n\"a\\nb\": 1\n", nil, []string{
			`reglock.yaml:1: "redis.url": unknown key (known: redis, api, worker, scheduler, policy, providers, audit, notifications, rdap)`,
			`reglock.yaml:2: "a\nb": unknown key (known: redis, api, worker, scheduler, policy, providers, audit, notifications, rdap)`,
		}},
		{"unknown anchor", "api: *nope\n", nil, []string{
			"reglock.yaml: unknown anchor 'nope' referenced",
		}},
		{"null list item", "providers:\n  -\n", nil, []string{
			"reglock.yaml:2: providers[0]: empty list item",
		}},

		// Types.
		{"wrong types", `api:
  monitoring: yes
  tokens: {name: a}
worker:
  concurrency: fifty
  shutdown_timeout: 30 seconds
scheduler:
  max_drift_share: 10%
  timezone: [UTC]
providers:
  - name: [a]
    type: enom
    endpoint: https://x
    username: u
    password: {p: 1}
    tlds: com
    rate: fast
    burst: 1.5
    timeout: 30
redis: localhost
`, nil, []string{
			`reglock.yaml:2: api.monitoring: expected true or false, got "yes"`,
			"reglock.yaml:3: api.tokens: expected a list, got a mapping",
			`reglock.yaml:5: worker.concurrency: expected an integer, got "fifty"`,
			`reglock.yaml:6: worker.shutdown_timeout: invalid duration "30 seconds" (use Go syntax like "30s" or "72h")`,
			`reglock.yaml:8: scheduler.max_drift_share: expected a number, got "10%"`,
			"reglock.yaml:9: scheduler.timezone: expected a string, got a list",
			"reglock.yaml:11: providers[0].name: expected a string, got a list",
			"reglock.yaml:15: providers[0].password: expected a string, got a mapping",
			"reglock.yaml:16: providers[0].tlds: expected a list, got a value",
			`reglock.yaml:17: providers[0].rate: expected a number, got "fast"`,
			`reglock.yaml:18: providers[0].burst: expected an integer, got "1.5"`,
			`reglock.yaml:19: providers[0].timeout: invalid duration "30" (use Go syntax like "30s" or "72h")`,
			"reglock.yaml:20: redis: expected a mapping, got a value",
		}},
		{"list item of the wrong shape", "providers:\n  - enom\n  - [a]\n", nil, []string{
			"reglock.yaml:2: providers[0]: expected a mapping, got a value",
			"reglock.yaml:3: providers[1]: expected a mapping, got a list",
		}},
		{"integer overflow", "worker: {concurrency: 99999999999999999999}\n", nil, []string{
			`reglock.yaml:1: worker.concurrency: expected an integer, got "99999999999999999999"`,
		}},
		{"infinite rate", enom + "    rate: .inf\n", nil, []string{
			`reglock.yaml:7: providers[0].rate: expected a number, got ".inf"`,
		}},
		{"bulk_max", enom + "    bulk_max: -1\n  - name: b\n    type: opensrs\n    endpoint: https://x\n    username: u\n    key: k\n    bulk_max: 100\n  - name: c\n    type: enom\n    endpoint: https://x\n    username: u\n    password: p\n    bulk_max: lots\n", nil, []string{
			"reglock.yaml:7: providers[0].bulk_max: must be >= 0 (0 = the adapter's default), got -1",
			"reglock.yaml:13: providers[1].bulk_max: bulk_max is not used by type opensrs",
			`reglock.yaml:19: providers[2].bulk_max: expected an integer, got "lots"`,
		}},

		// ${NAME}.
		{"missing variable", enom + "    rate: ${RATE}\n  - name: b\n    type: enom\n    endpoint: https://x\n    username: ${ENOM_USER}\n    password: ${ENOM_PW}-${ENOM_PW2}\n", map[string]string{"ENOM_PW": "x"}, []string{
			"reglock.yaml:7: providers[0].rate: environment variable RATE is not set",
			"reglock.yaml:11: providers[1].username: environment variable ENOM_USER is not set",
			"reglock.yaml:12: providers[1].password: environment variable ENOM_PW2 is not set",
		}},
		{"empty variable", enom + "  - name: b\n    type: enom\n    endpoint: https://x\n    username: u\n    password: ${ENOM_PW}\n", map[string]string{"ENOM_PW": ""}, []string{
			"reglock.yaml:11: providers[1].password: required for type enom",
		}},
		{"bad $", "api:\n  listen: $HOST:80\n  tokens:\n    - name: a\n      token: ${TOKEN\n    - name: b\n      token: ${TO-KEN}\n    - name: c\n      token: ${}\n", nil, []string{
			"reglock.yaml:2: api.listen: a $ must start ${NAME} or be doubled ($$ for a literal $)",
			"reglock.yaml:5: api.tokens[0].token: unterminated ${ (write $$ for a literal $)",
			"reglock.yaml:7: api.tokens[1].token: invalid ${NAME}: a name is letters, digits and _, not starting with a digit (write $$ for a literal $)",
			"reglock.yaml:9: api.tokens[2].token: invalid ${NAME}: a name is letters, digits and _, not starting with a digit (write $$ for a literal $)",
		}},
		{"variables only in values", "${KEY}: 1\n", map[string]string{"KEY": "api"}, []string{
			"reglock.yaml:1: ${KEY}: unknown key (known: redis, api, worker, scheduler, policy, providers, audit, notifications, rdap)",
		}},

		// Providers.
		{"provider name", enom + "  - type: enom\n    endpoint: https://x\n    username: u\n    password: p\n  - name: Enom_Main\n    type: enom\n    endpoint: https://x\n    username: u\n    password: p\n  - name: enom-main\n    type: enom\n    endpoint: https://x\n    username: u\n    password: p\n", nil, []string{
			"reglock.yaml:7: providers[1].name: required",
			`reglock.yaml:11: providers[2].name: invalid provider name "Enom_Main" (want 1 to 63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit)`,
			`reglock.yaml:16: providers[3].name: provider name "enom-main" already used by providers[0] (line 2)`,
		}},
		{"provider name too long", "providers:\n  - name: " + strings.Repeat("a", 64) + "\n    type: enom\n    endpoint: https://x\n    username: u\n    password: p\n", nil, []string{
			`reglock.yaml:2: providers[0].name: invalid provider name "` + strings.Repeat("a", 64) + `" (want 1 to 63 of a-z, 0-9, '.', '_' and '-', starting with a letter or digit)`,
		}},
		{"provider type", "providers:\n  - name: a\n    endpoint: https://x\n  - name: b\n    type: godaddy\n    endpoint: https://x\n    username: u\n", nil, []string{
			"reglock.yaml:2: providers[0].type: required",
			`reglock.yaml:5: providers[1].type: unknown provider type "godaddy" (want enom, opensrs, whmcs or ee)`,
		}},
		{"endpoint", "providers:" + strings.Repeat("\n  - {name: a, type: whmcs, identifier: i, secret: s}", 1) +
			"\n  - {name: b, type: whmcs, identifier: i, secret: s, endpoint: ftp://x}" +
			"\n  - {name: c, type: whmcs, identifier: i, secret: s, endpoint: /includes/api.php}" +
			"\n  - {name: d, type: whmcs, identifier: i, secret: s, endpoint: \"https://\"}" +
			"\n  - {name: e, type: whmcs, identifier: i, secret: s, endpoint: \"https://admin:hunter2@x\"}" +
			"\n  - {name: f, type: whmcs, identifier: i, secret: s, endpoint: \"https://x:port\"}" +
			"\n  - {name: g, type: whmcs, identifier: i, secret: s, endpoint: \"http://127.0.0.1:8080/api.php\"}\n", nil, []string{
			"reglock.yaml:2: providers[0].endpoint: required",
			"reglock.yaml:3: providers[1].endpoint: want an absolute http:// or https:// URL with a host",
			"reglock.yaml:4: providers[2].endpoint: want an absolute http:// or https:// URL with a host",
			"reglock.yaml:5: providers[3].endpoint: want an absolute http:// or https:// URL with a host",
			"reglock.yaml:6: providers[4].endpoint: must not hold credentials (user:password@); use the provider's credential keys",
			"reglock.yaml:7: providers[5].endpoint: want an absolute http:// or https:// URL with a host",
		}},
		{"credentials by type", `providers:
  - name: a
    type: enom
    endpoint: https://x
  - name: b
    type: opensrs
    endpoint: https://x
    username: u
    password: p
  - name: c
    type: whmcs
    endpoint: https://x
    identifier: ""
    key: k
  - name: d
    type: ee
    endpoint: https://x
    username: u
`, nil, []string{
			"reglock.yaml:2: providers[0].username: required for type enom",
			"reglock.yaml:2: providers[0].password: required for type enom",
			"reglock.yaml:5: providers[1].key: required for type opensrs",
			"reglock.yaml:9: providers[1].password: password is not used by type opensrs",
			"reglock.yaml:10: providers[2].secret: required for type whmcs",
			"reglock.yaml:13: providers[2].identifier: required for type whmcs",
			"reglock.yaml:14: providers[2].key: key is not used by type whmcs",
			"reglock.yaml:15: providers[3].token: required for type ee (or eid)",
			"reglock.yaml:18: providers[3].username: username is not used by type ee",
		}},
		{"key on enom", enom + "    key: k\n    api: v1\n", nil, []string{
			"reglock.yaml:7: providers[0].key: key is not used by type enom",
			"reglock.yaml:8: providers[0].api: api is not used by type enom",
		}},
		{"ee token or eid", `providers:
  - name: a
    type: ee
    endpoint: https://x
    token: t
    eid: {ident: "1", first_name: F, last_name: L}
  - name: b
    type: ee
    endpoint: https://x
    api: v2
    eid:
      country_code: EST
  - name: c
    type: ee
    endpoint: https://x
    token: ${EMPTY}
    eid: {ident: "1", first_name: F, last_name: L, country_code: "1a"}
`, map[string]string{"EMPTY": ""}, []string{
			"reglock.yaml:6: providers[0].eid: set token or eid, not both",
			`reglock.yaml:10: providers[1].api: unknown api "v2" (want v1 or repp)`,
			"reglock.yaml:11: providers[1].eid.ident: required",
			"reglock.yaml:11: providers[1].eid.first_name: required",
			"reglock.yaml:11: providers[1].eid.last_name: required",
			`reglock.yaml:12: providers[1].eid.country_code: want a 2-letter country code, got "EST"`,
			`reglock.yaml:17: providers[2].eid.country_code: want a 2-letter country code, got "1a"`,
		}},
		{"tlds", enom + "    tlds: [com, .NET, com, -x, co..uk, \"\", a_b, uk]\n" +
			"  - {name: b, type: opensrs, endpoint: https://x, username: u, key: k, tlds: [co.uk, net, COM.]}\n", nil, []string{
			`reglock.yaml:7: providers[0].tlds[3]: invalid tld "-x"`,
			`reglock.yaml:7: providers[0].tlds[4]: invalid tld "co..uk"`,
			`reglock.yaml:7: providers[0].tlds[5]: invalid tld ""`,
			`reglock.yaml:7: providers[0].tlds[6]: invalid tld "a_b"`,
			`reglock.yaml:8: providers[1].tlds[1]: tld "net" already claimed by providers[0] (line 7)`,
			`reglock.yaml:8: providers[1].tlds[2]: tld "com" already claimed by providers[0] (line 7)`,
		}},
		{"tlds on separate lines", enom + "    tlds:\n      - com\n  - name: b\n    type: enom\n    endpoint: https://x\n    username: u\n    password: p\n    tlds:\n      - org\n      - com\n", nil, []string{
			`reglock.yaml:16: providers[1].tlds[1]: tld "com" already claimed by providers[0] (line 8)`,
		}},
		{"rate, burst, timeout", enom + "    rate: -1\n    burst: 0\n    timeout: 0s\n  - {name: b, type: enom, endpoint: https://x, username: u, password: p, timeout: -1m, rate: 0, burst: 1}\n", nil, []string{
			"reglock.yaml:7: providers[0].rate: must be >= 0 (0 = unlimited), got -1",
			"reglock.yaml:8: providers[0].burst: must be at least 1, got 0",
			"reglock.yaml:9: providers[0].timeout: must be positive, got 0s",
			"reglock.yaml:10: providers[1].timeout: must be positive, got -1m0s",
		}},

		// Scheduler and worker.
		{"bad cron", "scheduler:\n  sweep: \"0 3 * *\"\n", nil, []string{
			`reglock.yaml:2: scheduler.sweep: invalid cron spec "0 3 * *": expected exactly 5 fields, found 4: [0 3 * *]`,
		}},
		{"bad descriptor", "scheduler:\n  sweep: \"@every 15 minutes\"\n", nil, []string{
			`reglock.yaml:2: scheduler.sweep: invalid cron spec "@every 15 minutes": failed to parse duration @every 15 minutes: time: unknown unit " minutes" in duration "15 minutes"`,
		}},
		{"cron that panics cron", "scheduler:\n  sweep: CRON_TZ=UTC\n", nil, []string{
			`reglock.yaml:2: scheduler.sweep: invalid cron spec "CRON_TZ=UTC"`,
		}},
		{"cron that never fires", "scheduler:\n  sweep: \"0 0 30 2 *\"\n", nil, []string{
			`reglock.yaml:2: scheduler.sweep: cron spec "0 0 30 2 *" never fires`,
		}},
		{"blank cron", "scheduler:\n  sweep: \" \"\n", nil, []string{
			`reglock.yaml:2: scheduler.sweep: invalid cron spec " ": expected exactly 5 fields, found 0: []`,
		}},
		{"timezone and drift share", "scheduler:\n  timezone: Mars/Olympus\n  max_drift_share: 0\n", nil, []string{
			`reglock.yaml:2: scheduler.timezone: unknown time zone "Mars/Olympus"`,
			"reglock.yaml:3: scheduler.max_drift_share: must be > 0 and <= 1, got 0",
		}},
		{"drift share above 1", "scheduler: {max_drift_share: 1.5}\n", nil, []string{
			"reglock.yaml:1: scheduler.max_drift_share: must be > 0 and <= 1, got 1.5",
		}},
		{"freshness", "scheduler:\n  freshness: 30s\n  freshness_at_risk: 1m\n", nil, []string{
			"reglock.yaml:2: scheduler.freshness: must be 0 (off) or at least 1m, got 30s",
			"reglock.yaml:3: scheduler.freshness_at_risk: must be between 0s and scheduler.freshness (30s), got 1m0s",
		}},
		{"worker", "worker:\n  concurrency: 0\n  shutdown_timeout: -5s\n", nil, []string{
			"reglock.yaml:2: worker.concurrency: must be at least 1, got 0",
			"reglock.yaml:3: worker.shutdown_timeout: must be positive, got -5s",
		}},

		// API.
		{"listen", "api:\n  listen: localhost\n", nil, []string{
			`reglock.yaml:2: api.listen: want host:port, got "localhost"`,
		}},
		{"listen port", "api:\n  listen: localhost:99999\n", nil, []string{
			`reglock.yaml:2: api.listen: invalid port "99999"`,
		}},
		{"listen empty", "api:\n  listen: \"\"\n", nil, []string{
			`reglock.yaml:2: api.listen: want host:port, got ""`,
		}},
		{"tokens", `api:
  tokens:
    - token: 0123456789abcdef
    - name: a
    - name: b
      token: short
    - name: a
      token: 0123456789abcdef
      scopes: [read, delete]
    - name: c
      token: "0123456789 abcdef"
`, nil, []string{
			"reglock.yaml:3: api.tokens[0].name: required",
			"reglock.yaml:4: api.tokens[1].token: required",
			"reglock.yaml:6: api.tokens[2].token: token too short (min 16 characters)",
			`reglock.yaml:7: api.tokens[3].name: token name "a" already used by api.tokens[1] (line 4)`,
			"reglock.yaml:8: api.tokens[3].token: same token as api.tokens[0] (line 3)",
			`reglock.yaml:9: api.tokens[3].scopes[1]: unknown scope "delete" (want read, write or admin)`,
			"reglock.yaml:11: api.tokens[4].token: token contains white space or control characters",
		}},

		{"token providers", enom + `api:
  tokens:
    - name: brand-a
      token: 0123456789abcdef
      providers: [enom-main, opensrs-a]
    - name: brand-b
      token: 0123456789abcdeg
      providers: [enom-main, enom-main]
`, nil, []string{
			`reglock.yaml:11: api.tokens[0].providers[1]: token "brand-a": unknown provider "opensrs-a" (configured: enom-main)`,
			`reglock.yaml:14: api.tokens[1].providers[1]: token "brand-b": provider "enom-main" listed twice`,
		}},

		// Redis.
		{"redis url and sentinel", "redis:\n  url: redis://x:6379\n  sentinel: {master_name: m, addrs: [\"x:26379\"]}\n", nil, []string{
			"reglock.yaml:1: redis: set only one of url, sentinel and cluster",
		}},
		{"redis url", "redis:\n  url: http://localhost:6379\n", nil, []string{
			"reglock.yaml:2: redis.url: want a redis:// or rediss:// URL",
		}},
		{"redis url db", "redis:\n  url: redis://:hunter2@localhost:6379/x\n", nil, []string{
			`reglock.yaml:2: redis.url: invalid database number: "x"`,
		}},
		{"redis url unparsable", "redis:\n  url: \"redis://:hunter2%zz@localhost:6379\"\n", nil, []string{
			"reglock.yaml:2: redis.url: not a valid URL",
		}},
		{"redis url option", "redis:\n  url: \"rediss://:hunter2@localhost:6379/0?dial_timeout=soon\"\n", nil, []string{
			`reglock.yaml:2: redis.url: invalid dial_timeout duration: time: invalid duration "soon"`,
		}},
		{"sentinel", "redis:\n  sentinel:\n    db: -1\n", nil, []string{
			"reglock.yaml:2: redis.sentinel.master_name: required",
			"reglock.yaml:2: redis.sentinel.addrs: at least one host:port required",
			"reglock.yaml:3: redis.sentinel.db: must be >= 0, got -1",
		}},
		{"sentinel addrs", "redis:\n  sentinel:\n    master_name: m\n    addrs: [10.0.0.1, \":26379\", \"10.0.0.1:0\", \"[::1]:26379\"]\n", nil, []string{
			`reglock.yaml:4: redis.sentinel.addrs[0]: want host:port, got "10.0.0.1"`,
			`reglock.yaml:4: redis.sentinel.addrs[1]: want host:port, got ":26379"`,
			`reglock.yaml:4: redis.sentinel.addrs[2]: invalid port "0"`,
		}},
		{"cluster", "redis:\n  cluster: {addrs: []}\n", nil, []string{
			"reglock.yaml:2: redis.cluster.addrs: at least one host:port required",
		}},
		{"empty sentinel section", "redis:\n  sentinel: {}\n  cluster: {}\n", nil, []string{
			"reglock.yaml:1: redis: set only one of url, sentinel and cluster",
			"reglock.yaml:2: redis.sentinel.master_name: required",
			"reglock.yaml:2: redis.sentinel.addrs: at least one host:port required",
			"reglock.yaml:3: redis.cluster.addrs: at least one host:port required",
		}},

		// Everything at once, in file order.
		{"several at once", `redis:
  url: ftp://x
api:
  listen: nowhere
  tokens:
    - {name: ci, token: short}
worker:
  concurrency: -1
scheduler:
  sweep: every day
providers:
  - name: enom-main
    type: enom
    endpoint: https://x
    username: u
    password: ${ENOM_PW}
    pasword: p
  - name: enom-main
    type: bogus
`, nil, []string{
			"reglock.yaml:2: redis.url: want a redis:// or rediss:// URL",
			`reglock.yaml:4: api.listen: want host:port, got "nowhere"`,
			"reglock.yaml:6: api.tokens[0].token: token too short (min 16 characters)",
			"reglock.yaml:8: worker.concurrency: must be at least 1, got -1",
			`reglock.yaml:10: scheduler.sweep: invalid cron spec "every day": expected exactly 5 fields, found 2: [every day]`,
			"reglock.yaml:16: providers[0].password: environment variable ENOM_PW is not set",
			"reglock.yaml:17: providers[0].pasword: unknown key (known: name, type, endpoint, username, password, key, identifier, secret, api, token, eid, tlds, rate, burst, sweep_share, timeout, bulk_max)",
			`reglock.yaml:18: providers[1].name: provider name "enom-main" already used by providers[0] (line 12)`,
			"reglock.yaml:18: providers[1].endpoint: required", // on the line of the list item
			`reglock.yaml:19: providers[1].type: unknown provider type "bogus" (want enom, opensrs, whmcs or ee)`,
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, got := problems(t, tc.src, tc.env)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParse_errorsAs(t *testing.T) {
	_, err := Parse("conf/reglock.yaml", []byte("worker: {concurrency: 0}\n"), nil)
	var e *Error
	if !errors.As(fmt.Errorf("startup: %w", err), &e) {
		t.Fatalf("errors.As(%v) found no *Error", err)
	}
	want := []Problem{{File: "conf/reglock.yaml", Line: 1, Key: "worker.concurrency", Reason: "must be at least 1, got 0"}}
	if !reflect.DeepEqual(e.Problems, want) {
		t.Errorf("got %+v, want %+v", e.Problems, want)
	}
}

func TestLoad_missingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"), nil)
	var e *Error
	if !errors.Is(err, os.ErrNotExist) || errors.As(err, &e) {
		t.Errorf("got %v; want a not-exist error that is not a *Error", err)
	}
}

func TestLoad_nilEnvIsProcessEnvironment(t *testing.T) {
	t.Setenv("RELOCK_TEST_CONCURRENCY", "3")
	path := filepath.Join(t.TempDir(), "reglock.yaml")
	if err := os.WriteFile(path, []byte("worker: {concurrency: \"${RELOCK_TEST_CONCURRENCY}\"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Worker.Concurrency != 3 {
		t.Errorf("concurrency %d, want 3", cfg.Worker.Concurrency)
	}
}

// TestSecrets_neverPrinted holds the promise that no secret reaches a log or
// an error through the config package.
func TestSecrets_neverPrinted(t *testing.T) {
	secrets := map[string]string{
		"TOKEN": "tok-SECRET-0123456789", "ENOM_PW": "enom-SECRET", "OPENSRS_KEY": "opensrs-SECRET",
		"WHMCS_ID": "whmcs-id-SECRET", "WHMCS_SECRET": "whmcs-SECRET", "EE_TOKEN": "ee-SECRET",
		"REDIS_PW": "redis-SECRET",
	}
	valid := `redis:
  url: redis://:${REDIS_PW}@10.0.0.1:6379/0
api:
  tokens: [{name: a, token: "${TOKEN}"}]
providers:
  - {name: a, type: enom, endpoint: https://x, username: u, password: "${ENOM_PW}"}
  - {name: b, type: opensrs, endpoint: https://x, username: u, key: "${OPENSRS_KEY}"}
  - {name: c, type: whmcs, endpoint: https://x, identifier: "${WHMCS_ID}", secret: "${WHMCS_SECRET}"}
  - {name: d, type: ee, endpoint: https://x, token: "${EE_TOKEN}"}
`
	cfg, errs := problems(t, valid, secrets)
	if errs != nil {
		t.Fatal(errs)
	}
	sentinel, errs := problems(t, `redis:
  sentinel: {master_name: m, addrs: ["x:1"], password: "${REDIS_PW}", sentinel_password: "${TOKEN}"}
`, secrets)
	if errs != nil {
		t.Fatal(errs)
	}
	cluster, errs := problems(t, "redis: {cluster: {addrs: [\"x:1\"], password: \"${ENOM_PW}\"}}", secrets)
	if errs != nil {
		t.Fatal(errs)
	}
	outs := map[string]string{
		"%v":           fmt.Sprintf("%v", cfg),
		"%+v":          fmt.Sprintf("%+v", cfg),
		"%#v":          fmt.Sprintf("%#v", cfg),
		"%+v value":    fmt.Sprintf("%+v", *cfg),
		"%#v value":    fmt.Sprintf("%#v", *cfg),
		"redis":        fmt.Sprint(cfg.Redis),
		"sentinel":     fmt.Sprintf("%+v %#v %v", *sentinel.Redis.Sentinel, *sentinel.Redis.Sentinel, sentinel),
		"cluster":      fmt.Sprintf("%+v %#v %v", *cluster.Redis.Cluster, *cluster.Redis.Cluster, cluster),
		"RedactedURL":  cfg.Redis.RedactedURL(),
		"providers %v": fmt.Sprintf("%v %+v", cfg.Providers, cfg.Providers),
	}
	if !strings.Contains(outs["%+v"], "redis://:xxxxx@10.0.0.1:6379/0") {
		t.Errorf("%%+v does not show the redacted Redis URL: %s", outs["%+v"])
	}

	// Every secret misplaced or invalid: no problem may quote it.
	short := map[string]string{"TOKEN": "SECRET-short", "PW": "hunter2-SECRET"}
	invalid := `redis:
  url: redis://:${PW}@localhost:6379/x
api:
  tokens:
    - {name: a, token: "${TOKEN}"}
    - {name: b, token: "${PW}"}
    - {name: c, token: "${PW}"}
    - {name: d, token: "${PW} x"}
providers:
  - {name: a, type: enom, endpoint: "https://u:${PW}@x", username: u, password: [SECRET-in-a-list], key: "${PW}"}
  - {name: b, type: opensrs, endpoint: https://x, username: u, key: {SECRET-in-a-map: 1}, secret: "${PW}"}
  - {name: c, type: whmcs, endpoint: https://x, identifier: "SECRET-$x", secret: "SECRET-${un terminated", password: "${PW}"}
  - {name: d, type: ee, endpoint: https://x, token: "${PW}", eid: {ident: 1, first_name: a, last_name: b}}
  - {name: e, type: ee, endpoint: https://x, token: "SECRET-${NOPE}"}
  - {name: f, type: whmcs, endpoint: "http://u:SECRET%zz@x"}
  - {name: g, type: whmcs, endpoint: https://x, identifier: i, secret: s, SECRET-key: "${PW}"}
`
	_, err := Parse("reglock.yaml", []byte(invalid), envOf(short))
	if err == nil {
		t.Fatal("invalid config passed")
	}
	outs["error"] = err.Error()
	if n := strings.Count(err.Error(), "\n") + 1; n < 15 {
		t.Errorf("only %d problems; the secrets were not all put to the test:\n%s", n, err)
	}
	for name, out := range outs {
		for _, s := range append(secretValues(secrets), secretValues(short)...) {
			if strings.Contains(out, s) {
				t.Errorf("%s shows secret %q:\n%s", name, s, out)
			}
		}
		if strings.Contains(out, "SECRET") && name != "error" {
			t.Errorf("%s shows a secret:\n%s", name, out)
		}
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		// Only key names may say SECRET (the unknown key SECRET-key).
		if strings.Contains(line, "SECRET") && !strings.Contains(line, "providers[6].SECRET-key: unknown key") {
			t.Errorf("problem shows a secret: %s", line)
		}
	}
}

func secretValues(m map[string]string) []string {
	var vs []string
	for _, v := range m {
		vs = append(vs, v)
	}
	return vs
}

func TestConfig_Provider(t *testing.T) {
	cfg, err := Load("testdata/spec-example.yaml", func(string) (string, bool) { return "x0123456789abcdefg", true })
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := cfg.Provider("opensrs"); !ok || p.Type != "opensrs" {
		t.Errorf("Provider(opensrs) = %+v, %v", p, ok)
	}
	if p, ok := cfg.Provider("nope"); ok {
		t.Errorf("Provider(nope) = %+v, true", p)
	}
}

func TestConfig_ProviderForTLD(t *testing.T) {
	cfg := &Config{Providers: []Provider{
		{Name: "uk", TLDs: []string{"uk", "com"}},
		{Name: "co.uk", TLDs: []string{"co.uk"}},
		{Name: "none"},
	}}
	for domain, want := range map[string]string{
		"example.co.uk":   "co.uk",
		"a.b.example.uk":  "uk",
		"example.org.uk":  "uk",
		"example.com":     "uk",
		"example.com.":    "uk",
		"xco.uk":          "uk",
		"example.org":     "",
		"uk":              "",
		"co.uk":           "uk",
		"examplecom":      "",
		"example.notcom":  "",
		"":                "",
		"example.co.uk.x": "",
	} {
		p, ok := cfg.ProviderForTLD(domain)
		if ok != (want != "") || p.Name != want {
			t.Errorf("ProviderForTLD(%q) = %q, %v; want %q", domain, p.Name, ok, want)
		}
	}
}

func TestParse_aliasFanOutIsBounded(t *testing.T) {
	src := "x-l: &l [" + strings.Repeat("a,", 999) + "a]\n" +
		"x-p: &p {name: a, type: enom, endpoint: https://x, username: u, password: p, tlds: *l}\n" +
		"providers: [" + strings.Repeat("*p,", 199) + "*p]\n"
	// The bound is on values read, not on time (which a loaded machine
	// stretches): past 100,000 the decoder stops.
	_, err := Parse("reglock.yaml", []byte(src), nil)
	if err == nil {
		t.Fatal("no error")
	}
	if want := "reglock.yaml:1: more than 100000 values (aliases that fan out?); not read further\n"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error starts %.200q, want %q", err, want)
	}
}

func TestParse_sweepShare(t *testing.T) {
	base := "providers:\n  - name: e\n    type: enom\n    endpoint: https://x\n    username: u\n    password: p\n"
	cfg, err := Parse("reglock.yaml", []byte(base+"    sweep_share: 0.5\n"), nil)
	if err != nil || cfg.Providers[0].SweepShare != 0.5 {
		t.Fatalf("sweep_share 0.5: %v, %v", cfg, err)
	}
	for _, bad := range []string{"0", "1.5", "-0.1"} {
		_, err := Parse("reglock.yaml", []byte(base+"    sweep_share: "+bad+"\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "providers[0].sweep_share: must be more than 0 and at most 1") {
			t.Errorf("sweep_share %s: %v", bad, err)
		}
	}
}

func TestParse_tokenProviders(t *testing.T) {
	cfg, err := Parse("reglock.yaml", []byte(enom+`api:
  tokens:
    - name: brand-a
      token: 0123456789abcdef
      scopes: [write]
      providers: [enom-main]
    - name: ops
      token: 0123456789abcdeg
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.API.Tokens[0].Providers; len(got) != 1 || got[0] != "enom-main" {
		t.Errorf("brand-a providers %v, want [enom-main]", got)
	}
	if got := cfg.API.Tokens[1].Providers; got != nil {
		t.Errorf("ops providers %v, want none (all)", got)
	}
}
