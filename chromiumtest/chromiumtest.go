// Package chromiumtest finds the Chromium that the browser tests drive.
package chromiumtest

import (
	"os"
	"os/exec"
	"testing"
)

// Binary returns the browser for a test: $REGLOCK_CHROMIUM, or a Chromium
// or Chrome on the PATH. Without one the test fails (it is never skipped):
// make test runs the tests through scripts/with-chromium.sh, which installs
// Debian's chromium. what names the test in the message.
func Binary(t testing.TB, what string) string {
	t.Helper()
	if p := os.Getenv("REGLOCK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal(what + " needs Chromium: run the tests through scripts/with-chromium.sh " +
		"(make test does; it installs Debian's chromium), or set REGLOCK_CHROMIUM to a Chromium or Chrome binary")
	return ""
}
