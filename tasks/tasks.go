// Package tasks is reglock's queue contract: task types, their JSON payloads
// and constructors. A producer (a billing system, a script) can import this
// package alone and enqueue with an asynq.Client; it pulls in no store and no
// registrar code.
//
//	client := asynq.NewClient(asynq.RedisClientOpt{Addr: "127.0.0.1:6379"})
//	task, err := tasks.NewLockTask(tasks.LockPayload{Intent: tasks.Intent{Domain: "Example.COM.", Provider: "enom-main"}})
//	if err != nil { ... }
//	info, err := client.Enqueue(task)
//
// Payloads carry intent, not commands: the worker folds a task's intent into
// the domain's desired state (newest request wins) and converges the
// registrar on whatever is desired when it runs. A task that arrives after a
// newer intent for its domain is dropped as superseded.
//
// A producer that traces with OpenTelemetry can carry its trace into the
// worker's spans: task = tracing.Carry(ctx, task) before Enqueue puts the
// context in the task's headers (docs/operations.md, "Tracing").
package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"time"

	"github.com/hibiken/asynq"
)

// Task types. They show in asynqmon and the asynq CLI as they are.
const (
	// TypeLock asks for the registrar lock to be on. Payload: LockPayload.
	TypeLock = "domain:lock"
	// TypeUnlock asks for the registrar lock to be off. Payload: UnlockPayload.
	TypeUnlock = "domain:unlock"
	// TypeTradeLock sets OpenSRS's 60-day trade lock setting. Payload: TradeLockPayload.
	TypeTradeLock = "domain:trade_lock"
	// TypeCheck reads a domain's lock and queues a fix for confirmed drift.
	// Payload: CheckPayload.
	TypeCheck = "domain:check"
	// TypeSweep runs (part of) a reconciliation sweep. Payload: SweepPayload.
	TypeSweep = "sweep:run"
)

// Queues. Workers serve them with strict priority, so a sweep's checks never
// delay a customer's change.
const (
	// QueueChanges holds producer-initiated changes: first in line.
	QueueChanges = "reglock:changes"
	// QueueFixes holds fixes for drift and relocks at the end of unlock windows.
	QueueFixes = "reglock:fixes"
	// QueueChecks holds background reads: sweeps and single checks.
	QueueChecks = "reglock:checks"
)

// Causes say why an intent was recorded; they end up in the audit trail.
const (
	CauseRequest = "request" // a producer asked
	CauseSweep   = "sweep"   // a sweep found drift
	CauseRelock  = "relock"  // an unlock window ended
)

// Retry policy per task type: an explicit cap instead of asynq's 25 retries
// over weeks. Work that runs out of retries is archived; its intent stays in
// the store, so the next sweep picks the domain up again.
const (
	ChangeMaxRetry = 20 // with backoff capped at 15 minutes: about four hours
	CheckMaxRetry  = 5
	SweepMaxRetry  = 10
	ChangeTimeout  = 2 * time.Minute
	CheckTimeout   = 2 * time.Minute
	SweepTimeout   = 30 * time.Minute
)

// MaxGeneration is the largest generation a task may carry: the store
// computes with generations in Lua, whose numbers are exact integers only up
// to 2^53.
const MaxGeneration = 1<<53 - 1

// maxText bounds free-text fields (reason, requested_by) so that a payload
// stays small.
const maxText = 512

var providerName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,62}$`)

// Intent is what every change payload carries.
type Intent struct {
	// Domain in any form NormalizeDomain accepts; constructors normalise it.
	Domain string `json:"domain"`
	// Provider names the registrar account from the configuration. Optional
	// for a domain already in the inventory or covered by a provider's tlds.
	Provider string `json:"provider,omitempty"`
	// Generation is the domain's intent generation this task was recorded as
	// by the API; 0 for tasks enqueued directly by a producer, which are
	// ordered by RequestedAt instead.
	Generation int64 `json:"generation,omitempty"`
	// RequestedAt orders intents from producers that bypass the API: of two
	// requests for one domain, the later one wins, whatever order the tasks
	// run in. Constructors set it to now when it is zero.
	RequestedAt time.Time `json:"requested_at"`
	// Reason and RequestedBy go to the audit trail.
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
	// Cause is one of the Cause constants; empty means CauseRequest.
	Cause string `json:"cause,omitempty"`
	// RegistrarID, optional, is the registrar's own identifier of the
	// domain (a .ee UUID) when the producer knows it: a hint that spares
	// the worker a lookup by name. A wrong one costs a lookup, nothing more.
	RegistrarID string `json:"registrar_id,omitempty"`
}

// LockPayload is the payload of TypeLock.
type LockPayload struct {
	Intent
}

// UnlockPayload is the payload of TypeUnlock.
type UnlockPayload struct {
	Intent
	// RelockAfter, when set, flips the desired state back to locked once the
	// window has passed. JSON: a Go duration string such as "72h".
	RelockAfter Duration `json:"relock_after,omitempty"`
}

// TradeLockPayload is the payload of TypeTradeLock.
type TradeLockPayload struct {
	Intent
	// Enable: true applies the 60-day lock after the next change of
	// registrant (the ICANN default); false records the registrant's opt-out.
	Enable bool `json:"enable"`
	// ConsentIP is the registrant's IP address when they gave consent.
	ConsentIP netip.Addr `json:"consent_ip"`
}

// CheckPayload is the payload of TypeCheck.
type CheckPayload struct {
	Domain string `json:"domain"`
	// Confirm is set on the second read of a suspected drift.
	Confirm bool `json:"confirm,omitempty"`
}

// SweepPayload is the payload of TypeSweep. A sweep starts as one task
// (phase "start") that fans out into unit tasks (phase "unit": one per
// provider that can list its domains with their locks, then one per chunk
// of the inventory) and ends with phase "finish". The sweep's options live
// in its record, not in the tasks.
type SweepPayload struct {
	SweepID string `json:"sweep_id"`
	// Phase is SweepStart, SweepUnit or SweepFinish.
	Phase string `json:"phase"`
	// Unit names the unit (package sweep reads it): "c17" (chunk 17),
	// "b:<provider>" (a listing), "k:<unit>" (a second reading).
	Unit string `json:"unit,omitempty"`
}

// The phases of a sweep's tasks.
const (
	SweepStart  = "start"
	SweepUnit   = "unit"
	SweepFinish = "finish"
)

// Duration is a time.Duration that reads and writes as "72h" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

// UnmarshalJSON reads a Go duration string such as "72h" or "90m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration string such as "72h"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("want a duration such as \"72h\": %q", s)
	}
	*d = Duration(v)
	return nil
}

// FieldError names the payload field that is wrong.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Validate normalises the domain, checks every field and fills RequestedAt.
func (in *Intent) Validate() error {
	d, err := NormalizeDomain(in.Domain)
	if err != nil {
		return err
	}
	in.Domain = d
	if in.Provider != "" && !providerName.MatchString(in.Provider) {
		return &FieldError{"provider", fmt.Sprintf("%q is not a provider name", in.Provider)}
	}
	if in.Generation < 0 || in.Generation > MaxGeneration {
		return &FieldError{"generation", fmt.Sprintf("%d is out of range: from 0 to %d (leave it 0 and let reglock number intents)", in.Generation, int64(MaxGeneration))}
	}
	if len(in.Reason) > maxText {
		return &FieldError{"reason", fmt.Sprintf("longer than %d characters", maxText)}
	}
	if len(in.RequestedBy) > maxText {
		return &FieldError{"requested_by", fmt.Sprintf("longer than %d characters", maxText)}
	}
	if len(in.RegistrarID) > 128 {
		return &FieldError{"registrar_id", "longer than 128 characters"}
	}
	switch in.Cause {
	case "":
		in.Cause = CauseRequest
	case CauseRequest, CauseSweep, CauseRelock:
	default:
		return &FieldError{"cause", fmt.Sprintf("%q is not one of request, sweep, relock", in.Cause)}
	}
	if in.RequestedAt.IsZero() {
		in.RequestedAt = time.Now().UTC()
	}
	return nil
}

// Validate checks an unlock payload.
func (p *UnlockPayload) Validate() error {
	if err := p.Intent.Validate(); err != nil {
		return err
	}
	if p.RelockAfter < 0 {
		return &FieldError{"relock_after", "must not be negative"}
	}
	if time.Duration(p.RelockAfter) > 366*24*time.Hour {
		return &FieldError{"relock_after", "longer than a year"}
	}
	return nil
}

// Validate checks a trade-lock payload.
func (p *TradeLockPayload) Validate() error {
	if err := p.Intent.Validate(); err != nil {
		return err
	}
	if !p.ConsentIP.IsValid() {
		return &FieldError{"consent_ip", "required: the registrant's IP address when they gave consent"}
	}
	return nil
}

// Validate checks a check payload.
func (p *CheckPayload) Validate() error {
	d, err := NormalizeDomain(p.Domain)
	if err != nil {
		return err
	}
	p.Domain = d
	return nil
}

// NewLockTask returns a TypeLock task on QueueChanges.
func NewLockTask(p LockPayload, opts ...asynq.Option) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newTask(TypeLock, p, changeOptions(opts))
}

// NewUnlockTask returns a TypeUnlock task on QueueChanges.
func NewUnlockTask(p UnlockPayload, opts ...asynq.Option) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newTask(TypeUnlock, p, changeOptions(opts))
}

// NewTradeLockTask returns a TypeTradeLock task on QueueChanges.
func NewTradeLockTask(p TradeLockPayload, opts ...asynq.Option) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newTask(TypeTradeLock, p, changeOptions(opts))
}

// NewCheckTask returns a TypeCheck task on QueueChecks.
func NewCheckTask(p CheckPayload, opts ...asynq.Option) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	base := []asynq.Option{asynq.Queue(QueueChecks), asynq.MaxRetry(CheckMaxRetry), asynq.Timeout(CheckTimeout)}
	return newTask(TypeCheck, p, append(base, opts...))
}

// NewSweepTask returns a TypeSweep task on QueueChecks.
func NewSweepTask(p SweepPayload, opts ...asynq.Option) (*asynq.Task, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	base := []asynq.Option{asynq.Queue(QueueChecks), asynq.MaxRetry(SweepMaxRetry), asynq.Timeout(SweepTimeout)}
	return newTask(TypeSweep, p, append(base, opts...))
}

func changeOptions(opts []asynq.Option) []asynq.Option {
	base := []asynq.Option{asynq.Queue(QueueChanges), asynq.MaxRetry(ChangeMaxRetry), asynq.Timeout(ChangeTimeout)}
	return append(base, opts...)
}

func newTask(typ string, payload any, opts []asynq.Option) (*asynq.Task, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return nil, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	return asynq.NewTask(typ, b, opts...), nil
}

// Decode reads a task payload into p (a pointer to one of the payload types)
// and validates it. Unknown fields are ignored so that an older worker can
// run a newer producer's tasks during a rolling upgrade.
func Decode[P interface{ Validate() error }](t *asynq.Task, p P) error {
	if err := json.Unmarshal(t.Payload(), p); err != nil {
		return fmt.Errorf("decode %s payload: %w", t.Type(), err)
	}
	return p.Validate()
}

// Validate checks a sweep payload.
func (p *SweepPayload) Validate() error {
	if p.SweepID == "" {
		return &FieldError{"sweep_id", "required"}
	}
	switch p.Phase {
	case SweepStart, SweepFinish:
	case SweepUnit:
		if p.Unit == "" {
			return &FieldError{"unit", "required in phase unit"}
		}
	default:
		return &FieldError{"phase", fmt.Sprintf("%q is not start, unit or finish", p.Phase)}
	}
	return nil
}

// Namespace separates reglock installations that share one Redis server (and
// tests that share one). The empty namespace is the default installation.
type Namespace string

// Queue returns the name of queue q within the namespace.
func (ns Namespace) Queue(q string) string {
	if ns == "" {
		return q
	}
	return string(ns) + ":" + q
}
