// Package audit is the record of what happened to each domain: every intent
// accepted (who asked, with which token, why), every change reglock made at
// a registrar, every drift it confirmed, every registrar error and the
// recovery after it, every relock, and its forgetting.
//
// Each domain has a history of its own, a Redis stream in its store bucket
// (see store/history.go for the layout and the fields), bounded per domain
// and expiring after a retention, so one domain's history never depends on
// how busy the others are. The store's scripts record intents, relocks,
// errors and recoveries in the same atomic step as the change itself; this
// package records the rest (changes, drift, forgetting) and reads it all.
package audit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/store"
)

// Kinds of events.
const (
	KindIntent    = store.HistoryIntent
	KindRelock    = store.HistoryRelock
	KindChange    = store.HistoryChange
	KindDrift     = store.HistoryDrift
	KindError     = store.HistoryError
	KindRecovery  = store.HistoryRecovery
	KindForgotten = store.HistoryForgotten
	KindGone      = store.HistoryGone
	// KindTransferPending is the transfer-out alarm; KindTransferred a
	// transfer away done after an unlock for it.
	KindTransferPending = store.HistoryTransferPending
	KindTransferred     = store.HistoryTransferred
	// KindRegistryDisagrees: the second witness (RDAP) disagreed.
	KindRegistryDisagrees = store.HistoryRegistryDisagrees
)

// Event is one entry of a domain's history.
type Event struct {
	// ID is the entry's stream ID (a cursor); empty until recorded.
	ID         string
	Time       time.Time
	Kind       string
	Domain     string
	Provider   string
	Generation int64
	// Intent is lock, unlock or trade (KindIntent); Source says where it
	// came from: record (API, CLI), task (a producer's own task), import,
	// restore.
	Intent, Source string
	// Trade is the trade lock setting asked for, "1" or "0" (Intent trade).
	Trade       string
	RequestedBy string
	Reason      string
	// Token names the API token or CLI identity that asked.
	Token    string
	RelockAt time.Time
	// ForTransfer marks an unlock asked for a transfer away.
	ForTransfer bool
	// Before and After are "locked", "unlocked" or, for the trade lock,
	// "trade_lock:on" / "trade_lock:off" (KindChange, KindDrift).
	Before, After string
	// Cause is request, sweep or relock (tasks.Cause*).
	Cause   string
	SweepID string
	TaskID  string
	// Error is the registrar's error (KindError).
	Error string
}

// Log reads and writes domains' histories. It is safe for concurrent use.
type Log struct {
	store *store.Store
}

// New returns the histories kept in s's Redis, with its limits.
func New(s *store.Store) *Log { return &Log{store: s} }

// Record appends an event. Time defaults to now.
func (l *Log) Record(ctx context.Context, e Event) error {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	return l.store.RecordHistory(ctx, e.Domain, e.Time, encode(e)...)
}

// Append adds the event to c, a pipeline, so that writing the history
// costs no round trip of its own. Run the pipeline as the store runs the
// commands that go with its scripts (store's runScript), which loads the
// history's script again if Redis lost it.
func (l *Log) Append(ctx context.Context, c redis.Scripter, e Event) redis.Cmder {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	return l.store.AppendHistory(ctx, c, e.Domain, e.Time, encode(e)...)
}

// encode writes the fields store/history.go documents, leaving out empty
// ones; the store adds the time.
func encode(e Event) []string {
	v := []string{"kind", e.Kind, "gen", strconv.FormatInt(e.Generation, 10)}
	add := func(k, s string) {
		if s != "" {
			v = append(v, k, s)
		}
	}
	add("provider", e.Provider)
	add("intent", e.Intent)
	add("source", e.Source)
	add("trade", e.Trade)
	add("by", e.RequestedBy)
	add("reason", e.Reason)
	add("token", e.Token)
	if !e.RelockAt.IsZero() {
		add("relock", strconv.FormatInt(e.RelockAt.UnixMilli(), 10))
	}
	if e.ForTransfer {
		add("transfer", "t")
	}
	add("before", e.Before)
	add("after", e.After)
	add("cause", e.Cause)
	add("sweep", e.SweepID)
	add("task", e.TaskID)
	add("error", e.Error)
	return v
}

func decode(domain string, m store.HistoryEntry) Event {
	s := func(k string) string { return m.Fields[k] }
	ms := func(k string) time.Time {
		n, err := strconv.ParseInt(s(k), 10, 64)
		if err != nil || n <= 0 {
			return time.Time{}
		}
		return time.UnixMilli(n).UTC()
	}
	gen, _ := strconv.ParseInt(s("gen"), 10, 64)
	return Event{
		ID: m.ID, Time: ms("time"), Kind: s("kind"), Domain: domain, Provider: s("provider"), Generation: gen,
		Intent: s("intent"), Source: s("source"), Trade: s("trade"), RequestedBy: s("by"), Reason: s("reason"),
		Token: s("token"), RelockAt: ms("relock"), ForTransfer: s("transfer") == "t", Before: s("before"), After: s("after"), Cause: s("cause"),
		SweepID: s("sweep"), TaskID: s("task"), Error: s("error"),
	}
}

// MaxPage is the most events History returns at once.
const MaxPage = 1000

// ErrBadCursor is returned for a cursor History did not give out.
var ErrBadCursor = errors.New("bad cursor")

// History returns up to limit of a domain's events, newest first, starting
// after cursor (empty: the newest), and the cursor of the next page ("" at
// the end).
func (l *Log) History(ctx context.Context, domain, cursor string, limit int) ([]Event, string, error) {
	if limit <= 0 || limit > MaxPage {
		limit = 100
	}
	if cursor != "" && !validID(cursor) {
		return nil, "", fmt.Errorf("%w %q: pass the next_cursor of the previous page", ErrBadCursor, cursor)
	}
	msgs, err := l.store.HistoryPage(ctx, domain, cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(msgs) > limit {
		msgs = msgs[:limit]
		next = msgs[limit-1].ID
	}
	out := make([]Event, len(msgs))
	for i, m := range msgs {
		out[i] = decode(domain, m)
	}
	return out, next, nil
}

// validID reports whether s is a stream ID (ms-seq).
func validID(s string) bool {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return false
	}
	_, err1 := strconv.ParseUint(a, 10, 64)
	_, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil
}

// IntentOf returns the event that recorded a domain's intent at generation
// gen (who asked for it, and why), looking through the newest events only
// (a generation has long been recorded by the time many events follow it).
func (l *Log) IntentOf(ctx context.Context, domain string, gen int64) (Event, bool, error) {
	events, _, err := l.History(ctx, domain, "", 200)
	if err != nil {
		return Event{}, false, err
	}
	for _, e := range events {
		if (e.Kind == KindIntent || e.Kind == KindRelock) && e.Generation == gen {
			return e, true, nil
		}
	}
	return Event{}, false, nil
}

// Export calls fn with every event recorded at or after since, in every
// domain's history (forgotten domains' too, until their histories
// expire): one domain after another, each oldest first. It is how the
// record is shipped out of Redis (`reglock audit export`); a shipper that
// runs again from the start time of its previous run gets every event at
// least once.
func (l *Log) Export(ctx context.Context, since time.Time, fn func(Event) error) error {
	return l.store.ScanHistories(ctx, func(domain string) error {
		// Newest first from the store, page by page, until an event
		// before since; then handed out oldest first. A history holds
		// about audit.history_max events.
		var events []Event
		cursor := ""
		for {
			msgs, err := l.store.HistoryPage(ctx, domain, cursor, 1000)
			if err != nil {
				return err
			}
			done := len(msgs) < 1000
			for _, m := range msgs {
				e := decode(domain, m)
				if !since.IsZero() && idTime(e.ID).Before(since) {
					done = true
					break
				}
				events = append(events, e)
			}
			if done {
				break
			}
			cursor = msgs[len(msgs)-1].ID
		}
		for i := len(events) - 1; i >= 0; i-- {
			if err := fn(events[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

// idTime is the time an entry's id carries (its ms part): the order the
// history is in, which since compares with.
func idTime(id string) time.Time {
	ms, _, _ := strings.Cut(id, "-")
	n, _ := strconv.ParseInt(ms, 10, 64)
	return time.UnixMilli(n)
}
