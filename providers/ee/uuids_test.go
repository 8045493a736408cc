package ee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
	"github.com/reglock/reglock/providers/simulator"
)

// fakeAccount is a registrant's account behind the wire fake: the listing
// pages through its domains as the registry does ({total, count, domains},
// limit and offset), GET domains/{uuid} shows one, registry_lock locks.
type fakeAccount struct {
	t *testing.T

	mu      sync.Mutex
	names   []string          // listing order
	uuids   map[string]string // name -> UUID
	locked  map[string]bool
	listing int // listing pages served
}

func newFakeAccount(t *testing.T, names ...string) *fakeAccount {
	a := &fakeAccount{t: t, uuids: map[string]string{}, locked: map[string]bool{}}
	for _, n := range names {
		a.add(n)
	}
	return a
}

var uuidSeq atomic.Int64

// add registers name under a new UUID (again, if it was there: a transfer
// away and back in).
func (a *fakeAccount) add(name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", uuidSeq.Add(1))
	if _, ok := a.uuids[name]; !ok {
		a.names = append(a.names, name)
	}
	a.uuids[name] = id
	return id
}

func (a *fakeAccount) remove(name string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.uuids, name)
	a.names = slices.DeleteFunc(a.names, func(n string) bool { return n == name })
}

func (a *fakeAccount) object(name string) map[string]any {
	statuses, at := []string{"ok"}, any(nil)
	if a.locked[name] {
		statuses, at = []string{statusObjUpdateProhibited, statusDeleteProhibited, statusTransferProhibited}, "2026-03-01T12:00:00.000+02:00"
	}
	return map[string]any{"id": a.uuids[name], "name": name, "statuses": statuses, "locked_by_registrant_at": at}
}

func (a *fakeAccount) route(r providertest.Request) providertest.Answer {
	a.mu.Lock()
	defer a.mu.Unlock()
	const prefix = "/api/v1/registrant/domains"
	if r.Path == prefix {
		a.listing++
		q, _ := url.ParseQuery(r.RawQuery)
		limit, _ := strconv.Atoi(q.Get("limit"))
		offset, _ := strconv.Atoi(q.Get("offset"))
		page := []map[string]any{}
		for _, n := range a.names[min(offset, len(a.names)):min(offset+limit, len(a.names))] {
			page = append(page, a.object(n))
		}
		b, _ := json.Marshal(map[string]any{"total": len(a.names), "count": len(a.names), "domains": page})
		return providertest.Answer{Body: b}
	}
	id, lock, _ := strings.Cut(strings.TrimPrefix(r.Path, prefix+"/"), "/")
	for name, u := range a.uuids {
		if u != id {
			continue
		}
		if lock == "registry_lock" {
			// As the registry: locking a locked domain and unlocking an
			// unlocked one are refused.
			switch lk := r.Method == http.MethodPost; {
			case lk && a.locked[name]:
				return providertest.Answer{Status: http.StatusUnprocessableEntity, Body: []byte(`{"errors":[{"base":["Domain cannot be locked"]}]}`)}
			case !lk && !a.locked[name]:
				return providertest.Answer{Status: http.StatusUnprocessableEntity, Body: []byte(`{"errors":[{"base":["Domain is not locked"]}]}`)}
			}
			a.locked[name] = r.Method == http.MethodPost
		}
		b, _ := json.Marshal(a.object(name))
		return providertest.Answer{Body: b}
	}
	return providertest.Answer{Status: http.StatusNotFound, Body: []byte(`{"errors":[{"base":["Domain not found"]}]}`)}
}

func (a *fakeAccount) listings() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.listing
}

// setupAccount serves acct through the wire fake to a client on clock,
// listing pageSize domains a page.
func setupAccount(t *testing.T, acct *fakeAccount, clock *fakeClock, pageSize int) (*Client, *providertest.Wire) {
	t.Helper()
	w := providertest.NewWire(t)
	w.Route(acct.route)
	c, err := New(Config{Endpoint: w.URL, Token: testToken, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c.pageSize = pageSize
	return c, w
}

// requestLine is "GET /api/v1/registrant/domains" or ".../domains/{uuid}".
func requestLines(w *providertest.Wire, from int) []string {
	var out []string
	for _, r := range w.Requests()[from:] {
		out = append(out, r.Method+" "+strings.TrimPrefix(r.Path, "/api/v1/registrant"))
	}
	return out
}

// Case 1 of step 8: a domain registered moments before its lock request is
// missing from the listing the client cached; that listing began before
// the request, so it is no evidence that the account does not hold the
// domain. The client lists again within the call, or, when the next
// listing is not allowed yet, says "retry after"; never ErrNotFound.
func TestClient_domainRegisteredAfterTheLastListing(t *testing.T) {
	ctx := context.Background()
	t.Run("one page: listed again within the call", func(t *testing.T) {
		acct := newFakeAccount(t, "shop.test", "airport.test")
		c, w := setupAccount(t, acct, &fakeClock{t: fixtureIssued}, pageSize)
		if _, err := c.LockState(ctx, "shop.test"); err != nil {
			t.Fatal(err)
		}
		id := acct.add("fresh.test") // registered just now
		n := len(w.Requests())
		st, err := c.LockState(ctx, "fresh.test")
		if err != nil || st != (providers.State{}) {
			t.Fatalf("LockState of a domain registered after the last listing = %+v, %v; want it read", st, err)
		}
		if got, want := requestLines(w, n), []string{"GET /domains", "GET /domains/" + id}; !slices.Equal(got, want) {
			t.Errorf("requests = %v, want %v", got, want)
		}
		if err := c.SetLock(ctx, "fresh.test", true); err != nil {
			t.Errorf("SetLock = %v", err)
		}
	})
	t.Run("through the simulator", func(t *testing.T) {
		sim := simulator.New(simulator.Options{})
		acct := sim.AddAccount(simulator.EE, "EE-38903110313", "ee-static-token-s3cr3t-value")
		acct.AddDomain("old.ee", true)
		srv := httptest.NewServer(sim.Handler())
		t.Cleanup(srv.Close)
		c, err := New(Config{Endpoint: srv.URL + "/ee", Token: "ee-static-token-s3cr3t-value"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.LockState(ctx, "old.ee"); err != nil {
			t.Fatal(err)
		}
		acct.AddDomain("fresh.ee", false) // registered, then its lock asked for
		if err := c.SetLock(ctx, "fresh.ee", true); err != nil {
			t.Fatalf("SetLock of a domain registered after the last listing = %v", err)
		}
		if st, err := c.LockState(ctx, "fresh.ee"); err != nil || st != (providers.State{Locked: true}) {
			t.Errorf("LockState = %+v, %v; want locked", st, err)
		}
	})
	t.Run("many pages: retry after, then found", func(t *testing.T) {
		clock := &fakeClock{t: fixtureIssued}
		acct := newFakeAccount(t, "a.test", "b.test", "c.test", "d.test", "e.test") // 3 pages of 2
		c, w := setupAccount(t, acct, clock, 2)
		if _, err := c.LockState(ctx, "a.test"); err != nil {
			t.Fatal(err)
		}
		id := acct.add("fresh.test")
		n := len(w.Requests())
		clock.Advance(500 * time.Millisecond)
		_, err := c.LockState(ctx, "fresh.test")
		var ra *providers.RetryAfterError
		if !errors.As(err, &ra) || errors.Is(err, providers.ErrNotFound) || providers.IsPermanent(err) {
			t.Fatalf("LockState = %v, want a *RetryAfterError, not ErrNotFound", err)
		}
		// Three pages: the next listing may begin 2 s after the last began.
		if ra.After != 1500*time.Millisecond || !strings.Contains(err.Error(), "registered since") || !strings.Contains(err.Error(), "allowed in 1.5s") {
			t.Errorf("err = %v (after %v), want a retry in 1.5s that says why", err, ra.After)
		}
		if got := requestLines(w, n); len(got) != 0 {
			t.Errorf("requests = %v, want none before the next listing is allowed", got)
		}
		clock.Advance(ra.After)
		if _, err := c.LockState(ctx, "fresh.test"); err != nil {
			t.Fatalf("LockState after the retry = %v", err)
		}
		want := []string{"GET /domains", "GET /domains", "GET /domains", "GET /domains/" + id}
		if got := requestLines(w, n); !slices.Equal(got, want) {
			t.Errorf("requests = %v, want a listing of 3 pages and the GET: %v", got, want)
		}
	})
	t.Run("a domain the account does not hold is not found on fresh evidence", func(t *testing.T) {
		clock := &fakeClock{t: fixtureIssued}
		acct := newFakeAccount(t, "a.test", "b.test", "c.test")
		c, _ := setupAccount(t, acct, clock, 2)
		_, err := c.LockState(ctx, "nowhere.test") // cold: lists, within the call
		providertest.AssertErr(t, err, providers.ErrNotFound, true)
		_, err = c.LockState(ctx, "nowhere.test") // the listing began before this call
		var ra *providers.RetryAfterError
		if !errors.As(err, &ra) || errors.Is(err, providers.ErrNotFound) {
			t.Fatalf("second LockState = %v, want a *RetryAfterError", err)
		}
		// Someone else's call lists the account before the retry: it began
		// after the first attempt, so it answers for the retry.
		clock.Advance(ra.After)
		if _, err := c.LockState(ctx, "other.test"); !errors.Is(err, providers.ErrNotFound) {
			t.Fatalf("LockState(other.test) = %v", err)
		}
		before := acct.listings()
		_, err = c.LockState(ctx, "nowhere.test")
		providertest.AssertErr(t, err, providers.ErrNotFound, true)
		if acct.listings() != before {
			t.Errorf("the retry listed again; the listing begun after its first attempt answers for it")
		}
	})
}

// A cached UUID that the registry answers 404 for: the domain was
// transferred away and back in under a new UUID. The client looks the name
// up again once, even before the next listing would be allowed, and reads
// the domain under its new UUID; a domain gone for good is ErrNotFound.
func TestClient_staleUUID(t *testing.T) {
	ctx := context.Background()
	clock := &fakeClock{t: fixtureIssued}
	acct := newFakeAccount(t, "a.test", "b.test", "shop.test", "c.test", "d.test") // 3 pages of 2
	c, w := setupAccount(t, acct, clock, 2)
	if _, err := c.LockState(ctx, "shop.test"); err != nil {
		t.Fatal(err)
	}
	old, _ := c.uuids.cached("shop.test")
	id := acct.add("shop.test")
	n := len(w.Requests())
	if err := c.SetLock(ctx, "shop.test", true); err != nil {
		t.Fatalf("SetLock after the UUID changed = %v", err)
	}
	want := []string{"POST /domains/" + old + "/registry_lock", "GET /domains", "GET /domains", "GET /domains", "POST /domains/" + id + "/registry_lock"}
	if got := requestLines(w, n); !slices.Equal(got, want) {
		t.Errorf("requests = %v\nwant       %v", got, want)
	}
	// The hint a sweep passes back can be stale too.
	hinted := providers.WithRegistrarID(ctx, "shop.test", old)
	if st, err := c.LockState(hinted, "shop.test"); err != nil || !st.Locked {
		t.Errorf("LockState with a stale hint = %+v, %v", st, err)
	}
	// Gone for good: a listing after the 404 does not have it.
	acct.remove("shop.test")
	_, err := c.LockState(ctx, "shop.test")
	providertest.AssertErr(t, err, providers.ErrNotFound, true)
}

// Case 2 of step 8: every request takes a rate-limit slot, the UUID
// lookups on the lock path included, with cold caches: a counting pacer
// sees as many slots taken as the registry sees requests.
func TestClient_everyRequestIsPaced(t *testing.T) {
	acctNames := []string{"a.test", "b.test", "shop.test", "c.test", "d.test"}
	cases := []struct {
		name string
		eid  bool
		call func(ctx context.Context, c *Client) error
	}{
		{"LockState", false, func(ctx context.Context, c *Client) error {
			_, err := c.LockState(ctx, "shop.test")
			return err
		}},
		{"SetLock", false, func(ctx context.Context, c *Client) error { return c.SetLock(ctx, "shop.test", true) }},
		{"SetLock refused, read back", false, func(ctx context.Context, c *Client) error {
			return c.SetLock(ctx, "shop.test", false) // 422, then a GET
		}},
		{"unknown domain", false, func(ctx context.Context, c *Client) error {
			if _, err := c.LockState(ctx, "nowhere.test"); !errors.Is(err, providers.ErrNotFound) {
				return fmt.Errorf("LockState(nowhere.test) = %v", err)
			}
			return nil
		}},
		{"stale hint", false, func(ctx context.Context, c *Client) error {
			_, err := c.LockState(providers.WithRegistrarID(ctx, "shop.test", "00000000-0000-4000-8000-999999999999"), "shop.test")
			return err
		}},
		{"LockStates", false, func(ctx context.Context, c *Client) error {
			_, errs := collect(c.LockStates(ctx))
			return errors.Join(errs...)
		}},
		{"Domains", false, func(ctx context.Context, c *Client) error {
			_, errs := collect(c.Domains(ctx))
			return errors.Join(errs...)
		}},
		{"eID login", true, func(ctx context.Context, c *Client) error {
			_, err := c.LockState(ctx, "shop.test")
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			acct := newFakeAccount(t, acctNames...)
			w := providertest.NewWire(t)
			w.Route(func(r providertest.Request) providertest.Answer {
				if r.Path == "/api/v1/registrant/auth/eid" {
					return providertest.Fixture(t, "auth_eid_success.json")
				}
				return acct.route(r)
			})
			cfg := Config{Endpoint: w.URL, Token: testToken, Now: (&fakeClock{t: fixtureIssued}).Now}
			if tc.eid {
				cfg.Token, cfg.EID = "", docEID
			}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.pageSize = 2
			var slots atomic.Int64
			ctx := providers.WithPacer(context.Background(), func(ctx context.Context) error { slots.Add(1); return ctx.Err() })
			if err := tc.call(ctx, c); err != nil {
				t.Fatal(err)
			}
			if sent := int64(len(w.Requests())); sent == 0 || sent != slots.Load() {
				t.Errorf("%d requests sent, %d rate-limit slots taken; want one slot per request", sent, slots.Load())
			}
		})
	}
}

// Concurrent callers that miss the cache share one listing.
func TestClient_uuidCache_singleListing(t *testing.T) {
	var lists atomic.Int64
	release := make(chan struct{})
	w := providertest.NewWire(t)
	w.Route(func(r providertest.Request) providertest.Answer {
		if r.Path == "/api/v1/registrant/domains" {
			lists.Add(1)
			<-release
			return providertest.Fixture(t, "domains_resolve.json")
		}
		return providertest.Fixture(t, "domain_show_locked.json")
	})
	c, err := New(Config{Endpoint: w.URL, Token: testToken})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := c.LockState(context.Background(), "shop.test"); err != nil {
				t.Error(err)
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	close(release)
	wg.Wait()
	if n := lists.Load(); n != 1 {
		t.Errorf("%d listings for 10 concurrent misses, want 1", n)
	}
}

// The spacing of listings grows with their pages, up to a minute.
func TestUUIDCache_spacing(t *testing.T) {
	for pages, want := range map[int]time.Duration{0: 0, 1: 0, 2: time.Second, 3: 2 * time.Second, 61: time.Minute, 5000: time.Minute} {
		u := &uuidCache{lastPages: pages}
		if got := u.spacing(); got != want {
			t.Errorf("spacing after %d pages = %v, want %v", pages, got, want)
		}
	}
}
