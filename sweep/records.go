package sweep

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/tasks"
)

// States of a sweep, as the API reports them.
const (
	StateRunning = "running"
	StatePaused  = "paused"
	StateDone    = "done"
)

// ErrNotFound is returned for a sweep ID that does not exist (or expired).
var ErrNotFound = errors.New("no such sweep")

// ErrNotPaused is returned when applying a sweep that is not paused.
var ErrNotPaused = errors.New("sweep is not paused")

// Retention is how long a sweep's record is kept.
const Retention = tasks.SweepRetention

// Options are what a sweep was started with.
type Options struct {
	// Provider limits the sweep to one provider's domains.
	Provider string
	// DryRun reports drift without fixing it.
	DryRun bool
	// Trigger says who started it: "schedule", "freshness" or
	// "api:<token name>".
	Trigger string
	// Freshness, when its Period is set, makes the sweep a freshness pass:
	// it reads only the domains due, as many as each account's budget
	// allows in the window (see Freshness).
	Freshness Freshness
}

// Pass reports whether the sweep is a freshness pass.
func (o Options) Pass() bool { return o.Freshness.Period > 0 }

// Counts are one account's (or the whole sweep's) numbers.
type Counts struct {
	// Checked domains were read at the registrar.
	Checked int64 `json:"checked"`
	// Drifted domains differed from their desired state on two readings.
	Drifted int64 `json:"drifted"`
	// Errors are domains whose read failed.
	Errors int64 `json:"errors"`
	// Unlocks are fixes that would unlock a domain.
	Unlocks int64 `json:"unlocks"`
	// Unfixable are drifted domains reglock must not touch (a registry's
	// own lock, a pending state).
	Unfixable int64 `json:"unfixable"`
	// Calls are the registrar requests the sweep's reads took (lookups,
	// listing pages, logins, retries): Calls/Checked is what a domain cost.
	Calls int64 `json:"calls"`
}

func (c *Counts) add(o Counts) {
	c.Checked += o.Checked
	c.Drifted += o.Drifted
	c.Errors += o.Errors
	c.Unlocks += o.Unlocks
	c.Unfixable += o.Unfixable
	c.Calls += o.Calls
}

// Status is a sweep's record.
type Status struct {
	ID      string
	State   string
	Options Options
	Stage   Stage
	Pending int64
	Counts
	FixesQueued int64
	// PerProvider are the counts of each account.
	PerProvider map[string]Counts
	// Paused holds, per paused account, why the guard held its fixes back.
	Paused map[string]string
	// SuspectUnits are the units that found drift to confirm.
	SuspectUnits []string
	CreatedAt    time.Time
	FinishedAt   time.Time
}

// Fix is one confirmed drift: the change that brings the domain back.
type Fix struct {
	Domain     string
	Provider   string
	Lock       bool
	Generation int64
	// RegistrarID is the registrar's own identifier, when a bulk read gave
	// one; the fix task passes it on as a hint.
	RegistrarID string
}

// Records is the sweeps' store. It is safe for concurrent use.
type Records struct {
	rdb    redis.UniversalClient
	prefix string
}

// New returns the sweep records under prefix (the store's prefix).
func New(rdb redis.UniversalClient, prefix string) *Records {
	return &Records{rdb: rdb, prefix: prefix}
}

func (r *Records) key(id string) string { return r.prefix + "sweep:{" + id + "}" }

func (r *Records) fixKey(id, unit string) string { return r.key(id) + ":fix:" + unit }

func (r *Records) suspectKey(id, unit string) string { return r.key(id) + ":sus:" + unit }

// NewID returns a fresh ID for a sweep started by hand.
func NewID(now time.Time) string {
	return "manual-" + now.UTC().Format("20060102T150405.000Z") + "-" + strconv.FormatInt(now.UnixNano()%100000, 36)
}

// createScript creates a sweep once. KEYS: sweep. ARGV: ttl_ms provider
// dry_run trigger created_ms freshness (period_ms|at_risk_ms|window_ms, or
// "").
var createScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 1 then return 0 end
redis.call("HSET", KEYS[1], "state", "running", "provider", ARGV[2], "dry_run", ARGV[3], "trigger", ARGV[4], "created_at", ARGV[5])
if ARGV[6] ~= "" then redis.call("HSET", KEYS[1], "freshness", ARGV[6]) end
redis.call("PEXPIRE", KEYS[1], ARGV[1])
return 1
`)

// Create records a new running sweep. It reports false if the ID exists
// already: starting a sweep twice starts it once.
func (r *Records) Create(ctx context.Context, id string, o Options, now time.Time) (bool, error) {
	dry := ""
	if o.DryRun {
		dry = "1"
	}
	fresh := ""
	if o.Pass() {
		f := o.Freshness
		fresh = fmt.Sprintf("%d|%d|%d", f.Period.Milliseconds(), f.AtRisk.Milliseconds(), f.Window.Milliseconds())
	}
	n, err := createScript.Run(ctx, r.rdb, []string{r.key(id)}, Retention.Milliseconds(), o.Provider, dry, o.Trigger,
		strconv.FormatInt(now.UnixMilli(), 10), fresh).Int()
	if err != nil {
		return false, err
	}
	// The index of recent sweeps (a separate key: another cluster slot),
	// which ResumeStuck reads; it only ever holds a week of sweeps.
	pipe := r.rdb.Pipeline()
	pipe.ZAdd(ctx, r.indexKey(), redis.Z{Score: float64(now.UnixMilli()), Member: id})
	pipe.ZRemRangeByScore(ctx, r.indexKey(), "-inf", strconv.FormatInt(now.Add(-Retention).UnixMilli(), 10))
	if n == 1 {
		pipe.HSet(ctx, r.newestKey(), KindOf(o.Trigger), id) // for the metrics (newest.go)
	}
	_, err = pipe.Exec(ctx)
	return n == 1, err
}

func (r *Records) indexKey() string { return r.prefix + "sweeps" }

// RunningPass returns the ID of a freshness pass other than id that is
// still running, among the newest sweeps, or "". A pass created more than
// Retention ago is long gone from the index.
func (r *Records) RunningPass(ctx context.Context, id string) (string, error) {
	ids, err := r.rdb.ZRevRange(ctx, r.indexKey(), 0, 63).Result()
	if err != nil || len(ids) == 0 {
		return "", err
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, other := range ids {
		cmds[i] = pipe.HMGet(ctx, r.key(other), "state", "freshness")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return "", err
	}
	for i, c := range cmds {
		v := c.Val()
		state, _ := v[0].(string)
		fresh, _ := v[1].(string)
		if ids[i] != id && state == StateRunning && fresh != "" {
			return ids[i], nil
		}
	}
	return "", nil
}

// Stuck returns the sweeps created before cutoff that are still running but
// never started their first stage: their start task was never queued (the
// process that created them died in between).
func (r *Records) Stuck(ctx context.Context, cutoff time.Time) ([]string, error) {
	ids, err := r.rdb.ZRangeByScore(ctx, r.indexKey(), &redis.ZRangeBy{
		Min: strconv.FormatInt(cutoff.Add(-Retention).UnixMilli(), 10), Max: strconv.FormatInt(cutoff.UnixMilli(), 10),
	}).Result()
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	pipe := r.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, r.key(id), "state", "stage")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	var out []string
	for i, c := range cmds {
		v := c.Val()
		state, _ := v[0].(string)
		stage, _ := v[1].(string)
		if state == StateRunning && stage == "" {
			out = append(out, ids[i])
		}
	}
	return out, nil
}

// planScript starts a stage once. KEYS: sweep. ARGV: stage units(comma
// list) stages(in order)... Returns {stage, units}: the stage planned now,
// or the one planned before (this one or a later one: a retried task),
// with its units.
var planScript = redis.NewScript(`
if redis.call("EXISTS", KEYS[1]) == 0 then return redis.error_reply("NOSWEEP") end
local rank = {[""] = 0}
for i = 3, #ARGV do rank[ARGV[i]] = i - 2 end
local cur = redis.call("HGET", KEYS[1], "stage") or ""
if (rank[cur] or 0) >= rank[ARGV[1]] then
  return {cur, redis.call("HGET", KEYS[1], "units:" .. cur) or ""}
end
local n = 0
if ARGV[2] ~= "" then n = #string.gsub(ARGV[2], "[^,]", "") + 1 end
redis.call("HSET", KEYS[1], "stage", ARGV[1], "pending", n, "units:" .. ARGV[1], ARGV[2])
return {ARGV[1], ARGV[2]}
`)

// Plan starts a stage with its units, unless this stage or a later one was
// planned before (a retried task). It returns the stage the sweep is in now
// and that stage's units.
func (r *Records) Plan(ctx context.Context, id string, stage Stage, units []string) (Stage, []string, error) {
	args := append([]any{string(stage), strings.Join(units, ",")}, stageNames()...)
	res, err := planScript.Run(ctx, r.rdb, []string{r.key(id)}, args...).StringSlice()
	if err != nil {
		if strings.Contains(err.Error(), "NOSWEEP") {
			return "", nil, ErrNotFound
		}
		return "", nil, err
	}
	if len(res) != 2 {
		return "", nil, fmt.Errorf("sweep %s: unexpected plan result %q", id, res)
	}
	if res[1] == "" {
		return Stage(res[0]), nil, nil
	}
	return Stage(res[0]), strings.Split(res[1], ","), nil
}

// Progress returns a unit's cursor (where a partial run stopped) and
// whether the unit is done.
func (r *Records) Progress(ctx context.Context, id, unit string) (cursor string, done bool, err error) {
	vals, err := r.rdb.HMGet(ctx, r.key(id), "cur:"+unit, "done:"+unit).Result()
	if err != nil {
		return "", false, err
	}
	c, _ := vals[0].(string)
	return c, vals[1] != nil, nil
}

// commitScript adds a unit's tally and findings once per cursor step.
// KEYS: sweep fix suspects. ARGV: unit cursor prev_cursor final n_tallies
// n_suspects (provider checked drifted errors unlocks unfixable calls)...
// (domain suspect)... (domain fix)...
// Returns {pending, committed}.
var commitScript = redis.NewScript(`
local unit = ARGV[1]
if redis.call("HEXISTS", KEYS[1], "done:" .. unit) == 1 then
  return {tonumber(redis.call("HGET", KEYS[1], "pending") or "0"), 0}
end
local cur = redis.call("HGET", KEYS[1], "cur:" .. unit) or ""
if cur ~= ARGV[3] then
  -- another run of this unit committed since we read the cursor
  return {tonumber(redis.call("HGET", KEYS[1], "pending") or "0"), 0}
end
local i = 7
for t = 1, tonumber(ARGV[5]) do
  local p = ARGV[i]
  local names = {"checked", "drifted", "errors", "unlocks", "unfixable", "calls"}
  for k = 1, 6 do
    local v = tonumber(ARGV[i + k])
    if v ~= 0 then
      redis.call("HINCRBY", KEYS[1], names[k], v)
      redis.call("HINCRBY", KEYS[1], names[k] .. ":" .. p, v)
    end
  end
  i = i + 7
end
local nsus = tonumber(ARGV[6])
if nsus > 0 then
  for k = 1, nsus do
    redis.call("HSET", KEYS[3], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  redis.call("HINCRBY", KEYS[1], "sus:" .. unit, nsus)
  redis.call("PEXPIRE", KEYS[3], redis.call("PTTL", KEYS[1]))
end
while i < #ARGV do
  redis.call("HSET", KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
if redis.call("EXISTS", KEYS[2]) == 1 then redis.call("PEXPIRE", KEYS[2], redis.call("PTTL", KEYS[1])) end
local pending = tonumber(redis.call("HGET", KEYS[1], "pending") or "0")
if ARGV[4] == "1" then
  redis.call("HSET", KEYS[1], "done:" .. unit, 1)
  redis.call("HDEL", KEYS[1], "cur:" .. unit)
  pending = redis.call("HINCRBY", KEYS[1], "pending", -1)
else
  redis.call("HSET", KEYS[1], "cur:" .. unit, ARGV[2])
end
return {pending, 1}
`)

// Tally is what one run of a unit counted, per provider.
type Tally map[string]*Counts

// Add returns the provider's counts, creating them.
func (t Tally) Add(provider string) *Counts {
	c := t[provider]
	if c == nil {
		c = &Counts{}
		t[provider] = c
	}
	return c
}

// Suspect is a domain read once as drifted, to be read again.
type Suspect struct {
	Fix
	// ReadAt is when the first reading was taken.
	ReadAt time.Time
}

// Found is what one run of a unit found: suspects to confirm (check
// stages) or confirmed drift to fix (confirm stage).
type Found struct {
	Suspects []Suspect
	Fixes    []Fix
	// Unfixable is drift reglock must not touch, for the sweep's report.
	Unfixable []Unfixable
}

// Unfixable is a drifted domain reglock leaves alone, and why.
type Unfixable struct {
	Fix
	Why string
}

// unfixablePrefix marks a unit's unfixable drift in its fix hash: no domain
// name starts with it, so Fixes never takes one for a fix.
const unfixablePrefix = "!"

// whySep starts the reason of an unfixable entry, after its fix fields.
const whySep = "why:"

// Commit records one run of a unit: its tally, what it found and where it
// stopped. prev is the cursor the run started from; a final commit marks
// the unit done. It returns the number of units of the stage still pending,
// and false if the commit was a repeat (nothing was added).
func (r *Records) Commit(ctx context.Context, id, unit, prev, cursor string, final bool, t Tally, found Found) (int64, bool, error) {
	args := []any{unit, cursor, prev, boolArg(final), len(t), len(found.Suspects)}
	providers := make([]string, 0, len(t))
	for p := range t {
		providers = append(providers, p)
	}
	sort.Strings(providers)
	for _, p := range providers {
		c := t[p]
		args = append(args, p, c.Checked, c.Drifted, c.Errors, c.Unlocks, c.Unfixable, c.Calls)
	}
	for _, su := range found.Suspects {
		args = append(args, su.Domain, su.encode()+"|"+strconv.FormatInt(su.ReadAt.UnixMilli(), 10))
	}
	for _, f := range found.Fixes {
		args = append(args, f.Domain, f.encode())
	}
	for _, f := range found.Unfixable {
		args = append(args, unfixablePrefix+f.Domain, f.encode()+"|"+whySep+f.Why)
	}
	res, err := commitScript.Run(ctx, r.rdb, []string{r.key(id), r.fixKey(id, unit), r.suspectKey(id, unit)}, args...).Int64Slice()
	if err != nil {
		return 0, false, err
	}
	return res[0], res[1] == 1, nil
}

// Get returns a sweep's record.
func (r *Records) Get(ctx context.Context, id string) (Status, error) {
	m, err := r.rdb.HGetAll(ctx, r.key(id)).Result()
	if err != nil {
		return Status{}, err
	}
	if len(m) == 0 {
		return Status{}, ErrNotFound
	}
	return statusOf(id, m), nil
}

// statusOf decodes a sweep's record.
func statusOf(id string, m map[string]string) Status {
	st := Status{ID: id, State: m["state"], Stage: Stage(m["stage"]), PerProvider: map[string]Counts{}, Paused: map[string]string{}}
	st.Options = Options{Provider: m["provider"], DryRun: m["dry_run"] == "1", Trigger: m["trigger"]}
	if f := strings.Split(m["freshness"], "|"); len(f) == 3 {
		st.Options.Freshness = Freshness{Period: time.Duration(atoi(f[0])) * time.Millisecond,
			AtRisk: time.Duration(atoi(f[1])) * time.Millisecond, Window: time.Duration(atoi(f[2])) * time.Millisecond}
	}
	st.Pending = atoi(m["pending"])
	st.Counts = Counts{Checked: atoi(m["checked"]), Drifted: atoi(m["drifted"]), Errors: atoi(m["errors"]),
		Unlocks: atoi(m["unlocks"]), Unfixable: atoi(m["unfixable"]), Calls: atoi(m["calls"])}
	st.FixesQueued = atoi(m["fixes_queued"])
	st.CreatedAt = msTime(m["created_at"])
	st.FinishedAt = msTime(m["finished_at"])
	for k, v := range m {
		name, p, ok := strings.Cut(k, ":")
		if !ok {
			continue
		}
		if name == "sus" {
			st.SuspectUnits = append(st.SuspectUnits, p)
			continue
		}
		if name == "paused" {
			st.Paused[p] = v
			continue
		}
		c := st.PerProvider[p]
		switch name {
		case "checked":
			c.Checked = atoi(v)
		case "drifted":
			c.Drifted = atoi(v)
		case "errors":
			c.Errors = atoi(v)
		case "unlocks":
			c.Unlocks = atoi(v)
		case "unfixable":
			c.Unfixable = atoi(v)
		case "calls":
			c.Calls = atoi(v)
		default:
			continue
		}
		st.PerProvider[p] = c
	}
	return st
}

// Fixes returns the confirmed drift of every unit of the sweep.
func (r *Records) Fixes(ctx context.Context, id string) ([]Fix, error) {
	fixes, _, err := r.findings(ctx, id, StageConfirm)
	return fixes, err
}

// findings reads what the units of the given stages recorded: confirmed
// drift to fix, and drift reglock leaves alone. Both come sorted by domain.
func (r *Records) findings(ctx context.Context, id string, stages ...Stage) ([]Fix, []Unfixable, error) {
	fields := make([]string, len(stages))
	for i, st := range stages {
		fields[i] = "units:" + string(st)
	}
	m, err := r.rdb.HMGet(ctx, r.key(id), fields...).Result()
	if err != nil {
		return nil, nil, err
	}
	var units []string
	for _, v := range m {
		if s, _ := v.(string); s != "" {
			units = append(units, strings.Split(s, ",")...)
		}
	}
	var fixes []Fix
	var unfixable []Unfixable
	const batch = 64
	for start := 0; start < len(units); start += batch {
		pipe := r.rdb.Pipeline()
		cmds := make([]*redis.MapStringStringCmd, 0, batch)
		for _, u := range units[start:min(start+batch, len(units))] {
			cmds = append(cmds, pipe.HGetAll(ctx, r.fixKey(id, u)))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, nil, err
		}
		for _, c := range cmds {
			for field, v := range c.Val() {
				if domain, ok := strings.CutPrefix(field, unfixablePrefix); ok {
					enc, why, _ := strings.Cut(v, "|"+whySep)
					f, err := parseFix(domain, enc)
					if err != nil {
						return nil, nil, err
					}
					unfixable = append(unfixable, Unfixable{Fix: f, Why: why})
					continue
				}
				f, err := parseFix(field, v)
				if err != nil {
					return nil, nil, err
				}
				fixes = append(fixes, f)
			}
		}
	}
	sort.Slice(fixes, func(i, j int) bool { return fixes[i].Domain < fixes[j].Domain })
	sort.Slice(unfixable, func(i, j int) bool { return unfixable[i].Domain < unfixable[j].Domain })
	return fixes, unfixable, nil
}

// Suspects returns the suspects a unit found.
func (r *Records) Suspects(ctx context.Context, id, unit string) ([]Suspect, error) {
	m, err := r.rdb.HGetAll(ctx, r.suspectKey(id, unit)).Result()
	if err != nil {
		return nil, err
	}
	out := make([]Suspect, 0, len(m))
	for domain, v := range m {
		i := strings.LastIndexByte(v, '|')
		if i < 0 {
			return nil, fmt.Errorf("sweep: bad suspect %q for %s", v, domain)
		}
		fix, err := parseFix(domain, v[:i])
		if err != nil {
			return nil, err
		}
		out = append(out, Suspect{Fix: fix, ReadAt: msTime(v[i+1:])})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Domain < out[j].Domain })
	return out, nil
}

// encode writes provider|lock|generation|registrar_id.
func (f Fix) encode() string {
	return f.Provider + "|" + boolArg(f.Lock) + "|" + strconv.FormatInt(f.Generation, 10) + "|" + f.RegistrarID
}

func parseFix(domain, v string) (Fix, error) {
	f := strings.Split(v, "|")
	if len(f) != 4 {
		return Fix{}, fmt.Errorf("sweep: bad fix %q for %s", v, domain)
	}
	gen, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return Fix{}, fmt.Errorf("sweep: bad fix %q for %s", v, domain)
	}
	return Fix{Domain: domain, Provider: f[0], Lock: f[1] == "1", Generation: gen, RegistrarID: f[3]}, nil
}

// finishScript moves a sweep from one state to the next, once.
// KEYS: sweep. ARGV: from to finished_ms fixes_queued n_set (field value)... field_to_delete...
var finishScript = redis.NewScript(`
if redis.call("HGET", KEYS[1], "state") ~= ARGV[1] then return 0 end
redis.call("HSET", KEYS[1], "state", ARGV[2], "finished_at", ARGV[3])
redis.call("HINCRBY", KEYS[1], "fixes_queued", ARGV[4])
local n = tonumber(ARGV[5])
local i = 6
for k = 1, n do
  redis.call("HSET", KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i <= #ARGV do
  redis.call("HDEL", KEYS[1], ARGV[i])
  i = i + 1
end
return 1
`)

// finish records the end of a sweep (or of its paused accounts) if it is
// still in state from; it reports whether it was.
func (r *Records) finish(ctx context.Context, id, from, to string, paused map[string]string, clear []string, fixesQueued int64, now time.Time) (bool, error) {
	args := []any{from, to, now.UnixMilli(), fixesQueued, len(paused)}
	for p, why := range paused {
		args = append(args, "paused:"+p, why)
	}
	for _, p := range clear {
		args = append(args, "paused:"+p)
	}
	n, err := finishScript.Run(ctx, r.rdb, []string{r.key(id)}, args...).Int()
	return n == 1, err
}

func boolArg(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func atoi(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

func msTime(s string) time.Time {
	ms := atoi(s)
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// lastKey holds each account's figures from its most recent finished sweep
// (provider -> checked|drifted|errors|unfixable|finished_ms|paused), for
// the domains-by-state metrics every process exports alike.
func (r *Records) lastKey() string { return r.prefix + "sweeps:last" }

// Last is an account's figures from its most recent finished sweep.
type Last struct {
	Counts
	FinishedAt time.Time
	Paused     bool
}

// recordLast keeps the figures of a finished sweep.
func (r *Records) recordLast(ctx context.Context, st Status) error {
	if len(st.PerProvider) == 0 {
		return nil
	}
	var before map[string]Last
	var fresh map[string]AccountFreshness
	if st.Options.Pass() {
		// A freshness pass read a sample (the domains due), not the whole
		// account: the account's figures are those of the inventory as
		// its plan found them (every domain by its newest reading, the
		// passes' and any full sweep's), with the pass's time and guard
		// verdict; without a plan's, those of the newest full sweep.
		var err error
		if before, err = r.LastByProvider(ctx); err != nil {
			return err
		}
		if fresh, err = r.Freshness(ctx); err != nil {
			return err
		}
	}
	args := make([]any, 0, 2*len(st.PerProvider))
	for p, c := range st.PerProvider {
		if f, ok := fresh[p]; ok {
			c = Counts{Checked: f.InSync + f.Drifted, Drifted: f.Drifted, Errors: f.InError}
		} else if l, ok := before[p]; ok {
			c = l.Counts
		} else if before != nil {
			c = Counts{}
		}
		_, paused := st.Paused[p]
		args = append(args, p, fmt.Sprintf("%d|%d|%d|%d|%d|%s", c.Checked, c.Drifted, c.Errors, c.Unfixable,
			st.FinishedAt.UnixMilli(), boolArg(paused)))
	}
	return r.rdb.HSet(ctx, r.lastKey(), args...).Err()
}

// LastByProvider returns each account's figures from its most recent
// finished sweep.
func (r *Records) LastByProvider(ctx context.Context) (map[string]Last, error) {
	m, err := r.rdb.HGetAll(ctx, r.lastKey()).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[string]Last, len(m))
	for p, v := range m {
		f := strings.Split(v, "|")
		if len(f) != 6 {
			continue
		}
		out[p] = Last{Counts: Counts{Checked: atoi(f[0]), Drifted: atoi(f[1]), Errors: atoi(f[2]), Unfixable: atoi(f[3])},
			FinishedAt: msTime(f[4]), Paused: f[5] == "1"}
	}
	return out, nil
}
