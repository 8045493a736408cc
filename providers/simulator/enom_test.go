package simulator

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// The eNom client's fixtures: the simulator replays the same documents, so
// client and simulator are each pinned to them rather than to each other.
const enomFixtures = "../enom/testdata"

// enomBundle is one simulator with the documents' reseller account, served
// over HTTP.
type enomBundle struct {
	sim  *Simulator
	acct *Account
	url  string
}

func setupENom(t *testing.T, opts Options) *enomBundle {
	t.Helper()
	sim := New(opts)
	acct := sim.AddAccount(ENom, "resellid", "resellpw")
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	return &enomBundle{sim: sim, acct: acct, url: srv.URL + "/enom/interface.asp"}
}

// post sends form as eNom's clients do and returns the status, header and body.
func (b *enomBundle) post(t *testing.T, form url.Values) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.PostForm(b.url, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

// get sends the parameters in the query string, the documents' form.
func (b *enomBundle) get(t *testing.T, query string) []byte {
	t.Helper()
	resp, err := http.Get(b.url + "?" + query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET status %d: %s", resp.StatusCode, body)
	}
	return body
}

func enomRequestFixture(t *testing.T, name string) url.Values {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(enomFixtures, name+"-request.txt"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := url.ParseQuery(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// xmlLeaf is one leaf element of an answer: its path below
// <interface-response> and its trimmed text.
type xmlLeaf struct{ path, value string }

// flattenXML reads an XML answer into its leaves, in order. It uses
// encoding/xml directly so that these tests do not share the client's
// parser.
func flattenXML(body []byte) ([]xmlLeaf, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var (
		leaves   []xmlLeaf
		path     []string
		hasChild []bool
		text     strings.Builder
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
			if len(path) == 0 && t.Name.Local != "interface-response" {
				return nil, fmt.Errorf("root is <%s>", t.Name.Local)
			}
			if len(hasChild) > 0 {
				hasChild[len(hasChild)-1] = true
			}
			path = append(path, t.Name.Local)
			hasChild = append(hasChild, false)
			text.Reset()
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if !hasChild[len(hasChild)-1] && len(path) > 1 {
				leaves = append(leaves, xmlLeaf{strings.Join(path[1:], "/"), strings.TrimSpace(text.String())})
			}
			path, hasChild = path[:len(path)-1], hasChild[:len(hasChild)-1]
			text.Reset()
		}
	}
	if len(path) != 0 {
		return nil, errors.New("unclosed elements")
	}
	return leaves, nil
}

func leafValues(leaves []xmlLeaf) map[string][]string {
	m := make(map[string][]string)
	for _, l := range leaves {
		m[l.path] = append(m[l.path], l.value)
	}
	return m
}

// enomVolatile are fields whose values differ from call to call or are the
// simulator's own (its server name, ids, dates): only their presence counts.
var enomVolatile = map[string]bool{
	"TrackingKey": true, "ExecTime": true, "RequestDateTime": true, "Server": true,
	"TimeDifference": true, "debug": true, "DomainNameID": true, "expiration-date": true,
	"wppsexpdate": true,
}

func isVolatile(path string) bool {
	return enomVolatile[path[strings.LastIndexByte(path, '/')+1:]]
}

// assertShape checks a simulator answer against a document fixture: every
// field of the fixture is there with the fixture's value (volatile fields
// only present). With prefix, repeated fields (a listing the fixture
// abbreviates) need only start with the fixture's values; with ordered,
// the fixture's fields appear in the same order.
func assertShape(t *testing.T, got []byte, fixture string, prefix, ordered bool) {
	t.Helper()
	wantBody, err := os.ReadFile(filepath.Join(enomFixtures, fixture))
	if err != nil {
		t.Fatal(err)
	}
	wantLeaves, err := flattenXML(wantBody)
	if err != nil {
		t.Fatalf("fixture %s: %v", fixture, err)
	}
	gotLeaves, err := flattenXML(got)
	if err != nil {
		t.Fatalf("answer is not XML: %v\n%s", err, got)
	}
	want, have := leafValues(wantLeaves), leafValues(gotLeaves)
	for path, wv := range want {
		hv, ok := have[path]
		switch {
		case !ok:
			t.Errorf("answer lacks %s\n%s", path, got)
		case isVolatile(path):
		case prefix && len(hv) >= len(wv) && slices.Equal(hv[:len(wv)], wv):
		case !slices.Equal(hv, wv):
			t.Errorf("%s = %q, want %q", path, hv, wv)
		}
	}
	if ordered {
		var wantOrder, gotOrder []string
		for _, l := range wantLeaves {
			wantOrder = append(wantOrder, l.path)
		}
		for _, l := range gotLeaves {
			if _, ok := want[l.path]; ok {
				gotOrder = append(gotOrder, l.path)
			}
		}
		if !slices.Equal(gotOrder, wantOrder) {
			t.Errorf("field order\n  %v\nwant\n  %v", gotOrder, wantOrder)
		}
	}
}

// TestSimulator_ENom_fixtures replays the scenario of each client fixture
// and checks the answer has the fixture's shape and values.
func TestSimulator_ENom_fixtures(t *testing.T) {
	const docDomain = "resellerdocs.com"
	addListing := func(b *enomBundle) {
		for i := 1; i <= 100; i++ {
			b.acct.AddDomain(fmt.Sprintf("example%03d.com", i), i%2 == 0)
		}
		b.acct.AddDomain("zeta.net", true)
		b.acct.AddDomain("zulu.co.uk", false)
	}
	tests := []struct {
		name     string
		opts     Options
		setup    func(b *enomBundle)
		request  string
		edit     func(url.Values)
		fixture  string
		prefix   bool
		ordered  bool
		wantLock *bool // the domain's lock afterwards, if it exists
	}{
		{name: "GetRegLock locked", setup: add(docDomain, true), request: "getreglock_locked", fixture: "getreglock_locked.xml", ordered: true},
		{name: "GetRegLock unlocked", setup: add(docDomain, false), request: "getreglock_locked", fixture: "getreglock_unlocked.xml", ordered: true},
		{name: "GetRegLock not lockable", opts: Options{NotLockableTLDs: []string{"com"}}, setup: add(docDomain, false), request: "getreglock_locked", fixture: "getreglock_notlockable.xml"},
		{name: "SetRegLock lock", setup: add(docDomain, false), request: "setreglock_lock", fixture: "setreglock_lock.xml", ordered: true, wantLock: ptr(true)},
		{name: "SetRegLock unlock", setup: add(docDomain, true), request: "setreglock_unlock", fixture: "setreglock_unlock.xml", ordered: true, wantLock: ptr(false)},
		{name: "SetRegLock already unlocked", setup: add(docDomain, false), request: "setreglock_unlock", fixture: "setreglock_alreadyunlocked.xml", wantLock: ptr(false)},
		{name: "SetRegLock already locked, default", setup: add(docDomain, true), request: "setreglock_lock", fixture: "setreglock_lock.xml", wantLock: ptr(true)},
		{name: "SetRegLock already locked fails", opts: Options{ENomLockWhenLockedFails: true}, setup: add(docDomain, true), request: "setreglock_lock", fixture: "setreglock_alreadylocked.xml", wantLock: ptr(true)},
		{name: "SetRegLock not lockable", opts: Options{NotLockableTLDs: []string{"com"}}, setup: add(docDomain, false), request: "setreglock_lock", fixture: "setreglock_notlockable.xml", wantLock: ptr(false)},
		{name: "bad password", setup: add(docDomain, true), request: "getreglock_locked", edit: func(v url.Values) { v.Set("pw", "wrong") }, fixture: "error_badauthnumber.xml"},
		{name: "unknown user", setup: add(docDomain, true), request: "getreglock_locked", edit: func(v url.Values) { v.Set("uid", "nobody") }, fixture: "error_badauthnumber.xml"},
		{name: "unknown domain", request: "getreglock_locked", fixture: "error_notfound.xml"},
		{name: "domain of another account", setup: func(b *enomBundle) {
			b.sim.AddAccount(ENom, "other", "otherpw").AddDomain(docDomain, true)
		}, request: "getreglock_locked", fixture: "error_notfound.xml"},
		{name: "GetDomains page 1", setup: addListing, request: "getdomains_page1", fixture: "getdomains_page1.xml", prefix: true},
		{name: "GetDomains page 2", setup: addListing, request: "getdomains_page2", fixture: "getdomains_page2.xml"},
		{name: "GetDomains empty", request: "getdomains_page1", fixture: "getdomains_empty.xml"},
		{name: "GetAllDomains", setup: func(b *enomBundle) {
			b.acct.AddDomain("resellerdocs.com", true)
			b.acct.AddDomain("resellerdocs2.net", false)
		}, request: "getalldomains_account", fixture: "getalldomains_account.xml"},
		{name: "FaultError", setup: func(b *enomBundle) { b.acct.FailNext(1, FaultError) }, request: "getreglock_locked", fixture: "error_generic.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := setupENom(t, tt.opts)
			if tt.setup != nil {
				tt.setup(b)
			}
			form := enomRequestFixture(t, tt.request)
			if tt.edit != nil {
				tt.edit(form)
			}
			status, header, body := b.post(t, form)
			if status != http.StatusOK {
				t.Fatalf("status %d, want 200 (eNom answers errors in the body)", status)
			}
			if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
				t.Errorf("Content-Type = %q, want text/xml", ct)
			}
			assertShape(t, body, tt.fixture, tt.prefix, tt.ordered)
			if tt.wantLock != nil {
				if locked, _ := b.sim.Locked(docDomain); locked != *tt.wantLock {
					t.Errorf("%s locked = %v afterwards, want %v", docDomain, locked, *tt.wantLock)
				}
			}
		})
	}
}

func add(name string, locked bool) func(b *enomBundle) {
	return func(b *enomBundle) { b.acct.AddDomain(name, locked) }
}

func ptr[T any](v T) *T { return &v }

// parseText reads a TEXT answer into its comment lines and name=value
// fields, in order.
func parseText(t *testing.T, body []byte) (comments []string, fields [][2]string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, ";") {
			comments = append(comments, line)
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("TEXT line without '=': %q", line)
		}
		fields = append(fields, [2]string{k, v})
	}
	return comments, fields
}

var htmlField = regexp.MustCompile(`^<STRONG>([^<]*)= </STRONG>(.*)<br />$`)

// parseHTML reads an HTML answer the same way.
func parseHTML(t *testing.T, body []byte) (comments []string, fields [][2]string) {
	t.Helper()
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ";"):
			comments = append(comments, strings.TrimSuffix(line, "<br>"))
		case line == "<HTML><BODY>" || line == "</BODY></HTML>":
		default:
			m := htmlField.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("HTML line of unknown shape: %q", line)
			}
			fields = append(fields, [2]string{m[1], m[2]})
		}
	}
	return comments, fields
}

// assertFields compares two answers' fields: the same names in the same
// order, the same values except volatile ones.
func assertFields(t *testing.T, got, want [][2]string) {
	t.Helper()
	names := func(fs [][2]string) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f[0])
		}
		return out
	}
	if !slices.Equal(names(got), names(want)) {
		t.Fatalf("fields\n  %v\nwant\n  %v", names(got), names(want))
	}
	for i, f := range want {
		if !isVolatile(f[0]) && got[i][1] != f[1] {
			t.Errorf("%s = %q, want %q", f[0], got[i][1], f[1])
		}
	}
}

// TestSimulator_ENom_textAndHTML checks the TEXT (default) and HTML answers
// against the GetRegLock document's examples, RegLock spelling included.
func TestSimulator_ENom_textAndHTML(t *testing.T) {
	seed := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := setupENom(t, Options{})
	b.acct.AddDomain("resellerdocs.com", false)
	base := "command=GetRegLock&uid=resellid&pw=resellpw&sld=resellerdocs&tld=com"
	for _, tt := range []struct{ name, query, fixture string }{
		{"TEXT by default", base, "enom_getreglock_unlocked.txt"},
		{"TEXT", base + "&ResponseType=Text", "enom_getreglock_unlocked.txt"},
		{"HTML", base + "&ResponseType=HTML", "enom_getreglock_unlocked.html"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			parse := parseText
			if strings.HasSuffix(tt.fixture, ".html") {
				parse = parseHTML
			}
			gotComments, got := parse(t, b.get(t, tt.query))
			wantComments, want := parse(t, seed(tt.fixture))
			if len(gotComments) != 3 || gotComments[0] != wantComments[0] || gotComments[2] != wantComments[2] ||
				!strings.HasPrefix(gotComments[1], ";Machine is ") {
				t.Errorf("comment lines %q, want the shape of %q", gotComments, wantComments)
			}
			assertFields(t, got, want)
		})
	}
}

func TestSimulator_ENom_textErrors(t *testing.T) {
	b := setupENom(t, Options{})
	_, fields := parseText(t, b.get(t, "command=GetRegLock&uid=resellid&pw=resellpw&sld=nosuch&tld=com"))
	m := map[string]string{}
	for _, f := range fields {
		m[f[0]] = f[1]
	}
	want := map[string]string{
		"ErrCount": "1", "Err1": "Domain name not found", "ResponseCount": "1",
		"ResponseNumber1": "316153", "ResponseString1": "Validation error; not found; domain name(s)",
		"Done": "true",
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
}

// TestSimulator_ENom_parameters: GET or POST, any case of names and values,
// query and body merged.
func TestSimulator_ENom_parameters(t *testing.T) {
	b := setupENom(t, Options{})
	b.acct.AddDomain("resellerdocs.com", true)
	checkLocked := func(t *testing.T, body []byte) {
		t.Helper()
		leaves, err := flattenXML(body)
		if err != nil {
			t.Fatalf("%v\n%s", err, body)
		}
		if v := leafValues(leaves)["reg-lock"]; !slices.Equal(v, []string{"1"}) {
			t.Errorf("reg-lock = %q, want 1\n%s", v, body)
		}
	}
	t.Run("GET mixed case", func(t *testing.T) {
		checkLocked(t, b.get(t, "Command=getreglock&UID=resellid&PW=resellpw&SLD=ResellerDocs&TLD=COM&responsetype=xml"))
	})
	t.Run("POST with query", func(t *testing.T) {
		resp, err := http.Post(b.url+"?command=GetRegLock&ResponseType=XML", "application/x-www-form-urlencoded",
			strings.NewReader("uid=resellid&pw=resellpw&sld=resellerdocs&tld=com"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		checkLocked(t, body)
	})
	t.Run("other methods", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPut, b.url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("PUT status %d, want 405", resp.StatusCode)
		}
	})
}

// enomErrs is the ErrCount and Err texts of an XML answer.
func enomErrs(t *testing.T, body []byte) []string {
	t.Helper()
	leaves, err := flattenXML(body)
	if err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	v := leafValues(leaves)
	var errs []string
	for _, l := range leaves {
		if strings.HasPrefix(l.path, "errors/Err") {
			errs = append(errs, l.value)
		}
	}
	if want := []string{fmt.Sprint(len(errs))}; !slices.Equal(v["ErrCount"], want) {
		t.Errorf("ErrCount = %q, want %q", v["ErrCount"], want)
	}
	return errs
}

func TestSimulator_ENom_badRequests(t *testing.T) {
	b := setupENom(t, Options{})
	b.acct.AddDomain("resellerdocs.com", true)
	tests := []struct{ name, query, wantErr string }{
		{"missing command", "uid=resellid&pw=resellpw", "Missing required parameter: command"},
		{"unknown command", "command=Purchase&uid=resellid&pw=resellpw", "Invalid command: Purchase"},
		{"missing sld", "command=GetRegLock&uid=resellid&pw=resellpw&tld=com", "Missing required parameter: SLD"},
		{"missing tld", "command=SetRegLock&uid=resellid&pw=resellpw&sld=resellerdocs&UnlockRegistrar=1", "Missing required parameter: TLD"},
		{"bad flag", "command=SetRegLock&uid=resellid&pw=resellpw&sld=resellerdocs&tld=com&UnlockRegistrar=yes", "Invalid value for UnlockRegistrar: use 0 to lock or 1 to unlock"},
		{"missing flag", "command=SetRegLock&uid=resellid&pw=resellpw&sld=resellerdocs&tld=com", "Invalid value for UnlockRegistrar: use 0 to lock or 1 to unlock"},
		{"no credentials", "command=GetRegLock&sld=resellerdocs&tld=com", "Bad User name or Password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := enomErrs(t, b.get(t, tt.query+"&ResponseType=XML"))
			if !slices.Equal(errs, []string{tt.wantErr}) {
				t.Errorf("errors = %q, want %q", errs, tt.wantErr)
			}
		})
	}
	if locked, _ := b.sim.Locked("resellerdocs.com"); !locked || b.sim.Writes("resellerdocs.com") != 0 {
		t.Errorf("bad requests changed the domain (locked %v, %d writes)", locked, b.sim.Writes("resellerdocs.com"))
	}
}

// A domain of another account is "not found", for writes too, and stays as
// it was.
func TestSimulator_ENom_otherAccount(t *testing.T) {
	b := setupENom(t, Options{})
	b.sim.AddAccount(ENom, "other", "otherpw").AddDomain("resellerdocs.com", true)
	for _, form := range []url.Values{enomRequestFixture(t, "setreglock_unlock"), enomRequestFixture(t, "getreglock_locked")} {
		_, _, body := b.post(t, form)
		if errs := enomErrs(t, body); !slices.Equal(errs, []string{enomNotFound}) {
			t.Errorf("%s: errors = %q, want %q", form.Get("command"), errs, enomNotFound)
		}
	}
	if locked, _ := b.sim.Locked("resellerdocs.com"); !locked || b.sim.Writes("resellerdocs.com") != 0 || b.sim.Reads("resellerdocs.com") != 0 {
		t.Error("another account's call touched the domain")
	}
}

func TestSimulator_ENom_counters(t *testing.T) {
	b := setupENom(t, Options{})
	b.acct.AddDomain("resellerdocs.com", false)
	lock := enomRequestFixture(t, "setreglock_lock")
	unlock := enomRequestFixture(t, "setreglock_unlock")
	read := enomRequestFixture(t, "getreglock_locked")
	for _, form := range []url.Values{read, lock, lock, unlock, unlock, read} {
		b.post(t, form)
	}
	if r, w := b.sim.Reads("resellerdocs.com"), b.sim.Writes("resellerdocs.com"); r != 2 || w != 4 {
		t.Errorf("reads, writes = %d, %d; want 2, 4 (the already-states count)", r, w)
	}
	if n := b.acct.Calls(); n != 6 {
		t.Errorf("Calls = %d, want 6", n)
	}
}

func TestSimulator_ENom_faults(t *testing.T) {
	tests := []struct {
		fault      Fault
		wantStatus int
		check      func(t *testing.T, h http.Header, body []byte)
	}{
		{FaultUnavailable, http.StatusServiceUnavailable, func(t *testing.T, h http.Header, body []byte) {
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("Service Unavailable")) {
				t.Errorf("want an HTML 503 page, got %q: %s", h.Get("Content-Type"), body)
			}
			if h.Get("Retry-After") != "" {
				t.Errorf("Retry-After = %q, want none", h.Get("Retry-After"))
			}
		}},
		{FaultBusy, http.StatusTooManyRequests, func(t *testing.T, h http.Header, body []byte) {
			if h.Get("Retry-After") != "1" {
				t.Errorf("Retry-After = %q, want 1", h.Get("Retry-After"))
			}
		}},
		{FaultError, http.StatusOK, func(t *testing.T, h http.Header, body []byte) {
			if errs := enomErrs(t, body); !slices.Equal(errs, []string{enomUnexpected}) {
				t.Errorf("errors = %q, want the unexpected-error text", errs)
			}
		}},
		{FaultMalformed, http.StatusOK, func(t *testing.T, h http.Header, body []byte) {
			if _, err := flattenXML(body); err == nil {
				t.Errorf("malformed answer parses:\n%s", body)
			}
			if bytes.Contains(body, []byte("Done")) || !bytes.HasPrefix(body, []byte("<?xml")) {
				t.Errorf("want an XML answer cut before Done:\n%s", body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault), func(t *testing.T) {
			b := setupENom(t, Options{})
			b.acct.AddDomain("resellerdocs.com", false)
			b.acct.FailNext(1, tt.fault)
			status, h, body := b.post(t, enomRequestFixture(t, "setreglock_lock"))
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", status, tt.wantStatus, body)
			}
			tt.check(t, h, body)
			if locked, _ := b.sim.Locked("resellerdocs.com"); locked || b.sim.Writes("resellerdocs.com") != 0 {
				t.Errorf("a faulted call changed the domain")
			}
			// The fault is used up: the next call is served.
			if status, _, body := b.post(t, enomRequestFixture(t, "setreglock_lock")); status != 200 || len(enomErrs(t, body)) != 0 {
				t.Errorf("call after the fault: %d %s", status, body)
			}
			log := b.sim.Log()
			if len(log) != 2 || log[0].Outcome != string(tt.fault) || log[1].Outcome != "ok" {
				t.Errorf("log = %+v, want the fault then ok", log)
			}
		})
	}
}

func TestSimulator_ENom_faultDrop(t *testing.T) {
	b := setupENom(t, Options{})
	b.acct.AddDomain("resellerdocs.com", true)
	b.acct.FailNext(1, FaultDrop)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.PostForm(b.url, enomRequestFixture(t, "getreglock_locked"))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("got HTTP %d, want the connection closed without an answer", resp.StatusCode)
	}
	if log := b.sim.Log(); len(log) != 1 || log[0].Outcome != string(FaultDrop) {
		t.Errorf("log = %+v, want one drop", log)
	}
}

func TestSimulator_ENom_latencyAndCancel(t *testing.T) {
	b := setupENom(t, Options{})
	b.acct.AddDomain("resellerdocs.com", true)
	b.acct.SetLatency(10 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, b.url, strings.NewReader(enomRequestFixture(t, "getreglock_locked").Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
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
			if log[0].Outcome != "canceled" {
				t.Errorf("outcome = %q, want canceled", log[0].Outcome)
			}
			if b.sim.Reads("resellerdocs.com") != 0 {
				t.Error("a canceled call read the domain")
			}
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Error("the canceled call was not logged")
}

// enomPage fetches one GetDomains page and returns its names and paging fields.
func enomPage(t *testing.T, b *enomBundle, params string) (names []string, fields map[string]string) {
	t.Helper()
	leaves, err := flattenXML(b.get(t, "command=GetDomains&uid=resellid&pw=resellpw&ResponseType=XML"+params))
	if err != nil {
		t.Fatal(err)
	}
	fields = map[string]string{}
	var sld string
	for _, l := range leaves {
		switch l.path {
		case "GetDomains/domain-list/domain/sld":
			sld = l.value
		case "GetDomains/domain-list/domain/tld":
			names = append(names, sld+"."+l.value)
		default:
			fields[l.path[strings.LastIndexByte(l.path, '/')+1:]] = l.value
		}
	}
	return names, fields
}

func TestSimulator_ENom_getDomainsPaging(t *testing.T) {
	b := setupENom(t, Options{})
	var want []string
	for i := range 250 {
		name := fmt.Sprintf("d%04d.co.uk", i)
		if i%2 == 0 {
			name = fmt.Sprintf("d%04d.com", i)
		}
		want = append(want, name)
		b.acct.AddDomain(name, i%3 == 0)
	}
	other := b.sim.AddAccount(ENom, "other", "otherpw")
	other.AddDomain("notmine.com", true)

	var got []string
	for _, page := range []struct {
		start, wantLen    int
		wantNext, wantEnd string
	}{{1, 100, "101", "100"}, {101, 100, "201", "200"}, {201, 50, "0", "250"}} {
		names, f := enomPage(t, b, fmt.Sprintf("&Tab=IOwn&Display=100&Start=%d", page.start))
		if len(names) != page.wantLen || f["NextRecords"] != page.wantNext || f["EndPosition"] != page.wantEnd || f["TotalDomainCount"] != "250" {
			t.Errorf("Start=%d: %d names, NextRecords %s, EndPosition %s, TotalDomainCount %s; want %d, %s, %s, 250",
				page.start, len(names), f["NextRecords"], f["EndPosition"], f["TotalDomainCount"], page.wantLen, page.wantNext, page.wantEnd)
		}
		got = append(got, names...)
	}
	slices.Sort(want)
	sorted := slices.Clone(got)
	slices.Sort(sorted)
	if !slices.Equal(sorted, want) {
		t.Errorf("listing has %d names, want the account's 250 exactly", len(got))
	}
	if !slices.IsSortedFunc(got, cmpBySLD) {
		t.Error("listing is not ordered by SLD")
	}

	for _, tt := range []struct {
		params  string
		wantLen int
	}{
		{"", 25}, {"&Display=0", 25}, {"&Display=500", 100}, {"&Start=251", 0}, {"&Start=-5", 25}, {"&Tab=WatchList", 0},
	} {
		if names, _ := enomPage(t, b, tt.params); len(names) != tt.wantLen {
			t.Errorf("GetDomains%s: %d names, want %d", tt.params, len(names), tt.wantLen)
		}
	}
}

func TestCmpBySLD(t *testing.T) {
	names := []string{"b.com", "a-b.com", "a.net", "a.com", "ab.com"}
	slices.SortFunc(names, cmpBySLD)
	want := []string{"a.com", "a.net", "a-b.com", "ab.com", "b.com"}
	if !slices.Equal(names, want) {
		t.Errorf("sorted %v, want %v", names, want)
	}
}

func TestSimulator_ENom_getAllDomains(t *testing.T) {
	b := setupENom(t, Options{})
	b.acct.AddDomain("b.com", true)
	b.acct.AddDomain("a.net", false)
	leaves, err := flattenXML(b.get(t, "command=GetAllDomains&uid=resellid&pw=resellpw&ResponseType=XML"))
	if err != nil {
		t.Fatal(err)
	}
	v := leafValues(leaves)
	if !slices.Equal(v["GetAllDomains/DomainDetail/DomainName"], []string{"a.net", "b.com"}) ||
		!slices.Equal(v["GetAllDomains/DomainDetail/lockstatus"], []string{"Not Locked", "Locked"}) ||
		!slices.Equal(v["GetAllDomains/domaincount"], []string{"2"}) {
		t.Errorf("GetAllDomains = %v", v)
	}
}

func TestSimulator_ENom_requestLog(t *testing.T) {
	b := setupENom(t, Options{})
	b.acct.AddDomain("resellerdocs.com", false)
	wrongPW := enomRequestFixture(t, "getreglock_locked")
	wrongPW.Set("pw", "nope")
	for _, form := range []url.Values{
		enomRequestFixture(t, "getreglock_locked"),
		enomRequestFixture(t, "setreglock_unlock"),
		enomRequestFixture(t, "setreglock_lock"),
		enomRequestFixture(t, "getdomains_page1"),
		wrongPW,
	} {
		b.post(t, form)
	}
	want := []Request{
		{Kind: ENom, Account: "resellid", Op: "GetRegLock", Domain: "resellerdocs.com", Outcome: "ok"},
		{Kind: ENom, Account: "resellid", Op: "SetRegLock", Domain: "resellerdocs.com", Write: true, Outcome: enomAlreadyUnlocked},
		{Kind: ENom, Account: "resellid", Op: "SetRegLock", Domain: "resellerdocs.com", Write: true, Outcome: "ok"},
		{Kind: ENom, Account: "resellid", Op: "GetDomains", Outcome: "ok"},
		{Kind: ENom, Account: "resellid", Op: "GetRegLock", Domain: "resellerdocs.com", Outcome: enomBadAuth},
	}
	got := b.sim.Log()
	if len(got) != len(want) {
		t.Fatalf("%d log entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g := got[i]
		if g.Seq == 0 || g.Time.IsZero() {
			t.Errorf("entry %d has no Seq or Time", i)
		}
		g.Seq, g.Time = 0, time.Time{}
		if g != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, g, want[i])
		}
	}
}

// TestSimulator_ENom_concurrent runs many clients at once, for the race
// detector, and checks no write is lost.
func TestSimulator_ENom_concurrent(t *testing.T) {
	b := setupENom(t, Options{})
	const workers, calls = 16, 25
	for w := range workers {
		b.acct.AddDomain(fmt.Sprintf("w%02d.com", w), false)
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			name := fmt.Sprintf("w%02d", w)
			for i := range calls {
				flag := fmt.Sprint(i % 2) // lock, unlock, lock, ...
				b.get(t, "command=SetRegLock&uid=resellid&pw=resellpw&ResponseType=XML&tld=com&UnlockRegistrar="+flag+"&sld="+name)
				b.get(t, "command=GetRegLock&uid=resellid&pw=resellpw&tld=com&sld="+name)
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

// BenchmarkSimulator_ENom_GetRegLock measures the hot path without the
// network: one XML GetRegLock in an inventory of 100,000 domains.
func BenchmarkSimulator_ENom_GetRegLock(b *testing.B) {
	sim := New(Options{LogSize: 1000})
	acct := sim.AddAccount(ENom, "resellid", "resellpw")
	for i := range 100000 {
		acct.AddDomain(fmt.Sprintf("d%06d.com", i), i%2 == 0)
	}
	h := sim.Handler()
	form := "command=GetRegLock&uid=resellid&pw=resellpw&sld=d004242&tld=com&ResponseType=XML"
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, "/enom/interface.asp", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatal(rec.Code)
			}
		}
	})
}

// FuzzServeENom sends arbitrary parameters, by GET and POST: the handler
// must not panic, must answer 200, and every XML answer must parse.
func FuzzServeENom(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join(enomFixtures, "*-request.txt"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(strings.TrimSpace(string(b)), true)
	}
	f.Add("command=GetDomains&uid=resellid&pw=resellpw&ResponseType=XML&Start=9223372036854775807&Display=100", false)
	f.Add("command=SetRegLock&uid=resellid&pw=resellpw&sld=a%3Cb&tld=com&UnlockRegistrar=1&ResponseType=HTML", false)
	f.Add("command=GetRegLock&UID=resellid&PW=resellpw&SLD=resellerdocs&TLD=.COM.&responsetype=xml", false)
	// Echoed parameters with characters XML forbids.
	f.Add("ResponseTYpe=XML&TAB=\x10&CommAnd=GetDomAins&pw=resellpw&uid=resellid", true)
	f.Add("ResponseType=XML&command=\xff\xfe%EF%BF%BE&pw=resellpw&uid=resellid", true)
	sim := New(Options{LogSize: 100, NotLockableTLDs: []string{"ch"}})
	acct := sim.AddAccount(ENom, "resellid", "resellpw")
	for _, name := range []string{"resellerdocs.com", "example.co.uk", "zeta.net", "mine.ch"} {
		acct.AddDomain(name, true)
	}
	h := sim.Handler()
	f.Fuzz(func(t *testing.T, params string, post bool) {
		var req *http.Request
		if post {
			req = httptest.NewRequest(http.MethodPost, "/enom/interface.asp", strings.NewReader(params))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		} else {
			req = httptest.NewRequest(http.MethodGet, "/enom/interface.asp", nil)
			req.URL.RawQuery = params
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Fatalf("status %d for %q", rec.Code, params)
		}
		if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/xml") {
			if _, err := flattenXML(rec.Body.Bytes()); err != nil {
				t.Fatalf("answer to %q does not parse: %v\n%s", params, err, rec.Body.Bytes())
			}
		}
	})
}
