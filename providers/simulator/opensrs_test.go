package simulator

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers/opensrs/ops"
)

// The OpenSRS client's fixtures: the simulator replays the same documents,
// so client and simulator are each pinned to them rather than to each other.
const osrsFixtures = "../opensrs/testdata"

// The fixtures' account and the document's domain.
const (
	osrsUser   = "resellerx"
	osrsKey    = "9f2c1b7e5a3d4c6b8e0f1a2b3c4d5e6f"
	osrsDocDom = "weruiofh89q34gh78943g4.com"
)

// osrsBundle is one simulator with the fixtures' reseller account, served
// over HTTP.
type osrsBundle struct {
	sim  *Simulator
	acct *Account
	url  string
}

func setupOpenSRS(t *testing.T, opts Options) *osrsBundle {
	t.Helper()
	sim := New(opts)
	acct := sim.AddAccount(OpenSRS, osrsUser, osrsKey)
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &osrsBundle{sim: sim, acct: acct, url: srv.URL + "/opensrs/"}
}

// osrsSignature is the double MD5 as the PHP toolkit computes it, written
// out again so that the tests do not trust the code they test.
func osrsSignature(body []byte, key string) string {
	inner := md5.Sum(append(slices.Clone(body), key...))
	outer := md5.Sum([]byte(hex.EncodeToString(inner[:]) + key))
	return hex.EncodeToString(outer[:])
}

// osrsAnswer is one HTTP answer.
type osrsAnswer struct {
	status int
	header http.Header
	body   []byte
}

// post sends body signed with the account's key and returns the answer.
func (b *osrsBundle) post(t *testing.T, body []byte) osrsAnswer {
	t.Helper()
	return b.postAs(t, osrsUser, osrsSignature(body, osrsKey), body)
}

// postAs sends body with the given username and signature.
func (b *osrsBundle) postAs(t *testing.T, user, sig string, body []byte) osrsAnswer {
	t.Helper()
	a, err := b.try(user, sig, body)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// try sends a request on a fresh connection and reports a transport error.
func (b *osrsBundle) try(user, sig string, body []byte) (osrsAnswer, error) {
	req, err := http.NewRequest(http.MethodPost, b.url, bytes.NewReader(body))
	if err != nil {
		return osrsAnswer{}, err
	}
	req.Header.Set("Content-Type", "text/xml")
	req.Header.Set("X-Username", user)
	if sig != "" {
		req.Header.Set("X-Signature", sig)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return osrsAnswer{}, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	return osrsAnswer{status: resp.StatusCode, header: resp.Header, body: got}, err
}

func osrsRequestFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(osrsFixtures, name+"-request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// osrsEncode builds a request envelope for the data block top.
func osrsEncode(t *testing.T, top map[string]any) []byte {
	t.Helper()
	b, err := ops.Encode(top)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// osrsLeaf is one scalar item of an envelope: its path of item keys below
// the data block's dt_assoc, e.g. "attributes/lock_state", and its text.
type osrsLeaf struct{ path, value string }

// osrsFlatten reads an OPS envelope into its scalar items, in order. It
// uses encoding/xml directly so that these tests do not share the codec
// with the code they test.
func osrsFlatten(body []byte) ([]osrsLeaf, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var (
		leaves   []osrsLeaf
		elems    []string // open element names
		keys     []string // keys of the open items
		hasChild []bool   // per open item: holds a container
		text     strings.Builder
		sawBlock bool
	)
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(elems) == 0 && t.Name.Local != "OPS_envelope" {
				return nil, fmt.Errorf("root is <%s>", t.Name.Local)
			}
			if t.Name.Local == "data_block" {
				sawBlock = true
			}
			if len(hasChild) > 0 {
				hasChild[len(hasChild)-1] = true
			}
			elems = append(elems, t.Name.Local)
			if t.Name.Local == "item" {
				key := ""
				for _, a := range t.Attr {
					if a.Name.Local == "key" {
						key = a.Value
					}
				}
				keys = append(keys, key)
				hasChild = append(hasChild, false)
			}
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if t.Name.Local == "item" {
				if !hasChild[len(hasChild)-1] {
					leaves = append(leaves, osrsLeaf{strings.Join(keys, "/"), strings.TrimSpace(text.String())})
				}
				keys, hasChild = keys[:len(keys)-1], hasChild[:len(hasChild)-1]
			}
			elems = elems[:len(elems)-1]
			text.Reset()
		}
	}
	if len(elems) != 0 || !sawBlock {
		return nil, errors.New("not a whole OPS envelope")
	}
	return leaves, nil
}

func osrsFields(t *testing.T, body []byte) map[string]string {
	t.Helper()
	leaves, err := osrsFlatten(body)
	if err != nil {
		t.Fatalf("answer is not an OPS envelope: %v\n%s", err, body)
	}
	m := make(map[string]string, len(leaves))
	for _, l := range leaves {
		m[l.path] = l.value
	}
	return m
}

// assertOSRSShape checks an answer against a fixture: HTTP 200, text/xml
// with a correct Content-Length, and the fixture's items in the fixture's
// order with its values. Listing fixtures carry made-up names and dates:
// with shapeOnly, only their paths count.
func assertOSRSShape(t *testing.T, got osrsAnswer, fixture string, shapeOnly bool) {
	t.Helper()
	if got.status != http.StatusOK {
		t.Fatalf("status %d, want 200 (XCP answers errors in the body)\n%s", got.status, got.body)
	}
	if ct := got.header.Get("Content-Type"); ct != "text/xml" {
		t.Errorf("Content-Type = %q, want text/xml", ct)
	}
	if cl := got.header.Get("Content-Length"); cl != strconv.Itoa(len(got.body)) {
		t.Errorf("Content-Length = %q, body has %d bytes", cl, len(got.body))
	}
	want, err := os.ReadFile(filepath.Join(osrsFixtures, fixture))
	if err != nil {
		t.Fatal(err)
	}
	wantLeaves, err := osrsFlatten(want)
	if err != nil {
		t.Fatalf("fixture %s: %v", fixture, err)
	}
	gotLeaves, err := osrsFlatten(got.body)
	if err != nil {
		t.Fatalf("answer is not an OPS envelope: %v\n%s", err, got.body)
	}
	have := map[string]string{}
	var order []string
	for _, l := range gotLeaves {
		have[l.path] = l.value
		order = append(order, l.path)
	}
	var wantOrder []string
	for _, l := range wantLeaves {
		wantOrder = append(wantOrder, l.path)
		v, ok := have[l.path]
		switch {
		case !ok:
			t.Errorf("answer lacks %s\n%s", l.path, got.body)
		case shapeOnly && strings.HasPrefix(l.path, "attributes/"):
		case v != l.value:
			t.Errorf("%s = %q, want %q", l.path, v, l.value)
		}
	}
	if !shapeOnly && !slices.Equal(order, wantOrder) {
		t.Errorf("items\n  %v\nwant\n  %v", order, wantOrder)
	}
}

// TestSimulator_OpenSRS_seed replays the modify_trade_lock_setting
// document's request, signed, and compares the answer with the
// document's answer item by item.
func TestSimulator_OpenSRS_seed(t *testing.T) {
	b := setupOpenSRS(t, Options{})
	b.acct.AddDomain(osrsDocDom, true)
	got := b.post(t, osrsRequestFixture(t, "modify_trade_lock_setting"))
	assertOSRSShape(t, got, "modify_trade_lock_setting.xml", false)
	if enable, ip, set := b.sim.TradeLock(osrsDocDom); !set || !enable || ip != "0.0.0.0" {
		t.Errorf("trade lock = set %v, enable %v, ip %q; want the document's 1 and 0.0.0.0", set, enable, ip)
	}
	if locked, _ := b.sim.Locked(osrsDocDom); !locked {
		t.Error("the trade lock setting changed the registrar lock")
	}
}

// TestSimulator_OpenSRS_fixtures replays the scenario of each client
// fixture and checks the answer has the fixture's items and values.
func TestSimulator_OpenSRS_fixtures(t *testing.T) {
	addListing := func(b *osrsBundle) {
		for _, name := range []string{"alpha.com", "beta.net", "xn--mller-kva.de", "gamma.org", "delta.co.uk"} {
			b.acct.AddDomain(name, false)
		}
	}
	tests := []struct {
		name      string
		opts      Options
		setup     func(b *osrsBundle)
		request   string
		user, key string // defaults: the account's
		fixture   string
		shapeOnly bool
		wantLock  *bool // the document domain's lock afterwards
		wantReads int
		wantWrite int
	}{
		{name: "get status locked", setup: osrsAdd(osrsDocDom, true), request: "get_status", fixture: "get_status_locked.xml", wantLock: osrsPtr(true), wantReads: 1},
		{name: "get status unlocked", setup: osrsAdd(osrsDocDom, false), request: "get_status", fixture: "get_status_unlocked.xml", wantReads: 1},
		{name: "get status pending", setup: func(b *osrsBundle) {
			b.acct.AddDomain(osrsDocDom, false)
			b.sim.SetPending(osrsDocDom, true)
		}, request: "get_status", fixture: "get_status_transferaway.xml", wantReads: 1},
		{name: "modify lock", setup: osrsAdd(osrsDocDom, false), request: "modify_status_lock", fixture: "modify_status_lock.xml", wantLock: osrsPtr(true), wantWrite: 1},
		{name: "modify unlock", setup: osrsAdd(osrsDocDom, true), request: "modify_status_unlock", fixture: "modify_status_unlock.xml", wantLock: osrsPtr(false), wantWrite: 1},
		{name: "modify lock, already locked", setup: osrsAdd(osrsDocDom, true), request: "modify_status_lock", fixture: "modify_status_lock.xml", wantLock: osrsPtr(true), wantWrite: 1},
		{name: "modify unlock, already unlocked", setup: osrsAdd(osrsDocDom, false), request: "modify_status_unlock", fixture: "modify_status_unlock.xml", wantLock: osrsPtr(false), wantWrite: 1},
		{name: "modify pending", setup: func(b *osrsBundle) {
			b.acct.AddDomain(osrsDocDom, false)
			b.sim.SetPending(osrsDocDom, true)
		}, request: "modify_status_lock", fixture: "error_486.xml", wantLock: osrsPtr(false), wantWrite: 1},
		{name: "trade lock opt out", setup: osrsAdd(osrsDocDom, true), request: "modify_trade_lock_setting_optout", fixture: "modify_trade_lock_setting_optout.xml", wantLock: osrsPtr(true), wantWrite: 1},
		// A domain the reseller does not hold: 415, as OpenSRS answers live;
		// the documented 480 with OpenSRSNotHeldNotFound.
		{name: "unknown domain", request: "get_status", fixture: "error_415.xml"},
		{name: "unknown domain, modify", request: "modify_status_lock", fixture: "error_415.xml"},
		{name: "unknown domain, trade lock", request: "modify_trade_lock_setting", fixture: "error_415.xml"},
		{name: "unknown domain, 480", opts: Options{OpenSRSNotHeldNotFound: true}, request: "get_status", fixture: "error_480.xml"},
		{name: "domain of another account", setup: func(b *osrsBundle) {
			b.sim.AddAccount(OpenSRS, "other", "otherkey").AddDomain(osrsDocDom, true)
		}, request: "modify_status_unlock", fixture: "error_415.xml", wantLock: osrsPtr(true)},
		{name: "bad key, answered", opts: Options{OpenSRSBadAuthReply: true}, setup: osrsAdd(osrsDocDom, true), request: "modify_status_unlock", key: "wrong", fixture: "error_415.xml", wantLock: osrsPtr(true)},
		{name: "unknown user, answered", opts: Options{OpenSRSBadAuthReply: true}, setup: osrsAdd(osrsDocDom, true), request: "get_status", user: "nobody", fixture: "error_415.xml", wantLock: osrsPtr(true)},
		{name: "FaultError", setup: func(b *osrsBundle) { b.acct.FailNext(1, FaultError) }, request: "get_status", fixture: "error_400.xml"},
		{name: "FaultBusy", setup: func(b *osrsBundle) { b.acct.FailNext(1, FaultBusy) }, request: "modify_status_lock", fixture: "error_437.xml"},
		{name: "FaultRateLimited", setup: func(b *osrsBundle) { b.acct.FailNext(1, FaultRateLimited) }, request: "get_status", fixture: "error_300.xml"},
		{name: "listing page 1", setup: addListing, request: "get_domains_by_expiredate_page1", fixture: "get_domains_by_expiredate_empty.xml", shapeOnly: true},
		{name: "listing, empty", request: "get_domains_by_expiredate_page1", fixture: "get_domains_by_expiredate_empty.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setupOpenSRS(t, tt.opts)
			if tt.setup != nil {
				tt.setup(b)
			}
			body := osrsRequestFixture(t, tt.request)
			got := b.postAs(t, cmp.Or(tt.user, osrsUser), osrsSignature(body, cmp.Or(tt.key, osrsKey)), body)
			assertOSRSShape(t, got, tt.fixture, tt.shapeOnly)
			if tt.wantLock != nil {
				if locked, _ := b.sim.Locked(osrsDocDom); locked != *tt.wantLock {
					t.Errorf("%s locked = %v afterwards, want %v", osrsDocDom, locked, *tt.wantLock)
				}
			}
			if r, w := b.sim.Reads(osrsDocDom), b.sim.Writes(osrsDocDom); r != tt.wantReads || w != tt.wantWrite {
				t.Errorf("reads, writes = %d, %d; want %d, %d", r, w, tt.wantReads, tt.wantWrite)
			}
		})
	}
}

func osrsAdd(name string, locked bool) func(b *osrsBundle) {
	return func(b *osrsBundle) { b.acct.AddDomain(name, locked) }
}

func osrsPtr[T any](v T) *T { return &v }

// The listing fixture's shape, and its values where the simulator's are
// not made up.
func TestSimulator_OpenSRS_listingFixture(t *testing.T) {
	b := setupOpenSRS(t, Options{})
	for _, name := range []string{"gamma.org", "alpha.com", "delta.co.uk", "beta.net", "xn--mller-kva.de"} {
		b.acct.AddDomain(name, false)
	}
	body := bytes.Replace(osrsRequestFixture(t, "get_domains_by_expiredate_page1"), []byte(`"limit">500<`), []byte(`"limit">3<`), 1)
	got := b.post(t, body)
	assertOSRSShape(t, got, "get_domains_by_expiredate_page1.xml", true)
	f := osrsFields(t, got.body)
	for k, want := range map[string]string{
		"attributes/exp_domains/0/name": "alpha.com", "attributes/exp_domains/1/name": "beta.net",
		"attributes/exp_domains/2/name": "delta.co.uk", "attributes/page": "1", "attributes/remainder": "1", "attributes/total": "5",
	} {
		if f[k] != want {
			t.Errorf("%s = %q, want %q", k, f[k], want)
		}
	}
	if _, err := time.Parse("2006-01-02 15:04:05", f["attributes/exp_domains/0/expiredate"]); err != nil {
		t.Errorf("expiredate: %v", err)
	}
}

// Signatures: the account's key over the exact body, hex in either case;
// anything else is dropped by default and answered 415 with
// OpenSRSBadAuthReply, and never reaches the domain.
func TestSimulator_OpenSRS_signature(t *testing.T) {
	body := osrsRequestFixture(t, "modify_status_unlock")
	good := osrsSignature(body, osrsKey)
	tests := []struct {
		name      string
		user, sig string
		body      []byte
		ok        bool
	}{
		{name: "good", user: osrsUser, sig: good, body: body, ok: true},
		{name: "upper-case hex", user: osrsUser, sig: strings.ToUpper(good), body: body, ok: true},
		{name: "wrong key", user: osrsUser, sig: osrsSignature(body, "wrong"), body: body},
		{name: "single MD5", user: osrsUser, sig: func() string { s := md5.Sum(append(slices.Clone(body), osrsKey...)); return hex.EncodeToString(s[:]) }(), body: body},
		{name: "body changed after signing", user: osrsUser, sig: good, body: append(slices.Clone(body), ' ')},
		{name: "unknown user", user: "nobody", sig: good, body: body},
		{name: "no user", user: "", sig: good, body: body},
		{name: "no signature", user: osrsUser, sig: "", body: body},
		{name: "short signature", user: osrsUser, sig: good[:31], body: body},
		{name: "another account's key", user: "other", sig: good, body: body},
	}
	for _, reply := range []bool{false, true} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/reply=%v", tt.name, reply), func(t *testing.T) {
				b := setupOpenSRS(t, Options{OpenSRSBadAuthReply: reply})
				b.sim.AddAccount(OpenSRS, "other", "otherkey")
				b.acct.AddDomain(osrsDocDom, true)
				got, err := b.try(tt.user, tt.sig, tt.body)
				switch {
				case tt.ok:
					if err != nil {
						t.Fatal(err)
					}
					assertOSRSShape(t, got, "modify_status_unlock.xml", false)
				case reply:
					if err != nil {
						t.Fatal(err)
					}
					assertOSRSShape(t, got, "error_415.xml", false)
				case err == nil:
					t.Fatalf("got HTTP %d, want the connection closed without an answer", got.status)
				}
				if locked, _ := b.sim.Locked(osrsDocDom); locked == tt.ok {
					t.Errorf("locked = %v afterwards", locked)
				}
				log := b.sim.Log()
				wantOutcome := "ok"
				switch {
				case !tt.ok && reply:
					wantOutcome = osrsAuthError
				case !tt.ok:
					wantOutcome = osrsDroppedAuth
				}
				want := Request{Kind: OpenSRS, Account: tt.user, Op: "modify", Domain: osrsDocDom, Write: true, Outcome: wantOutcome}
				if len(log) != 1 || osrsStrip(log[0]) != want {
					t.Errorf("log = %+v, want %+v", log, want)
				}
			})
		}
	}
}

func osrsStrip(r Request) Request {
	r.Seq, r.Time = 0, time.Time{}
	return r
}

// osrsCode reads an answer's response code and text.
func osrsCode(t *testing.T, a osrsAnswer) (code, text, success string) {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("status %d: %s", a.status, a.body)
	}
	f := osrsFields(t, a.body)
	return f["response_code"], f["response_text"], f["is_success"]
}

func TestSimulator_OpenSRS_badRequests(t *testing.T) {
	req := func(action string, attrs map[string]any) map[string]any {
		return map[string]any{"protocol": "XCP", "object": "DOMAIN", "action": action, "attributes": attrs}
	}
	dom := osrsDocDom
	modify := func(edit func(map[string]any)) map[string]any {
		attrs := map[string]any{"affect_domains": "0", "data": "status", "domain": dom, "domain_name": dom, "lock_state": "0"}
		edit(attrs)
		return req("modify", attrs)
	}
	trade := func(edit func(map[string]any)) map[string]any {
		attrs := map[string]any{"domain": dom, "enable": "0", "ip_address": "192.0.2.1"}
		edit(attrs)
		return req("modify_trade_lock_setting", attrs)
	}
	list := func(edit func(map[string]any)) map[string]any {
		attrs := map[string]any{"exp_from": "2020-01-01", "exp_to": "2030-01-01"}
		edit(attrs)
		return req("get_domains_by_expiredate", attrs)
	}
	tests := []struct {
		name     string
		body     []byte
		top      map[string]any
		wantCode string
		wantText string
	}{
		{name: "not XML", body: []byte("lock it please"), wantCode: "465", wantText: "Invalid request: ops: not an OPS envelope: text before the root element"},
		{name: "truncated", body: osrsRequestFixture(t, "get_status")[:200], wantCode: "465", wantText: "Invalid request: ops: truncated envelope"},
		{name: "scalar data block", body: []byte(`<OPS_envelope><body><data_block><dt_scalar>get</dt_scalar></data_block></body></OPS_envelope>`), wantCode: "465", wantText: "Invalid request: the data block is not a dt_assoc"},
		{name: "no protocol", top: map[string]any{"object": "DOMAIN", "action": "get", "attributes": map[string]any{"domain": dom, "type": "status"}}, wantCode: "430", wantText: "Invalid Command: protocol must be XCP"},
		{name: "other object", top: map[string]any{"protocol": "XCP", "object": "COOKIE", "action": "set"}, wantCode: "430", wantText: "Invalid Command: object COOKIE"},
		{name: "no action", top: map[string]any{"protocol": "XCP", "object": "DOMAIN"}, wantCode: "430", wantText: "Invalid Command: no action"},
		{name: "unknown action", top: req("frobnicate", map[string]any{"domain": dom}), wantCode: "430", wantText: "Invalid Command: frobnicate"},
		{name: "get without domain", top: req("get", map[string]any{"type": "status"}), wantCode: "460", wantText: osrsNoDomain},
		{name: "get without attributes", top: map[string]any{"protocol": "XCP", "object": "domain", "action": "GET"}, wantCode: "460", wantText: osrsNoDomain},
		{name: "get without type", top: req("get", map[string]any{"domain": dom}), wantCode: "460", wantText: "Missing required field: type"},
		{name: "get all_info", top: req("get", map[string]any{"domain": dom, "type": "all_info"}), wantCode: "465", wantText: "Invalid type: all_info (this simulator answers type status only)"},
		{name: "modify without data", top: modify(func(a map[string]any) { delete(a, "data") }), wantCode: "460", wantText: osrsNoModifyType},
		{name: "modify contacts", top: modify(func(a map[string]any) { a["data"] = "contact_info" }), wantCode: "465", wantText: "Invalid modify type: contact_info (this simulator answers data status only)"},
		{name: "modify without domain", top: modify(func(a map[string]any) { delete(a, "domain"); delete(a, "domain_name") }), wantCode: "460", wantText: osrsNoDomain},
		{name: "modify domain and domain_name differ", top: modify(func(a map[string]any) { a["domain_name"] = "other.com" }), wantCode: "465", wantText: "domain and domain_name differ"},
		{name: "modify without affect_domains", top: modify(func(a map[string]any) { delete(a, "affect_domains") }), wantCode: "460", wantText: "Missing required field: affect_domains"},
		{name: "modify without lock_state", top: modify(func(a map[string]any) { delete(a, "lock_state") }), wantCode: "460", wantText: "Missing required field: lock_state"},
		{name: "modify bad lock_state", top: modify(func(a map[string]any) { a["lock_state"] = "yes" }), wantCode: "465", wantText: "Invalid lock_state: use 0 or 1"},
		{name: "modify bad affect_domains", top: modify(func(a map[string]any) { a["affect_domains"] = "all" }), wantCode: "465", wantText: "Invalid affect_domains: use 0 or 1"},
		{name: "trade without domain", top: trade(func(a map[string]any) { delete(a, "domain") }), wantCode: "460", wantText: osrsNoDomain},
		{name: "trade without enable", top: trade(func(a map[string]any) { delete(a, "enable") }), wantCode: "460", wantText: "Missing required field: enable"},
		{name: "trade without ip", top: trade(func(a map[string]any) { delete(a, "ip_address") }), wantCode: "460", wantText: "Missing required field: ip_address"},
		{name: "trade bad ip", top: trade(func(a map[string]any) { a["ip_address"] = "999.1.1.1" }), wantCode: "465", wantText: "Invalid ip_address: 999.1.1.1"},
		{name: "trade bad enable", top: trade(func(a map[string]any) { a["enable"] = "true" }), wantCode: "465", wantText: "Invalid enable: use 0 or 1"},
		{name: "list without exp_from", top: list(func(a map[string]any) { delete(a, "exp_from") }), wantCode: "460", wantText: "Missing required field: exp_from"},
		{name: "list without exp_to", top: list(func(a map[string]any) { delete(a, "exp_to") }), wantCode: "460", wantText: "Missing required field: exp_to"},
		{name: "list bad date", top: list(func(a map[string]any) { a["exp_to"] = "31/12/2030" }), wantCode: "465", wantText: "Invalid exp_to: 31/12/2030 (use YYYY-MM-DD)"},
		{name: "list bad limit", top: list(func(a map[string]any) { a["limit"] = "0" }), wantCode: "465", wantText: "Invalid limit: 0"},
		{name: "list bad page", top: list(func(a map[string]any) { a["page"] = "-1" }), wantCode: "465", wantText: "Invalid page: -1"},
	}
	b := setupOpenSRS(t, Options{})
	b.acct.AddDomain(osrsDocDom, true)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := tt.body
			if body == nil {
				body = osrsEncode(t, tt.top)
			}
			code, text, success := osrsCode(t, b.post(t, body))
			if code != tt.wantCode || text != tt.wantText || success != "0" {
				t.Errorf("answer = %s %q (is_success %s), want %s %q", code, text, success, tt.wantCode, tt.wantText)
			}
		})
	}
	if locked, _ := b.sim.Locked(osrsDocDom); !locked || b.sim.Writes(osrsDocDom) != 0 {
		t.Errorf("bad requests changed the domain (locked %v, %d writes)", locked, b.sim.Writes(osrsDocDom))
	}
	if _, _, set := b.sim.TradeLock(osrsDocDom); set {
		t.Error("a bad request set the trade lock")
	}
}

// Names are matched without regard to case, and domain_name alone names
// the domain of a modify; affect_domains=1 is accepted.
func TestSimulator_OpenSRS_lenientNames(t *testing.T) {
	b := setupOpenSRS(t, Options{})
	b.acct.AddDomain("example.com", false)
	body := osrsEncode(t, map[string]any{"protocol": "xcp", "object": "Domain", "action": "MODIFY", "attributes": map[string]any{
		"affect_domains": "1", "data": "STATUS", "domain_name": "Example.COM.", "lock_state": "1",
	}})
	if code, text, _ := osrsCode(t, b.post(t, body)); code != "200" {
		t.Fatalf("answer = %s %q, want 200", code, text)
	}
	if locked, _ := b.sim.Locked("example.com"); !locked {
		t.Error("not locked")
	}
	if log := b.sim.Log(); len(log) != 1 || log[0].Op != "modify" || log[0].Domain != "example.com" {
		t.Errorf("log = %+v", log)
	}
}

func TestSimulator_OpenSRS_notLockable(t *testing.T) {
	b := setupOpenSRS(t, Options{NotLockableTLDs: []string{"ch"}})
	b.acct.AddDomain("example.ch", false)
	status := osrsEncode(t, map[string]any{"protocol": "XCP", "object": "DOMAIN", "action": "get", "attributes": map[string]any{"domain": "example.ch", "type": "status"}})
	if f := osrsFields(t, b.post(t, status).body); f["attributes/domain_supports/lock"] != "0" {
		t.Errorf("domain_supports/lock = %q, want 0", f["attributes/domain_supports/lock"])
	}
	lock := osrsEncode(t, map[string]any{"protocol": "XCP", "object": "DOMAIN", "action": "modify", "attributes": map[string]any{
		"affect_domains": "0", "data": "status", "domain": "example.ch", "lock_state": "1",
	}})
	if code, text, _ := osrsCode(t, b.post(t, lock)); code != "465" || text != osrsNotLockable {
		t.Errorf("answer = %s %q, want 465 %q", code, text, osrsNotLockable)
	}
	if locked, _ := b.sim.Locked("example.ch"); locked {
		t.Error("locked a TLD without a lock")
	}
}

func TestSimulator_OpenSRS_methods(t *testing.T) {
	b := setupOpenSRS(t, Options{})
	for _, m := range []string{http.MethodGet, http.MethodPut} {
		req, _ := http.NewRequest(m, b.url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
			t.Errorf("%s: status %d, Allow %q; want 405, POST", m, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	big := bytes.Repeat([]byte("x"), osrsMaxRequestBody+1)
	if got := b.post(t, big); got.status != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: status %d, want 413", got.status)
	}
	if n := len(b.sim.Log()); n != 0 {
		t.Errorf("%d log entries for requests that are not XCP calls, want 0", n)
	}
}

func TestSimulator_OpenSRS_faults(t *testing.T) {
	tests := []struct {
		fault      Fault
		wantStatus int
		check      func(t *testing.T, a osrsAnswer)
	}{
		{FaultUnavailable, http.StatusServiceUnavailable, func(t *testing.T, a osrsAnswer) {
			if !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") || !bytes.Contains(a.body, []byte("Service Unavailable")) {
				t.Errorf("want an HTML 503 page, got %q: %s", a.header.Get("Content-Type"), a.body)
			}
			if a.header.Get("Retry-After") != "" {
				t.Errorf("Retry-After = %q, want none", a.header.Get("Retry-After"))
			}
		}},
		{FaultBusy, http.StatusOK, osrsWantCode("437", osrsBusy)},
		{FaultRateLimited, http.StatusOK, osrsWantCode("300", osrsRateLimited)},
		{FaultError, http.StatusOK, osrsWantCode("400", osrsInternalError)},
		{FaultMalformed, http.StatusOK, func(t *testing.T, a osrsAnswer) {
			if _, err := osrsFlatten(a.body); err == nil {
				t.Errorf("malformed answer parses:\n%s", a.body)
			}
			if !bytes.HasPrefix(a.body, []byte("<?xml")) || bytes.Contains(a.body, []byte("</OPS_envelope>")) {
				t.Errorf("want an envelope cut off half way:\n%s", a.body)
			}
			if a.header.Get("Content-Length") != strconv.Itoa(len(a.body)) {
				t.Errorf("Content-Length = %q for %d bytes", a.header.Get("Content-Length"), len(a.body))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			b := setupOpenSRS(t, Options{})
			b.acct.AddDomain(osrsDocDom, false)
			b.acct.FailNext(1, tt.fault)
			got := b.post(t, osrsRequestFixture(t, "modify_status_lock"))
			if got.status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", got.status, tt.wantStatus, got.body)
			}
			tt.check(t, got)
			if locked, _ := b.sim.Locked(osrsDocDom); locked || b.sim.Writes(osrsDocDom) != 0 {
				t.Errorf("a faulted call changed the domain")
			}
			// The fault is used up: the next call is served.
			if code, _, _ := osrsCode(t, b.post(t, osrsRequestFixture(t, "modify_status_lock"))); code != "200" {
				t.Errorf("call after the fault: %s", code)
			}
			log := b.sim.Log()
			if len(log) != 2 || log[0].Outcome != string(tt.fault) || log[1].Outcome != "ok" || log[0].Op != "modify" {
				t.Errorf("log = %+v, want the fault then ok", log)
			}
		})
	}
}

func osrsWantCode(code, text string) func(t *testing.T, a osrsAnswer) {
	return func(t *testing.T, a osrsAnswer) {
		if c, txt, ok := osrsCode(t, a); c != code || txt != text || ok != "0" {
			t.Errorf("answer = %s %q (is_success %s), want %s %q", c, txt, ok, code, text)
		}
	}
}

func TestSimulator_OpenSRS_faultDrop(t *testing.T) {
	b := setupOpenSRS(t, Options{})
	b.acct.AddDomain(osrsDocDom, true)
	b.acct.FailNext(1, FaultDrop)
	body := osrsRequestFixture(t, "get_status")
	if got, err := b.try(osrsUser, osrsSignature(body, osrsKey), body); err == nil {
		t.Fatalf("got HTTP %d, want the connection closed without an answer", got.status)
	}
	if log := b.sim.Log(); len(log) != 1 || log[0].Outcome != string(FaultDrop) || b.sim.Reads(osrsDocDom) != 0 {
		t.Errorf("log = %+v, want one drop and no read", log)
	}
}

// FaultFalseUnlocked makes a status read answer unlocked; other commands
// run as usual.
func TestSimulator_OpenSRS_faultFalseUnlocked(t *testing.T) {
	b := setupOpenSRS(t, Options{})
	b.acct.AddDomain(osrsDocDom, true)
	b.acct.FailNext(1, FaultFalseUnlocked)
	if f := osrsFields(t, b.post(t, osrsRequestFixture(t, "get_status")).body); f["attributes/lock_state"] != "0" {
		t.Errorf("lock_state = %q, want 0", f["attributes/lock_state"])
	}
	if f := osrsFields(t, b.post(t, osrsRequestFixture(t, "get_status")).body); f["attributes/lock_state"] != "1" {
		t.Errorf("lock_state after the fault = %q, want 1", f["attributes/lock_state"])
	}
	b.acct.FailNext(1, FaultFalseUnlocked)
	if code, _, _ := osrsCode(t, b.post(t, osrsRequestFixture(t, "modify_status_unlock"))); code != "200" {
		t.Errorf("modify during the fault: %s", code)
	}
	log := b.sim.Log()
	if len(log) != 3 || log[0].Outcome != string(FaultFalseUnlocked) || log[1].Outcome != "ok" || log[2].Outcome != "ok" {
		t.Errorf("log = %+v", log)
	}
}

func TestSimulator_OpenSRS_latencyAndCancel(t *testing.T) {
	b := setupOpenSRS(t, Options{})
	b.acct.AddDomain(osrsDocDom, true)
	b.acct.SetLatency(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	body := osrsRequestFixture(t, "get_status")
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.url, bytes.NewReader(body))
	req.Header.Set("X-Username", osrsUser)
	req.Header.Set("X-Signature", osrsSignature(body, osrsKey))
	start := time.Now()
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("request succeeded, want the client's timeout")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
	// The handler notices the client left and logs it without answering.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if log := b.sim.Log(); len(log) == 1 {
			if log[0].Outcome != "canceled" || b.sim.Reads(osrsDocDom) != 0 {
				t.Errorf("log = %+v, reads %d; want canceled and no read", log, b.sim.Reads(osrsDocDom))
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the canceled call was not logged")
}

// osrsPage fetches one get_domains_by_expiredate page and returns its names
// and other attributes.
func osrsPage(t *testing.T, b *osrsBundle, attrs map[string]any) (names, dates []string, f map[string]string) {
	t.Helper()
	got := b.post(t, osrsEncode(t, map[string]any{"protocol": "XCP", "object": "DOMAIN", "action": "get_domains_by_expiredate", "attributes": attrs}))
	leaves, err := osrsFlatten(got.body)
	if err != nil {
		t.Fatal(err)
	}
	f = map[string]string{}
	for _, l := range leaves {
		switch {
		case strings.HasPrefix(l.path, "attributes/exp_domains/") && strings.HasSuffix(l.path, "/name"):
			names = append(names, l.value)
		case strings.HasPrefix(l.path, "attributes/exp_domains/") && strings.HasSuffix(l.path, "/expiredate"):
			dates = append(dates, l.value)
		default:
			f[l.path] = l.value
		}
	}
	if f["response_code"] != "200" {
		t.Fatalf("answer %s %s", f["response_code"], f["response_text"])
	}
	return names, dates, f
}

func TestSimulator_OpenSRS_paging(t *testing.T) {
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	b := setupOpenSRS(t, Options{Now: func() time.Time { return now }})
	var want []string
	for i := range 95 {
		name := fmt.Sprintf("d%03d.net", 94-i)
		want = append(want, name)
		b.acct.AddDomain(name, i%2 == 0)
	}
	slices.Sort(want)
	b.sim.AddAccount(OpenSRS, "other", "otherkey").AddDomain("notmine.net", true)
	wide := map[string]any{"exp_from": "1970-01-01", "exp_to": "2199-12-31"}
	with := func(extra ...string) map[string]any {
		m := map[string]any{"exp_from": "1970-01-01", "exp_to": "2199-12-31"}
		for i := 0; i < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}

	// The default limit (40): three pages, remainder until the last.
	var got []string
	for _, p := range []struct {
		page, wantLen int
		wantRem       string
	}{{1, 40, "1"}, {2, 40, "1"}, {3, 15, "0"}} {
		names, dates, f := osrsPage(t, b, with("page", strconv.Itoa(p.page)))
		if len(names) != p.wantLen || f["attributes/remainder"] != p.wantRem || f["attributes/total"] != "95" || f["attributes/page"] != strconv.Itoa(p.page) {
			t.Errorf("page %d: %d names, remainder %s, total %s, page %s; want %d, %s, 95",
				p.page, len(names), f["attributes/remainder"], f["attributes/total"], f["attributes/page"], p.wantLen, p.wantRem)
		}
		for _, d := range dates {
			exp, err := time.Parse("2006-01-02 15:04:05", d)
			if err != nil || exp.Year() != 2027 {
				t.Errorf("expiredate %q: want a date in 2027 (next year) (%v)", d, err)
			}
		}
		got = append(got, names...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages list %v, want the account's 95 in name order", got)
	}
	// The same date for a name on every call.
	_, d1, _ := osrsPage(t, b, wide)
	_, d2, _ := osrsPage(t, b, wide)
	if !slices.Equal(d1, d2) {
		t.Error("expiry dates change between calls")
	}

	for _, tt := range []struct {
		name    string
		attrs   map[string]any
		wantLen int
		wantRem string
	}{
		{"limit above the cap", with("limit", "5000"), 95, "0"},
		{"limit 10, page 10", with("limit", "10", "page", "10"), 5, "0"},
		{"page past the end", with("page", "4"), 0, "0"},
		{"huge page", with("page", "9223372036854775807", "limit", "1000"), 0, "0"},
		{"huge limit", with("limit", "9223372036854775807"), 95, "0"},
		{"window before every date", map[string]any{"exp_from": "2020-01-01", "exp_to": "2026-12-31"}, 0, "0"},
		{"window the wrong way round", map[string]any{"exp_from": "2199-12-31", "exp_to": "1970-01-01"}, 0, "0"},
	} {
		names, _, f := osrsPage(t, b, tt.attrs)
		if len(names) != tt.wantLen || f["attributes/remainder"] != tt.wantRem {
			t.Errorf("%s: %d names, remainder %s; want %d, %s", tt.name, len(names), f["attributes/remainder"], tt.wantLen, tt.wantRem)
		}
	}

	// A window holds exactly the names whose date is inside it, ends
	// included.
	all, dates, _ := osrsPage(t, b, with("limit", "1000"))
	from, to := dates[10][:10], dates[20][:10]
	if from > to {
		from, to = to, from
	}
	var inside []string
	for i, d := range dates {
		if d[:10] >= from && d[:10] <= to {
			inside = append(inside, all[i])
		}
	}
	names, _, f := osrsPage(t, b, map[string]any{"exp_from": from, "exp_to": to, "limit": "1000"})
	if !slices.Equal(names, inside) || f["attributes/total"] != strconv.Itoa(len(inside)) {
		t.Errorf("window %s..%s lists %v (total %s), want %v", from, to, names, f["attributes/total"], inside)
	}
}

func TestSimulator_OpenSRS_requestLog(t *testing.T) {
	b := setupOpenSRS(t, Options{OpenSRSBadAuthReply: true})
	b.acct.AddDomain(osrsDocDom, false)
	for _, name := range []string{"get_status", "modify_status_lock", "modify_trade_lock_setting", "get_domains_by_expiredate_page1"} {
		b.post(t, osrsRequestFixture(t, name))
	}
	body := osrsRequestFixture(t, "get_status")
	b.postAs(t, osrsUser, osrsSignature(body, "wrong"), body)
	b.post(t, bytes.Replace(body, []byte(osrsDocDom), []byte("nosuch.com"), 1))
	want := []Request{
		{Kind: OpenSRS, Account: osrsUser, Op: "get", Domain: osrsDocDom, Outcome: "ok"},
		{Kind: OpenSRS, Account: osrsUser, Op: "modify", Domain: osrsDocDom, Write: true, Outcome: "ok"},
		{Kind: OpenSRS, Account: osrsUser, Op: "modify_trade_lock_setting", Domain: osrsDocDom, Write: true, Outcome: "ok"},
		{Kind: OpenSRS, Account: osrsUser, Op: "get_domains_by_expiredate", Outcome: "ok"},
		{Kind: OpenSRS, Account: osrsUser, Op: "get", Domain: osrsDocDom, Outcome: osrsAuthError},
		{Kind: OpenSRS, Account: osrsUser, Op: "get", Domain: "nosuch.com", Outcome: osrsAuthError},
	}
	got := b.sim.Log()
	if len(got) != len(want) {
		t.Fatalf("%d log entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Seq == 0 || got[i].Time.IsZero() {
			t.Errorf("entry %d has no Seq or Time", i)
		}
		if g := osrsStrip(got[i]); g != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, g, want[i])
		}
	}
}

func TestSimulator_OpenSRS_counters(t *testing.T) {
	b := setupOpenSRS(t, Options{})
	b.acct.AddDomain(osrsDocDom, false)
	for _, name := range []string{"get_status", "modify_status_lock", "modify_status_lock", "modify_status_unlock", "modify_trade_lock_setting", "get_status", "get_domains_by_expiredate_page1"} {
		if code, text, _ := osrsCode(t, b.post(t, osrsRequestFixture(t, name))); code != "200" {
			t.Fatalf("%s: %s %s", name, code, text)
		}
	}
	if r, w := b.sim.Reads(osrsDocDom), b.sim.Writes(osrsDocDom); r != 2 || w != 4 {
		t.Errorf("reads, writes = %d, %d; want 2, 4 (already-states and the trade lock count)", r, w)
	}
	if n := b.acct.Calls(); n != 7 {
		t.Errorf("Calls = %d, want 7", n)
	}
}

// TestSimulator_OpenSRS_concurrent runs many clients at once, for the race
// detector, and checks no write is lost.
func TestSimulator_OpenSRS_concurrent(t *testing.T) {
	b := setupOpenSRS(t, Options{})
	const workers, calls = 16, 25
	for w := range workers {
		b.acct.AddDomain(fmt.Sprintf("w%02d.com", w), false)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			name := fmt.Sprintf("w%02d.com", w)
			for i := range calls {
				lock := osrsEncode(t, map[string]any{"protocol": "XCP", "object": "DOMAIN", "action": "modify", "attributes": map[string]any{
					"affect_domains": "0", "data": "status", "domain": name, "lock_state": strconv.Itoa((i + 1) % 2),
				}})
				b.post(t, lock)
				b.post(t, osrsEncode(t, map[string]any{"protocol": "XCP", "object": "DOMAIN", "action": "get", "attributes": map[string]any{"domain": name, "type": "status"}}))
			}
		})
	}
	wg.Wait()
	for w := range workers {
		name := fmt.Sprintf("w%02d.com", w)
		if b.sim.Writes(name) != calls || b.sim.Reads(name) != calls {
			t.Errorf("%s: %d writes, %d reads; want %d each", name, b.sim.Writes(name), b.sim.Reads(name), calls)
		}
		if locked, _ := b.sim.Locked(name); !locked { // calls is odd: the last call locks
			t.Errorf("%s unlocked, want locked", name)
		}
	}
}

// BenchmarkSimulator_OpenSRS_get measures the hot path without the
// network: one signed get type=status in an inventory of 100,000 domains.
func BenchmarkSimulator_OpenSRS_get(b *testing.B) {
	sim := New(Options{LogSize: 1000})
	acct := sim.AddAccount(OpenSRS, osrsUser, osrsKey)
	for i := range 100000 {
		acct.AddDomain(fmt.Sprintf("d%06d.com", i), i%2 == 0)
	}
	h := sim.Handler()
	body, err := ops.Encode(map[string]any{"protocol": "XCP", "object": "DOMAIN", "action": "get", "attributes": map[string]any{"domain": "d004242.com", "type": "status"}})
	if err != nil {
		b.Fatal(err)
	}
	sig := osrsSignature(body, osrsKey)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/opensrs/", bytes.NewReader(body))
			req.Header.Set("X-Username", osrsUser)
			req.Header.Set("X-Signature", sig)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
}

// FuzzServeOpenSRS sends arbitrary bodies, signed with the account's key:
// the handler must not panic, must answer 200 with a reply envelope whose
// is_success is 0 or 1, and must not change a domain of another account.
func FuzzServeOpenSRS(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(osrsFixtures, "*-request.xml"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, true)
	}
	f.Add([]byte(`<OPS_envelope><body><data_block><dt_assoc><item key="protocol">XCP</item><item key="object">domain</item><item key="action">get_domains_by_expiredate</item><item key="attributes"><dt_assoc><item key="exp_from">0001-01-01</item><item key="exp_to">9999-12-31</item><item key="page">9223372036854775807</item><item key="limit">9223372036854775807</item></dt_assoc></item></dt_assoc></data_block></body></OPS_envelope>`), true)
	f.Add([]byte(`<OPS_envelope><body><data_block><dt_assoc><item key="protocol">XCP</item><item key="object">domain</item><item key="action">modify</item><item key="attributes"><dt_assoc><item key="domain">theirs.com</item><item key="data">status</item><item key="affect_domains">1</item><item key="lock_state">0</item></dt_assoc></item></dt_assoc></data_block></body></OPS_envelope>`), false)
	f.Add([]byte("\x00\xff<"), true)
	sim := New(Options{LogSize: 100, NotLockableTLDs: []string{"ch"}, OpenSRSBadAuthReply: true})
	acct := sim.AddAccount(OpenSRS, osrsUser, osrsKey)
	for _, name := range []string{osrsDocDom, "example.co.uk", "mine.ch", "alpha.com"} {
		acct.AddDomain(name, true)
	}
	sim.AddAccount(OpenSRS, "other", "otherkey").AddDomain("theirs.com", true)
	h := sim.Handler()
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		req := httptest.NewRequest(http.MethodPost, "/opensrs/", bytes.NewReader(body))
		req.Header.Set("X-Username", osrsUser)
		if signed {
			req.Header.Set("X-Signature", osrsSignature(body, osrsKey))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code == http.StatusRequestEntityTooLarge && len(body) > osrsMaxRequestBody {
			return
		}
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		v, err := ops.Decode(rec.Body.Bytes())
		if err != nil {
			t.Fatalf("answer to %q does not decode: %v\n%s", body, err, rec.Body.Bytes())
		}
		top := v.Assoc()
		if s := top.Text("is_success"); (s != "0" && s != "1") || top.Text("action") != "REPLY" {
			t.Fatalf("answer to %q: is_success %q, action %q", body, s, top.Text("action"))
		}
		if !signed && top.Text("response_code") != "415" {
			t.Fatalf("unsigned call answered %s", top.Text("response_code"))
		}
		if locked, _ := sim.Locked("theirs.com"); !locked {
			t.Fatal("a call changed another account's domain")
		}
	})
}

// osrsSelect puts a page of names in place without sorting them all: the
// page, sorted, is the same as the sorted list's.
func TestOSRSSelect(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := rng.IntN(60)
		var names []string
		for i := range n {
			names = append(names, fmt.Sprintf("n%03d", i))
		}
		sorted := slices.Clone(names)
		rng.Shuffle(n, func(i, j int) { names[i], names[j] = names[j], names[i] })
		lo := rng.IntN(n + 2)
		hi := min(lo+rng.IntN(10)+1, n)
		lo = min(lo, hi)
		osrsSelect(names, lo)
		osrsSelect(names[lo:], hi-lo)
		page := slices.Clone(names[lo:hi])
		slices.Sort(page)
		if !slices.Equal(page, sorted[lo:hi]) {
			t.Fatalf("n=%d [%d:%d] = %v, want %v", n, lo, hi, page, sorted[lo:hi])
		}
		slices.Sort(names)
		if !slices.Equal(names, sorted) {
			t.Fatal("osrsSelect lost or duplicated names")
		}
	}
}
