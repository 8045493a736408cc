package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/redistest"
)

// The store's hot operations against the real test Redis, next to a plain
// HSET and HGET of one field as the baseline of one round trip: the ratio
// is what the store's Lua and encoding cost on top.
func BenchmarkStore(b *testing.B) {
	env := redistest.New(b)
	s := New(env.Client, env.StorePrefix())
	ctx := context.Background()
	const n = 1000
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("bench%04d.com", i)
		if _, _, err := s.Fold(ctx, Change{Domain: names[i], Kind: KindLock, Provider: "enom"}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("baseline HSET", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			env.Client.HSet(ctx, env.StorePrefix()+"baseline", names[i%n], "enom|1|1|0||")
		}
	})
	b.Run("baseline HGET", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			env.Client.HGet(ctx, env.StorePrefix()+"baseline", names[i%n])
		}
	})
	b.Run("Desired", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, err := s.Desired(ctx, names[i%n]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Fold record", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, _, err := s.Fold(ctx, Change{Domain: names[i%n], Kind: KindLock, Provider: "enom"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Observe", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if _, _, err := s.Observe(ctx, names[i%n], Reading{Locked: i%2 == 0}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ObserveMany 100", func(b *testing.B) {
		rs := make([]DomainReading, 100)
		for i := range rs {
			rs[i] = DomainReading{Domain: names[i], Reading: Reading{Locked: true}}
		}
		for b.Loop() {
			if _, err := s.ObserveMany(ctx, rs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Decoding a stored intent, the store's Go-side hot path.
func BenchmarkDecodeIntent(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeIntent("enom-main|1|12345|1795351215491|1a|"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHistoryMemory reports what a domain's history costs in Redis
// (used_memory, per domain, over 2,000 domains), as the store keeps it (a
// list while short, then a stream) and as reglock kept it before (always a
// stream, the same fields), with 1, 10 and 100 events a domain.
func BenchmarkHistoryMemory(b *testing.B) {
	env := redistest.New(b)
	s := New(env.Client, env.StorePrefix())
	ctx := context.Background()
	used := func() int64 {
		info := env.Client.Info(ctx, "memory").Val()
		for _, line := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		b.Fatal("no used_memory in INFO")
		return 0
	}
	fields := []string{"kind", "intent", "gen", "1", "provider", "enom-main", "intent", "lock", "source", "record", "by", "billing", "token", "billing"}
	const domains = 2000
	for _, events := range []int{1, 10, 100} {
		for _, layout := range []string{"now", "stream (before)"} {
			b.Run(fmt.Sprintf("%s/%d events", layout, events), func(b *testing.B) {
				for n := 0; b.Loop(); n++ {
					before := used()
					for i := range domains {
						d := fmt.Sprintf("mem%d-%d-%d-%s.com", events, n, i, layout[:3])
						for e := range events {
							at := t0.Add(time.Duration(e) * time.Second)
							var err error
							if layout == "now" {
								err = s.RecordHistory(ctx, d, at, fields...)
							} else {
								vals := append([]any{"time", strconv.FormatInt(at.UnixMilli(), 10)}, anys(fields)...)
								err = env.Client.XAdd(ctx, &redis.XAddArgs{Stream: s.HistoryKey(d), MaxLen: 1000, Approx: true, Values: vals}).Err()
							}
							if err != nil {
								b.Fatal(err)
							}
						}
					}
					b.ReportMetric(float64(used()-before)/domains, "B/domain")
				}
			})
		}
	}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
