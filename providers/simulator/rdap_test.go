package simulator

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/rdap"
)

type rdapBundle struct {
	sim    *Simulator
	acct   *Account
	url    string
	client *rdap.Client
	mu     sync.Mutex
	now    time.Time
}

func (b *rdapBundle) advance(d time.Duration) { b.mu.Lock(); b.now = b.now.Add(d); b.mu.Unlock() }

func setupRDAP(t *testing.T) *rdapBundle {
	t.Helper()
	b := &rdapBundle{now: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	b.sim = New(Options{Now: func() time.Time { b.mu.Lock(); defer b.mu.Unlock(); return b.now }})
	b.acct = b.sim.AddAccount(ENom, "resellid", "resellpw")
	srv := httptest.NewServer(b.sim.Handler())
	t.Cleanup(srv.Close)
	b.url = srv.URL
	c := config.DefaultRDAP()
	c.Enabled, c.Bootstrap, c.Rate = true, srv.URL+"/rdap/dns.json", 0
	b.client = rdap.New(c, rdap.Options{})
	return b
}

func (b *rdapBundle) lookup(t *testing.T, name string) rdap.Domain {
	t.Helper()
	d, err := b.client.Lookup(context.Background(), name)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", name, err)
	}
	return d
}

func TestSimulator_rdap_bootstrap(t *testing.T) {
	b := setupRDAP(t)
	resp, err := http.Get(b.url + "/rdap/dns.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct {
		Services [][][]string `json:"services"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		t.Fatal(err)
	}
	want := [][][]string{{{"com", "net", "org"}, {b.url + "/rdap/"}}}
	if !reflect.DeepEqual(f.Services, want) {
		t.Errorf("services %q, want %q", f.Services, want)
	}
}

// The registrar's state, as RDAP shows it, through the rdap client.
func TestSimulator_rdap_statuses(t *testing.T) {
	b := setupRDAP(t)
	b.acct.AddDomain("open.com", false)
	b.acct.AddDomain("locked.net", true)
	b.acct.AddDomain("both.org", true)
	if _, err := b.sim.SetRegistryLock("both.org", true); err != nil {
		t.Fatal(err)
	}
	b.acct.AddDomain("leaving.com", false)
	if _, err := b.sim.StartTransferAway("leaving.com"); err != nil {
		t.Fatal(err)
	}
	ee := b.sim.AddAccount(EE, "ee", "pw")
	ee.AddDomain("example.ee", true)

	for name, want := range map[string][]string{
		"open.com":    {"active"},
		"locked.net":  {"client transfer prohibited"},
		"both.org":    {"client transfer prohibited", "server transfer prohibited", "server update prohibited", "server delete prohibited"},
		"leaving.com": {"pending transfer"},
	} {
		d := b.lookup(t, name)
		if !reflect.DeepEqual(d.Statuses, want) || d.Name != name {
			t.Errorf("%s: %q (%s), want %q", name, d.Statuses, d.Name, want)
		}
		if want := b.now; !d.DatabaseUpdated.Equal(want) || !d.Registered.Equal(want) {
			t.Errorf("%s: updated %s registered %s, want %s", name, d.DatabaseUpdated, d.Registered, want)
		}
	}
	ctx := context.Background()
	if _, err := b.client.Lookup(ctx, "nowhere.com"); !errors.Is(err, rdap.ErrNotFound) {
		t.Errorf("unknown domain: %v", err)
	}
	if _, err := b.client.Lookup(ctx, "example.ee"); !errors.Is(err, rdap.ErrNoService) {
		t.Errorf(".ee: %v", err)
	}
	// .ee is not served even when asked directly.
	if resp, err := http.Get(b.url + "/rdap/domain/example.ee"); err != nil || resp.StatusCode != 404 {
		t.Errorf(".ee asked directly: %v %v", resp.StatusCode, err)
	}
	if got := b.sim.Stats().Calls[RDAP]; got["domain"] != 6 || got["bootstrap"] != 1 {
		t.Errorf("RDAP calls counted: %v", got)
	}
}

func TestSimulator_rdap_disagree(t *testing.T) {
	b := setupRDAP(t)
	b.acct.AddDomain("locked.com", true)
	b.sim.SetRDAPDisagree("locked.com", true)
	if d := b.lookup(t, "locked.com"); d.TransferProhibited {
		t.Errorf("disagreeing: %q", d.Statuses)
	}
	status, _ := adminJSONCall(t, "PUT", b.url+"/_sim/domains/locked.com/rdap-disagree", `{"disagree": false}`)
	if d := b.lookup(t, "locked.com"); status != 200 || !d.ClientTransferProhibited() {
		t.Errorf("agreeing again: %d %q", status, d.Statuses)
	}
}

// With a lag, RDAP shows a change only once it is lag old, and dates its
// database lag ago; a change through a protocol is dated when it is made.
func TestSimulator_rdap_lag(t *testing.T) {
	b := setupRDAP(t)
	b.acct.AddDomain("lag.com", false)
	status, out := adminJSONCall(t, "PUT", b.url+"/_sim/rdap", `{"lag": "5m"}`)
	if status != 200 || out["lag"] != "5m0s" {
		t.Fatalf("%d %v", status, out)
	}
	b.advance(time.Minute)
	b.sim.SetLocked("lag.com", true) // drift, through the switch
	if d := b.lookup(t, "lag.com"); d.TransferProhibited || !d.DatabaseUpdated.Equal(b.now.Add(-5*time.Minute)) {
		t.Errorf("at once: %q, updated %s", d.Statuses, d.DatabaseUpdated)
	}
	b.advance(4 * time.Minute)
	if d := b.lookup(t, "lag.com"); d.TransferProhibited {
		t.Errorf("4m later: %q", d.Statuses)
	}
	b.advance(time.Minute)
	if d := b.lookup(t, "lag.com"); !d.TransferProhibited {
		t.Errorf("5m later: %q", d.Statuses)
	}

	// Through eNom's protocol.
	eb := &enomBundle{sim: b.sim, acct: b.acct, url: b.url + "/enom/interface.asp"}
	if errs := enomErrs(t, eb.get(t, "command=SetRegLock&uid=resellid&pw=resellpw&sld=lag&tld=com&UnlockRegistrar=1&ResponseType=XML")); len(errs) != 0 {
		t.Fatal(errs)
	}
	if locked, _ := b.sim.Locked("lag.com"); locked {
		t.Fatal("eNom did not unlock")
	}
	b.advance(4*time.Minute + 59*time.Second)
	if d := b.lookup(t, "lag.com"); !d.TransferProhibited {
		t.Errorf("unlock shown before 5m: %q", d.Statuses)
	}
	b.advance(time.Second)
	if d := b.lookup(t, "lag.com"); d.TransferProhibited {
		t.Errorf("unlock not shown after 5m: %q", d.Statuses)
	}

	b.sim.SetRDAPLag(0)
	b.sim.SetLocked("lag.com", true)
	if d := b.lookup(t, "lag.com"); !d.TransferProhibited || !d.DatabaseUpdated.Equal(b.now) {
		t.Errorf("without lag: %q %s", d.Statuses, d.DatabaseUpdated)
	}
}

func TestSimulator_rdap_rateLimit(t *testing.T) {
	b := setupRDAP(t)
	b.acct.AddDomain("busy.com", true)
	b.lookup(t, "busy.com") // the bootstrap file is fetched before the limit
	if status, _ := adminJSONCall(t, "PUT", b.url+"/_sim/rdap", `{"rate_limit_next": 2}`); status != 200 {
		t.Fatal(status)
	}
	ctx := context.Background()
	for i := range 2 {
		_, err := b.client.Lookup(ctx, "busy.com")
		var ra *providers.RetryAfterError
		if !errors.As(err, &ra) || ra.After != time.Second || providers.Judge(ctx, err).Task != providers.RetryLater {
			t.Fatalf("request %d: %v, want retry after 1s", i, err)
		}
	}
	b.lookup(t, "busy.com")
	if status, _ := adminJSONCall(t, "PUT", b.url+"/_sim/rdap", `{"lag": "-1s"}`); status != 400 {
		t.Errorf("negative lag: %d", status)
	}
}
