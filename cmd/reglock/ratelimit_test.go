package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/redistest"
)

// Every path that calls a registrar keeps to the account's rate limit,
// whoever calls and whatever for: an import (a listing, then reads), a
// customer's changes through the API, a sweep (per-domain reads, bulk reads
// and confirmations), all at once, from fresh processes whose caches of
// registrar IDs and sessions are cold (so lookups and logins are paid
// too). The simulator counts each account's busiest sliding second.
// newE2EFour is an end-to-end world with the four simulated registrars
// (simAccounts), each at rate calls a second (burst 1), and per domains in
// each account (every other one locked).
func newE2EFour(t *testing.T, rate, per int, extra string) (*e2e, []*simulator.Account, []string) {
	t.Helper()
	const cred = "e2e-four-credential-0123456789"
	env := redistest.New(t)
	sim := simulator.New(simulator.Options{})
	accts := addSimAccounts(sim, cred)
	hs := httptest.NewServer(sim.Handler())
	t.Cleanup(hs.Close)
	var names []string
	for i, a := range accts {
		for j := range per {
			d := fmt.Sprintf("rate%02d.%s", j, simAccounts[i].tld)
			a.AddDomain(d, j%2 == 0)
			names = append(names, d)
		}
	}
	var providers strings.Builder
	for _, p := range simProviders(hs.URL, cred, "") {
		fmt.Fprintf(&providers, "  - name: %s\n    type: %s\n    endpoint: %s\n    tlds: [%s]\n    rate: %d\n    burst: 1\n",
			p.Name, p.Type, p.Endpoint, p.TLDs[0], rate)
		for _, kv := range [][2]string{{"username", p.Username}, {"password", p.Password.Reveal()}, {"key", p.Key.Reveal()},
			{"identifier", p.Identifier.Reveal()}, {"secret", p.Secret.Reveal()}, {"token", p.Token.Reveal()}, {"api", p.API}} {
			if kv[1] != "" {
				fmt.Fprintf(&providers, "    %s: %q\n", kv[0], kv[1])
			}
		}
	}
	api := "127.0.0.1:" + freePort(t)
	e := &e2e{t: t, env: env, sim: sim, api: api, token: "e2e-token-0123456789abcdef",
		config: filepath.Join(t.TempDir(), "reglock.yaml")}
	cfg := fmt.Sprintf("redis:\n  url: redis://%s/0\napi:\n  listen: %s\n  tokens:\n    - name: billing\n      token: ${E2E_TOKEN}\n"+
		"worker:\n  concurrency: 8\n  shutdown_timeout: 3s\nscheduler:\n  sweep: \"\"\n  confirm_delay: 1s\n%sproviders:\n%s",
		redistest.Addr(), api, extra, providers.String())
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return e, accts, names
}

func TestE2E_busiestSecondWithinTheRateInEveryPath(t *testing.T) {
	t.Parallel()
	const (
		rate  = 5
		burst = 1
		per   = 16 // domains per account
	)
	e, accts, names := newE2EFour(t, rate, per, "")
	sim := e.sim

	// An import per account, cold.
	var wg sync.WaitGroup
	for _, a := range simAccounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out, err := e.run("import", "--provider", a.name, "--adopt"); err != nil {
				t.Errorf("import %s: %v\n%s", a.name, err, out)
			}
		}()
	}
	wg.Wait()
	// The service, cold; changes through the API and a sweep at once.
	e.start("serve")
	e.eventually("the API", 15*time.Second, e.apiUp)
	for _, d := range names {
		sim.SetLocked(d, false) // drift for the sweep to find and confirm
	}
	api := e.client()
	for i, d := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			what, lock := "lock", i%4 != 3
			var acc client.Accepted
			var err error
			if lock {
				acc, err = api.Lock(context.Background(), d, client.LockRequest{})
			} else {
				what = "unlock"
				acc, err = api.Unlock(context.Background(), d, client.UnlockRequest{})
			}
			if err != nil || acc.TaskID == "" || acc.Desired.Locked != lock {
				t.Errorf("%s %s: %+v %v", what, d, acc, err)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		// A sweep over domains whose changes are in flight: it reads them
		// (per domain, or in bulk) and counts them as changing, not drift.
		if out, err := e.run("sweep", "--wait"); err != nil {
			t.Logf("sweep: %v\n%s", err, out)
		}
	}()
	wg.Wait()
	for i, d := range names {
		e.eventually(d+" to converge", 90*time.Second, func() bool { return e.inSync(d, i%4 != 3) })
	}
	st := sim.Stats()
	for i, a := range simAccounts {
		key := string(a.kind) + "/" + accts[i].User()
		calls := int64(0)
		for _, n := range st.Calls[a.kind] {
			calls += n
		}
		if calls < per {
			t.Errorf("%s: only %d calls: the test did not exercise the account", key, calls)
		}
		if got := st.BusiestSecond[key]; got > rate+burst {
			t.Errorf("%s: %d calls in its busiest second, over the rate %d + burst %d", key, got, rate, burst)
		} else {
			t.Logf("%s: %d calls, busiest second %d (rate %d + burst %d)", key, calls, got, rate, burst)
		}
	}
}
