package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/hibiken/asynq"

	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// TaskInspector finds a queued task (an asynq.Inspector).
type TaskInspector interface {
	GetTaskInfo(queue, id string) (*asynq.TaskInfo, error)
}

// RelockGrace is how long after its window ends a relock is "due" rather
// than "overdue": the worker that carried out the unlock queued it for
// that moment, and the janitor catches one that was lost within minutes.
const RelockGrace = 10 * time.Minute

func (s *Server) history(w http.ResponseWriter, r *http.Request) {
	name, err := tasks.NormalizeDomain(r.PathValue("domain"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	q := r.URL.Query()
	for k := range q {
		if k != "cursor" && k != "limit" {
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown query parameter %q (known: cursor, limit)", k))
			return
		}
	}
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > audit.MaxPage {
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("limit: %q is not a number from 1 to %d", v, audit.MaxPage))
			return
		}
		limit = n
	}
	if limitedTo(r) != nil {
		ok, err := s.historyVisible(r.Context(), r, name)
		if err != nil {
			s.writeErr(w, err)
			return
		}
		if !ok {
			notInInventory(w, name)
			return
		}
	}
	events, next, err := s.Audit.History(r.Context(), name, q.Get("cursor"), limit)
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := client.History{Domain: name, Events: make([]client.HistoryEvent, len(events))}
	for i, e := range events {
		out.Events[i] = HistoryEventOf(e)
	}
	if next != "" {
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// HistoryEventOf renders a history event.
func HistoryEventOf(e audit.Event) client.HistoryEvent {
	out := client.HistoryEvent{ID: e.ID, Time: e.Time, Kind: e.Kind, Generation: e.Generation, Provider: e.Provider,
		Intent: e.Intent, Before: e.Before, After: e.After, Cause: e.Cause, RequestedBy: e.RequestedBy,
		Reason: e.Reason, Token: e.Token, SweepID: e.SweepID, TaskID: e.TaskID, Error: e.Error, ForTransfer: e.ForTransfer}
	if e.Intent == "trade" {
		out.After = "trade_lock:off"
		if e.Trade == "1" {
			out.After = "trade_lock:on"
		}
	}
	if !e.RelockAt.IsZero() {
		t := e.RelockAt
		out.RelockAt = &t
	}
	return out
}

func (s *Server) forget(w http.ResponseWriter, r *http.Request) {
	var b client.ForgetRequest
	if !decodeBody(w, r, &b, true) {
		return
	}
	name, err := tasks.NormalizeDomain(r.PathValue("domain"))
	if err != nil {
		s.writeErr(w, err)
		return
	}
	if limitedTo(r) != nil {
		if _, err := s.visible(r, name); errors.Is(err, store.ErrNotFound) {
			notInInventory(w, name)
			return
		} else if err != nil {
			s.writeErr(w, err)
			return
		}
	}
	d, err := s.Store.Forget(r.Context(), name, store.Forgotten{RequestedBy: requester(r, b.RequestedBy),
		Reason: b.Reason, Token: tokenName(r), At: s.now()})
	if errors.Is(err, store.ErrNotFound) {
		notInInventory(w, name)
		return
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	s.Log.Warn().Str("domain", name).Str("provider", d.Provider).Str("token", tokenName(r)).Msg("domain forgotten")
	writeJSON(w, http.StatusOK, client.Forgotten{Domain: name, Provider: d.Provider})
}

// describe adds to one domain's record who asked for its intent and why,
// the task carrying its pending work, and its relock. What cannot be read
// (the queue, say) is left out rather than failing the request.
func (s *Server) describe(ctx context.Context, d store.Domain, out *client.Domain) {
	if s.Audit != nil {
		if e, ok, err := s.Audit.IntentOf(ctx, d.Name, d.Desired.Generation); err == nil && ok {
			at := e.Time
			kind := e.Intent
			if e.Kind == audit.KindRelock {
				kind = "relock"
			}
			out.Intent = &client.IntentInfo{Kind: kind, RequestedBy: e.RequestedBy, Reason: e.Reason, Token: e.Token, RequestedAt: &at}
		}
	}
	if out.Intent == nil && d.Work.Pending {
		at := d.Work.Mark.RequestedAt
		out.Intent = &client.IntentInfo{Kind: string(d.Work.Mark.Kind), RequestedBy: d.Work.Mark.RequestedBy, Reason: d.Work.Mark.Reason, RequestedAt: &at}
	}
	if d.Work.Pending {
		id, queue := reconcile.OwedTask(d.Name, d.Desired, d.Work.Mark)
		ti := &client.TaskInfo{ID: id, State: "owed"}
		if due := d.Work.Mark.Due; !due.IsZero() {
			ti.NextAttempt = &due
		}
		if s.Tasks != nil {
			info, err := s.Tasks.GetTaskInfo(s.Intents.Queue.QueueName(queue), id)
			switch {
			case err == nil:
				ti.Type, ti.State, ti.Retried, ti.MaxRetry, ti.LastError = info.Type, info.State.String(), info.Retried, info.MaxRetry, info.LastErr
				if !info.NextProcessAt.IsZero() {
					t := info.NextProcessAt
					ti.NextAttempt = &t
				}
			case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
				// Owed, with no task: the janitor queues one at the mark's due time.
			default:
				ti.State = "unknown"
			}
		}
		out.Task = ti
	}
	if at := d.Desired.RelockAt; !at.IsZero() && !d.Desired.Locked {
		rl := &client.RelockInfo{At: at, State: "scheduled"}
		now := s.now()
		switch {
		case now.After(at.Add(RelockGrace)):
			rl.State = "overdue"
		case !now.Before(at):
			rl.State = "due"
		}
		out.Relock = rl
	}
}
