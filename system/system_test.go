package system_test

import (
	"context"
	"errors"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/system"
	"github.com/reglock/reglock/tasks"
)

// The CLI's --config mode is the API's own handlers in process: the same
// validation, the same record, the same task.
func TestLocalClient_isTheAPI(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	t.Cleanup(func() { rdb.Close() })
	cfg := &config.Config{Providers: []config.Provider{{Name: "enom-main", Type: "enom", TLDs: []string{"com"}}}}
	sys := system.New(system.Options{Config: cfg, Redis: rdb, Namespace: "ns", Log: zerolog.Nop()})
	c := sys.LocalClient("cli:alice")
	ctx := context.Background()

	acc, err := c.Lock(ctx, "Example.COM", client.LockRequest{RequestedBy: "cli:alice"})
	if err != nil || acc.Domain != "example.com" || acc.Generation != 1 || acc.TaskID != tasks.ChangeID("lock", "example.com", 1) {
		t.Fatalf("Lock: %+v, %v", acc, err)
	}
	d, err := c.Domain(ctx, "example.com")
	if err != nil || !d.Desired.Locked || d.Provider != "enom-main" {
		t.Fatalf("Domain: %+v, %v", d, err)
	}
	var apiErr *client.Error
	if _, err := c.Lock(ctx, "not a domain", client.LockRequest{}); !errors.As(err, &apiErr) || apiErr.Status != 400 {
		t.Fatalf("a bad domain: %v, want the API's 400", err)
	}
	if _, err := c.TradeLock(ctx, "example.com", client.TradeLockRequest{ConsentIP: "192.0.2.1", Enable: new(bool)}); !errors.As(err, &apiErr) || apiErr.Status/100 != 4 {
		t.Fatalf("a trade lock on eNom: %v, want the API's refusal", err)
	}
	if st, err := c.StartSweep(ctx, client.SweepRequest{DryRun: true}); err != nil || st.SweepID == "" {
		t.Fatalf("StartSweep: %+v, %v", st, err)
	}
	if got, err := sys.Store.Get(ctx, "example.com"); err != nil || got.Desired.Generation != 1 {
		t.Fatalf("the record after a refused trade lock: %+v, %v", got.Desired, err)
	}
}
