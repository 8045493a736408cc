package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// A short history an older reglock wrote as a stream (same key, same
// fields) becomes a list when the next event is recorded: every event
// kept, in order, with its stream ID as its id and its expiry; events
// recorded after it have later ids. Read before that, it reads the same.
func TestHistory_streamFromAnOlderVersionBecomesAList(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.SetHistory(HistoryLimits{MaxLen: 100, Retention: time.Hour})
		old := func(domain string) []string {
			key := s.HistoryKey(domain)
			var ids []string
			for i := range 3 {
				id, err := s.Redis().XAdd(ctx, &redis.XAddArgs{Stream: key, ID: fmt.Sprintf("%d-%d", t0.UnixMilli()+int64(i), i),
					Values: []any{"time", strconv.FormatInt(t0.UnixMilli()+int64(i), 10), "kind", "change", "gen", strconv.Itoa(i + 1), "reason", `a "quoted", /slashed/ reason`}}).Result()
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, id)
			}
			if err := s.Redis().PExpire(ctx, key, 30*time.Minute).Err(); err != nil {
				t.Fatal(err)
			}
			return ids
		}
		check := func(domain string, ids []string, newer int, form string) {
			t.Helper()
			got, err := s.HistoryPage(ctx, domain, "", 10)
			if err != nil || len(got) != len(ids)+newer {
				t.Fatalf("%s: %d events (%v), want %d", domain, len(got), err, len(ids)+newer)
			}
			if typ, _ := s.Redis().Type(ctx, s.HistoryKey(domain)).Result(); typ != form {
				t.Fatalf("%s: history is a %s, want a %s", domain, typ, form)
			}
			for i, id := range ids { // newest first
				e := got[newer+len(ids)-1-i]
				if e.ID != id || e.Fields["gen"] != strconv.Itoa(i+1) || e.Fields["reason"] != `a "quoted", /slashed/ reason` {
					t.Fatalf("%s: event %d = %+v, want id %s", domain, i, e, id)
				}
			}
			for i := 0; i+1 < len(got); i++ {
				if !idLess(got[i+1].ID, got[i].ID) {
					t.Fatalf("%s: ids out of order: %s after %s", domain, got[i+1].ID, got[i].ID)
				}
			}
			if ttl := s.Redis().PTTL(ctx, s.HistoryKey(domain)).Val(); ttl <= 0 || ttl > time.Hour {
				t.Fatalf("%s: expiry %v", domain, ttl)
			}
		}
		// Read as a stream.
		ids := old("read.com")
		check("read.com", ids, 0, "stream")
		// Written first: an event recorded at an earlier time still comes
		// after the stream's.
		ids = old("write.com")
		if err := s.RecordHistory(ctx, "write.com", t0.Add(-time.Hour), "kind", "drift"); err != nil {
			t.Fatal(err)
		}
		check("write.com", ids, 1, "list")
		if ttl := s.Redis().PTTL(ctx, s.HistoryKey("write.com")).Val(); ttl > time.Hour {
			t.Fatalf("expiry %v", ttl)
		}
		// A script that records in the same step as a change.
		ids = old("fold.com")
		if _, _, err := s.Fold(ctx, Change{Domain: "fold.com", Kind: KindLock, Provider: "enom-main", Generation: 1, RequestedAt: t0}); err != nil {
			t.Fatal(err)
		}
		check("fold.com", ids, 1, "list")
	})
}

// CompactHistories turns the short streams an older reglock left into
// lists, events and expiry kept, and leaves long ones (and lists) alone.
func TestHistory_compactTurnsShortStreams(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for d, n := range map[string]int{"one.com": 1, "few.com": 31, "long.com": 40} {
			for i := range n {
				if err := s.Redis().XAdd(ctx, &redis.XAddArgs{Stream: s.HistoryKey(d), Values: []any{"time", "1", "kind", "change", "gen", strconv.Itoa(i)}}).Err(); err != nil {
					t.Fatal(err)
				}
			}
			s.Redis().PExpire(ctx, s.HistoryKey(d), time.Hour)
		}
		if err := s.RecordHistory(ctx, "new.com", t0, "kind", "intent"); err != nil {
			t.Fatal(err)
		}
		n, err := s.CompactHistories(ctx)
		if err != nil || n != 2 {
			t.Fatalf("CompactHistories = %d, %v; want the 2 short streams", n, err)
		}
		for d, want := range map[string]string{"one.com": "list", "few.com": "list", "long.com": "stream", "new.com": "list"} {
			key := s.HistoryKey(d)
			if typ := s.Redis().Type(ctx, key).Val(); typ != want {
				t.Errorf("%s: a %s, want a %s", d, typ, want)
			}
			if ttl := s.Redis().PTTL(ctx, key).Val(); ttl <= 0 {
				t.Errorf("%s: expiry lost (%v)", d, ttl)
			}
		}
		if page, err := s.HistoryPage(ctx, "few.com", "", 100); err != nil || len(page) != 31 || page[0].Fields["gen"] != "30" {
			t.Fatalf("few.com after compacting: %d events, newest %v, %v", len(page), page[0].Fields, err)
		}
		if n, err := s.CompactHistories(ctx); err != nil || n != 0 {
			t.Fatalf("a second CompactHistories = %d, %v; want 0", n, err)
		}
	})
}

// Whatever the times events are recorded with (the same ms, clocks of
// several processes going back and forth), ids only grow, every event is
// kept up to MaxLen, the newest, and pages by cursor see each exactly once.
func TestHistory_idsGrowAndPagesSeeEachOnce(t *testing.T) {
	backends(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		for seed := range 40 {
			r := rand.New(rand.NewPCG(uint64(seed), 7))
			maxLen := 1 + r.IntN(40)
			s.SetHistory(HistoryLimits{MaxLen: int64(maxLen), Retention: time.Hour})
			domain := fmt.Sprintf("seed%d.com", seed)
			n := r.IntN(80)
			at := t0
			for i := range n {
				at = at.Add(time.Duration(r.IntN(5)-2) * time.Millisecond) // same, later or earlier
				if err := s.RecordHistory(ctx, domain, at, "kind", "change", "gen", strconv.Itoa(i)); err != nil {
					t.Fatal(err)
				}
			}
			var all []HistoryEntry
			cursor, size := "", 1+r.IntN(10)
			for {
				page, err := s.HistoryPage(ctx, domain, cursor, size)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, page...)
				if len(page) < size {
					break
				}
				cursor = page[len(page)-1].ID
			}
			if want := min(n, maxLen); len(all) != want {
				t.Fatalf("seed %d: %d events paged, want %d (the newest of %d, MaxLen %d)", seed, len(all), want, n, maxLen)
			}
			// A list while short, a stream once it reached 32 events.
			form := "list"
			if n >= 32 && maxLen >= 32 {
				form = "stream"
			}
			if typ := s.Redis().Type(ctx, s.HistoryKey(domain)).Val(); n > 0 && typ != form {
				t.Fatalf("seed %d: %d events (MaxLen %d) kept as a %s, want a %s", seed, n, maxLen, typ, form)
			}
			for i, e := range all {
				if e.Fields["gen"] != strconv.Itoa(n-1-i) {
					t.Fatalf("seed %d: event %d is generation %s, want %d", seed, i, e.Fields["gen"], n-1-i)
				}
				if i > 0 && !idLess(e.ID, all[i-1].ID) {
					t.Fatalf("seed %d: id %s after %s", seed, e.ID, all[i-1].ID)
				}
			}
		}
	})
}

func idLess(a, b string) bool {
	am, as, _ := strings.Cut(a, "-")
	bm, bs, _ := strings.Cut(b, "-")
	x, _ := strconv.ParseInt(am, 10, 64)
	y, _ := strconv.ParseInt(bm, 10, 64)
	if x != y {
		return x < y
	}
	p, _ := strconv.Atoi(as)
	q, _ := strconv.Atoi(bs)
	return p < q
}
