package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/reglock/reglock/config"
)

// readme is the repository's README.md.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// section is the README's text from the heading to the next heading of
// the same level.
func section(t *testing.T, text, heading string) string {
	t.Helper()
	i := strings.Index(text, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README has no %q", heading)
	}
	rest := text[i+len(heading)+2:]
	level := heading[:strings.IndexByte(heading, ' ')+1]
	if j := strings.Index(rest, "\n"+level); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// fence is one fenced code block: its info string and its lines.
type fence struct {
	info  string
	lines []string
}

var fenceRE = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```$")

func fences(text string) []fence {
	var out []fence
	for _, m := range fenceRE.FindAllStringSubmatch(text, -1) {
		out = append(out, fence{info: m[1], lines: strings.Split(strings.TrimSuffix(m[2], "\n"), "\n")})
	}
	return out
}

// cleanEnv is the environment without reglock's own variables, so that
// the test's processes see what a fresh shell would.
func cleanEnv(extra ...string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REGLOCK_") && !strings.HasPrefix(kv, "TMPDIR=") {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}

// The README's five-minute tour, as written: the commands of its sh blocks
// run in a shell, in order, against `make run`'s sandbox (reglock serve
// with no configuration), from a directory where bin/reglock is this
// build. Only the sandbox's address (so that the test can run beside a
// real sandbox) and the printed token are put in. The output must show
// what the README says it does: the lock's answer, and the drift a sweep
// finds and fixes.
func TestReadme_tour(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("the tour uses curl")
	}
	tour := section(t, readme(t), "## A five-minute tour")
	blocks := fences(tour)
	var commands []string
	for _, b := range blocks {
		if b.info != "sh" {
			continue
		}
		for _, l := range b.lines {
			if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
				commands = append(commands, l)
			}
		}
	}
	if len(commands) < 10 {
		t.Fatalf("found only %d commands in the tour: %q", len(commands), commands)
	}

	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(binary, filepath.Join(dir, "bin", "reglock")); err != nil {
		t.Fatal(err)
	}
	addr := "127.0.0.1:" + freePort(t)
	env := cleanEnv("TMPDIR=" + dir)
	// make run: ./bin/reglock serve (here on a free port).
	sandbox := exec.Command(filepath.Join(dir, "bin", "reglock"), "serve", "--listen", addr)
	sandbox.Dir, sandbox.Env = dir, env
	out := &syncBuffer{}
	sandbox.Stdout, sandbox.Stderr = out, out
	if err := sandbox.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sandbox.Process.Kill(); sandbox.Wait() })
	token := sandboxToken(t, out, 15*time.Second)

	// One shell, as a person types them: each command echoed, then run;
	// the first that fails stops the tour.
	var script strings.Builder
	script.WriteString("set -e\n")
	for _, c := range commands {
		if strings.HasPrefix(c, "TOKEN=") {
			c = "TOKEN=" + token
		}
		c = strings.ReplaceAll(c, "http://127.0.0.1:8080", "http://"+addr)
		script.WriteString("echo '$ " + strings.ReplaceAll(c, "'", `'\''`) + "'\n" + c + "\necho\n")
	}
	sh := exec.Command("sh", "-c", script.String())
	sh.Dir, sh.Env = dir, env
	got, err := sh.CombinedOutput()
	if err != nil {
		t.Fatalf("the tour failed: %v\n%s\nsandbox:\n%s", err, got, out.String())
	}
	output := string(got)

	// What the README says the commands print is what they print.
	var promised []string
	for _, b := range blocks {
		for _, l := range b.lines {
			if strings.HasPrefix(l, "# {") { // an answer shown after a curl
				promised = append(promised, strings.SplitN(strings.TrimPrefix(l, "# "), `"desired"`, 2)[0])
			}
		}
		if b.info == "" && strings.HasPrefix(b.lines[0], "done: ") { // sweep --wait's output
			promised = append(promised, b.lines...)
		}
	}
	if len(promised) < 4 {
		t.Fatalf("the tour shows no answer or sweep output to hold it to: %q", promised)
	}
	for _, p := range promised {
		if !strings.Contains(output, p) {
			t.Errorf("the README shows %q; the tour printed:\n%s", p, output)
		}
	}
	// A drift found and fixed, in the sweep, its report and the history.
	for _, want := range []string{
		"done: checked 5, drifted 1, errors 0, fixes queued 1",
		"fixed xn--bcher-kva.com (sandbox-enom): unlocked -> locked",
		"xn--bcher-kva.com  sandbox-enom  unlocked  locked  fixed",
	} {
		if !strings.Contains(output, want) {
			t.Errorf("the tour did not print %q:\n%s", want, output)
		}
	}
	if !regexp.MustCompile(`(?m)drift\s+1\s+unlocked -> locked \(sweep\)`).MatchString(output) ||
		!regexp.MustCompile(`(?m)change\s+1\s+unlocked -> locked \(sweep\)`).MatchString(output) {
		t.Errorf("bücher.com's history does not show the drift and its fix:\n%s", output)
	}
	if t.Failed() {
		t.Logf("sandbox:\n%s", out.String())
	}
	sandbox.Process.Signal(syscall.SIGTERM)
	if err := sandbox.Wait(); err != nil {
		t.Errorf("the sandbox did not exit cleanly: %v", err)
	}
}

// The README's sample configuration loads, has a token that can do what
// its own hints ask (sweep apply, forget: admin), and serves every role
// on one host: each role's process starts with its own variables only.
func TestReadme_sampleConfig(t *testing.T) {
	t.Parallel()
	var sample string
	for _, b := range fences(section(t, readme(t), "## Running it for real")) {
		if b.info == "yaml" && strings.HasPrefix(b.lines[0], "redis:") && strings.Contains(strings.Join(b.lines, "\n"), "providers:") {
			sample = strings.Join(b.lines, "\n") + "\n"
			break
		}
	}
	if sample == "" {
		t.Fatal("no sample configuration in README's Running it for real")
	}
	file := filepath.Join(t.TempDir(), "reglock.yaml")
	if err := os.WriteFile(file, []byte(sample), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := map[string][]string{
		"api": {"REGLOCK_BILLING_TOKEN=billing-token-0123456789", "REGLOCK_DASHBOARD_TOKEN=dashboard-token-0123456789",
			"REGLOCK_OPS_TOKEN=ops-token-0123456789abcdef"},
		"worker": {"ENOM_PW=enom-password-secret", "REGLOCK_HOOK_SECRET=hook-secret-0123456789",
			"SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T0/B0/secretpath", "REGLOCK_SLACK_SECRET=slack-secret-0123456789"},
	}
	all := append(append([]string(nil), vars["api"]...), vars["worker"]...)
	env := map[string]string{}
	for _, kv := range all {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, err := config.Load(file, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("the README's configuration: %v", err)
	}
	admin := false
	for _, tok := range cfg.API.Tokens {
		for _, s := range tok.Scopes {
			admin = admin || s == config.ScopeAdmin
		}
		admin = admin || len(tok.Scopes) == 0
	}
	if !admin {
		t.Error("no token in the README's configuration may `reglock sweep apply` (admin)")
	}

	check := func(env []string, args ...string) (string, error) {
		cmd := exec.Command(binary, append([]string{"config", "check", "--config", file}, args...)...)
		cmd.Env = cleanEnv(env...)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := check(all)
	if err != nil {
		t.Fatalf("config check with every variable: %v\n%s", err, out)
	}
	for _, want := range []string{"reglock.yaml: valid", "enom-main (enom at https://resellertest.enom.com/…; tlds com, net; 5 requests/s)",
		"ops (admin)", "serve ok, api ok, worker ok, scheduler ok, cli ok"} {
		if !strings.Contains(out, want) {
			t.Errorf("config check lacks %q:\n%s", want, out)
		}
	}
	for _, kv := range all {
		if _, v, _ := strings.Cut(kv, "="); strings.Contains(out, v) {
			t.Errorf("config check printed a secret (%s):\n%s", kv, out)
		}
	}
	for role, want := range map[string][]string{"api": vars["api"], "worker": vars["worker"], "scheduler": nil, "cli": nil} {
		if out, err := check(want, "--role", role); err != nil || !strings.Contains(out, role+" ok") {
			t.Errorf("config check --role %s with its own variables: %v\n%s", role, err, out)
		}
	}
	// The API's variables are not a worker's: without its own, it says so.
	out, err = check(vars["api"], "--role", "worker")
	if err == nil || !strings.Contains(out, "worker NOT READY (4 problems)") ||
		!strings.Contains(out, "providers[0].password: environment variable ENOM_PW is not set (stops worker)") {
		t.Errorf("config check --role worker with the API's variables: %v\n%s", err, out)
	}
}

// make run says what it is doing before the first (long) build.
func TestReadme_makeRunSpeaksFirst(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	cmd := exec.Command("make", "-n", "run")
	cmd.Dir = "../.."
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n run: %v\n%s", err, out)
	}
	text := string(out)
	say, build := strings.Index(text, "echo "), strings.Index(text, "go build")
	if say < 0 || build < 0 || say > build || !strings.Contains(text[say:build], "first build") {
		t.Errorf("make run does not speak before it builds:\n%s", text)
	}
}
