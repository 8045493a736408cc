package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/redistest"
)

// TestLimiter_sharedAcrossProcesses runs four limiters (four worker
// processes) against one Redis and checks the slots they hand out: no
// 1-second window holds more than rate+burst, and the budget is used.
func TestLimiter_sharedAcrossProcesses(t *testing.T) {
	env := redistest.New(t)
	const rate, burst = 20.0, 1
	var mu sync.Mutex
	var slots []time.Time
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for p := 0; p < 4; p++ {
		l := New(env.Client, env.Namespace+":")
		l.onSlot = func(_ string, s time.Time) { mu.Lock(); slots = append(slots, s); mu.Unlock() }
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					if err := l.Wait(ctx, "enom-main", Limit{Rate: rate, Burst: burst}, 5*time.Second); err != nil && ctx.Err() == nil {
						t.Errorf("Wait: %v", err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	slices.SortFunc(slots, func(a, b time.Time) int { return a.Compare(b) })
	// Only slots inside the run count: the last waiters reserved slots past its end.
	end := slots[0].Add(2 * time.Second)
	busiest, used := 0, 0
	for i, s := range slots {
		if s.After(end) {
			break
		}
		used++
		j := i
		for j < len(slots) && slots[j].Sub(s) < time.Second {
			j++
		}
		busiest = max(busiest, j-i)
	}
	if busiest > rate+burst {
		t.Errorf("busiest 1-second window holds %d slots, want <= %v", busiest, rate+burst)
	}
	if want := int(0.9 * rate * 2); used < want {
		t.Errorf("%d slots in 2s, want >= %d (90%% of the budget)", used, want)
	}
	for i := 1; i < len(slots); i++ {
		if gap := slots[i].Sub(slots[i-1]); gap < 25*time.Millisecond {
			t.Fatalf("slots %d and %d only %v apart, want evenly spaced at 50ms", i-1, i, gap)
		}
	}
}

func TestLimiter_maxWait(t *testing.T) {
	env := redistest.New(t)
	l := New(env.Client, env.Namespace+":")
	ctx := context.Background()
	lim := Limit{Rate: 1, Burst: 1}
	if err := l.Wait(ctx, "a", lim, time.Second); err != nil {
		t.Fatal(err)
	}
	err := l.Wait(ctx, "a", lim, 100*time.Millisecond)
	var ra *providers.RetryAfterError
	if !errors.As(err, &ra) || !errors.Is(err, ErrLimited) || ra.After < 500*time.Millisecond || ra.After > time.Second {
		t.Fatalf("Wait = %v, want a RetryAfterError of about 1s", err)
	}
	// Another account has its own budget.
	if err := l.Wait(ctx, "b", lim, 0); err != nil {
		t.Fatalf("other account: %v", err)
	}
	// Unlimited never touches Redis.
	if err := l.Wait(ctx, "c", Limit{}, 0); err != nil {
		t.Fatal(err)
	}
}

func TestLimiter_burst(t *testing.T) {
	env := redistest.New(t)
	l := New(env.Client, env.Namespace+":")
	var slots []time.Time
	l.onSlot = func(_ string, s time.Time) { slots = append(slots, s) }
	start := time.Now()
	for range 3 {
		if err := l.Wait(context.Background(), "a", Limit{Rate: 2, Burst: 3}, time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if d := slots[2].Sub(start); d > 200*time.Millisecond {
		t.Fatalf("burst of 3 spread over %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx, "a", Limit{Rate: 2, Burst: 3}, time.Second); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Wait = %v", err)
	}
}

// BenchmarkLimiter_Wait is one call's cost at a rate that never makes it
// wait (the batch reservation amortises Redis), next to an unlimited one.
func BenchmarkLimiter_Wait(b *testing.B) {
	env := redistest.New(b)
	l := New(env.Client, env.Namespace+":")
	ctx := context.Background()
	for _, lim := range []Limit{{}, {Rate: 1e6, Burst: 1}} {
		b.Run(fmt.Sprintf("rate=%v", lim.Rate), func(b *testing.B) {
			for b.Loop() {
				if err := l.Wait(ctx, "bench", lim, time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
