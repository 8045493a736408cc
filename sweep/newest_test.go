package sweep

import (
	"context"
	"testing"
	"time"

	"github.com/reglock/reglock/redistest"
)

// Newest follows the newest sweep of each kind (scheduled, freshness,
// manual) as its record stands: running with its progress, then finished.
func TestRecords_Newest(t *testing.T) {
	env := redistest.New(t)
	r := New(env.Client, env.StorePrefix())
	ctx := context.Background()
	t0 := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

	got, err := r.Newest(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("no sweep yet: %v %v", got, err)
	}
	create := func(id, trigger string, at time.Time) {
		t.Helper()
		if ok, err := r.Create(ctx, id, Options{Trigger: trigger}, at); err != nil || !ok {
			t.Fatalf("Create %s: %v %v", id, ok, err)
		}
	}
	create("s1", "schedule", t0)
	create("f1", "freshness", t0.Add(time.Minute))
	create("m1", "api:ops", t0.Add(2*time.Minute))
	create("s2", "schedule", t0.Add(24*time.Hour))
	// Creating an older sweep's ID again starts nothing and moves nothing.
	if ok, err := r.Create(ctx, "s1", Options{Trigger: "schedule"}, t0.Add(25*time.Hour)); err != nil || ok {
		t.Fatalf("Create s1 again: %v %v", ok, err)
	}
	if _, _, err := r.Commit(ctx, "s2", "u1", "", "c1", false, Tally{"p": {Checked: 40, Errors: 2}}, Found{}); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.finish(ctx, "f1", StateRunning, StateDone, nil, nil, 0, t0.Add(3*time.Minute)); err != nil || !ok {
		t.Fatalf("finish f1: %v %v", ok, err)
	}
	got, err = r.Newest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("Newest = %+v, want three kinds", got)
	}
	s, f, m := got[KindScheduled], got[KindFreshness], got[KindManual]
	if s.ID != "s2" || s.State != StateRunning || !s.CreatedAt.Equal(t0.Add(24*time.Hour)) || !s.FinishedAt.IsZero() || s.Checked != 40 || s.Errors != 2 {
		t.Errorf("scheduled = %+v", s)
	}
	if f.ID != "f1" || f.State != StateDone || !f.FinishedAt.Equal(t0.Add(3*time.Minute)) || f.Options.Trigger != "freshness" {
		t.Errorf("freshness = %+v", f)
	}
	if m.ID != "m1" || m.State != StateRunning || m.Options.Trigger != "api:ops" {
		t.Errorf("manual = %+v", m)
	}
	// An expired record drops its kind.
	if err := env.Client.Del(ctx, r.key("m1")).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err = r.Newest(ctx); err != nil || len(got) != 2 || got[KindManual].ID != "" {
		t.Fatalf("after m1 expired: %+v %v", got, err)
	}
	for trigger, kind := range map[string]string{"schedule": KindScheduled, "freshness": KindFreshness, "cli": KindManual, "api:ops": KindManual, "bench": KindManual, "": KindManual} {
		if got := KindOf(trigger); got != kind {
			t.Errorf("KindOf(%q) = %q, want %q", trigger, got, kind)
		}
	}
}
