package main

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
)

// miniredis only expires keys when told that time has passed; the sandbox
// keeps its clock moving, or asynq's unique locks and leases would never end.
func TestSandbox_keysExpire(t *testing.T) {
	cfg := config.Default()
	sb, err := startSandbox(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	ctx := context.Background()
	if err := sb.rdb.Set(ctx, "ttl-probe", "x", 1500*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if n, _ := sb.rdb.Exists(ctx, "ttl-probe").Result(); n != 1 {
		t.Fatal("key missing right after SET")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		n, err := sb.rdb.Exists(ctx, "ttl-probe").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a key with a 1.5s TTL still exists after 10s in the sandbox")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Redis's TIME (used by the rate limiter) follows the wall clock too.
	now, err := sb.rdb.Time(ctx).Result()
	if err != nil || now.Sub(time.Now()).Abs() > 2*time.Second {
		t.Fatalf("sandbox TIME %v vs wall clock %v (%v)", now, time.Now(), err)
	}
	if len(cfg.Providers) != 4 || cfg.Providers[0].Name != "sandbox-enom" || cfg.Providers[3].Type != "ee" {
		t.Fatalf("sandbox providers: %+v", cfg.Providers)
	}
}
