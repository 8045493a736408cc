package main

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"testing"
)

func TestVersion_command(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"version"}, &out, &errOut); code != 0 {
		t.Fatalf("reglock version: exit %d: %s", code, errOut.String())
	}
	text := out.String()
	for _, want := range []string{"reglock ", "\n  revision:    ", "\n  go:          " + goruntime.Version() + "\n", "\n  platform:    " + goruntime.GOOS + "/" + goruntime.GOARCH + "\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("reglock version printed\n%s\nwithout %q", text, want)
		}
	}

	// --version on the root command prints the same.
	var flagOut bytes.Buffer
	if code := run([]string{"--version"}, &flagOut, &errOut); code != 0 {
		t.Fatalf("reglock --version: exit %d: %s", code, errOut.String())
	}
	if flagOut.String() != text {
		t.Errorf("reglock --version printed\n%s\nreglock version printed\n%s", flagOut.String(), text)
	}

	var jsonOut bytes.Buffer
	if code := run([]string{"version", "--json"}, &jsonOut, &errOut); code != 0 {
		t.Fatalf("reglock version --json: exit %d: %s", code, errOut.String())
	}
	var v struct {
		Version   string `json:"version"`
		Revision  string `json:"revision"`
		GoVersion string `json:"go_version"`
	}
	if err := json.Unmarshal(jsonOut.Bytes(), &v); err != nil {
		t.Fatalf("reglock version --json: %v\n%s", err, jsonOut.String())
	}
	if v.Version == "" || v.Revision == "" || v.GoVersion != goruntime.Version() {
		t.Errorf("reglock version --json: %+v, want a version, a revision and go_version %q", v, goruntime.Version())
	}

	if code := run([]string{"version", "extra"}, &out, &errOut); code == 0 {
		t.Errorf("reglock version extra: exit 0, want an error")
	}
}

// The link-time variables are the ones the build documentation names
// (-X main.version=... -X main.commit=... -X main.commitTime=...), and a
// binary built without VCS information reports them.
func TestVersion_ldflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary")
	}
	bin := filepath.Join(t.TempDir(), "reglock")
	ldflags := "-X main.version=v1.2.3-test -X main.commit=0123456789abcdef -X main.commitTime=2026-01-02T15:04:05Z"
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", ldflags, "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags %q: %v\n%s", ldflags, err, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("reglock %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		for _, want := range []string{"reglock v1.2.3-test\n", "revision:    0123456789abcdef\n", "commit time: 2026-01-02T15:04:05Z\n"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("reglock %s printed\n%s\nwithout %q", strings.Join(args, " "), out, want)
			}
		}
	}
}
