package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/spf13/cobra"

	"github.com/reglock/reglock/config"
)

// The variables docker-compose.yml requires from the shell, with test values.
var composeEnv = map[string]string{
	"REGLOCK_BILLING_TOKEN": "compose-test-token-0123456789",
}

// repoRoot is the module root, where docker-compose.yml is.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from %s: %v", root, err)
	}
	return root
}

// loadCompose loads docker-compose.yml as `docker compose` would: schema
// validation, interpolation from env (and nothing else: no OS environment,
// no .env file), paths resolved against the repository root.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	root := repoRoot(t)
	var kv []string
	for k, v := range env {
		kv = append(kv, k+"="+v)
	}
	opts, err := cli.NewProjectOptions([]string{filepath.Join(root, "docker-compose.yml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(kv),
		cli.WithInterpolation(true),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return opts.LoadProject(ctx)
}

// reglockCommand checks that args (a container's command, without the
// binary) is a reglock invocation that would get past cobra: a real
// subcommand, flags that its flag set knows and values they accept,
// arguments the subcommand takes, and a --log-level and --log-format the
// logger accepts. It returns the subcommand with its flags parsed.
func reglockCommand(t *testing.T, where string, args []string) *cobra.Command {
	t.Helper()
	if len(args) == 0 {
		t.Fatalf("%s: no command: the image's default (serve) would run", where)
	}
	g := &globals{stdout: io.Discard, stderr: io.Discard}
	root := newRootCmd(g)
	sub, rest, err := root.Find(args)
	if err != nil {
		t.Fatalf("%s: %q is not a reglock subcommand: %v", where, args[0], err)
	}
	if sub == root || sub.Name() != args[0] {
		t.Fatalf("%s: %q is not a reglock subcommand (found %q)", where, args[0], sub.CommandPath())
	}
	if err := sub.ParseFlags(rest); err != nil {
		t.Fatalf("%s: %s: %v", where, strings.Join(args, " "), err)
	}
	if err := sub.ValidateArgs(sub.Flags().Args()); err != nil {
		t.Fatalf("%s: %s: %v", where, strings.Join(args, " "), err)
	}
	if _, err := g.logger(); err != nil {
		t.Fatalf("%s: %s: %v", where, strings.Join(args, " "), err)
	}
	return sub
}

// flagValue is a parsed flag's value ("" for a flag the command lacks).
func flagValue(cmd *cobra.Command, name string) string {
	f := cmd.Flags().Lookup(name)
	if f == nil {
		return ""
	}
	return f.Value.String()
}

// runsRoles says whether a subcommand is a long-running reglock process
// that reads the configuration.
func runsRoles(name string) bool {
	return name == "serve" || name == "api" || name == "worker" || name == "scheduler"
}

// hostPort splits a host:port or URL host into its parts.
func hostPort(t *testing.T, where, hp string) (string, int) {
	t.Helper()
	h, p, err := net.SplitHostPort(hp)
	if err != nil {
		t.Fatalf("%s: %q is not host:port: %v", where, hp, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s: %q: port: %v", where, hp, err)
	}
	return h, n
}

func TestCompose_requiresTheAPIToken(t *testing.T) {
	_, err := loadCompose(t, nil)
	if err == nil || !strings.Contains(err.Error(), "REGLOCK_BILLING_TOKEN") {
		t.Fatalf("docker-compose.yml loaded without REGLOCK_BILLING_TOKEN (want ${REGLOCK_BILLING_TOKEN:?...}, no default): %v", err)
	}
}

func TestCompose_file(t *testing.T) {
	p, err := loadCompose(t, composeEnv)
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	root := repoRoot(t)
	dockerfile := filepath.Join(root, "deploy", "Dockerfile")

	want := []string{"api", "asynqmon", "redis", "scheduler", "simulator", "worker"}
	if got := p.ServiceNames(); !slices.Equal(sorted(got), want) {
		t.Fatalf("services %v, want %v", sorted(got), want)
	}

	// Which services run the reglock image: built from deploy/Dockerfile,
	// all under one image name (built once), no entrypoint override (the
	// image's is the reglock binary, so command[0] is the subcommand).
	entrypoint := dockerfileEntrypoint(t, dockerfile)
	if entrypoint != "/usr/local/bin/reglock" {
		t.Fatalf("deploy/Dockerfile ENTRYPOINT %q: the compose commands assume the reglock binary", entrypoint)
	}
	reglockImage := ""
	var reglockServices []string
	for _, name := range p.ServiceNames() {
		s := p.Services[name]
		if s.Build == nil {
			continue
		}
		if got := filepath.Join(s.Build.Context, s.Build.Dockerfile); got != dockerfile {
			t.Errorf("%s: built from %s, want deploy/Dockerfile", name, got)
		}
		if s.Build.Context != root {
			t.Errorf("%s: build context %s, want the repository root", name, s.Build.Context)
		}
		if reglockImage == "" {
			reglockImage = s.Image
		}
		if s.Image == "" || s.Image != reglockImage {
			t.Errorf("%s: image %q; every reglock service must name the one image %q", name, s.Image, reglockImage)
		}
		if len(s.Entrypoint) > 0 {
			t.Errorf("%s: entrypoint %v overrides the image's reglock binary", name, s.Entrypoint)
		}
		if s.Restart == "" || s.Restart == "no" {
			t.Errorf("%s: no restart policy", name)
		}
		if !s.ReadOnly {
			t.Errorf("%s: read_only not set; reglock writes nothing to its filesystem", name)
		}
		reglockServices = append(reglockServices, name)
	}
	if want := []string{"api", "scheduler", "simulator", "worker"}; !slices.Equal(sorted(reglockServices), want) {
		t.Fatalf("services built from deploy/Dockerfile: %v, want %v", sorted(reglockServices), want)
	}

	// The simulator: its address and credential, which the configuration
	// must match.
	sim := p.Services["simulator"]
	simCmd := reglockCommand(t, "simulator", sim.Command)
	if simCmd.Name() != "simulate" {
		t.Fatalf("simulator runs %q, want simulate", simCmd.Name())
	}
	simHost, simPort := hostPort(t, "simulator --listen", flagValue(simCmd, "listen"))
	if simHost != "0.0.0.0" && simHost != "" {
		t.Errorf("simulator --listen %s: other containers cannot reach it", flagValue(simCmd, "listen"))
	}
	if n, _ := strconv.Atoi(flagValue(simCmd, "domains")); n < 1 {
		t.Errorf("simulator --domains %s: want generated domains", flagValue(simCmd, "domains"))
	}
	simSecret := flagValue(simCmd, "secret")
	if !simCmd.Flags().Changed("secret") {
		t.Errorf("simulator: pass the credential with --secret rather than rely on the built-in default")
	}

	// Every service that runs reglock roles: its configuration file, as
	// mounted, loads with the service's own environment and points at the
	// compose services.
	var shutdown time.Duration
	for _, name := range reglockServices {
		s := p.Services[name]
		cmd := reglockCommand(t, name, s.Command)
		if !runsRoles(cmd.Name()) {
			continue
		}
		cfg := composeConfig(t, p, name, cmd)
		shutdown = cfg.Worker.ShutdownTimeout
		if s.StopGracePeriod == nil || time.Duration(*s.StopGracePeriod) <= cfg.Worker.ShutdownTimeout {
			t.Errorf("%s: stop_grace_period must exceed worker.shutdown_timeout (%s), or Docker kills in-flight tasks", name, cfg.Worker.ShutdownTimeout)
		}

		u, err := url.Parse(cfg.Redis.URL)
		if err != nil || u.Hostname() != "redis" || u.Port() != "6379" {
			t.Errorf("%s: redis.url %q, want the redis service at redis:6379", name, cfg.Redis.RedactedURL())
		}
		if dep, ok := s.DependsOn["redis"]; !ok || dep.Condition != types.ServiceConditionHealthy {
			t.Errorf("%s: depends_on redis must wait for service_healthy, got %+v", name, dep)
		}

		kinds := map[string]bool{}
		for i, pr := range cfg.Providers {
			kinds[pr.Type] = true
			u, err := url.Parse(pr.Endpoint)
			if err != nil {
				t.Fatalf("%s: providers[%d]: %v", name, i, err)
			}
			if port, _ := strconv.Atoi(u.Port()); u.Hostname() != "simulator" || port != simPort || u.Scheme != "http" {
				t.Errorf("%s: provider %s endpoint %s: want http://simulator:%d/...", name, pr.Name, pr.Endpoint, simPort)
			}
			var creds []string
			switch pr.Type {
			case config.TypeEnom:
				creds = []string{pr.Password.Reveal()}
			case config.TypeOpenSRS:
				creds = []string{pr.Key.Reveal()}
			case config.TypeWHMCS:
				creds = []string{pr.Secret.Reveal()}
			case config.TypeEE:
				creds = []string{pr.Token.Reveal()}
			}
			for _, c := range creds {
				if c != simSecret {
					t.Errorf("%s: provider %s: credential differs from the simulator's --secret", name, pr.Name)
				}
			}
		}
		for _, typ := range []string{config.TypeEnom, config.TypeOpenSRS, config.TypeWHMCS, config.TypeEE} {
			if !kinds[typ] {
				t.Errorf("%s: no %s provider: the simulator serves all four registrars", name, typ)
			}
		}
		if dep, ok := s.DependsOn["simulator"]; cmd.Name() == "worker" && !ok {
			t.Errorf("%s: workers call the simulator; depends_on it (%+v)", name, dep)
		}

		// The healthcheck runs the reglock binary's own probe against the
		// port this role serves /readyz on.
		probePort := 0
		switch cmd.Name() {
		case "api", "serve":
			_, probePort = hostPort(t, name+" api.listen", cfg.API.Listen)
		default:
			if cfg.Worker.Listen != "" {
				_, probePort = hostPort(t, name+" worker.listen", cfg.Worker.Listen)
			}
		}
		if hc := s.HealthCheck; hc == nil || len(hc.Test) < 3 || hc.Test[0] != "CMD" || hc.Test[1] != entrypoint {
			t.Errorf("%s: healthcheck %+v, want [CMD %s healthcheck --url ...]", name, hc, entrypoint)
		} else {
			probe := reglockCommand(t, name+" healthcheck", hc.Test[2:])
			if probe.Name() != "healthcheck" || !strings.HasSuffix(flagValue(probe, "url"), fmt.Sprintf(":%d/readyz", probePort)) {
				t.Errorf("%s: healthcheck %v does not probe /readyz on port %d", name, hc.Test, probePort)
			}
		}

		switch cmd.Name() {
		case "api", "serve":
			port := probePort
			published := false
			for _, sp := range s.Ports {
				published = published || int(sp.Target) == port
			}
			if !published {
				t.Errorf("%s: api.listen port %d is not published (ports: %+v)", name, port, s.Ports)
			}
			if len(cfg.API.Tokens) == 0 || cfg.API.Tokens[0].Token.Reveal() != composeEnv["REGLOCK_BILLING_TOKEN"] {
				t.Errorf("%s: the API token must come from REGLOCK_BILLING_TOKEN", name)
			}
		default:
			if cfg.Worker.Listen == "" {
				t.Errorf("%s: worker.listen is empty: no /healthz, /readyz, /metrics", name)
			}
			if len(s.Ports) > 0 && s.GetScale() > 1 {
				t.Errorf("%s: %d replicas cannot all publish %+v", name, s.GetScale(), s.Ports)
			}
		}
	}
	if shutdown == 0 {
		t.Fatal("no service loaded a reglock configuration")
	}

	if w := p.Services["worker"]; w.Deploy == nil || w.Deploy.Replicas == nil || *w.Deploy.Replicas != 2 || w.GetScale() != 2 {
		t.Errorf("worker: want deploy.replicas: 2, got %d replicas", w.GetScale())
	}
	for _, name := range []string{"api", "worker", "scheduler"} {
		if c := reglockCommand(t, name, p.Services[name].Command); c.Name() != name {
			t.Errorf("service %s runs reglock %s", name, c.Name())
		}
	}

	checkComposeRedis(t, p)
	checkComposeAsynqmon(t, p)
}

// composeConfig loads the configuration file a reglock service reads: the
// --config flag or REGLOCK_CONFIG, found through the service's read-only
// bind mount, with the service's environment (after interpolation).
func composeConfig(t *testing.T, p *types.Project, name string, cmd *cobra.Command) *config.Config {
	t.Helper()
	s := p.Services[name]
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	target := flagValue(cmd, "config")
	if target == "" {
		target = env["REGLOCK_CONFIG"]
	}
	if target == "" {
		t.Fatalf("%s: no configuration (--config or REGLOCK_CONFIG): reglock %s would refuse the embedded Redis", name, cmd.Name())
	}
	source := ""
	for _, v := range s.Volumes {
		if v.Target == target || strings.HasPrefix(target, strings.TrimSuffix(v.Target, "/")+"/") {
			if v.Type != types.VolumeTypeBind {
				t.Fatalf("%s: %s comes from a %s volume, want a bind mount of a file in the repository", name, target, v.Type)
			}
			if !v.ReadOnly {
				t.Errorf("%s: %s is mounted read-write", name, v.Target)
			}
			source = filepath.Join(v.Source, strings.TrimPrefix(target, v.Target))
		}
	}
	if source == "" {
		t.Fatalf("%s: no volume mounts the configuration %s", name, target)
	}
	if rel, err := filepath.Rel(filepath.Join(repoRoot(t), "deploy", "compose"), source); err != nil || strings.HasPrefix(rel, "..") {
		t.Errorf("%s: configuration %s is not under deploy/compose/", name, source)
	}
	cfg, err := config.Load(source, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatalf("%s: %s with the service's environment:\n%v", name, source, err)
	}
	return cfg
}

func checkComposeRedis(t *testing.T, p *types.Project) {
	t.Helper()
	r := p.Services["redis"]
	if !strings.HasPrefix(r.Image, "redis:7") {
		t.Errorf("redis: image %q, want redis:7-alpine", r.Image)
	}
	args := map[string]string{}
	for i := 0; i+1 < len(r.Command); i++ {
		if strings.HasPrefix(r.Command[i], "--") {
			args[r.Command[i]] = r.Command[i+1]
		}
	}
	if len(r.Command) == 0 || r.Command[0] != "redis-server" || args["--appendonly"] != "yes" || args["--appendfsync"] != "everysec" {
		t.Errorf("redis: command %v, want redis-server --appendonly yes --appendfsync everysec", r.Command)
	}
	data := false
	for _, v := range r.Volumes {
		if v.Target == "/data" && v.Type == types.VolumeTypeVolume {
			if _, ok := p.Volumes[v.Source]; !ok {
				t.Errorf("redis: volume %q is not declared under volumes:", v.Source)
			}
			data = true
		}
	}
	if !data {
		t.Errorf("redis: /data (the AOF) is not on a named volume: %+v", r.Volumes)
	}
	if r.HealthCheck == nil || r.HealthCheck.Disable || len(r.HealthCheck.Test) == 0 || !strings.Contains(strings.Join(r.HealthCheck.Test, " "), "redis-cli") {
		t.Errorf("redis: healthcheck %+v, want one with redis-cli (the others wait for service_healthy)", r.HealthCheck)
	}
}

// checkComposeAsynqmon parses asynqmon's command with the flags of its
// v0.7.2 main (cmd/asynqmon/main.go), so a misspelled flag fails here
// rather than crash-loop in the container.
func checkComposeAsynqmon(t *testing.T, p *types.Project) {
	t.Helper()
	s := p.Services["asynqmon"]
	if s.Image != "hibiken/asynqmon:0.7.2" {
		t.Errorf("asynqmon: image %q, want hibiken/asynqmon:0.7.2", s.Image)
	}
	fs := flag.NewFlagSet("asynqmon", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	port := fs.Int("port", 8080, "")
	addr := fs.String("redis-addr", "127.0.0.1:6379", "")
	fs.Int("redis-db", 0, "")
	fs.String("redis-password", "", "")
	fs.String("redis-tls", "", "")
	redisURL := fs.String("redis-url", "", "")
	fs.Bool("redis-insecure-tls", false, "")
	fs.String("redis-cluster-nodes", "", "")
	fs.Int("max-payload-length", 200, "")
	fs.Int("max-result-length", 200, "")
	fs.Bool("enable-metrics-exporter", false, "")
	fs.String("prometheus-addr", "", "")
	readOnly := fs.Bool("read-only", false, "")
	if err := fs.Parse(s.Command); err != nil || fs.NArg() > 0 {
		t.Fatalf("asynqmon: command %v: %v (extra %v)", s.Command, err, fs.Args())
	}
	host := *addr
	if *redisURL != "" {
		u, err := url.Parse(*redisURL)
		if err != nil {
			t.Fatalf("asynqmon: --redis-url: %v", err)
		}
		host = u.Host
	}
	if h, port := hostPort(t, "asynqmon redis", host); h != "redis" || port != 6379 {
		t.Errorf("asynqmon: Redis at %s, want the redis service (redis:6379)", host)
	}
	if !*readOnly {
		t.Errorf("asynqmon: not --read-only; it has no authentication")
	}
	published := false
	for _, sp := range s.Ports {
		published = published || int(sp.Target) == *port
	}
	if !published {
		t.Errorf("asynqmon: --port %d is not published (ports: %+v)", *port, s.Ports)
	}
	if dep, ok := s.DependsOn["redis"]; !ok || dep.Condition != types.ServiceConditionHealthy {
		t.Errorf("asynqmon: depends_on redis must wait for service_healthy")
	}
}

// dockerfileEntrypoint is the exec-form ENTRYPOINT of the Dockerfile's
// last stage.
func dockerfileEntrypoint(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ep := ""
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if rest, ok := strings.CutPrefix(line, "ENTRYPOINT "); ok {
			rest = strings.Trim(strings.TrimSpace(rest), "[]")
			first, _, _ := strings.Cut(rest, ",")
			ep = strings.Trim(strings.TrimSpace(first), `"`)
		}
	}
	return ep
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
