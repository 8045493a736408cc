package opensrs_test

import (
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/opensrs"
	"github.com/reglock/reglock/providers/providertest"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/secret"
)

// TestConformance runs the suite with the simulator answering a bad
// signature with an XCP authentication error (415), so that a bad key ends
// as ErrAuth. By default the simulator drops such calls, as OpenSRS does for
// callers outside the IP allow-list: TestSimulator_badKeyDropped covers it.
func TestConformance(t *testing.T) {
	const key = "opensrs-private-key-s3cr3t-value"
	const wrongKey = "wrong-private-key-s3cr3t-value"
	providertest.Run(t, providertest.Harness{
		Kind:     simulator.OpenSRS,
		Options:  simulator.Options{OpenSRSBadAuthReply: true},
		User:     "resellerx",
		Password: key,
		TLD:      "net",
		Secrets:  []string{key, wrongKey},
		Pending:  true,
		New: func(t *testing.T, baseURL string, good bool) providers.Registrar {
			k := key
			if !good {
				k = wrongKey
			}
			c, err := opensrs.New(opensrs.Config{Endpoint: baseURL + "/opensrs/", Username: "resellerx", Key: secret.String(k)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	})
}
