package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/store"
)

// An installation upgraded from a reglock that kept every history as a
// stream: the scheduler turns the short ones into lists when it starts,
// events kept, and says how many.
func TestE2E_schedulerCompactsOldHistories(t *testing.T) {
	t.Parallel()
	e := newE2E(t)
	ctx := context.Background()
	s := store.New(e.env.Client, e.env.StorePrefix())
	key := s.HistoryKey("old.com")
	if err := e.env.Client.XAdd(ctx, &redis.XAddArgs{Stream: key, Values: []any{"time", "1764672000000", "kind", "intent", "gen", "1", "intent", "lock", "token", "billing"}}).Err(); err != nil {
		t.Fatal(err)
	}
	e.env.Client.PExpire(ctx, key, time.Hour)
	p := e.start("scheduler")
	e.eventually("the old history to become a list", 15*time.Second, func() bool {
		return e.env.Client.Type(ctx, key).Val() == "list"
	})
	page, err := s.HistoryPage(ctx, "old.com", "", 10)
	if err != nil || len(page) != 1 || page[0].Fields["token"] != "billing" || page[0].Fields["intent"] != "lock" {
		t.Fatalf("the history after compacting: %+v, %v", page, err)
	}
	e.eventually("the log line", 5*time.Second, func() bool {
		return strings.Contains(p.out.String(), `"histories":1`)
	})
}
