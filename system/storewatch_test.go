package system_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/system"
)

// Every part of a process asks the one store watch: a command in the
// CLI's --config mode on a store marked lost is refused with the API's
// store_lost, and the worker holds its tasks; metrics see the same state.
func TestStoreWatch_wiredIntoEveryPart(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	cfg := &config.Config{Providers: []config.Provider{{Name: "enom-main", Type: "enom", TLDs: []string{"com"}}}}
	ctx := context.Background()
	serving := system.New(system.Options{Config: cfg, Redis: rdb, Namespace: "ns", Log: zerolog.Nop()})
	if _, err := serving.StoreWatch.Adopt(ctx); err != nil {
		t.Fatal(err)
	}
	if st := serving.StoreStatus(); st.Lost || st.State != "ok" || st.ID == "" {
		t.Fatalf("StoreStatus after Adopt: %+v", st)
	}
	mr.FlushAll()
	if st, err := serving.StoreWatch.Check(ctx); err != nil || st != store.StateLost {
		t.Fatalf("Check after the wipe: %v %v", st, err)
	}
	if st := serving.StoreStatus(); !st.Lost || st.State != "lost" {
		t.Fatalf("StoreStatus while lost: %+v", st)
	}
	if err := serving.Worker().StoreGuard(ctx); !errors.Is(err, store.ErrStoreLost) {
		t.Fatalf("the worker's guard: %v", err)
	}

	// A one-shot command (no Adopt) sees the lost marker once it looks.
	cli := system.New(system.Options{Config: cfg, Redis: rdb, Namespace: "ns", Log: zerolog.Nop()})
	if _, err := cli.StoreWatch.Check(ctx); err != nil {
		t.Fatal(err)
	}
	var apiErr *client.Error
	_, err := cli.LocalClient("cli:alice").Lock(ctx, "example.com", client.LockRequest{})
	if !errors.As(err, &apiErr) || apiErr.Status != 503 || apiErr.Code != "store_lost" {
		t.Fatalf("lock through the CLI while lost: %v, want 503 store_lost", err)
	}
}

// Every process that notices one loss raises the same notification.
func TestStoreLostEvent(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 0, 5, 0, time.UTC)
	lost := store.IdentityStatus{State: store.StateLost, Adopted: "b", Marker: store.Identity{ID: "b", State: store.StateLost, LostID: "a", DetectedAt: at}}
	e1, e2 := system.StoreLostEvent(lost), system.StoreLostEvent(lost)
	if e1.ID != e2.ID || e1.ID != "store_lost:20261122T100005.000Z" || e1.Kind != notify.KindStoreLost || !e1.Time.Equal(at) || e1.Data["lost_store_id"] != "a" {
		t.Fatalf("lost: %+v", e1)
	}
	replaced := system.StoreLostEvent(store.IdentityStatus{State: store.StateReplaced, Adopted: "a", Marker: store.Identity{ID: "z"}})
	if replaced.ID != "store_lost:replaced:a@z" || replaced.Data["found_store_id"] != "z" {
		t.Fatalf("replaced: %+v", replaced)
	}
}
