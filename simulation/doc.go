// Package simulation runs reglock's producers, workers and janitor against
// simulated Redis, asynq and registrars, with faults everywhere and a virtual
// clock, so that one seed reproduces one run exactly: the FoundationDB way of
// testing what depends on ordering and failure.
//
// A Sim is a cooperative scheduler. Code runs in actors (Sim.Go), goroutines
// of which exactly one runs at a time; every other actor is parked at a
// scheduling point: Sim.Yield, a Sleep on Sim.Clock, a Redis command, an
// enqueue or inspection of the simulated queue, a registrar call. At each
// point the scheduler picks the next actor with the seeded generator and
// moves virtual time on by 1 to 3 ms, so every decision, and so every
// outcome, follows from the seed alone. Faults are drawn from the same
// generator.
//
// What the simulation cannot see, it cannot order. Code under test must:
//   - take time from Sim.Clock, never from time.Now, time.Sleep or timers;
//   - make its time limits with Sim.WithDeadline or Sim.WithTimeout: the
//     deadline of a context.WithTimeout is wall-clock time, which the
//     simulation neither waits for nor orders;
//   - start concurrent work with Sim.Go, not the go statement: a goroutine
//     of its own that reaches a scheduling point breaks the one-at-a-time
//     rule;
//   - draw randomness from Sim.Rand, never from math/rand's global source.
//
// A call made from inside an actor is that actor's scheduling point even
// when its context is not the actor's (context.Background in a library):
// the running actor is the one that parks. Calls made outside actors (setup
// and assertions between runs) are not scheduling points and draw no
// faults.
package simulation
