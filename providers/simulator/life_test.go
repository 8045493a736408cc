package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// lifeWorld is one simulator with an account at each registrar (the
// documents' credentials), served over HTTP: the life events are driven
// through /_sim and observed through the four protocols.
type lifeWorld struct {
	sim   *Simulator
	base  string
	enom  *enomBundle
	osrs  *osrsBundle
	whmcs *whmcsBundle
	ee    *eeBundle
}

func setupLife(t *testing.T, opts Options) *lifeWorld {
	t.Helper()
	sim := New(opts)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &lifeWorld{
		sim:   sim,
		base:  srv.URL,
		enom:  &enomBundle{sim, sim.AddAccount(ENom, "resellid", "resellpw"), srv.URL + "/enom/interface.asp"},
		osrs:  &osrsBundle{sim, sim.AddAccount(OpenSRS, osrsUser, osrsKey), srv.URL + "/opensrs/"},
		whmcs: &whmcsBundle{sim, sim.AddAccount(WHMCS, whmcsIdentifier, whmcsSecret), srv.URL + "/whmcs/includes/api.php"},
		ee:    &eeBundle{sim, sim.AddAccount(EE, eeUser, eeToken), srv.URL + "/ee"},
	}
}

// lifeAccounts are the world's accounts, each with the name its tests use
// and one it never holds.
var lifeAccounts = []struct {
	kind        Kind
	user        string
	name, never string
}{
	{ENom, "resellid", "life.com", "never.com"},
	{OpenSRS, osrsUser, "life.net", "never.net"},
	{WHMCS, whmcsIdentifier, "life.org", "never.org"},
	{EE, eeUser, "life.ee", "never.ee"},
}

// admin sends a /_sim control and decodes its JSON answer.
func (w *lifeWorld) admin(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, w.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("%s %s: Content-Type %q: %s", method, path, ct, raw)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, raw)
	}
	return resp.StatusCode, out
}

// mustAdmin sends a control that must answer want.
func (w *lifeWorld) mustAdmin(t *testing.T, want int, method, path, body string) map[string]any {
	t.Helper()
	status, out := w.admin(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s %s: %d %v, want %d", method, path, body, status, out, want)
	}
	return out
}

// register registers name unlocked in the account of kind through /_sim.
func (w *lifeWorld) register(t *testing.T, kind Kind, name string) map[string]any {
	t.Helper()
	for _, a := range lifeAccounts {
		if a.kind == kind {
			return w.mustAdmin(t, 201, "POST", "/_sim/accounts/"+string(kind)+"/"+a.user+"/domains", `{"name":"`+name+`"}`)
		}
	}
	t.Fatalf("no account of kind %s", kind)
	return nil
}

// enomGetRegLock reads a lock: reg-lock, or the errors and ResponseNumber.
func (w *lifeWorld) enomGetRegLock(t *testing.T, name string) string {
	t.Helper()
	return w.enomCall(t, url.Values{"command": {"GetRegLock"}}, name, "reg-lock")
}

// enomSetRegLock changes a lock: "ok", or the errors and ResponseNumber.
func (w *lifeWorld) enomSetRegLock(t *testing.T, name string, lock bool) string {
	t.Helper()
	flag := "1"
	if lock {
		flag = "0"
	}
	return w.enomCall(t, url.Values{"command": {"SetRegLock"}, "UnlockRegistrar": {flag}}, name, "")
}

func (w *lifeWorld) enomCall(t *testing.T, form url.Values, name, field string) string {
	t.Helper()
	sld, tld, _ := strings.Cut(name, ".")
	form.Set("uid", "resellid")
	form.Set("pw", "resellpw")
	form.Set("sld", sld)
	form.Set("tld", tld)
	form.Set("ResponseType", "XML")
	status, _, body := w.enom.post(t, form)
	if status != 200 {
		t.Fatalf("eNom %s: HTTP %d", form.Get("command"), status)
	}
	leaves, err := flattenXML(body)
	if err != nil {
		t.Fatal(err)
	}
	v := leafValues(leaves)
	if errs := enomErrs(t, body); len(errs) > 0 {
		return "error " + strings.Join(errs, "; ") + " " + strings.Join(v["responses/response/ResponseNumber"], ",")
	}
	if field == "" {
		return "ok"
	}
	return field + "=" + strings.Join(v[field], ",")
}

// enomListed is GetAllDomains' names.
func (w *lifeWorld) enomListed(t *testing.T) []string {
	t.Helper()
	leaves, err := flattenXML(w.enom.get(t, "command=GetAllDomains&uid=resellid&pw=resellpw&ResponseType=XML"))
	if err != nil {
		t.Fatal(err)
	}
	return leafValues(leaves)["GetAllDomains/DomainDetail/DomainName"]
}

// osrsGet reads a status: the reply's code and text, and the lock fields
// when it succeeded.
func (w *lifeWorld) osrsGet(t *testing.T, name string) string {
	t.Helper()
	f := w.osrsCall(t, "get", map[string]any{"domain": name, "type": "status"})
	out := f["response_code"] + " " + f["response_text"]
	if f["is_success"] == "1" {
		out += fmt.Sprintf(" lock_state=%s can_modify=%s transfer_away_in_progress=%s",
			f["attributes/lock_state"], f["attributes/can_modify"], f["attributes/transfer_away_in_progress"])
	}
	return out
}

// osrsModify changes a lock: the reply's code and text.
func (w *lifeWorld) osrsModify(t *testing.T, name string, lock bool) string {
	t.Helper()
	f := w.osrsCall(t, "modify", map[string]any{"affect_domains": "0", "data": "status", "domain": name, "lock_state": osrsFlag(lock)})
	return f["response_code"] + " " + f["response_text"]
}

func (w *lifeWorld) osrsCall(t *testing.T, action string, attrs map[string]any) map[string]string {
	t.Helper()
	got := w.osrs.post(t, osrsEncode(t, map[string]any{"protocol": "XCP", "object": "DOMAIN", "action": action, "attributes": attrs}))
	if got.status != 200 {
		t.Fatalf("OpenSRS %s: HTTP %d", action, got.status)
	}
	return osrsFields(t, got.body)
}

func (w *lifeWorld) osrsListed(t *testing.T) []string {
	t.Helper()
	names, _, _ := osrsPage(t, w.osrs, map[string]any{"exp_from": "2000-01-01", "exp_to": "2200-01-01", "limit": "1000"})
	return names
}

// whmcs runs a command and returns result and message (or lockstatus).
func (w *lifeWorld) whmcsCall(t *testing.T, action string, kv ...string) string {
	t.Helper()
	_, m := w.whmcs.call(t, cmd(action, kv...))
	if m["result"] == "success" {
		if ls, ok := m["lockstatus"]; ok {
			return "success " + fmt.Sprint(ls)
		}
		return "success"
	}
	return fmt.Sprint(m["result"], " ", m["message"])
}

// whmcsListed is GetClientsDomains' names with their domainids.
func (w *lifeWorld) whmcsListed(t *testing.T, kv ...string) map[string]string {
	t.Helper()
	_, m := w.whmcs.call(t, cmd("GetClientsDomains", append([]string{"limitnum", "1000"}, kv...)...))
	out := map[string]string{}
	if doms, ok := m["domains"].(map[string]any); ok {
		for _, item := range doms["domain"].([]any) {
			d := item.(map[string]any)
			out[d["domainname"].(string)] = fmt.Sprint(d["id"])
		}
	}
	return out
}

// eeListed is the .ee listing's names with their UUIDs.
func (w *lifeWorld) eeListed(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, d := range eeGetList(t, w.ee, "").Domains {
		out[d["name"].(string)] = d["id"].(string)
	}
	return out
}

// eeShow is GET domains/{uuid}: status and body.
func (w *lifeWorld) eeShow(t *testing.T, uuid string) string {
	t.Helper()
	a := w.ee.get(t, eeV1Prefix+"/domains/"+uuid)
	return fmt.Sprint(a.status, " ", strings.TrimSpace(string(a.body)))
}

func TestSimulator_life_register(t *testing.T) {
	w := setupLife(t, Options{})
	for _, a := range lifeAccounts {
		t.Run(string(a.kind), func(t *testing.T) {
			path := "/_sim/accounts/" + string(a.kind) + "/" + a.user + "/domains"
			got := w.mustAdmin(t, 201, "POST", path, `{"name":"`+strings.ToUpper(a.name)+`."}`)
			if got["name"] != a.name || got["kind"] != string(a.kind) || got["account"] != a.user || got["locked"] != false {
				t.Errorf("answer %v", got)
			}
			locked := "locked-" + a.name
			w.mustAdmin(t, 201, "POST", path, `{"name":"`+locked+`","locked":true}`)
			// Registered twice, anywhere: refused, the domain unchanged.
			if _, out := w.admin(t, "POST", path, `{"name":"`+a.name+`","locked":true}`); out["error"] != ErrRegistered.Error() {
				t.Errorf("second registration: %v", out)
			}
			other := "/_sim/accounts/enom/resellid/domains"
			if a.kind == ENom {
				other = "/_sim/accounts/opensrs/" + osrsUser + "/domains"
			}
			if status, _ := w.admin(t, "POST", other, `{"name":"`+a.name+`"}`); status != 409 {
				t.Errorf("registration in another account: %d", status)
			}

			// Listed at once, and answering lock calls.
			switch a.kind {
			case ENom:
				if l := w.enomListed(t); !slices.Contains(l, a.name) || !slices.Contains(l, locked) {
					t.Errorf("GetAllDomains: %v", l)
				}
				if got, got2 := w.enomGetRegLock(t, a.name), w.enomGetRegLock(t, locked); got != "reg-lock=0" || got2 != "reg-lock=1" {
					t.Errorf("GetRegLock: %s, %s", got, got2)
				}
			case OpenSRS:
				if l := w.osrsListed(t); !slices.Contains(l, a.name) || !slices.Contains(l, locked) {
					t.Errorf("get_domains_by_expiredate: %v", l)
				}
				if got := w.osrsGet(t, locked); got != "200 Query Successful lock_state=1 can_modify=1 transfer_away_in_progress=0" {
					t.Errorf("get: %s", got)
				}
			case WHMCS:
				l := w.whmcsListed(t)
				if l[a.name] == "" || l[locked] == "" || l[a.name] == l[locked] {
					t.Fatalf("GetClientsDomains: %v", l)
				}
				if got := w.whmcsCall(t, "DomainGetLockingStatus", "domainid", l[locked]); got != "success locked" {
					t.Errorf("DomainGetLockingStatus: %s", got)
				}
			case EE:
				l := w.eeListed(t)
				if l[a.name] != eeFormatUUID(eeNameUUID(a.name)) || l[locked] == "" {
					t.Fatalf("listing: %v", l)
				}
				if got := w.eeShow(t, l[a.name]); !strings.HasPrefix(got, "200 ") || !strings.Contains(got, `"statuses":["ok"]`) {
					t.Errorf("GET: %s", got)
				}
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct {
			path, body string
			status     int
		}{
			{"/_sim/accounts/enom/nobody/domains", `{"name":"x.com"}`, 404},
			{"/_sim/accounts/enom/resellid/domains", `{"name":"nodot"}`, 400},
			{"/_sim/accounts/enom/resellid/domains", `{"name":""}`, 400},
			{"/_sim/accounts/enom/resellid/domains", `{"nmae":"x.com"}`, 400},
			{"/_sim/accounts/enom/resellid/domains", `not json`, 400},
		} {
			if status, out := w.admin(t, "POST", c.path, c.body); status != c.status {
				t.Errorf("%s %s: %d %v, want %d", c.path, c.body, status, out, c.status)
			}
		}
		// Names are stored as lowercase A-labels.
		got := w.mustAdmin(t, 201, "POST", "/_sim/accounts/enom/resellid/domains", `{"name":"Bücher-Life.com"}`)
		if n, _ := got["name"].(string); !strings.HasPrefix(n, "xn--bcher-life-") || !strings.HasSuffix(n, ".com") {
			t.Errorf("U-label registered as %v", got["name"])
		}
	})
}

// After a transfer away, every protocol answers the domain exactly as one
// the account never held, and no listing has it.
func TestSimulator_life_transferAway(t *testing.T) {
	w := setupLife(t, Options{})
	ids := map[Kind]string{}
	for _, a := range lifeAccounts {
		t.Run(string(a.kind), func(t *testing.T) {
			reg := w.register(t, a.kind, a.name)
			id, _ := reg["registrar_id"].(string)
			ids[a.kind] = id
			// Before: held.
			before := w.lifeReadings(t, a.kind, a.name, id)
			never := w.lifeReadings(t, a.kind, a.never, "999999")
			if slices.Equal(before, never) {
				t.Fatalf("a held domain reads like an unknown one: %q", before)
			}
			got := w.mustAdmin(t, 200, "POST", "/_sim/domains/"+a.name+"/transfer-away", "")
			if got["transferred_away"] != true || got["name"] != a.name || got["account"] != a.user {
				t.Errorf("answer %v", got)
			}
			after := w.lifeReadings(t, a.kind, a.name, id)
			if !slices.Equal(after, never) {
				t.Errorf("after the transfer away:\n%q\nfor a domain never held:\n%q", after, never)
			}
			w.mustAdmin(t, 404, "GET", "/_sim/domains/"+a.name, "")
			w.mustAdmin(t, 404, "POST", "/_sim/domains/"+a.name+"/transfer-away", "")
			if _, ok := w.sim.Domain(a.name); ok {
				t.Error("the domain is still in the inventory")
			}
		})
	}
	// The readings compared above, spelled out once per registrar.
	t.Run("answers", func(t *testing.T) {
		if got := w.enomGetRegLock(t, "life.com"); got != "error Domain name not found 316153" {
			t.Errorf("eNom GetRegLock: %s", got)
		}
		if got := w.osrsGet(t, "life.net"); got != "415 Authentication Error." {
			t.Errorf("OpenSRS get: %s", got)
		}
		if got := w.whmcsCall(t, "DomainGetLockingStatus", "domainid", ids[WHMCS]); ids[WHMCS] == "" || got != "error Domain ID Not Found" {
			t.Errorf("WHMCS DomainGetLockingStatus of the old id: %s", got)
		}
		if got := w.eeShow(t, ids[EE]); got != `404 {"errors":[{"base":["Domain not found"]}]}` {
			t.Errorf(".ee GET of the old UUID: %s", got)
		}
	})
	t.Run("OpenSRSNotHeldNotFound", func(t *testing.T) {
		for _, c := range []struct {
			opts Options
			want string
		}{
			{Options{}, "415 Authentication Error."},
			{Options{OpenSRSNotHeldNotFound: true}, "480 Domain not found"},
		} {
			w := setupLife(t, c.opts)
			w.register(t, OpenSRS, "life.net")
			w.mustAdmin(t, 200, "POST", "/_sim/domains/life.net/transfer-away", "")
			for _, got := range []string{w.osrsGet(t, "life.net"), w.osrsModify(t, "life.net", true), w.osrsGet(t, "never.net")} {
				if got != c.want {
					t.Errorf("%+v: answer %q, want %q", c.opts, got, c.want)
				}
			}
		}
	})
	t.Run("locked", func(t *testing.T) {
		w := setupLife(t, Options{})
		for _, a := range lifeAccounts {
			w.mustAdmin(t, 201, "POST", "/_sim/accounts/"+string(a.kind)+"/"+a.user+"/domains", `{"name":"`+a.name+`","locked":true}`)
			if _, out := w.admin(t, "POST", "/_sim/domains/"+a.name+"/transfer-away", ""); out["error"] != ErrTransferLocked.Error() {
				t.Errorf("%s: transfer away of a locked domain: %v", a.kind, out)
			}
			w.mustAdmin(t, 200, "PUT", "/_sim/domains/"+a.name+"/lock", `{"locked":false}`)
			w.mustAdmin(t, 200, "POST", "/_sim/domains/"+a.name+"/transfer-away", "")
		}
	})
}

// lifeReadings is what a registrar answers about a domain: its lock reads
// and writes and its listing (for WHMCS, by the domainid it had; for .ee,
// by its UUID).
func (w *lifeWorld) lifeReadings(t *testing.T, kind Kind, name, id string) []string {
	t.Helper()
	switch kind {
	case ENom:
		return []string{w.enomGetRegLock(t, name), w.enomSetRegLock(t, name, false),
			fmt.Sprint(slices.Contains(w.enomListed(t), name))}
	case OpenSRS:
		return []string{w.osrsGet(t, name), w.osrsModify(t, name, false),
			fmt.Sprint(slices.Contains(w.osrsListed(t), name))}
	case WHMCS:
		_, listed := w.whmcsListed(t)[name]
		return []string{w.whmcsCall(t, "DomainGetLockingStatus", "domainid", id),
			w.whmcsCall(t, "DomainUpdateLockingStatus", "domainid", id, "lockstatus", "0"),
			fmt.Sprint(listed), fmt.Sprint(len(w.whmcsListed(t, "domain", name)))}
	case EE:
		uuid := eeFormatUUID(eeNameUUID(name))
		_, listed := w.eeListed(t)[name]
		a := w.ee.unlock(t, uuid)
		return []string{w.eeShow(t, uuid), fmt.Sprint(a.status, " ", strings.TrimSpace(string(a.body))), fmt.Sprint(listed)}
	}
	t.Fatalf("kind %s", kind)
	return nil
}

// A transfer in lists the domain at once, with a new registrar-side ID
// where the protocol has one.
func TestSimulator_life_transferIn(t *testing.T) {
	w := setupLife(t, Options{})
	for _, a := range lifeAccounts {
		t.Run(string(a.kind), func(t *testing.T) {
			old, _ := w.register(t, a.kind, a.name)["registrar_id"].(string)
			w.mustAdmin(t, 200, "POST", "/_sim/domains/"+a.name+"/transfer-away", "")
			path := "/_sim/accounts/" + string(a.kind) + "/" + a.user + "/transfer-in"
			got := w.mustAdmin(t, 201, "POST", path, `{"name":"`+a.name+`","locked":true}`)
			id, _ := got["registrar_id"].(string)
			if got["locked"] != true || got["account"] != a.user {
				t.Errorf("answer %v", got)
			}
			if _, out := w.admin(t, "POST", path, `{"name":"`+a.name+`"}`); out["error"] != ErrHeld.Error() {
				t.Errorf("transfer in of a held domain: %v", out)
			}
			switch a.kind {
			case ENom:
				if !slices.Contains(w.enomListed(t), a.name) || w.enomGetRegLock(t, a.name) != "reg-lock=1" {
					t.Error("not listed, or not locked")
				}
			case OpenSRS:
				if !slices.Contains(w.osrsListed(t), a.name) || !strings.Contains(w.osrsGet(t, a.name), "lock_state=1") {
					t.Error("not listed, or not locked")
				}
			case WHMCS:
				if id == "" || id == old {
					t.Fatalf("domainid %q after the transfer in, %q before", id, old)
				}
				if l := w.whmcsListed(t); l[a.name] != id {
					t.Errorf("GetClientsDomains lists %s as %q, want the new id %s", a.name, l[a.name], id)
				}
				if got := w.whmcsCall(t, "DomainGetLockingStatus", "domainid", id); got != "success locked" {
					t.Errorf("new id: %s", got)
				}
				if got := w.whmcsCall(t, "DomainGetLockingStatus", "domainid", old); got != "error Domain ID Not Found" {
					t.Errorf("old id: %s", got)
				}
			case EE:
				if id == "" || id == old {
					t.Fatalf("UUID %q after the transfer in, %q before", id, old)
				}
				if l := w.eeListed(t); l[a.name] != id {
					t.Errorf("the listing shows %s as %q, want the new UUID %s", a.name, l[a.name], id)
				}
				if got := w.eeShow(t, id); !strings.HasPrefix(got, "200 ") || !strings.Contains(got, `"locked_by_registrant_at":"`) {
					t.Errorf("GET of the new UUID: %s", got)
				}
				if got := w.eeShow(t, old); !strings.HasPrefix(got, "404 ") {
					t.Errorf("GET of the old UUID: %s", got)
				}
			}
		})
	}
	// From another account of the simulator: it leaves that one, unlocked.
	t.Run("from another account", func(t *testing.T) {
		w := setupLife(t, Options{})
		other := w.sim.AddAccount(WHMCS, "other-whmcs", "other-secret-0123456789")
		other.AddDomain("moved.org", true)
		path := "/_sim/accounts/whmcs/" + whmcsIdentifier + "/transfer-in"
		if _, out := w.admin(t, "POST", path, `{"name":"moved.org"}`); out["error"] != ErrTransferLocked.Error() {
			t.Fatalf("transfer in of a domain locked elsewhere: %v", out)
		}
		w.sim.SetLocked("moved.org", false)
		w.mustAdmin(t, 201, "POST", path, `{"name":"moved.org"}`)
		if info, _ := w.sim.Domain("moved.org"); info.Account != whmcsIdentifier {
			t.Errorf("held by %q", info.Account)
		}
		if _, ok := w.whmcsListed(t)["moved.org"]; !ok {
			t.Error("not listed")
		}
	})
}

// A pending transfer away shows as each registrar shows one, until it is
// cancelled (the domain stays) or completed (it leaves).
func TestSimulator_life_pendingTransfer(t *testing.T) {
	w := setupLife(t, Options{})
	for _, a := range lifeAccounts {
		t.Run(string(a.kind), func(t *testing.T) {
			w.register(t, a.kind, a.name)
			dom := "/_sim/domains/" + a.name
			if _, out := w.admin(t, "POST", dom+"/transfer-away/complete", ""); out["error"] != ErrNoTransfer.Error() {
				t.Errorf("complete without a pending transfer: %v", out)
			}
			if _, out := w.admin(t, "POST", dom+"/transfer-away/cancel", ""); out["error"] != ErrNoTransfer.Error() {
				t.Errorf("cancel without a pending transfer: %v", out)
			}
			got := w.mustAdmin(t, 200, "POST", dom+"/transfer-away/start", "")
			if got["transfer_pending"] != true || got["pending"] != true {
				t.Errorf("start: %v", got)
			}
			w.mustAdmin(t, 200, "POST", dom+"/transfer-away/start", "") // pending already: no change
			pending := w.pendingReadings(t, a.kind, a.name)

			got = w.mustAdmin(t, 200, "POST", dom+"/transfer-away/cancel", "")
			if got["transfer_pending"] != false || got["pending"] != false {
				t.Errorf("cancel: %v", got)
			}
			cancelled := w.pendingReadings(t, a.kind, a.name)
			switch a.kind {
			case ENom: // nothing shows [sim], as with SetPending: the lock lands
				if want := []string{"reg-lock=0", "ok"}; !slices.Equal(pending, want) {
					t.Errorf("pending %q, want %q", pending, want)
				}
				if want := []string{"reg-lock=1", "ok"}; !slices.Equal(cancelled, want) {
					t.Errorf("cancelled %q, want %q", cancelled, want)
				}
			case OpenSRS:
				if want := []string{"200 Query Successful lock_state=0 can_modify=0 transfer_away_in_progress=1", "486 " + osrsProcessing}; !slices.Equal(pending, want) {
					t.Errorf("pending %q, want %q", pending, want)
				}
				if want := []string{"200 Query Successful lock_state=0 can_modify=1 transfer_away_in_progress=0", "200 Command successful"}; !slices.Equal(cancelled, want) {
					t.Errorf("cancelled %q, want %q", cancelled, want)
				}
			case WHMCS:
				if want := []string{"success unlocked", "error " + whmcsPending}; !slices.Equal(pending, want) {
					t.Errorf("pending %q, want %q", pending, want)
				}
				if want := []string{"success unlocked", "success"}; !slices.Equal(cancelled, want) {
					t.Errorf("cancelled %q, want %q", cancelled, want)
				}
			case EE:
				if want := []string{`["pendingTransfer"]`, `422 {"errors":[{"base":["Domain cannot be locked"]}]}`}; !slices.Equal(pending, want) {
					t.Errorf("pending %q, want %q", pending, want)
				}
				if want := []string{`["ok"]`, "200"}; !slices.Equal(cancelled, want) {
					t.Errorf("cancelled %q, want %q", cancelled, want)
				}
			}
			// The readings locked the domain: a new transfer is refused
			// until it is unlocked.
			if _, out := w.admin(t, "POST", dom+"/transfer-away/start", ""); out["error"] != ErrTransferLocked.Error() {
				t.Errorf("start on a locked domain: %v", out)
			}
			w.mustAdmin(t, 200, "PUT", dom+"/lock", `{"locked":false}`)
			w.mustAdmin(t, 200, "POST", dom+"/transfer-away/start", "")
			got = w.mustAdmin(t, 200, "POST", dom+"/transfer-away/complete", "")
			if got["transferred_away"] != true || got["transfer_pending"] != false {
				t.Errorf("complete: %v", got)
			}
			w.mustAdmin(t, 404, "GET", dom, "")
		})
	}
}

// pendingReadings reads the domain and then tries to lock it: what a
// pending transfer changes.
func (w *lifeWorld) pendingReadings(t *testing.T, kind Kind, name string) []string {
	t.Helper()
	switch kind {
	case ENom:
		return []string{w.enomGetRegLock(t, name), w.enomSetRegLock(t, name, true)}
	case OpenSRS:
		return []string{w.osrsGet(t, name), w.osrsModify(t, name, true)}
	case WHMCS:
		id := w.whmcsListed(t)[name]
		return []string{w.whmcsCall(t, "DomainGetLockingStatus", "domainid", id),
			w.whmcsCall(t, "DomainUpdateLockingStatus", "domainid", id, "lockstatus", "1")}
	case EE:
		uuid := w.eeListed(t)[name]
		st, _ := json.Marshal(eeStatuses(t, w.ee.get(t, eeV1Prefix+"/domains/"+uuid).body))
		a := w.ee.lock(t, uuid)
		out := fmt.Sprint(a.status)
		if a.status != 200 {
			out += " " + strings.TrimSpace(string(a.body))
		}
		return []string{string(st), out}
	}
	t.Fatalf("kind %s", kind)
	return nil
}

// The registry's own lock: on .ee the three statuses without the
// registrant's timestamp; elsewhere refused changes.
func TestSimulator_life_registryLock(t *testing.T) {
	w := setupLife(t, Options{})
	for _, a := range lifeAccounts {
		t.Run(string(a.kind), func(t *testing.T) {
			w.register(t, a.kind, a.name)
			dom := "/_sim/domains/" + a.name
			got := w.mustAdmin(t, 200, "PUT", dom+"/registry-lock", `{"locked":true}`)
			if got["registry_locked"] != true || got["locked"] != false {
				t.Errorf("set: %v", got)
			}
			w.mustAdmin(t, 200, "PUT", dom+"/registry-lock", `{"locked":true}`) // set already: no change
			if _, out := w.admin(t, "POST", dom+"/transfer-away", ""); out["error"] != ErrTransferLocked.Error() {
				t.Errorf("transfer away under the registry's lock: %v", out)
			}
			switch a.kind {
			case ENom:
				if got := w.enomGetRegLock(t, a.name); got != "reg-lock=0" {
					t.Errorf("GetRegLock: %s", got)
				}
				if got := w.enomSetRegLock(t, a.name, true); got != "error "+enomRegistryLocked+" " {
					t.Errorf("SetRegLock lock: %s", got)
				}
				if got := w.enomSetRegLock(t, a.name, false); got != "error "+enomAlreadyUnlocked+" " {
					t.Errorf("SetRegLock unlock: %s", got)
				}
			case OpenSRS:
				if got := w.osrsGet(t, a.name); got != "200 Query Successful lock_state=0 can_modify=0 transfer_away_in_progress=0" {
					t.Errorf("get: %s", got)
				}
				if got := w.osrsModify(t, a.name, true); got != "435 "+osrsRegistryLocked {
					t.Errorf("modify lock: %s", got)
				}
				if got := w.osrsModify(t, a.name, false); got != "200 Command successful" {
					t.Errorf("modify to the state it has: %s", got)
				}
			case WHMCS:
				id := w.whmcsListed(t)[a.name]
				if got := w.whmcsCall(t, "DomainGetLockingStatus", "domainid", id); got != "success unlocked" {
					t.Errorf("DomainGetLockingStatus: %s", got)
				}
				if got := w.whmcsCall(t, "DomainUpdateLockingStatus", "domainid", id, "lockstatus", "1"); got != "error "+whmcsRegistryLocked {
					t.Errorf("DomainUpdateLockingStatus: %s", got)
				}
			case EE:
				uuid := w.eeListed(t)[a.name]
				obj := eeObject(t, w.ee.get(t, eeV1Prefix+"/domains/"+uuid).body)
				if st := fmt.Sprint(obj["statuses"]); st != fmt.Sprint([]any{"serverObjUpdateProhibited", "serverDeleteProhibited", "serverTransferProhibited"}) || obj["locked_by_registrant_at"] != nil {
					t.Errorf("statuses %s, locked_by_registrant_at %v", st, obj["locked_by_registrant_at"])
				}
				if a := w.ee.unlock(t, uuid); a.status != 422 {
					t.Errorf("the registrant lifted the registry's lock: %d %s", a.status, a.body)
				}
			}
			got = w.mustAdmin(t, 200, "PUT", dom+"/registry-lock", `{"locked":false}`)
			if got["registry_locked"] != false {
				t.Errorf("lift: %v", got)
			}
			// Lifted: the account changes its lock again.
			switch a.kind {
			case ENom:
				if got := w.enomSetRegLock(t, a.name, true); got != "ok" {
					t.Errorf("SetRegLock after the lift: %s", got)
				}
			case OpenSRS:
				if got := w.osrsModify(t, a.name, true); got != "200 Command successful" {
					t.Errorf("modify after the lift: %s", got)
				}
			case WHMCS:
				if got := w.whmcsCall(t, "DomainUpdateLockingStatus", "domainid", w.whmcsListed(t)[a.name], "lockstatus", "1"); got != "success" {
					t.Errorf("DomainUpdateLockingStatus after the lift: %s", got)
				}
			case EE:
				if got := fmt.Sprint(eeStatuses(t, w.ee.get(t, eeV1Prefix+"/domains/"+w.eeListed(t)[a.name]).body)); got != "[ok]" {
					t.Errorf("statuses after the lift: %s", got)
				}
			}
		})
	}
	// Under a registrant's lock, the registry's survives the registrant's
	// unlock, and lifting it leaves the registrant's.
	t.Run("ee under a registrant lock", func(t *testing.T) {
		w := setupLife(t, Options{})
		w.register(t, EE, "both.ee")
		uuid := w.eeListed(t)["both.ee"]
		if a := w.ee.lock(t, uuid); a.status != 200 {
			t.Fatalf("registrant lock: %d %s", a.status, a.body)
		}
		w.mustAdmin(t, 200, "PUT", "/_sim/domains/both.ee/registry-lock", `{"locked":true}`)
		if a := w.ee.unlock(t, uuid); a.status != 200 {
			t.Fatalf("registrant unlock: %d %s", a.status, a.body)
		}
		info, _ := w.sim.Domain("both.ee")
		obj := eeObject(t, w.ee.get(t, eeV1Prefix+"/domains/"+uuid).body)
		if !info.RegistryLocked || info.Locked || obj["locked_by_registrant_at"] != nil || !eeHasAll(eeStatuses(t, w.ee.get(t, eeV1Prefix+"/domains/"+uuid).body), eeLockStatuses...) {
			t.Errorf("after the registrant's unlock: %+v, %v", info, obj)
		}
		if a := w.ee.lock(t, uuid); a.status != 200 {
			t.Fatalf("registrant lock again: %d %s", a.status, a.body)
		}
		w.mustAdmin(t, 200, "PUT", "/_sim/domains/both.ee/registry-lock", `{"locked":false}`)
		if info, _ := w.sim.Domain("both.ee"); info.RegistryLocked || !info.Locked {
			t.Errorf("after lifting the registry's lock: %+v", info)
		}
		if a := w.ee.unlock(t, uuid); a.status != 200 || fmt.Sprint(eeStatuses(t, a.body)) != "[ok]" {
			t.Errorf("registrant unlock: %d %s", a.status, a.body)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		w := setupLife(t, Options{})
		w.mustAdmin(t, 404, "PUT", "/_sim/domains/nowhere.com/registry-lock", `{"locked":true}`)
		w.register(t, ENom, "x.com")
		w.mustAdmin(t, 400, "PUT", "/_sim/domains/x.com/registry-lock", `{}`)
		w.mustAdmin(t, 400, "PUT", "/_sim/domains/x.com/registry-lock", `{"lock":true}`)
	})
}

// The Go API answers as the routes do.
func TestSimulator_life_goAPI(t *testing.T) {
	sim := New(Options{})
	a := sim.AddAccount(WHMCS, "u", "p")
	b := sim.AddAccount(WHMCS, "v", "q")
	steps := []struct {
		name    string
		do      func() (DomainInfo, error)
		wantErr error
	}{
		{"register", func() (DomainInfo, error) { return a.Register("x.org", false) }, nil},
		{"register again", func() (DomainInfo, error) { return b.Register("x.org", false) }, ErrRegistered},
		{"transfer in to the holder", func() (DomainInfo, error) { return a.TransferIn("x.org", false) }, ErrHeld},
		{"complete nothing", func() (DomainInfo, error) { return sim.CompleteTransferAway("x.org") }, ErrNoTransfer},
		{"cancel nothing", func() (DomainInfo, error) { return sim.CancelTransferAway("x.org") }, ErrNoTransfer},
		{"registry lock", func() (DomainInfo, error) { return sim.SetRegistryLock("x.org", true) }, nil},
		{"start under the registry lock", func() (DomainInfo, error) { return sim.StartTransferAway("x.org") }, ErrTransferLocked},
		{"transfer in under the registry lock", func() (DomainInfo, error) { return b.TransferIn("x.org", false) }, ErrTransferLocked},
		{"lift", func() (DomainInfo, error) { return sim.SetRegistryLock("x.org", false) }, nil},
		{"start", func() (DomainInfo, error) { return sim.StartTransferAway("x.org") }, nil},
		{"transfer in while pending", func() (DomainInfo, error) { return b.TransferIn("x.org", true) }, nil},
		{"away", func() (DomainInfo, error) { return sim.TransferAway("x.org") }, ErrTransferLocked},
		{"unknown", func() (DomainInfo, error) { return sim.TransferAway("y.org") }, ErrNoDomain},
		{"unknown registry lock", func() (DomainInfo, error) { return sim.SetRegistryLock("y.org", true) }, ErrNoDomain},
		{"unknown start", func() (DomainInfo, error) { return sim.StartTransferAway("y.org") }, ErrNoDomain},
	}
	for _, st := range steps {
		if _, err := st.do(); !errors.Is(err, st.wantErr) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.wantErr)
		}
	}
	if info, _ := sim.Domain("x.org"); info.Account != "v" || !info.Locked || info.TransferPending || info.RegistrarID != "2" {
		t.Errorf("after the transfer in: %+v", info)
	}
}
