package reconcile

import (
	"testing"

	"github.com/reglock/reglock/providers"
)

func TestDecide(t *testing.T) {
	locked := providers.State{Locked: true}
	unlocked := providers.State{}
	registry := providers.State{Locked: true, ByRegistry: true}
	pending := providers.State{Pending: true}
	pendingLocked := providers.State{Locked: true, Pending: true}
	acting := Situation{Acting: true}
	for _, tc := range []struct {
		name string
		want bool
		st   providers.State
		s    Situation
		v    Verdict
	}{
		// A change carrying out its intent (a worker holding the lease).
		{"change: already there", true, locked, Situation{Acting: true, Pending: true}, InSync},
		{"change: lock it", true, unlocked, Situation{Acting: true, Pending: true}, Fix},
		{"change: unlock it", false, locked, Situation{Acting: true, Pending: true}, Fix},
		{"change: registry lock stays", false, registry, Situation{Acting: true, Pending: true}, NotOurs},
		{"change: registry lock is a lock", true, registry, Situation{Acting: true, Pending: true}, InSync},
		{"change: pending at the registry", true, pending, Situation{Acting: true, Pending: true}, Wait},
		{"change: pending but already there", true, pendingLocked, Situation{Acting: true, Pending: true}, InSync},
		// A check of a settled intent (it holds the lease too).
		{"check: in sync", true, locked, acting, InSync},
		{"check: drift seen once", true, unlocked, acting, Confirm},
		{"check: drift confirmed", true, unlocked, Situation{Acting: true, Confirmed: true}, Fix},
		{"check: unlock drift confirmed", false, locked, Situation{Acting: true, Confirmed: true}, Fix},
		{"check: registry lock on an unlocked intent", false, registry, acting, NotOurs},
		{"check: pending", false, pendingLocked, acting, Wait},
		// A sweep reading without a lease.
		{"sweep: in sync", false, unlocked, Situation{}, InSync},
		{"sweep: drift", false, locked, Situation{}, Confirm},
		{"sweep: drift confirmed", false, locked, Situation{Confirmed: true}, Fix},
		{"sweep: change not yet carried out", false, locked, Situation{Pending: true}, Changing},
		{"sweep: change in sync already", false, unlocked, Situation{Pending: true}, Changing},
		{"sweep: another worker's write in flight", true, unlocked, Situation{InDoubt: true}, Changing},
		{"sweep: registry", false, registry, Situation{}, NotOurs},
		{"sweep: pending", true, pending, Situation{}, Wait},
		// An "unlocked" reading through an intermediary (WHMCS) proves no
		// unlock: one owed is written anyway; a locked reading is believed;
		// drift it shows is confirmed first, like any other.
		{"change: indirect unlocked is no proof of an unlock", false, providers.State{Indirect: true}, Situation{Acting: true, Pending: true}, Fix},
		{"change: indirect locked is believed", true, providers.State{Locked: true, Indirect: true}, Situation{Acting: true, Pending: true}, InSync},
		{"check: indirect unlocked on a settled unlock", false, providers.State{Indirect: true}, acting, InSync},
		{"check: indirect unlocked on a lock is drift to confirm", true, providers.State{Indirect: true}, acting, Confirm},
		{"sweep: indirect unlocked on an unlock", false, providers.State{Indirect: true}, Situation{}, InSync},
		// Whatever else holds, a write that may still land makes the reading worthless.
		{"in doubt beats in sync", true, locked, Situation{Acting: true, InDoubt: true}, Changing},
	} {
		if got := Decide(tc.want, tc.st, tc.s); got != tc.v {
			t.Errorf("%s: Decide(want locked=%v, %+v, %+v) = %v, want %v", tc.name, tc.want, tc.st, tc.s, got, tc.v)
		}
	}
}

func TestVerdict_String(t *testing.T) {
	if Fix.String() != "fix" || Changing.String() != "changing" || Verdict(99).String() != "unknown" {
		t.Fatal("verdict names")
	}
}
