package opensrs_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/opensrs"
	"github.com/reglock/reglock/providers/opensrs/ops"
	"github.com/reglock/reglock/providers/providertest"
)

// TestBreaker_415 is case 3 of issue "Step 8" at the level where it
// happened: the adapter behind the account's circuit breaker. OpenSRS
// answers 415 for a domain the reseller does not hold; that must not stop
// the account's other domains.
func TestBreaker_415(t *testing.T) {
	const mine = "mine.net"
	tests := []struct {
		name string
		// listing answers the adapter's question about the account.
		listing string
		// refused are the domains answered 415, asked in this order.
		refused []string
		// openAfter is how many refused domains open the breaker (0:
		// never).
		openAfter int
		// want is what each refused domain's call (before the breaker
		// opens) must be.
		want []error
	}{
		{name: "one domain refused many times, the account unknown", listing: "error_400.xml",
			refused: []string{"gone.net", "gone.net", "gone.net", "gone.net", "gone.net", "gone.net"},
			want:    []error{providers.ErrNotFound, providers.ErrRefused}},
		{name: "three domains refused, the account unknown", listing: "error_400.xml",
			refused: []string{"a.net", "b.net", "c.net"}, openAfter: 3,
			want: []error{providers.ErrNotFound, providers.ErrRefused}},
		{name: "any number of domains refused, the account's listing answers", listing: "get_domains_by_expiredate_empty.xml",
			refused: []string{"a.net", "b.net", "c.net", "d.net", "e.net"},
			want:    []error{providers.ErrNotFound}},
		{name: "the account's listing refused too", listing: "error_415.xml",
			refused: []string{"a.net"}, openAfter: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			refused := map[string]bool{}
			for _, d := range tt.refused {
				refused[d] = true
			}
			w := providertest.NewWire(t)
			w.Route(func(r providertest.Request) providertest.Answer {
				action, domain := osrsRequest(t, r)
				switch {
				case action == "get_domains_by_expiredate":
					return providertest.Fixture(t, tt.listing)
				case refused[domain]:
					return providertest.Fixture(t, "error_415.xml")
				default:
					return providertest.Fixture(t, "get_status_locked.xml")
				}
			})
			c, err := opensrs.New(opensrs.Config{Endpoint: w.URL, Username: "resellerx", Key: "opensrs-private-key-s3cr3t-value"})
			if err != nil {
				t.Fatal(err)
			}
			set := breaker.New(redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()}), "test:", breaker.Options{}, zerolog.Nop())
			reg := providers.Wrap(c, set.Middleware("osrs"))
			ctx := context.Background()

			for i, d := range tt.refused {
				_, err := reg.LockState(ctx, d)
				if tt.openAfter > 0 && i+1 >= tt.openAfter {
					var ra *providers.RetryAfterError
					if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &ra) {
						t.Fatalf("refusal %d (%s) = %v, want the breaker to open", i+1, d, err)
					}
					break
				}
				if errors.Is(err, breaker.ErrOpen) {
					t.Fatalf("refusal %d (%s) opened the breaker: %v", i+1, d, err)
				}
				for _, sentinel := range []error{providers.ErrNotFound, providers.ErrRefused, providers.ErrAuth} {
					if got, want := errors.Is(err, sentinel), slices.Contains(tt.want, sentinel); got != want {
						t.Errorf("refusal %d (%s) = %v; errors.Is %v = %v, want %v", i+1, d, err, sentinel, got, want)
					}
				}
				if !providers.IsPermanent(err) {
					t.Errorf("refusal %d (%s) = %v, want permanent", i+1, d, err)
				}
			}

			before := len(w.Requests())
			st, err := reg.LockState(ctx, mine)
			switch {
			case tt.openAfter == 0 && (err != nil || !st.Locked):
				t.Errorf("the account's own domain after the refusals = %+v, %v; want it read", st, err)
			case tt.openAfter > 0 && !errors.Is(err, breaker.ErrOpen):
				t.Errorf("the account's own domain after the breaker opened = %v, want ErrOpen", err)
			case tt.openAfter > 0 && len(w.Requests()) != before:
				t.Errorf("the open breaker let %d requests through", len(w.Requests())-before)
			}
		})
	}
}

// osrsRequest reads the action and the domain of a request to the wire
// fake.
func osrsRequest(t *testing.T, r providertest.Request) (action, domain string) {
	v, err := ops.Decode(r.Body)
	if err != nil {
		t.Errorf("request is not an OPS envelope: %v", err)
		return "", ""
	}
	return strings.ToLower(v.Assoc().Text("action")), v.Assoc().Get("attributes").Assoc().Text("domain")
}
