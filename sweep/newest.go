package sweep

import (
	"context"
	"errors"

	"github.com/redis/go-redis/v9"
)

// Kinds of sweeps, by what started them: the metrics follow the newest
// sweep of each kind.
const (
	KindScheduled = "scheduled" // the scheduler's cron (scheduler.sweep)
	KindFreshness = "freshness" // a freshness pass (scheduler.freshness)
	KindManual    = "manual"    // the API, the CLI, a benchmark
)

// KindOf names the kind of a sweep started by trigger.
func KindOf(trigger string) string {
	switch trigger {
	case "schedule":
		return KindScheduled
	case "freshness":
		return KindFreshness
	}
	return KindManual
}

// newestKey holds the ID of the newest sweep of each kind (kind -> id),
// written when a sweep is created.
func (r *Records) newestKey() string { return r.prefix + "sweeps:newest" }

// Newest returns the record of the newest sweep of each kind (a kind whose
// newest sweep has expired is left out). It reads the few fields the
// metrics need, not the units' cursors.
func (r *Records) Newest(ctx context.Context) (map[string]Status, error) {
	ids, err := r.rdb.HGetAll(ctx, r.newestKey()).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	fields := []string{"state", "trigger", "provider", "dry_run", "stage", "pending", "checked", "errors", "drifted", "created_at", "finished_at"}
	pipe := r.rdb.Pipeline()
	cmds := map[string]*redis.SliceCmd{}
	for kind, id := range ids {
		cmds[kind] = pipe.HMGet(ctx, r.key(id), fields...)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make(map[string]Status, len(ids))
	for kind, c := range cmds {
		m := map[string]string{}
		for i, v := range c.Val() {
			if s, ok := v.(string); ok {
				m[fields[i]] = s
			}
		}
		if m["state"] == "" {
			continue // expired
		}
		out[kind] = statusOf(ids[kind], m)
	}
	return out, nil
}
