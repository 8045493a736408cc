package opensrs_test

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
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
// outside the IP allow-list: TestSimulator_badKeyDropped covers that.
// endpoint maps the simulator's base URL to the one the client calls.
func harness(endpoint func(t *testing.T, baseURL string) string) providertest.Harness {
	return providertest.Harness{
		Kind:     simulator.OpenSRS,
		Options:  simulator.Options{OpenSRSBadAuthReply: true},
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
			c, err := opensrs.New(opensrs.Config{Endpoint: endpoint(t, baseURL) + "/opensrs/", Username: "resellerx", Key: secret.String(k)})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
	}
}

func TestConformance(t *testing.T) {
	providertest.Run(t, harness(func(_ *testing.T, baseURL string) string { return baseURL }))
}

// TestConformance_notHeldIs415 runs the suite against an OpenSRS that
// answers 415 "Authentication Error." for a domain the reseller does not
// hold, as it was reported to live, instead of the simulator's 480: the
// very answer it gives a bad signature here. The contract still holds:
// another account's domain is ErrNotFound, and a bad key ErrAuth.
func TestConformance_notHeldIs415(t *testing.T) {
	providertest.Run(t, harness(notHeldIs415))
}

// notHeldIs415 puts a proxy in front of the simulator at baseURL that
// turns its 480 "Domain not found" replies into 415s.
func notHeldIs415(t *testing.T, baseURL string) string {
	t.Helper()
	target, err := url.Parse(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	// The suite's dropped connections and cancelled calls are expected.
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	proxy.ModifyResponse = func(resp *http.Response) error {
		// Replies are a few hundred bytes; the 1 GiB fault streams through.
		if resp.ContentLength < 0 || resp.ContentLength > 64<<10 {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		b = bytes.Replace(b, []byte(`<item key="response_code">480</item>`), []byte(`<item key="response_code">415</item>`), 1)
		b = bytes.Replace(b, []byte(`>Domain not found<`), []byte(`>Authentication Error.<`), 1)
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}
