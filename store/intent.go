package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/tasks"
)

// Kind is the kind of intent a change expresses.
type Kind string

// The kinds of intent.
const (
	KindLock   Kind = "lock"
	KindUnlock Kind = "unlock"
	KindTrade  Kind = "trade"
)

// Mode says how a change is folded into what the store already holds.
type Mode string

// The modes.
const (
	// ModeRecord is a producer's request through the API or CLI: it always
	// becomes the newest intent.
	ModeRecord Mode = "record"
	// ModeFold is a task arriving at a worker: it is applied only if it is
	// newer than the stored intent (by generation, or by request time for a
	// task a producer enqueued directly), is current if it is the stored
	// intent, and superseded otherwise. Lock intents and trade lock
	// settings are ordered each on their own.
	ModeFold Mode = "fold"
	// ModeRelock ends an unlock window: it applies only while the unlock
	// that opened the window ending at RequestedAt is the stored intent. A
	// domain already locked makes it current, so that a relock retried
	// after its first attempt is not dropped.
	ModeRelock Mode = "relock"
	// ModeImport adds a domain that is not in the inventory yet and leaves
	// one that is alone (Current).
	ModeImport Mode = "import"
	// ModeCheck folds nothing: Begin uses it to take the lease of a domain
	// it only reads (a check).
	ModeCheck Mode = "check"
)

// Change is an intent to fold into the store.
type Change struct {
	Domain string
	Kind   Kind
	Mode   Mode
	// Provider is the provider asked for; empty keeps the stored one.
	Provider string
	// DefaultProvider is used only for a domain not yet in the inventory
	// when Provider is empty (routing by TLD).
	DefaultProvider string
	// Generation is the generation a task was recorded as (ModeFold).
	Generation  int64
	RequestedAt time.Time
	// RelockAt ends an unlock window (KindUnlock).
	RelockAt time.Time
	// ForTransfer marks an unlock asked for a transfer away (KindUnlock).
	ForTransfer bool
	// TradeEnable and ConsentIP are the trade lock setting (KindTrade).
	TradeEnable bool
	ConsentIP   string
	// RequestedBy, Reason and Token say who asked and why: the domain's
	// history records them with the intent. Source overrides how the
	// history names where the intent came from (default: by Mode).
	RequestedBy, Reason, Token, Source string
	// Work, when set, marks an applied change as owed a reconcile: the mark
	// stays until a worker has seen the registrar in the new state (see
	// work.go), so that a task lost on the way is queued again.
	Work *WorkNote
}

// WorkNote is what a mark records besides the intent itself.
type WorkNote struct {
	// Kind names what the reconcile is for (MarkLock, MarkTrade, ...): the
	// janitor queues the matching task.
	Kind MarkKind
	// Due is when a task should have come for the mark; after it, the
	// janitor queues one.
	Due time.Time
	// TaskID names the task that carries the work, if it is not the one the
	// kind and generation name (see Mark.TaskID).
	TaskID      string
	RequestedBy string
	Reason      string
}

// Outcome says what folding a change did.
type Outcome string

// The outcomes.
const (
	Applied    Outcome = "applied"    // the change is now the stored intent, under a new generation
	Current    Outcome = "current"    // the change already was the stored intent
	Superseded Outcome = "superseded" // a newer intent is stored; the change was dropped
)

// MaxGeneration is the largest generation the store keeps exactly: its
// scripts compute in Lua numbers (doubles), exact up to 2^53.
const MaxGeneration = tasks.MaxGeneration

// intentScript folds a change into a bucket, keeps the drift index, the
// windows and the mark, and takes the domain's lease when asked to.
//
// An applied change is recorded in the domain's history (an intent, or the
// relock that ends a window) in the same step.
//
// KEYS: i o e x n q w h. ARGV: domain mode kind provider default_provider
// generation requested_ms relock_ms trade_enable consent_ip now_ms
// mark_kind mark_due_ms by reason lease_token lease_until_ms mark_task_id
// history_by history_reason history_token history_source
// for_transfer("t"|""), then the history limits. Returns {outcome, intent|false, observation|false,
// error|false, mark|false, lease}, where lease is "" (not asked), "ok",
// "busy:<ms>" or "settled" (an intent task whose intent is stored and
// confirmed: nothing to do); or {"provider_required"}; or
// {"provider_conflict", stored_provider} for a request naming another
// account than the domain's.
var intentScript = redis.NewScript(historyLua + `
local d = ARGV[1]
local mode, kind = ARGV[2], ARGV[3]
local tgen, treq = tonumber(ARGV[6]), tonumber(ARGV[7])
local cur = redis.call("HGET", KEYS[1], d)
local f = {"", "1", "0", "0", "", "", "", "", ""}
if cur then
  local n = 1
  for v in string.gmatch(cur .. "|", "([^|]*)|") do f[n] = v; n = n + 1 end
end
local gen, req = tonumber(f[3]) or 0, tonumber(f[4]) or 0
local tradeReq = 0
if f[5] ~= "" then tradeReq = tonumber(f[7]) or req end
local outcome = "applied"
if mode == "record" and cur and ARGV[4] ~= "" and ARGV[4] ~= f[1] then
  -- Moving a domain to another account is not a lock request's business.
  return {"provider_conflict", f[1]}
end
if mode == "check" then
  if not cur then return {"unknown", false, false, false, false, ""} end
  outcome = "current"
elseif mode == "import" then
  if cur then outcome = "current" end
elseif mode == "relock" then
  if cur and f[2] == "0" and f[6] == ARGV[7] then
    outcome = "applied"
  elseif cur and f[2] == "1" then
    outcome = "current"
  else
    outcome = "superseded"
  end
elseif mode == "fold" and cur then
  if tgen > 0 then
    if tgen < gen then outcome = "superseded" elseif tgen == gen then outcome = "current" end
  else
    local last = req
    if kind == "trade" then last = tradeReq end
    if treq < last then outcome = "superseded" elseif treq == last then outcome = "current" end
  end
end
local mkey = "m:" .. d
if outcome == "applied" then
  local ngen = gen + 1
  if mode == "fold" and tgen > ngen then ngen = tgen end
  if ngen > 9007199254740991 then return redis.error_reply("generation exhausted (above 2^53-1)") end
  local p = ARGV[4]
  if p == "" then p = f[1] end
  if p == "" then p = ARGV[5] end
  if p == "" then return {"provider_required"} end
  if f[1] ~= p then
    if cur then redis.call("HINCRBY", KEYS[5], f[1], -1) end
    redis.call("HINCRBY", KEYS[5], p, 1)
  end
  f[1] = p
  f[3] = string.format("%.0f", ngen)
  if kind == "trade" then
    f[5] = ARGV[9] .. "p"
    f[8] = ARGV[10]
    if treq > tradeReq or f[7] == "" then f[7] = ARGV[7] end
  else
    -- The end of a window is not a producer's request: direct tasks keep
    -- being ordered against the unlock that opened it.
    if mode ~= "relock" and (treq > req or not cur) then f[4] = ARGV[7] end
    if kind == "lock" then
      f[2] = "1"; f[6] = ""; f[9] = ""
    else
      f[2] = "0"; f[6] = ARGV[8]; f[9] = ARGV[23]
    end
    if f[6] ~= "" then
      redis.call("ZADD", KEYS[7], f[6], d)
    else
      redis.call("ZREM", KEYS[7], d)
    end
  end
  if f[7] == "" and f[5] ~= "" then f[7] = f[4] end
  cur = table.concat(f, "|")
  redis.call("HSET", KEYS[1], d, cur)
  local hk, trade = "intent", ""
  if mode == "relock" then hk = "relock" end
  if kind == "trade" then trade = ARGV[9] end
  hist(ARGV[11], "kind", hk, "gen", f[3], "provider", p, "intent", kind, "source", ARGV[22],
    "by", ARGV[19], "reason", ARGV[20], "token", ARGV[21], "relock", f[6], "trade", trade, "transfer", f[9])
  if ARGV[12] ~= "" then
    redis.call("HSET", KEYS[6], mkey, table.concat({f[3], ARGV[7], ARGV[13], "0", ARGV[12], ARGV[18], ARGV[14], ARGV[15]}, "|"))
  end
end
local work = redis.call("HMGET", KEYS[6], mkey, "l:" .. d)
local mark, held = work[1], work[2]
local lease = ""
if ARGV[16] ~= "" and outcome == "current" and not mark and (mode == "fold" or mode == "relock") then
  -- The task's intent is the stored one and already confirmed at the
  -- registrar (a duplicate, or a task retried after its work was done).
  lease = "settled"
elseif ARGV[16] ~= "" and outcome ~= "superseded" then
  lease = "ok"
  if held then
    local untilMs = tonumber(string.match(held, "|(%d+)$")) or 0
    if untilMs > tonumber(ARGV[11]) then lease = "busy:" .. untilMs end
  end
  if lease == "ok" then
    redis.call("HSET", KEYS[6], "l:" .. d, ARGV[16] .. "|" .. ARGV[17])
  end
end
if outcome ~= "applied" then
  -- Nothing changed: the drift index stands, and the caller needs only
  -- the intent.
  return {outcome, cur or false, false, false, mark or false, lease}
end
local obs = redis.call("HGET", KEYS[2], d)
local err = redis.call("HGET", KEYS[3], d)
if obs and not err and string.sub(obs, 1, 1) == f[2] then
  redis.call("SREM", KEYS[4], d)
else
  redis.call("SADD", KEYS[4], d)
end
return {outcome, cur or false, obs or false, err or false, mark or false, lease}
`)

// Fold applies a change and returns the domain's record after it, with what
// the change did; a change that is Current or Superseded returns the intent
// and its work only (Observed is empty). ErrProviderRequired means the
// domain is new and no provider was given or routed.
func (s *Store) Fold(ctx context.Context, c Change) (Domain, Outcome, error) {
	d, out, _, err := s.fold(ctx, c, nil, time.Now())
	return d, out, err
}

// Lease is a worker's claim to converge one domain: while it holds it, no
// other worker reads or writes the domain at its registrar, so a reading
// taken under it is not undone by a write still in flight.
type Lease struct {
	Token string
	Until time.Time
}

// LeaseResult says whether Begin took the lease.
type LeaseResult struct {
	Acquired bool
	// Settled is set, and the lease not taken, when the task's intent is
	// the stored one and already confirmed at the registrar.
	Settled bool
	// BusyUntil is when another worker's lease ends, if it was not taken.
	BusyUntil time.Time
}

// Begin starts a reconcile of one domain in one round trip: it folds c
// (ModeCheck folds nothing), and unless the change is superseded, takes
// the domain's lease. The record it returns carries the domain's work
// (mark) as it stands. ErrNotFound means the domain is not in the
// inventory (ModeCheck).
func (s *Store) Begin(ctx context.Context, c Change, l Lease, now time.Time) (Domain, Outcome, LeaseResult, error) {
	if l.Token == "" {
		return Domain{}, "", LeaseResult{}, errors.New("store: Begin without a lease token")
	}
	return s.fold(ctx, c, &l, now)
}

func (s *Store) fold(ctx context.Context, c Change, l *Lease, now time.Time) (Domain, Outcome, LeaseResult, error) {
	if c.Mode == "" {
		c.Mode = ModeRecord
	}
	if c.RequestedAt.IsZero() {
		c.RequestedAt = now
	}
	if c.Generation < 0 || c.Generation > MaxGeneration {
		return Domain{}, "", LeaseResult{}, fmt.Errorf("store: generation %d out of range [0, %d]", c.Generation, int64(MaxGeneration))
	}
	b := Bucket(c.Domain)
	keys := s.withHistory(s.keys(b), c.Domain)
	args := s.historyArgs(foldArgs(c, l, now))
	var cmd *redis.Cmd
	ops := []op{func(p redis.Pipeliner) redis.Cmder { cmd = intentScript.EvalSha(ctx, p, keys, args...); return cmd }}
	if c.Mode != ModeCheck && (c.Provider != "" || c.DefaultProvider != "") {
		// Mark the bucket occupied in the same round trip, before the domain
		// can exist: a crash in between leaves at worst an empty bucket
		// marked. Without a provider the change can only touch a domain
		// that exists, whose bucket is marked already; a refused change
		// then leaves Redis exactly as it was.
		ops = append([]op{func(p redis.Pipeliner) redis.Cmder { return p.SetBit(ctx, s.occupiedKey(), int64(b), 1) }}, ops...)
	}
	if err := runPipeline(ctx, s.rdb, ops, intentScript); err != nil {
		return Domain{}, "", LeaseResult{}, err
	}
	return foldResult(c.Domain, cmd)
}

func foldArgs(c Change, l *Lease, now time.Time) []any {
	trade := "0"
	if c.TradeEnable {
		trade = "1"
	}
	var markKind, markDue, by, reason, taskID string
	if c.Work != nil {
		markKind, markDue, by, reason = string(c.Work.Kind), timeMS(c.Work.Due), noteText(c.Work.RequestedBy), errorText(c.Work.Reason)
		taskID = noteText(c.Work.TaskID)
		if markDue == "" {
			markDue = timeMS(now)
		}
	}
	token, until := "", ""
	if l != nil {
		token, until = l.Token, timeMS(l.Until)
	}
	transfer := ""
	if c.ForTransfer && c.Kind == KindUnlock {
		transfer = "t"
	}
	source := c.Source
	if source == "" {
		source = map[Mode]string{ModeRecord: "record", ModeFold: "task", ModeImport: "import", ModeRelock: "relock"}[c.Mode]
	}
	return []any{c.Domain, string(c.Mode), string(c.Kind), c.Provider, c.DefaultProvider,
		strconv.FormatInt(c.Generation, 10), timeMS(c.RequestedAt), timeMS(c.RelockAt), trade, c.ConsentIP,
		timeMS(now), markKind, markDue, by, reason, token, until, taskID,
		errorText(c.RequestedBy), errorText(c.Reason), errorText(c.Token), source, transfer}
}

func foldResult(domain string, cmd *redis.Cmd) (Domain, Outcome, LeaseResult, error) {
	res, err := cmd.Slice()
	if err != nil {
		return Domain{}, "", LeaseResult{}, err
	}
	if len(res) == 1 {
		return Domain{}, "", LeaseResult{}, ErrProviderRequired
	}
	if len(res) == 2 {
		stored, _ := res[1].(string)
		return Domain{}, "", LeaseResult{}, &ProviderConflictError{Domain: domain, Stored: stored}
	}
	if len(res) != 6 {
		return Domain{}, "", LeaseResult{}, fmt.Errorf("store: unexpected script reply %v", res)
	}
	if res[0] == "unknown" {
		return Domain{}, "", LeaseResult{}, ErrNotFound
	}
	d, err := decodeReply(domain, res[1:4])
	if err != nil {
		return Domain{}, "", LeaseResult{}, err
	}
	if m, ok := res[4].(string); ok {
		d.Work.Mark, d.Work.Pending = parseMark(m), true
	}
	var lr LeaseResult
	switch l, _ := res[5].(string); {
	case l == "ok":
		lr.Acquired = true
	case l == "settled":
		lr.Settled = true
	case len(l) > 5 && l[:5] == "busy:":
		lr.BusyUntil = msTime(l[5:])
	}
	return d, Outcome(res[0].(string)), lr, nil
}

// ProviderConflictError refuses a request that names another account than
// the one the domain is in: moving a domain is an explicit admin action
// (forget it, then record it under the new account).
type ProviderConflictError struct {
	Domain, Stored string
}

func (e *ProviderConflictError) Error() string {
	return fmt.Sprintf("%s is in the inventory under provider %q: a request cannot move it (an admin can forget the domain and record it under the new provider)", e.Domain, e.Stored)
}

// FoldMany folds many changes in one round trip (imports, benchmarks).
// Outcomes come back in order; a change that needs a provider has an empty
// outcome.
func (s *Store) FoldMany(ctx context.Context, changes []Change) ([]Outcome, error) {
	ops := make([]op, 0, 2*len(changes))
	cmds := make([]*redis.Cmd, len(changes))
	marked := map[int]bool{}
	now := time.Now()
	for i := range changes {
		c := changes[i]
		if c.Mode == "" {
			c.Mode = ModeRecord
		}
		if c.RequestedAt.IsZero() {
			c.RequestedAt = now
		}
		b := Bucket(c.Domain)
		if !marked[b] {
			marked[b] = true
			ops = append(ops, func(p redis.Pipeliner) redis.Cmder { return p.SetBit(ctx, s.occupiedKey(), int64(b), 1) })
		}
		keys, args := s.withHistory(s.keys(b), c.Domain), s.historyArgs(foldArgs(c, nil, now))
		ops = append(ops, func(p redis.Pipeliner) redis.Cmder {
			cmds[i] = intentScript.EvalSha(ctx, p, keys, args...)
			return cmds[i]
		})
	}
	if err := runPipeline(ctx, s.rdb, ops, intentScript); err != nil {
		return nil, err
	}
	out := make([]Outcome, len(changes))
	for i, c := range cmds {
		_, o, _, err := foldResult(changes[i].Domain, c)
		if err != nil && !errors.Is(err, ErrProviderRequired) {
			return nil, err
		}
		out[i] = o
	}
	return out, nil
}

// decodeReply decodes {intent, observation|nil, error|nil} from a script.
func decodeReply(domain string, r []any) (Domain, error) {
	if len(r) != 3 {
		return Domain{}, fmt.Errorf("store: unexpected script reply %v", r)
	}
	str := func(v any) string { s, _ := v.(string); return s }
	if str(r[0]) == "" {
		return Domain{}, ErrNotFound
	}
	return decodeDomain(domain, str(r[0]), str(r[1]), str(r[2]))
}
