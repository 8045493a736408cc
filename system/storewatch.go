package system

import (
	"context"
	"fmt"
	"time"

	"github.com/reglock/reglock/metrics"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/store"
)

// newStoreWatch is the watch of the store's identity (see
// store.IdentityWatch): every refusal while the store is lost or replaced
// asks it, and each change of its state is logged at error level, where an
// operator's alerting finds it, and a loss is raised as a store_lost
// notification. A process starts it (Adopt, then Run); until then it
// reports ok and reads nothing.
func (s *System) newStoreWatch() *store.IdentityWatch {
	log := s.Log.With().Str("component", "store").Logger()
	return &store.IdentityWatch{Store: s.Store, Clock: s.Clock, OnChange: func(from, to store.IdentityStatus) {
		if to.Lost() && s.Notify.Enabled() {
			go func() {
				if err := s.Notify.Raise(context.Background(), StoreLostEvent(to)); err != nil {
					log.Warn().Err(err).Msg("could not queue the store_lost notification")
				}
			}()
		}
		ev := log.Error().Str("state", string(to.State)).Str("previous_state", string(from.State)).
			Str("store_id", to.Adopted).Str("marker_id", to.Marker.ID)
		switch to.State {
		case store.StateLost:
			ev.Str("lost_id", to.Marker.LostID).Time("detected_at", to.Marker.DetectedAt).
				Msg("STORE LOST: Redis no longer holds the store this process worked for (wiped, restarted without persistence, or failed over to an empty replica); " +
					"nothing is fixed or recorded until an operator runs `reglock restore FILE` or `reglock restore --accept-empty` (docs/operations.md, \"Redis loss\")")
		case store.StateReplaced:
			ev.Time("marker_created_at", to.Marker.CreatedAt).
				Msg("STORE REPLACED: Redis holds another installation's store (a wrong database number or address?); this process writes nothing to it until it is restarted with the right configuration")
		default:
			ev.Str("resolution", to.Marker.Resolution).Time("resolved_at", to.Marker.ResolvedAt).
				Msg("store ok again (restored or accepted by an operator): resuming work")
		}
	}}
}

// StoreStatus is the store's identity as the metrics export it.
func (s *System) StoreStatus() metrics.StoreStatus {
	st := s.StoreWatch.Status()
	return metrics.StoreStatus{ID: st.Adopted, State: string(st.State), Lost: st.Lost()}
}

// StoreLostEvent is the notification of a store lost or replaced. Every
// process that notices a loss raises the same event (its ID is the time
// the loss was recorded in the store's marker), so it is delivered once; a
// replaced store is one process's view, and each raises its own.
func StoreLostEvent(st store.IdentityStatus) notify.Event {
	m := st.Marker
	if st.State == store.StateReplaced {
		return notify.Event{
			ID:   notify.NewID(notify.KindStoreLost, "replaced", st.Adopted+"@"+m.ID),
			Kind: notify.KindStoreLost,
			Summary: fmt.Sprintf("a reglock process finds another installation's store (%s) instead of its own (%s) and stopped working: check redis.url and the namespace, then restart it",
				m.ID, st.Adopted),
			Data: map[string]any{"state": string(st.State), "store_id": st.Adopted, "found_store_id": m.ID, "found_created_at": m.CreatedAt.UTC()},
		}
	}
	at := m.DetectedAt
	if at.IsZero() {
		at = time.Now()
	}
	return notify.Event{
		ID: notify.NewID(notify.KindStoreLost, notify.At(at)), Kind: notify.KindStoreLost, Time: at,
		Summary: fmt.Sprintf("reglock's store %s is lost (Redis lost its data): nothing is fixed or recorded until an operator runs `reglock restore FILE` or `reglock restore --accept-empty`",
			m.LostID),
		Data: map[string]any{"state": string(st.State), "lost_store_id": m.LostID, "store_id": m.ID, "detected_at": at.UTC()},
	}
}
