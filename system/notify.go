package system

import (
	"context"
	"fmt"
	"time"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/notify"
	"github.com/reglock/reglock/tasks"
)

// newNotifier builds the notifier of the configured notifications: with
// none, its Raise does nothing.
func (s *System) newNotifier() *notify.Notifier {
	o := notify.Options{
		Endpoints: s.Config.Notifications,
		Enqueuer:  s.Enqueuer,
		Namespace: tasks.Namespace(s.Namespace),
		Redis:     s.Redis,
		Prefix:    s.Store.Prefix(),
		Clock:     s.Clock,
		Log:       s.Log.With().Str("component", "notify").Logger(),
	}
	if s.Metrics != nil {
		o.Counters = s.Metrics
	}
	return notify.New(o)
}

// NotifyBreakers raises breaker_opened and breaker_closed on the
// transitions of b, the breakers of this process's accounts. Each outage
// is one event of each kind, whichever processes see it (see
// breaker.Transition.Outage).
func (s *System) NotifyBreakers(b *breaker.Set) {
	if b == nil {
		return // with no endpoints Raise does nothing; a reload may add some
	}
	log := s.Log.With().Str("component", "notify").Logger()
	b.OnTransition = func(ctx context.Context, t breaker.Transition) {
		if err := s.Notify.Raise(ctx, BreakerEvent(t)); err != nil {
			log.Warn().Err(err).Str("provider", t.Account).Msg("could not queue a notification")
		}
	}
}

// BreakerEvent is the notification of a breaker's transition.
func BreakerEvent(t breaker.Transition) notify.Event {
	subject := t.Account + "@" + notify.At(t.Outage)
	if t.Status.State == breaker.Closed {
		return notify.Event{
			ID: notify.NewID(notify.KindBreakerClosed, subject), Kind: notify.KindBreakerClosed, Time: t.Status.Since,
			Provider: t.Account,
			Summary: fmt.Sprintf("registrar account %s answers again: calls resume after %s",
				t.Account, t.Status.Since.Sub(t.Outage).Round(time.Second)),
			Data: map[string]any{"outage_since": t.Outage.UTC(), "closed_at": t.Status.Since.UTC()},
		}
	}
	return notify.Event{
		ID: notify.NewID(notify.KindBreakerOpened, subject), Kind: notify.KindBreakerOpened,
		Provider: t.Account,
		Summary: fmt.Sprintf("registrar account %s: calls stopped (%s); its work waits, next probe at %s",
			t.Account, t.Status.Reason, t.Status.Until.UTC().Format(time.RFC3339)),
		Data: map[string]any{"reason": t.Status.Reason, "outage_since": t.Outage.UTC(), "probe_at": t.Status.Until.UTC()},
	}
}
