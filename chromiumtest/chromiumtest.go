// Package chromiumtest finds the Chromium that the browser tests drive.
package chromiumtest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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

// Context starts a headless browser (1280x900) for the test, ended when
// the test ends or after timeout.
func Context(t testing.TB, browser string, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	return bctx
}
