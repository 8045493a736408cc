package ee_test

import (
	"net/http"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/ee"
	"github.com/reglock/reglock/providers/providertest"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/secret"
)

// The simulated registrant: the account's user is the registrant ident an
// eID login maps to, its password its static Bearer token.
const (
	simUser  = "EE-38903110313"
	simIdent = "38903110313"
	simToken = "ee-static-token-s3cr3t-value"
	badToken = "wrong-token-s3cr3t-value"
)

func TestConformance(t *testing.T) {
	t.Run("token", func(t *testing.T) {
		providertest.Run(t, tokenHarness(ee.APIV1))
	})
	t.Run("repp", func(t *testing.T) {
		providertest.Run(t, tokenHarness(ee.APIRepp))
	})
	t.Run("eid", func(t *testing.T) {
		providertest.Run(t, providertest.Harness{
			Kind: simulator.EE, User: simUser, Password: simToken, TLD: "ee", Pending: true,
			Secrets: []string{simToken, simIdent},
			// Only the loopback may log in; the refused client's requests
			// come through a proxy from 203.0.113.9.
			Options: simulator.Options{EEAuthAllowedNets: []string{"127.0.0.0/8", "::1"}},
			New: func(t *testing.T, baseURL string, good bool) providers.Registrar {
				cfg := ee.Config{Endpoint: baseURL + "/ee", EID: &ee.EID{Ident: simIdent, FirstName: "Mari", LastName: "Maasikas", CountryCode: "EE"}}
				if !good {
					cfg.HTTPClient = &http.Client{Transport: forwardedFor{"203.0.113.9"}}
				}
				c, err := ee.New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				return c
			},
		})
	})
}

func tokenHarness(api string) providertest.Harness {
	return providertest.Harness{
		Kind: simulator.EE, User: simUser, Password: simToken, TLD: "ee", Pending: true,
		Secrets: []string{simToken, badToken},
		New: func(t *testing.T, baseURL string, good bool) providers.Registrar {
			tok := simToken
			if !good {
				tok = badToken
			}
			c, err := ee.New(ee.Config{Endpoint: baseURL + "/ee", API: api, Token: secret.String(tok)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
}

// forwardedFor sends every request as a proxy would forward it from addr.
type forwardedFor struct{ addr string }

func (f forwardedFor) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Forwarded-For", f.addr)
	return http.DefaultTransport.RoundTrip(r)
}
