package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/metrics"
)

// globals are the flags every command shares.
type globals struct {
	configPath string
	logLevel   string
	logFormat  string
	apiURL     string
	apiToken   string
	namespace  string
	cpuProfile string
	memProfile string
	// stopProfile ends the CPU profile, if one runs.
	stopProfile func()

	stdout, stderr io.Writer
}

// usageError marks an error in how the command was called (exit status 2).
type usageError struct{ error }

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }

func run(args []string, stdout, stderr io.Writer) int {
	g := &globals{stdout: stdout, stderr: stderr}
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	if g.stopProfile != nil {
		g.stopProfile()
	}
	if g.memProfile != "" {
		if f, ferr := os.Create(g.memProfile); ferr == nil {
			_ = pprof.Lookup("allocs").WriteTo(f, 0)
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "reglock:", forCLI(err))
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		var ee exitError
		if errors.As(err, &ee) {
			return ee.code
		}
		return 1
	}
	return 0
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "reglock",
		Short: "Keep domain names locked (or deliberately unlocked) at their registrars",
		Long: `reglock keeps the registrar (transfer) lock of domain names where it should be.

Producers ask for lock, unlock and trade-lock changes through the HTTP API, this CLI
or asynq tasks; workers carry each change out against the registrar; a scheduler sweeps
every domain for drift. Run "reglock serve" with no configuration for a sandbox.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringVar(&g.configPath, "config", os.Getenv("REGLOCK_CONFIG"), "configuration file (env REGLOCK_CONFIG)")
	pf.StringVar(&g.logLevel, "log-level", "info", "debug, info, warn or error")
	pf.StringVar(&g.logFormat, "log-format", "", "json or console (default: console on a terminal, json otherwise)")
	// Several installations (or test runs) can share one Redis under
	// different namespaces: store keys and queue names are prefixed.
	pf.StringVar(&g.namespace, "namespace", os.Getenv("REGLOCK_NAMESPACE"), "prefix for keys and queues, to share a Redis (env REGLOCK_NAMESPACE)")
	_ = pf.MarkHidden("namespace")
	// Profiling for benchmarks and investigations.
	pf.StringVar(&g.cpuProfile, "cpuprofile", "", "write a CPU profile to this file until exit")
	_ = pf.MarkHidden("cpuprofile")
	pf.StringVar(&g.memProfile, "memprofile", "", "write a heap profile to this file at exit")
	_ = pf.MarkHidden("memprofile")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if g.cpuProfile == "" {
			return nil
		}
		f, err := os.Create(g.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		g.stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
		return nil
	}
	root.AddCommand(
		newServeCmd(g), newWorkerCmd(g), newAPICmd(g), newSchedulerCmd(g),
		newSimulateCmd(g),
		newLockCmd(g), newUnlockCmd(g), newTradeLockCmd(g), newStatusCmd(g),
		newSweepCmd(g), newImportCmd(g), newDriftCmd(g), newHealthcheckCmd(g),
		newHistoryCmd(g), newComplianceCmd(g), newForgetCmd(g), newAuditCmd(g),
		newExportCmd(g), newRestoreCmd(g), newVersionCmd(), newConfigCmd(g),
	)
	// --version prints what `reglock version` does.
	root.Version = strings.TrimSuffix(versionText(metrics.Build()), "\n")
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().BoolP("version", "v", false, "print the version, as reglock version does")
	return root
}

// addAPIFlags adds the flags of commands that can talk to a running API
// instead of to Redis directly.
func addAPIFlags(cmd *cobra.Command, g *globals) {
	cmd.Flags().StringVar(&g.apiURL, "api", os.Getenv("REGLOCK_API"), "talk to this reglock API (e.g. http://127.0.0.1:8080) instead of Redis (env REGLOCK_API)")
	cmd.Flags().StringVar(&g.apiToken, "token", "", "bearer token for --api (env REGLOCK_TOKEN)")
}

// logger builds the process logger from the global flags.
func (g *globals) logger() (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(strings.ToLower(g.logLevel))
	if err != nil || g.logLevel == "" || lvl > zerolog.ErrorLevel || lvl < zerolog.DebugLevel {
		return zerolog.Logger{}, usageError{fmt.Errorf("--log-level: %q is not debug, info, warn or error", g.logLevel)}
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	var w io.Writer = g.stderr
	switch g.logFormat {
	case "json":
	case "console":
		w = zerolog.ConsoleWriter{Out: g.stderr, TimeFormat: "15:04:05.000"}
	case "":
		if f, ok := g.stderr.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			w = zerolog.ConsoleWriter{Out: g.stderr, TimeFormat: "15:04:05.000"}
		}
	default:
		return zerolog.Logger{}, usageError{fmt.Errorf("--log-format: %q is not json or console", g.logFormat)}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// loadConfig reads --config, or returns the defaults when there is none.
func (g *globals) loadConfig() (*config.Config, error) {
	if g.configPath == "" {
		return config.Default(), nil
	}
	// ${NAME}: the environment, else systemd's $CREDENTIALS_DIRECTORY/NAME.
	return config.Load(g.configPath, config.WithCredentials(os.LookupEnv))
}
