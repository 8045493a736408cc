package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
)

// The transfer-out drill, end to end on a running service:
//   - a domain unlocked with --for-transfer that leaves the account is a
//     transfer done: recorded, notified, forgotten, and not checked again;
//   - a transfer away pending for a domain meant to be locked (someone
//     unlocked it behind reglock's back and started a transfer) is a
//     critical event, notified within a minute of the reading that sees it.
func TestE2E_transferOut(t *testing.T) {
	t.Parallel()
	hook := newWebhook(t)
	e, _, _ := newE2EFour(t, 50, 2, hook.config("transfer_pending, transferred"))
	e.start("serve")
	e.eventually("the API", 15*time.Second, e.apiUp)
	viaAPI := []string{"--api", "http://" + e.api, "--token", e.token}
	cli := func(args ...string) string {
		t.Helper()
		out, err := e.run(args...)
		if err != nil {
			t.Fatalf("reglock %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	for _, d := range []string{"rate00.com", "rate00.net"} {
		cli(append([]string{"lock", d}, viaAPI...)...)
		e.eventually(d+" locked", 15*time.Second, func() bool { return e.inSync(d, true) })
	}

	// An unlock for a transfer; the transfer completes at the registry.
	cli(append([]string{"unlock", "rate00.com", "--for-transfer", "--reason", "customer moves to another registrar"}, viaAPI...)...)
	e.eventually("rate00.com unlocked", 15*time.Second, func() bool { return e.inSync("rate00.com", false) })
	var d client.Domain
	if err := json.Unmarshal([]byte(cli("status", "rate00.com", "--json")), &d); err != nil {
		t.Fatal(err)
	}
	if !d.Desired.ForTransfer || d.Relock == nil || d.Relock.At.Before(time.Now().Add(13*24*time.Hour)) {
		t.Fatalf("an unlock for a transfer: desired %+v relock %+v (want a 14-day window)", d.Desired, d.Relock)
	}
	if _, err := e.sim.TransferAway("rate00.com"); err != nil {
		t.Fatal(err)
	}
	// The next reading (a sweep here) finds it gone: success, not an error.
	out := cli("sweep")
	id := strings.Fields(out)[1]
	e.eventually("sweep "+id, 30*time.Second, func() bool { return e.sweepStateOf(id) == "done" })
	e.eventually("rate00.com forgotten", 15*time.Second, func() bool {
		_, err := e.domain("rate00.com")
		return isAPIError(err, 404, "not_found")
	})
	var h client.History
	if err := json.Unmarshal([]byte(cli("history", "rate00.com", "--format", "json")), &h); err != nil {
		t.Fatal(err)
	}
	if len(h.Events) < 3 || h.Events[0].Kind != "forgotten" || h.Events[1].Kind != "transferred" {
		t.Fatalf("history after the transfer: %+v", h.Events)
	}
	reads := e.sim.Reads("rate00.com")
	out = cli("sweep")
	id = strings.Fields(out)[1]
	e.eventually("sweep "+id, 30*time.Second, func() bool { return e.sweepStateOf(id) == "done" })
	if n := e.sim.Reads("rate00.com"); n != reads {
		t.Errorf("a transferred domain was read again (%d reads, was %d)", n, reads)
	}

	// A transfer away of a domain meant to be locked: unlocked behind
	// reglock's back, and a transfer started at once.
	e.sim.SetLocked("rate00.net", false)
	if _, err := e.sim.StartTransferAway("rate00.net"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out = cli("sweep")
	id = strings.Fields(out)[1]
	e.eventually("the transfer-out alarm", time.Minute, func() bool {
		got := hook.Heard("transfer_pending rate00.net")
		return len(got) == 1 && strings.Contains(got[0].Summary, "CRITICAL")
	})
	t.Logf("transfer-out alarm %v after the sweep started", time.Since(start).Round(10*time.Millisecond))
	if got := hook.Heard("transferred rate00.com"); len(got) != 1 || !strings.Contains(got[0].Summary, "forgotten") {
		t.Errorf("transferred notifications for rate00.com: %+v", got)
	}
	if err := json.Unmarshal([]byte(cli("history", "rate00.net", "--format", "json")), &h); err != nil {
		t.Fatal(err)
	}
	if h.Events[0].Kind != "transfer_pending" {
		t.Fatalf("history of rate00.net: %+v", h.Events)
	}
	e.eventually("sweep "+id, 30*time.Second, func() bool { st := e.sweepStateOf(id); return st != "" && st != "running" })
	var c client.Compliance
	if err := json.Unmarshal([]byte(cli("compliance", "--format", "json")), &c); err != nil {
		t.Fatal(err)
	}
	pending := int64(0)
	for _, p := range c.Providers {
		pending += p.TransferPending
	}
	if pending != 1 {
		t.Fatalf("compliance shows %d pending transfers: %+v", pending, c.Providers)
	}
	// Only an unlock can be for a transfer.
	if out, err := e.run("lock", "rate00.net", "--for-transfer"); err == nil || !strings.Contains(out, "unknown flag") {
		t.Fatalf("lock --for-transfer: %v\n%s", err, out)
	}
}
