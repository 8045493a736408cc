package store

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// A domain's history is a Redis key of its own, in its bucket's slot:
//
//	<prefix>{b}:h:<domain>   its events: a list while short, then a stream
//
// so that one domain's history never depends on how busy the others are,
// and the scripts that change a domain record its events in the same
// atomic step (Cluster-safe: one slot). Each history keeps the newest
// HistoryLimits.MaxLen events and expires
// HistoryLimits.Retention after its newest event; a forgotten domain's
// history stays readable until then.
//
// Every event has an id, "<ms>-<seq>", that increases along the history
// (the event's time in ms, or the previous event's if that is later, and
// a sequence within the same ms): the cursor of History's pages, and the
// stream ID once the history is a stream.
//
// Why two forms: Redis preallocates 4 KB for a stream's first node, so a
// history of one event took 4.4 KB as a stream, and takes 0.5 KB as a
// list; but a stream stores its field names once per node of 100 events
// (about 47 B an event against a list's 170 B). So a history is a list of
// JSON arrays ([id, field, value, ...], newest first) while it holds fewer
// than 32 events, about where the two cost the same, and becomes a stream
// (same ids, same fields, expiry kept) when it reaches 32. A stream with
// fewer than 32 events (one an older reglock wrote: it kept every history
// as a stream) becomes a list the next time an event is recorded.
// docs/benchmarks.md has the figures (BenchmarkHistoryMemory).
//
// An entry's fields (the audit package reads them; the scripts here and
// audit.Log write them; absent fields are empty):
//
//	time      event time, Unix ms
//	kind      intent | relock | change | drift | error | recovery | forgotten | gone | transfer_pending | transferred
//	gen       the domain's generation when it happened
//	provider  the account
//	intent    lock | unlock | trade (kind intent)
//	source    record (API, CLI) | task (a producer's direct task) | import | restore
//	by        requested_by
//	reason    why
//	token     the API token (or CLI identity) that asked
//	relock    end of the unlock window, Unix ms
//	trade     the trade lock setting asked for: 1 or 0 (intent trade)
//	transfer  "t": an unlock for a transfer away (intent unlock)
//	before, after, cause, sweep, task   (kinds change and drift)
//	error     the registrar's error (kind error)

// HistoryKind names an event kind of a domain's history.
const (
	HistoryIntent    = "intent"
	HistoryRelock    = "relock"
	HistoryChange    = "change"
	HistoryDrift     = "drift"
	HistoryError     = "error"
	HistoryRecovery  = "recovery"
	HistoryForgotten = "forgotten"
	HistoryGone      = "gone"
	// HistoryTransferPending: the transfer-out alarm.
	HistoryTransferPending = "transfer_pending"
	// HistoryTransferred: a domain unlocked for a transfer left the account.
	HistoryTransferred = "transferred"
	// HistoryRegistryDisagrees: the registry's record (RDAP) disagreed
	// with the registrar's reading.
	HistoryRegistryDisagrees = "registry_disagrees"
)

// HistoryLimits bound each domain's history.
type HistoryLimits struct {
	// MaxLen is how many events a domain keeps, the newest (default 1,000).
	MaxLen int64
	// Retention is how long a history outlives its newest event (default
	// 400 days: a year, and the audit that follows it).
	Retention time.Duration
}

// Defaults for HistoryLimits.
const (
	DefaultHistoryMaxLen    = 1000
	DefaultHistoryRetention = 400 * 24 * time.Hour
)

// HistoryKey is the key of a domain's history.
func (s *Store) HistoryKey(domain string) string {
	return s.bucketTag(Bucket(domain)) + "h:" + domain
}

// History returns the limits the store's scripts apply.
func (s *Store) History() HistoryLimits {
	h := s.history
	if h.MaxLen <= 0 {
		h.MaxLen = DefaultHistoryMaxLen
	}
	if h.Retention <= 0 {
		h.Retention = DefaultHistoryRetention
	}
	return h
}

// SetHistory sets the limits of every domain's history (config
// audit.history_max, audit.history_retention).
func (s *Store) SetHistory(h HistoryLimits) { s.history = h }

// historyLua is prepended to the scripts that record events. The script's
// KEYS[8] is the domain's history and its last two ARGV are MaxLen and the
// retention in ms (historyArgs). histAt is the whole of recording an
// event; hist is it for the scripts' own layout.
const historyLua = `
local HIST_SHORT = 32
local function histID(id)
  local ms, seq = string.match(id or "", "^(%d+)%-(%d+)")
  return tonumber(ms), tonumber(seq)
end
local function histEncode(id, fields)
  local e = {id}
  for _, v in ipairs(fields) do e[#e + 1] = v end
  return cjson.encode(e)
end
local function histToList(key)
  local ttl = redis.call("PTTL", key)
  local msgs = redis.call("XRANGE", key, "-", "+")
  redis.call("DEL", key)
  for _, m in ipairs(msgs) do redis.call("LPUSH", key, histEncode(m[1], m[2])) end
  if ttl > 0 then redis.call("PEXPIRE", key, ttl) end
end
local function histToStream(key)
  local ttl = redis.call("PTTL", key)
  local entries = redis.call("LRANGE", key, 0, -1)
  redis.call("DEL", key)
  for i = #entries, 1, -1 do
    local e = cjson.decode(entries[i])
    local id = table.remove(e, 1)
    redis.call("XADD", key, id, unpack(e))
  end
  if ttl > 0 then redis.call("PEXPIRE", key, ttl) end
end
local function histAt(key, maxlen, ttl, now, ...)
  -- The common case costs one read: the newest entry of a list (or
  -- nothing). A stream answers WRONGTYPE.
  local typ, last = "list", redis.pcall("LINDEX", key, 0)
  if type(last) == "table" and last["err"] then
    typ, last = "stream", nil
    if redis.call("XLEN", key) < HIST_SHORT then
      histToList(key)
      typ, last = "list", redis.call("LINDEX", key, 0)
    end
  end
  if typ == "stream" then
    local m = redis.call("XREVRANGE", key, "+", "-", "COUNT", 1)
    if m[1] then last = m[1][1] end
  elseif last then
    last = string.match(last, '^%["([%d%-]+)"')
  end
  local ms, seq = tonumber(now), 0
  local lms, lseq = histID(last)
  if lms and lms >= ms then ms, seq = lms, lseq + 1 end
  local id = ms .. "-" .. seq
  local fields = {"time", tostring(now), ...}
  maxlen = tonumber(maxlen)
  if typ == "stream" then
    redis.call("XADD", key, "MAXLEN", maxlen, id, unpack(fields))
  else
    local n = redis.call("LPUSH", key, histEncode(id, fields))
    if n > maxlen then redis.call("LTRIM", key, 0, maxlen - 1) end
    if n >= HIST_SHORT and maxlen >= HIST_SHORT then histToStream(key) end
  end
  redis.call("PEXPIRE", key, ttl)
end
local function hist(now, ...)
  histAt(KEYS[8], ARGV[#ARGV - 1], ARGV[#ARGV], now, ...)
end
`

// appendHistoryScript records one event the Go side makes (audit.Log):
// KEYS[1] the history, ARGV MaxLen, retention in ms, the event's time in
// ms, then its fields and values.
var appendHistoryScript = redis.NewScript(historyLua + `
histAt(KEYS[1], ARGV[1], ARGV[2], ARGV[3], unpack(ARGV, 4))
return 1
`)

// historyPageScript returns up to ARGV[2] entries of the history KEYS[1],
// newest first, older than the id ARGV[1] ("" for the newest), each as
// the JSON array a short history keeps.
var historyPageScript = redis.NewScript(historyLua + `
local n = tonumber(ARGV[2])
local out = {}
local typ = redis.call("TYPE", KEYS[1])["ok"]
if typ == "stream" then
  local from = "+"
  if ARGV[1] ~= "" then from = "(" .. ARGV[1] end
  for _, m in ipairs(redis.call("XREVRANGE", KEYS[1], from, "-", "COUNT", n)) do
    out[#out + 1] = histEncode(m[1], m[2])
  end
  return out
end
local cms, cseq = histID(ARGV[1])
local start = 0
while #out < n do
  local chunk = redis.call("LRANGE", KEYS[1], start, start + 199)
  if #chunk == 0 then break end
  for _, e in ipairs(chunk) do
    local older = true
    if cms then
      local ems, eseq = histID(string.match(e, '^%["([%d%-]+)"'))
      older = ems < cms or (ems == cms and eseq < cseq)
    end
    if older then
      out[#out + 1] = e
      if #out == n then break end
    end
  end
  start = start + 200
end
return out
`)

// compactHistoryScript turns the history KEYS[1] into a list if it is a
// stream of fewer than 32 events (an older reglock's); it returns 1 if it
// did.
var compactHistoryScript = redis.NewScript(historyLua + `
if redis.call("TYPE", KEYS[1])["ok"] == "stream" and redis.call("XLEN", KEYS[1]) < HIST_SHORT then
  histToList(KEYS[1])
  return 1
end
return 0
`)

// CompactHistories turns every short history an older reglock kept as a
// stream (4.4 KB for one event) into the list it would be now, and returns
// how many it turned. A history is otherwise turned only when its next
// event comes, which for a quiet domain may be never before it expires.
// It is idempotent, and safe beside the scripts that record events.
func (s *Store) CompactHistories(ctx context.Context) (int, error) {
	var batch []string
	n := 0
	flush := func() error {
		cmds := make([]*redis.Cmd, len(batch))
		ops := make([]op, len(batch))
		for i, d := range batch {
			ops[i] = func(p redis.Pipeliner) redis.Cmder {
				cmds[i] = compactHistoryScript.EvalSha(ctx, p, []string{s.HistoryKey(d)})
				return cmds[i]
			}
		}
		if err := runPipeline(ctx, s.rdb, ops, compactHistoryScript); err != nil {
			return err
		}
		for _, c := range cmds {
			if v, _ := c.Int(); v == 1 {
				n++
			}
		}
		batch = batch[:0]
		return nil
	}
	err := s.ScanHistories(ctx, func(domain string) error {
		batch = append(batch, domain)
		if len(batch) == 500 {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	return n, err
}

// HistoryEntry is one raw entry of a domain's history: its id and its
// fields (package audit reads them).
type HistoryEntry struct {
	ID     string
	Fields map[string]string
}

// decodeHistory parses entries as the scripts store them; an entry that
// does not parse is skipped rather than failing the whole page.
func decodeHistory(raw []any) []HistoryEntry {
	out := make([]HistoryEntry, 0, len(raw))
	for _, r := range raw {
		s, _ := r.(string)
		var a []json.RawMessage
		if json.Unmarshal([]byte(s), &a) != nil || len(a) == 0 {
			continue
		}
		e := HistoryEntry{ID: rawText(a[0]), Fields: make(map[string]string, len(a)/2)}
		for i := 1; i+1 < len(a); i += 2 {
			e.Fields[rawText(a[i])] = rawText(a[i+1])
		}
		out = append(out, e)
	}
	return out
}

// rawText is a JSON string's text, or a number as it was written (a script
// that passed a number rather than a string).
func rawText(m json.RawMessage) string {
	var s string
	if json.Unmarshal(m, &s) == nil {
		return s
	}
	return string(m)
}

// HistoryPage returns up to n entries of domain's history, newest first,
// older than the entry whose id is cursor ("" for the newest).
func (s *Store) HistoryPage(ctx context.Context, domain, cursor string, n int) ([]HistoryEntry, error) {
	raw, err := historyPageScript.Run(ctx, s.rdb, []string{s.HistoryKey(domain)}, cursor, n).Slice()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	return decodeHistory(raw), nil
}

// AppendHistory adds the recording of an event at time at, with fields
// (name, value, name, value, ...), to c: a pipeline, so that the event
// costs no round trip of its own, or the client. In a pipeline the script
// goes as EVALSHA: run it through a pipeline that loads the store's
// scripts when Redis lost them (runScript's does); RecordHistory runs it
// alone.
func (s *Store) AppendHistory(ctx context.Context, c redis.Scripter, domain string, at time.Time, fields ...string) *redis.Cmd {
	return appendHistoryScript.EvalSha(ctx, c, []string{s.HistoryKey(domain)}, s.appendArgs(at, fields)...)
}

// RecordHistory records an event at time at with fields in its own round
// trip.
func (s *Store) RecordHistory(ctx context.Context, domain string, at time.Time, fields ...string) error {
	return appendHistoryScript.Run(ctx, s.rdb, []string{s.HistoryKey(domain)}, s.appendArgs(at, fields)...).Err()
}

func (s *Store) appendArgs(at time.Time, fields []string) []any {
	h := s.History()
	args := make([]any, 0, 3+len(fields))
	args = append(args, h.MaxLen, h.Retention.Milliseconds(), at.UnixMilli())
	for _, f := range fields {
		args = append(args, f)
	}
	return args
}

// withHistory returns a bucket's keys and the domain's history key, in the
// order the history-writing scripts take them.
func (s *Store) withHistory(k bucketKeys, domain string) []string {
	return append(k[:], s.HistoryKey(domain))
}

// historyArgs appends the history limits to a script's arguments.
func (s *Store) historyArgs(args []any) []any {
	h := s.History()
	return append(args, strconv.FormatInt(h.MaxLen, 10), strconv.FormatInt(h.Retention.Milliseconds(), 10))
}

// ScanHistories calls fn with the domain of every history in Redis (those
// of forgotten domains too, until they expire), on every primary of a
// Cluster, in no particular order. fn is never called concurrently.
func (s *Store) ScanHistories(ctx context.Context, fn func(domain string) error) error {
	match := globEscape(s.prefix) + "{*}:h:*"
	var mu sync.Mutex
	scan := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, match, 1000).Result()
			if err != nil {
				return err
			}
			for _, k := range keys {
				_, d, ok := strings.Cut(strings.TrimPrefix(k, s.prefix), "}:h:")
				if !ok {
					continue
				}
				mu.Lock()
				err := fn(d)
				mu.Unlock()
				if err != nil {
					return err
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	if cl, ok := s.rdb.(*redis.ClusterClient); ok {
		return cl.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	}
	return scan(ctx, s.rdb)
}

// globEscape quotes the characters SCAN's MATCH treats specially.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
