package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// forgetScript removes a domain from its bucket (intent, observation,
// error, drift index, count, work and window) and records it in the
// domain's history, which stays until its retention ends.
//
// KEYS: i o e x n q w h r. ARGV: domain now_ms by reason token, then the
// history limits. Returns the intent that was removed, or false.
var forgetScript = redis.NewScript(historyLua + `
local d = ARGV[1]
local cur = redis.call("HGET", KEYS[1], d)
if not cur then return false end
local p = string.match(cur, "^([^|]*)|")
redis.call("HDEL", KEYS[1], d)
redis.call("HDEL", KEYS[2], d)
redis.call("HDEL", KEYS[3], d)
redis.call("SREM", KEYS[4], d)
if redis.call("HINCRBY", KEYS[5], p, -1) <= 0 then redis.call("HDEL", KEYS[5], p) end
redis.call("HDEL", KEYS[6], "m:" .. d, "l:" .. d)
redis.call("ZREM", KEYS[7], d)
redis.call("HDEL", KEYS[9], d)
hist(ARGV[2], "kind", "forgotten", "gen", string.match(cur, "^[^|]*|%d|(%d+)|"), "provider", p,
  "by", ARGV[3], "reason", ARGV[4], "token", ARGV[5])
return cur
`)

// Forgotten is who removed a domain, and why.
type Forgotten struct {
	RequestedBy, Reason, Token string
	At                         time.Time
}

// Forget removes a domain from the inventory (it expired, or left the
// account) and returns its last intent; its history records it. A task
// still queued for it finds no domain and ends. ErrNotFound means it was
// not in the inventory.
func (s *Store) Forget(ctx context.Context, domain string, f Forgotten) (Desired, error) {
	if f.At.IsZero() {
		f.At = time.Now()
	}
	args := s.historyArgs([]any{domain, timeMS(f.At), noteText(f.RequestedBy), errorText(f.Reason), noteText(f.Token)})
	b := Bucket(domain)
	v, err := forgetScript.Run(ctx, s.rdb, append(s.withHistory(s.keys(b), domain), s.registryKey(b)), args...).Text()
	if errors.Is(err, redis.Nil) {
		return Desired{}, ErrNotFound
	}
	if err != nil {
		return Desired{}, err
	}
	return decodeIntent(strings.TrimSpace(v))
}
