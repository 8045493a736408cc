package simulation

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// recordIntent bumps a domain's generation and records its desired lock in
// one step, as reglock's store does with a script.
var recordIntent = redis.NewScript(`
local gen = redis.call("HINCRBY", KEYS[1], "generation", 1)
redis.call("HSET", KEYS[1], "locked", ARGV[1], "at", redis.call("TIME")[1])
return gen`)

// outcome is what a determinism check compares.
type outcome struct {
	trace uint64
	state string
}

// scenario runs producers, workers, a registrar and a chaos actor against
// each other with faults everywhere, and returns the trace and a digest of
// the final state.
func scenario(t *testing.T, seed uint64) outcome {
	t.Helper()
	s := New(seed, start)
	rd, err := s.NewRedis()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	defer s.Close() // first: the actors die before their Redis goes
	rd.SetFaults(RedisFaults{Before: 0.05, After: 0.05})
	q := s.NewQueue(QueueConfig{
		RetryDelay: func(n int, _ error, _ *asynq.Task) time.Duration {
			return time.Second + time.Duration(s.Rand().Int64N(int64(time.Second)))
		},
		LeaseRecovery: 30 * time.Second,
	})
	q.SetFaults(QueueFaults{EnqueueBefore: 0.05, EnqueueAfter: 0.05})
	reg := s.NewRegistrar("acct")
	reg.SetFaults(RegistrarFaults{
		MaxDelay: 500 * time.Millisecond, FailBefore: 0.1, Busy: 0.05, ApplyThenFail: 0.05, Hang: 0.02,
		HangFor: 5 * time.Second, LandLate: 0.5, LandWithin: 3 * time.Second,
	})
	domains := []string{"a.com", "b.com", "c.com"}
	for _, d := range domains {
		reg.Add(d, false)
	}

	var producers []*Actor
	for p := range 3 {
		producers = append(producers, s.Go(fmt.Sprint("producer ", p), func(ctx context.Context) {
			for i := range 6 {
				d := domains[(p+i)%len(domains)]
				locked := s.Rand().IntN(2)
				gen, err := recordIntent.Run(ctx, rd.Client, []string{"domain:" + d}, locked).Int64()
				for err != nil {
					_ = s.Clock().Sleep(ctx, 200*time.Millisecond)
					gen, err = recordIntent.Run(ctx, rd.Client, []string{"domain:" + d}, locked).Int64()
				}
				task := asynq.NewTask("lock", []byte(d), asynq.MaxRetry(8), asynq.Timeout(20*time.Second))
				for {
					_, err := q.EnqueueContext(ctx, task, asynq.Queue("changes"), asynq.TaskID(fmt.Sprintf("%s@%d", d, gen)))
					if err == nil || errors.Is(err, asynq.ErrTaskIDConflict) {
						break
					}
					_ = s.Clock().Sleep(ctx, 200*time.Millisecond)
				}
				_ = s.Clock().Sleep(ctx, time.Duration(s.Rand().Int64N(int64(2*time.Second))))
			}
		}))
	}

	var runs, failures int
	handler := asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) (err error) {
		runs++
		defer func() {
			if err != nil {
				failures++
			}
		}()
		d := string(task.Payload())
		want, err := rd.Client.HGet(ctx, "domain:"+d, "locked").Result()
		if err != nil {
			return err
		}
		if err := reg.SetLock(ctx, d, want == "1"); err != nil {
			return err
		}
		st, err := reg.LockState(ctx, d)
		if err != nil {
			return err
		}
		return rd.Client.HSet(ctx, "domain:"+d, "observed", st.Locked).Err()
	})
	w1 := q.StartWorker("worker 1", []string{"changes"}, handler, nil)
	q.StartWorker("worker 2", []string{"changes"}, handler, nil)
	s.Go("chaos", func(ctx context.Context) {
		_ = s.Clock().Sleep(ctx, time.Duration(s.Rand().Int64N(int64(10*time.Second))))
		s.Kill(w1)
		_ = s.Clock().Sleep(ctx, 5*time.Second)
		q.StartWorker("worker 1 again", []string{"changes"}, handler, nil)
	})

	err = s.Run(func() bool { return allDone(producers...)() && q.Idle() }, start.Add(2*time.Hour))
	if err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}

	var b strings.Builder
	fmt.Fprintf(&b, "now %s\n", s.Now().Format(time.RFC3339Nano))
	keys := rd.MR.Keys()
	slices.Sort(keys)
	for _, k := range keys {
		fields, _ := rd.MR.HKeys(k)
		slices.Sort(fields)
		for _, f := range fields {
			fmt.Fprintf(&b, "%s %s=%s\n", k, f, rd.MR.HGet(k, f))
		}
	}
	for _, info := range q.Tasks() {
		fmt.Fprintf(&b, "task %s %s retried %d %q\n", info.ID, info.State, info.Retried, info.LastErr)
	}
	for _, d := range domains {
		locked, _ := reg.Locked(d)
		fmt.Fprintf(&b, "registrar %s %v\n", d, locked)
	}
	for _, c := range reg.Calls() {
		fmt.Fprintf(&b, "call %s %s %s\n", c.At.Format(time.RFC3339Nano), c.Op, c.Domain)
	}
	fmt.Fprintf(&b, "handler runs %d, failures %d\n", runs, failures)
	return outcome{trace: s.Trace(), state: b.String()}
}

func TestDeterminism(t *testing.T) {
	first := scenario(t, 1)
	if !strings.Contains(first.state, "failures") || strings.Contains(first.state, "failures 0\n") {
		t.Fatalf("seed 1 saw no handler failures: the scenario exercises too little\n%s", first.state)
	}
	if again := scenario(t, 1); again != first {
		t.Fatalf("seed 1 twice: traces %x and %x; states equal: %v", first.trace, again.trace, first.state == again.state)
	}
	other := scenario(t, 2)
	if other.trace == first.trace || other.state == first.state {
		t.Fatalf("seeds 1 and 2 made the same run")
	}
}

// Many seeds of the same scenario, for the race detector and for a feel of
// the cost per seed.
func TestDeterminism_seeds(t *testing.T) {
	n := uint64(20)
	if testing.Short() {
		n = 5
	}
	before := runtime.NumGoroutine()
	for seed := range n {
		scenario(t, 100+seed)
	}
	// Close ends every actor: thousands of seeds must not pile up
	// goroutines. miniredis and go-redis take a moment to let go of theirs.
	for i := 0; runtime.NumGoroutine() > before+2; i++ {
		if i == 100 {
			t.Fatalf("%d goroutines before the seeds, %d after", before, runtime.NumGoroutine())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
