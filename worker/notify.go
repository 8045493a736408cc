package worker

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/sweep"
)

// notifySweep raises the end of a sweep: sweep_finished always, and
// sweep_paused when the guard held fixes. A finish task that runs again
// raises the same IDs, so nothing is sent twice.
func (w *Worker) notifySweep(ctx context.Context, st sweep.Status) {
	if !w.Notify.Enabled() {
		return
	}
	for _, e := range SweepEvents(st) {
		w.raiseNotification(ctx, e)
	}
}

// raiseNotification queues an event's deliveries; failing to is logged,
// never the task's failure.
func (w *Worker) raiseNotification(ctx context.Context, e notify.Event) {
	if err := w.Notify.Raise(ctx, e); err != nil {
		w.Log.Warn().Err(err).Str("event_id", e.ID).Msg("could not queue a notification")
	}
}

// SweepEvents are the notifications of a finished sweep.
func SweepEvents(st sweep.Status) []notify.Event {
	data := map[string]any{
		"state": st.State, "checked": st.Checked, "drifted": st.Drifted, "errors": st.Errors,
		"unfixable": st.Unfixable, "unlocks": st.Unlocks, "fixes_queued": st.FixesQueued,
		"dry_run": st.Options.DryRun, "trigger": st.Options.Trigger, "per_provider": st.PerProvider,
	}
	if len(st.Paused) > 0 {
		data["paused"] = st.Paused
	}
	summary := fmt.Sprintf("sweep %s %s: %s checked, %d drifted, %d unreadable, %s queued",
		st.ID, st.State, english.Count(st.Checked, "domain"), st.Drifted, st.Errors, english.Count(st.FixesQueued, "fix"))
	paused := slices.Sorted(maps.Keys(st.Paused))
	if len(paused) > 0 {
		summary += "; paused for " + strings.Join(paused, ", ")
	}
	out := []notify.Event{{
		ID: notify.NewID(notify.KindSweepFinished, st.ID), Kind: notify.KindSweepFinished, Time: st.FinishedAt,
		Provider: st.Options.Provider, SweepID: st.ID, Summary: summary, Data: data,
	}}
	if len(paused) == 0 {
		return out
	}
	reasons := make([]string, len(paused))
	for i, p := range paused {
		reasons[i] = p + ": " + st.Paused[p]
	}
	provider := st.Options.Provider
	if len(paused) == 1 {
		provider = paused[0]
	}
	return append(out, notify.Event{
		ID: notify.NewID(notify.KindSweepPaused, st.ID), Kind: notify.KindSweepPaused, Time: st.FinishedAt,
		Provider: provider, SweepID: st.ID,
		Summary: fmt.Sprintf("sweep %s paused by the blast-radius guard (%s); `reglock sweep apply %s` queues the held fixes",
			st.ID, strings.Join(reasons, "; "), st.ID),
		Data: map[string]any{"paused": st.Paused, "per_provider": st.PerProvider},
	})
}
