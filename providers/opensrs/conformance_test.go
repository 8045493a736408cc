package opensrs_test

import (
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/opensrs"
	"github.com/reglock/reglock/providers/providertest"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/secret"
)

const (
	conformanceKey      = "opensrs-private-key-s3cr3t-value"
	conformanceWrongKey = "wrong-private-key-s3cr3t-value"
)

// harness is the suite's view of the adapter. The simulator answers a bad
// signature with an XCP authentication error (415), so that a bad key ends
// as ErrAuth; by default it drops such calls, as OpenSRS does for callers
// outside the IP allow-list: TestSimulator_badKeyDropped covers that. A
// domain the reseller does not hold gets 415 too, as live, unless opts says
// 480: the contract holds either way (another account's domain is
// ErrNotFound, a bad key ErrAuth).
func harness(opts simulator.Options) providertest.Harness {
	opts.OpenSRSBadAuthReply = true
	return providertest.Harness{
		Kind:     simulator.OpenSRS,
		Options:  opts,
		User:     "resellerx",
		Password: conformanceKey,
		TLD:      "net",
		Secrets:  []string{conformanceKey, conformanceWrongKey},
		Pending:  true,
		New: func(t *testing.T, baseURL string, good bool) providers.Registrar {
			k := conformanceKey
			if !good {
				k = conformanceWrongKey
			}
			c, err := opensrs.New(opensrs.Config{Endpoint: baseURL + "/opensrs/", Username: "resellerx", Key: secret.String(k)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
}

// TestConformance: a domain not held answers 415, as OpenSRS does live.
func TestConformance(t *testing.T) {
	providertest.Run(t, harness(simulator.Options{}))
}

// TestConformance_notHeldIs480: the documented "item not found" instead.
func TestConformance_notHeldIs480(t *testing.T) {
	providertest.Run(t, harness(simulator.Options{OpenSRSNotHeldNotFound: true}))
}
