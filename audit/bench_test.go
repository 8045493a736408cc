package audit

import (
	"context"
	"fmt"
	"testing"

	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/store"
)

// BenchmarkDomainLookup reads one quiet domain's ten events while 100,000
// events of 10,000 other domains were recorded after them: the cost of a
// history does not depend on how busy the others are.
func BenchmarkDomainLookup(b *testing.B) {
	env := redistest.New(b)
	l := New(store.New(env.Client, env.StorePrefix()))
	ctx := context.Background()
	for i := range 10 {
		if err := l.Record(ctx, Event{Kind: KindChange, Domain: "target.com", Generation: int64(i)}); err != nil {
			b.Fatal(err)
		}
	}
	p := env.Client.Pipeline()
	for i := range 100000 {
		l.Append(ctx, p, Event{Kind: KindChange, Domain: fmt.Sprintf("d%d.com", i%10000), Generation: int64(i)})
		if i%1000 == 999 {
			if _, err := p.Exec(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		ev, _, err := l.History(ctx, "target.com", "", 10)
		if err != nil || len(ev) != 10 {
			b.Fatal(len(ev), err)
		}
	}
}
