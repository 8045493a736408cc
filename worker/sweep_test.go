package worker_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/sweep"
	"github.com/reglock/reglock/tasks"
)

// inventory registers n domains, locked at the registrar and in the store,
// already read once (in sync).
func (b *bundle) inventory(n int) []string {
	b.t.Helper()
	ctx := context.Background()
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("inv%04d.com", i)
		b.acct.AddDomain(names[i], true)
		if _, _, err := b.store.Fold(ctx, store.Change{Domain: names[i], Kind: store.KindLock, Provider: "enom-main"}); err != nil {
			b.t.Fatal(err)
		}
		if _, _, err := b.store.Observe(ctx, names[i], store.Reading{Locked: true}); err != nil {
			b.t.Fatal(err)
		}
	}
	return names
}

// sweep starts a sweep and waits until it leaves the running state.
func (b *bundle) sweep(o sweep.Options) sweep.Status {
	b.t.Helper()
	id := sweep.NewID(time.Now())
	if _, err := b.sweeps.Start(context.Background(), id, o); err != nil {
		b.t.Fatal(err)
	}
	return b.sweepEnds(id)
}

func (b *bundle) sweepEnds(id string) sweep.Status {
	b.t.Helper()
	var st sweep.Status
	b.eventually("sweep "+id+" to end", 60*time.Second, func() bool {
		var err error
		st, err = b.sweeps.Records.Get(context.Background(), id)
		return err == nil && st.State != sweep.StateRunning
	})
	return st
}

func (b *bundle) totalWrites(names []string) int {
	n := 0
	for _, d := range names {
		n += b.sim.Writes(d)
	}
	return n
}

// Drift flipped behind reglock's back on a sample of domains is found and
// fixed by one sweep; domains in sync receive no write at all.
func TestSweep_findsAndFixesDriftOnly(t *testing.T) {
	b := setup(t)
	names := b.inventory(300)
	drifted := map[string]bool{}
	for i := 0; i < 300; i += 20 { // 15 domains, 5%: under the 10% guard
		b.sim.SetLocked(names[i], false)
		drifted[names[i]] = true
	}
	st := b.sweep(sweep.Options{})
	if st.State != sweep.StateDone || st.Checked != 300 || st.Drifted != 15 || st.FixesQueued != 15 || st.Errors != 0 {
		t.Fatalf("sweep: %+v", st)
	}
	b.idle()
	for _, d := range names {
		l, _ := b.sim.Locked(d)
		w := b.sim.Writes(d)
		switch {
		case !l:
			t.Errorf("%s still unlocked", d)
		case drifted[d] && w != 1:
			t.Errorf("drifted %s got %d writes, want 1", d, w)
		case !drifted[d] && w != 0:
			t.Errorf("in-sync %s got %d writes, want 0", d, w)
		}
	}
	// Each drifted domain's history has its drift and its fix; the others'
	// have neither.
	kinds := map[string]int{}
	for _, d := range names {
		events, _, err := b.worker.Audit.History(context.Background(), d, "", 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range events {
			if e.Kind != audit.KindDrift && e.Kind != audit.KindChange {
				continue
			}
			kinds[e.Kind]++
			if !drifted[d] || e.Domain != d || e.Cause != "sweep" || e.After != "locked" || e.Before != "unlocked" {
				t.Errorf("unexpected history event of %s: %+v", d, e)
			}
		}
	}
	if kinds[audit.KindDrift] != 15 || kinds[audit.KindChange] != 15 {
		t.Errorf("histories: %v", kinds)
	}
}

// More drift than the guard allows, or fixes that would unlock: nothing is
// fixed until an operator applies the sweep.
func TestSweep_blastRadiusGuardPausesUntilApplied(t *testing.T) {
	b := setup(t)
	names := b.inventory(100)
	for i := 0; i < 30; i++ {
		b.sim.SetLocked(names[i], false)
	}
	st := b.sweep(sweep.Options{})
	if st.State != sweep.StatePaused || st.Drifted != 30 || st.FixesQueued != 0 || !strings.Contains(st.Paused["enom-main"], "30 of 100 domains drifted") {
		t.Fatalf("sweep: %+v", st)
	}
	b.idle()
	if w := b.totalWrites(names); w != 0 {
		t.Fatalf("a paused sweep caused %d writes", w)
	}
	st, err := b.sweeps.Apply(context.Background(), st.ID)
	if err != nil || st.State != sweep.StateDone || st.FixesQueued != 30 {
		t.Fatalf("apply: %+v %v", st, err)
	}
	b.idle()
	if w := b.totalWrites(names); w != 30 {
		t.Fatalf("%d writes after apply, want 30", w)
	}
	if _, err := b.sweeps.Apply(context.Background(), st.ID); err == nil {
		t.Fatal("applied a sweep twice")
	}
}

func TestSweep_neverUnlocksOnItsOwn(t *testing.T) {
	b := setup(t)
	names := b.inventory(50)
	ctx := context.Background()
	// Desired unlocked, but someone locked it again at the registrar.
	if _, err := b.intents.Unlock(ctx, intent.Request{Domain: names[0]}); err != nil {
		t.Fatal(err)
	}
	b.converged(names[0], false)
	b.idle()
	b.sim.SetLocked(names[0], true)
	st := b.sweep(sweep.Options{})
	if st.State != sweep.StatePaused || !strings.Contains(st.Paused["enom-main"], "would unlock") {
		t.Fatalf("sweep: %+v", st)
	}
	if l, _ := b.sim.Locked(names[0]); !l {
		t.Fatal("the sweep unlocked a domain")
	}
}

func TestSweep_dryRunReportsWithoutFixing(t *testing.T) {
	b := setup(t)
	names := b.inventory(40)
	b.sim.SetLocked(names[3], false)
	st := b.sweep(sweep.Options{DryRun: true})
	if st.State != sweep.StateDone || st.Drifted != 1 || st.FixesQueued != 0 {
		t.Fatalf("sweep: %+v", st)
	}
	b.idle()
	if l, _ := b.sim.Locked(names[3]); l {
		t.Fatal("a dry run fixed drift")
	}
	if d := b.domain(names[3]); d.InSync() {
		t.Fatal("the drift is not recorded")
	}
}

// A single false "unlocked" reading is not acted on: the second reading,
// a confirm delay later, decides.
func TestSweep_singleFalseReadingIsNotActedOn(t *testing.T) {
	b := setup(t)
	b.worker.ConfirmDelay = 2 * time.Second
	b.worker.Sweeps.ConfirmDelay = 2 * time.Second
	names := b.inventory(20)
	b.sim.SetLocked(names[7], false)
	id := sweep.NewID(time.Now())
	if _, err := b.sweeps.Start(context.Background(), id, sweep.Options{}); err != nil {
		t.Fatal(err)
	}
	b.eventually("the first (false) reading", 10*time.Second, func() bool { return !b.domain(names[7]).InSync() })
	b.sim.SetLocked(names[7], true) // the registrar "recovers" before the confirmation
	st := b.sweepEnds(id)
	if st.Drifted != 0 || st.FixesQueued != 0 || b.sim.Writes(names[7]) != 0 {
		t.Fatalf("acted on one reading: %+v, %d writes", st, b.sim.Writes(names[7]))
	}
	if !b.domain(names[7]).InSync() {
		t.Fatal("the second reading was not recorded")
	}
}

// A worker that stops in the middle of a sweep hands its units back; a new
// worker finishes the sweep, counting nothing twice.
func TestSweep_survivesAWorkerRestart(t *testing.T) {
	b := setup(t)
	b.worker.Sweeps.UnitBudget = 200 * time.Millisecond
	names := b.inventory(400)
	for i := 0; i < 400; i += 40 {
		b.sim.SetLocked(names[i], false)
	}
	b.acct.SetLatency(5 * time.Millisecond)
	id := sweep.NewID(time.Now())
	if _, err := b.sweeps.Start(context.Background(), id, sweep.Options{}); err != nil {
		t.Fatal(err)
	}
	b.eventually("the sweep to be under way", 10*time.Second, func() bool {
		st, _ := b.sweeps.Records.Get(context.Background(), id)
		return st.Checked > 20
	})
	b.srv.Shutdown()
	mid, _ := b.sweeps.Records.Get(context.Background(), id)
	if mid.State != sweep.StateRunning {
		t.Fatalf("sweep ended before the restart: %+v", mid)
	}
	b.acct.SetLatency(0)
	b.startWorker()
	st := b.sweepEnds(id)
	if st.State != sweep.StateDone || st.Checked != 400 || st.Drifted != 10 || st.FixesQueued != 10 {
		t.Fatalf("sweep after a restart: %+v", st)
	}
	b.idle()
	for i := 0; i < 400; i += 40 {
		if l, _ := b.sim.Locked(names[i]); !l {
			t.Errorf("%s not fixed", names[i])
		}
	}
}

// Two scheduler replicas on the same tick start one sweep.
func TestSweep_sameIDStartsOnce(t *testing.T) {
	b := setup(t)
	b.inventory(10)
	ctx := context.Background()
	other := &sweep.Starter{Records: b.sweeps.Records, Queue: tasks.Queue{Client: b.client, Namespace: b.queues}}
	first, err := b.sweeps.Start(ctx, "sweep-20261122T030000Z", sweep.Options{Trigger: "schedule"})
	if err != nil || !first {
		t.Fatalf("first start: %v %v", first, err)
	}
	second, err := other.Start(ctx, "sweep-20261122T030000Z", sweep.Options{Trigger: "schedule"})
	if err != nil || second {
		t.Fatalf("second start: %v %v", second, err)
	}
	st := b.sweepEnds("sweep-20261122T030000Z")
	if st.Checked != 10 {
		t.Fatalf("checked %d domains, want 10 (once)", st.Checked)
	}
	if reads := b.sim.Reads("inv0003.com"); reads != 1 {
		t.Fatalf("a domain was read %d times by one tick's sweep", reads)
	}
}

// An unlock window relocks after a restart: the relock is a scheduled task
// in Redis, not a timer in a process.
func TestSweep_unlockWindowRelocksAfterRestart(t *testing.T) {
	b := setup(t)
	b.acct.AddDomain("window.com", true)
	ctx := context.Background()
	if _, err := b.intents.Unlock(ctx, intent.Request{Domain: "window.com", RelockAfter: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	b.converged("window.com", false)
	b.srv.Shutdown() // the only worker goes away before the window ends
	time.Sleep(2500 * time.Millisecond)
	if l, _ := b.sim.Locked("window.com"); l {
		t.Fatal("relocked with no worker running")
	}
	b.startWorker()
	b.converged("window.com", true)
	if d := b.domain("window.com"); d.Desired.Generation != 2 || !d.Desired.RelockAt.IsZero() {
		t.Fatalf("after the window: %+v", d.Desired)
	}
}

// A sweep whose creator died between recording it and queueing its first
// task is picked up by the scheduler's janitor and completes.
func TestSweep_stuckSweepIsResumed(t *testing.T) {
	b := setup(t)
	b.inventory(10)
	ctx := context.Background()
	created := time.Now().Add(-2 * time.Minute)
	if _, err := b.sweeps.Records.Create(ctx, "crashed", sweep.Options{Trigger: "schedule"}, created); err != nil {
		t.Fatal(err)
	}
	ids, err := b.sweeps.ResumeStuck(ctx)
	if err != nil || len(ids) != 1 || ids[0] != "crashed" {
		t.Fatalf("ResumeStuck = %v, %v", ids, err)
	}
	st := b.sweepEnds("crashed")
	if st.State != sweep.StateDone || st.Checked != 10 {
		t.Fatalf("resumed sweep: %+v", st)
	}
	if ids, _ := b.sweeps.ResumeStuck(ctx); len(ids) != 0 {
		t.Fatalf("a finished sweep resumed again: %v", ids)
	}
}
