package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Recording an intent and queueing its task are two round trips (the task
// carries the generation the record gives). An intent recorded with a
// TaskNote keeps that note in its bucket's q hash until the task is known to
// be queued, so that a crash, a Redis error or a failover between the two
// delays the task instead of losing it:
//
//   - a reading in sync with the intent settles a lock or unlock note (the
//     worker's own reading, usually well within a second);
//   - the registrar accepting a trade lock setting settles a trade note;
//   - what is left after a while, a janitor finds with ScanUnqueued, queues
//     again under the task's own ID (a task still queued, retrying or
//     archived keeps it: nothing is queued twice) and settles with Settle.

// TaskNote is what rebuilding a recorded intent's task needs beyond the
// intent itself.
type TaskNote struct {
	RequestedBy string
	Reason      string
	// ConsentIP is the trade lock's consent address (KindTrade).
	ConsentIP string
}

func (n TaskNote) encode() string {
	// The reason is free text and goes last; the other fields hold no '|'
	// (an IP address; a requester name is checked by its producer, and one
	// that held a '|' would only shift into the reason).
	return strings.ReplaceAll(n.ConsentIP, "|", "") + "|" + strings.ReplaceAll(n.RequestedBy, "|", "/") + "|" + n.Reason
}

// noteField is a note's field in the q hash: lock and unlock share one (a
// newer one replaces an older one, which it supersedes), a trade setting has
// its own.
func noteField(domain string, trade bool) string {
	if trade {
		return "trade:" + domain
	}
	return domain
}

// Unqueued is a recorded intent whose task is not known to be queued.
type Unqueued struct {
	Domain string
	// Trade: the note is for a trade lock setting; otherwise for a lock or
	// unlock, which Desired says.
	Trade bool
	// Generation and RequestedAt are the intent's as recorded.
	Generation  int64
	RequestedAt time.Time
	TaskNote
	// Desired is the domain's intent now; its generation differs from
	// Generation when a newer intent has been recorded since (whose task
	// supersedes this one), and it is empty if the domain was removed.
	Desired Desired

	raw string // the note as read, for Settle
}

// noteScanBatch is how many buckets ScanUnqueued reads in one round trip.
const noteScanBatch = 1024

// ScanUnqueued calls fn with the notes recorded before olderThan, a batch at
// a time, walking every bucket with pipelined reads (16 round trips for the
// 16,384 buckets, plus one per batch with notes). It stops at fn's first
// error.
func (s *Store) ScanUnqueued(ctx context.Context, olderThan time.Time, fn func([]Unqueued) error) error {
	cut := olderThan.UnixMilli()
	for first := 0; first < Buckets; first += noteScanBatch {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, 0, noteScanBatch)
		for b := first; b < min(first+noteScanBatch, Buckets); b++ {
			cmds = append(cmds, pipe.HGetAll(ctx, s.keys(b)[5]))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		var batch []Unqueued
		for _, c := range cmds {
			for field, v := range c.Val() {
				u, ok := parseNote(field, v)
				if ok && u.RequestedAt.UnixMilli() < cut {
					batch = append(batch, u)
				}
			}
		}
		if len(batch) == 0 {
			continue
		}
		// The intents as they stand now, in one more round trip.
		pipe = s.rdb.Pipeline()
		intents := make([]*redis.StringCmd, len(batch))
		for i, u := range batch {
			intents[i] = pipe.HGet(ctx, s.keys(Bucket(u.Domain))[0], u.Domain)
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return err
		}
		for i := range batch {
			if v, err := intents[i].Result(); err == nil {
				if d, err := decodeIntent(v); err == nil {
					batch[i].Desired = d
				}
			}
		}
		if err := fn(batch); err != nil {
			return err
		}
	}
	return nil
}

// parseNote reads a q hash entry: gen|requested_ms|consent_ip|requested_by|reason.
func parseNote(field, v string) (Unqueued, bool) {
	f := strings.SplitN(v, "|", 5)
	if len(f) != 5 {
		return Unqueued{}, false
	}
	gen, err1 := strconv.ParseInt(f[0], 10, 64)
	ms, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil {
		return Unqueued{}, false
	}
	u := Unqueued{Domain: field, Generation: gen, RequestedAt: time.UnixMilli(ms).UTC(),
		TaskNote: TaskNote{ConsentIP: f[2], RequestedBy: f[3], Reason: f[4]}, raw: v}
	if d, ok := strings.CutPrefix(field, "trade:"); ok {
		u.Domain, u.Trade = d, true
	}
	return u, true
}

// settleScript removes a note if it is still the one that was read: a newer
// intent recorded meanwhile keeps its own. KEYS: q. ARGV: field note.
var settleScript = redis.NewScript(`
if redis.call("HGET", KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call("HDEL", KEYS[1], ARGV[1])
end
return 0
`)

// Settle removes notes whose tasks are now known to be queued (or no longer
// needed), in one round trip; a note replaced since it was read stays.
func (s *Store) Settle(ctx context.Context, us []Unqueued) error {
	if len(us) == 0 {
		return nil
	}
	ops := make([]op, len(us))
	for i, u := range us {
		key, field, raw := s.keys(Bucket(u.Domain))[5], noteField(u.Domain, u.Trade), u.raw
		ops[i] = func(p redis.Pipeliner) redis.Cmder {
			return settleScript.EvalSha(ctx, p, []string{key}, field, raw)
		}
	}
	return runPipeline(ctx, s.rdb, ops, settleScript)
}
