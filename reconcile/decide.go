// Package reconcile converges one domain's registrar lock, and its trade
// lock setting, on the desired state in the store, the way a
// controller-runtime reconciler does: whatever task runs for a domain, it
// converges the registrar on the domain's *current* intent, so a duplicate,
// late or reordered task can only do the right thing.
//
// Three parts, one file each:
//   - decide.go: Decide, the one rule that says what a reading means
//     against an intent; changes, checks and sweeps all use it;
//   - reconciler.go: the converge loop a worker runs under the domain's
//     lease: read, decide, write, read back, record;
//   - janitor.go: what the scheduler runs every minute, so that no intent
//     is lost between the steps above: it queues a task for every domain
//     owed work (store.Mark) that no live task is handling, and the relock
//     of every unlock window that ended without one.
package reconcile

import "github.com/reglock/reglock/providers"

// Verdict is what a reading of the registrar means against an intent.
type Verdict int

// The verdicts.
const (
	// InSync: the registrar is where the intent wants it.
	InSync Verdict = iota
	// Fix: change the registrar now.
	Fix
	// Confirm: drift on an intent that was carried out before, seen once.
	// Read again after the confirm delay before acting: a registrar (or
	// WHMCS in front of one) can answer wrongly once.
	Confirm
	// Wait: the registry holds the domain in a pending state; nothing is
	// written until it clears.
	Wait
	// NotOurs: the registry (or someone other than this account) locked the
	// domain and the intent is unlocked: reglock never removes such a lock.
	NotOurs
	// Changing: a change owns the domain right now (another worker's write
	// may still land, or an intent is not yet carried out by its own task):
	// the reading is neither in sync nor drift.
	Changing
)

var verdictNames = [...]string{"in_sync", "fix", "confirm", "wait", "not_ours", "changing"}

func (v Verdict) String() string {
	if int(v) < len(verdictNames) {
		return verdictNames[v]
	}
	return "unknown"
}

// Situation is what the caller knows besides the reading.
type Situation struct {
	// Acting is set when the caller holds the domain's lease and may write.
	Acting bool
	// Pending is set when the domain is owed work: an intent (or a fix of
	// confirmed drift) that is not yet confirmed at the registrar.
	Pending bool
	// InDoubt is set when another worker's lease is live: its write may
	// still land, so the reading proves nothing.
	InDoubt bool
	// Confirmed is set when this reading repeats an earlier one that found
	// the same drift, a confirm delay before.
	Confirmed bool
}

// Decide says what a reading st means for an intent that wants the domain
// locked (or not). It is the one place this rule is written; its table test
// lists every case.
func Decide(wantLocked bool, st providers.State, s Situation) Verdict {
	switch {
	case s.InDoubt:
		return Changing
	case s.Pending && !s.Acting:
		return Changing
	case st.Locked == wantLocked && st.Indirect && !st.Locked && s.Acting && s.Pending:
		// An intermediary (WHMCS) answers "unlocked" when its own call to
		// the registrar failed: that is no proof an unlock owed is done.
		// Write it; the adapter takes "already unlocked" as done.
		return Fix
	case st.Locked == wantLocked:
		return InSync
	case st.Pending:
		return Wait
	case st.ByRegistry && !wantLocked:
		return NotOurs
	case s.Pending:
		// An intent not yet carried out: the difference is expected.
		return Fix
	case !s.Confirmed:
		return Confirm
	default:
		return Fix
	}
}
