package whmcs_test

import (
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/providers/whmcs"
	"github.com/reglock/reglock/secret"
)

func TestConformance(t *testing.T) {
	const (
		identifier = "whmcs-api-identifier-1d3nt"
		sec        = "whmcs-api-secret-s3cr3t-value"
		wrong      = "wrong-whmcs-secret-s3cr3t-value"
	)
	providertest.Run(t, providertest.Harness{
		Kind: simulator.WHMCS, User: identifier, Password: sec, TLD: "org",
		Secrets: []string{identifier, sec, wrong},
		New: func(t *testing.T, baseURL string, good bool) providers.Registrar {
			s := sec
			if !good {
				s = wrong
			}
			c, err := whmcs.New(whmcs.Config{Endpoint: baseURL + "/whmcs/includes/api.php", Identifier: identifier, Secret: secret.String(s)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	})
}
