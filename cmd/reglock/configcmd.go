package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/tracing/exporter"
)

// Several processes on one host share one configuration file: each loads
// it for its role (roles.uses), so it needs only that role's variables,
// and --listen (REGLOCK_LISTEN) gives each its own port.

// loadConfigFor is loadConfig for a process that uses only some parts of
// the file: a variable set nowhere (or a credential left empty) in a part
// it does not use is no error. No file is the defaults, as for loadConfig.
func (g *globals) loadConfigFor(uses config.Uses) (*config.Config, error) {
	if g.configPath == "" {
		return config.Default(), nil
	}
	// ${NAME}: the environment, else systemd's $CREDENTIALS_DIRECTORY/NAME.
	return config.LoadFor(g.configPath, config.WithCredentials(os.LookupEnv), uses)
}

// uses says which parts of the configuration the roles use.
func (r roles) uses() config.Uses {
	return config.Uses{API: r.api, Registrars: r.worker, Deliveries: r.worker}
}

// listenEnv names the per-process listen address in the environment.
const listenEnv = "REGLOCK_LISTEN"

// addListenFlag adds --listen to a role's command.
func addListenFlag(cmd *cobra.Command, r *roles, what string) {
	cmd.Flags().StringVar(&r.listen, "listen", os.Getenv(listenEnv),
		"host:port to serve "+what+" on, instead of the configuration's (env "+listenEnv+"): one file for several processes on a host")
}

// applyListen puts --listen (or REGLOCK_LISTEN) in place of api.listen,
// or worker.listen in a process without the API, and says which it took.
func (r roles) applyListen(cfg *config.Config) (key string, err error) {
	key = "worker.listen"
	if r.api {
		key = "api.listen"
	}
	if r.listen == "" {
		return key, nil
	}
	if err := config.CheckListen(r.listen); err != nil {
		return "", usageError{fmt.Errorf("--listen (or %s): %v", listenEnv, err)}
	}
	if r.api {
		cfg.API.Listen = r.listen
	} else {
		cfg.Worker.Listen = r.listen
	}
	return "--listen", nil
}

// roleUses are the roles as `config check` reports them, in order.
var roleUses = []struct {
	name  string
	roles roles
}{
	{"serve", roles{api: true, worker: true, scheduler: true, serve: true}},
	{"api", roles{api: true}},
	{"worker", roles{worker: true}},
	{"scheduler", roles{scheduler: true}},
	{"cli", roles{}}, // lock, status, sweep, ... with --config
}

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Work with the configuration file",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var role string
	check := &cobra.Command{
		Use:   "check [--role serve|api|worker|scheduler|cli]",
		Short: "Load and validate the configuration; summarise it without secrets",
		Long: `check loads the configuration (--config or REGLOCK_CONFIG) as the processes do, with
${NAME} from the environment (and $CREDENTIALS_DIRECTORY), validates it and prints a
summary: Redis, the providers, the API's listen address and token names, the workers'
listen address, the scheduler, the webhooks, and which roles can start with the
variables set here. It prints no secret.

A process needs only the variables of the parts it uses: an API process the tokens', a
worker the registrars' and webhooks' credentials. With --role, check answers for that
role only; without it, for every role. Problems are printed as file:line: key: reason,
and the exit status is 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConfigCheck(g, role) },
	}
	check.Flags().StringVar(&role, "role", "", "check for this role only: serve, api, worker, scheduler or cli")
	cmd.AddCommand(check)
	return cmd
}

func runConfigCheck(g *globals, role string) error {
	if g.configPath == "" {
		return usageError{errors.New("config check needs a file: give --config FILE (or set REGLOCK_CONFIG)")}
	}
	checked := roleUses
	if role != "" {
		checked = nil
		for _, r := range roleUses {
			if r.name == role {
				checked = append(checked, r)
			}
		}
		if checked == nil {
			return usageError{fmt.Errorf("--role: %q is not serve, api, worker, scheduler or cli", role)}
		}
	}
	// Loaded for no part, everything a role may skip is listed, not fatal.
	cfg, err := g.loadConfigFor(config.Uses{})
	if err != nil {
		var ce *config.Error
		if errors.As(err, &ce) {
			printProblems(g.stderr, ce.Problems)
			return exitError{code: 1, err: fmt.Errorf("%s: %s: no role can start", g.configPath, english.Count(len(ce.Problems), "problem"))}
		}
		return err
	}
	printConfigSummary(g.stdout, g.configPath, cfg)

	// Which role each problem stops.
	skipped := cfg.Skipped()
	stops := make([][]string, len(skipped))
	var verdicts []string
	failed := 0
	for _, r := range checked {
		n := 0
		for i, p := range skipped {
			if r.roles.uses().Needs(p.Key) {
				stops[i] = append(stops[i], r.name)
				n++
			}
		}
		if n == 0 {
			verdicts = append(verdicts, r.name+" ok")
			continue
		}
		failed++
		verdicts = append(verdicts, fmt.Sprintf("%s NOT READY (%s)", r.name, english.Count(n, "problem")))
	}
	// Tracing comes from the environment, not the file; a serving role
	// refuses to start on a variable it cannot honour.
	tracingErr := error(nil)
	switch tr, err := exporter.Settings(); {
	case err != nil:
		tracingErr = err
		fmt.Fprintf(g.stdout, "  %-15s%s\n", "tracing:", "BROKEN: "+err.Error())
	case tr.Enabled:
		fmt.Fprintf(g.stdout, "  %-15s%s\n", "tracing:", "on: OTLP "+tr.Protocol+" to "+tr.Endpoint)
	default:
		fmt.Fprintf(g.stdout, "  %-15s%s\n", "tracing:", "off (no OTEL_EXPORTER_OTLP_ENDPOINT)")
	}
	fmt.Fprintf(g.stdout, "  %-15s%s\n", "roles:", strings.Join(verdicts, ", "))
	var shown []config.Problem
	for i, p := range skipped {
		if len(stops[i]) > 0 {
			p.Reason += " (stops " + strings.Join(stops[i], ", ") + ")"
			shown = append(shown, p)
		}
	}
	printProblems(g.stderr, shown)
	if tracingErr != nil {
		return exitError{code: 1, err: fmt.Errorf("tracing: %w: serve, api, worker and scheduler refuse to start", tracingErr)}
	}
	if failed > 0 {
		hint := ""
		if role == "" {
			hint = "; a process needs only its own role's variables: check one with --role"
		}
		return exitError{code: 1, err: fmt.Errorf("%s: %s cannot start with the variables set here%s",
			g.configPath, english.Count(failed, "role"), hint)}
	}
	return nil
}

func printProblems(w io.Writer, ps []config.Problem) {
	for _, p := range ps {
		fmt.Fprintln(w, p.String())
	}
}

// printConfigSummary writes what the configuration says, without secrets:
// names, addresses, hosts, counts.
func printConfigSummary(w io.Writer, path string, cfg *config.Config) {
	line := func(key, format string, args ...any) {
		fmt.Fprintf(w, "  %-15s%s\n", key+":", fmt.Sprintf(format, args...))
	}
	fmt.Fprintf(w, "%s: valid\n", path)
	switch r := cfg.Redis; {
	case r.Embedded():
		line("redis", "none: only `reglock serve` can run, on an embedded in-memory Redis (development only)")
	default:
		line("redis", "%s", redisName(r))
	}
	if len(cfg.Providers) == 0 {
		line("providers", "none")
	}
	for i, p := range cfg.Providers {
		key := ""
		if i == 0 {
			key = "providers"
		}
		tlds := "no tlds"
		if len(p.TLDs) > 0 {
			tlds = "tlds " + strings.Join(p.TLDs, ", ")
		}
		rate := "no rate limit"
		if p.Rate > 0 {
			rate = fmt.Sprintf("%g requests/s", p.Rate)
		}
		endpoint := "endpoint not set here"
		if p.Endpoint != "" {
			endpoint = config.RedactURL(p.Endpoint)
		}
		fmt.Fprintf(w, "  %-15s%s (%s at %s; %s; %s)\n", key+sep(key), p.Name, p.Type, endpoint, tlds, rate)
	}
	listen := func(addr string) string {
		if env := os.Getenv(listenEnv); env != "" {
			return fmt.Sprintf("%s (%s=%s overrides it in this shell)", addr, listenEnv, env)
		}
		return addr
	}
	var tokens []string
	for _, t := range cfg.API.Tokens {
		scopes := "all scopes"
		if len(t.Scopes) > 0 {
			scopes = strings.Join(t.Scopes, ", ")
		}
		tokens = append(tokens, fmt.Sprintf("%s (%s)", t.Name, scopes))
	}
	if len(tokens) == 0 {
		tokens = []string{"none"}
	}
	mon := "off"
	if cfg.API.Monitoring {
		mon = "read-only"
		if cfg.API.MonitoringWrite {
			mon = "admin tokens may act"
		}
	}
	line("api", "listen %s; tokens %s; monitoring %s", listen(cfg.API.Listen), strings.Join(tokens, ", "), mon)
	wl := "off (no /healthz, /readyz, /metrics for workers and schedulers)"
	if cfg.Worker.Listen != "" {
		wl = listen(cfg.Worker.Listen)
	}
	line("worker", "listen %s; concurrency %d; shutdown timeout %s", wl, cfg.Worker.Concurrency, cfg.Worker.ShutdownTimeout)
	sweep := "off"
	if cfg.Scheduler.Sweep != "" {
		sweep = fmt.Sprintf("%q (%s)", cfg.Scheduler.Sweep, cfg.Scheduler.Timezone)
	}
	fresh := "off"
	if cfg.Scheduler.Freshness > 0 {
		fresh = "every domain within " + english.Duration(cfg.Scheduler.Freshness)
	}
	line("scheduler", "sweep %s; freshness %s; max drift share %g", sweep, fresh, cfg.Scheduler.MaxDriftShare)
	if len(cfg.Notifications) == 0 {
		line("notifications", "none")
	}
	for i, n := range cfg.Notifications {
		key := ""
		if i == 0 {
			key = "notifications"
		}
		events := "all events"
		if len(n.Events) > 0 {
			sorted := append([]string(nil), n.Events...)
			sort.Strings(sorted)
			events = strings.Join(sorted, ", ")
		}
		url := "url not set here"
		if n.URL != "" {
			url = n.RedactedURL()
		}
		fmt.Fprintf(w, "  %-15s%s (%s, %s; %s)\n", key+sep(key), n.Name, url, n.Format, events)
	}
}

func sep(key string) string {
	if key == "" {
		return ""
	}
	return ":"
}
