package scheduler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
)

type recorder struct {
	mu     sync.Mutex
	ids    []string
	failN  int
	cancel context.CancelFunc
	stopAt int
}

func (r *recorder) StartSweep(_ context.Context, id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.failN > 0 {
		r.failN--
		return errors.New("redis down")
	}
	r.ids = append(r.ids, id)
	if len(r.ids) == r.stopAt {
		r.cancel()
	}
	return nil
}

func run(t *testing.T, spec, tz string, start time.Time, ticks, failN int) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	rec := &recorder{cancel: cancel, stopAt: ticks, failN: failN}
	s, err := New(spec, tz, rec, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s.Clock = clock.NewManual(start)
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return rec.ids
}

func TestScheduler_ticks(t *testing.T) {
	start := time.Date(2026, 11, 22, 1, 30, 0, 0, time.UTC)
	got := run(t, "0 3 * * *", "UTC", start, 3, 0)
	want := []string{"sweep-20261122T030000Z", "sweep-20261123T030000Z", "sweep-20261124T030000Z"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("sweeps %v, want %v", got, want)
	}
	// The time zone moves the tick: 03:00 in Tallinn (UTC+2 in November) is 01:00 UTC.
	got = run(t, "0 3 * * *", "Europe/Tallinn", start, 1, 0)
	if got[0] != "sweep-20261123T010000Z" {
		t.Fatalf("Tallinn tick %v", got)
	}
	got = run(t, "@every 15m", "", start, 2, 0)
	if got[0] != "sweep-20261122T014500Z" || got[1] != "sweep-20261122T020000Z" {
		t.Fatalf("@every ticks %v", got)
	}
}

// Two replicas whose clocks differ by seconds compute the same tick, so
// they ask for the same sweep ID.
func TestScheduler_replicasAgreeOnTheID(t *testing.T) {
	a := run(t, "0 3 * * *", "UTC", time.Date(2026, 11, 22, 2, 59, 57, 0, time.UTC), 1, 0)
	b := run(t, "0 3 * * *", "UTC", time.Date(2026, 11, 22, 2, 59, 59, 500e6, time.UTC), 1, 0)
	if a[0] != b[0] {
		t.Fatalf("replicas disagree: %s vs %s", a[0], b[0])
	}
}

// "@every" ticks do not depend on when a replica started.
func TestScheduler_everyIsAlignedAcrossReplicas(t *testing.T) {
	a := run(t, "@every 15m", "", time.Date(2026, 11, 22, 1, 31, 7, 0, time.UTC), 1, 0)
	b := run(t, "@every 15m", "", time.Date(2026, 11, 22, 1, 44, 59, 0, time.UTC), 1, 0)
	if a[0] != "sweep-20261122T014500Z" || a[0] != b[0] {
		t.Fatalf("replicas disagree on @every ticks: %v vs %v", a, b)
	}
}

func TestScheduler_retriesAFailedStart(t *testing.T) {
	got := run(t, "0 3 * * *", "UTC", time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC), 1, 3)
	if len(got) != 1 || got[0] != "sweep-20261122T030000Z" {
		t.Fatalf("after 3 failures: %v", got)
	}
}

func TestNew_badSpec(t *testing.T) {
	if _, err := New("61 * * * *", "", nil, zerolog.Nop()); err == nil {
		t.Fatal("accepted minute 61")
	}
	if _, err := New("@daily", "Mars/Olympus", nil, zerolog.Nop()); err == nil {
		t.Fatal("accepted an unknown time zone")
	}
}

// While the store is lost, Hold holds each tick's sweep: it is tried again
// like a failed start, starts if the store comes back before the next tick,
// and is given up otherwise.
func TestScheduler_holdsSweepsWhileTheStoreIsLost(t *testing.T) {
	start := time.Date(2026, 11, 22, 1, 30, 0, 0, time.UTC)
	clk := clock.NewManual(start)
	restored := time.Date(2026, 11, 22, 2, 5, 0, 0, time.UTC)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{cancel: cancel, stopAt: 2}
	s, err := New("@every 15m", "", rec, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s.Clock = clk
	var held []time.Time
	s.Hold = func(context.Context) error {
		if clk.Now().Before(restored) {
			held = append(held, clk.Now())
			return errors.New("store lost")
		}
		return nil
	}
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	// 01:45 is held until its next tick and given up; 02:00 is held until
	// the store comes back at 02:05 and starts late; 02:15 starts on time.
	if len(rec.ids) != 2 || rec.ids[0] != "sweep-20261122T020000Z" || rec.ids[1] != "sweep-20261122T021500Z" {
		t.Fatalf("sweeps started %v, want 02:00 (late) and 02:15", rec.ids)
	}
	if len(held) == 0 || held[0] != time.Date(2026, 11, 22, 1, 45, 0, 0, time.UTC) {
		t.Fatalf("held at %v", held)
	}
}

// skipper skips every other tick, as a freshness pass is skipped while
// the previous one runs.
type skipper struct {
	calls  []string
	cancel context.CancelFunc
}

func (s *skipper) StartSweep(_ context.Context, id string) error {
	s.calls = append(s.calls, id)
	if len(s.calls) == 4 {
		s.cancel()
	}
	if len(s.calls)%2 == 1 {
		return fmt.Errorf("%w: still running", ErrSkip)
	}
	return nil
}

// A skipped tick is not retried: the next tick is the next try.
func TestScheduler_skippedTickIsNotRetried(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sk := &skipper{cancel: cancel}
	s, err := New("@every 10s", "", sk, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	s.Prefix = "fresh-"
	s.Clock = clock.NewManual(time.Date(2026, 12, 2, 0, 0, 1, 0, time.UTC))
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	want := []string{"fresh-20261202T000010Z", "fresh-20261202T000020Z", "fresh-20261202T000030Z", "fresh-20261202T000040Z"}
	if !slices.Equal(sk.calls, want) {
		t.Fatalf("starts %v, want one per tick %v", sk.calls, want)
	}
}
