package store

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reading is one read of the registrar, successful or not.
type Reading struct {
	Locked bool
	Flags  int
	// StartedAt is when the read started. A reading older than the one
	// stored is dropped, so a slow read never overwrites a newer one.
	StartedAt time.Time
	// Err is the registrar's error; when set, Locked and Flags are ignored
	// and the last successful observation stays.
	Err string
}

// observeScript records a reading and keeps the drift index. Domains not in
// the inventory are left alone. It settles no mark: only a worker holding
// the domain's lease does that (Finish), because a reading taken while
// another worker's write may still land proves nothing.
//
// A registrar error that is new (or differs from the stored one), and the
// first good reading after one, go into the domain's history.
//
// KEYS: i o e x n q w h. ARGV: domain locked read_ms flags error, then the
// history limits.
// Returns {"stale"|"unknown"|"ok", intent, observation|false, error|false,
// mark|false, lease|false}.
var observeScript = redis.NewScript(historyLua + `
local d = ARGV[1]
local ts = tonumber(ARGV[3])
local cur = redis.call("HGET", KEYS[1], d)
if not cur then return {"unknown", false, false, false, false, false} end
local obs = redis.call("HGET", KEYS[2], d)
local err = redis.call("HGET", KEYS[3], d)
local locked = string.match(cur, "^[^|]*|(%d)|")
local wasInSync = (obs and not err and string.sub(obs, 1, 1) == locked) and true or false
local ots = obs and tonumber(string.match(obs, "^[01]|(%d+)|")) or 0
local ets = err and tonumber(string.match(err, "^(%d+)|")) or 0
local outcome = "ok"
if ts < ots or ts < ets then
  outcome = "stale"
elseif ARGV[5] ~= "" then
  if not err or string.match(err, "^%d+|(.*)$") ~= ARGV[5] then
    hist(ARGV[3], "kind", "error", "gen", string.match(cur, "^[^|]*|%d|(%d+)|"), "provider", string.match(cur, "^([^|]*)|"), "error", ARGV[5])
  end
  err = ARGV[3] .. "|" .. ARGV[5]
  redis.call("HSET", KEYS[3], d, err)
else
  obs = ARGV[2] .. "|" .. ARGV[3] .. "|" .. ARGV[4]
  redis.call("HSET", KEYS[2], d, obs)
  if err then
    redis.call("HDEL", KEYS[3], d); err = nil
    hist(ARGV[3], "kind", "recovery", "gen", string.match(cur, "^[^|]*|%d|(%d+)|"), "provider", string.match(cur, "^([^|]*)|"))
  end
end
local inSync = (obs and not err and string.sub(obs, 1, 1) == locked) and true or false
-- The drift index changes only when the domain's sync state does (a stale
-- reading changes nothing, but repairs an index that disagrees).
if inSync ~= wasInSync or outcome == "stale" then
  if inSync then
    redis.call("SREM", KEYS[4], d)
  else
    redis.call("SADD", KEYS[4], d)
  end
end
local mark = redis.call("HGET", KEYS[6], "m:" .. d)
local lease = redis.call("HGET", KEYS[6], "l:" .. d)
return {outcome, cur, obs or false, err or false, mark or false, lease or false}
`)

// Observe records a reading and returns the domain's record after it, and
// whether the reading was recorded (false: a newer one was already stored).
// ErrNotFound means the domain is not in the inventory. Commands in also
// (an audit entry, say) go in the same round trip.
func (s *Store) Observe(ctx context.Context, domain string, r Reading, also ...func(redis.Pipeliner) redis.Cmder) (Domain, bool, error) {
	k := s.keys(Bucket(domain))
	locked := "0"
	if r.Locked {
		locked = "1"
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = time.Now()
	}
	args := s.historyArgs([]any{domain, locked, timeMS(r.StartedAt), strconv.Itoa(r.Flags), errorText(r.Err)})
	cmd, err := s.runScript(ctx, observeScript, s.withHistory(k, domain), args, also)
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
	d, err := decodeWorkReply(domain, res[1:])
	return d, res[0] == "ok", err
}

// decodeWorkReply decodes {intent, observation, error, mark, lease}.
func decodeWorkReply(domain string, r []any) (Domain, error) {
	d, err := decodeReply(domain, r[:3])
	if err != nil {
		return d, err
	}
	if m, ok := r[3].(string); ok {
		d.Work.Mark, d.Work.Pending = parseMark(m), true
	}
	if l, ok := r[4].(string); ok {
		d.Work.LeaseUntil = leaseUntil(l)
	}
	return d, nil
}

// leaseUntil reads the end of a lease (token|until_ms).
func leaseUntil(v string) time.Time {
	_, ms, _ := strings.Cut(v, "|")
	return msTime(ms)
}

// maxErrorText bounds a stored error: enough for any registrar message,
// small enough that a million failing domains fit in memory.
const maxErrorText = 300

// errorText makes an error storable: bounded, one line, no field separator
// problems (the message is the last field, so '|' is fine).
func errorText(s string) string {
	if len(s) > maxErrorText {
		s = strings.ToValidUTF8(s[:maxErrorText], "") + "…"
	}
	out := []byte(s)
	for i, c := range out {
		if c == '\n' || c == '\r' {
			out[i] = ' '
		}
	}
	return string(out)
}

// DomainReading is a reading of one domain.
type DomainReading struct {
	Domain string
	Reading
}

// ObserveMany records many readings in one round trip and returns each
// domain's record after it, in order; a domain that is not in the inventory
// comes back with an empty Name.
func (s *Store) ObserveMany(ctx context.Context, readings []DomainReading) ([]Domain, error) {
	if len(readings) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.Cmd, len(readings))
	ops := make([]op, len(readings))
	for i, r := range readings {
		k := s.keys(Bucket(r.Domain))
		locked := "0"
		if r.Locked {
			locked = "1"
		}
		at := r.StartedAt
		if at.IsZero() {
			at = time.Now()
		}
		args := s.historyArgs([]any{r.Domain, locked, timeMS(at), strconv.Itoa(r.Flags), errorText(r.Err)})
		keys := s.withHistory(k, r.Domain)
		ops[i] = func(p redis.Pipeliner) redis.Cmder {
			cmds[i] = observeScript.EvalSha(ctx, p, keys, args...)
			return cmds[i]
		}
	}
	if err := runPipeline(ctx, s.rdb, ops, observeScript); err != nil {
		return nil, err
	}
	out := make([]Domain, len(readings))
	for i, c := range cmds {
		res, err := c.Slice()
		if err != nil {
			return nil, err
		}
		if res[0] == "unknown" {
			continue
		}
		if out[i], err = decodeWorkReply(readings[i].Domain, res[1:]); err != nil {
			return nil, err
		}
	}
	return out, nil
}
