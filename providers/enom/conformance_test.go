package enom_test

import (
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/providers/providertest"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/secret"
)

func TestConformance(t *testing.T) {
	const pw = "enom-api-token-s3cr3t-value"
	providertest.Run(t, providertest.Harness{
		Kind: simulator.ENom, User: "resellid", Password: pw, TLD: "com",
		Secrets: []string{pw, "wrong-token-s3cr3t-value"},
		New: func(t *testing.T, baseURL string, good bool) providers.Registrar {
			p := pw
			if !good {
				p = "wrong-token-s3cr3t-value"
			}
			c, err := enom.New(enom.Config{Endpoint: baseURL + "/enom/interface.asp", UID: "resellid", PW: secret.String(p)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	})
}
