package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
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
	// intent, and superseded otherwise.
	ModeFold Mode = "fold"
	// ModeRelock ends an unlock window: it applies only while the unlock of
	// the given generation is still the stored intent.
	ModeRelock Mode = "relock"
	// ModeImport adds a domain that is not in the inventory yet and leaves
	// one that is alone (Current).
	ModeImport Mode = "import"
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
	// Generation is the generation a task was recorded as (ModeFold, ModeRelock).
	Generation  int64
	RequestedAt time.Time
	// RelockAt ends an unlock window (KindUnlock).
	RelockAt time.Time
	// TradeEnable is the trade lock setting (KindTrade).
	TradeEnable bool
	// Task, for a ModeRecord change whose caller queues its task next, is
	// what rebuilding that task needs. The fold keeps it in the bucket until
	// the task is known to be queued, so that a crash or a Redis error
	// between recording and queueing delays the task instead of losing it
	// (see ScanUnqueued).
	Task *TaskNote
}

// Outcome says what folding a change did.
type Outcome string

// The outcomes.
const (
	Applied    Outcome = "applied"    // the change is now the stored intent, under a new generation
	Current    Outcome = "current"    // the change already was the stored intent
	Superseded Outcome = "superseded" // a newer intent is stored; the change was dropped
)

// intentScript folds a change into a bucket and keeps the drift index.
//
// KEYS: i o e x n q. ARGV: domain mode kind provider default_provider
// generation requested_ms relock_ms trade_enable note_field note.
// Returns {outcome, intent, observation|false, error|false}, or
// {"provider_required"}.
var intentScript = redis.NewScript(`
local d = ARGV[1]
local mode, kind = ARGV[2], ARGV[3]
local tgen, treq = tonumber(ARGV[6]), tonumber(ARGV[7])
local cur = redis.call("HGET", KEYS[1], d)
local f = {"", "1", "0", "0", "", ""}
if cur then
  local n = 1
  for v in string.gmatch(cur .. "|", "([^|]*)|") do f[n] = v; n = n + 1 end
end
local gen, req = tonumber(f[3]) or 0, tonumber(f[4]) or 0
local outcome = "applied"
if mode == "import" then
  if cur then outcome = "current" end
elseif mode == "relock" then
  if not cur or gen ~= tgen or f[2] ~= "0" then outcome = "superseded" end
elseif mode == "fold" and cur then
  if tgen > 0 then
    if tgen < gen then outcome = "superseded" elseif tgen == gen then outcome = "current" end
  else
    if treq < req then outcome = "superseded" elseif treq == req then outcome = "current" end
  end
end
if outcome == "applied" then
  local p = ARGV[4]
  if p == "" then p = f[1] end
  if p == "" then p = ARGV[5] end
  if p == "" then return {"provider_required"} end
  if f[1] ~= p then
    if cur then redis.call("HINCRBY", KEYS[5], f[1], -1) end
    redis.call("HINCRBY", KEYS[5], p, 1)
  end
  f[1] = p
  local ngen = gen + 1
  if mode == "fold" and tgen > ngen then ngen = tgen end
  f[3] = tostring(ngen)
  if treq > req or not cur then f[4] = ARGV[7] end
  if kind == "lock" then
    f[2] = "1"; f[6] = ""
  elseif kind == "unlock" then
    f[2] = "0"; f[6] = ARGV[8]
  elseif kind == "trade" then
    f[5] = ARGV[9] .. "p"
  end
  cur = table.concat(f, "|")
  redis.call("HSET", KEYS[1], d, cur)
  if ARGV[10] ~= "" then
    redis.call("HSET", KEYS[6], ARGV[10], f[3] .. "|" .. ARGV[7] .. "|" .. ARGV[11])
  end
end
if outcome ~= "applied" then
  -- Nothing changed: the drift index stands, and the caller needs only
  -- the intent.
  return {outcome, cur or false, false, false}
end
local obs = redis.call("HGET", KEYS[2], d)
local err = redis.call("HGET", KEYS[3], d)
if obs and not err and string.sub(obs, 1, 1) == f[2] then
  redis.call("SREM", KEYS[4], d)
else
  redis.call("SADD", KEYS[4], d)
end
return {outcome, cur or false, obs or false, err or false}
`)

// Fold applies a change and returns the domain's record after it, with what
// the change did. A change that is Current or Superseded returns the intent
// only (Observed is empty). ErrProviderRequired means the domain is new and no
// provider was given or routed.
func (s *Store) Fold(ctx context.Context, c Change) (Domain, Outcome, error) {
	if c.Mode == "" {
		c.Mode = ModeRecord
	}
	if c.RequestedAt.IsZero() {
		c.RequestedAt = time.Now()
	}
	b := Bucket(c.Domain)
	k := s.keys(b)
	args := foldArgs(c)
	var cmd *redis.Cmd
	ops := []op{func(p redis.Pipeliner) redis.Cmder { cmd = intentScript.EvalSha(ctx, p, k[:], args...); return cmd }}
	if c.Provider != "" || c.DefaultProvider != "" {
		// Mark the bucket occupied in the same round trip, before the domain
		// can exist: a crash in between leaves at worst an empty bucket
		// marked. Without a provider the change can only touch a domain
		// that exists, whose bucket is marked already; a refused change
		// then leaves Redis exactly as it was.
		ops = append([]op{func(p redis.Pipeliner) redis.Cmder { return p.SetBit(ctx, s.occupiedKey(), int64(b), 1) }}, ops...)
	}
	err := runPipeline(ctx, s.rdb, ops, intentScript)
	if err != nil {
		return Domain{}, "", err
	}
	return foldResult(c.Domain, cmd)
}

func foldArgs(c Change) []any {
	trade := "0"
	if c.TradeEnable {
		trade = "1"
	}
	field, note := "", ""
	if c.Task != nil && c.Mode == ModeRecord {
		field, note = noteField(c.Domain, c.Kind == KindTrade), c.Task.encode()
	}
	return []any{c.Domain, string(c.Mode), string(c.Kind), c.Provider, c.DefaultProvider,
		strconv.FormatInt(c.Generation, 10), timeMS(c.RequestedAt), timeMS(c.RelockAt), trade, field, note}
}

func foldResult(domain string, cmd *redis.Cmd) (Domain, Outcome, error) {
	res, err := cmd.Slice()
	if err != nil {
		return Domain{}, "", err
	}
	if len(res) == 1 {
		return Domain{}, "", ErrProviderRequired
	}
	d, err := decodeReply(domain, res[1:])
	if err != nil {
		return Domain{}, "", err
	}
	return d, Outcome(res[0].(string)), nil
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
		k, args := s.keys(b), foldArgs(c)
		ops = append(ops, func(p redis.Pipeliner) redis.Cmder {
			cmds[i] = intentScript.EvalSha(ctx, p, k[:], args...)
			return cmds[i]
		})
	}
	if err := runPipeline(ctx, s.rdb, ops, intentScript); err != nil {
		return nil, err
	}
	out := make([]Outcome, len(changes))
	for i, c := range cmds {
		_, o, err := foldResult(changes[i].Domain, c)
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

// tradeAppliedScript marks the stored trade lock setting as accepted by the
// registrar, if it is still the one that was sent; the setting asked for is
// then delivered, so no trade task needs queueing again. KEYS: i q. ARGV:
// domain setting ("0" or "1").
var tradeAppliedScript = redis.NewScript(`
local cur = redis.call("HGET", KEYS[1], ARGV[1])
if not cur then return 0 end
local f, n = {}, 1
for v in string.gmatch(cur .. "|", "([^|]*)|") do f[n] = v; n = n + 1 end
if string.sub(f[5], 1, 1) ~= ARGV[2] then return 0 end
f[5] = string.sub(f[5], 1, 1) .. "a"
redis.call("HSET", KEYS[1], ARGV[1], table.concat(f, "|"))
redis.call("HDEL", KEYS[2], "trade:" .. ARGV[1])
return 1
`)

// MarkTradeApplied records that the registrar accepted the trade lock setting
// enable. It reports false if a different setting has been asked for since.
func (s *Store) MarkTradeApplied(ctx context.Context, domain string, enable bool) (bool, error) {
	k := s.keys(Bucket(domain))
	v := "0"
	if enable {
		v = "1"
	}
	n, err := tradeAppliedScript.Run(ctx, s.rdb, []string{k[0], k[5]}, domain, v).Int()
	return n == 1, err
}
