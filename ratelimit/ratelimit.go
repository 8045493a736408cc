// Package ratelimit spaces the calls to each registrar account evenly, with
// one budget shared by every worker process through Redis.
//
// It hands out time slots rather than yes/no answers: Redis keeps, per
// account, the theoretical arrival time of the next free slot (the GCRA
// state); a caller reserves the next slot and sleeps until it. Calls from any
// number of processes therefore arrive at the registrar one interval apart,
// no 1-second window ever holds more than rate+burst calls, and a waiting
// caller never polls. The clock is Redis's, so hosts need not agree on time.
//
// At high rates a process reserves a small batch of consecutive slots in one
// round trip and paces them out locally, so that the limiter costs far less
// than one Redis call per registrar call.
//
// Two lanes share the budget. A customer's change (the default) takes the
// next free slot, first come first served among changes. Background reads
// (sweeps, checks: a context marked with Background) never reserve a slot
// ahead of time: they take one only when it is free now, and at most Share
// of the rate, so a change arriving during a sweep waits at most about one
// interval for its slot, across every worker process; and the two slots
// after a change's are kept from background reads, so its next calls (a
// change is a read, a write and a read back) do not wait again.
package ratelimit

import (
	"context"
	"errors"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
)

// ErrLimited is wrapped in a *providers.RetryAfterError when the next free
// slot is further away than the caller is willing to wait.
var ErrLimited = errors.New("local rate limit: no free slot soon enough")

// batchWindow is how much of the budget one process reserves at a time.
// Slots it does not use in time are lost, so it is kept short.
const batchWindow = 10 * time.Millisecond

// maxBatch bounds a reservation at very high rates.
const maxBatch = 1000

// reserveScript reserves n consecutive slots. KEYS: the account's key, its
// background lane's key. ARGV: interval_us burst n max_wait_us lane
// (fg|bg) share now_us (empty: Redis's clock) change_hold (intervals kept
// from background reads after a change's slots). Returns {wait_us,
// reserved}: reserved is 0 when the first slot is more than max_wait_us
// away, or, in the background lane, when it is not free now (wait_us then
// says when to ask again).
var reserveScript = redis.NewScript(`
local now
if ARGV[7] ~= "" then
  now = tonumber(ARGV[7])
else
  local t = redis.call("TIME")
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local T, burst, n, maxw = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local tat = tonumber(redis.call("GET", KEYS[1]) or "0")
local start = math.max(tat, now - (burst - 1) * T)
if ARGV[5] == "bg" then
  -- A background read books no slot ahead: a change arriving later must
  -- find the next one free. And it keeps to its share of the rate.
  local btat = tonumber(redis.call("GET", KEYS[2]) or "0")
  start = math.max(start, btat)
  if start > now then return {start - now, 0} end
  local nbtat = start + T / tonumber(ARGV[6])
  redis.call("SET", KEYS[2], string.format("%.0f", nbtat), "PX", math.ceil((nbtat - now) / 1000) + 1000)
end
local wait = start - now
if wait > maxw then return {wait, 0} end
local newtat = start + n * T
redis.call("SET", KEYS[1], string.format("%.0f", newtat), "PX", math.ceil((newtat - now) / 1000) + 1000)
if ARGV[5] == "fg" then
  -- A change is a few calls in a row (read, write, read back): the slots
  -- right after this one are kept from background reads, so that its next
  -- call finds one free instead of waiting behind a sweep's read.
  local hold = newtat + tonumber(ARGV[8]) * T
  local btat = tonumber(redis.call("GET", KEYS[2]) or "0")
  if hold > btat then
    redis.call("SET", KEYS[2], string.format("%.0f", hold), "PX", math.ceil((hold - now) / 1000) + 1000)
  end
end
if wait < 0 then wait = 0 end
return {wait, n}
`)

// Limiter is safe for concurrent use.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string

	mu     sync.Mutex
	pacers map[string]*pacer

	// OnWait, if set, is told how long each call waits for its slot, and
	// OnDefer when a call is refused a slot (metrics).
	OnWait  func(account string, wait time.Duration)
	OnDefer func(account string)

	// Clock paces the calls between reservations; nil means the wall
	// clock. (The slots themselves come from Redis's clock, so hosts need
	// not agree on time.)
	Clock clock.Clock

	// onSlot, in tests, sees every slot handed out.
	onSlot func(account string, slot time.Time)
	// now, in tests, replaces Redis's clock in the reservation script.
	now func() time.Time
}

// pacer holds the slots one process has reserved for one account.
type pacer struct {
	mu   sync.Mutex
	next time.Time // local time of the next reserved slot
	left int
}

// New returns a Limiter keeping its state under prefix.
func New(rdb redis.UniversalClient, prefix string) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix, pacers: make(map[string]*pacer)}
}

// Limit is an account's budget: Rate calls per second, at most Burst at once
// after a quiet spell. Rate 0 means unlimited. Share is the most of the
// rate background reads may use (default DefaultShare).
type Limit struct {
	Rate  float64
	Burst int
	Share float64
}

// share is the background lane's share of the rate: Share, or
// DefaultShare when it is not in (0, 1].
func (lim Limit) share() float64 {
	if lim.Share <= 0 || lim.Share > 1 {
		return DefaultShare
	}
	return lim.Share
}

// BackgroundRate is how many background reads a second the limit allows
// (0: no limit).
func (lim Limit) BackgroundRate() float64 {
	if lim.Rate <= 0 {
		return 0
	}
	return lim.Rate * lim.share()
}

// DefaultShare is the background lane's share of an account's rate: a
// fifth of the slots are always left to changes.
const DefaultShare = 0.8

// background marks a context's calls as background reads.
type background struct{}

// Background marks the calls made with ctx as background reads (a sweep's,
// a check's): they yield every slot to changes.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, background{}, true)
}

// IsBackground reports whether ctx's calls are background reads.
func IsBackground(ctx context.Context) bool {
	b, _ := ctx.Value(background{}).(bool)
	return b
}

// Wait blocks until account may make one call. If the next free slot is
// more than maxWait away it reserves nothing and returns a
// *providers.RetryAfterError wrapping ErrLimited, so that the caller can hand
// the work back instead of holding a worker.
func (l *Limiter) Wait(ctx context.Context, account string, lim Limit, maxWait time.Duration) error {
	if lim.Rate <= 0 {
		return nil
	}
	clk := clock.Or(l.Clock)
	interval := time.Duration(float64(time.Second) / lim.Rate)
	if IsBackground(ctx) {
		return l.waitBackground(ctx, account, lim, interval, maxWait)
	}
	p := l.pacer(account)
	p.mu.Lock()
	now := clk.Now()
	// Slots that passed unused are gone: using several at once would burst.
	for p.left > 0 && p.next.Before(now.Add(-interval)) {
		p.next = p.next.Add(interval)
		p.left--
	}
	if p.left == 0 {
		n := int(math.Max(1, math.Min(maxBatch, lim.Rate*batchWindow.Seconds())))
		wait, reserved, err := l.reserve(ctx, account, laneFg, interval, lim, n, maxWait)
		if err != nil {
			p.mu.Unlock()
			return err
		}
		if reserved == 0 {
			p.mu.Unlock()
			if l.OnDefer != nil {
				l.OnDefer(account)
			}
			return providers.RetryAfter(wait, ErrLimited)
		}
		p.next, p.left = clk.Now().Add(wait), reserved
	}
	slot := p.next
	p.next = p.next.Add(interval)
	p.left--
	p.mu.Unlock()
	if l.onSlot != nil {
		l.onSlot(account, slot)
	}
	wait := slot.Sub(clk.Now())
	if l.OnWait != nil {
		l.OnWait(account, max(wait, 0))
	}
	return clk.Sleep(ctx, wait)
}

func (l *Limiter) pacer(account string) *pacer {
	l.mu.Lock()
	defer l.mu.Unlock()
	p := l.pacers[account]
	if p == nil {
		p = &pacer{}
		l.pacers[account] = p
	}
	return p
}

// waitBackground waits for a slot that is free now, within the background
// share: it asks again when the lane says one may be, and gives up (a
// *providers.RetryAfterError) once maxWait has passed.
func (l *Limiter) waitBackground(ctx context.Context, account string, lim Limit, interval, maxWait time.Duration) error {
	clk := clock.Or(l.Clock)
	start := clk.Now()
	for {
		wait, reserved, err := l.reserve(ctx, account, laneBg, interval, lim, 1, maxWait)
		if err != nil {
			return err
		}
		if reserved > 0 {
			if l.onSlot != nil {
				l.onSlot(account, clk.Now())
			}
			if l.OnWait != nil {
				l.OnWait(account, clk.Now().Sub(start))
			}
			return nil
		}
		if clk.Now().Add(wait).Sub(start) > maxWait {
			if l.OnDefer != nil {
				l.OnDefer(account)
			}
			return providers.RetryAfter(wait, ErrLimited)
		}
		if err := clk.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// changeHold is how many intervals after a change's slot are kept from
// background reads: a change's next call (its write after its read, its
// read back after its write) comes about a registrar round trip later, and
// finds a free slot instead of one a sweep just took.
const changeHold = 2

// The lanes of the reservation script.
const (
	laneFg = "fg"
	laneBg = "bg"
)

func (l *Limiter) reserve(ctx context.Context, account, lane string, interval time.Duration, lim Limit, n int, maxWait time.Duration) (time.Duration, int, error) {
	burst := max(lim.Burst, 1)
	share := lim.share()
	key := l.prefix + "rate:{" + account + "}"
	now := ""
	if l.now != nil {
		now = strconv.FormatInt(l.now().UnixMicro(), 10)
	}
	res, err := reserveScript.Run(ctx, l.rdb, []string{key, key + ":bg"},
		strconv.FormatInt(interval.Microseconds(), 10), strconv.Itoa(burst), strconv.Itoa(n),
		strconv.FormatInt(maxWait.Microseconds(), 10), lane, strconv.FormatFloat(share, 'f', -1, 64), now, changeHold).Int64Slice()
	if err != nil {
		return 0, 0, err
	}
	return time.Duration(res[0]) * time.Microsecond, int(res[1]), nil
}
