package console_test

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/device"

	"github.com/reglock/reglock/chromiumtest"
)

// The console in a real browser: sign in through the form, search for a
// domain by typing it, visit every page on a desktop and on a phone, sign
// out. A screenshot of each page goes to the test's temp dir (or to
// REGLOCK_SCREENSHOTS, to keep them).
func TestConsole_inChromium(t *testing.T) {
	browser := chromiumtest.Binary(t, "the console's browser test")
	b := setup(t)
	dir := t.TempDir()
	if d := os.Getenv("REGLOCK_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	t.Logf("screenshots in %s", dir)

	ctx := chromiumtest.Context(t, browser, 60*time.Second)

	shots := 0
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		shots++
		p := filepath.Join(dir, fmt.Sprintf("%02d-%s.png", shots, name))
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot %s", p)
	}
	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	location := func() string {
		t.Helper()
		loc, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(loc)
		return u.RequestURI()
	}
	contains := func(sel string, want ...string) {
		t.Helper()
		got := text(sel)
		for _, w := range want {
			if !strings.Contains(got, w) {
				t.Errorf("%s at %s: no %q in %q", sel, location(), w, got)
			}
		}
	}

	// Not signed in: the sign-in page.
	do("open the console", chromedp.Navigate(b.url+"/console"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc := location(); loc != "/console/login" {
		t.Fatalf("not signed in, the console opened %s", loc)
	}
	shot("login")
	do("a wrong token", chromedp.SendKeys(chromedp.CSS("#token"), "not-the-token"), chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS(".login .problem")))
	contains(".login .problem", "Token not accepted")

	// Sign in with the read-only token.
	do("sign in", chromedp.SendKeys(chromedp.CSS("#token"), readToken), chromedp.Submit(chromedp.CSS("#token")),
		chromedp.WaitVisible(chromedp.CSS("#compliance table")))
	contains("#compliance table", "enom-main", "opensrs", "all providers")
	contains("#recent-sweeps", b.sweepID)
	styled, err := chromedp.Run(ctx, chromedp.Evaluate[string](`getComputedStyle(document.querySelector("header")).display`))
	if err != nil || styled != "flex" {
		t.Errorf("the stylesheet is not applied (header display %q, %v): does the CSP allow it?", styled, err)
	}
	shot("overview")

	// Search for a domain by typing it: its page, status and history.
	do("search example.com", chromedp.SendKeys(chromedp.CSS("#search"), "example.com"), chromedp.Submit(chromedp.CSS("#search")),
		chromedp.WaitVisible(chromedp.CSS("#history table")))
	if loc := location(); loc != "/console/domains/example.com" {
		t.Fatalf("the search for example.com opened %s", loc)
	}
	contains("h1", "example.com")
	contains("#status", "locked", "customer asked", "ticket-42", "enom-main")
	contains("#history table", "intent")
	shot("domain")

	// A part of a name lists the matching domains.
	// The domain page has a table too: wait for the list's own filters
	// first, so the check below reads the new page, not the old one.
	do("search shop", chromedp.SendKeys(chromedp.CSS("#search"), "shop"), chromedp.Submit(chromedp.CSS("#search")),
		chromedp.WaitVisible(chromedp.CSS(`form.filters input[name="q"]`)), chromedp.WaitVisible(chromedp.CSS("main .table")))
	contains("main .table", "shopfront.net")
	shot("search")

	do("drift", chromedp.Click(chromedp.CSS(`nav a[href="/console/drift"]`)), chromedp.WaitVisible(chromedp.CSS("section.drift")))
	contains("main", "drifted.com", "enom-main", "Every domain is in sync")
	shot("drift")

	do("sweeps", chromedp.Click(chromedp.CSS(`nav a[href="/console/sweeps"]`)), chromedp.WaitVisible(chromedp.CSS(`select[name="state"]`)))
	contains("main .table", b.sweepID)
	shot("sweeps")

	do("a sweep", chromedp.Click(chromedp.CSS("main .table a")), chromedp.WaitVisible(chromedp.CSS("#report")))
	contains("h1", b.sweepID)
	contains("#report", "Download the report as CSV")
	shot("sweep")

	// On a phone: the pages fit its width (tables scroll inside their box).
	do("emulate a phone", chromedp.Emulate(device.IPhone13))
	for _, p := range []struct{ name, path, ready string }{
		{"phone-overview", "/console", "#compliance table"},
		{"phone-domain", "/console/domains/window.com", "#history"},
		{"phone-sweep", "/console/sweeps/" + url.PathEscape(b.sweepID), "#report"},
	} {
		do(p.name, chromedp.Navigate(b.url+p.path), chromedp.WaitVisible(chromedp.CSS(p.ready)))
		fits, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth <= window.innerWidth`))
		if err != nil || !fits {
			t.Errorf("%s is wider than the phone's screen (%v)", p.path, err)
		}
		shot(p.name)
	}
	contains("#status", "Progress")

	do("sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.CSS("#token")))
	contains(".notice", "Signed out")
	do("after signing out", chromedp.Navigate(b.url+"/console/drift"), chromedp.WaitVisible(chromedp.CSS("#token")))
	if loc := location(); !strings.HasPrefix(loc, "/console/login") {
		t.Fatalf("signed out, the console opened %s", loc)
	}
}
