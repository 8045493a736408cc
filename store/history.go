package store

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// A domain's history is a Redis stream of its own, in its bucket's slot:
//
//	<prefix>{b}:h:<domain>   stream of events, newest last
//
// so that one domain's history never depends on how busy the others are,
// and the scripts that change a domain record its events in the same
// atomic step (Cluster-safe: one slot). Each stream is capped at about
// HistoryLimits.MaxLen entries (Redis trims whole nodes, so a little more
// may stay) and expires HistoryLimits.Retention after its newest event; a
// forgotten domain's history stays readable until then.
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
	// MaxLen is about how many events a domain keeps (default 1,000).
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
// retention in ms (historyArgs).
const historyLua = `
local function hist(now, ...)
  redis.call("XADD", KEYS[8], "MAXLEN", "~", ARGV[#ARGV - 1], "*", "time", now, ...)
  redis.call("PEXPIRE", KEYS[8], ARGV[#ARGV])
end
`

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
