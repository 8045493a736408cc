package whmcs

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// Not found is permanent only when a reading taken after the request
// began says so. These tests start from a listing (the ids it saw are
// cached) taken before the request, and change the installation after it.

// lookupAnswer is a GetClientsDomains answer holding one record.
func lookupAnswer(id int, name string) providertest.Answer {
	return providertest.Answer{Body: fmt.Appendf(nil,
		`{"result":"success","clientid":"","domainid":"","totalresults":"1","startnumber":0,"numreturned":1,`+
			`"domains":{"domain":[{"id":%d,"userid":1,"domainname":%q,"status":"Active"}]}}`, id, name)}
}

// listed lists the installation of page1 and page2 (example.com,
// example.net, example.org, example.info, example.co.uk; ids 1 to 5) with
// a page size of 3, and returns the requests it took.
func listed(t *testing.T, c *Client) []url.Values {
	t.Helper()
	c.pageSize = 3
	names, errs := collect(c.Domains(context.Background()))
	if len(errs) != 0 || len(names) != 5 {
		t.Fatalf("listing = %v, %v", names, errs)
	}
	return []url.Values{wantRequest(t, "getclientsdomains_page1"), wantRequest(t, "getclientsdomains_page2")}
}

// lookupOf is the lookup request for name at page size 3.
func lookupOf(t *testing.T, name string) url.Values {
	return withParam(withParam(wantRequest(t, "getclientsdomains_domain"), "domain", name), "limitnum", "3")
}

// A domain registered after the listing was taken is not in it: that
// absence is no evidence, and a fresh lookup finds it.
func TestClient_registeredAfterTheListing_isLookedUp(t *testing.T) {
	c, w := setup(t, ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json"),
		lookupAnswer(6, "new.com"), ok(t, "domaingetlockingstatus_locked.json"))
	want := listed(t, c)
	st, err := c.LockState(context.Background(), "new.com")
	if err != nil || st != (providers.State{Locked: true, Indirect: true}) {
		t.Fatalf("LockState = %+v, %v; want locked", st, err)
	}
	want = append(want, lookupOf(t, "new.com"), withParam(wantRequest(t, "domaingetlockingstatus_locked"), "domainid", "6"))
	assertRequests(t, w, want...)
}

// Only a lookup made for this request may say "not found"; a listing that
// did not hold the name is never taken as saying so.
func TestClient_notFound_onlyFromALookupAfterTheRequest(t *testing.T) {
	c, w := setup(t, ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json"), ok(t, "getclientsdomains_notfound.json"))
	want := listed(t, c)
	for _, call := range []func() error{
		func() error { _, err := c.LockState(context.Background(), "nosuch.com"); return err },
		func() error { return c.SetLock(context.Background(), "nosuch.com", true) },
	} {
		providertest.AssertErr(t, call(), providers.ErrNotFound, true)
		// Each call looks again: absence is never cached.
		want = append(want, lookupOf(t, "nosuch.com"))
	}
	assertRequests(t, w, want...)
}

// A domain the listing saw under one id and that has moved since
// (transferred in again, a new record and id): its cached id is "Domain ID
// Not Found", so the name is looked up again, once, and the new id used
// and cached.
func TestClient_movedSinceTheListing_isLookedUpAgain(t *testing.T) {
	c, w := setup(t, ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json"),
		ok(t, "error_domainidnotfound.json"), lookupAnswer(9, "example.info"), ok(t, "domaingetlockingstatus_unlocked.json"),
		ok(t, "domaingetlockingstatus_locked.json"))
	want := listed(t, c)
	read := wantRequest(t, "domaingetlockingstatus_locked")
	st, err := c.LockState(context.Background(), "example.info")
	if err != nil || st != (providers.State{Indirect: true}) {
		t.Fatalf("LockState = %+v, %v; want unlocked", st, err)
	}
	if id, _ := c.ids.get("example.info"); id != 9 {
		t.Errorf("cached id %d, want the new 9", id)
	}
	if _, err := c.LockState(context.Background(), "example.info"); err != nil {
		t.Fatal(err)
	}
	want = append(want, withParam(read, "domainid", "4"), lookupOf(t, "example.info"), withParam(read, "domainid", "9"),
		withParam(read, "domainid", "9"))
	assertRequests(t, w, want...)
}

// The listing saw the domain; it is gone since: the cached id is unknown
// and the lookup made after the request finds nothing. That is not found.
func TestClient_goneSinceTheListing_isNotFound(t *testing.T) {
	c, w := setup(t, ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json"),
		ok(t, "error_domainidnotfound.json"), ok(t, "getclientsdomains_notfound.json"))
	want := listed(t, c)
	err := c.SetLock(context.Background(), "example.info", true)
	providertest.AssertErr(t, err, providers.ErrNotFound, true)
	want = append(want, withParam(withParam(wantRequest(t, "domainupdatelockingstatus_lock"), "domainid", "4"), "lockstatus", "1"),
		lookupOf(t, "example.info"))
	assertRequests(t, w, want...)
	if _, ok := c.ids.get("example.info"); ok {
		t.Error("the unknown id stayed cached")
	}
}

// A lookup whose answer is broken (it claims records and holds none) is no
// reading at all: the error is transient and never "not found", cold or
// after a stale id.
func TestClient_brokenLookupIsNotNotFound(t *testing.T) {
	t.Run("cold", func(t *testing.T) {
		c, w := setup(t, ok(t, "getclientsdomains_claimsempty.json"))
		_, err := c.LockState(context.Background(), docDomain)
		assertBrokenListing(t, err)
		assertRequests(t, w, wantRequest(t, "getclientsdomains_domain"))
		if c.ids.len() != 0 {
			t.Error("a broken lookup cached an id")
		}
	})
	t.Run("after a stale id", func(t *testing.T) {
		c, w := setup(t, ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_page2.json"),
			ok(t, "error_domainidnotfound.json"), ok(t, "getclientsdomains_claimsempty.json"))
		want := listed(t, c)
		err := c.SetLock(context.Background(), "example.info", false)
		assertBrokenListing(t, err)
		want = append(want, withParam(withParam(wantRequest(t, "domainupdatelockingstatus_unlock"), "domainid", "4"), "lockstatus", "0"),
			lookupOf(t, "example.info"))
		assertRequests(t, w, want...)
	})
}

func assertBrokenListing(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, errBrokenListing) || errors.Is(err, providers.ErrNotFound) || providers.IsPermanent(err) {
		t.Fatalf("err = %v, want a transient broken-listing error, not ErrNotFound", err)
	}
}

// A name held by more records than one page: every page is read before
// one is picked (the Active record, here on the second page).
func TestClient_lookupReadsEveryPage(t *testing.T) {
	c, w := setup(t, ok(t, "getclientsdomains_lookuppage1.json"), ok(t, "getclientsdomains_lookuppage2.json"), ok(t, "domaingetlockingstatus_locked.json"))
	c.pageSize = 2
	if _, err := c.LockState(context.Background(), docDomain); err != nil {
		t.Fatal(err)
	}
	assertRequests(t, w, wantRequest(t, "getclientsdomains_lookuppage1"), wantRequest(t, "getclientsdomains_lookuppage2"),
		withParam(wantRequest(t, "domaingetlockingstatus_locked"), "domainid", "7"))
}

// A broken WHMCS that keeps claiming more records for a name does not keep
// the lookup paging for ever.
func TestClient_lookupPagesBounded(t *testing.T) {
	w := providertest.NewWire(t)
	w.Route(func(r providertest.Request) providertest.Answer {
		return providertest.Answer{Body: fmt.Appendf(nil, `{"result":"success","totalresults":"1000","numreturned":1,`+
			`"domains":{"domain":[{"id":"%s1","domainname":"example.com","status":"Cancelled"}]}}`, r.Form().Get("limitstart"))}
	})
	c, err := New(Config{Endpoint: w.URL + "/includes/api.php", Identifier: testIdentifier, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.LockState(context.Background(), docDomain)
	assertBrokenListing(t, err)
	if n := len(w.Requests()); n != maxLookupPages {
		t.Errorf("%d requests, want %d", n, maxLookupPages)
	}
}

// The listing's counts are checked page by page (Case 5 of issue "Step
// 8"): a listing that claims results and yields none, or yields other than
// it claims, is an error, not an empty or shorter account.
func TestClient_listingCountsMustAgree(t *testing.T) {
	tests := []struct {
		name      string
		answers   func(t *testing.T) []providertest.Answer
		wantNames []string
	}{
		{"claims two, holds none", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{ok(t, "getclientsdomains_claimsempty.json")}
		}, nil},
		{"totalresults without numreturned, holds none", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{{Body: []byte(`{"result":"success","totalresults":2,"domains":{}}`)}}
		}, nil},
		{"numreturned disagrees with the entries", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{{Body: []byte(`{"result":"success","totalresults":3,"numreturned":3,` +
				`"domains":{"domain":[{"id":1,"domainname":"a.com"},{"id":2,"domainname":"b.com"}]}}`)}}
		}, nil},
		{"more entries than totalresults", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{{Body: []byte(`{"result":"success","totalresults":1,` +
				`"domains":{"domain":[{"id":1,"domainname":"a.com"},{"id":2,"domainname":"b.com"}]}}`)}}
		}, nil},
		{"a later page claims more and holds none", func(t *testing.T) []providertest.Answer {
			return []providertest.Answer{ok(t, "getclientsdomains_page1.json"), ok(t, "getclientsdomains_pastend.json")}
		}, []string{"example.com", "example.net", "example.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := setup(t, tt.answers(t)...)
			c.pageSize = 3
			names, errs := collect(c.Domains(context.Background()))
			if !slices.Equal(names, tt.wantNames) || len(errs) != 1 {
				t.Fatalf("Domains = %v, %v; want %v, then one error", names, errs, tt.wantNames)
			}
			assertBrokenListing(t, errs[0])
		})
	}
}

// Case 8 of issue "Step 8": every reading through WHMCS is Indirect, in
// JSON and in XML, locked or unlocked.
func TestClient_readingsAreIndirect(t *testing.T) {
	tests := []struct {
		name    string
		answers []string // after the lookup
		locked  bool
	}{
		{"locked", []string{"domaingetlockingstatus_locked.json"}, true},
		{"unlocked", []string{"domaingetlockingstatus_unlocked.json"}, false},
		{"locked, as XML", []string{"error_jsonencoding.json", "domaingetlockingstatus_locked.xml"}, true},
		{"unlocked, as XML", []string{"error_jsonencoding.json", "domaingetlockingstatus_unlocked.xml"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answers := []providertest.Answer{ok(t, "getclientsdomains_domain.json")}
			for _, a := range tt.answers {
				answers = append(answers, ok(t, a))
			}
			c, _ := setup(t, answers...)
			st, err := c.LockState(context.Background(), docDomain)
			if err != nil || st != (providers.State{Locked: tt.locked, Indirect: true}) {
				t.Errorf("LockState = %+v, %v; want Locked %v, Indirect", st, err, tt.locked)
			}
		})
	}
}
