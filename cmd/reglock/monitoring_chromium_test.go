package main

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/reglock/reglock/chromiumtest"
)

// /monitoring in a real Chromium: the browser reads reglock's 401, asks
// for credentials (the test answers as a person at the dialog would, any
// user name and the token as password, through the DevTools Fetch domain),
// and shows asynqmon's dashboard with reglock's queues. Chromium does not
// split one WWW-Authenticate header listing Bearer and Basic: with it, no
// credentials were asked for and the browser showed the JSON 401.
func TestE2E_monitoringInChromium(t *testing.T) {
	t.Parallel()
	browser := chromiumtest.Binary(t, "the /monitoring browser test")
	e := newE2E(t)
	e.enom.AddDomain("watched.com", false)
	e.start("serve")
	e.eventually("the API", 10*time.Second, func() bool { c, _ := e.http("GET", "/healthz"); return c == 200 })
	e.lock("watched.com")
	e.eventually("the lock", 15*time.Second, func() bool { return e.inSync("watched.com", true) })
	base := "http://" + e.api

	// Without credentials: 401 with one challenge per header.
	resp, err := http.Get(base + "/monitoring/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	challenges := resp.Header.Values("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || len(challenges) != 2 ||
		!slices.ContainsFunc(challenges, func(c string) bool { return strings.HasPrefix(c, "Basic ") && !strings.Contains(c, "Bearer") }) ||
		!slices.ContainsFunc(challenges, func(c string) bool { return strings.HasPrefix(c, "Bearer ") && !strings.Contains(c, "Basic") }) {
		t.Errorf("anonymous /monitoring/: %d, WWW-Authenticate %q; want 401 with a Bearer and a Basic challenge in separate headers", resp.StatusCode, challenges)
	}

	ctx := chromiumtest.Context(t, browser, 90*time.Second)

	// The browser's own challenge handling, answered as at its dialog.
	// Requests to other hosts (asynqmon's web fonts) fail at once: the test
	// needs no network.
	var mu sync.Mutex
	var asked []*fetch.AuthChallenge
	var wrong []string
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	authRequired := chromedp.Events(ctx, fetch.AuthRequired)
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			u, _ := url.Parse(ev.Request.URL)
			if u == nil || u.Host != e.api {
				_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient})
				continue
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID})
		}
	}()
	go func() {
		for ev, err := range authRequired {
			if err != nil {
				return
			}
			mu.Lock()
			asked = append(asked, ev.AuthChallenge)
			mu.Unlock()
			answer := &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseProvideCredentials, Username: "operator", Password: e.token}
			if !strings.EqualFold(ev.AuthChallenge.Scheme, "basic") {
				mu.Lock()
				wrong = append(wrong, ev.AuthChallenge.Scheme)
				mu.Unlock()
				answer = &fetch.AuthChallengeResponse{Response: fetch.AuthChallengeResponseResponseCancelAuth}
			}
			_, _ = chromedp.Call(ctx, fetch.ContinueWithAuth, fetch.ContinueWithAuthParams{RequestID: ev.RequestID, AuthChallengeResponse: answer})
		}
	}()
	handle := true
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{HandleAuthRequests: &handle}); err != nil {
		t.Fatalf("Fetch.enable: %v", err)
	}

	queue := e.env.Namespace + ":reglock:changes"
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/monitoring/")); err != nil {
		t.Fatalf("open /monitoring/: %v", err)
	}
	// asynqmon's dashboard, rendered by its scripts from its API (behind
	// the same credentials): reglock's queues are listed.
	var page string
	deadline := time.Now().Add(30 * time.Second)
	for {
		page, err = chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		if err == nil && strings.Contains(page, queue) {
			break
		}
		if time.Now().After(deadline) {
			mu.Lock()
			n := len(asked)
			mu.Unlock()
			t.Fatalf("no asynqmon dashboard listing %s after 30s (%d credential prompts; page: %q, %v)", queue, n, page, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	title, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.title`))
	if err != nil || !strings.Contains(title, "Asynq") {
		t.Errorf("page title %q (%v), want asynqmon's", title, err)
	}
	for _, want := range []string{"Queues", queue} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q: %q", want, page)
		}
	}
	if strings.Contains(page, "unauthorized") {
		t.Errorf("the dashboard shows the 401: %q", page)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asked) == 0 {
		t.Error("Chromium never asked for credentials: it did not take the 401's challenge")
	}
	for _, c := range asked {
		if !strings.EqualFold(c.Scheme, "basic") || c.Realm != "reglock" || c.Origin != base {
			t.Errorf("challenge %+v, want basic realm reglock of %s", c, base)
		}
	}
	if len(wrong) > 0 {
		t.Errorf("Chromium chose the schemes %v, not basic", wrong)
	}
	t.Logf("%d credential prompt(s); dashboard: %.200q", len(asked), page)
}
