package ratelimit

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/redistest"
)

var laneSeeds = flag.Int("ratelimit.seeds", 1000, "seeds of TestLanes_property")

// Changes never wait behind background reads: whatever the interleaving of
// background reads (from several processes) and changes, a change's slot is
// at most one interval later than the changes already booked ahead of it
// allow; background reads take only slots free at that moment, never one of
// the two after a change's, and at most their share of the rate; no window
// holds more calls than the rate.
// Time is the test's (the script takes "now" from it), so every seed is
// exact and reproducible.
func TestLanes_property(t *testing.T) {
	env := redistest.New(t)
	ctx := context.Background()
	for seed := range *laneSeeds {
		if err := laneSeed(ctx, New(env.Client, env.StorePrefix()), uint64(seed)); err != nil {
			t.Fatalf("seed %d: %v (replay: go test ./ratelimit -run TestLanes_property -ratelimit.seeds %d)", seed, err, seed+1)
		}
	}
}

func laneSeed(ctx context.Context, l *Limiter, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 7))
	rate := []float64{1, 5, 20}[rng.IntN(3)]
	lim := Limit{Rate: rate, Burst: 1, Share: []float64{0.5, 0.8, 1}[rng.IntN(3)]}
	T := time.Duration(float64(time.Second) / rate)
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC).Add(time.Duration(seed) * time.Hour)
	l.now = func() time.Time { return now }
	account := fmt.Sprintf("acct%d", seed)
	var fgSlots, bgSlots, all []time.Time
	for range 120 {
		now = now.Add(time.Duration(rng.Float64() * float64(T)))
		if rng.IntN(3) > 0 {
			// A background read: from whichever process, it books a slot only
			// if one is free now.
			wait, n, err := l.reserve(ctx, account, laneBg, T, lim, 1, time.Hour)
			if err != nil {
				return err
			}
			if n > 0 {
				if wait != 0 {
					return fmt.Errorf("a background read booked a slot %v ahead", wait)
				}
				// The slots right after a change's are kept for its next
				// calls.
				for _, f := range fgSlots {
					if hold := f.Add(time.Duration(1+changeHold) * T); now.After(f.Add(-time.Microsecond)) && now.Before(hold.Add(-time.Microsecond)) {
						return fmt.Errorf("a background read took the slot at %v, within %d intervals after a change's at %v", now, changeHold, f)
					}
				}
				bgSlots, all = append(bgSlots, now), append(all, now)
			}
			continue
		}
		ahead := 0
		for _, s := range fgSlots {
			if !s.Before(now) {
				ahead++
			}
		}
		wait, n, err := l.reserve(ctx, account, laneFg, T, lim, 1, time.Hour)
		if err != nil || n != 1 {
			return fmt.Errorf("change not booked: %d, %v", n, err)
		}
		if limit := time.Duration(ahead+1) * T; wait > limit {
			return fmt.Errorf("a change waited %v with %d changes ahead: more than %v (rate %v, share %v)", wait, ahead, limit, rate, lim.Share)
		}
		fgSlots = append(fgSlots, now.Add(wait))
		all = append(all, now.Add(wait))
	}
	// The background lane keeps to its share; nothing exceeds the rate.
	if err := within(bgSlots, time.Duration(float64(T)/lim.Share), "background"); err != nil {
		return err
	}
	return within(all, T, "all")
}

// within checks that consecutive slots (sorted) are at least gap apart,
// allowing a microsecond for rounding.
func within(slots []time.Time, gap time.Duration, what string) error {
	sorted := append([]time.Time(nil), slots...)
	for i := 1; i < len(sorted); i++ {
		for j := i; j > 0 && sorted[j].Before(sorted[j-1]); j-- {
			sorted[j], sorted[j-1] = sorted[j-1], sorted[j]
		}
	}
	for i := 1; i < len(sorted); i++ {
		if d := sorted[i].Sub(sorted[i-1]); d < gap-time.Microsecond {
			return fmt.Errorf("%s slots %v apart, want at least %v", what, d, gap)
		}
	}
	return nil
}

// A background read that finds no free slot within its wait is handed back
// (a RetryAfterError wrapping ErrLimited), having booked nothing: changes
// booked ahead keep their slots.
func TestWait_backgroundGivesWay(t *testing.T) {
	env := redistest.New(t)
	ctx := context.Background()
	l := New(env.Client, env.StorePrefix())
	lim := Limit{Rate: 10, Burst: 1}
	for range 20 { // two seconds of changes booked ahead
		if _, n, err := l.reserve(ctx, "acct", laneFg, 100*time.Millisecond, lim, 1, time.Hour); err != nil || n != 1 {
			t.Fatal(n, err)
		}
	}
	err := l.Wait(Background(ctx), "acct", lim, 50*time.Millisecond)
	var ra *providers.RetryAfterError
	if !errors.As(err, &ra) || !errors.Is(err, ErrLimited) {
		t.Fatalf("background Wait = %v, want a RetryAfterError wrapping ErrLimited", err)
	}
	if IsBackground(ctx) || !IsBackground(Background(ctx)) {
		t.Fatal("Background does not mark the context")
	}
	// The next change still gets the slot right after the booked ones.
	wait, n, err := l.reserve(ctx, "acct", laneFg, 100*time.Millisecond, lim, 1, time.Hour)
	if err != nil || n != 1 || wait > 2100*time.Millisecond {
		t.Fatalf("next change: wait %v, %d, %v", wait, n, err)
	}
}
