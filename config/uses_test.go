package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// ${NAME:-default}: the variable's value, or the default when it is unset
// or empty (as in sh); the default is literal text.
func TestParse_defaultValues(t *testing.T) {
	env := map[string]string{"SET": "from-env", "EMPTY": "", "PORT": "9091"}
	for _, c := range []struct {
		value string
		want  string
	}{
		{"${SET:-fallback}", "from-env"},
		{"${UNSET:-fallback}", "fallback"},
		{"${EMPTY:-fallback}", "fallback"}, // empty counts as unset, as in sh
		{"${UNSET:-}", ""},
		{"${EMPTY}", ""}, // without a default an empty value stays empty
		{"x-${UNSET:-a$$b}-y", "x-a$b-y"},
		{"${UNSET:-http://h:1/p?q=1}", "http://h:1/p?q=1"}, // ':' and '-' in a default
		{"${UNSET:-a:-b}", "a:-b"},
		{"127.0.0.1:${PORT:-9090}", "127.0.0.1:9091"},
		{"127.0.0.1:${NOPORT:-9090}", "127.0.0.1:9090"},
	} {
		cfg, errs := problems(t, "providers:\n  - name: p\n    type: enom\n    endpoint: https://x\n    username: \"u"+c.value+"\"\n    password: pw\n", env)
		if errs != nil {
			t.Errorf("%s: %v", c.value, errs)
			continue
		}
		if got := cfg.Providers[0].Username; got != "u"+c.want {
			t.Errorf("%s: got %q, want %q", c.value, got, c.want)
		}
	}

	_, errs := problems(t, "api:\n  listen: \"${A:-${B}}\"\n  tokens:\n    - name: a\n      token: \"${UNSET_TOKEN}x${ALSO:-}\"\n", nil)
	want := []string{
		"reglock.yaml:2: api.listen: invalid ${NAME:-default}: the default is taken literally and holds no ${NAME} (write $$ for a literal $)",
		"reglock.yaml:5: api.tokens[0].token: environment variable UNSET_TOKEN is not set",
	}
	if !reflect.DeepEqual(errs, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(errs, "\n"), strings.Join(want, "\n"))
	}
}

// A variable set nowhere, with systemd credentials in use: the problem
// names both places it was looked for.
func TestLoad_unsetNamesCredentialsDirectory(t *testing.T) {
	creds := t.TempDir()
	file := filepath.Join(t.TempDir(), "reglock.yaml")
	src := strings.Replace(enom, "password: p", "password: ${ENOM_PW}", 1)
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(file, WithCredentials(envOf(map[string]string{"CREDENTIALS_DIRECTORY": creds})))
	want := "providers[0].password: ENOM_PW is not set: not in the environment, and no readable file ENOM_PW in $CREDENTIALS_DIRECTORY (" + creds + ")"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant it to contain %s", err, want)
	}
	// Without credentials, only the environment is named.
	_, err = Load(file, WithCredentials(envOf(nil)))
	if err == nil || !strings.HasSuffix(err.Error(), "providers[0].password: environment variable ENOM_PW is not set") {
		t.Errorf("without CREDENTIALS_DIRECTORY: %v", err)
	}
	// A default is used when neither has it, and the credential file
	// when there is one.
	src = strings.Replace(enom, "password: p", "password: ${ENOM_PW:-dev-password}", 1)
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	lookup := WithCredentials(envOf(map[string]string{"CREDENTIALS_DIRECTORY": creds}))
	if cfg, err := Load(file, lookup); err != nil || cfg.Providers[0].Password.Reveal() != "dev-password" {
		t.Fatalf("default: %v", err)
	}
	if err := os.WriteFile(filepath.Join(creds, "ENOM_PW"), []byte("from-credential\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := Load(file, lookup); err != nil || cfg.Providers[0].Password.Reveal() != "from-credential" {
		t.Fatalf("credential over default: %v", err)
	}
}

// shared is one file for every role, each secret in its own variable.
const shared = `redis:
  url: redis://127.0.0.1:6379/0
api:
  tokens:
    - name: billing
      token: ${BILLING_TOKEN}
    - name: ops
      token: ${OPS_TOKEN}
      scopes: [admin]
worker:
  listen: ${WORKER_LISTEN:-127.0.0.1:9090}
providers:
  - name: enom-main
    type: enom
    endpoint: ${ENOM_URL}
    username: ${ENOM_USER}
    password: ${ENOM_PW}
    tlds: [com]
  - name: ee
    type: ee
    endpoint: https://registrant.example/api
    eid: {ident: "${EE_IDENT}", first_name: A, last_name: B}
notifications:
  - name: slack
    url: ${SLACK_URL}
    secret: ${SLACK_SECRET}
    format: slack
`

var (
	apiVars    = map[string]string{"BILLING_TOKEN": "billing-token-0123456789", "OPS_TOKEN": "ops-token-0123456789abc"}
	workerVars = map[string]string{"ENOM_URL": "https://reseller.example/interface.asp", "ENOM_USER": "u", "ENOM_PW": "pw",
		"EE_IDENT": "38903110313", "SLACK_URL": "https://hooks.slack.com/services/T/B/x", "SLACK_SECRET": "slack-secret-0123456789"}
)

func merged(ms ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func skippedKeys(cfg *Config) []string {
	var keys []string
	for _, p := range cfg.Skipped() {
		keys = append(keys, p.Key)
	}
	return keys
}

// Each role resolves only its own parts' variables; Parse (every part) all.
func TestParseFor_rolesNeedOnlyTheirVariables(t *testing.T) {
	api := Uses{API: true}
	worker := Uses{Registrars: true, Deliveries: true}

	// A worker without the API's tokens: the tokens are left out.
	cfg, err := ParseFor("reglock.yaml", []byte(shared), envOf(workerVars), worker)
	if err != nil {
		t.Fatalf("worker: %v", err)
	}
	if len(cfg.API.Tokens) != 0 {
		t.Errorf("worker kept tokens it could not resolve: %+v", cfg.API.Tokens)
	}
	if got, want := skippedKeys(cfg), []string{"api.tokens[0].token", "api.tokens[1].token"}; !reflect.DeepEqual(got, want) {
		t.Errorf("worker's unresolved: %v, want %v", got, want)
	}
	if cfg.Providers[0].Password.Reveal() != "pw" || cfg.Notifications[0].URL == "" || cfg.Worker.Listen != "127.0.0.1:9090" {
		t.Errorf("worker's own parts: %+v", cfg)
	}

	// An API process without the registrars' or the webhooks' secrets.
	cfg, err = ParseFor("reglock.yaml", []byte(shared), envOf(apiVars), api)
	if err != nil {
		t.Fatalf("api: %v", err)
	}
	if len(cfg.API.Tokens) != 2 || cfg.Providers[0].Name != "enom-main" || cfg.Providers[0].TLDs[0] != "com" || cfg.Notifications[0].Name != "slack" {
		t.Errorf("api: %+v", cfg)
	}
	if cfg.Providers[0].Password.Reveal() != "" {
		t.Error("api: a provider password it had no variable for")
	}
	want := []string{"providers[0].endpoint", "providers[0].username", "providers[0].password", "providers[1].eid.ident",
		"notifications[0].url", "notifications[0].secret"}
	if got := skippedKeys(cfg); !reflect.DeepEqual(got, want) {
		t.Errorf("api's unresolved: %v, want %v", got, want)
	}
	for _, p := range cfg.Skipped() {
		if p.Line == 0 || !strings.Contains(p.Reason, "is not set") {
			t.Errorf("unresolved %+v: want a line and a reason", p)
		}
	}

	// A role's own variable missing is an error as ever; so is anything
	// everybody uses.
	// A credential set empty (${ENOM_PW:-}) is the worker's problem, not the API's.
	cfg, err = ParseFor("reglock.yaml", []byte(shared), envOf(merged(apiVars, workerVars, map[string]string{"ENOM_PW": ""})), api)
	if err != nil {
		t.Errorf("api with an empty ENOM_PW: %v", err)
	} else if got := cfg.Skipped(); len(got) != 1 || got[0].String() != "reglock.yaml:17: providers[0].password: required for type enom" {
		t.Errorf("api with an empty ENOM_PW: skipped %v", got)
	}
	_, err = ParseFor("reglock.yaml", []byte(shared), envOf(merged(apiVars, workerVars, map[string]string{"ENOM_PW": ""})), worker)
	if err == nil || err.Error() != "reglock.yaml:17: providers[0].password: required for type enom" {
		t.Errorf("worker with an empty ENOM_PW: %v", err)
	}
	// A short token is the API's problem; a worker leaves the token out.
	cfg, err = ParseFor("reglock.yaml", []byte(shared), envOf(merged(workerVars, map[string]string{"BILLING_TOKEN": "short", "OPS_TOKEN": "ops-token-0123456789abc"})), worker)
	if err != nil || len(cfg.API.Tokens) != 1 || cfg.API.Tokens[0].Name != "ops" {
		t.Errorf("worker with a short token: %v %+v", err, cfg)
	}
	_, err = ParseFor("reglock.yaml", []byte(shared), envOf(apiVars), worker)
	if err == nil || !strings.Contains(err.Error(), "reglock.yaml:17: providers[0].password: environment variable ENOM_PW is not set") ||
		strings.Contains(err.Error(), "BILLING_TOKEN") {
		t.Errorf("worker without its variables: %v", err)
	}
	_, err = ParseFor("reglock.yaml", []byte(strings.Replace(shared, "6379/0", "6379/${REDIS_DB}", 1)), envOf(apiVars), api)
	if err == nil || !strings.Contains(err.Error(), "redis.url: environment variable REDIS_DB is not set") {
		t.Errorf("a variable every role uses: %v", err)
	}

	// Every part: Parse, as before.
	if _, err := Parse("reglock.yaml", []byte(shared), envOf(merged(apiVars, workerVars))); err != nil {
		t.Errorf("everything set: %v", err)
	}
	_, err = Parse("reglock.yaml", []byte(shared), envOf(workerVars))
	if err == nil || !strings.Contains(err.Error(), "BILLING_TOKEN is not set") || !strings.Contains(err.Error(), "OPS_TOKEN is not set") {
		t.Errorf("Parse without the tokens: %v", err)
	}

	// An endpoint without a name is named after its URL's host: a process
	// that cannot read the URL must be given the name.
	noName := strings.Replace(shared, "  - name: slack\n    url:", "  - url:", 1)
	_, err = ParseFor("reglock.yaml", []byte(noName), envOf(apiVars), api)
	if err == nil || !strings.Contains(err.Error(), "reglock.yaml:24: notifications[0].name: required when url's variable is not set in this process") {
		t.Errorf("nameless notification: %v", err)
	}
	if cfg, err := ParseFor("reglock.yaml", []byte(noName), envOf(workerVars), worker); err != nil || cfg.Notifications[0].Name != "hooks.slack.com" {
		t.Errorf("nameless notification, resolved: %v", err)
	}
}

func TestUses_Needs(t *testing.T) {
	for _, c := range []struct {
		key  string
		uses Uses
		want bool
	}{
		{"redis.url", Uses{}, true},
		{"api.listen", Uses{}, true},
		{"api.tokens[0].token", Uses{}, false},
		{"api.tokens[0].token", Uses{API: true}, true},
		{"providers[3].password", Uses{API: true}, false},
		{"providers[3].eid.ident", Uses{}, false},
		{"providers[3].password", Uses{Registrars: true}, true},
		{"providers[3].name", Uses{}, true},
		{"providers[3].tlds[0]", Uses{}, true},
		{"providers[3].rate", Uses{}, true},
		{"notifications[0].secret", Uses{Registrars: true}, false},
		{"notifications[0].url", Uses{Deliveries: true}, true},
		{"notifications[0].events[1]", Uses{}, true},
		{"policy.tlds.ee.lock", Uses{}, true},
	} {
		if got := c.uses.Needs(c.key); got != c.want {
			t.Errorf("%+v.Needs(%s) = %v, want %v", c.uses, c.key, got, c.want)
		}
	}
}

func TestCheckListen(t *testing.T) {
	for _, ok := range []string{"127.0.0.1:9091", ":9091", "[::1]:0", "0.0.0.0:8080"} {
		if err := CheckListen(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "9091", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000"} {
		if err := CheckListen(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
