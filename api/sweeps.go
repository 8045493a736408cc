package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/sweep"
)

// SweepRequest is the optional body of POST /v1/sweeps.
type SweepRequest struct {
	Provider string `json:"provider,omitempty"`
	DryRun   bool   `json:"dry_run,omitempty"`
}

// SweepStarted is the answer to POST /v1/sweeps.
type SweepStarted struct {
	SweepID string `json:"sweep_id"`
}

// Sweep is a sweep's progress: GET /v1/sweeps/{id}.
type Sweep struct {
	SweepID     string                  `json:"sweep_id"`
	State       string                  `json:"state"`
	Checked     int64                   `json:"checked"`
	Drifted     int64                   `json:"drifted"`
	FixesQueued int64                   `json:"fixes_queued"`
	Errors      int64                   `json:"errors"`
	Provider    string                  `json:"provider,omitempty"`
	DryRun      bool                    `json:"dry_run"`
	Unfixable   int64                   `json:"unfixable"`
	Paused      map[string]string       `json:"paused,omitempty"`
	PerProvider map[string]sweep.Counts `json:"per_provider,omitempty"`
	Stage       string                  `json:"stage,omitempty"`
	CreatedAt   *time.Time              `json:"created_at"`
	FinishedAt  *time.Time              `json:"finished_at"`
}

// SweepOf renders a sweep's record.
func SweepOf(st sweep.Status) Sweep {
	out := Sweep{SweepID: st.ID, State: st.State, Checked: st.Checked, Drifted: st.Drifted,
		FixesQueued: st.FixesQueued, Errors: st.Errors, Provider: st.Options.Provider, DryRun: st.Options.DryRun,
		Unfixable: st.Unfixable, PerProvider: st.PerProvider, Stage: string(st.Stage)}
	if len(st.Paused) > 0 {
		out.Paused = st.Paused
	}
	if !st.CreatedAt.IsZero() {
		t := st.CreatedAt
		out.CreatedAt = &t
	}
	if !st.FinishedAt.IsZero() {
		t := st.FinishedAt
		out.FinishedAt = &t
	}
	return out
}

func (s *Server) startSweep(w http.ResponseWriter, r *http.Request) {
	var b SweepRequest
	if !decodeBody(w, r, &b, true) {
		return
	}
	if b.Provider != "" && !s.Intents.Known(b.Provider) {
		s.writeErr(w, fmt.Errorf("%w %q", intent.ErrUnknownProvider, b.Provider))
		return
	}
	id := s.Sweeps.NewID()
	if _, err := s.Sweeps.Start(r.Context(), id, sweep.Options{Provider: b.Provider, DryRun: b.DryRun, Trigger: "api:" + tokenName(r)}); err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, SweepStarted{SweepID: id})
}

func (s *Server) getSweep(w http.ResponseWriter, r *http.Request) {
	st, err := s.Sweeps.Records.Get(r.Context(), r.PathValue("id"))
	if errors.Is(err, sweep.ErrNotFound) {
		writeError(w, http.StatusNotFound, "not_found", "no sweep "+r.PathValue("id")+" (sweeps are kept for 7 days)")
		return
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, SweepOf(st))
}

func (s *Server) applySweep(w http.ResponseWriter, r *http.Request) {
	st, err := s.Sweeps.Apply(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, sweep.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "no sweep "+r.PathValue("id"))
	case errors.Is(err, sweep.ErrNotPaused):
		writeError(w, http.StatusConflict, "not_paused", err.Error()+": only a paused sweep can be applied")
	case err != nil:
		s.writeErr(w, err)
	default:
		s.Log.Warn().Str("sweep_id", st.ID).Str("token", tokenName(r)).Int64("fixes_queued", st.FixesQueued).Msg("paused sweep applied by an operator")
		writeJSON(w, http.StatusAccepted, SweepOf(st))
	}
}
