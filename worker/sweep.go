package worker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tasks"
)

// Sweeps is what the sweep:run handler needs besides the Worker's own parts.
type Sweeps struct {
	Records *sweep.Records
	Guard   sweep.Guard
	// UnitBudget is how long one run of a unit may take before it commits
	// its progress and hands itself back to the queue (default 2 minutes),
	// so that a slow, rate-limited account never pins a worker for hours.
	UnitBudget time.Duration
	// Readers bounds one process's concurrent sweep reads per account.
	Readers int

	mu   sync.Mutex
	sems map[string]chan struct{}
}

// handleSweep runs one phase of a sweep.
func (w *Worker) handleSweep(ctx context.Context, t *asynq.Task) error {
	var p tasks.SweepPayload
	if err := tasks.Decode(t, &p); err != nil {
		return asynqError(fmt.Errorf("%w: %w", errBadPayload, err))
	}
	if w.Sweeps == nil {
		return asynqError(fmt.Errorf("%w: this worker does not run sweeps", errBadPayload))
	}
	log := w.Log.With().Str("sweep_id", p.SweepID).Str("phase", p.Phase).Str("unit", p.Unit).Logger()
	st, err := w.Sweeps.Records.Get(ctx, p.SweepID)
	if errors.Is(err, sweep.ErrNotFound) {
		return asynqError(fmt.Errorf("%w: sweep %s does not exist (expired?)", errBadPayload, p.SweepID))
	}
	if err != nil {
		return err
	}
	if st.State != sweep.StateRunning {
		return nil // a late task of a finished sweep
	}
	switch p.Phase {
	case "start":
		err = w.sweepStart(ctx, log, st)
	case "unit":
		err = w.sweepUnit(ctx, log, st, p.Unit)
	case "finish":
		err = w.sweepFinish(ctx, log, st)
	}
	return asynqError(err)
}

// inScope lists the accounts a sweep covers.
func (w *Worker) inScope(st sweep.Status) []Account {
	var out []Account
	for name, a := range w.Accounts {
		if st.Options.Provider == "" || st.Options.Provider == name {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b Account) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// sweepStart plans the first stage: a bulk read of every account that can
// list its locks, then (sweepChunks) one unit per chunk of the inventory.
func (w *Worker) sweepStart(ctx context.Context, log zerolog.Logger, st sweep.Status) error {
	switch st.Stage {
	case sweep.StageChunks:
		return w.sweepChunks(ctx, log, st.ID)
	case sweep.StageConfirm:
		return w.sweepConfirm(ctx, log, st.ID)
	}
	var units []string
	for _, a := range w.inScope(st) {
		if _, ok := a.Registrar.(providers.BulkReader); ok {
			units = append(units, "b:"+a.Name)
		}
	}
	if len(units) == 0 {
		return w.sweepChunks(ctx, log, st.ID)
	}
	if _, err := w.Sweeps.Records.Plan(ctx, st.ID, sweep.StageBulk, units); err != nil {
		return err
	}
	log.Info().Strs("units", units).Msg("sweep started: bulk reads first")
	return w.queueUnits(ctx, st.ID, units)
}

// sweepChunks plans the chunk stage and queues its units; with nothing to
// read it goes straight on to the confirmation.
func (w *Worker) sweepChunks(ctx context.Context, log zerolog.Logger, id string) error {
	needed, err := w.chunksNeeded(ctx, id)
	if err != nil {
		return err
	}
	var chunks []int
	if needed {
		if chunks, err = w.Store.OccupiedChunks(ctx); err != nil {
			return err
		}
	}
	units := make([]string, len(chunks))
	for i, c := range chunks {
		units[i] = "c" + strconv.Itoa(c)
	}
	if _, err := w.Sweeps.Records.Plan(ctx, id, sweep.StageChunks, units); err != nil {
		return err
	}
	log.Info().Int("units", len(units)).Msg("sweep: checking the inventory chunk by chunk")
	if len(units) == 0 {
		return w.sweepConfirm(ctx, log, id)
	}
	return w.queueUnits(ctx, id, units)
}

// chunksNeeded reports whether some domains of the sweep are left to read
// one by one: those of accounts that cannot list their locks, and any that
// a bulk listing did not cover (in the inventory, not in the listing).
func (w *Worker) chunksNeeded(ctx context.Context, id string) (bool, error) {
	st, err := w.Sweeps.Records.Get(ctx, id)
	if err != nil {
		return false, err
	}
	counts, err := w.Store.CountByProvider(ctx)
	if err != nil {
		return false, err
	}
	for p, n := range counts {
		if n <= 0 || (st.Options.Provider != "" && p != st.Options.Provider) {
			continue
		}
		acct, ok := w.Accounts[p]
		if !ok {
			return true, nil // not configured: the chunk stage records that on each domain
		}
		if _, bulk := acct.Registrar.(providers.BulkReader); !bulk || st.PerProvider[p].Checked < n {
			return true, nil
		}
	}
	return false, nil
}

func (w *Worker) queueUnits(ctx context.Context, id string, units []string) error {
	for _, u := range units {
		if err := w.queueSweepTask(ctx, id, "unit", u); err != nil {
			return err
		}
	}
	return nil
}

// queueSweepTask queues a sweep task under an ID derived from its place in
// the sweep, so a retried planner never queues a unit twice.
func (w *Worker) queueSweepTask(ctx context.Context, id, phase, unit string) error {
	return w.Queue.Sweep(ctx, tasks.SweepPayload{SweepID: id, Phase: phase, Unit: unit})
}

// FixQueue owes and queues the fixes of confirmed drift.
func (w *Worker) FixQueue() reconcile.FixQueue {
	return reconcile.FixQueue{Store: w.Store, Queue: w.Queue, Clock: w.Clock}
}

// sweepFinish lets the guard decide what the sweep may fix.
func (w *Worker) sweepFinish(ctx context.Context, log zerolog.Logger, st sweep.Status) error {
	out, err := w.Sweeps.Records.Finalize(ctx, st.ID, w.Sweeps.Guard, w.FixQueue(), time.Now())
	if err != nil {
		return err
	}
	for p, why := range out.Paused {
		log.Warn().Str("provider", p).Str("reason", why).Msg("sweep paused for this account: apply it to fix")
	}
	if w.Metrics != nil {
		w.Metrics.SweepsFinished.WithLabelValues(out.State).Inc()
	}
	log.Info().Str("state", out.State).Int64("checked", out.Checked).Int64("drifted", out.Drifted).
		Int64("errors", out.Errors).Int64("fixes_queued", out.FixesQueued).Msg("sweep finished")
	return nil
}

// unitRun is the state of one run of a unit.
type unitRun struct {
	w     *Worker
	log   zerolog.Logger
	st    sweep.Status
	tally sweep.Tally
	found sweep.Found
	// bulk lists the accounts whose domains the bulk stage has read.
	bulk map[string]bool
}

// sweepUnit runs (a slice of) one unit, commits what it counted and found,
// and moves the sweep on when it was the last unit of its stage.
func (w *Worker) sweepUnit(ctx context.Context, log zerolog.Logger, st sweep.Status, unit string) error {
	rec := w.Sweeps.Records
	cursor, done, err := rec.Progress(ctx, st.ID, unit)
	if err != nil {
		return err
	}
	run := &unitRun{w: w, log: log, st: st, tally: sweep.Tally{}, bulk: map[string]bool{}}
	final, next := true, cursor
	if !done {
		switch {
		case strings.HasPrefix(unit, "b:"):
			err = run.bulkRead(ctx, strings.TrimPrefix(unit, "b:"))
		case strings.HasPrefix(unit, "c"):
			var chunk int
			chunk, err = strconv.Atoi(unit[1:])
			if err == nil {
				final, next, err = run.chunk(ctx, chunk, cursor)
			}
		case strings.HasPrefix(unit, "k:"):
			err = run.confirm(ctx, strings.TrimPrefix(unit, "k:"))
		default:
			err = fmt.Errorf("%w: unknown unit %q", errBadPayload, unit)
		}
		if err != nil {
			return err
		}
	}
	// Progress is saved even when the task is being cancelled (shutdown):
	// the work is done, only the commit is left.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	pending, committed, err := rec.Commit(cctx, st.ID, unit, cursor, next, final, run.tally, run.found)
	cancel()
	if err != nil {
		return err
	}
	if committed {
		w.countSweep(run.tally, run.found.Fixes)
		for _, f := range run.found.Fixes {
			w.audit(ctx, audit.Event{Kind: audit.KindDrift, Domain: f.Domain, Provider: f.Provider,
				Before: lockWord(!f.Lock), After: lockWord(f.Lock), Cause: tasks.CauseSweep,
				RequestedBy: "sweep:" + st.ID, Generation: f.Generation, SweepID: st.ID})
		}
	}
	if !final {
		// Hand the rest of the unit back to the queue: not a failure.
		return providers.RetryAfter(100*time.Millisecond, errors.New("sweep unit continues where it stopped"))
	}
	if pending > 0 {
		return nil
	}
	// This was the stage's last unit (or a retry of it): move on.
	switch {
	case strings.HasPrefix(unit, "b:"):
		return w.sweepChunks(ctx, log, st.ID)
	case strings.HasPrefix(unit, "c"):
		return w.sweepConfirm(ctx, log, st.ID)
	default:
		return w.queueSweepTask(ctx, st.ID, "finish", "")
	}
}

// sweepConfirm plans the confirmation stage: one unit for each unit that
// found suspected drift.
func (w *Worker) sweepConfirm(ctx context.Context, log zerolog.Logger, id string) error {
	st, err := w.Sweeps.Records.Get(ctx, id)
	if err != nil {
		return err
	}
	units := make([]string, len(st.SuspectUnits))
	for i, u := range st.SuspectUnits {
		units[i] = "k:" + u
	}
	slices.Sort(units)
	if _, err := w.Sweeps.Records.Plan(ctx, id, sweep.StageConfirm, units); err != nil {
		return err
	}
	log.Info().Int("units", len(units)).Msg("sweep: reading suspected drift a second time")
	if len(units) == 0 {
		return w.queueSweepTask(ctx, id, "finish", "")
	}
	return w.queueUnits(ctx, id, units)
}

// chunk reads one chunk of the inventory from cursor on, until it is done
// or the unit's time budget is spent. It returns whether the chunk is done
// and the cursor after the last domain read.
func (r *unitRun) chunk(ctx context.Context, chunk int, cursor string) (bool, string, error) {
	budget := r.w.Sweeps.UnitBudget
	if budget <= 0 {
		budget = 2 * time.Minute
	}
	deadline := time.Now().Add(budget)
	for _, a := range r.w.inScope(r.st) {
		if _, ok := a.Registrar.(providers.BulkReader); ok {
			r.bulk[a.Name] = true
		}
	}
	// Domains are read in batches of checkBatch across buckets, so that a
	// sparse inventory still gives every batch enough reads to overlap.
	const checkBatch = 256
	next, final := cursor, true
	var pending []store.Domain
	scanned := cursor // the cursor after the last domain scanned into pending
	flush := func() error {
		if err := r.check(ctx, pending); err != nil {
			return err
		}
		pending, next = pending[:0], scanned
		return nil
	}
	var readErr error
	err := r.w.Store.ScanChunk(ctx, chunk, cursor, func(doms []store.Domain) bool {
		for _, d := range doms {
			if r.st.Options.Provider != "" && d.Desired.Provider != r.st.Options.Provider {
				continue
			}
			// The bulk stage has read this account; only domains its
			// listing did not cover are read one by one.
			if r.bulk[d.Desired.Provider] && !d.Observed.CheckedAt.Before(r.st.CreatedAt) {
				continue
			}
			pending = append(pending, d)
		}
		scanned = store.Cursor(doms[len(doms)-1].Name)
		if len(pending) < checkBatch {
			return true
		}
		if readErr = flush(); readErr != nil {
			return false
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			final = false
			return false
		}
		return true
	})
	if err == nil && readErr == nil && final {
		readErr = flush()
	}
	if err == nil {
		err = readErr
	}
	return final, next, err
}

// bulkRead reads a whole account through its listing, a page at a time.
func (r *unitRun) bulkRead(ctx context.Context, provider string) error {
	acct, ok := r.w.Accounts[provider]
	if !ok {
		return nil // the account left the configuration: nothing to read
	}
	br, ok := acct.Registrar.(providers.BulkReader)
	if !ok {
		return nil
	}
	const page = 200
	var batch []providers.DomainState
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := r.recordBulk(ctx, provider, batch)
		batch = batch[:0]
		return err
	}
	started := time.Now()
	// Every page of the listing waits for a slot, like any other call.
	ctx = providers.WithPacer(ctx, func(ctx context.Context) error { return r.w.sweepWait(ctx, acct) })
	for ds, err := range br.LockStates(ctx) {
		if errors.Is(err, providers.ErrNoBulk) {
			// Too large to read in bulk: the chunk stage reads every domain
			// of the account this stage did not.
			r.log.Info().Str("provider", provider).Err(err).Msg("sweep: no bulk read; reading domain by domain")
			return flush()
		}
		if err != nil {
			return err
		}
		batch = append(batch, ds)
		if len(batch) == page {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	r.log.Info().Str("provider", provider).Int64("checked", r.tally.Add(provider).Checked).
		Dur("took", time.Since(started)).Msg("sweep: bulk read done")
	return nil
}

// recordBulk records one page of a bulk read for the domains of the
// inventory that belong to the account.
func (r *unitRun) recordBulk(ctx context.Context, provider string, page []providers.DomainState) error {
	names := make([]string, len(page))
	for i, ds := range page {
		names[i] = ds.Domain
	}
	recs, err := r.w.Store.GetMany(ctx, names)
	if err != nil {
		return err
	}
	readings := make([]store.DomainReading, 0, len(page))
	ids := make([]string, 0, len(page))
	now := time.Now()
	for i, ds := range page {
		if recs[i].Name == "" || recs[i].Desired.Provider != provider {
			continue // not in the inventory, or not this account's
		}
		readings = append(readings, store.DomainReading{Domain: ds.Domain, Reading: store.Reading{Locked: ds.Locked, Flags: store.FlagsOf(ds.State), StartedAt: now}})
		ids = append(ids, ds.ID)
	}
	after, err := r.w.Store.ObserveMany(ctx, readings)
	if err != nil {
		return err
	}
	for i, d := range after {
		r.classify(ctx, d, readings[i].Reading, ids[i], nil)
	}
	return nil
}

// check reads each domain at its registrar (under the account's rate limit,
// a bounded number at a time), records every reading in one round trip, and
// sorts the results.
func (r *unitRun) check(ctx context.Context, doms []store.Domain) error {
	if len(doms) == 0 {
		return nil
	}
	readings := make([]store.DomainReading, len(doms))
	errs := make([]error, len(doms))
	var wg sync.WaitGroup
	for i, d := range doms {
		acct, ok := r.w.Accounts[d.Desired.Provider]
		if !ok {
			errs[i] = providers.Permanent(fmt.Errorf("provider %q is not configured", d.Desired.Provider))
			readings[i] = store.DomainReading{Domain: d.Name, Reading: store.Reading{Err: errs[i].Error(), StartedAt: time.Now()}}
			continue
		}
		sem := r.w.Sweeps.sem(acct.Name)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			readings[i], errs[i] = r.w.sweepRead(ctx, acct, d.Name)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	after, err := r.w.Store.ObserveMany(ctx, readings)
	if err != nil {
		return err
	}
	for i, d := range after {
		if d.Name == "" {
			continue // removed from the inventory meanwhile
		}
		r.classify(ctx, d, readings[i].Reading, "", errs[i])
	}
	return nil
}

// sweepRead reads one domain for a sweep. A sweep waits for rate-limit slots
// at most a second ahead, so that a producer's change is never queued behind
// a sweep's reservations for long.
func (w *Worker) sweepRead(ctx context.Context, acct Account, domain string) (store.DomainReading, error) {
	// Every request of the read (a lookup too) waits for its slot.
	ctx = providers.WithPacer(ctx, func(ctx context.Context) error { return w.sweepWait(ctx, acct) })
	for attempt := 0; ; attempt++ {
		start := time.Now()
		st, err := acct.Registrar.LockState(ctx, domain)
		var ra *providers.RetryAfterError
		if errors.As(err, &ra) && attempt < 5 {
			// A busy or rate-limited registrar: wait as asked and read again.
			if err := clock.Or(w.Clock).Sleep(ctx, ra.After); err != nil {
				return store.DomainReading{}, err
			}
			continue
		}
		if err != nil {
			return store.DomainReading{Domain: domain, Reading: store.Reading{Err: err.Error(), StartedAt: start}}, err
		}
		return store.DomainReading{Domain: domain, Reading: store.Reading{Locked: st.Locked, Flags: store.FlagsOf(st), StartedAt: start}}, nil
	}
}

// sweepWait takes a rate-limit slot for a sweep's call, reserving at most a
// second ahead and sleeping out longer waits without holding a reservation.
func (w *Worker) sweepWait(ctx context.Context, acct Account) error {
	for {
		err := w.Limiter.Wait(ctx, acct.Name, acct.Limit, time.Second)
		var ra *providers.RetryAfterError
		if !errors.As(err, &ra) {
			return err
		}
		if err := clock.Or(w.Clock).Sleep(ctx, ra.After-time.Second); err != nil {
			return err
		}
	}
}

// classify counts one reading: checked, an error, in sync, drift reglock
// must not fix, a domain a change owns right now, or a suspect to read
// again before anything is done about it.
func (r *unitRun) classify(_ context.Context, d store.Domain, rd store.Reading, registrarID string, err error) {
	c := r.tally.Add(d.Desired.Provider)
	if err != nil {
		c.Errors++
		return
	}
	c.Checked++
	st := providers.State{Locked: rd.Locked, ByRegistry: rd.Flags&store.FlagByRegistry != 0, Pending: rd.Flags&store.FlagPending != 0}
	switch reconcile.Decide(d.Desired.Locked, st, reconcile.Situation{Pending: d.Work.Changing(), InDoubt: d.Work.InDoubt(time.Now())}) {
	case reconcile.Wait, reconcile.NotOurs:
		c.Drifted++
		c.Unfixable++
	case reconcile.Confirm:
		r.found.Suspects = append(r.found.Suspects, sweep.Suspect{ReadAt: rd.StartedAt,
			Fix: sweep.Fix{Domain: d.Name, Provider: d.Desired.Provider, Lock: d.Desired.Locked, Generation: d.Desired.Generation, RegistrarID: registrarID}})
	}
	// InSync, and Changing: a change in flight is its own task's, not drift.
}

// confirm reads a unit's suspects again once ConfirmDelay has passed since
// the last of them was read; those still drifted from the same intent are
// the fixes.
func (r *unitRun) confirm(ctx context.Context, unit string) error {
	suspects, err := r.w.Sweeps.Records.Suspects(ctx, r.st.ID, unit)
	if err != nil || len(suspects) == 0 {
		return err
	}
	var last time.Time
	for _, su := range suspects {
		if su.ReadAt.After(last) {
			last = su.ReadAt
		}
	}
	delay := r.w.ConfirmDelay
	if delay <= 0 {
		delay = reconcile.DefaultConfirmDelay
	}
	if err := clock.Or(r.w.Clock).Sleep(ctx, time.Until(last.Add(delay))); err != nil {
		return err
	}
	readings := make([]store.DomainReading, len(suspects))
	errs := make([]error, len(suspects))
	var wg sync.WaitGroup
	for i, su := range suspects {
		acct, ok := r.w.Accounts[su.Provider]
		if !ok {
			errs[i] = fmt.Errorf("provider %q is not configured", su.Provider)
			continue
		}
		sem := r.w.Sweeps.sem(acct.Name)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rctx := providers.WithRegistrarID(ctx, su.Domain, su.RegistrarID)
			readings[i], errs[i] = r.w.sweepRead(rctx, acct, su.Domain)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	record := make([]store.DomainReading, 0, len(readings))
	idx := make([]int, 0, len(readings))
	for i, rd := range readings {
		if rd.Domain != "" {
			record, idx = append(record, rd), append(idx, i)
		}
	}
	after, err := r.w.Store.ObserveMany(ctx, record)
	if err != nil {
		return err
	}
	for j, d := range after {
		i := idx[j]
		if d.Name == "" || errs[i] != nil {
			continue // gone, or unreadable now: the next sweep will see
		}
		// Still different, from the intent we saw drift from, and no change
		// owns the domain now.
		rd := readings[i].Reading
		st := providers.State{Locked: rd.Locked, ByRegistry: rd.Flags&store.FlagByRegistry != 0, Pending: rd.Flags&store.FlagPending != 0}
		v := reconcile.Decide(d.Desired.Locked, st, reconcile.Situation{Pending: d.Work.Changing(), InDoubt: d.Work.InDoubt(time.Now()), Confirmed: true})
		if v != reconcile.Fix || d.Desired.Generation != suspects[i].Generation {
			continue
		}
		c := r.tally.Add(d.Desired.Provider)
		c.Drifted++
		if !d.Desired.Locked {
			c.Unlocks++
		}
		r.found.Fixes = append(r.found.Fixes, sweep.Fix{Domain: d.Name, Provider: d.Desired.Provider, Lock: d.Desired.Locked,
			Generation: d.Desired.Generation, RegistrarID: suspects[i].RegistrarID})
	}
	return nil
}

// countSweep adds a unit's figures to the metrics.
func (w *Worker) countSweep(t sweep.Tally, fixes []sweep.Fix) {
	if w.Metrics == nil {
		return
	}
	for p, c := range t {
		w.Metrics.SweepChecked.WithLabelValues(p).Add(float64(c.Checked))
		w.Metrics.SweepErrors.WithLabelValues(p).Add(float64(c.Errors))
	}
	for _, f := range fixes {
		w.Metrics.DriftFound.WithLabelValues(f.Provider, "sweep").Inc()
	}
}

// sem is the account's limit on one process's concurrent sweep reads.
func (s *Sweeps) sem(account string) chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sems == nil {
		s.sems = map[string]chan struct{}{}
	}
	c := s.sems[account]
	if c == nil {
		n := s.Readers
		if n <= 0 {
			n = 16
		}
		c = make(chan struct{}, n)
		s.sems[account] = c
	}
	return c
}

func lockWord(locked bool) string {
	if locked {
		return "locked"
	}
	return "unlocked"
}
