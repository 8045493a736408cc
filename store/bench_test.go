package store

import (
	"context"
	"fmt"
	"testing"

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
