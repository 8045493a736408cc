// Package store keeps every domain's desired and observed lock state in
// Redis.
//
// Layout, designed for millions of domains and for Redis Cluster: domains
// are spread over a fixed number of buckets by a hash of their name; each
// bucket is a few small keys sharing one hash tag, so every operation on one
// domain touches one cluster slot, and no key grows with the inventory (at a
// million domains a bucket holds about 60 names, small enough for Redis's
// compact listpack encoding):
//
//	<prefix>{b}:i   hash domain -> intent       provider|locked|generation|requested_ms|trade|relock_ms|trade_ms|consent_ip
//	<prefix>{b}:o   hash domain -> observation  locked|read_ms|flags
//	<prefix>{b}:e   hash domain -> last error   read_ms|message
//	<prefix>{b}:x   set of domains out of sync (the drift index)
//	<prefix>{b}:n   hash provider -> number of the bucket's domains
//	<prefix>{b}:q   hash "m:"+domain -> the work a domain is owed (a mark) and
//	                "l:"+domain -> who is converging it until when (a lease);
//	                see work.go
//	<prefix>{b}:w   sorted set domain -> end of its unlock window (ms)
//	<prefix>{b}:h:<domain>  stream: the domain's history (history.go)
//	<prefix>{b}:r   hash domain -> the registry's view (RDAP; registry.go)
//
// Listing walks the buckets in order with a cursor (bucket, last name);
// sweeps read whole chunks of buckets with pipelined commands.
package store

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/providers"
)

// Buckets is the number of buckets. It is part of the data format: changing
// it moves every domain.
const Buckets = 16384

// ErrNotFound is returned for a domain that is not in the inventory.
var ErrNotFound = errors.New("domain not in the inventory")

// ErrProviderRequired is returned when a new domain names no provider and no
// provider's TLDs cover it.
var ErrProviderRequired = errors.New("domain not in the inventory: a provider is required")

// Store is the inventory. It is safe for concurrent use.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	history HistoryLimits
	// workScans counts the inventory reads SharedWorkStats made (tests).
	workScans atomic.Int64
}

// New returns a Store whose keys start with prefix ("rl:" by default), so
// that several installations or tests can share one Redis.
func New(rdb redis.UniversalClient, prefix string) *Store {
	if prefix == "" {
		prefix = "rl:"
	}
	return &Store{rdb: rdb, prefix: prefix}
}

// Redis returns the client the store uses.
func (s *Store) Redis() redis.UniversalClient { return s.rdb }

// Prefix returns the key prefix.
func (s *Store) Prefix() string { return s.prefix }

// Bucket returns the bucket a domain lives in.
func Bucket(domain string) int {
	h := fnv.New32a()
	h.Write([]byte(domain))
	return int(h.Sum32() % Buckets)
}

// bucketKeys are the keys of one bucket, in the order the scripts take them.
type bucketKeys [7]string

// Indexes into bucketKeys.
const (
	keyIntent = iota
	keyObserved
	keyError
	keyDrift
	keyCounts
	keyWork
	keyWindows
)

func (s *Store) bucketTag(b int) string {
	return s.prefix + "{" + strconv.FormatInt(int64(b), 16) + "}:"
}

func (s *Store) keys(b int) bucketKeys {
	tag := s.bucketTag(b)
	return bucketKeys{tag + "i", tag + "o", tag + "e", tag + "x", tag + "n", tag + "q", tag + "w"}
}

// Desired is the intent for a domain.
type Desired struct {
	Provider   string
	Locked     bool
	Generation int64
	// RequestedAt is when the newest accepted intent was asked for.
	RequestedAt time.Time
	// TradeLock is the OpenSRS 60-day trade lock setting asked for, or nil.
	TradeLock *bool
	// TradeApplied reports that the registrar accepted TradeLock. OpenSRS
	// cannot read it back, so it is applied but unverified.
	TradeApplied bool
	// TradeRequestedAt is when the newest trade lock setting was asked for:
	// trade settings and lock intents are ordered each on their own, so
	// that neither kind of request supersedes the other.
	TradeRequestedAt time.Time
	// ConsentIP is the registrant's address given with TradeLock.
	ConsentIP string
	// RelockAt, when set, is when desired flips back to locked.
	RelockAt time.Time
	// ForTransfer marks an unlock asked for a transfer away: the domain
	// leaving the account is its success, not an error.
	ForTransfer bool
}

// TradePending reports whether a trade lock setting is asked for and not yet
// accepted by the registrar.
func (d Desired) TradePending() bool { return d.TradeLock != nil && !d.TradeApplied }

// Observation flags, as registrars report them (see providers.State).
const (
	FlagByRegistry = 1 << iota
	FlagPending
	FlagIndirect
	// FlagTransfer: a transfer away is pending at the registry.
	FlagTransfer
)

// FlagsOf is the store's form of a reading's flags.
func FlagsOf(st providers.State) int {
	f := 0
	if st.ByRegistry {
		f |= FlagByRegistry
	}
	if st.Pending {
		f |= FlagPending
	}
	if st.PendingTransfer {
		f |= FlagTransfer
	}
	if st.Indirect {
		f |= FlagIndirect
	}
	return f
}

// Observed is the newest reading of the registrar.
type Observed struct {
	// Known is false until a read succeeds.
	Known  bool
	Locked bool
	Flags  int
	// CheckedAt is when the newest successful read started.
	CheckedAt time.Time
	// Error is the newest registrar error, cleared by a newer successful read.
	Error   string
	ErrorAt time.Time
}

// Domain is one domain's record.
type Domain struct {
	Name     string
	Desired  Desired
	Observed Observed
	// Work is what reglock still owes the domain (filled by Get, the
	// reconcile scripts and the sweep's reads).
	Work Work
}

// InSync reports whether the registrar's lock equals the desired lock and the
// newest read had no error. The trade lock never makes a domain out of sync.
func (d Domain) InSync() bool {
	return d.Observed.Known && d.Observed.Error == "" && d.Observed.Locked == d.Desired.Locked
}

// Get returns a domain's record, with its work, or ErrNotFound.
func (s *Store) Get(ctx context.Context, domain string) (Domain, error) {
	k := s.keys(Bucket(domain))
	pipe := s.rdb.Pipeline()
	i := pipe.HGet(ctx, k[keyIntent], domain)
	o := pipe.HGet(ctx, k[keyObserved], domain)
	e := pipe.HGet(ctx, k[keyError], domain)
	w := pipe.HMGet(ctx, k[keyWork], "m:"+domain, "l:"+domain)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return Domain{}, err
	}
	if i.Err() != nil {
		return Domain{}, ErrNotFound
	}
	d, err := decodeDomain(domain, i.Val(), o.Val(), e.Val())
	if err != nil {
		return d, err
	}
	if m, ok := w.Val()[0].(string); ok {
		d.Work.Mark, d.Work.Pending = parseMark(m), true
	}
	if l, ok := w.Val()[1].(string); ok {
		d.Work.LeaseUntil = leaseUntil(l)
	}
	return d, nil
}

// Desired returns a domain's intent alone, with one plain HGET: what a
// worker needs to see that a task's generation is the current one.
func (s *Store) Desired(ctx context.Context, domain string) (Desired, error) {
	v, err := s.rdb.HGet(ctx, s.keys(Bucket(domain))[keyIntent], domain).Result()
	if errors.Is(err, redis.Nil) {
		return Desired{}, ErrNotFound
	}
	if err != nil {
		return Desired{}, err
	}
	d, err := decodeIntent(v)
	if err != nil {
		return Desired{}, fmt.Errorf("store: domain %s: %w", domain, err)
	}
	return d, nil
}

func decodeDomain(name, intent, obs, errv string) (Domain, error) {
	d := Domain{Name: name}
	var err error
	if d.Desired, err = decodeIntent(intent); err != nil {
		return Domain{}, fmt.Errorf("store: domain %s: %w", name, err)
	}
	if obs != "" {
		if d.Observed, err = decodeObservation(obs); err != nil {
			return Domain{}, fmt.Errorf("store: domain %s: %w", name, err)
		}
	}
	if errv != "" {
		ts, msg, _ := strings.Cut(errv, "|")
		d.Observed.Error = msg
		d.Observed.ErrorAt = msTime(ts)
	}
	return d, nil
}

// decodeIntent parses
// provider|locked|generation|requested_ms|trade|relock_ms|trade_ms|consent_ip|transfer;
// records written before trade_ms and consent_ip existed have six fields,
// before transfer ("t": an unlock for a transfer away) eight.
func decodeIntent(v string) (Desired, error) {
	var f [9]string
	if n := splitFields(v, f[:]); n != len(f) && n != 8 && n != 6 {
		return Desired{}, fmt.Errorf("intent %q has %d fields, want %d", v, n, len(f))
	}
	gen, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil {
		return Desired{}, fmt.Errorf("intent %q: generation: %w", v, err)
	}
	d := Desired{
		Provider:    f[0],
		Locked:      f[1] == "1",
		Generation:  gen,
		RequestedAt: msTime(f[3]),
		RelockAt:    msTime(f[5]),
		ForTransfer: f[8] == "t",
	}
	if t := f[4]; len(t) == 2 {
		on := t[0] == '1'
		d.TradeLock = &on
		d.TradeApplied = t[1] == 'a'
		d.TradeRequestedAt = msTime(f[6])
		if d.TradeRequestedAt.IsZero() {
			d.TradeRequestedAt = d.RequestedAt
		}
		d.ConsentIP = f[7]
	}
	return d, nil
}

// decodeObservation parses locked|read_ms|flags.
func decodeObservation(v string) (Observed, error) {
	var f [3]string
	if n := splitFields(v, f[:]); n != len(f) {
		return Observed{}, fmt.Errorf("observation %q has %d fields, want %d", v, n, len(f))
	}
	flags, _ := strconv.Atoi(f[2])
	return Observed{Known: true, Locked: f[0] == "1", CheckedAt: msTime(f[1]), Flags: flags}, nil
}

// splitFields splits v on '|' into f without allocating and returns the
// number of fields found.
func splitFields(v string, f []string) int {
	n := 0
	for n < len(f) {
		i := strings.IndexByte(v, '|')
		if i < 0 {
			f[n] = v
			return n + 1
		}
		f[n], v = v[:i], v[i+1:]
		n++
	}
	return n + 1 // more fields than expected
}

func msTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func timeMS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// occupiedKey is a bitmap of the buckets that hold at least one domain
// (2 KiB): listings and sweeps skip the empty ones, which is most of them in
// a small installation. Bits are only ever set, before a domain is added.
func (s *Store) occupiedKey() string { return s.prefix + "occupied" }

// op adds one command to a pipeline and returns it. An op may run twice:
// it must store its command where the caller reads it, each time.
type op func(redis.Pipeliner) redis.Cmder

// runPipeline runs ops in one round trip. Scripts go as EVALSHA; the
// commands Redis answers NOSCRIPT (after a restart or a failover, or on a
// cluster node that has not seen the script yet) did not run, so those
// alone run again once the scripts are loaded.
func runPipeline(ctx context.Context, rdb redis.UniversalClient, ops []op, scripts ...*redis.Script) error {
	for attempt := 0; ; attempt++ {
		p := rdb.Pipeline()
		cmds := make([]redis.Cmder, len(ops))
		for i, o := range ops {
			cmds[i] = o(p)
		}
		_, err := p.Exec(ctx)
		if err == nil {
			return nil
		}
		var again []op
		for i, c := range cmds {
			switch cerr := c.Err(); {
			case cerr == nil, errors.Is(cerr, redis.Nil):
			case redis.HasErrorPrefix(cerr, "NOSCRIPT") && attempt == 0:
				again = append(again, ops[i])
			default:
				return cerr
			}
		}
		if len(again) == 0 {
			return nil
		}
		for _, sc := range scripts {
			if err := sc.Load(ctx, rdb).Err(); err != nil {
				return err
			}
		}
		ops = again
	}
}

// runScript runs one script, with the commands in also in the same round
// trip: alone it needs no pipeline (Run loads the script if Redis lost it).
// The script's own errors are the returned command's.
func (s *Store) runScript(ctx context.Context, sc *redis.Script, keys []string, args []any, also []func(redis.Pipeliner) redis.Cmder) (*redis.Cmd, error) {
	if len(also) == 0 {
		return sc.Run(ctx, s.rdb, keys, args...), nil
	}
	var cmd *redis.Cmd
	ops := []op{func(p redis.Pipeliner) redis.Cmder { cmd = sc.EvalSha(ctx, p, keys, args...); return cmd }}
	for _, a := range also {
		ops = append(ops, a)
	}
	// also may record history events (audit.Log.Append): their script
	// is loaded again too if Redis lost it.
	if err := runPipeline(ctx, s.rdb, ops, sc, appendHistoryScript); err != nil {
		return nil, err
	}
	return cmd, nil
}

// CountByProvider returns how many domains each provider has in the
// inventory, summed over the buckets' counters in a few round trips.
func (s *Store) CountByProvider(ctx context.Context) (map[string]int64, error) {
	bitmap, err := s.occupied(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	const batch = 1024
	for first := 0; first < Buckets; first += batch {
		pipe := s.rdb.Pipeline()
		var cmds []*redis.MapStringStringCmd
		for b := first; b < min(first+batch, Buckets); b++ {
			if isOccupied(bitmap, b) {
				cmds = append(cmds, pipe.HGetAll(ctx, s.keys(b)[keyCounts]))
			}
		}
		if len(cmds) == 0 {
			continue
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, err
		}
		for _, c := range cmds {
			for p, v := range c.Val() {
				n, _ := strconv.ParseInt(v, 10, 64)
				out[p] += n
			}
		}
	}
	return out, nil
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.rdb.Ping(ctx).Err()
}

// GetMany returns the records of many domains, with their work, in one
// round trip, in order; a domain that is not in the inventory comes back
// with an empty Name.
func (s *Store) GetMany(ctx context.Context, names []string) ([]Domain, error) {
	if len(names) == 0 {
		return nil, nil
	}
	type get struct {
		i, o, e *redis.StringCmd
		w       *redis.SliceCmd
	}
	gets := make([]get, len(names))
	pipe := s.rdb.Pipeline()
	for n, name := range names {
		k := s.keys(Bucket(name))
		gets[n] = get{pipe.HGet(ctx, k[keyIntent], name), pipe.HGet(ctx, k[keyObserved], name), pipe.HGet(ctx, k[keyError], name),
			pipe.HMGet(ctx, k[keyWork], "m:"+name, "l:"+name)}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, err
	}
	out := make([]Domain, len(names))
	for n, g := range gets {
		if g.i.Val() == "" {
			continue
		}
		d, err := decodeDomain(names[n], g.i.Val(), g.o.Val(), g.e.Val())
		if err != nil {
			return nil, err
		}
		w := g.w.Val()
		if m, ok := w[0].(string); ok {
			d.Work.Mark, d.Work.Pending = parseMark(m), true
		}
		if l, ok := w[1].(string); ok {
			d.Work.LeaseUntil = leaseUntil(l)
		}
		out[n] = d
	}
	return out, nil
}
