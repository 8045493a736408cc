package system

import (
	"testing"
	"time"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/secret"
)

// What the configuration says a provider type can do (which the producer
// side checks before it records anything) is what its adapter does.
func TestProviderTypes_matchTheirAdapters(t *testing.T) {
	for _, typ := range []string{config.TypeEnom, config.TypeOpenSRS, config.TypeWHMCS, config.TypeEE} {
		p := config.Provider{Name: "x", Type: typ, Endpoint: "https://registrar.example/", Timeout: time.Second,
			Username: "u", Password: "p", Key: secret.String("k"), Identifier: "i", Secret: secret.String("s"),
			API: config.EEAPIV1, Token: secret.String("t")}
		r, err := NewRegistrar(p)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		_, trades := r.(providers.TradeLocker)
		if trades != p.TradeLock() {
			t.Errorf("%s: the adapter sets a trade lock: %v; the configuration says %v", typ, trades, p.TradeLock())
		}
	}
}
