package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/clock"
)

// The store's identity: one small hash, <prefix>store, written when an
// installation first runs and never again except to record a loss and its
// resolution:
//
//	id           a random name for this incarnation of the store
//	created_at   when the marker was written (ms, Redis's own clock)
//	state        ok | lost
//	lost_id      for a marker written because the previous one was gone:
//	             the id the processes knew
//	detected_at  when a process found the loss (ms)
//	resolved_at  when an operator restored the store or accepted it (ms)
//	resolution   how: "restore" or "accept-empty"
//
// Every long-running process adopts the marker at start (Adopt) and looks
// at it every few seconds (IdentityWatch). The data and the marker live and
// die together: a FLUSHALL, a Redis restarted without persistence, a
// failover to an empty replica take the marker with the inventory. A
// process that finds its marker gone knows the store it worked for is lost,
// and says so in a new marker (state lost), which every other process, and
// every process started later, follows: no process fixes anything or
// records anything until an operator restores the store from an export or
// accepts it as it is (`reglock restore`).
//
// What the marker cannot tell: a store wiped while no process was running
// looks like a fresh installation (nobody is left who remembers the old id).
// The id is exported as a metric label (reglock_store_info) so that
// Prometheus, which does remember, can alert on it changing.

// IdentityState is what a process knows of the store it talks to.
type IdentityState string

// The identity states.
const (
	// StateUnknown: no marker seen yet (a one-shot command on a store that
	// has none: a fresh installation, or a loss nobody has noticed yet).
	StateUnknown IdentityState = ""
	// StateOK: the store is the one the process adopted.
	StateOK IdentityState = "ok"
	// StateLost: the store was wiped; nothing is fixed or recorded until an
	// operator restores it or accepts it.
	StateLost IdentityState = "lost"
	// StateReplaced: Redis now holds another installation's store (a wrong
	// database number, another Redis behind the same address). The process
	// writes nothing to it and stays so until it is restarted.
	StateReplaced IdentityState = "replaced"
)

// Identity is the store's marker as stored.
type Identity struct {
	ID         string
	CreatedAt  time.Time
	State      IdentityState // StateOK or StateLost
	LostID     string
	DetectedAt time.Time
	ResolvedAt time.Time
	Resolution string
}

// ErrStoreLost is what every refusal while the store is lost or replaced
// wraps (errors.Is).
var ErrStoreLost = errors.New("store lost")

// IdentityError explains why a process refuses to work on its store.
type IdentityError struct {
	State IdentityState
	// Adopted is the id this process worked for.
	Adopted string
	Marker  Identity
}

func (e *IdentityError) Error() string {
	if e.State == StateReplaced {
		return fmt.Sprintf("store replaced: this process works for store %s, but Redis now holds store %s (created %s): "+
			"check redis.url (its database number) and the namespace, then restart this process; it writes nothing until then",
			e.Adopted, e.Marker.ID, stamp(e.Marker.CreatedAt))
	}
	lost := e.Marker.LostID
	if lost == "" {
		lost = "?"
	}
	return fmt.Sprintf("store lost at %s (marker %s gone): restore with `reglock restore FILE` or accept with `reglock restore --accept-empty`",
		stamp(e.Marker.DetectedAt), lost)
}

// Is makes errors.Is(err, ErrStoreLost) hold.
func (e *IdentityError) Is(target error) bool { return target == ErrStoreLost }

func stamp(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}

func (s *Store) identityKey() string { return s.prefix + "store" }

// identifyScript returns the marker, with Redis's time first, writing it
// first if it is missing and an id to write is given.
//
// KEYS: marker. ARGV: id (or "": only read), state, lost_id.
// Returns {now_ms, field, value, ...}.
var identifyScript = redis.NewScript(`
local t = redis.call("TIME")
local now = string.format("%.0f", tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if ARGV[1] ~= "" and redis.call("EXISTS", KEYS[1]) == 0 then
  local detected = ""
  if ARGV[2] == "lost" then detected = now end
  redis.call("HSET", KEYS[1], "id", ARGV[1], "created_at", now, "state", ARGV[2], "lost_id", ARGV[3], "detected_at", detected)
end
local out = redis.call("HGETALL", KEYS[1])
table.insert(out, 1, now)
return out
`)

// markLostScript turns an ok marker with a given id into a lost one: a
// store that was wiped and re-initialised (by a process started in between)
// before this process looked. KEYS: marker. ARGV: id lost_id. Returns like
// identifyScript.
var markLostScript = redis.NewScript(`
local t = redis.call("TIME")
local now = string.format("%.0f", tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local cur = redis.call("HMGET", KEYS[1], "id", "state")
if cur[1] == ARGV[1] and cur[2] == "ok" then
  redis.call("HSET", KEYS[1], "state", "lost", "lost_id", ARGV[2], "detected_at", now)
end
local out = redis.call("HGETALL", KEYS[1])
table.insert(out, 1, now)
return out
`)

// resolveScript records an operator's restore or acceptance: the marker
// becomes ok under its id (or is created, ok, if there is none).
// KEYS: marker. ARGV: new_id resolution. Returns like identifyScript.
var resolveScript = redis.NewScript(`
local t = redis.call("TIME")
local now = string.format("%.0f", tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
if redis.call("EXISTS", KEYS[1]) == 0 then
  redis.call("HSET", KEYS[1], "id", ARGV[1], "created_at", now, "state", "ok")
end
redis.call("HSET", KEYS[1], "state", "ok", "resolved_at", now, "resolution", ARGV[2])
local out = redis.call("HGETALL", KEYS[1])
table.insert(out, 1, now)
return out
`)

// newStoreID returns a fresh random marker id.
func newStoreID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runIdentity runs one of the marker scripts and decodes its reply: the
// marker (ok false if there is none) and Redis's time.
func (s *Store) runIdentity(ctx context.Context, sc *redis.Script, args ...any) (Identity, bool, int64, error) {
	res, err := sc.Run(ctx, s.rdb, []string{s.identityKey()}, args...).StringSlice()
	if err != nil {
		return Identity{}, false, 0, err
	}
	if len(res) == 0 {
		return Identity{}, false, 0, errors.New("store: empty reply from the identity script")
	}
	now, _ := strconv.ParseInt(res[0], 10, 64)
	if len(res) == 1 {
		return Identity{}, false, now, nil
	}
	f := map[string]string{}
	for i := 1; i+1 < len(res); i += 2 {
		f[res[i]] = res[i+1]
	}
	return Identity{ID: f["id"], CreatedAt: msTime(f["created_at"]), State: IdentityState(f["state"]), LostID: f["lost_id"],
		DetectedAt: msTime(f["detected_at"]), ResolvedAt: msTime(f["resolved_at"]), Resolution: f["resolution"]}, true, now, nil
}

// Identity returns the store's marker, and false if it has none. It writes
// nothing.
func (s *Store) Identity(ctx context.Context) (Identity, bool, error) {
	id, ok, _, err := s.runIdentity(ctx, identifyScript, "", "", "")
	return id, ok, err
}

// Identify returns the store's marker, writing a new one (state ok) if it
// has none: a fresh installation, or one from before the marker existed.
// A long-running process calls it at start (IdentityWatch.Adopt).
func (s *Store) Identify(ctx context.Context) (Identity, error) {
	id, _, _, err := s.runIdentity(ctx, identifyScript, newStoreID(), string(StateOK), "")
	return id, err
}

// Resolution names how an operator made a lost store good again.
const (
	ResolvedByRestore = "restore"
	ResolvedByAccept  = "accept-empty"
)

// Resolve records that an operator restored the store (ResolvedByRestore)
// or accepted it as it is (ResolvedByAccept): its marker becomes ok under
// the same id, so that every running process turns ready again within its
// watch interval. A store without a marker gets one.
func (s *Store) Resolve(ctx context.Context, how string) (Identity, error) {
	id, _, _, err := s.runIdentity(ctx, resolveScript, newStoreID(), how)
	return id, err
}

// IdentityStatus is what an IdentityWatch knows.
type IdentityStatus struct {
	State IdentityState
	// Adopted is the id of the store this process works for ("" until a
	// marker was seen).
	Adopted string
	// Marker is the marker as last read.
	Marker Identity
}

// Lost reports whether the process must refuse to work: the store is lost
// or replaced.
func (st IdentityStatus) Lost() bool { return st.State == StateLost || st.State == StateReplaced }

// DefaultIdentityInterval is how often a running process looks at the
// store's marker.
const DefaultIdentityInterval = 5 * time.Second

// IdentityWatch keeps a process's view of the store's identity: whether
// Redis still holds the store the process adopted. Its Verify is what every
// refusal asks (the API's writes and /readyz, the worker's tasks, the
// scheduler's sweeps, an import); Run looks every Interval.
//
// A watch that was never started (neither Adopt, Check nor Run called)
// reports ok and touches Redis for nothing: the simulation and the unit
// tests that build a system run without one.
type IdentityWatch struct {
	Store *Store
	// Clock is the time source (the wall clock if nil).
	Clock clock.Clock
	// Interval is how often Run looks (DefaultIdentityInterval if zero).
	Interval time.Duration
	// MaxAge is how old a look Verify accepts before it looks again (one
	// second if zero): a task or a request arriving just after a wipe sees
	// it within that long, without a round trip each.
	MaxAge time.Duration
	// OnChange, if set, is called after the state changed (not under any
	// lock of the watch's state), except for the first adoption of an ok
	// store: the process logs it.
	OnChange func(from, to IdentityStatus)

	check    sync.Mutex // one look at a time
	mu       sync.Mutex
	status   IdentityStatus
	active   bool
	lastLook time.Time
	// seenMS is Redis's time when the adopted marker was last seen: a
	// marker created after it was created after this process last saw its
	// own, so the store was wiped in between.
	seenMS int64
}

func (w *IdentityWatch) clock() clock.Clock { return clock.Or(w.Clock) }

// Status returns what the watch knows.
func (w *IdentityWatch) Status() IdentityStatus {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.status
}

// State returns the state.
func (w *IdentityWatch) State() IdentityState { return w.Status().State }

// Err returns an *IdentityError while the store is lost or replaced, else
// nil. It does not look at Redis.
func (w *IdentityWatch) Err() error {
	st := w.Status()
	if !st.Lost() {
		return nil
	}
	return &IdentityError{State: st.State, Adopted: st.Adopted, Marker: st.Marker}
}

// Verify returns Err after a look at the marker, unless the last look
// (successful or not) is younger than MaxAge: callers arriving together
// share one look. A look that fails (Redis unreachable) leaves the state as
// it was: reaching Redis is another check's business.
func (w *IdentityWatch) Verify(ctx context.Context) error {
	if w.stale() {
		w.check.Lock()
		if w.stale() {
			lctx, cancel := context.WithTimeout(ctx, lookTimeout)
			_, _ = w.lookLocked(lctx)
			cancel()
		}
		w.check.Unlock()
	}
	return w.Err()
}

// lookTimeout bounds a look made for Verify: with Redis unreachable, the
// caller learns it from its own work soon enough.
const lookTimeout = 2 * time.Second

// stale reports whether the watch is started and its last look is older
// than MaxAge.
func (w *IdentityWatch) stale() bool {
	maxAge := w.MaxAge
	if maxAge <= 0 {
		maxAge = time.Second
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.active && w.clock().Now().Sub(w.lastLook) >= maxAge
}

// Adopt makes the store's marker this process's, writing one if there is
// none (a fresh installation, or an upgrade from before the marker). A lost
// marker is adopted as lost: a process started while the store is lost
// refuses to work too.
func (w *IdentityWatch) Adopt(ctx context.Context) (IdentityState, error) {
	w.check.Lock()
	defer w.check.Unlock()
	if st := w.Status(); st.Adopted != "" {
		return w.lookLocked(ctx)
	}
	m, _, now, err := w.Store.runIdentity(ctx, identifyScript, newStoreID(), string(StateOK), "")
	if err != nil {
		return w.State(), err
	}
	w.set(IdentityStatus{State: m.State, Adopted: m.ID, Marker: m}, now)
	return m.State, nil
}

// Check looks at the marker once and returns the state it leads to:
//
//   - the marker is the adopted one: its state (lost until an operator
//     restores or accepts the store, then ok);
//   - the marker is gone: the store was wiped under this process; it writes
//     a lost marker (unless another process just did) and adopts it;
//   - another marker written for the loss of the adopted one: adopted;
//   - another marker created since this process last saw its own: the
//     store was wiped and re-initialised meanwhile (a process started in
//     between): lost, unless an operator has restored it already;
//   - any other marker: replaced, until the process restarts.
//
// Before anything was adopted (a one-shot command), a marker is adopted as
// it is and a missing one leaves the state unknown.
func (w *IdentityWatch) Check(ctx context.Context) (IdentityState, error) {
	w.check.Lock()
	defer w.check.Unlock()
	return w.lookLocked(ctx)
}

func (w *IdentityWatch) lookLocked(ctx context.Context) (IdentityState, error) {
	st := w.Status()
	if st.State == StateReplaced {
		return st.State, nil // until the process restarts
	}
	newID := ""
	if st.Adopted != "" {
		newID = newStoreID() // written only if the marker is gone
	}
	m, ok, now, err := w.Store.runIdentity(ctx, identifyScript, newID, string(StateLost), st.Adopted)
	w.mu.Lock()
	w.active, w.lastLook = true, w.clock().Now()
	seen := w.seenMS
	w.mu.Unlock()
	if err != nil {
		return st.State, err
	}
	switch {
	case !ok:
		// Nothing adopted, nothing there.
		return st.State, nil
	case st.Adopted == "", m.ID == st.Adopted, m.LostID != "" && m.LostID == st.Adopted:
		w.set(IdentityStatus{State: m.State, Adopted: m.ID, Marker: m}, now)
	case m.CreatedAt.UnixMilli() >= seen:
		if m.State == StateOK && m.ResolvedAt.IsZero() {
			if m, _, now, err = w.Store.runIdentity(ctx, markLostScript, m.ID, st.Adopted); err != nil {
				return st.State, err
			}
		}
		w.set(IdentityStatus{State: m.State, Adopted: m.ID, Marker: m}, now)
	default:
		w.set(IdentityStatus{State: StateReplaced, Adopted: st.Adopted, Marker: m}, 0)
	}
	return w.State(), nil
}

// set records a new status (and, with nowMS, that the adopted marker was
// seen at that time), and reports a change.
func (w *IdentityWatch) set(st IdentityStatus, nowMS int64) {
	w.mu.Lock()
	from := w.status
	w.status, w.active, w.lastLook = st, true, w.clock().Now()
	if nowMS > 0 {
		w.seenMS = nowMS
	}
	w.mu.Unlock()
	if from.State != st.State && (from.State != StateUnknown || st.State != StateOK) && w.OnChange != nil {
		w.OnChange(from, st)
	}
}

// Run looks at the marker every Interval until ctx ends. Call Adopt first.
func (w *IdentityWatch) Run(ctx context.Context) {
	iv := w.Interval
	if iv <= 0 {
		iv = DefaultIdentityInterval
	}
	for w.clock().Sleep(ctx, iv) == nil {
		_, _ = w.Check(ctx)
	}
}
