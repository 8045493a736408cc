package audit

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/reglock/reglock/redistest"
)

func TestLog_recordAndList(t *testing.T) {
	env := redistest.New(t)
	l := New(env.Client, env.StorePrefix(), 50)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for i := range 120 {
		kind := KindChange
		if i%3 == 0 {
			kind = KindDrift
		}
		err := l.Record(ctx, Event{Time: t0.Add(time.Duration(i) * time.Second), Kind: kind, Domain: fmt.Sprintf("d%d.com", i%4),
			Provider: "enom", Before: "unlocked", After: "locked", Cause: "sweep", Generation: int64(i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	all, err := l.List(ctx, Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Capped: about maxLen events kept (XADD MAXLEN ~ trims whole nodes).
	if len(all) < 50 || len(all) > 120 {
		t.Fatalf("kept %d events", len(all))
	}
	if all[0].Generation != 119 || !all[0].Time.Equal(t0.Add(119*time.Second)) || all[0].Domain != "d3.com" {
		t.Fatalf("newest event: %+v", all[0])
	}
	drift, _ := l.List(ctx, Query{Kind: KindDrift, Domain: "d0.com", Limit: 3})
	if len(drift) != 3 {
		t.Fatalf("filtered: %+v", drift)
	}
	for _, e := range drift {
		if e.Kind != KindDrift || e.Domain != "d0.com" {
			t.Fatalf("filter leaked %+v", e)
		}
	}
}
