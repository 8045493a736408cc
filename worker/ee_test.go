package worker_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/sweep"
)

// A lock the registry set (the three server statuses without the
// registrant's lock) counts as locked and is never removed by reglock.
func TestWorker_registryLockIsNeverTouched(t *testing.T) {
	b := setup(t)
	b.ee.AddDomain("registry.ee", false)
	b.sim.EESetStatuses("registry.ee", []string{"serverDeleteProhibited", "serverTransferProhibited", "serverObjUpdateProhibited"}, nil)
	b.ee.AddDomain("ours.ee", false)
	ctx := context.Background()

	// Desired locked: the registry's lock satisfies it, nothing is written.
	if _, err := b.intents.Lock(ctx, intent.Request{Domain: "registry.ee"}); err != nil {
		t.Fatal(err)
	}
	b.idle()
	d := b.domain("registry.ee")
	if !d.InSync() || b.sim.Writes("registry.ee") != 0 {
		t.Fatalf("registry-locked domain: in sync %v, %d writes; %+v", d.InSync(), b.sim.Writes("registry.ee"), d.Observed)
	}
	// Desired unlocked: refused permanently, the registry's lock stays.
	if _, err := b.intents.Unlock(ctx, intent.Request{Domain: "registry.ee"}); err != nil {
		t.Fatal(err)
	}
	b.idle()
	d = b.domain("registry.ee")
	info, _ := b.sim.EEDomain("registry.ee")
	if !slices.Contains(info.Statuses, "serverTransferProhibited") || b.sim.Writes("registry.ee") != 0 || !strings.Contains(d.Observed.Error, "registry") {
		t.Fatalf("unlock of a registry lock: statuses %v, %d writes, error %q", info.Statuses, b.sim.Writes("registry.ee"), d.Observed.Error)
	}
	// A sweep counts it as unfixable drift and queues nothing for it.
	if _, err := b.intents.Lock(ctx, intent.Request{Domain: "ours.ee"}); err != nil {
		t.Fatal(err)
	}
	b.converged("ours.ee", true)
	st := b.sweep(sweep.Options{Provider: "ee"})
	if st.State != sweep.StateDone || st.Checked != 2 || st.Drifted != 1 || st.Unfixable != 1 || st.FixesQueued != 0 {
		t.Fatalf("sweep: %+v", st)
	}
}

// A domain in a pending state is not written to until the state clears.
func TestWorker_pendingDomainWaits(t *testing.T) {
	b := setup(t)
	b.ee.AddDomain("pending.ee", false)
	b.sim.SetPending("pending.ee", true)
	if _, err := b.intents.Lock(context.Background(), intent.Request{Domain: "pending.ee"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if w := b.sim.Writes("pending.ee"); w != 0 {
		t.Fatalf("%d writes to a pending domain", w)
	}
	b.sim.SetPending("pending.ee", false)
	b.converged("pending.ee", true)
}

// A bulk listing covers what it lists; a domain of the inventory it does
// not list is still read, one by one, in the chunk stage.
func TestSweep_bulkReadMissesAreReadOneByOne(t *testing.T) {
	b := setup(t)
	ctx := context.Background()
	for _, d := range []string{"a.ee", "b.ee", "c.ee"} {
		b.ee.AddDomain(d, true)
		if _, err := b.intents.Lock(ctx, intent.Request{Domain: d}); err != nil {
			t.Fatal(err)
		}
	}
	// In the inventory, gone from the account.
	if _, err := b.intents.Lock(ctx, intent.Request{Domain: "ghost.ee"}); err != nil {
		t.Fatal(err)
	}
	b.idle()
	st := b.sweep(sweep.Options{Provider: "ee"})
	if st.State != sweep.StateDone || st.Checked != 3 || st.Errors != 1 {
		t.Fatalf("sweep: %+v", st)
	}
	if d := b.domain("ghost.ee"); !strings.Contains(d.Observed.Error, "not found") {
		t.Fatalf("ghost.ee: %+v", d.Observed)
	}
}
