package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/secret"
	"github.com/reglock/reglock/system"
)

// exampleToken is the write token the examples' API accepts.
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

func ExampleClient() {
	baseURL, stop := exampleAPI() // e.g. "https://reglock.internal:8080"
	defer stop()

	c := &api.Client{
		BaseURL: baseURL,
		Token:   secret.String(exampleToken), // a token of api.tokens
		// HTTP is optional: nil is an http.Client with a 30s timeout.
		HTTP: nil,
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	list, err := c.Domains(ctx, api.ListQuery{Limit: 10})
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
	c := &api.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	// The provider comes from the TLD (.com is enom-main's); the answer
	// means the intent is recorded and queued, not yet applied.
	acc, err := c.Lock(ctx, "example.com", api.LockRequest{Reason: "signup", RequestedBy: "billing"})
	if err != nil {
		panic(err)
	}
	fmt.Println(acc.Domain, "generation", acc.Generation, "locked", acc.Desired.Locked)
	// Output:
	// example.com generation 1 locked true
}

func ExampleClient_Unlock() {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &api.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	if _, err := c.Lock(ctx, "example.com", api.LockRequest{}); err != nil {
		panic(err)
	}
	// Unlock for three days: reglock locks the domain again by itself when
	// the window ends.
	acc, err := c.Unlock(ctx, "example.com", api.UnlockRequest{RelockAfter: "72h", Reason: "transfer to a new owner"})
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
	c := &api.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	if _, err := c.Lock(ctx, "example.com", api.LockRequest{}); err != nil {
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
	// Output:
	// example.com provider enom-main generation 1
	// desired locked: true
	// observed known: false in sync: false
}

func ExampleError() {
	baseURL, stop := exampleAPI()
	defer stop()
	c := &api.Client{BaseURL: baseURL, Token: secret.String(exampleToken)}
	ctx := context.Background()

	// No provider's TLDs cover .org, and example.org is not in the
	// inventory: the API cannot tell which account holds it.
	_, err := c.Lock(ctx, "example.org", api.LockRequest{})
	var apiErr *api.Error
	if errors.As(err, &apiErr) && apiErr.Code == "provider_required" {
		fmt.Println(apiErr.Status, apiErr.Code)
		// Say which account holds it.
		acc, err := c.Lock(ctx, "example.org", api.LockRequest{Provider: "opensrs"})
		if err != nil {
			panic(err)
		}
		fmt.Println(acc.Domain, "generation", acc.Generation)
	}

	// A wrong token is refused the same way, with its own code.
	bad := &api.Client{BaseURL: baseURL, Token: secret.String("not-a-token")}
	_, err = bad.Domain(ctx, "example.org")
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Code)
	}
	// Output:
	// 422 provider_required
	// example.org generation 1
	// 401 unauthorized
}
