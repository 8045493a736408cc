package main

import (
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/redistest"
)

// --locked-share holds at every size and in every account: it used to
// compare i%1000 with share*1000, so fewer than 1,000 domains (the default
// is 100) all started locked and a default `simulate` had no drift.
func TestSimulate_lockedShare(t *testing.T) {
	cases := []struct {
		domains    int
		registrars []string
		share      float64
		wantLocked int
	}{
		{100, []string{"enom", "opensrs", "whmcs", "ee"}, 0.9, 92}, // 25 each, round(22.5) = 23 locked
		{1000, []string{"enom", "opensrs", "whmcs", "ee"}, 0.9, 900},
		{40, []string{"enom", "opensrs", "whmcs", "ee"}, 0, 0},
		{40, []string{"enom", "opensrs", "whmcs", "ee"}, 1, 40},
		{10, []string{"enom"}, 0.9, 9},
		{7, []string{"opensrs"}, 0.5, 4},
		{3, []string{"whmcs", "ee"}, 0.1, 0},
		{2000, []string{"ee", "enom"}, 0.99, 1980},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d/%v/%v", c.domains, c.registrars, c.share), func(t *testing.T) {
			first := generatedLocks(t, c.domains, c.registrars, c.share)
			if again := generatedLocks(t, c.domains, c.registrars, c.share); !slices.Equal(first, again) {
				t.Fatal("the same flags generated different lock states")
			}
			perAccount := map[string][2]int{} // domains, locked
			total := 0
			for i, locked := range first {
				acct := fmt.Sprint(i % len(c.registrars))
				n := perAccount[acct]
				n[0]++
				if locked {
					n[1]++
					total++
				}
				perAccount[acct] = n
			}
			if total != c.wantLocked {
				t.Errorf("%d of %d locked, want %d", total, c.domains, c.wantLocked)
			}
			for acct, n := range perAccount {
				if want := int(math.Round(float64(n[0]) * c.share)); n[1] != want {
					t.Errorf("account %s: %d of %d locked, want %d", acct, n[1], n[0], want)
				}
			}
		})
	}
}

// generatedLocks runs simulate's domain generation and reads back each
// domain's lock from the simulator, in generation order.
func generatedLocks(t *testing.T, domains int, registrars []string, share float64) []bool {
	t.Helper()
	holders, err := simulateFlags{registrars: registrars}.accounts()
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.New(simulator.Options{})
	addSimDomains(addSimAccounts(sim, "simulator-secret-0123456789"), holders, domains, share)
	out := make([]bool, domains)
	for i := range domains {
		name, _ := simDomain(i, holders)
		info, ok := sim.Domain(name)
		if !ok {
			t.Fatalf("%s was not generated", name)
		}
		out[i] = info.Locked
	}
	return out
}

// The drifters: in each account the last of the domains --locked-share
// leaves unlocked, so that once they drift every account has exactly the
// unlocked share it was asked for, and never more.
func TestSimulate_drifters(t *testing.T) {
	holders, _ := simulateFlags{registrars: []string{"enom", "opensrs", "whmcs", "ee"}}.accounts()
	// The default: 100 domains, 0.9 locked, one drifter an account.
	d := simDrifters(100, holders, 0.9, 1)
	if len(d) != 4 {
		t.Fatalf("drifters in %d accounts, want 4: %v", len(d), d)
	}
	for a, names := range d {
		if len(names) != 1 || !strings.HasSuffix(names[0], "."+simAccounts[a].tld) {
			t.Errorf("account %s: %v", simAccounts[a].name, names)
		}
	}
	// Never more than the unlocked share; none when nothing is unlocked.
	if d := simDrifters(40, holders, 1, 3); len(d) != 0 {
		t.Errorf("all locked: drifters %v", d)
	}
	if d := simDrifters(40, holders, 0.9, 5); len(d[0]) != 1 { // 10 an account, 1 unlocked
		t.Errorf("more drifters than unlocked domains: %v", d)
	}
	if d := simDrifters(100, holders, 0.9, 0); len(d) != 0 {
		t.Errorf("--drift 0: %v", d)
	}

	// They drift after the account's first call, once, to the share asked for.
	sim := simulator.New(simulator.Options{})
	accts := addSimAccounts(sim, "simulator-secret-0123456789")
	addSimDomains(accts, holders, 100, 0.9)
	for _, names := range d {
		for _, n := range names {
			sim.SetLocked(n, true)
		}
	}
	srv := httptest.NewServer(sim.Handler())
	defer srv.Close()
	var mu sync.Mutex
	var drifted []string
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		runDrift(sim, accts, d, 50*time.Millisecond, 5*time.Millisecond, stop, func(name, account string) {
			mu.Lock()
			drifted = append(drifted, name)
			mu.Unlock()
		})
		close(done)
	}()
	time.Sleep(150 * time.Millisecond)
	mu.Lock()
	if len(drifted) != 0 {
		t.Errorf("drifted before reglock called: %v", drifted)
	}
	mu.Unlock()
	// reglock calls the eNom account (a lock read of any domain).
	resp, err := http.Get(srv.URL + "/enom/interface.asp?command=GetRegLock&uid=reglock&pw=simulator-secret-0123456789&sld=sim0000000&tld=com&responsetype=xml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	enomDrifter := d[0][0]
	if l, _ := sim.Locked(enomDrifter); !l {
		t.Fatalf("%s unlocked at once", enomDrifter)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l, _ := sim.Locked(enomDrifter); !l {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not drift after eNom's first call", enomDrifter)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	if len(drifted) != 1 || drifted[0] != enomDrifter {
		t.Errorf("drifted %v, want only %s (the other accounts had no call)", drifted, enomDrifter)
	}
	mu.Unlock()
	close(stop)
	<-done
	// eNom's 25 domains: round(25 * 0.1) unlocked, as --locked-share says.
	unlocked := 0
	for i := 0; i < 100; i += 4 {
		name, _ := simDomain(i, holders)
		if l, _ := sim.Locked(name); !l {
			unlocked++
		}
	}
	if want := 25 - int(math.Round(25*0.9)); unlocked != want {
		t.Errorf("eNom has %d unlocked after the drift, want %d", unlocked, want)
	}
}

// A default `reglock simulate` has drift for a first sweep to find: after
// an import that adopts every lock as it is (so no drift at first), one
// domain an account is unlocked behind reglock's back, and a sweep finds
// and fixes it.
func TestSimulate_driftAfterAnAdoptingImport(t *testing.T) {
	t.Parallel()
	env := redistest.New(t)
	simAddr := "127.0.0.1:" + freePort(t)
	simOut, providersYAML := startSimulate(t, "--listen", simAddr, "--domains", "40", "--drift-after", "1s")
	if !strings.Contains(simOut.String(), "# reglock simulate: 40 domains.") {
		t.Errorf("simulate's header:\n%s", simOut.String())
	}
	e := &e2e{t: t, env: env, api: "127.0.0.1:" + freePort(t), token: "e2e-token-0123456789abcdef", config: filepath.Join(t.TempDir(), "reglock.yaml")}
	cfg := fmt.Sprintf("redis:\n  url: redis://%s/0\napi:\n  listen: %s\n  tokens:\n    - name: billing\n      token: ${E2E_TOKEN}\nworker:\n  concurrency: 8\n  shutdown_timeout: 3s\nscheduler:\n  sweep: \"\"\n  confirm_delay: 200ms\n%s",
		redistest.Addr(), e.api, providersYAML)
	if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"sim-enom", "sim-opensrs", "sim-whmcs", "sim-ee"} {
		if out, err := e.run("import", "--provider", p, "--adopt"); err != nil || !strings.Contains(out, "10 added") {
			t.Fatalf("import %s: %v\n%s", p, err, out)
		}
	}
	if out, err := e.run("drift", "--format", "csv"); err != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("drift right after an adopting import: %v\n%s", err, out)
	}
	e.start("worker")
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(simOut.String(), "unlocked behind reglock's back; the next sweep finds it") != 4 {
		if time.Now().After(deadline) {
			t.Fatalf("no drift:\n%s", simOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, err := e.run("sweep", "--wait")
	if err != nil || !strings.Contains(out, "done: checked 40, drifted 4, errors 0, fixes queued 4") || !strings.Contains(out, "drift found: 4 domains (4 fixed)") {
		t.Fatalf("sweep --wait: %v\n%s\nsimulator:\n%s", err, out, simOut.String())
	}
	if out, err := e.run("drift", "--format", "table"); err != nil || !strings.Contains(out, "0 domains out of sync") {
		t.Fatalf("drift after the fixes: %v\n%s", err, out)
	}
}
