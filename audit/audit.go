// Package audit keeps the trail of what reglock found and did: every drift
// it detected and every change it made at a registrar, with time, domain,
// provider, before and after, cause and requester.
//
// The trail is one Redis stream, capped at a configurable length (the
// oldest entries go first), so it never grows without bound.
package audit

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Kinds of events.
const (
	// KindDrift: a registrar's lock was found to differ from the desired
	// state on two readings.
	KindDrift = "drift"
	// KindChange: reglock changed a registrar's lock (or trade lock setting).
	KindChange = "change"
)

// DefaultMaxLen is how many events the trail keeps by default.
const DefaultMaxLen = 1_000_000

// Event is one entry of the trail.
type Event struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Domain   string    `json:"domain"`
	Provider string    `json:"provider"`
	// Before and After are "locked", "unlocked" or, for the trade lock,
	// "trade_lock:on" / "trade_lock:off".
	Before string `json:"before"`
	After  string `json:"after"`
	// Cause is request, sweep or relock (tasks.Cause*).
	Cause       string `json:"cause"`
	RequestedBy string `json:"requested_by,omitempty"`
	Reason      string `json:"reason,omitempty"`
	Generation  int64  `json:"generation"`
	SweepID     string `json:"sweep_id,omitempty"`
	TaskID      string `json:"task_id,omitempty"`
}

// Log is the audit trail. It is safe for concurrent use.
type Log struct {
	rdb    redis.UniversalClient
	key    string
	maxLen int64
}

// New returns the trail kept under prefix, capped at maxLen events (0 means
// DefaultMaxLen).
func New(rdb redis.UniversalClient, prefix string, maxLen int64) *Log {
	if maxLen <= 0 {
		maxLen = DefaultMaxLen
	}
	return &Log{rdb: rdb, key: prefix + "audit", maxLen: maxLen}
}

// Record appends an event. Time defaults to now.
func (l *Log) Record(ctx context.Context, e Event) error {
	return l.Append(ctx, l.rdb, e).Err()
}

// Append adds the event to c, which may be a pipeline, so that writing the
// trail costs no round trip of its own.
func (l *Log) Append(ctx context.Context, c redis.Cmdable, e Event) *redis.StringCmd {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	return c.XAdd(ctx, &redis.XAddArgs{
		Stream: l.key, MaxLen: l.maxLen, Approx: true,
		Values: []any{
			"time", e.Time.UnixMilli(), "kind", e.Kind, "domain", e.Domain, "provider", e.Provider,
			"before", e.Before, "after", e.After, "cause", e.Cause, "requested_by", e.RequestedBy,
			"reason", e.Reason, "generation", e.Generation, "sweep_id", e.SweepID, "task_id", e.TaskID,
		},
	})
}

// Query filters List.
type Query struct {
	// Domain keeps only one domain's events.
	Domain string
	// Kind keeps only one kind.
	Kind string
	// Limit is the most events returned (default 100).
	Limit int
	// Scan bounds how many of the newest events are looked at (default
	// 100,000), so a filter matching nothing stays cheap.
	Scan int
}

// List returns the newest events first.
func (l *Log) List(ctx context.Context, q Query) ([]Event, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Scan <= 0 {
		q.Scan = 100_000
	}
	var out []Event
	end, scanned := "+", 0
	for scanned < q.Scan && len(out) < q.Limit {
		msgs, err := l.rdb.XRevRangeN(ctx, l.key, end, "-", 1000).Result()
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			scanned++
			e := decode(m.Values)
			if (q.Domain == "" || e.Domain == q.Domain) && (q.Kind == "" || e.Kind == q.Kind) {
				out = append(out, e)
				if len(out) == q.Limit {
					break
				}
			}
		}
		if len(msgs) < 1000 {
			break
		}
		end = "(" + msgs[len(msgs)-1].ID
	}
	return out, nil
}

func decode(v map[string]any) Event {
	s := func(k string) string { x, _ := v[k].(string); return x }
	ms, _ := strconv.ParseInt(s("time"), 10, 64)
	gen, _ := strconv.ParseInt(s("generation"), 10, 64)
	return Event{
		Time: time.UnixMilli(ms).UTC(), Kind: s("kind"), Domain: s("domain"), Provider: s("provider"),
		Before: s("before"), After: s("after"), Cause: s("cause"), RequestedBy: s("requested_by"),
		Reason: s("reason"), Generation: gen, SweepID: s("sweep_id"), TaskID: s("task_id"),
	}
}
