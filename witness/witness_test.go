package witness

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/rdap"
	"github.com/reglock/reglock/store"
)

type fakeRegistry struct {
	d   rdap.Domain
	err error
}

func (f fakeRegistry) Lookup(context.Context, string) (rdap.Domain, error) { return f.d, f.err }

type fakeViews struct{ got []store.RegistryView }

func (f *fakeViews) SetRegistryView(_ context.Context, v store.RegistryView) error {
	f.got = append(f.got, v)
	return nil
}

type fakeReactions struct {
	events   []audit.Event
	alarms   int
	rechecks int
}

func (f *fakeReactions) Record(_ context.Context, _ zerolog.Logger, e audit.Event) {
	f.events = append(f.events, e)
}

func (f *fakeReactions) WatchTransfer(_ context.Context, _ zerolog.Logger, d store.Domain, st providers.State) bool {
	if st.PendingTransfer && d.Desired.Locked {
		f.alarms++
		return true
	}
	return false
}

func (f *fakeReactions) Recheck(context.Context, store.Domain) error { f.rechecks++; return nil }

// Every comparison the witness makes, and what it does about each: only a
// fresh registry answer that disagrees with the registrar's reading is a
// disagreement, and then the registrar is read again; nothing else acts.
func TestWitness_Compare(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	intentAt := now.Add(-time.Hour)
	locked := store.Domain{Name: "example.com", Desired: store.Desired{Provider: "enom", Locked: true, Generation: 4, RequestedAt: intentAt},
		Observed: store.Observed{Known: true, Locked: true, CheckedAt: now}}
	fresh := now.Add(-time.Minute)
	old := locked
	old.Desired.RequestedAt = now.Add(-48 * time.Hour)
	for _, c := range []struct {
		name     string
		d        store.Domain
		registry fakeRegistry
		want     Outcome
		events   int
		rechecks int
		alarms   int
		views    int
	}{
		{"agrees", locked, fakeRegistry{d: rdap.Domain{TransferProhibited: true, DatabaseUpdated: fresh}}, Agrees, 0, 0, 0, 1},
		{"registry says not locked", locked, fakeRegistry{d: rdap.Domain{DatabaseUpdated: fresh}}, Disagrees, 1, 1, 0, 1},
		{"registry older than the intent (lag)", locked, fakeRegistry{d: rdap.Domain{DatabaseUpdated: intentAt.Add(-time.Second)}}, Stale, 0, 0, 0, 1},
		{"registry older than freshness", old, fakeRegistry{d: rdap.Domain{DatabaseUpdated: now.Add(-30 * time.Minute)}}, Stale, 0, 0, 0, 1},
		{"within freshness", old, fakeRegistry{d: rdap.Domain{DatabaseUpdated: now.Add(-10 * time.Minute)}}, Disagrees, 1, 1, 0, 1},
		{"no date: taken as now", locked, fakeRegistry{d: rdap.Domain{}}, Disagrees, 1, 1, 0, 1},
		{"pending transfer", locked, fakeRegistry{d: rdap.Domain{PendingTransfer: true, DatabaseUpdated: fresh}}, TransferSeen, 0, 0, 1, 1},
		{"no RDAP for the TLD", locked, fakeRegistry{err: rdap.ErrNoService}, NoService, 0, 0, 0, 0},
		{"429", locked, fakeRegistry{err: &providers.RetryAfterError{After: time.Second, Err: errors.New("429")}}, Unreadable, 0, 0, 0, 0},
		{"registrar unreadable", store.Domain{Name: "x.com", Desired: locked.Desired, Observed: store.Observed{Error: "timeout"}},
			fakeRegistry{d: rdap.Domain{DatabaseUpdated: fresh}}, NotCompared, 0, 0, 0, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			views, re := &fakeViews{}, &fakeReactions{}
			w := &Witness{Registry: c.registry, Views: views, Reactions: re, Freshness: 15 * time.Minute, Clock: clock.NewManual(now)}
			if got := w.Compare(context.Background(), c.d); got != c.want {
				t.Fatalf("Compare = %s, want %s", got, c.want)
			}
			if len(re.events) != c.events || re.rechecks != c.rechecks || re.alarms != c.alarms || len(views.got) != c.views {
				t.Fatalf("events %d rechecks %d alarms %d views %d; want %d %d %d %d",
					len(re.events), re.rechecks, re.alarms, len(views.got), c.events, c.rechecks, c.alarms, c.views)
			}
			if c.events > 0 {
				if e := re.events[0]; e.Kind != audit.KindRegistryDisagrees || e.Before != "locked" || e.After != "unlocked" || e.Generation != 4 {
					t.Fatalf("event = %+v", e)
				}
			}
		})
	}
}
