// Package scheduler starts compliance sweeps on a cron schedule
// (robfig/cron/v3 specs, in a configured time zone).
//
// Any number of scheduler replicas may run: each tick's sweep gets an ID
// derived from the tick's scheduled time, the same in every replica, and the
// Starter enqueues it under that ID, so one tick starts one sweep.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
)

// Starter starts the sweep with the given ID; starting an ID twice must start
// it once.
type Starter interface {
	StartSweep(ctx context.Context, id string) error
}

// Scheduler runs a cron schedule.
type Scheduler struct {
	schedule cron.Schedule
	loc      *time.Location
	starter  Starter
	log      zerolog.Logger
	// Clock is the time source (the wall clock, unless a test replaces it).
	Clock clock.Clock
	// Hold, when set, is asked before each start: an error (the store is
	// lost or replaced) holds the tick's sweep, which is tried again like a
	// failed start until the next tick is due.
	Hold func(context.Context) error
	// Prefix starts the IDs of the tick's sweeps ("sweep-" if empty).
	Prefix string
}

// ErrSkip, wrapped in a start's error, skips the tick without a retry: the
// starter decided this tick has nothing to start.
var ErrSkip = errors.New("tick skipped")

// New parses a cron spec ("0 3 * * *", "@every 15m", "@daily") for the time
// zone tz ("" means UTC).
func New(spec, tz string, starter Starter, log zerolog.Logger) (*Scheduler, error) {
	loc := time.UTC
	if tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("scheduler.timezone: %w", err)
		}
		loc = l
	}
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("scheduler.sweep %q: %w", spec, err)
	}
	return &Scheduler{schedule: sched, loc: loc, starter: starter, log: log, Clock: clock.Real}, nil
}

func (s *Scheduler) hold(ctx context.Context) error {
	if s.Hold == nil {
		return nil
	}
	return s.Hold(ctx)
}

// SweepID is the ID of the sweep of the tick scheduled at t.
func SweepID(t time.Time) string { return tickID("sweep-", t) }

func tickID(prefix string, t time.Time) string {
	return prefix + t.UTC().Format("20060102T150405Z")
}

func (s *Scheduler) id(t time.Time) string {
	if s.Prefix == "" {
		return SweepID(t)
	}
	return tickID(s.Prefix, t)
}

// Next returns the first tick after t. "@every d" ticks are aligned to
// multiples of d since the Unix epoch rather than to when the process
// started, so that replicas started at different times agree on them.
func (s *Scheduler) Next(t time.Time) time.Time {
	if every, ok := s.schedule.(cron.ConstantDelaySchedule); ok {
		d := every.Delay
		return time.Unix(0, 0).Add(t.Sub(time.Unix(0, 0)).Truncate(d) + d).In(s.loc)
	}
	return s.schedule.Next(t.In(s.loc))
}

// Run starts a sweep at every tick until ctx ends. A failed start is
// retried until the next tick is due.
func (s *Scheduler) Run(ctx context.Context) error {
	next := s.Next(s.Clock.Now())
	s.log.Info().Time("next", next).Msg("scheduler started")
	for {
		if err := s.Clock.Sleep(ctx, next.Sub(s.Clock.Now())); err != nil {
			return nil
		}
		tick := next
		next = s.Next(tick)
		id := s.id(tick)
		for attempt := 0; ; attempt++ {
			err := s.hold(ctx)
			if err == nil {
				err = s.starter.StartSweep(ctx, id)
			}
			if err == nil {
				s.log.Info().Str("sweep_id", id).Time("next", next).Msg("scheduled sweep started")
				break
			}
			if errors.Is(err, ErrSkip) {
				s.log.Info().Err(err).Str("sweep_id", id).Time("next", next).Msg("tick skipped")
				break
			}
			s.log.Error().Err(err).Str("sweep_id", id).Msg("could not start the scheduled sweep; retrying")
			wait := min(time.Second<<min(attempt, 6), 60*time.Second)
			if !s.Clock.Now().Add(wait).Before(next) {
				s.log.Error().Str("sweep_id", id).Msg("giving up on this tick; the next one is due")
				break
			}
			if err := s.Clock.Sleep(ctx, wait); err != nil {
				return nil
			}
		}
	}
}
