package sweep

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/store"
)

// Outcomes of a drifted domain in a sweep's report: the API's words, which
// package client owns with the rest of the wire format (see there for what
// each means); this package decides which applies.
const (
	OutcomeFixed     = client.OutcomeFixed
	OutcomeHeld      = client.OutcomeHeld
	OutcomeUnfixable = client.OutcomeUnfixable
	OutcomeError     = client.OutcomeError
	OutcomeQueued    = client.OutcomeQueued
	OutcomeReported  = client.OutcomeReported
	OutcomeMovedOn   = client.OutcomeMovedOn
)

// Entry is one domain a sweep found drifted, and what became of it.
type Entry struct {
	Fix
	Outcome string
	// Detail says why (unfixable, held) or what went wrong (error).
	Detail string
}

// Report returns a sweep's record and every domain it found drifted, with
// each one's outcome as it stands now (a queued fix becomes fixed once
// its domain reads back in sync). get reads the domains' records.
func (r *Records) Report(ctx context.Context, id string, get func(context.Context, []string) ([]store.Domain, error)) (Status, []Entry, error) {
	st, err := r.Get(ctx, id)
	if err != nil {
		return st, nil, err
	}
	fixes, unfixable, err := r.findings(ctx, id, Stages...)
	if err != nil {
		return st, nil, err
	}
	names := make([]string, len(fixes))
	for i, f := range fixes {
		names[i] = f.Domain
	}
	var now []store.Domain
	if len(names) > 0 {
		if now, err = get(ctx, names); err != nil {
			return st, nil, err
		}
	}
	out := make([]Entry, 0, len(fixes)+len(unfixable))
	for i, f := range fixes {
		out = append(out, outcome(st, f, now[i]))
	}
	for _, u := range unfixable {
		out = append(out, Entry{Fix: u.Fix, Outcome: OutcomeUnfixable, Detail: u.Why})
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if a.Domain < b.Domain {
			return -1
		}
		if a.Domain > b.Domain {
			return 1
		}
		return 0
	})
	return st, out, nil
}

func outcome(st Status, f Fix, d store.Domain) Entry {
	e := Entry{Fix: f}
	switch why, held := st.Paused[f.Provider]; {
	case st.Options.DryRun:
		e.Outcome = OutcomeReported
	case held:
		e.Outcome, e.Detail = OutcomeHeld, why
	case st.State == StateRunning:
		// Finalize has not run: nothing is queued yet.
		e.Outcome, e.Detail = OutcomeHeld, "the sweep is still running; fixes are queued when every domain is checked"
	case d.Name == "" || d.Desired.Generation != f.Generation:
		e.Outcome = OutcomeMovedOn
	case d.Observed.Error != "":
		e.Outcome, e.Detail = OutcomeError, d.Observed.Error
	case d.InSync() && d.Observed.Locked == f.Lock:
		e.Outcome = OutcomeFixed
	default:
		e.Outcome = OutcomeQueued
	}
	return e
}

// ListPage is a page of sweeps, newest first.
type ListPage struct {
	Sweeps []Status
	// Next is the cursor of the next page, "" at the end.
	Next string
}

// ErrBadCursor is returned for a cursor List did not give out.
var ErrBadCursor = errors.New("bad cursor")

// List returns up to limit sweeps of the last Retention, newest first,
// after the sweep whose ID is cursor (""; the newest), those in state only
// if state is set.
func (r *Records) List(ctx context.Context, state, cursor string, limit int) (ListPage, error) {
	if limit <= 0 {
		limit = 50
	}
	ids, err := r.rdb.ZRevRange(ctx, r.indexKey(), 0, -1).Result()
	if err != nil {
		return ListPage{}, err
	}
	if cursor != "" {
		i := slices.Index(ids, cursor)
		if i < 0 {
			return ListPage{}, fmt.Errorf("%w %q: not a sweep of the last %s", ErrBadCursor, cursor, Retention)
		}
		ids = ids[i+1:]
	}
	var page ListPage
	const batch = 64
	for start := 0; start < len(ids); start += batch {
		chunk := ids[start:min(start+batch, len(ids))]
		pipe := r.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, len(chunk))
		for i, id := range chunk {
			cmds[i] = pipe.HGetAll(ctx, r.key(id))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return ListPage{}, err
		}
		for i, id := range chunk {
			m := cmds[i].Val()
			if len(m) == 0 {
				continue // expired
			}
			st := statusOf(id, m)
			if state != "" && st.State != state {
				continue
			}
			if len(page.Sweeps) == limit {
				page.Next = page.Sweeps[limit-1].ID
				return page, nil
			}
			page.Sweeps = append(page.Sweeps, st)
		}
	}
	return page, nil
}
