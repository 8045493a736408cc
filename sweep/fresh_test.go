package sweep

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/store"
)

var (
	freshSeeds = flag.Int("fresh.seeds", 2000, "seeds of TestPlanner_property")
	freshSeed  = flag.Int64("fresh.seed", -1, "run only this seed of TestPlanner_property")
)

// freshWorld is an inventory read pass after pass by the planner's choice,
// in memory: each planned domain is read at the pass's time (some reads
// fail), a listed account is read whole.
type freshWorld struct {
	f        Freshness
	accounts []Account
	doms     []store.Domain
	// risky domains stay at risk (their intent keeps changing).
	risky map[string]bool
	// lastRead is when each domain was last read, failed or not.
	lastRead map[string]time.Time
	failRate float64
}

func newFreshWorld(rng *rand.Rand, start time.Time) *freshWorld {
	periods := []time.Duration{2 * time.Minute, 10 * time.Minute, time.Hour, 24 * time.Hour}
	period := periods[rng.IntN(len(periods))]
	var atRisk time.Duration
	if rng.IntN(2) == 0 {
		atRisk = period / time.Duration(2+rng.IntN(10))
	}
	w := &freshWorld{f: NewFreshness(period, atRisk), risky: map[string]bool{}, lastRead: map[string]time.Time{}, failRate: 0.1 * rng.Float64()}
	n := 1 + rng.IntN(3)
	for i := range n {
		a := Account{Name: fmt.Sprintf("acct%d", i), Bulk: rng.IntN(4) == 0}
		if rng.IntN(5) > 0 {
			// A budget from far too small to plenty for the inventory.
			a.Budget = (0.2 + 3*rng.Float64()) * 60 / w.f.Period.Seconds()
		}
		w.accounts = append(w.accounts, a)
	}
	for i := range 1 + rng.IntN(60) {
		d := store.Domain{Name: fmt.Sprintf("d%03d.com", i)}
		d.Desired.Provider = w.accounts[rng.IntN(len(w.accounts))].Name
		d.Desired.Locked = true
		if rng.IntN(3) > 0 {
			// Read some time ago (perhaps more than a period ago).
			at := start.Add(-time.Duration(rng.Float64() * 1.5 * float64(w.f.Period)))
			d.Observed = store.Observed{Known: true, Locked: true, CheckedAt: at}
			w.lastRead[d.Name] = at
		}
		if rng.IntN(6) == 0 {
			w.risky[d.Name] = true
		}
		w.doms = append(w.doms, d)
	}
	return w
}

// need is how many reads a period asks of an account (the planner's own
// estimate is checked against this).
func (w *freshWorld) covered(a Account) bool {
	if a.Budget <= 0 {
		return true
	}
	var n, risky float64
	for _, d := range w.doms {
		if d.Desired.Provider == a.Name {
			n++
			if w.risky[d.Name] {
				risky++
			}
		}
	}
	// Leave room for failed reads (their domains are at risk) and for a
	// window's rounding.
	perPeriod := float64(w.f.Period) / float64(w.f.AtRisk)
	reads := n + (risky+w.failRate*n)*perPeriod
	return reads/a.Budget < 0.6*w.f.Period.Seconds()
}

// Whatever the inventory, the budgets and the failures, a freshness pass
// never plans more reads than the budget allows in its window, reads the
// earliest due first (never-read domains before all others), lists an
// account that can list rather than reading it one by one; and when the
// budget covers the inventory with room to spare, after one period every
// domain is read at least once per period (plus a window), every domain at
// risk once per at-risk interval (plus a window). When it does not cover
// it, the plan says so.
func TestPlanner_property(t *testing.T) {
	first, n := int64(1), int64(*freshSeeds)
	if *freshSeed >= 0 {
		first, n = *freshSeed, 1
	}
	for seed := first; seed < first+n; seed++ {
		if err := runFreshSeed(seed); err != nil {
			t.Fatalf("seed %d: %v (reproduce: go test ./sweep -run TestPlanner_property -fresh.seed=%d)", seed, err, seed)
		}
	}
}

func runFreshSeed(seed int64) error {
	rng := rand.New(rand.NewPCG(uint64(seed), 7))
	start := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	w := newFreshWorld(rng, start)
	byName := map[string]Account{}
	for _, a := range w.accounts {
		byName[a.Name] = a
	}
	passes := int(2.5 * float64(w.f.Period) / float64(w.f.Window))
	for pass := range passes {
		now := start.Add(time.Duration(pass) * w.f.Window)
		for i := range w.doms {
			// A risky domain's intent changes now and then.
			if w.risky[w.doms[i].Name] {
				w.doms[i].Desired.RequestedAt = now
			}
		}
		// The bulk stage: accounts that can list theirs are listed whole
		// when some domain of theirs is due.
		bp := NewPlanner(w.f, now, w.accounts, "")
		for _, d := range w.doms {
			bp.Add(d)
		}
		listed := map[string]bool{}
		for _, name := range bp.Plan(true).List {
			if !byName[name].Bulk {
				return fmt.Errorf("pass %d: %s listed, but it cannot list", pass, name)
			}
			listed[name] = true
		}
		for i := range w.doms {
			if listed[w.doms[i].Desired.Provider] {
				w.read(rng, &w.doms[i], now)
			}
		}
		// The chunk stage: what is still due, one by one.
		p := NewPlanner(w.f, now, w.accounts, "")
		for _, d := range w.doms {
			p.Add(d)
		}
		plan := p.Plan(false)
		planned := map[string]bool{}
		perAccount := map[string]int{}
		for _, list := range plan.Read {
			if len(list) > dueListSize {
				return fmt.Errorf("pass %d: a list of %d > %d", pass, len(list), dueListSize)
			}
			for _, name := range list {
				if planned[name] {
					return fmt.Errorf("pass %d: %s planned twice", pass, name)
				}
				planned[name] = true
			}
		}
		var prevDue time.Time
		for _, list := range plan.Read {
			for _, name := range list {
				d := w.find(name)
				due := w.f.DueAt(d, now)
				if due.Before(prevDue) {
					return fmt.Errorf("pass %d: %s (due %s) planned after a domain due %s", pass, name, due, prevDue)
				}
				prevDue = due
				perAccount[d.Desired.Provider]++
				if due.After(now.Add(w.f.Window)) {
					return fmt.Errorf("pass %d: %s planned, due only at %s", pass, name, due)
				}
			}
		}
		// Earliest due first, within each account's budget.
		for _, a := range w.accounts {
			limit := maxPlanned
			if a.Budget > 0 {
				limit = int(math.Ceil(a.Budget * w.f.Window.Seconds()))
			}
			if perAccount[a.Name] > limit {
				return fmt.Errorf("pass %d: %d reads planned for %s, budget %d", pass, perAccount[a.Name], a.Name, limit)
			}
			var latestPlanned time.Time
			for _, d := range w.doms {
				if d.Desired.Provider == a.Name && planned[d.Name] && w.f.DueAt(d, now).After(latestPlanned) {
					latestPlanned = w.f.DueAt(d, now)
				}
			}
			for _, d := range w.doms {
				due := w.f.DueAt(d, now)
				if d.Desired.Provider == a.Name && !planned[d.Name] && !due.After(now.Add(w.f.Window)) && due.Before(latestPlanned) {
					return fmt.Errorf("pass %d: %s due %s left for later while one due %s was read", pass, d.Name, due, latestPlanned)
				}
			}
		}
		for _, af := range plan.Accounts {
			a := byName[af.Provider]
			if af.Short() && w.covered(a) {
				return fmt.Errorf("pass %d: %s reported short (%s) with a budget that covers it", pass, a.Name, af.Describe())
			}
			if af.Short() != strings.Contains(af.Describe(), "NOT") {
				return fmt.Errorf("pass %d: %s: %q does not say short=%v", pass, a.Name, af.Describe(), af.Short())
			}
		}
		for i := range w.doms {
			if planned[w.doms[i].Name] {
				w.read(rng, &w.doms[i], now)
			}
		}
		// After a period, every covered account is fresh.
		if now.Sub(start) < w.f.Period+w.f.Window {
			continue
		}
		for _, d := range w.doms {
			a := byName[d.Desired.Provider]
			if !w.covered(a) {
				continue
			}
			bound := w.f.Period
			if w.risky[d.Name] {
				bound = w.f.AtRisk
			}
			if age := now.Sub(w.lastRead[d.Name]); age > bound+2*w.f.Window {
				return fmt.Errorf("pass %d: %s (%s, budget %.3f/s, period %s, at risk every %s, risky %v) last read %s ago",
					pass, d.Name, a.Name, a.Budget, w.f.Period, w.f.AtRisk, w.risky[d.Name], age)
			}
		}
	}
	return nil
}

// read reads a domain at now; some reads fail.
func (w *freshWorld) read(rng *rand.Rand, d *store.Domain, now time.Time) {
	w.lastRead[d.Name] = now
	if rng.Float64() < w.failRate {
		d.Observed.Error, d.Observed.ErrorAt = "timeout", now
		return
	}
	d.Observed = store.Observed{Known: true, Locked: true, CheckedAt: now}
}

func (w *freshWorld) find(name string) store.Domain {
	for _, d := range w.doms {
		if d.Name == name {
			return d
		}
	}
	panic(name)
}

func TestNewFreshness(t *testing.T) {
	for _, c := range []struct {
		period, atRisk, wantRisk, wantWindow time.Duration
	}{
		{24 * time.Hour, 0, 4 * time.Hour, 15 * time.Minute},
		{24 * time.Hour, time.Hour, time.Hour, 15 * time.Minute},
		{time.Hour, 0, 10 * time.Minute, 37500 * time.Millisecond},
		{time.Minute, 0, 10 * time.Second, 10 * time.Second},
		{time.Hour, 2 * time.Hour, 10 * time.Minute, 37500 * time.Millisecond},
	} {
		f := NewFreshness(c.period, c.atRisk)
		if f.Period != c.period || f.AtRisk != c.wantRisk || f.Window != c.wantWindow {
			t.Errorf("NewFreshness(%s, %s) = %+v, want at risk %s, window %s", c.period, c.atRisk, f, c.wantRisk, c.wantWindow)
		}
	}
}

func TestAtRisk(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	calm := store.Domain{Name: "a.com", Desired: store.Desired{Locked: true, RequestedAt: now.Add(-48 * time.Hour)},
		Observed: store.Observed{Known: true, Locked: true, CheckedAt: now.Add(-time.Hour)}}
	f := NewFreshness(24*time.Hour, 0)
	if why := f.Risk(calm, now); why != "" {
		t.Errorf("a calm domain is at risk: %s", why)
	}
	for want, d := range map[string]store.Domain{
		"error":            with(calm, func(d *store.Domain) { d.Observed.Error = "timeout" }),
		"transfer pending": with(calm, func(d *store.Domain) { d.Observed.Flags = store.FlagTransfer }),
		"unlock window": with(calm, func(d *store.Domain) {
			d.Desired.Locked, d.Observed.Locked, d.Desired.RelockAt = false, false, now.Add(time.Hour)
		}),
		"drifted":          with(calm, func(d *store.Domain) { d.Observed.Locked = false }),
		"recently changed": with(calm, func(d *store.Domain) { d.Desired.RequestedAt = now.Add(-time.Hour) }),
		"":                 with(calm, func(d *store.Domain) { d.Desired.RequestedAt = now.Add(-5 * time.Hour) }),
	} {
		if got := f.Risk(d, now); got != want {
			t.Errorf("AtRisk = %q, want %q", got, want)
		}
	}
}

func with(d store.Domain, f func(*store.Domain)) store.Domain {
	f(&d)
	return d
}

// A freshness pass on real Redis reads, of each account, the domains due,
// oldest reading first and never-read ones before all, no more than the
// budget allows in its window; it lists an account that can list only when
// one of its domains is due, ends like any sweep, and records each
// account's verdict for the metrics and the compliance report.
func TestRunner_freshnessPass(t *testing.T) {
	env := redistest.New(t)
	ctx := context.Background()
	prefix := env.Namespace + ":"
	now := time.Date(2026, 12, 2, 3, 0, 0, 0, time.UTC)
	clk := clock.NewManual(now)
	f := NewFreshness(24*time.Hour, 0) // at risk every 4h, a pass every 15m
	reg := &fakeRegistrars{clock: clk, attempts: map[string]uint64{}, locked: map[string]bool{}, owner: map[string]string{},
		flap: map[string]bool{}, broken: map[string]bool{}, reads: map[string]int{}, unlisted: map[string]bool{},
		// 0.1 reads/s: 90 in a 15-minute window.
		accounts: []Account{{Name: "single", Budget: 0.1}, {Name: "lister", Bulk: true, Budget: 0.1}, {Name: "idle", Bulk: true}}}
	st := store.New(env.Client, prefix)
	var changes []store.Change
	var readings []store.DomainReading
	add := func(name, acct string, read time.Duration, failed bool) {
		reg.owner[name], reg.locked[name] = acct, true
		// Asked for two days ago: not "recently changed", which would put
		// every domain at risk.
		changes = append(changes, store.Change{Domain: name, Kind: store.KindLock, Provider: acct, Mode: store.ModeRecord, RequestedAt: now.Add(-48 * time.Hour)})
		if read < 0 {
			return // never read
		}
		r := store.Reading{Locked: true, StartedAt: now.Add(-read)}
		if failed {
			r = store.Reading{Err: "timeout", StartedAt: now.Add(-read)}
		}
		readings = append(readings, store.DomainReading{Domain: name, Reading: r})
	}
	for i := range 100 {
		add(fmt.Sprintf("old%03d.com", i), "single", 26*time.Hour-time.Duration(i)*time.Second, false) // due 2 h ago, older first
	}
	for i := range 50 {
		add(fmt.Sprintf("fresh%03d.com", i), "single", time.Hour, false) // due in 23 h
	}
	for i := range 20 {
		add(fmt.Sprintf("never%03d.com", i), "single", -1, false) // due at once
	}
	for i := range 10 {
		add(fmt.Sprintf("err%03d.com", i), "single", 5*time.Hour, true) // at risk: due 1 h ago
	}
	for i := range 30 {
		add(fmt.Sprintf("listed%03d.com", i), "lister", 26*time.Hour, false)
		add(fmt.Sprintf("quiet%03d.com", i), "idle", time.Hour, false)
	}
	if _, err := st.FoldMany(ctx, changes); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ObserveMany(ctx, readings); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	q := &taskQueue{rng: rng, seen: map[string]bool{}}
	w := &world{queue: q, reg: reg, clock: clk, fixes: &fixes{got: map[string]bool{}}}
	w.runner = &Runner{Records: New(env.Client, prefix), Inventory: st, Registrars: reg, Queue: q, Fixes: w.fixes,
		Guard: Guard{MaxDriftShare: 0.1}, Log: zerolog.Nop(), Clock: clk, UnitBudget: time.Hour, Batch: 16}
	passes := Passes{Starter: &Starter{Records: w.runner.Records, Queue: q, Clock: clk}, Freshness: f}
	if err := passes.StartSweep(ctx, "fresh-1"); err != nil {
		t.Fatal(err)
	}
	if err := passes.StartSweep(ctx, "fresh-2"); !errors.Is(err, ErrPassRunning) {
		t.Fatalf("a second pass while the first runs: %v, want ErrPassRunning", err)
	}
	if err := w.drain(rng); err != nil {
		t.Fatal(err)
	}
	// Both passes ran: the second was owed while the first ran, and
	// started when it ended. Every due domain was read once, none twice,
	// and no fresh one.
	for d, acct := range reg.owner {
		want := 0
		if acct == "single" && !strings.HasPrefix(d, "fresh") {
			want = 1
		}
		if reg.reads[d] != want {
			t.Errorf("%s read %d times, want %d", d, reg.reads[d], want)
		}
	}
	got, err := w.runner.Records.Get(ctx, "fresh-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.State != StateDone || got.Options.Trigger != "freshness" || got.Options.Freshness != f ||
		got.PerProvider["single"].Checked != 90 || got.PerProvider["lister"].Checked != 30 || got.PerProvider["idle"].Checked != 0 {
		t.Errorf("pass recorded as %+v", got)
	}
	// The first pass read the never-read domains and the 70 oldest (90 of
	// 130 due): the second, planned after it, found the other 40 due.
	var first []string
	for i := 0; ; i++ {
		list, err := w.runner.Records.dueList(ctx, "fresh-1", i)
		if err != nil {
			break
		}
		first = append(first, list...)
	}
	slices.Sort(first)
	var want []string
	for i := range 20 {
		want = append(want, fmt.Sprintf("never%03d.com", i))
	}
	for i := range 70 {
		want = append(want, fmt.Sprintf("old%03d.com", i))
	}
	if !slices.Equal(first, want) {
		t.Errorf("the first pass planned %d: %v\nwant %d: %v", len(first), first, len(want), want)
	}
	second, err := w.runner.Records.Get(ctx, "fresh-2")
	if err != nil || second.State != StateDone || second.Options.Freshness != f || second.PerProvider["single"].Checked != 40 {
		t.Fatalf("the owed pass: %+v, %v", second, err)
	}
	fr, err := w.runner.Records.Freshness(ctx)
	if err != nil {
		t.Fatal(err)
	}
	single := fr["single"]
	// As the second pass planned: 40 due, 40 to read, the 10 failed ones
	// never read successfully and at risk. Needed per day: 170 calm + 10 at
	// risk x 6 = 230 reads at 0.1/s.
	if single.Domains != 180 || single.AtRisk != 10 || single.NeverRead != 10 || single.Due != 40 || single.Planned != 40 ||
		single.InSync != 170 || single.InError != 10 || single.Drifted != 0 ||
		single.Covers != 2300*time.Second || single.Short() {
		t.Errorf("single: %+v", single)
	}
	// reglock_domains follows the inventory as the plan found it, not the
	// pass's sample of 40 (LastByProvider is what the metrics read).
	last, err := w.runner.Records.LastByProvider(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if l := last["single"]; l.Checked != 170 || l.Errors != 10 || l.Drifted != 0 || l.FinishedAt.IsZero() {
		t.Errorf("single's last figures: %+v, want the plan's 170 in sync and 10 in error", l)
	}
	if fr["lister"].Listed || fr["lister"].Due != 0 || fr["lister"].Domains != 30 {
		t.Errorf("lister, planned after its listing: %+v", fr["lister"])
	}
	if fr["idle"].Listed || fr["idle"].Due != 0 || fr["idle"].Domains != 30 || !fr["idle"].Oldest.Equal(now.Add(-time.Hour)) {
		t.Errorf("idle: %+v", fr["idle"])
	}
}

// A small budget that cannot cover the inventory in a period says so.
func TestAccountFreshness_short(t *testing.T) {
	f := NewFreshness(24*time.Hour, 0)
	p := NewPlanner(f, time.Now(), []Account{{Name: "big", Budget: 1}}, "")
	for i := range 100_000 {
		p.Add(store.Domain{Name: fmt.Sprintf("d%06d.com", i), Desired: store.Desired{Provider: "big", Locked: true}})
	}
	plan := p.Plan(false)
	a := plan.Accounts[0]
	if !a.Short() || a.Covers != 100_000*time.Second || a.Planned != 900 || a.NeverRead != 100_000 {
		t.Fatalf("%+v", a)
	}
	if d := a.Describe(); !strings.Contains(d, "does NOT cover the 24h0m0s period") || !strings.Contains(d, "27h46m40s") {
		t.Errorf("Describe: %q", d)
	}
}
