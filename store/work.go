package store

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// What reglock owes a domain, kept beside its intent so that no step of the
// way between a request and the registrar can lose it.
//
// A mark ("m:"+domain in the bucket's q hash) is written in the same script
// that applies an intent (or, before a fix of confirmed drift, by Arm). It
// says: this generation is not yet confirmed at the registrar; a task
// should come for it by Due. It is removed only by Finish, when a worker
// holding the domain's lease has read the registrar in the desired state
// (and, for a trade lock setting, the registrar accepted it). A task that
// fails gives the mark a new Due: when its retry is due, or, after a
// permanent failure, when the work is worth another look. A mark past its
// Due may have no live task: the janitor (package reconcile) looks for the
// task under the mark's ID and queues one if there is none.
//
// A lease ("l:"+domain) is a worker's claim to converge the domain until a
// time: one worker at a time reads and writes a domain at its registrar. A
// write whose outcome is unknown (an error after sending) keeps the lease
// until the write can no longer land, so a reading taken later by anyone is
// not undone by it.
//
// Unlock windows are kept in the bucket's w sorted set (domain -> end), so
// that the janitor finds every window that has ended without its relock.

// MarkKind says what created a mark, and so which task the janitor queues
// for it.
type MarkKind string

// The kinds of marks.
const (
	MarkLock   MarkKind = "lock"   // a lock or unlock intent
	MarkTrade  MarkKind = "trade"  // a trade lock setting
	MarkRelock MarkKind = "relock" // the end of an unlock window
	MarkFix    MarkKind = "fix"    // confirmed drift that reglock fixes
)

// Mark is a domain's outstanding work.
type Mark struct {
	Generation  int64
	RequestedAt time.Time
	// Due is when a task should have come for the mark by.
	Due time.Time
	// Fails counts the permanent failures since the mark was written: the
	// janitor looks again after a backoff that grows with it.
	Fails int
	Kind  MarkKind
	// TaskID is the task that was queued for the mark, when it is not the
	// one its kind and generation name (tasks.ChangeID): a fix's, a
	// relock's, a producer's own task.
	TaskID      string
	RequestedBy string
	Reason      string
}

// Work is what reglock still owes a domain.
type Work struct {
	// Pending is set while a mark exists: an intent (or a fix) that is not
	// yet confirmed at the registrar.
	Pending bool
	Mark    Mark
	// LeaseUntil, if set, is when the lease of the worker converging the
	// domain ends.
	LeaseUntil time.Time
}

// Changing reports whether a change owns the domain now: work is owed and
// its task has not failed permanently (a failed one waits for its backoff,
// and the domain's state is as a sweep finds it).
func (w Work) Changing() bool { return w.Pending && w.Mark.Fails == 0 }

// InDoubt reports whether a worker's lease on the domain is live at now: a
// write may be in flight, so a reading taken now proves nothing.
func (w Work) InDoubt(now time.Time) bool { return now.Before(w.LeaseUntil) }

// parseMark reads gen|requested_ms|due_ms|fails|kind|task_id|by|reason.
func parseMark(v string) Mark {
	f := strings.SplitN(v, "|", 8)
	for len(f) < 8 {
		f = append(f, "")
	}
	gen, _ := strconv.ParseInt(f[0], 10, 64)
	fails, _ := strconv.Atoi(f[3])
	return Mark{Generation: gen, RequestedAt: msTime(f[1]), Due: msTime(f[2]), Fails: fails,
		Kind: MarkKind(f[4]), TaskID: f[5], RequestedBy: f[6], Reason: f[7]}
}

// noteText makes free text storable as a mark's field before its last
// (the reason, which may hold '|'): one line, bounded, no field separator.
func noteText(s string) string {
	s = errorText(s)
	return strings.ReplaceAll(s, "|", "/")
}

// finishScript records the end of a step of a reconcile: a reading (or an
// error), a trade lock setting the registrar accepted, the mark settled or
// given a new due time, and the lease released, held or kept.
//
// A new registrar error, and the first good reading after one, go into
// the domain's history.
//
// KEYS: i o e x n q w h. ARGV: domain locked("0"|"1"|"" for no reading)
// read_ms flags error token settle_gen trade_sent("0"|"1"|"")
// lease_action(release|hold|keep|settle) hold_until_ms mark_due_ms
// mark_fail, then the history limits.
// Returns {outcome, intent|false, observation|false, error|false,
// mark|false, settled} with outcome "ok", "stale" (an older reading than the
// stored one: dropped), "none" (nothing read) or "unknown" (no such domain).
var finishScript = redis.NewScript(historyLua + `
local d = ARGV[1]
local lkey, mkey = "l:" .. d, "m:" .. d
local function leaseDone(settled, held)
  if ARGV[6] == "" then return end
  if not held or string.sub(held, 1, #ARGV[6] + 1) ~= ARGV[6] .. "|" then return end
  if ARGV[9] == "release" or (ARGV[9] == "settle" and settled == 1) then
    redis.call("HDEL", KEYS[6], lkey)
  elseif ARGV[9] == "hold" then
    redis.call("HSET", KEYS[6], lkey, ARGV[6] .. "|" .. ARGV[10])
  end
end
local cur = redis.call("HGET", KEYS[1], d)
if not cur then
  leaseDone(1, redis.call("HGET", KEYS[6], lkey))
  return {"unknown", false, false, false, false, 0}
end
local f = {}
for v in string.gmatch(cur .. "|", "([^|]*)|") do f[#f + 1] = v end
for n = #f + 1, 8 do f[n] = "" end
local obs = redis.call("HGET", KEYS[2], d)
local err = redis.call("HGET", KEYS[3], d)
local wasInSync = (obs and not err and string.sub(obs, 1, 1) == f[2]) and true or false
local outcome = "none"
if ARGV[2] ~= "" or ARGV[5] ~= "" then
  local ts = tonumber(ARGV[3])
  local ots = obs and tonumber(string.match(obs, "^[01]|(%d+)|")) or 0
  local ets = err and tonumber(string.match(err, "^(%d+)|")) or 0
  outcome = "ok"
  if ts < ots or ts < ets then
    outcome = "stale"
  elseif ARGV[5] ~= "" then
    if not err or string.match(err, "^%d+|(.*)$") ~= ARGV[5] then
      hist(ARGV[3], "kind", "error", "gen", f[3], "provider", f[1], "error", ARGV[5])
    end
    err = ARGV[3] .. "|" .. ARGV[5]
    redis.call("HSET", KEYS[3], d, err)
  else
    obs = ARGV[2] .. "|" .. ARGV[3] .. "|" .. ARGV[4]
    redis.call("HSET", KEYS[2], d, obs)
    if err then
      redis.call("HDEL", KEYS[3], d); err = nil
      hist(ARGV[3], "kind", "recovery", "gen", f[3], "provider", f[1])
    end
  end
end
if ARGV[8] ~= "" and string.sub(f[5], 1, 1) == ARGV[8] and string.sub(f[5], 2, 2) ~= "a" then
  f[5] = ARGV[8] .. "a"
  cur = table.concat(f, "|")
  redis.call("HSET", KEYS[1], d, cur)
end
local inSync = (obs and not err and string.sub(obs, 1, 1) == f[2]) and true or false
local work = redis.call("HMGET", KEYS[6], mkey, lkey)
local mark = work[1]
local settled = 0
if ARGV[7] ~= "" and inSync and f[3] == ARGV[7] and (f[5] == "" or string.sub(f[5], 2, 2) == "a") then
  if mark then redis.call("HDEL", KEYS[6], mkey); mark = nil end
  settled = 1
elseif mark and (ARGV[11] ~= "" or ARGV[12] == "1") then
  local m = {}
  for v in string.gmatch(mark .. "|", "([^|]*)|") do m[#m + 1] = v end
  if ARGV[11] ~= "" then m[3] = ARGV[11] end
  if ARGV[12] == "1" then m[4] = tostring((tonumber(m[4]) or 0) + 1) end
  mark = table.concat(m, "|")
  redis.call("HSET", KEYS[6], mkey, mark)
end
leaseDone(settled, work[2])
if inSync ~= wasInSync or outcome == "stale" then
  if inSync then redis.call("SREM", KEYS[4], d) else redis.call("SADD", KEYS[4], d) end
end
return {outcome, cur, obs or false, err or false, mark or false, settled}
`)

// LeaseAction is what Finish does with the lease.
type LeaseAction string

// The lease actions.
const (
	// Release ends the lease: the worker is done with the registrar.
	Release LeaseAction = "release"
	// Hold keeps the lease until Finish.HoldUntil: a write whose outcome is
	// unknown may still land until then.
	Hold LeaseAction = "hold"
	// Keep leaves the lease as it is: the reconcile goes on.
	Keep LeaseAction = "keep"
	// ReleaseIfSettled releases the lease if the mark was settled, and
	// keeps it otherwise (the intent moved on while the worker wrote: it
	// converges again under the same lease).
	ReleaseIfSettled LeaseAction = "settle"
)

// Finish is one step's record.
type Finish struct {
	Domain string
	// Reading, if set, is the registrar's answer (or error) to record.
	Reading *Reading
	// Token is the caller's lease token.
	Token string
	// SettleGen, if set, settles the mark when the record shows the domain
	// in sync at that generation (and its trade setting accepted).
	SettleGen int64
	// TradeSent is the trade lock setting the registrar accepted, if any.
	TradeSent *bool
	Lease     LeaseAction
	HoldUntil time.Time
	// MarkDue, if set, is the mark's new due time (the mark is not settled).
	MarkDue time.Time
	// MarkFailed counts a permanent failure on the mark.
	MarkFailed bool
}

// Finish records a step of a reconcile and returns the domain's record after
// it (with its mark) and whether the mark was settled. ErrNotFound means the
// domain is gone. Commands in also (an audit entry) go in the same round
// trip.
func (s *Store) Finish(ctx context.Context, f Finish, also ...func(redis.Pipeliner) redis.Cmder) (Domain, bool, error) {
	k := s.keys(Bucket(f.Domain))
	locked, readMS, flags, errText := "", "", "0", ""
	if r := f.Reading; r != nil {
		if r.StartedAt.IsZero() {
			r.StartedAt = time.Now()
		}
		readMS, flags = timeMS(r.StartedAt), strconv.Itoa(r.Flags)
		if r.Err != "" {
			errText = errorText(r.Err)
		} else {
			locked = boolDigit(r.Locked)
		}
	}
	settle := ""
	if f.SettleGen > 0 {
		settle = strconv.FormatInt(f.SettleGen, 10)
	}
	trade := ""
	if f.TradeSent != nil {
		trade = boolDigit(*f.TradeSent)
	}
	fail := ""
	if f.MarkFailed {
		fail = "1"
	}
	if f.Lease == "" {
		f.Lease = Keep
	}
	args := s.historyArgs([]any{f.Domain, locked, readMS, flags, errText, f.Token, settle, trade,
		string(f.Lease), timeMS(f.HoldUntil), timeMS(f.MarkDue), fail})
	cmd, err := s.runScript(ctx, finishScript, s.withHistory(k, f.Domain), args, also)
	if err != nil {
		return Domain{}, false, err
	}
	res, err := cmd.Slice()
	if err != nil {
		return Domain{}, false, err
	}
	if res[0] == "unknown" {
		return Domain{}, false, ErrNotFound
	}
	d, err := decodeReply(f.Domain, res[1:4])
	if err != nil {
		return Domain{}, false, err
	}
	if m, ok := res[4].(string); ok {
		d.Work.Mark, d.Work.Pending = parseMark(m), true
	}
	n, _ := res[5].(int64)
	return d, n == 1, nil
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// armScript writes a mark for a domain that has none, if its intent is
// still at the given generation. KEYS: i q. ARGV: domain gen requested_ms
// due_ms kind task_id by reason. Returns 1 if the domain has a mark now.
var armScript = redis.NewScript(`
local cur = redis.call("HGET", KEYS[1], ARGV[1])
if not cur then return 0 end
local gen = string.match(cur, "^[^|]*|%d|(%d+)|")
if gen ~= ARGV[2] then return 0 end
if redis.call("HEXISTS", KEYS[2], "m:" .. ARGV[1]) == 1 then return 1 end
redis.call("HSET", KEYS[2], "m:" .. ARGV[1], table.concat({ARGV[2], ARGV[3], ARGV[4], "0", ARGV[5], ARGV[6], ARGV[7], ARGV[8]}, "|"))
return 1
`)

// Arm writes a mark for a fix of confirmed drift at generation gen, before
// anything is written to the registrar: from then on the fix is owed, and
// the janitor queues it again if its task is lost. It reports false if the
// intent has moved on from gen (or the domain is gone): the newer intent's
// own task converges the domain.
func (s *Store) Arm(ctx context.Context, domain string, gen int64, n WorkNote, now time.Time) (bool, error) {
	k := s.keys(Bucket(domain))
	if n.Due.IsZero() {
		n.Due = now
	}
	v, err := armScript.Run(ctx, s.rdb, []string{k[keyIntent], k[keyWork]}, domain, strconv.FormatInt(gen, 10),
		timeMS(now), timeMS(n.Due), string(n.Kind), noteText(n.TaskID), noteText(n.RequestedBy), errorText(n.Reason)).Int()
	return v == 1, err
}

// ArmMany arms the marks of many fixes in one round trip, and reports
// which were armed.
func (s *Store) ArmMany(ctx context.Context, domains []string, gens []int64, n WorkNote, now time.Time) ([]bool, error) {
	if n.Due.IsZero() {
		n.Due = now
	}
	ops := make([]op, len(domains))
	cmds := make([]*redis.Cmd, len(domains))
	for i, d := range domains {
		k := s.keys(Bucket(d))
		args := []any{d, strconv.FormatInt(gens[i], 10), timeMS(now), timeMS(n.Due), string(n.Kind), noteText(n.TaskID), noteText(n.RequestedBy), errorText(n.Reason)}
		ops[i] = func(p redis.Pipeliner) redis.Cmder {
			cmds[i] = armScript.EvalSha(ctx, p, []string{k[keyIntent], k[keyWork]}, args...)
			return cmds[i]
		}
	}
	if err := runPipeline(ctx, s.rdb, ops, armScript); err != nil {
		return nil, err
	}
	out := make([]bool, len(domains))
	for i, c := range cmds {
		v, err := c.Int()
		if err != nil {
			return nil, err
		}
		out[i] = v == 1
	}
	return out, nil
}

// Owed is a domain whose work has no live task: a mark past its due time,
// a note in the format before marks, or an unlock window that has ended
// without its relock.
type Owed struct {
	Domain string
	// Mark is the mark, when there is one; Legacy is set for a note of the
	// format before marks (which the janitor replaces by a mark).
	Mark   *Mark
	Legacy bool
	// RelockAt is set when the domain's unlock window ended by the cutoff.
	RelockAt time.Time
	// Desired is the domain's intent now (empty if it is gone).
	Desired Desired

	field, raw string // for Claim
}

// ownedScanBatch is how many buckets ScanOwed reads in one round trip.
const ownedScanBatch = 1024

// ScanOwed calls fn with the domains owed work whose due time (or window
// end) is before cutoff, a batch at a time: one pipelined round trip per
// 1,024 buckets that hold domains (at most 16), plus one per batch that
// found something. It stops at fn's first error.
func (s *Store) ScanOwed(ctx context.Context, cutoff time.Time, fn func([]Owed) error) error {
	cut := cutoff.UnixMilli()
	bitmap, err := s.occupied(ctx)
	if err != nil {
		return err
	}
	var ids []int
	for i, byt := range bitmap {
		for bit := 0; byt != 0 && bit < 8; bit++ {
			if b := i*8 + bit; b < Buckets && isOccupied(bitmap, b) {
				ids = append(ids, b)
			}
		}
	}
	for first := 0; first < len(ids); first += ownedScanBatch {
		pipe := s.rdb.Pipeline()
		marks := make([]*redis.MapStringStringCmd, 0, ownedScanBatch)
		windows := make([]*redis.ZSliceCmd, 0, ownedScanBatch)
		for _, b := range ids[first:min(first+ownedScanBatch, len(ids))] {
			k := s.keys(b)
			marks = append(marks, pipe.HGetAll(ctx, k[keyWork]))
			windows = append(windows, pipe.ZRangeByScoreWithScores(ctx, k[keyWindows], &redis.ZRangeBy{Min: "-inf", Max: "(" + strconv.FormatInt(cut, 10)}))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return err
		}
		var batch []Owed
		for i, c := range marks {
			for field, v := range c.Val() {
				switch {
				case strings.HasPrefix(field, "l:"):
				case strings.HasPrefix(field, "m:"):
					m := parseMark(v)
					if m.Due.UnixMilli() < cut {
						batch = append(batch, Owed{Domain: field[2:], Mark: &m, field: field, raw: v})
					}
				default: // a note of the format before marks: "domain" or "trade:domain"
					batch = append(batch, Owed{Domain: strings.TrimPrefix(field, "trade:"), Legacy: true, field: field, raw: v})
				}
			}
			for _, z := range windows[i].Val() {
				name, _ := z.Member.(string)
				batch = append(batch, Owed{Domain: name, RelockAt: time.UnixMilli(int64(z.Score)).UTC()})
			}
		}
		if len(batch) == 0 {
			continue
		}
		// The intents as they stand now, in one more round trip.
		pipe = s.rdb.Pipeline()
		intents := make([]*redis.StringCmd, len(batch))
		for i, o := range batch {
			intents[i] = pipe.HGet(ctx, s.keys(Bucket(o.Domain))[keyIntent], o.Domain)
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return err
		}
		for i := range batch {
			if v, err := intents[i].Result(); err == nil {
				if d, err := decodeIntent(v); err == nil {
					batch[i].Desired = d
				}
			}
		}
		if err := fn(batch); err != nil {
			return err
		}
	}
	return nil
}

// claimScript gives a mark a new due time if it is still the one that was
// read (so that of several janitors, one acts on it), and replaces a note of
// the format before marks by a mark. KEYS: i q. ARGV: field raw due_ms
// domain kind now_ms. Returns the new mark, or false.
var claimScript = redis.NewScript(`
if redis.call("HGET", KEYS[2], ARGV[1]) ~= ARGV[2] then return false end
local m = {}
if string.sub(ARGV[1], 1, 2) == "m:" then
  for v in string.gmatch(ARGV[2] .. "|", "([^|]*)|") do m[#m + 1] = v end
  m[3] = ARGV[3]
else
  local cur = redis.call("HGET", KEYS[1], ARGV[4])
  redis.call("HDEL", KEYS[2], ARGV[1])
  if not cur then return false end
  local old = {}
  for v in string.gmatch(ARGV[2] .. "|", "([^|]*)|") do old[#old + 1] = v end
  local gen = string.match(cur, "^[^|]*|%d|(%d+)|")
  m = {gen, old[2] or ARGV[6], ARGV[3], "0", ARGV[5], "", old[4] or "", table.concat(old, "|", 5)}
end
local mark = table.concat(m, "|")
redis.call("HSET", KEYS[2], "m:" .. ARGV[4], mark)
return mark
`)

// Claim gives an owed mark a new due time, so that other janitors leave
// it alone until then; a note of the format before marks becomes a mark.
// It reports false if the mark changed since it was read: someone else
// handled it.
func (s *Store) Claim(ctx context.Context, o Owed, due, now time.Time) (Mark, bool, error) {
	if o.field == "" {
		return Mark{}, false, errors.New("store: Claim of a window, not a mark")
	}
	k := s.keys(Bucket(o.Domain))
	kind := MarkLock
	if strings.HasPrefix(o.field, "trade:") {
		kind = MarkTrade
	}
	v, err := claimScript.Run(ctx, s.rdb, []string{k[keyIntent], k[keyWork]}, o.field, o.raw, timeMS(due), o.Domain,
		string(kind), timeMS(now)).Text()
	if errors.Is(err, redis.Nil) {
		return Mark{}, false, nil
	}
	if err != nil {
		return Mark{}, false, err
	}
	return parseMark(v), true, nil
}

// renewScript extends a lease its holder still has. KEYS: q. ARGV: field
// token until_ms. Returns 1 if the caller holds the lease (now until at
// least until_ms), 0 if it lost it.
var renewScript = redis.NewScript(`
local held = redis.call("HGET", KEYS[1], ARGV[1])
if not held or string.sub(held, 1, #ARGV[2] + 1) ~= ARGV[2] .. "|" then return 0 end
local cur = tonumber(string.sub(held, #ARGV[2] + 2)) or 0
if cur < tonumber(ARGV[3]) then redis.call("HSET", KEYS[1], ARGV[1], ARGV[2] .. "|" .. ARGV[3]) end
return 1
`)

// Renew extends the lease on domain that token holds to at least until. It
// reports false if the lease is no longer the caller's.
func (s *Store) Renew(ctx context.Context, domain, token string, until time.Time) (bool, error) {
	n, err := renewScript.Run(ctx, s.rdb, []string{s.keys(Bucket(domain))[keyWork]}, "l:"+domain, token, timeMS(until)).Int()
	return n == 1, err
}
