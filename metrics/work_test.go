package metrics

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/reglock/reglock/redistest"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
)

// gauges returns the gauges of the named metric by their labels.
func gauges(t *testing.T, m *Metrics, name string) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			key := ""
			for _, l := range s.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + ","
			}
			out[key] = s.GetGauge().GetValue()
		}
	}
	return out
}

func near(got, want float64) bool { return math.Abs(got-want) < 30 }

// The owed work figures: a lock asked for 7 hours ago and never confirmed
// (whatever its tasks did) shows as owed and 7 hours old; an unlock
// window that ended 40 minutes ago without its relock shows as an overdue
// relock; one ending later does not. Nothing owed reads as zeros.
func TestWatchWork(t *testing.T) {
	env := redistest.New(t)
	st := store.New(env.Client, env.StorePrefix())
	m := New()
	m.WatchWork(st)
	for kind, v := range gauges(t, m, "reglock_owed_work") {
		if v != 0 {
			t.Errorf("an empty store owes %s%v", kind, v)
		}
	}
	if g := gauges(t, m, "reglock_relock_overdue_seconds"); g[""] != 0 {
		t.Errorf("an empty store: reglock_relock_overdue_seconds = %v", g)
	}

	ctx := context.Background()
	now := time.Now()
	for _, c := range []store.Change{
		{Domain: "a.com", Kind: store.KindLock, Provider: "p", RequestedAt: now.Add(-7 * time.Hour), Work: &store.WorkNote{Kind: store.MarkLock}},
		{Domain: "b.com", Kind: store.KindUnlock, Provider: "p", RequestedAt: now.Add(-2 * time.Hour), RelockAt: now.Add(-40 * time.Minute)},
		{Domain: "c.com", Kind: store.KindUnlock, Provider: "p", RequestedAt: now.Add(-2 * time.Hour), RelockAt: now.Add(time.Hour)},
	} {
		if _, _, err := st.Fold(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// A minute later: the figures the first collector left for every
	// process (store.SharedWorkStats) have expired.
	if err := env.Client.Del(ctx, env.StorePrefix()+"workstats", env.StorePrefix()+"workstats:lock").Err(); err != nil {
		t.Fatal(err)
	}
	m = New() // a collector that has not read the store yet
	m.WatchWork(st)
	owed, oldest := gauges(t, m, "reglock_owed_work"), gauges(t, m, "reglock_owed_work_oldest_age_seconds")
	if owed["kind=lock,"] != 1 || owed["kind=fix,"] != 0 || owed["kind=relock,"] != 0 || owed["kind=trade,"] != 0 {
		t.Errorf("reglock_owed_work = %v", owed)
	}
	if !near(oldest["kind=lock,"], 7*3600) || oldest["kind=fix,"] != 0 {
		t.Errorf("reglock_owed_work_oldest_age_seconds = %v", oldest)
	}
	if g := gauges(t, m, "reglock_unlock_windows"); g[""] != 2 {
		t.Errorf("reglock_unlock_windows = %v", g)
	}
	if g := gauges(t, m, "reglock_relocks_overdue"); g[""] != 1 {
		t.Errorf("reglock_relocks_overdue = %v", g)
	}
	if g := gauges(t, m, "reglock_relock_overdue_seconds"); !near(g[""], 40*60) {
		t.Errorf("reglock_relock_overdue_seconds = %v", g)
	}
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "reglock_work_metrics_errors_total" && mf.GetMetric()[0].GetCounter().GetValue() != 0 {
			t.Errorf("reglock_work_metrics_errors_total = %v", mf.GetMetric()[0].GetCounter().GetValue())
		}
	}
}

// The newest sweep of each kind: a sweep still running shows its start,
// how long it has run so far, state running (0 for the other states) and
// what it has read. (sweep's TestRecords_Newest follows a sweep to its
// end.)
func TestWatchSweeps_newest(t *testing.T) {
	env := redistest.New(t)
	r := sweep.New(env.Client, env.StorePrefix())
	m := New()
	m.WatchSweeps(r)
	if g := gauges(t, m, "reglock_sweep_state"); len(g) != 0 {
		t.Fatalf("no sweep yet: reglock_sweep_state = %v", g)
	}
	ctx := context.Background()
	now := time.Now()
	if _, err := r.Create(ctx, "s1", sweep.Options{Trigger: "schedule"}, now.Add(-90*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Commit(ctx, "s1", "u1", "", "c", false, sweep.Tally{"p": {Checked: 30, Errors: 3}}, sweep.Found{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, "f1", sweep.Options{Trigger: "freshness"}, now.Add(-10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Create(ctx, "m1", sweep.Options{Trigger: "api:ops"}, now.Add(-5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	state := gauges(t, m, "reglock_sweep_state")
	if state["kind=scheduled,state=running,"] != 1 || state["kind=scheduled,state=done,"] != 0 || state["kind=scheduled,state=paused,"] != 0 ||
		state["kind=freshness,state=running,"] != 1 || state["kind=manual,state=running,"] != 1 || len(state) != 9 {
		t.Errorf("reglock_sweep_state = %v", state)
	}
	if g := gauges(t, m, "reglock_sweep_duration_seconds"); !near(g["kind=scheduled,"], 90*60) || !near(g["kind=freshness,"], 10*60) {
		t.Errorf("reglock_sweep_duration_seconds = %v", g)
	}
	if g := gauges(t, m, "reglock_sweep_started_timestamp_seconds"); !near(g["kind=scheduled,"], float64(now.Add(-90*time.Minute).Unix())) {
		t.Errorf("reglock_sweep_started_timestamp_seconds = %v", g)
	}
	if g := gauges(t, m, "reglock_sweep_domains_read"); g["kind=scheduled,"] != 33 || g["kind=freshness,"] != 0 {
		t.Errorf("reglock_sweep_domains_read = %v", g)
	}
}
