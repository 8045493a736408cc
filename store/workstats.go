package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Owing is a count of outstanding work and its age, for the metrics.
type Owing struct {
	// Count is how many there are; Before how many date from before the
	// cutoff given to WorkStats.
	Count, Before int64
	// Oldest is the earliest date among them (zero if there are none).
	Oldest time.Time
}

func (o *Owing) add(at, cutoff time.Time) {
	o.Count++
	if at.Before(cutoff) {
		o.Before++
	}
	if !at.IsZero() && (o.Oldest.IsZero() || at.Before(o.Oldest)) {
		o.Oldest = at
	}
}

// WorkStats is what reglock owes over the whole inventory.
type WorkStats struct {
	// Marks are the marks by kind (work not yet confirmed at the registrar),
	// dated by their RequestedAt: a relock's is the end of its window, a
	// fix's when it was armed.
	Marks map[MarkKind]Owing
	// Windows are the unlock windows whose relock is not yet recorded (open
	// ones, and ended ones the janitor has yet to relock), dated by their
	// end.
	Windows Owing
}

// WorkStats reads every occupied bucket's marks and unlock windows, a
// pipelined round trip per 1,024 buckets; cutoff splits off the older ones
// (Owing.Before). It reads no intent and no domain's history.
func (s *Store) WorkStats(ctx context.Context, cutoff time.Time) (WorkStats, error) {
	out := WorkStats{Marks: map[MarkKind]Owing{}}
	for _, k := range []MarkKind{MarkLock, MarkTrade, MarkRelock, MarkFix} {
		out.Marks[k] = Owing{}
	}
	bitmap, err := s.occupied(ctx)
	if err != nil {
		return out, err
	}
	var ids []int
	for b := range Buckets {
		if isOccupied(bitmap, b) {
			ids = append(ids, b)
		}
	}
	cut := "(" + strconv.FormatInt(cutoff.UnixMilli(), 10)
	for first := 0; first < len(ids); first += ownedScanBatch {
		batch := ids[first:min(first+ownedScanBatch, len(ids))]
		pipe := s.rdb.Pipeline()
		marks := make([]*redis.MapStringStringCmd, len(batch))
		open := make([]*redis.IntCmd, len(batch))
		ended := make([]*redis.IntCmd, len(batch))
		heads := make([]*redis.ZSliceCmd, len(batch))
		for i, b := range batch {
			k := s.keys(b)
			marks[i] = pipe.HGetAll(ctx, k[keyWork])
			open[i] = pipe.ZCard(ctx, k[keyWindows])
			ended[i] = pipe.ZCount(ctx, k[keyWindows], "-inf", cut)
			heads[i] = pipe.ZRangeWithScores(ctx, k[keyWindows], 0, 0)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return out, err
		}
		for i := range batch {
			for field, v := range marks[i].Val() {
				if !strings.HasPrefix(field, "m:") {
					continue // a lease, or a note of the format before marks
				}
				m := parseMark(v)
				kind := m.Kind
				if _, ok := out.Marks[kind]; !ok {
					kind = MarkLock // a mark written before kinds were
				}
				o := out.Marks[kind]
				o.add(m.RequestedAt, cutoff)
				out.Marks[kind] = o
			}
			w := &out.Windows
			w.Count += open[i].Val()
			w.Before += ended[i].Val()
			for _, z := range heads[i].Val() {
				if at := time.UnixMilli(int64(z.Score)).UTC(); w.Oldest.IsZero() || at.Before(w.Oldest) {
					w.Oldest = at
				}
			}
		}
	}
	return out, nil
}

// workStatsKey caches the newest WorkStats for every process; its lock
// lets one process read the inventory at a time.
func (s *Store) workStatsKey() string { return s.prefix + "workstats" }

// cachedWorkStats is WorkStats as the cache keeps it.
type cachedWorkStats struct {
	At    time.Time `json:"at"`
	Stats WorkStats `json:"stats"`
}

// SharedWorkStats is WorkStats read once per maxAge for all the processes
// of an installation: a process finds the figures another read less than
// maxAge ago in Redis; otherwise the one that takes the lock reads the
// inventory and leaves its figures there, and the others take the older
// figures meanwhile (or read for themselves if there are none). Every
// process exporting the metrics would otherwise scan every occupied bucket
// each time (two round trips per 1,024 buckets, per process).
func (s *Store) SharedWorkStats(ctx context.Context, now time.Time, maxAge time.Duration, cutoff time.Time) (WorkStats, time.Time, error) {
	var cached cachedWorkStats
	raw, err := s.rdb.Get(ctx, s.workStatsKey()).Bytes()
	if err != nil && !errors.Is(err, redis.Nil) {
		return WorkStats{}, time.Time{}, err
	}
	have := err == nil && json.Unmarshal(raw, &cached) == nil
	if have && now.Sub(cached.At) < maxAge && !now.Before(cached.At) {
		return cached.Stats, cached.At, nil
	}
	got, err := s.rdb.SetNX(ctx, s.workStatsKey()+":lock", "1", maxAge/2).Result()
	if err != nil {
		return WorkStats{}, time.Time{}, err
	}
	if !got && have {
		return cached.Stats, cached.At, nil // another process is reading
	}
	st, err := s.WorkStats(ctx, cutoff)
	if err != nil {
		return st, time.Time{}, err
	}
	if b, err := json.Marshal(cachedWorkStats{At: now, Stats: st}); err == nil {
		_ = s.rdb.Set(ctx, s.workStatsKey(), b, 2*maxAge).Err()
	}
	s.workScans.Add(1)
	return st, now, nil
}
