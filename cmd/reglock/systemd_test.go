package main

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/config"
)

// unitFile is a systemd unit's [Service] section: key -> values in order.
type unitFile map[string][]string

func readUnit(t *testing.T, path string) unitFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is not KEY=value", path, line)
			}
			u[section+"."+k] = append(u[section+"."+k], v)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

func (u unitFile) last(key string) string {
	v := u[key]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// readEnvFile reads a systemd EnvironmentFile (NAME=value lines).
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not NAME=value", path, line)
		}
		env[k] = v
	}
	return env
}

// systemdSeconds parses the time spans the units use: "45s", "2min", "90".
func systemdSeconds(t *testing.T, where, s string) time.Duration {
	t.Helper()
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second
	}
	d, err := time.ParseDuration(strings.ReplaceAll(strings.ReplaceAll(s, "min", "m"), " ", ""))
	if err != nil {
		t.Fatalf("%s: time span %q: %v", where, s, err)
	}
	return d
}

// The installed paths the units name, and the files in deploy/systemd that
// README tells to install there.
var systemdInstalled = map[string]string{
	"/etc/reglock/reglock.yaml": "reglock.yaml",
	"/etc/reglock/reglock.env":  "reglock.env.example",
}

func TestSystemd_units(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "deploy", "systemd")
	units := map[string]string{
		"reglock-api.service":       "api",
		"reglock-worker@.service":   "worker",
		"reglock-scheduler.service": "scheduler",
	}
	for file, role := range units {
		t.Run(file, func(t *testing.T) {
			u := readUnit(t, filepath.Join(dir, file))
			instance := ""
			if strings.Contains(file, "@") {
				instance = "9091"
			}
			spec := func(s string) string { return strings.ReplaceAll(s, "%i", instance) }

			exec := strings.Fields(u.last("Service.ExecStart"))
			if len(exec) < 2 || exec[0] != "/usr/local/bin/reglock" {
				t.Fatalf("ExecStart %v: want /usr/local/bin/reglock SUBCOMMAND ...", exec)
			}
			cmd := reglockCommand(t, file, exec[1:])
			if cmd.Name() != role {
				t.Errorf("runs reglock %s, want %s", cmd.Name(), role)
			}

			env := map[string]string{}
			for _, ef := range u["Service.EnvironmentFile"] {
				src, ok := systemdInstalled[strings.TrimPrefix(ef, "-")]
				if !ok {
					t.Fatalf("EnvironmentFile %s: not one of the files deploy/systemd provides", ef)
				}
				for k, v := range readEnvFile(t, filepath.Join(dir, src)) {
					env[k] = v
				}
			}
			for _, e := range u["Service.Environment"] {
				for _, kv := range strings.Fields(e) {
					k, v, _ := strings.Cut(strings.Trim(kv, `"`), "=")
					env[k] = spec(v)
				}
			}
			target := flagValue(cmd, "config")
			src, ok := systemdInstalled[target]
			if !ok {
				t.Fatalf("--config %q: not one of the files deploy/systemd provides", target)
			}
			cfg, err := config.Load(filepath.Join(dir, src), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
			if err != nil {
				t.Fatalf("deploy/systemd/%s with the unit's environment:\n%v", src, err)
			}
			if role == "worker" {
				if _, port := hostPort(t, "worker.listen", cfg.Worker.Listen); strconv.Itoa(port) != instance {
					t.Errorf("worker.listen %s: want the instance's port %s, so that workers can share a host", cfg.Worker.Listen, instance)
				}
			}
			if role == "scheduler" && cfg.Worker.Listen == "" {
				t.Errorf("worker.listen is empty: the scheduler serves no /healthz, /readyz, /metrics")
			}

			if stop := systemdSeconds(t, "TimeoutStopSec", u.last("Service.TimeoutStopSec")); stop <= cfg.Worker.ShutdownTimeout {
				t.Errorf("TimeoutStopSec %s must exceed worker.shutdown_timeout %s", stop, cfg.Worker.ShutdownTimeout)
			}
			for key, want := range map[string]string{
				"Service.Restart":         "on-failure",
				"Service.NoNewPrivileges": "yes",
				"Service.ProtectSystem":   "strict",
				"Service.PrivateTmp":      "yes",
				"Service.ProtectHome":     "yes",
			} {
				if got := u.last(key); got != want {
					t.Errorf("%s=%q, want %q", key, got, want)
				}
			}
			if u.last("Service.DynamicUser") != "yes" && u.last("Service.User") == "" {
				t.Errorf("runs as root: set DynamicUser=yes or User=")
			}
			if !slices.Contains(u["Install.WantedBy"], "multi-user.target") {
				t.Errorf("[Install] WantedBy=multi-user.target missing")
			}
		})
	}
}
