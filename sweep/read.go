package sweep

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/store"
)

// unitRun is one run of a unit: what it has counted and found so far.
type unitRun struct {
	r        *Runner
	log      zerolog.Logger
	st       Status
	accounts map[string]Account
	tally    Tally
	found    Found
	// deadline ends the unit's time budget: a bulk page's second witness
	// stops there too, so that a slow registry cannot keep a unit from
	// committing.
	deadline time.Time
	// calls count each account's registrar requests (see counted).
	callsMu sync.Mutex
	calls   map[string]*atomic.Int64
}

// counted returns ctx with the account's registrar requests counted.
func (u *unitRun) counted(ctx context.Context, account string) context.Context {
	u.callsMu.Lock()
	defer u.callsMu.Unlock()
	if u.calls == nil {
		u.calls = map[string]*atomic.Int64{}
	}
	n := u.calls[account]
	if n == nil {
		n = new(atomic.Int64)
		u.calls[account] = n
	}
	return providers.WithCallCounter(ctx, n)
}

// settleCalls adds the requests counted so far to the tally, once.
func (u *unitRun) settleCalls() {
	u.callsMu.Lock()
	defer u.callsMu.Unlock()
	for account, n := range u.calls {
		if c := n.Swap(0); c > 0 {
			u.tally.Add(account).Calls += c
		}
	}
}

// chunk reads one chunk of the inventory from cursor on, until it is done
// or the unit's time budget is spent. It returns whether the chunk is done
// and the cursor after the last domain read.
func (u *unitRun) chunk(ctx context.Context, chunk int, cursor string) (bool, string, error) {
	deadline := u.r.now().Add(u.r.unitBudget())
	next, final := cursor, true
	var pending []store.Domain
	scanned := cursor // the cursor after the last domain scanned into pending
	flush := func() error {
		if err := u.check(ctx, pending); err != nil {
			return err
		}
		pending, next = pending[:0], scanned
		return nil
	}
	var readErr error
	err := u.r.Inventory.ScanChunk(ctx, chunk, cursor, func(doms []store.Domain) bool {
		for _, d := range doms {
			if u.st.Options.Provider != "" && d.Desired.Provider != u.st.Options.Provider {
				continue
			}
			// The bulk stage has read this account; only domains its
			// listing did not cover are read one by one.
			if u.accounts[d.Desired.Provider].Bulk && !d.Observed.CheckedAt.Before(u.st.CreatedAt) {
				continue
			}
			pending = append(pending, d)
		}
		scanned = store.Cursor(doms[len(doms)-1].Name)
		if len(pending) < u.r.batch() {
			return true
		}
		if readErr = flush(); readErr != nil {
			return false
		}
		if !u.r.now().Before(deadline) || ctx.Err() != nil {
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

// listPage is how many domains of a listing are recorded at once.
const listPage = 200

// list reads a whole account through its listing, a page at a time.
func (u *unitRun) list(ctx context.Context, account string) error {
	if !u.accounts[account].Bulk {
		return nil // the account left the configuration: nothing to read
	}
	var batch []providers.DomainState
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := u.recordListing(ctx, account, batch)
		batch = batch[:0]
		return err
	}
	started := u.r.now()
	for ds, err := range u.r.Registrars.List(u.counted(ctx, account), account) {
		if errors.Is(err, providers.ErrNoBulk) {
			// Too large to read in bulk: the chunk stage reads every domain
			// of the account this stage did not.
			u.log.Info().Str("provider", account).Err(err).Msg("sweep: no bulk read; reading domain by domain")
			return flush()
		}
		if err != nil {
			return err
		}
		batch = append(batch, ds)
		if len(batch) == listPage {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	u.log.Info().Str("provider", account).Int64("checked", u.tally.Add(account).Checked).
		Dur("took", u.r.now().Sub(started)).Msg("sweep: bulk read done")
	return nil
}

// recordListing records one page of a listing for the domains of the
// inventory that belong to the account.
func (u *unitRun) recordListing(ctx context.Context, account string, page []providers.DomainState) error {
	names := make([]string, len(page))
	for i, ds := range page {
		names[i] = ds.Domain
	}
	recs, err := u.r.Inventory.GetMany(ctx, names)
	if err != nil {
		return err
	}
	readings := make([]store.DomainReading, 0, len(page))
	ids := make([]string, 0, len(page))
	now := u.r.now()
	for i, ds := range page {
		if recs[i].Name == "" || recs[i].Desired.Provider != account {
			continue // not in the inventory, or not this account's
		}
		readings = append(readings, store.DomainReading{Domain: ds.Domain, Reading: store.Reading{Locked: ds.Locked, Flags: store.FlagsOf(ds.State), StartedAt: now}})
		ids = append(ids, ds.ID)
	}
	after, err := u.r.Inventory.ObserveMany(ctx, readings)
	if err != nil {
		return err
	}
	for i, d := range after {
		u.classify(ctx, d, readings[i].Reading, ids[i], nil)
	}
	u.witness(ctx, after, nil)
	return nil
}

// witness asks the second witness, if any, about the domains just read
// without an error.
func (u *unitRun) witness(ctx context.Context, after []store.Domain, errs []error) {
	if u.r.Witness == nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, u.deadline.Sub(u.r.now()))
	defer cancel()
	read := make([]store.Domain, 0, len(after))
	for i, d := range after {
		if d.Name != "" && (errs == nil || errs[i] == nil) {
			read = append(read, d)
		}
	}
	// Domains the budget leaves unasked wait for the next sweep's witness.
	u.r.Witness.Check(wctx, read)
}

// target is one domain to read.
type target struct {
	domain, account, registrarID string
}

// readAll reads each target at its registrar, a bounded number at a time per
// account, and records every reading in one round trip. It returns each
// domain's record after its reading (an empty Name: not in the inventory),
// the readings and their errors, in order. A domain whose account is not
// configured gets the error recorded, unread.
func (u *unitRun) readAll(ctx context.Context, ts []target) ([]store.Domain, []store.DomainReading, []error, error) {
	readings := make([]store.DomainReading, len(ts))
	errs := make([]error, len(ts))
	var wg sync.WaitGroup
	for i, t := range ts {
		if _, ok := u.accounts[t.account]; !ok {
			errs[i] = providers.Permanent(fmt.Errorf("provider %q is not configured", t.account))
			readings[i] = store.DomainReading{Domain: t.domain, Reading: store.Reading{Err: errs[i].Error(), StartedAt: u.r.now()}}
			continue
		}
		sem := u.r.sem(t.account)
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, nil, nil, ctx.Err()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			readings[i], errs[i] = u.read(u.counted(ctx, t.account), t)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}
	after, err := u.r.Inventory.ObserveMany(ctx, readings)
	return after, readings, errs, err
}

// readRetries is how many times a sweep reads a busy registrar again,
// waiting as asked, before it counts the domain as an error.
const readRetries = 5

// read reads one domain. A busy or rate-limited registrar is waited out and
// read again, a few times.
func (u *unitRun) read(ctx context.Context, t target) (store.DomainReading, error) {
	for attempt := 0; ; attempt++ {
		start := u.r.now()
		st, err := u.r.Registrars.Read(ctx, t.account, t.domain, t.registrarID)
		var ra *providers.RetryAfterError
		if errors.As(err, &ra) && attempt < readRetries {
			if err := u.r.clock().Sleep(ctx, ra.After); err != nil {
				return store.DomainReading{}, err
			}
			continue
		}
		if err != nil {
			return store.DomainReading{Domain: t.domain, Reading: store.Reading{Err: err.Error(), StartedAt: start}}, err
		}
		return store.DomainReading{Domain: t.domain, Reading: store.Reading{Locked: st.Locked, Flags: store.FlagsOf(st), StartedAt: start}}, nil
	}
}

// check reads a batch of a chunk's domains and sorts the results.
func (u *unitRun) check(ctx context.Context, doms []store.Domain) error {
	if len(doms) == 0 {
		return nil
	}
	ts := make([]target, len(doms))
	for i, d := range doms {
		ts[i] = target{domain: d.Name, account: d.Desired.Provider}
	}
	after, readings, errs, err := u.readAll(ctx, ts)
	if err != nil {
		return err
	}
	for i, d := range after {
		if d.Name == "" {
			continue // removed from the inventory meanwhile
		}
		u.classify(ctx, d, readings[i].Reading, "", errs[i])
	}
	u.witness(ctx, after, errs)
	return nil
}

// classify counts one first reading: checked, an error, in sync, drift
// reglock must not fix, a domain a change owns right now, or a suspect to
// read again before anything is done about it.
func (u *unitRun) classify(ctx context.Context, d store.Domain, rd store.Reading, registrarID string, err error) {
	if u.r.Reporter != nil && (errors.Is(err, providers.ErrNotFound) || (err == nil && rd.Flags&store.FlagTransfer != 0)) {
		u.r.Reporter.Transfer(ctx, d, rd, err)
	}
	c := u.tally.Add(d.Desired.Provider)
	if err != nil {
		c.Errors++
		return
	}
	c.Checked++
	switch reconcile.Decide(d.Desired.Locked, stateOf(rd), reconcile.Situation{Pending: d.Work.Changing(), InDoubt: d.Work.InDoubt(u.r.now())}) {
	case reconcile.Wait, reconcile.NotOurs:
		why := "pending at the registry (a transfer or another operation): nothing to do until it ends"
		if rd.Flags&store.FlagPending == 0 {
			why = "unlock wanted, but the registry holds its own lock: only the registry (or a registry-lock request) lifts it"
			if u.r.PolicyLock != nil {
				if lock := u.r.PolicyLock(ctx, d); lock != "" {
					// The registry's transfer lock after a registration or a
					// transfer: policy, not drift.
					u.found.Unfixable = append(u.found.Unfixable, Unfixable{Why: lock,
						Fix: Fix{Domain: d.Name, Provider: d.Desired.Provider, Lock: d.Desired.Locked, Generation: d.Desired.Generation, RegistrarID: registrarID}})
					return
				}
			}
		}
		c.Drifted++
		c.Unfixable++
		u.found.Unfixable = append(u.found.Unfixable, Unfixable{Why: why,
			Fix: Fix{Domain: d.Name, Provider: d.Desired.Provider, Lock: d.Desired.Locked, Generation: d.Desired.Generation, RegistrarID: registrarID}})
	case reconcile.Confirm:
		u.found.Suspects = append(u.found.Suspects, Suspect{ReadAt: rd.StartedAt,
			Fix: Fix{Domain: d.Name, Provider: d.Desired.Provider, Lock: d.Desired.Locked, Generation: d.Desired.Generation, RegistrarID: registrarID}})
	}
	// InSync, and Changing: a change in flight is its own task's, not drift.
}

// confirm reads a unit's suspects again once the confirm delay has passed
// since the last of them was read; those still drifted from the same intent
// are the fixes.
func (u *unitRun) confirm(ctx context.Context, of string) error {
	suspects, err := u.r.Records.Suspects(ctx, u.st.ID, of)
	if err != nil || len(suspects) == 0 {
		return err
	}
	var last time.Time
	for _, su := range suspects {
		if su.ReadAt.After(last) {
			last = su.ReadAt
		}
	}
	delay := u.r.ConfirmDelay
	if delay <= 0 {
		delay = reconcile.DefaultConfirmDelay
	}
	if err := u.r.clock().Sleep(ctx, last.Add(delay).Sub(u.r.now())); err != nil {
		return err
	}
	ts := make([]target, len(suspects))
	for i, su := range suspects {
		ts[i] = target{domain: su.Domain, account: su.Provider, registrarID: su.RegistrarID}
	}
	after, readings, errs, err := u.readAll(ctx, ts)
	if err != nil {
		return err
	}
	for i, d := range after {
		if d.Name == "" || errs[i] != nil {
			continue // gone, or unreadable now: the next sweep will see
		}
		// Still different, from the intent we saw drift from, and no change
		// owns the domain now.
		v := reconcile.Decide(d.Desired.Locked, stateOf(readings[i].Reading),
			reconcile.Situation{Pending: d.Work.Changing(), InDoubt: d.Work.InDoubt(u.r.now()), Confirmed: true})
		if v != reconcile.Fix || d.Desired.Generation != suspects[i].Generation {
			continue
		}
		c := u.tally.Add(d.Desired.Provider)
		c.Drifted++
		if !d.Desired.Locked {
			c.Unlocks++
		}
		u.found.Fixes = append(u.found.Fixes, Fix{Domain: d.Name, Provider: d.Desired.Provider, Lock: d.Desired.Locked,
			Generation: d.Desired.Generation, RegistrarID: suspects[i].RegistrarID})
	}
	return nil
}

// stateOf is a recorded reading as the registrar's state.
func stateOf(rd store.Reading) providers.State {
	return providers.State{Locked: rd.Locked, ByRegistry: rd.Flags&store.FlagByRegistry != 0, Pending: rd.Flags&store.FlagPending != 0}
}
