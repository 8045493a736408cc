package sweep

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// Inventory is the part of the store a sweep reads its domains from and
// records its readings in (*store.Store).
type Inventory interface {
	OccupiedChunks(ctx context.Context) ([]int, error)
	CountByProvider(ctx context.Context) (map[string]int64, error)
	ScanChunk(ctx context.Context, chunk int, cursor string, fn func([]store.Domain) bool) error
	GetMany(ctx context.Context, names []string) ([]store.Domain, error)
	ObserveMany(ctx context.Context, readings []store.DomainReading) ([]store.Domain, error)
}

// Registrars reads locks at the registrars, every request under its
// account's rate limit (the worker's reader).
type Registrars interface {
	// Accounts lists the configured accounts.
	Accounts() []Account
	// Read reads one domain's lock at an account; registrarID, when not
	// "", is the registrar's own ID for it (from a listing).
	Read(ctx context.Context, account, domain, registrarID string) (providers.State, error)
	// List reads every lock of an account that can list them
	// (providers.BulkReader), or yields providers.ErrNoBulk.
	List(ctx context.Context, account string) iter.Seq2[providers.DomainState, error]
}

// Account is a configured registrar account, as a sweep sees it.
type Account struct {
	Name string
	// Bulk: the account can list its locks (providers.BulkReader).
	Bulk bool
	// Budget is the account's background reads per second: its rate times
	// its sweep share (0: no limit). Freshness passes plan by it.
	Budget float64
}

// Queue queues a sweep's tasks (tasks.Queue).
type Queue interface {
	SweepStart(ctx context.Context, sweepID string) error
	SweepUnit(ctx context.Context, sweepID, unit string) error
	SweepFinish(ctx context.Context, sweepID string) error
}

// Reporter hears what sweeps find and how they end: the metrics and the
// audit trail. Found is called once per committed run of a unit.
type Reporter interface {
	Found(ctx context.Context, sweepID string, t Tally, fixes []Fix)
	Finished(ctx context.Context, st Status)
	// Transfer hears of a reading that shows a transfer away pending
	// (rd.Flags has store.FlagTransfer), or of a domain the registrar no
	// longer holds (err is providers.ErrNotFound): the transfer-out alarm,
	// and the end of an unlock for a transfer (reconcile.WatchTransfer,
	// reconcile.Departed).
	Transfer(ctx context.Context, d store.Domain, rd store.Reading, err error)
}

// Witness is a second opinion on domains just read at their registrars.
type Witness interface {
	Check(ctx context.Context, doms []store.Domain)
}

// Runner runs sweeps: the sweep:run handler hands it every task of a sweep.
// It is safe for concurrent use and meant to be shared by all of a
// process's tasks (it bounds their concurrent reads per account).
type Runner struct {
	Records    *Records
	Inventory  Inventory
	Registrars Registrars
	Queue      Queue
	Fixes      FixQueue
	Guard      Guard
	// Reporter, if set, hears what the sweeps find.
	Reporter Reporter
	// Witness, if set, is asked about every domain a check stage read
	// (witness.Witness: the registry's record, RDAP).
	Witness Witness
	// PolicyLock, if set, says why a domain is locked by policy now ("locked
	// by policy (...) until T", policy.Window.Reason) or "": such a domain
	// is reported so, not as drift.
	PolicyLock func(ctx context.Context, d store.Domain) string
	Log        zerolog.Logger
	Clock      clock.Clock
	// ConfirmDelay is how long after a suspect's first reading the second
	// is taken (reconcile.DefaultConfirmDelay if zero).
	ConfirmDelay time.Duration
	// UnitBudget is how long one run of a unit may take before it commits
	// its progress and hands itself back to the queue (default 2 minutes),
	// so that a slow, rate-limited account never pins a worker for hours.
	UnitBudget time.Duration
	// Readers bounds one process's concurrent sweep reads per account
	// (default 16).
	Readers int
	// Batch is how many domains a chunk unit reads at once, across buckets,
	// so that a sparse inventory still gives every batch enough reads to
	// overlap (default 256). The unit's budget is looked at between batches.
	Batch int

	mu   sync.Mutex
	sems map[string]chan struct{}
}

// errContinues hands the rest of a unit back to the queue: it is retried
// at once and is not a failure.
var errContinues = providers.RetryAfter(100*time.Millisecond, errors.New("sweep unit continues where it stopped"))

// Run runs one task of a sweep. An error wrapped by providers.Permanent
// means the task can never run (the sweep expired, the unit is unknown);
// any other error means it should be retried.
func (r *Runner) Run(ctx context.Context, p tasks.SweepPayload) error {
	st, err := r.Records.Get(ctx, p.SweepID)
	if errors.Is(err, ErrNotFound) {
		return providers.Permanent(fmt.Errorf("sweep %s: %w (expired?)", p.SweepID, err))
	}
	if err != nil {
		return err
	}
	if st.State != StateRunning {
		return nil // a late task of a finished sweep
	}
	log := r.Log.With().Str("sweep_id", p.SweepID).Str("phase", p.Phase).Str("unit", p.Unit).Logger()
	switch p.Phase {
	case tasks.SweepStart:
		return r.advance(ctx, log, st.ID, Stages[0])
	case tasks.SweepUnit:
		u, err := ParseUnit(p.Unit)
		if err != nil {
			return providers.Permanent(err)
		}
		return r.runUnit(ctx, log, st, u)
	case tasks.SweepFinish:
		return r.finish(ctx, log, st)
	}
	return providers.Permanent(fmt.Errorf("sweep %s: unknown phase %q", p.SweepID, p.Phase))
}

// advance plans the stages from `from` on: the first that has units is
// planned and its units queued; a sweep with no stage left ends. A retried
// task finds a stage planned already (that one, or a later one) and queues
// its recorded units again, which their task IDs make harmless.
func (r *Runner) advance(ctx context.Context, log zerolog.Logger, id string, from Stage) error {
	for i := slices.Index(Stages, from); i >= 0 && i < len(Stages); i++ {
		units, err := r.unitsOf(ctx, id, Stages[i])
		if err != nil {
			return err
		}
		stage, names, err := r.Records.Plan(ctx, id, Stages[i], unitNames(units))
		if err != nil {
			return err
		}
		i = slices.Index(Stages, stage)
		if len(names) == 0 {
			continue
		}
		log.Info().Str("stage", string(stage)).Int("units", len(names)).Msg("sweep stage planned")
		for _, u := range names {
			if err := r.Queue.SweepUnit(ctx, id, u); err != nil {
				return err
			}
		}
		return nil
	}
	return r.Queue.SweepFinish(ctx, id)
}

// unitsOf returns the units of a stage: a listing of every account in the
// sweep's scope that can list its locks; a read of every occupied chunk,
// if some domains are left to read one by one; a second reading of every
// unit that found suspected drift.
func (r *Runner) unitsOf(ctx context.Context, id string, s Stage) ([]Unit, error) {
	st, err := r.Records.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	var units []Unit
	switch s {
	case StageBulk:
		if st.Options.Pass() {
			plan, err := r.planFreshness(ctx, st, true)
			if err != nil {
				return nil, err
			}
			for _, a := range plan.List {
				units = append(units, BulkUnit(a))
			}
			break
		}
		for _, a := range r.inScope(st) {
			if a.Bulk {
				units = append(units, BulkUnit(a.Name))
			}
		}
	case StageChunks:
		if st.Options.Pass() {
			return r.planDue(ctx, st)
		}
		needed, err := r.chunksNeeded(ctx, st)
		if err != nil || !needed {
			return nil, err
		}
		chunks, err := r.Inventory.OccupiedChunks(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range chunks {
			units = append(units, ChunkUnit(c))
		}
	case StageConfirm:
		for _, name := range st.SuspectUnits {
			u, err := ParseUnit(name)
			if err != nil {
				return nil, err
			}
			units = append(units, ConfirmUnit(u))
		}
		slices.SortFunc(units, func(a, b Unit) int { return cmp.Compare(a.String(), b.String()) })
	}
	return units, nil
}

// chunksNeeded reports whether some domains of the sweep are left to read
// one by one: those of accounts that cannot list their locks, and any that
// a listing did not cover (in the inventory, not in the listing).
func (r *Runner) chunksNeeded(ctx context.Context, st Status) (bool, error) {
	counts, err := r.Inventory.CountByProvider(ctx)
	if err != nil {
		return false, err
	}
	accounts := r.accounts()
	for p, n := range counts {
		if n <= 0 || (st.Options.Provider != "" && p != st.Options.Provider) {
			continue
		}
		a, ok := accounts[p]
		if !ok {
			return true, nil // not configured: the chunk stage records that on each domain
		}
		if !a.Bulk || st.PerProvider[p].Checked < n {
			return true, nil
		}
	}
	return false, nil
}

// runUnit runs (a slice of) one unit, commits what it counted and found,
// and moves the sweep on when it was the last unit of its stage.
func (r *Runner) runUnit(ctx context.Context, log zerolog.Logger, st Status, u Unit) error {
	name := u.String()
	cursor, done, err := r.Records.Progress(ctx, st.ID, name)
	if err != nil {
		return err
	}
	run := &unitRun{r: r, log: log, st: st, tally: Tally{}, accounts: r.accounts(), deadline: r.now().Add(r.unitBudget())}
	final, next := true, cursor
	if !done {
		switch u.Stage {
		case StageBulk:
			err = run.list(ctx, u.Account)
		case StageChunks:
			if u.Due {
				final, next, err = run.due(ctx, u.Chunk, cursor)
			} else {
				final, next, err = run.chunk(ctx, u.Chunk, cursor)
			}
		case StageConfirm:
			err = run.confirm(ctx, u.Of.String())
		}
		if err != nil {
			return err
		}
	}
	run.settleCalls()
	// Progress is saved even when the task is being cancelled (shutdown):
	// the work is done, only the commit is left.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	pending, committed, err := r.Records.Commit(cctx, st.ID, name, cursor, next, final, run.tally, run.found)
	cancel()
	if err != nil {
		return err
	}
	if committed && r.Reporter != nil {
		r.Reporter.Found(ctx, st.ID, run.tally, run.found.Fixes)
	}
	if !final {
		return errContinues
	}
	if !committed {
		// A repeat of a unit that is done: the run that finished it may
		// have died while it moved the sweep on, after planning the next
		// stage but before queueing all of its units.
		now, err := r.Records.Get(ctx, st.ID)
		if err != nil {
			return err
		}
		if slices.Index(Stages, now.Stage) > slices.Index(Stages, u.Stage) {
			return r.advance(ctx, log, st.ID, now.Stage)
		}
	}
	if pending > 0 {
		return nil
	}
	// This was the stage's last unit (or a retry of it): move on.
	i := slices.Index(Stages, u.Stage)
	if i+1 == len(Stages) {
		return r.Queue.SweepFinish(ctx, st.ID)
	}
	return r.advance(ctx, log, st.ID, Stages[i+1])
}

// finish lets the guard decide what the sweep may fix.
func (r *Runner) finish(ctx context.Context, log zerolog.Logger, st Status) error {
	out, err := r.Records.Finalize(ctx, st.ID, r.Guard, r.Fixes, r.now())
	if err != nil {
		return err
	}
	for p, why := range out.Paused {
		log.Warn().Str("provider", p).Str("reason", why).Msg("sweep paused for this account: apply it to fix")
	}
	if r.Reporter != nil && out.State != StateRunning {
		r.Reporter.Finished(ctx, out)
	}
	log.Info().Str("state", out.State).Int64("checked", out.Checked).Int64("drifted", out.Drifted).
		Int64("errors", out.Errors).Int64("fixes_queued", out.FixesQueued).Msg("sweep finished")
	if out.Options.Pass() && out.State != StateRunning {
		return r.startOwed(ctx, out)
	}
	return nil
}

// inScope lists the accounts a sweep covers, by name.
func (r *Runner) inScope(st Status) []Account {
	var out []Account
	for _, a := range r.Registrars.Accounts() {
		if st.Options.Provider == "" || st.Options.Provider == a.Name {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b Account) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func (r *Runner) accounts() map[string]Account {
	out := map[string]Account{}
	for _, a := range r.Registrars.Accounts() {
		out[a.Name] = a
	}
	return out
}

// sem is the account's limit on one process's concurrent sweep reads.
func (r *Runner) sem(account string) chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sems == nil {
		r.sems = map[string]chan struct{}{}
	}
	c := r.sems[account]
	if c == nil {
		n := r.Readers
		if n <= 0 {
			n = 16
		}
		c = make(chan struct{}, n)
		r.sems[account] = c
	}
	return c
}

// unitBudget is how long one unit task reads before it commits its
// progress and hands the rest to a next task.
func (r *Runner) unitBudget() time.Duration {
	if r.UnitBudget <= 0 {
		return 2 * time.Minute
	}
	return r.UnitBudget
}

func (r *Runner) batch() int {
	if r.Batch <= 0 {
		return 256
	}
	return r.Batch
}

func (r *Runner) clock() clock.Clock { return clock.Or(r.Clock) }

func (r *Runner) now() time.Time { return r.clock().Now() }
