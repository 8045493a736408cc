package main

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A registrar's life, end to end, at each of the four registrars, through
// the API and a running service with breakers:
//   - a domain registered a second before its lock request converges within
//     seconds (the most common producer flow: register, then lock), however
//     old the adapter's listings and ID caches are;
//   - a domain transferred away is reported as gone: a clear error on its
//     record, its task archived after one attempt, a handful of calls (no
//     retry storm), and the account's breaker closed (other domains go on);
//   - a domain transferred in (with a new registrar ID) is found again.
func TestE2E_registrarLife(t *testing.T) {
	t.Parallel()
	e, accts, names := newE2EFour(t, 50, 4, "")
	e.start("serve")
	e.eventually("the API", 15*time.Second, e.apiUp)
	// Warm every adapter's caches (listings, IDs, sessions) before the
	// registrations, so that they are older than the new domains.
	for i, d := range names {
		e.lock(d)
		e.eventually(d+" to converge", 20*time.Second, func() bool { return e.inSync(d, true) })
		_ = i
	}
	for i, a := range accts {
		fresh := fmt.Sprintf("registered.%s", simAccounts[i].tld)
		if _, err := a.Register(fresh, false); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		start := time.Now()
		e.lock(fresh)
		e.eventually(fresh+", registered a second before its lock, to converge", 10*time.Second, func() bool { return e.inSync(fresh, true) })
		t.Logf("%s: registered 1 s before its lock request, converged %v after it", fresh, time.Since(start).Round(10*time.Millisecond))
	}
	for i := range accts {
		gone := fmt.Sprintf("registered.%s", simAccounts[i].tld)
		e.unlock(gone)
		e.eventually(gone+" to be unlocked", 10*time.Second, func() bool { return e.inSync(gone, false) })
		if _, err := e.sim.TransferAway(gone); err != nil {
			t.Fatal(err)
		}
		before := e.sim.Stats().Calls
		e.lock(gone) // after its transfer away
		var errText string
		e.eventually(gone+"'s error to be on its record", 10*time.Second, func() bool {
			d, err := e.domain(gone)
			if err != nil || d.Observed.Error == nil {
				return false
			}
			errText = *d.Observed.Error
			return errText != ""
		})
		if !strings.Contains(errText, "not found") || !strings.Contains(errText, gone) {
			t.Errorf("%s transferred away: error %q, want a not-found error naming the domain", gone, errText)
		}
		time.Sleep(2 * time.Second) // room for a retry storm, if there were one
		after := e.sim.Stats().Calls
		kind := simAccounts[i].kind
		var calls int64
		for op, n := range after[kind] {
			calls += n - before[kind][op]
		}
		if calls > 4 {
			t.Errorf("%s transferred away: %d calls to its registrar in 2 s, want a handful (no retry storm)", gone, calls)
		}
		// Another domain of the account goes on: no breaker opened.
		other := fmt.Sprintf("rate01.%s", simAccounts[i].tld)
		e.unlock(other)
		e.eventually(other+", beside a domain transferred away, to converge", 10*time.Second, func() bool { return e.inSync(other, false) })
	}
	code, ready := e.http("GET", "/readyz")
	if code != 200 {
		t.Fatalf("/readyz %d %v", code, ready)
	}
	registrars, _ := ready["registrars"].(map[string]any)
	for name, b := range registrars {
		if st, _ := b.(map[string]any)["state"].(string); st != "closed" {
			t.Errorf("breaker of %s is %q after a domain was transferred away: %v", name, st, b)
		}
	}
	for i, a := range accts {
		back := fmt.Sprintf("registered.%s", simAccounts[i].tld)
		if _, err := a.TransferIn(back, false); err != nil {
			t.Fatal(err)
		}
		e.lock(back) // after its transfer in
		e.eventually(back+", transferred in under a new ID, to converge", 15*time.Second, func() bool { return e.inSync(back, true) })
	}
}
