// Package redistest connects tests to a real Redis server over TCP.
//
// The server's address comes from REGLOCK_TEST_REDIS (`make test` starts a
// private redis-server and sets it); without it, 127.0.0.1:6379. Each test
// gets its own namespace: store keys and asynq queues are prefixed with it,
// and the test's keys are deleted when it ends, so tests never see each
// other's data and never touch anyone else's.
package redistest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Addr returns the test Redis server's address.
func Addr() string {
	if a := os.Getenv("REGLOCK_TEST_REDIS"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// Env is a test's connection and namespace.
type Env struct {
	Client    *redis.Client
	Namespace string
}

// StorePrefix is the store key prefix for the namespace.
func (e Env) StorePrefix() string { return e.Namespace + ":rl:" }

// New connects to the test Redis server and fails the test loudly if there
// is none: integration tests are never skipped.
func New(t testing.TB) Env {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: Addr(), PoolSize: 64})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("integration tests need a Redis server at %s (set REGLOCK_TEST_REDIS, or run `make test`, which starts one): %v", Addr(), err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	ns := "t" + hex.EncodeToString(b)
	t.Cleanup(func() {
		Clean(c, ns)
		c.Close()
	})
	return Env{Client: c, Namespace: ns}
}

// Clean deletes every key of a namespace: store keys and asynq queues.
func Clean(c *redis.Client, ns string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, pattern := range []string{ns + ":*", "asynq:{" + ns + ":*"} {
		iter := c.Scan(ctx, 0, pattern, 1000).Iterator()
		var batch []string
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 1000 {
				c.Unlink(ctx, batch...)
				batch = batch[:0]
			}
		}
		if len(batch) > 0 {
			c.Unlink(ctx, batch...)
		}
	}
	qs, _ := c.SMembers(ctx, "asynq:queues").Result()
	for _, q := range qs {
		if len(q) > len(ns) && q[:len(ns)+1] == ns+":" {
			c.SRem(ctx, "asynq:queues", q)
		}
	}
}
