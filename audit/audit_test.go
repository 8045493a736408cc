package audit

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/store"
)

func TestLog_perDomainHistory(t *testing.T) {
	env := redistest.New(t)
	s := store.New(env.Client, env.StorePrefix())
	s.SetHistory(store.HistoryLimits{MaxLen: 50, Retention: time.Hour})
	l := New(s)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	for i := range 1200 {
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
	// A busy domain does not push a quiet one's history out.
	if err := l.Record(ctx, Event{Time: t0, Kind: KindForgotten, Domain: "quiet.com", Provider: "ee", RequestedBy: "ops", Reason: "expired", Token: "admin"}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		for i := range 400 {
			_ = l.Record(ctx, Event{Kind: KindChange, Domain: "busy.com", Generation: int64(i)})
		}
	}
	quiet, next, err := l.History(ctx, "quiet.com", "", 10)
	if err != nil || len(quiet) != 1 || next != "" {
		t.Fatalf("quiet history = %+v, %q, %v", quiet, next, err)
	}
	if q := quiet[0]; q.Kind != KindForgotten || q.RequestedBy != "ops" || q.Reason != "expired" || q.Token != "admin" || q.Provider != "ee" || !q.Time.Equal(t0) {
		t.Fatalf("quiet event = %+v", q)
	}
	// Each domain keeps its newest MaxLen events, newest first, paged by
	// cursor without gaps or repeats.
	var all []Event
	cursor := ""
	for {
		page, next, err := l.History(ctx, "d3.com", cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	if len(all) != 50 {
		t.Fatalf("kept %d of d3.com's 300 events, want the newest 50", len(all))
	}
	for i, e := range all {
		want := int64(1199 - 4*i)
		if e.Generation != want || e.Domain != "d3.com" || !e.Time.Equal(t0.Add(time.Duration(want)*time.Second)) {
			t.Fatalf("event %d = %+v, want generation %d", i, e, want)
		}
	}
	// The history expires after the retention.
	ttl, err := env.Client.PTTL(ctx, s.HistoryKey("d3.com")).Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("history TTL = %v, %v", ttl, err)
	}
	if _, _, err := l.History(ctx, "d3.com", "nonsense", 5); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("bad cursor: %v", err)
	}
}

// The store's scripts write what this package reads: an intent with who
// asked and why, a relock, an error and its recovery, and forgetting.
func TestLog_readsTheStoresEvents(t *testing.T) {
	env := redistest.New(t)
	s := store.New(env.Client, env.StorePrefix())
	l := New(s)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	relockAt := t0.Add(72 * time.Hour)
	if _, _, err := s.Fold(ctx, store.Change{Domain: "example.com", Kind: store.KindUnlock, Provider: "enom", RequestedAt: t0,
		RelockAt: relockAt, RequestedBy: "billing", Reason: "customer transfer", Token: "whmcs"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Fold(ctx, store.Change{Domain: "example.com", Kind: store.KindLock, Mode: store.ModeRelock, RequestedAt: relockAt}); err != nil {
		t.Fatal(err)
	}
	// A refused request leaves no trace.
	if _, _, err := s.Fold(ctx, store.Change{Domain: "example.com", Kind: store.KindLock, Provider: "opensrs", Token: "x"}); err == nil {
		t.Fatal("moving by request accepted")
	}
	for _, r := range []store.Reading{{Err: "eNom: timeout"}, {Err: "eNom: timeout"}, {Err: "eNom: 503"}, {Locked: true}, {Locked: true}} {
		r.StartedAt = time.Now()
		if _, _, err := s.Observe(ctx, "example.com", r); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if _, err := s.Forget(ctx, "example.com", store.Forgotten{RequestedBy: "ops", Reason: "expired", Token: "admin"}); err != nil {
		t.Fatal(err)
	}
	events, _, err := l.History(ctx, "example.com", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Kind)
	}
	want := []string{KindForgotten, KindRecovery, KindError, KindError, KindRelock, KindIntent}
	if fmt.Sprint(kinds) != fmt.Sprint(want) {
		t.Fatalf("kinds newest first = %v, want %v (one error per distinct message, one recovery)", kinds, want)
	}
	in := events[5]
	if in.Intent != "unlock" || in.RequestedBy != "billing" || in.Reason != "customer transfer" || in.Token != "whmcs" ||
		in.Provider != "enom" || in.Generation != 1 || !in.RelockAt.Equal(relockAt) || in.Source != "record" {
		t.Fatalf("intent event = %+v", in)
	}
	if rl := events[4]; rl.Generation != 2 || rl.Intent != "lock" {
		t.Fatalf("relock event = %+v", rl)
	}
	if e := events[3]; e.Error != "eNom: timeout" || e.Generation != 2 {
		t.Fatalf("error event = %+v", e)
	}
	if e := events[0]; e.RequestedBy != "ops" || e.Token != "admin" || e.Generation != 2 {
		t.Fatalf("forgotten event = %+v", e)
	}
	got, ok, err := l.IntentOf(ctx, "example.com", 1)
	if err != nil || !ok || got.RequestedBy != "billing" {
		t.Fatalf("IntentOf = %+v, %v, %v", got, ok, err)
	}
	if _, err := s.Get(ctx, "example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("forgotten domain still there: %v", err)
	}
}
