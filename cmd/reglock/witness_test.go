package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/client"
)

// The second witness, end to end against the simulator's RDAP:
//   - agreement: nothing happens;
//   - disagreement (the registrar says locked, the registry says not): the
//     domain's history records it, a notification goes out, the registrar
//     is read again, and nothing is written on the registry's word;
//   - a lagging registry: a change reglock made after the registry's last
//     update is no disagreement;
//   - 429s: the sweep goes on without the witness for those domains;
//   - a TLD with no RDAP: no witness, no error;
//   - the registration date it gives starts the policy window: an unlock
//     inside it is refused with its end.
func TestE2E_registryWitness(t *testing.T) {
	t.Parallel()
	hook := newWebhook(t)
	e := newE2E(t, hook.config("registry_disagrees")+`rdap:
  enabled: true
  bootstrap: {{SIM}}/rdap/dns.json
  servers:
    net: ""
  rate: 100
  burst: 10
  freshness: 15m
`)
	for i := range 6 {
		e.enom.AddDomain(fmt.Sprintf("owned%02d.com", i), true)
	}
	e.enom.AddDomain("noregistry.net", true)
	if out, err := e.run("import", "--provider", "enom-main", "--adopt"); err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	e.start("serve")
	e.eventually("the API", 15*time.Second, e.apiUp)
	cli := func(args ...string) string {
		t.Helper()
		out, err := e.run(args...)
		if err != nil {
			t.Fatalf("reglock %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	sweep := func() {
		t.Helper()
		id := strings.Fields(cli("sweep"))[1]
		e.eventually("sweep "+id, 30*time.Second, func() bool { return e.sweepStateOf(id) == "done" })
	}
	kinds := func(domain string) string {
		t.Helper()
		var h client.History
		if err := json.Unmarshal([]byte(cli("history", domain, "--format", "json")), &h); err != nil {
			t.Fatal(err)
		}
		var k []string
		for _, ev := range h.Events {
			k = append(k, ev.Kind)
		}
		return strings.Join(k, " ")
	}
	// A change reglock makes while the registry lags two minutes: the
	// registry still shows the old lock, but its answer predates the change.
	e.sim.SetRDAPLag(2 * time.Minute)
	cli("unlock", "owned02.com", "--reason", "lagging registry")
	e.eventually("owned02.com unlocked", 15*time.Second, func() bool { return e.inSync("owned02.com", false) })
	time.Sleep(1100 * time.Millisecond) // the registry's dates have a second's precision
	sweep()
	for _, d := range []string{"owned00.com", "owned02.com", "noregistry.net"} {
		if k := kinds(d); strings.Contains(k, "registry_disagrees") {
			t.Errorf("%s: a disagreement from an agreeing, lagging or absent registry: %s", d, k)
		}
	}

	// The registry disagrees about a locked domain.
	e.sim.SetRDAPLag(0)
	e.sim.SetRDAPDisagree("owned01.com", true)
	reads, writes := e.sim.Reads("owned01.com"), e.sim.Writes("owned01.com")
	sweep()
	if k := kinds("owned01.com"); !strings.HasPrefix(k, "registry_disagrees") {
		t.Fatalf("history of owned01.com: %s", k)
	}
	e.eventually("the registrar read again", 15*time.Second, func() bool { return e.sim.Reads("owned01.com") > reads })
	e.eventually("the notification", 15*time.Second, func() bool { return len(hook.Heard("registry_disagrees owned01.com")) == 1 })
	time.Sleep(time.Second)
	if w := e.sim.Writes("owned01.com"); w != writes {
		t.Errorf("owned01.com written %d times on the registry's word", w-writes)
	}
	if !e.inSync("owned01.com", true) {
		t.Error("owned01.com is no longer locked and in sync")
	}

	// The registry answers 429 to the next requests: the sweep goes on
	// without the witness for those domains.
	e.sim.SetRDAPRateLimit(3)
	sweep()

	// The registry's figures are exported.
	resp, err := http.Get("http://" + e.api + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`reglock_rdap_lookups_total{result="ok"}`, `reglock_rdap_lookups_total{result="no_service"}`,
		`reglock_rdap_lookups_total{result="error"}`, `reglock_registry_disagreements_total{provider="enom-main"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// The registration date the registry gave opens the 60-day window of
	// the default policy: an unlock inside it is refused, naming its end.
	out, err := e.run("unlock", "owned03.com", "--api", "http://"+e.api, "--token", e.token)
	if err == nil || !strings.Contains(out, "locked_by_policy") || !strings.Contains(out, time.Now().AddDate(0, 0, 60).Format("2006-01-02")) {
		t.Fatalf("unlock inside the post-registration window: %v\n%s", err, out)
	}
}
