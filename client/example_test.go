package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/system"
)

// The examples (and the tests of client_test) run against a real reglock
// API served in process; the client package itself imports none of it.

// exampleToken is the token the examples' API accepts, with every scope.
const exampleToken = "example-token-0123456789abcdef"

// exampleAPI serves a real reglock API on an in-memory Redis for the
// examples: providers enom-main (.com and .net) and opensrs (no TLDs), and
// one token with every scope. It returns the API's base URL and a function
// that stops it. No worker runs: changes are recorded and queued only.
func exampleAPI() (baseURL string, stop func()) {
	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		panic(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	cfg := &config.Config{Providers: []config.Provider{
		{Name: "enom-main", Type: "enom", TLDs: []string{"com", "net"}},
		{Name: "opensrs", Type: "opensrs"},
	}}
	sys := system.New(system.Options{Config: cfg, Redis: rdb, Namespace: "ex", Log: zerolog.Nop()})
	srv := sys.API([]config.Token{{Name: "billing", Token: secret.String(exampleToken)}})
	hs := httptest.NewServer(srv.Handler())
	return hs.URL, func() {
		hs.Close()
		rdb.Close()
		mr.Close()
	}
}

// A producer records that a domain must be locked, then reads whether the
// registrar has it yet.
func Example() {
	baseURL, stop := exampleAPI() // e.g. "https://reglock.internal:8080"
	defer stop()

	c := &client.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	acc, err := c.Lock(ctx, "example.com", client.LockRequest{Reason: "registration complete", RequestedBy: "billing"})
	if err != nil {
		panic(err)
	}
	fmt.Println("recorded generation", acc.Generation)

	// A worker applies it at the registrar; until one has read the domain
	// back, it is not in sync.
	d, err := c.Domain(ctx, "example.com")
	if err != nil {
		panic(err)
	}
	fmt.Println("generation", d.Generation, "in sync:", d.InSync)
	// Output:
	// recorded generation 1
	// generation 1 in sync: false
}

func ExampleClient() {
	baseURL, stop := exampleAPI()
	defer stop()

	c := &client.Client{
		BaseURL: baseURL,
		Token:   secret.String(exampleToken), // a token of api.tokens
		// HTTP is optional: nil is an http.Client with a 30s timeout.
		HTTP: nil,
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := c.Domains(ctx, client.ListQuery{Limit: 10})
	if err != nil {
		panic(err)
	}
	fmt.Println("domains:", len(list.Domains))
	// Output:
	// domains: 0
}

func ExampleClient_Lock() {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &client.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	// The provider comes from the TLD (.com is enom-main's); the answer
	// means the intent is recorded and queued, not yet applied.
	acc, err := c.Lock(ctx, "example.com", client.LockRequest{Reason: "signup", RequestedBy: "billing"})
	if err != nil {
		panic(err)
	}
	fmt.Println(acc.Domain, "generation", acc.Generation, "locked", acc.Desired.Locked)
	fmt.Println("task", acc.TaskID)
	// Output:
	// example.com generation 1 locked true
	// task lock:example.com@1
}

func ExampleClient_Unlock() {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &client.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	if _, err := c.Lock(ctx, "example.com", client.LockRequest{}); err != nil {
		panic(err)
	}
	// Unlock for three days: reglock locks the domain again by itself when
	// the window ends.
	acc, err := c.Unlock(ctx, "example.com", client.UnlockRequest{RelockAfter: "72h", Reason: "transfer to a new owner"})
	if err != nil {
		panic(err)
	}
	fmt.Println(acc.Domain, "generation", acc.Generation, "locked", acc.Desired.Locked)
	fmt.Println("relocks:", acc.Desired.RelockAt != nil)
	// Output:
	// example.com generation 2 locked false
	// relocks: true
}

func ExampleClient_Domain() {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &client.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	if _, err := c.Lock(ctx, "example.com", client.LockRequest{Reason: "signup"}); err != nil {
		panic(err)
	}
	d, err := c.Domain(ctx, "example.com")
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Domain, "provider", d.Provider, "generation", d.Generation)
	fmt.Println("desired locked:", d.Desired.Locked)
	// No worker has read the registrar yet: the observed lock is unknown.
	fmt.Println("observed known:", d.Observed.Locked != nil, "in sync:", d.InSync)
	// Who asked, and the work that is queued for it.
	fmt.Println("intent:", d.Intent.Kind, d.Intent.Reason, "task:", d.Task.ID)
	// Output:
	// example.com provider enom-main generation 1
	// desired locked: true
	// observed known: false in sync: false
	// intent: lock signup task: lock:example.com@1
}

// Pages of the inventory: follow NextCursor until it is nil. A page may
// hold fewer domains than the limit before the end.
func ExampleClient_Domains() {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &client.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	for _, d := range []string{"a.com", "b.com", "c.net", "d.com", "e.net"} {
		if _, err := c.Lock(ctx, d, client.LockRequest{}); err != nil {
			panic(err)
		}
	}
	var all []string
	q := client.ListQuery{Provider: "enom-main", Limit: 2}
	for {
		page, err := c.Domains(ctx, q)
		if err != nil {
			panic(err)
		}
		for _, d := range page.Domains {
			all = append(all, d.Domain)
		}
		if page.NextCursor == nil {
			break
		}
		q.Cursor = *page.NextCursor
	}
	slices.Sort(all)
	fmt.Println(all)
	// Output:
	// [a.com b.com c.net d.com e.net]
}

func ExampleClient_History() {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &client.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	if _, err := c.Lock(ctx, "example.com", client.LockRequest{Reason: "signup", RequestedBy: "billing"}); err != nil {
		panic(err)
	}
	if _, err := c.Unlock(ctx, "example.com", client.UnlockRequest{Reason: "transfer", RequestedBy: "support"}); err != nil {
		panic(err)
	}
	h, err := c.History(ctx, "example.com", "", 10)
	if err != nil {
		panic(err)
	}
	for _, e := range h.Events { // newest first
		fmt.Println(e.Generation, e.Kind, e.Intent, e.RequestedBy, e.Token)
	}
	// Output:
	// 2 intent unlock support billing
	// 1 intent lock billing billing
}

func ExampleError() {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &client.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	// No provider's TLDs cover .org, and example.org is not in the
	// inventory: the API cannot tell which account holds it.
	_, err := c.Lock(ctx, "example.org", client.LockRequest{})
	var apiErr *client.Error
	if errors.As(err, &apiErr) && apiErr.Code == "provider_required" {
		fmt.Println(apiErr.Status, apiErr.Code)
		// Say which account holds it.
		acc, err := c.Lock(ctx, "example.org", client.LockRequest{Provider: "opensrs"})
		if err != nil {
			panic(err)
		}
		fmt.Println(acc.Domain, "generation", acc.Generation)
	}

	// An invalid name and an unknown provider have their own codes.
	_, err = c.Lock(ctx, "bad_name.com", client.LockRequest{})
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	_, err = c.Lock(ctx, "example.net", client.LockRequest{Provider: "godaddy"})
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}

	// A wrong token is refused the same way, with its own code.
	bad := &client.Client{BaseURL: baseURL, Token: secret.String("not-a-token")}
	_, err = bad.Domain(ctx, "example.org")
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	// Output:
	// 422 provider_required
	// example.org generation 1
	// 400 invalid_domain
	// 422 unknown_provider
	// 401 unauthorized
}

// A retry with the same idempotency key gets the first answer again, and
// records nothing more.
func ExampleWithIdempotencyKey() {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &client.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}

	// One key per intended change, the same for each retry of it.
	ctx := client.WithIdempotencyKey(context.Background(), "order-4711-lock")
	for range 3 {
		acc, err := c.Lock(ctx, "example.com", client.LockRequest{Reason: "order 4711 paid"})
		if err != nil {
			continue // a transport error: the request may or may not have arrived; retry
		}
		fmt.Println("generation", acc.Generation)
	}
	h, err := c.History(context.Background(), "example.com", "", 10)
	if err != nil {
		panic(err)
	}
	fmt.Println("history events:", len(h.Events))
	// Output:
	// generation 1
	// generation 1
	// generation 1
	// history events: 1
}

// countingTransport counts the requests it passes on.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return t.next.RoundTrip(r)
}

// HTTP takes any *http.Client: a timeout, a proxy, TLS settings, or a
// transport that wraps another, such as otelhttp.NewTransport for
// OpenTelemetry (this one counts requests).
func ExampleClient_transport() {
	baseURL, stop := exampleAPI()
	defer stop()

	tr := &countingTransport{next: http.DefaultTransport}
	// For OpenTelemetry: Transport: otelhttp.NewTransport(http.DefaultTransport).
	c := &client.Client{
		BaseURL: baseURL,
		Token:   secret.String(exampleToken),
		HTTP:    &http.Client{Timeout: 5 * time.Second, Transport: tr},
	}
	if _, err := c.Compliance(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println("requests:", tr.n.Load())
	// Output:
	// requests: 1
}
