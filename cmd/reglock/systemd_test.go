package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
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

// systemdLoadCredentials reads a unit's LoadCredential=ID:PATH lines: ID ->
// the example file in deploy/systemd that README installs at PATH. reglock
// reads ${NAME} from $CREDENTIALS_DIRECTORY/NAME, so the ID is the name.
func systemdLoadCredentials(t *testing.T, dir string, u unitFile) map[string]string {
	t.Helper()
	creds := map[string]string{}
	for _, lc := range u["Service.LoadCredential"] {
		id, path, ok := strings.Cut(lc, ":")
		if !ok || !strings.HasPrefix(path, systemdCredentials) {
			t.Errorf("LoadCredential=%s: want NAME:%sNAME", lc, systemdCredentials)
			continue
		}
		file := strings.TrimPrefix(path, systemdCredentials)
		if file != id {
			t.Errorf("LoadCredential=%s: the ID and the file name differ (keep them the same: NAME:%sNAME)", lc, systemdCredentials)
		}
		src := filepath.Join(dir, systemdCredentialsExample, file)
		if _, err := os.Stat(src); err != nil {
			t.Errorf("LoadCredential=%s: deploy/systemd/%s has no example %s", lc, systemdCredentialsExample, file)
			continue
		}
		if _, dup := creds[id]; dup {
			t.Errorf("LoadCredential=%s: %s loaded twice", lc, id)
		}
		creds[id] = src
	}
	return creds
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
}

// The directory of credential files (LoadCredential=NAME:/etc/reglock/credentials/NAME)
// and the example files README tells to install there.
const (
	systemdCredentials        = "/etc/reglock/credentials/"
	systemdCredentialsExample = "credentials.example"
)

func TestSystemd_units(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "deploy", "systemd")
	units := map[string]string{
		"reglock-api.service":       "api",
		"reglock-worker@.service":   "worker",
		"reglock-scheduler.service": "scheduler",
	}
	roleUses := map[string]config.Uses{
		"api":       {API: true},
		"worker":    {Registrars: true, Deliveries: true},
		"scheduler": {},
	}
	loadedBy := map[string]bool{}
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

			// Secrets come as credentials, not in the environment (where
			// /proc/PID/environ, `systemctl show` and every child process
			// would see them).
			if ef := u["Service.EnvironmentFile"]; len(ef) > 0 {
				t.Errorf("EnvironmentFile=%s: hand secrets over with LoadCredential=, not in the environment", ef)
			}
			env := map[string]string{}
			for _, e := range u["Service.Environment"] {
				for _, kv := range strings.Fields(e) {
					k, v, _ := strings.Cut(strings.Trim(kv, `"`), "=")
					env[k] = spec(v)
				}
			}
			creds := systemdLoadCredentials(t, dir, u)
			for name := range creds {
				if _, ok := env[name]; ok {
					t.Errorf("Environment=%s=...: %s is a credential too, and the environment would win", name, name)
				}
			}
			// What systemd gives the service: $CREDENTIALS_DIRECTORY with
			// one file per LoadCredential= ID.
			credDir := t.TempDir()
			for name, src := range creds {
				data, err := os.ReadFile(src)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(credDir, name), data, 0o400); err != nil {
					t.Fatal(err)
				}
			}
			env["CREDENTIALS_DIRECTORY"] = credDir

			target := flagValue(cmd, "config")
			src, ok := systemdInstalled[target]
			if !ok {
				t.Fatalf("--config %q: not one of the files deploy/systemd provides", target)
			}
			// The unit's role resolves only the ${NAME}s of the parts it
			// uses (config.Uses, as `reglock ROLE` loads it): the unit must
			// load all of those, and nothing more.
			uses := roleUses[role]
			load := func(without string) (*config.Config, error) {
				if without != "" {
					// As if the unit had no LoadCredential= for it.
					hidden := filepath.Join(credDir, without)
					if err := os.Rename(hidden, hidden+".hidden"); err != nil {
						t.Fatal(err)
					}
					defer os.Rename(hidden+".hidden", hidden)
				}
				return config.LoadFor(filepath.Join(dir, src), config.WithCredentials(func(k string) (string, bool) {
					v, ok := env[k]
					return v, ok
				}), uses)
			}
			cfg, err := load("")
			if err != nil {
				t.Fatalf("deploy/systemd/%s as reglock %s loads it, with the unit's environment and credentials:\n%v", src, role, err)
			}
			for name := range creds {
				loadedBy[name] = true
				if _, err := load(name); err == nil {
					t.Errorf("LoadCredential=%s: reglock %s does not need it (the config loads without it): hand a process only its own secrets", name, role)
				}
			}
			listen := cfg.Worker.Listen
			if v := flagValue(cmd, "listen"); v != "" {
				listen = spec(v)
			}
			if role == "worker" {
				if _, port := hostPort(t, "--listen", listen); strconv.Itoa(port) != instance {
					t.Errorf("listen %s: want the instance's port %s, so that workers can share a host", listen, instance)
				}
			}
			if role == "scheduler" && listen == "" {
				t.Errorf("no --listen and worker.listen is empty: the scheduler serves no /healthz, /readyz, /metrics")
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
	// Every example credential is there for a unit that loads it.
	examples, err := os.ReadDir(filepath.Join(dir, systemdCredentialsExample))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range examples {
		if !loadedBy[e.Name()] {
			t.Errorf("deploy/systemd/%s/%s: no unit loads it (LoadCredential=%s:%s%s)",
				systemdCredentialsExample, e.Name(), e.Name(), systemdCredentials, e.Name())
		}
	}
}

// The example credentials are fake and say so, like the Kubernetes example
// Secret.
func TestSystemd_exampleCredentialsAreFake(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "deploy", "systemd", systemdCredentialsExample)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatalf("deploy/systemd/%s is empty", systemdCredentialsExample)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "fake") {
			t.Errorf("deploy/systemd/%s/%s: %q does not look fake: example values must say so", systemdCredentialsExample, e.Name(), data)
		}
	}
}

// systemd-analyze verify, where it is installed, accepts the units (unknown
// or misspelled keys, bad values). It checks that ExecStart's binary exists,
// so the copies it verifies run /bin/true instead.
func TestSystemd_verify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	src := filepath.Join(repoRoot(t), "deploy", "systemd")
	tmp := t.TempDir()
	for file, instance := range map[string]string{
		"reglock-api.service":       "reglock-api.service",
		"reglock-scheduler.service": "reglock-scheduler.service",
		"reglock-worker@.service":   "reglock-worker@9091.service",
	} {
		data, err := os.ReadFile(filepath.Join(src, file))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(data), "ExecStart=/usr/local/bin/reglock ", "ExecStart=/bin/true ")
		if err := os.WriteFile(filepath.Join(tmp, file), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if instance != file {
			if err := os.Symlink(file, filepath.Join(tmp, instance)); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command(analyze, "verify", "--man=no", filepath.Join(tmp, instance))
		cmd.Dir = tmp
		out, err := cmd.CombinedOutput()
		if err != nil || len(bytes.TrimSpace(out)) > 0 {
			t.Errorf("systemd-analyze verify %s: %v\n%s", file, err, out)
		}
	}
}
