package simulation

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// Redis is an in-process Redis (miniredis) on the virtual clock, with a
// go-redis client whose every command from an actor is a scheduling point
// and may fail.
type Redis struct {
	// MR is the server, for assertions and for faults of its own
	// (MR.SetError). Its clock moves with each command; before reading TTLs
	// through MR directly, set it with MR.SetTime(sim.Now()).
	MR *miniredis.Miniredis
	// Client is the client to hand to the code under test.
	Client *redis.Client

	sim    *Sim
	faults RedisFaults
}

// RedisFaults are the chances, per command from an actor (a pipeline or a
// transaction counts as one), that the command fails.
type RedisFaults struct {
	// Before: the command is not sent; the client sees a *Fault.
	Before float64
	// After: the command runs, then its reply is lost; the client sees a
	// *Fault while the change stands. A command that fails for real (a
	// script error, NOSCRIPT) keeps its own error.
	After float64
}

// Fault is an error the simulation injected in place of an answer from
// Redis (or from asynq, which is Redis underneath). Code under test should
// treat it as any network failure: it cannot tell whether the command ran.
type Fault struct {
	// Op names what failed: a command ("evalsha"), "pipeline" or
	// "asynq enqueue".
	Op string
	// Lost is set when the operation took effect and only its reply was
	// lost.
	Lost bool
}

func (f *Fault) Error() string {
	if f.Lost {
		return "simulated Redis fault: " + f.Op + ": connection lost before the reply (the command ran)"
	}
	return "simulated Redis fault: " + f.Op + ": connection refused (the command did not run)"
}

// Timeout and Temporary make a *Fault a net.Error, as the network errors
// it stands for are: a lost reply is a read timeout.
func (f *Fault) Timeout() bool   { return f.Lost }
func (f *Fault) Temporary() bool { return true }

// NewRedis starts a miniredis on the virtual clock (its TIME and its TTLs
// follow Sim.Now) and a client for it that never retries or talks to the
// server on its own: every command the client sends is one the code under
// test asked for.
func (s *Sim) NewRedis() (*Redis, error) {
	mr := miniredis.NewMiniRedis()
	mr.SetTime(s.now)
	mr.ClockTTL(true)
	// SPOP, SRANDMEMBER and friends draw from this.
	mr.Seed(int(s.rng.Int64()))
	if err := mr.Start(); err != nil {
		return nil, fmt.Errorf("simulation: start miniredis: %w", err)
	}
	r := &Redis{MR: mr, sim: s}
	r.Client = redis.NewClient(&redis.Options{
		Addr: mr.Addr(),
		// In-memory connections: a run is thousands of commands, and a
		// socket's system calls would be most of its cost.
		Dialer: func(context.Context, string, string) (net.Conn, error) {
			client, server := net.Pipe()
			mr.Server().ServeConn(server)
			return client, nil
		},
		// RESP2 and no identity: the connection handshake is HELLO alone,
		// with no CLIENT SETINFO and no push notifications.
		Protocol:        2,
		DisableIdentity: true,
		// A retry by the client would be a second command the simulation
		// did not schedule, and would hide the faults it injects.
		MaxRetries: -1,
		// The wall clock must not decide anything: no socket deadlines.
		ReadTimeout:  -1,
		WriteTimeout: -1,
		// Actors parked in the middle of a transaction (WATCH) hold a
		// connection each.
		PoolSize:                 64,
		MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
	})
	r.Client.AddHook(redisHook{r})
	return r, nil
}

// SetFaults sets the chances of failure from now on.
func (r *Redis) SetFaults(f RedisFaults) { r.faults = f }

// Close closes the client and stops the server.
func (r *Redis) Close() {
	_ = r.Client.Close()
	r.MR.Close()
}

type faultKind int

const (
	noFault faultKind = iota
	faultBefore
	faultAfter
)

// roll decides the fault of one command. It draws only when faults are on,
// so that turning them off leaves the rest of a run's draws alone.
func (r *Redis) roll() faultKind {
	f := r.faults
	if f.Before <= 0 && f.After <= 0 {
		return noFault
	}
	switch u := r.sim.rng.Float64(); {
	case u < f.Before:
		return faultBefore
	case u < f.Before+f.After:
		return faultAfter
	}
	return noFault
}

// enter is what every command goes through first: the scheduling point and
// the clock. It returns the fault to inject, if any.
func (r *Redis) enter(ctx context.Context) faultKind {
	a := r.sim.caller(ctx)
	if a != nil {
		r.sim.park(a, runnable, time.Time{}, nil)
	}
	// Outside actors too: an assertion after a run reads the TTLs of the
	// run's end.
	r.MR.SetTime(r.sim.now)
	if a == nil {
		return noFault
	}
	return r.roll()
}

// handshake reports whether a command is one go-redis sends by itself, to
// open a connection or to release one (UNWATCH, from Tx.Close). Those pass
// untouched: a fault there breaks the pool rather than the caller's
// command, and a scheduling point there would unwind a killed actor again
// with the connection still out of the pool.
func handshake(name string) bool {
	switch name {
	case "hello", "auth", "select", "client", "readonly", "unwatch":
		return true
	}
	return false
}

// realFailure reports whether err is an answer the command itself got
// (not success, not redis.Nil): such an answer is passed on, not replaced
// by a lost reply, so that NOSCRIPT still makes a script load itself.
func realFailure(err error) bool {
	return err != nil && !errors.Is(err, redis.Nil)
}

type redisHook struct{ r *Redis }

func (h redisHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h redisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if handshake(cmd.Name()) {
			return next(ctx, cmd)
		}
		switch h.r.enter(ctx) {
		case faultBefore:
			f := &Fault{Op: cmd.Name()}
			cmd.SetErr(f)
			return f
		case faultAfter:
			if err := next(ctx, cmd); realFailure(err) {
				return err
			}
			f := &Fault{Op: cmd.Name(), Lost: true}
			cmd.SetErr(f)
			return f
		}
		return next(ctx, cmd)
	}
}

func (h redisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if pipelineHandshake(cmds) {
			return next(ctx, cmds)
		}
		op := "pipeline"
		if len(cmds) > 0 && cmds[0].Name() == "multi" {
			op = "transaction"
		}
		switch h.r.enter(ctx) {
		case faultBefore:
			f := &Fault{Op: op}
			for _, c := range cmds {
				c.SetErr(f)
			}
			return f
		case faultAfter:
			err := next(ctx, cmds)
			for _, c := range cmds {
				if realFailure(c.Err()) {
					return err
				}
			}
			f := &Fault{Op: op, Lost: true}
			for _, c := range cmds {
				c.SetErr(f)
			}
			return f
		}
		return next(ctx, cmds)
	}
}

func pipelineHandshake(cmds []redis.Cmder) bool {
	for _, c := range cmds {
		if !handshake(c.Name()) {
			return false
		}
	}
	return true
}
