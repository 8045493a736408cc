package simulation_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/simulation"
)

// A producer asks for a lock through a flaky queue; a worker carries it out
// at a flaky registrar and is killed once along the way. The same seed
// always gives the same story.
func Example() {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := simulation.New(7, start)
	defer s.Close()

	reg := s.NewRegistrar("acct")
	reg.Add("example.com", false)
	reg.SetFaults(simulation.RegistrarFaults{MaxDelay: time.Second, FailBefore: 0.3})

	q := s.NewQueue(simulation.QueueConfig{
		RetryDelay: func(n int, _ error, _ *asynq.Task) time.Duration { return time.Duration(n+1) * time.Second },
	})
	q.SetFaults(simulation.QueueFaults{EnqueueBefore: 0.3})

	handler := asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		return reg.SetLock(ctx, string(t.Payload()), true)
	})
	w := q.StartWorker("worker", []string{"changes"}, handler, nil)

	producer := s.Go("producer", func(ctx context.Context) {
		task := asynq.NewTask("domain:lock", []byte("example.com"), asynq.Queue("changes"))
		for {
			_, err := q.EnqueueContext(ctx, task, asynq.TaskID("lock:example.com@1"))
			if err == nil || errors.Is(err, asynq.ErrTaskIDConflict) {
				return
			}
			_ = s.Clock().Sleep(ctx, time.Second) // a Redis fault: try again
		}
	})
	s.Go("chaos", func(ctx context.Context) {
		_ = s.Clock().Sleep(ctx, 500*time.Millisecond)
		s.Kill(w)
		q.StartWorker("worker (restarted)", []string{"changes"}, handler, nil)
	})

	err := s.Run(func() bool { return producer.Done() && q.Idle() }, start.Add(time.Hour))
	locked, _ := reg.Locked("example.com")
	fmt.Println(err, locked, len(reg.Calls()) > 0)
	// Output: <nil> true true
}
