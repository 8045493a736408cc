package sweep

import (
	"cmp"
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/store"
)

// Freshness is continuous reading instead of a nightly wall (config
// scheduler.freshness): the scheduler starts a freshness pass every Window,
// and each pass reads, oldest reading first, the domains that are due
// within the window, as many as the account's background budget allows in
// it. A domain is due Period after its newest reading, or AtRisk after it
// when it is at risk of being wrong (AtRisk). A pass is an ordinary sweep
// in every other way: suspects are read again, the guard decides, the
// fixes are queued and the pass is in the sweeps' list (trigger
// "freshness").
type Freshness struct {
	// Period: every domain is read at least once per Period.
	Period time.Duration
	// AtRisk: a domain at risk is read at least once per AtRisk.
	AtRisk time.Duration
	// Window is the time between two passes: a pass reads what the budget
	// allows in it.
	Window time.Duration
}

// Bounds of a freshness pass's window: short enough that a domain at risk
// is not kept waiting, long enough that a pass's two scans of the
// inventory stay a small part of the work.
const (
	minWindow = 10 * time.Second
	maxWindow = 15 * time.Minute
	// maxPlanned bounds the domains one pass reads one by one per account
	// when the account has no rate limit.
	maxPlanned = 100_000
	// dueListSize is how many domains one unit of a pass reads.
	dueListSize = 256
)

// NewFreshness is the freshness of period: domains at risk are read every
// atRisk (period/6 if zero), and a pass starts every period/96, between 10 s
// and 15 minutes.
func NewFreshness(period, atRisk time.Duration) Freshness {
	if atRisk <= 0 || atRisk > period {
		atRisk = period / 6
	}
	return Freshness{Period: period, AtRisk: atRisk, Window: min(max(period/96, minWindow), maxWindow)}
}

// Risk says why a domain's lock is more likely than others to be wrong, or
// "": its newest read failed, a transfer away is pending, an unlock window
// is open, it was last read drifted, or its intent changed within the
// at-risk interval (a change is read back by its own task; this reads it
// once more, in case something turns it back).
func (f Freshness) Risk(d store.Domain, now time.Time) string {
	switch {
	case d.Observed.Error != "":
		return "error"
	case d.Observed.Known && d.Observed.Flags&store.FlagTransfer != 0:
		return "transfer pending"
	case !d.Desired.RelockAt.IsZero() && !d.Desired.Locked:
		return "unlock window"
	case d.Observed.Known && d.Observed.Locked != d.Desired.Locked:
		return "drifted"
	case !d.Desired.RequestedAt.IsZero() && now.Sub(d.Desired.RequestedAt) < f.AtRisk:
		return riskChanged
	}
	return ""
}

// riskChanged is the risk of a recent change: it passes by itself.
const riskChanged = "recently changed"

// DueAt is when a domain should be read next: at once if it was never
// read, else Period (or AtRisk) after its newest read, failed or not.
func (f Freshness) DueAt(d store.Domain, now time.Time) time.Time {
	last := d.Observed.CheckedAt
	if d.Observed.ErrorAt.After(last) {
		last = d.Observed.ErrorAt
	}
	if last.IsZero() {
		return time.Time{}
	}
	if f.Risk(d, now) != "" {
		return last.Add(f.AtRisk)
	}
	return last.Add(f.Period)
}

// AccountFreshness is one account's figures from a freshness pass's plan.
type AccountFreshness struct {
	Provider string `json:"provider"`
	// Domains, AtRisk and NeverRead count the account's domains.
	Domains   int64 `json:"domains"`
	AtRisk    int64 `json:"at_risk"`
	NeverRead int64 `json:"never_read"`
	// InSync, Drifted and InError count them by their newest reading
	// (store.SyncState; a domain whose newest read failed is in error
	// even if it was never read successfully), as the plan found them: in
	// freshness mode the readings are the passes', so these are
	// reglock_domains' figures.
	InSync  int64 `json:"in_sync"`
	Drifted int64 `json:"drifted"`
	InError int64 `json:"in_error"`
	// Changed are the domains at risk only for a recent change: each costs
	// one read more, not one per at-risk interval.
	Changed int64 `json:"changed"`
	// Oldest is the oldest successful reading of any of its domains.
	Oldest time.Time `json:"oldest_reading,omitzero"`
	// Due is how many were due within the pass's window; Planned how many
	// the pass reads one by one (at most the budget allows); Listed that
	// the pass lists the account's locks instead.
	Due     int64 `json:"due"`
	Planned int64 `json:"planned"`
	Listed  bool  `json:"listed"`
	// Budget is the account's background reads per second (0: no limit).
	Budget float64 `json:"budget_per_second"`
	// Covers is how long the budget takes to read the inventory as often
	// as the period and the at-risk interval ask: when it is longer than
	// Period, the budget cannot keep every domain fresh (0: no limit).
	Covers time.Duration `json:"covers"`
	Period time.Duration `json:"period"`
	// At is when the plan was made.
	At time.Time `json:"at"`
}

// Short reports that the account's budget cannot read its inventory once
// per period.
func (a AccountFreshness) Short() bool { return a.Covers > a.Period }

// Describe says in a sentence whether the budget covers the inventory.
func (a AccountFreshness) Describe() string {
	if a.Budget <= 0 {
		return fmt.Sprintf("%s, no rate limit: every domain is read within %s", english.Count(a.Domains, "domain"), a.Period)
	}
	verdict := "covers"
	if a.Short() {
		verdict = "does NOT cover"
	}
	return fmt.Sprintf("%s (%d at risk) at %.2f background reads/s: one period of reads takes %s, which %s the %s period",
		english.Count(a.Domains, "domain"), a.AtRisk, a.Budget, a.Covers.Round(time.Second), verdict, a.Period)
}

// dueItem is a domain waiting to be read.
type dueItem struct {
	name string
	due  time.Time
}

// dueHeap keeps the earliest-due domains: a max-heap on due, so the
// latest is dropped when it is full.
type dueHeap []dueItem

func (h dueHeap) Len() int { return len(h) }
func (h dueHeap) Less(i, j int) bool {
	if c := h[i].due.Compare(h[j].due); c != 0 {
		return c > 0
	}
	return h[i].name > h[j].name
}
func (h dueHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)   { *h = append(*h, x.(dueItem)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Planner picks the domains a freshness pass reads: it is fed the whole
// inventory and keeps, per account, the earliest-due domains within the
// window, as many as the budget allows.
type Planner struct {
	f        Freshness
	now      time.Time
	accounts map[string]Account
	// provider limits the plan to one account ("" for all).
	provider string
	plans    map[string]*accountPlan
}

type accountPlan struct {
	AccountFreshness
	limit int
	due   dueHeap
}

// NewPlanner plans a pass at now over the given accounts.
func NewPlanner(f Freshness, now time.Time, accounts []Account, provider string) *Planner {
	p := &Planner{f: f, now: now, accounts: map[string]Account{}, provider: provider, plans: map[string]*accountPlan{}}
	for _, a := range accounts {
		p.accounts[a.Name] = a
	}
	return p
}

func (p *Planner) plan(provider string) *accountPlan {
	ap := p.plans[provider]
	if ap == nil {
		a := p.accounts[provider]
		limit := maxPlanned
		if a.Budget > 0 {
			limit = budgetReads(a.Budget, p.f.Window)
		}
		ap = &accountPlan{AccountFreshness: AccountFreshness{Provider: provider, Budget: a.Budget, Period: p.f.Period, At: p.now}, limit: limit}
		p.plans[provider] = ap
	}
	return ap
}

// budgetReads is how many reads a pass plans for an account: what its
// budget allows in the window, rounded up (the shared rate limiter, not
// the plan, holds the account to its rate; rounding down would lose up to
// a read a window, most of a small budget).
func budgetReads(budget float64, window time.Duration) int {
	return max(1, int(math.Ceil(budget*window.Seconds()-1e-9)))
}

// Add feeds one domain of the inventory to the plan.
func (p *Planner) Add(d store.Domain) {
	if p.provider != "" && d.Desired.Provider != p.provider {
		return
	}
	ap := p.plan(d.Desired.Provider)
	ap.Domains++
	if risk := p.f.Risk(d, p.now); risk != "" {
		ap.AtRisk++
		if risk == riskChanged {
			ap.Changed++
		}
	}
	if !d.Observed.Known {
		ap.NeverRead++ // never read successfully, failed reads or not
	} else if ap.Oldest.IsZero() || d.Observed.CheckedAt.Before(ap.Oldest) {
		ap.Oldest = d.Observed.CheckedAt
	}
	switch store.SyncState(d) {
	case store.StateInSync:
		ap.InSync++
	case store.StateDrifted:
		ap.Drifted++
	case store.StateError:
		ap.InError++
	}
	due := p.f.DueAt(d, p.now)
	if due.After(p.now.Add(p.f.Window)) {
		return
	}
	ap.Due++
	item := dueItem{name: d.Name, due: due}
	if ap.due.Len() < ap.limit {
		heap.Push(&ap.due, item)
	} else if top := ap.due[0]; item.due.Before(top.due) || (item.due.Equal(top.due) && item.name < top.name) {
		ap.due[0] = item
		heap.Fix(&ap.due, 0)
	}
}

// Plan is a pass's plan: each account's figures, the accounts to list,
// and the domains to read one by one, earliest due first.
type Plan struct {
	Accounts []AccountFreshness
	// List are the accounts the pass lists (they can list their locks and
	// some domain of theirs is due).
	List []string
	// Read are the domains to read one by one, earliest due first, split
	// into the units' lists.
	Read [][]string
}

// Plan finishes the plan. listing says whether accounts that can list their
// locks are to be listed (the bulk stage) or read one by one for whatever
// is still due (the chunk stage, after their listing).
func (p *Planner) Plan(listing bool) Plan {
	var out Plan
	var read []dueItem
	names := make([]string, 0, len(p.plans))
	for name := range p.plans {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		ap := p.plans[name]
		a, configured := p.accounts[name]
		if a.Bulk && listing {
			ap.Listed = ap.Due > 0
			if ap.Listed {
				out.List = append(out.List, name)
			}
		} else if configured || !listing {
			ap.Planned = int64(ap.due.Len())
			read = append(read, ap.due...)
		}
		ap.Covers = p.covers(ap)
		out.Accounts = append(out.Accounts, ap.AccountFreshness)
	}
	slices.SortFunc(read, func(a, b dueItem) int {
		if c := a.due.Compare(b.due); c != 0 {
			return c
		}
		return cmp.Compare(a.name, b.name)
	})
	for i := 0; i < len(read); i += dueListSize {
		list := make([]string, 0, dueListSize)
		for _, it := range read[i:min(i+dueListSize, len(read))] {
			list = append(list, it.name)
		}
		out.Read = append(out.Read, list)
	}
	return out
}

// covers is how long an account's budget takes to make one period's
// reads: every domain once, those at risk once per at-risk interval (a
// recent change, once more). An account that lists its locks needs one
// listing (its pages, estimated at listPage domains each) per at-risk
// interval while any domain is at risk.
func (p *Planner) covers(ap *accountPlan) time.Duration {
	if ap.Budget <= 0 {
		return 0
	}
	perPeriod := float64(p.f.Period) / float64(p.f.AtRisk)
	var reads float64
	if p.accounts[ap.Provider].Bulk {
		reads = math.Ceil(float64(ap.Domains) / listPage)
		if ap.AtRisk > ap.Changed {
			reads *= perPeriod
		} else if ap.Changed > 0 {
			reads *= 2
		}
	} else {
		lasting := float64(ap.AtRisk - ap.Changed)
		reads = float64(ap.Domains) - lasting + lasting*perPeriod + float64(ap.Changed)
	}
	return time.Duration(reads / ap.Budget * float64(time.Second))
}

// planFreshness scans the inventory and plans a pass.
func (r *Runner) planFreshness(ctx context.Context, st Status, listing bool) (Plan, error) {
	p := NewPlanner(st.Options.Freshness, r.now(), r.Registrars.Accounts(), st.Options.Provider)
	chunks, err := r.Inventory.OccupiedChunks(ctx)
	if err != nil {
		return Plan{}, err
	}
	for _, c := range chunks {
		err := r.Inventory.ScanChunk(ctx, c, "", func(doms []store.Domain) bool {
			for _, d := range doms {
				p.Add(d)
			}
			return ctx.Err() == nil
		})
		if err != nil {
			return Plan{}, err
		}
	}
	return p.Plan(listing), ctx.Err()
}

// planDue plans the chunk stage of a freshness pass: the lists of domains
// to read one by one are recorded (once: a retried plan keeps the first
// lists, which its recorded units name), and the accounts' figures are
// kept for the metrics, the compliance report and the log.
func (r *Runner) planDue(ctx context.Context, st Status) ([]Unit, error) {
	plan, err := r.planFreshness(ctx, st, false)
	if err != nil {
		return nil, err
	}
	units := make([]Unit, len(plan.Read))
	for i, list := range plan.Read {
		if err := r.Records.saveDueList(ctx, st.ID, i, list); err != nil {
			return nil, err
		}
		units[i] = DueUnit(i)
	}
	prev, err := r.Records.Freshness(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range plan.Accounts {
		ev := r.Log.Info()
		if a.Short() && !prev[a.Provider].Short() {
			ev = r.Log.Warn()
		} else if a.Short() == prev[a.Provider].Short() {
			ev = r.Log.Debug()
		}
		ev.Str("sweep_id", st.ID).Str("provider", a.Provider).Int64("due", a.Due).Int64("planned", a.Planned).
			Bool("short", a.Short()).Dur("covers", a.Covers).Msg("freshness: " + a.Describe())
	}
	return units, r.Records.SetFreshness(ctx, plan.Accounts, st.Options.Provider == "")
}

// due reads one of a freshness pass's lists from cursor (an index into
// it) on, until it is done or the unit's budget is spent.
func (u *unitRun) due(ctx context.Context, list int, cursor string) (bool, string, error) {
	names, err := u.r.Records.dueList(ctx, u.st.ID, list)
	if err != nil {
		return false, cursor, err
	}
	from := 0
	if cursor != "" {
		if from, err = strconv.Atoi(cursor); err != nil || from < 0 || from > len(names) {
			return false, cursor, fmt.Errorf("sweep %s: bad cursor %q for due list %d", u.st.ID, cursor, list)
		}
	}
	for from < len(names) {
		to := min(from+u.r.batch(), len(names))
		doms, err := u.r.Inventory.GetMany(ctx, names[from:to])
		if err != nil {
			return false, strconv.Itoa(from), err
		}
		keep := doms[:0]
		for _, d := range doms {
			if d.Name != "" && (u.st.Options.Provider == "" || d.Desired.Provider == u.st.Options.Provider) {
				keep = append(keep, d)
			}
		}
		if err := u.check(ctx, keep); err != nil {
			return false, strconv.Itoa(from), err
		}
		from = to
		if from < len(names) && (!u.r.now().Before(u.deadline) || ctx.Err() != nil) {
			return false, strconv.Itoa(from), nil
		}
	}
	return true, strconv.Itoa(from), nil
}

// dueKey holds one of a freshness pass's lists of domains to read.
func (r *Records) dueKey(id string, list int) string {
	return r.key(id) + ":due:" + strconv.Itoa(list)
}

func (r *Records) saveDueList(ctx context.Context, id string, list int, names []string) error {
	return r.rdb.SetNX(ctx, r.dueKey(id, list), strings.Join(names, "\n"), Retention).Err()
}

func (r *Records) dueList(ctx context.Context, id string, list int) ([]string, error) {
	v, err := r.rdb.Get(ctx, r.dueKey(id, list)).Result()
	if err != nil {
		return nil, fmt.Errorf("sweep %s: due list %d: %w", id, list, err)
	}
	if v == "" {
		return nil, nil
	}
	return strings.Split(v, "\n"), nil
}

// freshnessKey holds each account's figures from the newest freshness plan
// (provider -> JSON AccountFreshness), which every process's metrics and
// the compliance report read alike.
func (r *Records) freshnessKey() string { return r.prefix + "freshness" }

// SetFreshness keeps the accounts' figures from a freshness plan; all says
// the plan covered every account.
func (r *Records) SetFreshness(ctx context.Context, accounts []AccountFreshness, all bool) error {
	if len(accounts) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(accounts))
	for _, a := range accounts {
		b, err := json.Marshal(a)
		if err != nil {
			return err
		}
		args = append(args, a.Provider, b)
	}
	pipe := r.rdb.TxPipeline()
	if all {
		// A plan of every account replaces the figures: an account that
		// left the inventory must not keep an ageing oldest reading.
		pipe.Del(ctx, r.freshnessKey())
	}
	pipe.HSet(ctx, r.freshnessKey(), args...)
	_, err := pipe.Exec(ctx)
	return err
}

// Freshness returns each account's figures from the newest freshness plan
// that covered it.
func (r *Records) Freshness(ctx context.Context) (map[string]AccountFreshness, error) {
	m, err := r.rdb.HGetAll(ctx, r.freshnessKey()).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[string]AccountFreshness, len(m))
	for p, v := range m {
		var a AccountFreshness
		if json.Unmarshal([]byte(v), &a) == nil {
			out[p] = a
		}
	}
	return out, nil
}

// owedKey holds the ID of the freshness pass that was due while another
// ran: the running pass starts it when it ends.
func (r *Records) owedKey() string { return r.prefix + "freshness:owed" }

func (r *Records) owePass(ctx context.Context, id string, f Freshness) error {
	// Kept for a few windows: a pass that ends after that leaves the next
	// tick to start the next pass.
	return r.rdb.Set(ctx, r.owedKey(), id, 3*f.Window).Err()
}

// startOwed starts the pass that was owed while st ran, if any.
func (r *Runner) startOwed(ctx context.Context, st Status) error {
	id, err := r.Records.rdb.GetDel(ctx, r.Records.owedKey()).Result()
	if errors.Is(err, redis.Nil) || id == st.ID {
		return nil
	}
	if err != nil {
		return err
	}
	starter := &Starter{Records: r.Records, Queue: r.Queue, Clock: r.Clock}
	_, err = starter.Start(ctx, id, Options{Provider: st.Options.Provider, Trigger: "freshness", Freshness: st.Options.Freshness})
	return err
}
