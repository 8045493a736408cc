package ee

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// The authentication document's example identity.
var docEID = &EID{Ident: "30110100103", FirstName: "Jan", LastName: "Tamm"}

// fakeClock is an injected clock.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// The login fixture's token and expiry, and a clock two hours before it.
const fixtureSessionToken = "Q2lwaGVyVGV4dE9mVXNlcklkZW50QW5kRXhwaXJ5MjAxOA=="

var fixtureIssued = time.Date(2018, 7, 13, 9, 30, 51, 0, time.UTC)

func eidConfig(clock *fakeClock) func(*Config) {
	return func(c *Config) { c.Token, c.EID, c.Now = "", docEID, clock.Now }
}

func TestClient_eidLogin(t *testing.T) {
	clock := &fakeClock{t: fixtureIssued}
	c, f := setup(t, eidConfig(clock), ok(t, "auth_eid_success.json"), ok(t, "domains_resolve.json"), ok(t, "domain_show_locked.json"))
	st, err := c.LockState(context.Background(), "shop.test")
	if err != nil || !st.Locked {
		t.Fatalf("LockState = %+v, %v", st, err)
	}
	reqs := f.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want login, listing, GET", len(reqs))
	}
	assertRequest(t, reqs[0], wantRequest(t, "auth_eid"))
	for i, name := range []string{"domains_resolve", "domain_show"} {
		want := wantRequest(t, name)
		want.header["Authorization"] = "Bearer " + fixtureSessionToken
		assertRequest(t, reqs[i+1], want)
	}
}

func TestClient_eidLogin_countryCode(t *testing.T) {
	clock := &fakeClock{t: fixtureIssued}
	c, f := setup(t, func(c *Config) {
		c.Token, c.Now = "", clock.Now
		c.EID = &EID{Ident: "1234", FirstName: "John", LastName: "Smith", CountryCode: "us"}
	}, ok(t, "auth_eid_success.json"), ok(t, "domains_resolve.json"), ok(t, "domain_show_locked.json"))
	if _, err := c.LockState(context.Background(), "shop.test"); err != nil {
		t.Fatal(err)
	}
	if got := string(f.Requests()[0].Body); got != `{"ident":"1234","first_name":"John","last_name":"Smith","country_code":"US"}` {
		t.Errorf("login body = %s", got)
	}
}

func TestClient_eidLoginRefused(t *testing.T) {
	tests := []struct {
		name          string
		answer        providertest.Answer
		wantErr       error
		wantPermanent bool
		wantMsg       string
	}{
		{"address not allowed", providertest.Answer{Status: 401, Body: []byte(`{"errors":[{"base":["Not authorized"]}]}`)}, providers.ErrAuth, true, "allow-list"},
		{"parameter missing", providertest.Answer{Status: 422, Body: []byte(`{"errors":[{"ident":["parameter is required"]}]}`)}, providers.ErrAuth, true, "ident: parameter is required"},
		{"busy", providertest.Answer{Status: 503, Header: http.Header{"Retry-After": {"2"}}}, nil, false, "retry after 2s"},
		{"server error", providertest.Answer{Status: 500, Body: []byte(`{"status":500,"error":"Internal Server Error"}`)}, nil, false, "Internal Server Error"},
		// AuthController#eid renders this with status 200 when the token
		// cannot be created.
		{"200 without a token", providertest.Answer{Body: []byte(`{"errors":[{"base":["Cannot create generate session token"]}]}`)}, nil, false, "answered without a token: Cannot create generate session token"},
		{"no token", providertest.Answer{Body: []byte(`{"expires_at":"2018-07-13 11:30:51 UTC","type":"Bearer"}`)}, errMalformed, false, "no access_token"},
		{"truncated", providertest.Answer{Body: []byte(`{"access_token":"`)}, errTruncated, false, "eID login"},
		{"wrong endpoint", providertest.Answer{Status: 404, Body: []byte(`{"status":404,"error":"Not Found"}`)}, nil, true, "check Endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, f := setup(t, eidConfig(&fakeClock{t: fixtureIssued}), tt.answer)
			_, err := c.LockState(context.Background(), "shop.test")
			if err == nil {
				t.Fatal("LockState succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if providers.IsPermanent(err) != tt.wantPermanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, !tt.wantPermanent, tt.wantPermanent)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantMsg)
			}
			if n := len(f.Requests()); n != 1 {
				t.Errorf("%d requests, want the login only", n)
			}
		})
	}
}

// eidRegistry issues tokens valid for two hours of its clock and serves the
// fixtures to requests that carry a valid one: a route of the wire fake.
type eidRegistry struct {
	t     *testing.T
	clock *fakeClock

	mu     sync.Mutex
	logins int
	tokens map[string]time.Time
	// revoke makes the next n valid tokens be refused once each.
	revoke int
	// used is the token of each API request.
	used []string
}

func (f *eidRegistry) route(r providertest.Request) providertest.Answer {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Path == "/api/v1/registrant/auth/eid" {
		f.logins++
		tok := fmt.Sprintf("session-token-%d", f.logins)
		exp := f.clock.Now().Add(2 * time.Hour)
		f.tokens[tok] = exp
		return providertest.Answer{Body: fmt.Appendf(nil, `{"access_token":%q,"expires_at":%q,"type":"Bearer"}`, tok, exp.UTC().Format("2006-01-02 15:04:05")+" UTC")}
	}
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.used = append(f.used, tok)
	exp, ok := f.tokens[tok]
	if ok && f.revoke > 0 {
		f.revoke--
		delete(f.tokens, tok)
		ok = false
	}
	if !ok || !f.clock.Now().Before(exp) {
		return providertest.Answer{Status: http.StatusUnauthorized, Body: []byte(`{"errors":[{"base":["Not authorized"]}]}`)}
	}
	if r.Path == "/api/v1/registrant/domains" {
		return providertest.Fixture(f.t, "domains_resolve.json")
	}
	return providertest.Fixture(f.t, "domain_show_locked.json")
}

func (f *eidRegistry) counts() (logins int, used []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins, append([]string(nil), f.used...)
}

func setupEID(t *testing.T) (*Client, *eidRegistry, *fakeClock) {
	t.Helper()
	clock := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
	f := &eidRegistry{t: t, clock: clock, tokens: map[string]time.Time{}}
	w := providertest.NewWire(t)
	w.Route(f.route)
	c, err := New(Config{Endpoint: w.URL, EID: docEID, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return c, f, clock
}

func TestClient_eidRenewal(t *testing.T) {
	c, f, clock := setupEID(t)
	ctx := context.Background()
	read := func() {
		t.Helper()
		if _, err := c.LockState(ctx, "shop.test"); err != nil {
			t.Fatal(err)
		}
	}
	read()
	if n, _ := f.counts(); n != 1 {
		t.Fatalf("%d logins after the first call, want 1", n)
	}
	clock.Advance(time.Hour + 54*time.Minute)
	read()
	if n, _ := f.counts(); n != 1 {
		t.Fatalf("%d logins at 1h54m, want still 1", n)
	}
	// Five minutes before expiry the client logs in again.
	clock.Advance(2 * time.Minute)
	read()
	n, used := f.counts()
	if n != 2 || used[len(used)-1] != "session-token-2" {
		t.Fatalf("at 1h56m: %d logins, last token %q; want 2 and the new token", n, used[len(used)-1])
	}
	// Many callers at renewal time: one login.
	clock.Advance(2 * time.Hour)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := c.LockState(ctx, "shop.test"); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n, _ := f.counts(); n != 3 {
		t.Errorf("%d logins after 20 concurrent calls at renewal time, want 3", n)
	}
}

// A token the registry refuses early (a secret rotation, a restart) is
// replaced once; a second refusal is ErrAuth.
func TestClient_eidReloginOn401(t *testing.T) {
	c, f, _ := setupEID(t)
	f.revoke = 1
	if _, err := c.LockState(context.Background(), "shop.test"); err != nil {
		t.Fatalf("LockState after a revoked token = %v, want success after one new login", err)
	}
	if n, _ := f.counts(); n != 2 {
		t.Errorf("%d logins, want 2", n)
	}
	f.mu.Lock()
	f.revoke = 100
	f.mu.Unlock()
	_, err := c.LockState(context.Background(), "shop.test")
	providertest.AssertErr(t, err, providers.ErrAuth, true)
	if n, _ := f.counts(); n != 3 {
		t.Errorf("%d logins after a refused session, want exactly one more try (3)", n)
	}
}

// A static token is never replaced: 401 is ErrAuth at once.
func TestClient_staticTokenNoRelogin(t *testing.T) {
	c, f := setup(t, nil, status(t, 401, "error_401_not_authorized.json"))
	_, err := c.LockState(context.Background(), "shop.test")
	providertest.AssertErr(t, err, providers.ErrAuth, true)
	if n := len(f.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
