package api_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
)

// scopeToken is a token of the scope tests; providers nil: unlimited.
type scopeToken struct {
	name, token string
	providers   []string
}

func (t scopeToken) may(provider string) bool {
	return t.providers == nil || slices.Contains(t.providers, provider)
}

var (
	opsToken    = scopeToken{"ops", "ops-token-0123456789abcdef", nil}
	brandAToken = scopeToken{"brand-a", "brand-a-token-0123456789abcdef", []string{"enom-a", "opensrs-a"}}
	brandBToken = scopeToken{"brand-b", "brand-b-token-0123456789abcdef", []string{"enom-b"}}
	scopeTokens = []scopeToken{opsToken, brandAToken, brandBToken}
	// scopeProviders route .com, .net and .org; .io has no route.
	scopeProviders = []string{"enom-a", "opensrs-a", "enom-b"}
	scopeTLDs      = []string{"com", "net", "org", "io"}
)

// setupScoped serves three providers and the tokens above (all admin).
func setupScoped(t *testing.T) *bundle {
	t.Helper()
	env := redistest.New(t)
	cfg := &config.Config{Providers: []config.Provider{
		{Name: "enom-a", Type: "enom", TLDs: []string{"com"}},
		{Name: "opensrs-a", Type: "opensrs", TLDs: []string{"net"}},
		{Name: "enom-b", Type: "enom", TLDs: []string{"org"}},
	}}
	sys := system.New(system.Options{Config: cfg, Redis: env.Client, Namespace: env.Namespace, Log: zerolog.New(zerolog.NewTestWriter(t))})
	b := &bundle{t: t, store: sys.Store, intents: sys.Intents, queues: tasks.Namespace(env.Namespace), sys: sys}
	b.insp = asynq.NewInspectorFromRedisClient(env.Client)
	var tokens []config.Token
	for _, st := range scopeTokens {
		tokens = append(tokens, config.Token{Name: st.name, Token: secret.String(st.token), Providers: st.providers})
	}
	hs := httptest.NewServer(sys.API(tokens).Handler())
	t.Cleanup(hs.Close)
	b.url = hs.URL
	return b
}

// trace is what a request may have changed about one domain: its record
// and its history.
type trace struct {
	exists     bool
	provider   string
	generation int64
	events     int
	newest     string
}

func (b *bundle) trace(domain string) trace {
	b.t.Helper()
	ctx := context.Background()
	var tr trace
	d, err := b.store.Get(ctx, domain)
	switch {
	case err == nil:
		tr.exists, tr.provider, tr.generation = true, d.Desired.Provider, d.Desired.Generation
	case err != store.ErrNotFound:
		b.t.Fatal(err)
	}
	events, _, err := b.sys.Audit.History(ctx, domain, "", 1000)
	if err != nil {
		b.t.Fatal(err)
	}
	tr.events = len(events)
	if len(events) > 0 {
		tr.newest = events[0].ID
	}
	return tr
}

func (b *bundle) queued() int {
	b.t.Helper()
	info, err := b.insp.GetQueueInfo(b.queues.Queue(tasks.QueueChanges))
	if err != nil {
		return 0
	}
	return info.Size
}

// scopeRequest is one random domain-scoped request.
type scopeRequest struct {
	method, path, body string
	write              bool
}

func randomRequest(rng *rand.Rand, domain string) scopeRequest {
	provider := ""
	if rng.IntN(3) == 0 {
		provider = scopeProviders[rng.IntN(len(scopeProviders))]
	}
	switch rng.IntN(7) {
	case 0:
		return scopeRequest{"GET", "/v1/domains/" + domain, "", false}
	case 1:
		return scopeRequest{"GET", "/v1/domains/" + domain + "/history", "", false}
	case 2:
		return scopeRequest{"DELETE", "/v1/domains/" + domain, `{"reason":"gone"}`, true}
	case 3:
		return scopeRequest{"DELETE", "/v1/domains/" + domain + "/lock", fmt.Sprintf(`{"provider":%q,"relock_after":"1h"}`, provider), true}
	case 4:
		return scopeRequest{"PUT", "/v1/domains/" + domain + "/trade-lock", fmt.Sprintf(`{"enable":true,"consent_ip":"192.0.2.1","provider":%q}`, provider), true}
	default:
		return scopeRequest{"POST", "/v1/domains/" + domain + "/lock", fmt.Sprintf(`{"provider":%q}`, provider), true}
	}
}

// TestScope_property: for random tokens and requests on domains across
// three providers, a limited token never sees or changes a domain outside
// its providers, gets the answer of a domain that does not exist for one
// that exists elsewhere, records nothing when refused, and every write is
// recorded with its token.
func TestScope_property(t *testing.T) {
	b := setupScoped(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 42))

	var pool []string
	for i := range 24 {
		pool = append(pool, fmt.Sprintf("d%d.%s", i, scopeTLDs[i%len(scopeTLDs)]))
	}
	// Record about half of them, under random providers (not only their route).
	for _, d := range pool {
		if rng.IntN(2) == 0 {
			p := scopeProviders[rng.IntN(len(scopeProviders))]
			if code, out := b.call("POST", "/v1/domains/"+d+"/lock", opsToken.token, fmt.Sprintf(`{"provider":%q}`, p)); code != 202 {
				t.Fatalf("seed %s under %s: %d %v", d, p, code, out)
			}
		}
	}

	ghosts := 0
	for i := range 300 {
		tok := scopeTokens[rng.IntN(len(scopeTokens))]
		domain := pool[rng.IntN(len(pool))]
		req := randomRequest(rng, domain)
		before := b.trace(domain)

		// The answer a domain that does not exist gets, with the same TLD.
		var ghostCode int
		var ghostOut map[string]any
		ghost := ""
		hidden := tok.providers != nil && before.exists && !tok.may(before.provider)
		if hidden {
			ghosts++
			ghost = fmt.Sprintf("ghost%d.%s", ghosts, domain[strings.IndexByte(domain, '.')+1:])
			greq := req
			greq.path = strings.Replace(req.path, domain, ghost, 1)
			ghostCode, ghostOut = b.call(greq.method, greq.path, tok.token, greq.body)
			if ghostCode/100 == 2 && req.write {
				b.call("DELETE", "/v1/domains/"+ghost, opsToken.token, "")
			}
		}

		queuedBefore := b.queued()
		code, out := b.call(req.method, req.path, tok.token, req.body)
		after := b.trace(domain)
		what := fmt.Sprintf("#%d %s %s %s %s (before %+v): %d %v", i, tok.name, req.method, req.path, req.body, before, code, out)

		if code/100 != 2 {
			if after != before || b.queued() != queuedBefore {
				t.Fatalf("%s: refused, yet recorded (after %+v, queued %d → %d)", what, after, queuedBefore, b.queued())
			}
		}
		if tok.providers != nil && code/100 == 2 {
			if before.exists && !tok.may(before.provider) {
				t.Fatalf("%s: a limited token reached a domain of another provider", what)
			}
			if after.exists && !tok.may(after.provider) {
				t.Fatalf("%s: a limited token recorded a domain under another provider", what)
			}
			if p, ok := out["provider"].(string); ok && !tok.may(p) {
				t.Fatalf("%s: shown another provider's domain", what)
			}
		}
		if hidden {
			ghostMsg := strings.ReplaceAll(errMessage(ghostOut), ghost, domain)
			switch {
			case ghostCode/100 == 2 && req.write:
				// The one case that cannot be hidden: a name has one holder.
				if code != 403 || errCode(out) != "forbidden_provider" {
					t.Fatalf("%s: want 403 forbidden_provider (a new domain is accepted: %d %v)", what, ghostCode, ghostOut)
				}
			case code != ghostCode || errCode(out) != errCode(ghostOut) || errMessage(out) != ghostMsg:
				t.Fatalf("%s: a domain that does not exist gets %d %v", what, ghostCode, ghostOut)
			}
			if strings.Contains(fmt.Sprint(out), before.provider) && !strings.Contains(fmt.Sprint(ghostOut), before.provider) {
				t.Fatalf("%s: the answer names the domain's provider", what)
			}
		}
		if code/100 == 2 && req.write {
			// The history records the token that asked.
			events, _, err := b.sys.Audit.History(context.Background(), domain, "", 1)
			if err != nil || len(events) == 0 {
				t.Fatalf("%s: no history (%v)", what, err)
			}
			if events[0].ID != before.newest && events[0].Token != tok.name {
				t.Fatalf("%s: newest history event %+v does not name token %s", what, events[0], tok.name)
			}
		}

		// Listings show only the token's providers.
		if rng.IntN(10) == 0 {
			b.checkListings(tok, what)
		}
	}
	for _, tok := range scopeTokens {
		b.checkListings(tok, "at the end")
	}
	t.Logf("%d requests on domains of another provider compared with a domain that does not exist", ghosts)
	if ghosts == 0 {
		t.Fatal("no request by a limited token on another provider's domain: the test proves nothing")
	}
}

// checkListings holds a token's listings (all pages, drift too) and its
// compliance report to its providers, and an unlimited token's to all.
func (b *bundle) checkListings(tok scopeToken, what string) {
	b.t.Helper()
	ctx := context.Background()
	want := map[string]string{}
	p, err := b.store.List(ctx, store.ListOptions{Limit: 1000})
	for ; ; p, err = b.store.List(ctx, store.ListOptions{Limit: 1000, Cursor: p.Next}) {
		if err != nil {
			b.t.Fatal(err)
		}
		for _, d := range p.Domains {
			if tok.may(d.Desired.Provider) {
				want[d.Name] = d.Desired.Provider
			}
		}
		if p.Next == "" {
			break
		}
	}
	for _, q := range []string{"?limit=3", "?drift=true&limit=5"} {
		got := map[string]string{}
		path := "/v1/domains" + q
		for {
			code, out := b.call("GET", path, tok.token, "")
			if code != 200 {
				b.t.Fatalf("%s: %s GET %s: %d %v", what, tok.name, path, code, out)
			}
			doms, _ := out["domains"].([]any)
			for _, d := range doms {
				m := d.(map[string]any)
				name, prov := m["domain"].(string), m["provider"].(string)
				if !tok.may(prov) {
					b.t.Fatalf("%s: %s lists %s of %s", what, tok.name, name, prov)
				}
				got[name] = prov
			}
			next, _ := out["next_cursor"].(string)
			if next == "" {
				break
			}
			path = "/v1/domains" + q + "&cursor=" + next
		}
		if q == "?limit=3" && !maps_equal(got, want) {
			b.t.Fatalf("%s: %s lists %v, want %v", what, tok.name, got, want)
		}
	}
	code, out := b.call("GET", "/v1/compliance", tok.token, "")
	if code != 200 {
		b.t.Fatalf("%s: compliance: %d %v", what, code, out)
	}
	var provs []string
	for _, pc := range out["providers"].([]any) {
		provs = append(provs, pc.(map[string]any)["provider"].(string))
	}
	wantProvs := []string{}
	for _, p := range scopeProviders {
		if tok.may(p) {
			wantProvs = append(wantProvs, p)
		}
	}
	slices.Sort(provs)
	slices.Sort(wantProvs)
	if !slices.Equal(provs, wantProvs) {
		b.t.Fatalf("%s: %s compliance covers %v, want %v", what, tok.name, provs, wantProvs)
	}
	for _, other := range scopeProviders {
		if !tok.may(other) {
			if code, out := b.call("GET", "/v1/domains?provider="+other, tok.token, ""); code != 403 || errCode(out) != "forbidden_provider" {
				b.t.Fatalf("%s: %s lists provider %s: %d %v", what, tok.name, other, code, out)
			}
		}
	}
}

func maps_equal(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestScope_routing: a limited token's lock for a new domain routes by
// TLD and is refused, recording nothing, when the route is outside its
// providers; the same for a domain held under another provider.
func TestScope_routing(t *testing.T) {
	b := setupScoped(t)
	code, out := b.call("POST", "/v1/domains/brand-b.org/lock", brandAToken.token, "")
	if code != 403 || errCode(out) != "forbidden_provider" || errMessage(out) != "token brand-a may act only on domains of enom-a, opensrs-a" {
		t.Fatalf("route outside: %d %v", code, out)
	}
	b.nothingRecorded()
	code, out = b.call("POST", "/v1/domains/brand-b.io/lock", brandAToken.token, "")
	if code != 422 || errCode(out) != "provider_required" {
		t.Fatalf("no route: %d %v", code, out)
	}
	code, out = b.call("POST", "/v1/domains/brand-b.com/lock", brandAToken.token, `{"provider":"enom-b"}`)
	if code != 403 || errCode(out) != "forbidden_provider" {
		t.Fatalf("provider outside: %d %v", code, out)
	}
	b.nothingRecorded()

	// Routed inside: recorded under the route, with the token in the history.
	code, out = b.call("POST", "/v1/domains/brand-a.net/lock", brandAToken.token, "")
	if code != 202 {
		t.Fatalf("route inside: %d %v", code, out)
	}
	code, out = b.call("GET", "/v1/domains/brand-a.net", brandAToken.token, "")
	if code != 200 || out["provider"] != "opensrs-a" {
		t.Fatalf("get: %d %v", code, out)
	}
	code, out = b.call("GET", "/v1/domains/brand-a.net/history", brandAToken.token, "")
	if ev := out["events"].([]any); code != 200 || ev[0].(map[string]any)["token"] != "brand-a" {
		t.Fatalf("history: %d %v", code, out)
	}

	// Held by another brand: its reads are those of an unknown domain.
	if code, out := b.call("POST", "/v1/domains/held.com/lock", brandBToken.token, `{"provider":"enom-b"}`); code != 202 {
		t.Fatalf("brand-b: %d %v", code, out)
	}
	for _, path := range []string{"/v1/domains/held.com", "/v1/domains/held.com/history"} {
		code, out := b.call("GET", path, brandAToken.token, "")
		if code != 404 || errMessage(out) != "held.com is not in the inventory" {
			t.Fatalf("%s: %d %v", path, code, out)
		}
	}
	code, out = b.call("DELETE", "/v1/domains/held.com", brandAToken.token, "")
	if code != 404 || errMessage(out) != "held.com is not in the inventory" {
		t.Fatalf("forget: %d %v", code, out)
	}
	// Routed (.com) to brand-a's enom-a: a name has one holder; the answer
	// does not name it.
	code, out = b.call("POST", "/v1/domains/held.com/lock", brandAToken.token, "")
	if code != 403 || errCode(out) != "forbidden_provider" || strings.Contains(errMessage(out), "enom-b") {
		t.Fatalf("lock held: %d %v", code, out)
	}
	// The unlimited token sees all.
	if code, out := b.call("GET", "/v1/domains/held.com", opsToken.token, ""); code != 200 || out["provider"] != "enom-b" {
		t.Fatalf("ops: %d %v", code, out)
	}
	if code, out := b.call("POST", "/v1/domains/held.com/lock", opsToken.token, `{"provider":"enom-a"}`); code != 409 || errCode(out) != "provider_conflict" {
		t.Fatalf("ops conflict: %d %v", code, out)
	}
}

// TestScope_sweeps: a limited token starts sweeps of its providers only,
// and sees only those.
func TestScope_sweeps(t *testing.T) {
	b := setupScoped(t)
	// brand-b has one provider: filled in.
	code, out := b.call("POST", "/v1/sweeps", brandBToken.token, "")
	if code != 202 {
		t.Fatalf("brand-b: %d %v", code, out)
	}
	bID := out["sweep_id"].(string)
	if code, out := b.call("GET", "/v1/sweeps/"+bID, brandBToken.token, ""); code != 200 || out["provider"] != "enom-b" {
		t.Fatalf("brand-b sweep: %d %v", code, out)
	}
	// brand-a has two: it must name one of them.
	for _, body := range []string{"", `{"provider":"enom-b"}`} {
		if code, out := b.call("POST", "/v1/sweeps", brandAToken.token, body); code != 403 || errCode(out) != "forbidden_provider" {
			t.Fatalf("brand-a %q: %d %v", body, code, out)
		}
	}
	code, out = b.call("POST", "/v1/sweeps", brandAToken.token, `{"provider":"opensrs-a","dry_run":true}`)
	if code != 202 {
		t.Fatalf("brand-a: %d %v", code, out)
	}
	aID := out["sweep_id"].(string)
	code, out = b.call("POST", "/v1/sweeps", opsToken.token, "")
	if code != 202 {
		t.Fatalf("ops: %d %v", code, out)
	}
	allID := out["sweep_id"].(string)

	for _, c := range []struct {
		tok  scopeToken
		sees []string
	}{{brandAToken, []string{aID}}, {brandBToken, []string{bID}}, {opsToken, []string{aID, bID, allID}}} {
		code, out := b.call("GET", "/v1/sweeps", c.tok.token, "")
		if code != 200 {
			t.Fatalf("%s list: %d %v", c.tok.name, code, out)
		}
		var got []string
		for _, s := range out["sweeps"].([]any) {
			got = append(got, s.(map[string]any)["sweep_id"].(string))
		}
		slices.Sort(got)
		want := slices.Sorted(slices.Values(c.sees))
		if !slices.Equal(got, want) {
			t.Fatalf("%s lists %v, want %v", c.tok.name, got, want)
		}
		for _, id := range []string{aID, bID, allID} {
			wantCode := 404
			if slices.Contains(c.sees, id) {
				wantCode = 200
			}
			for _, path := range []string{"/v1/sweeps/" + id, "/v1/sweeps/" + id + "/report"} {
				if code, out := b.call("GET", path, c.tok.token, ""); code != wantCode {
					t.Fatalf("%s %s: %d %v, want %d", c.tok.name, path, code, out, wantCode)
				}
			}
		}
	}
	if code, out := b.call("GET", "/v1/sweeps/"+allID, brandAToken.token, ""); errMessage(out) != "no sweep "+allID+" (sweeps are kept for 7 days)" {
		t.Fatalf("hidden sweep: %d %v", code, out)
	}
}
