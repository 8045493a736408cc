package client_test

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// allowedDeps are the packages outside the standard library that package
// client may depend on, directly or not: a Go producer importing it pulls
// in nothing of the server (no Redis client, queue, metrics or logging).
var allowedDeps = map[string]bool{
	"github.com/reglock/reglock/client": true,
	"github.com/reglock/reglock/secret": true,
}

func TestClient_dependsOnlyOnTheStandardLibraryAndSecret(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		goCmd = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goCmd, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	var seen []string
	for _, p := range strings.Fields(string(out)) {
		seen = append(seen, p)
		if !allowedDeps[p] {
			t.Errorf("package client depends on %s: only the standard library and reglock/secret are allowed", p)
		}
	}
	if len(seen) == 0 {
		t.Fatal("go list -deps named no package: not even client itself")
	}
}
