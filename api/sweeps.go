package api

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/sweep"
)

// SweepOf renders a sweep's record.
func SweepOf(st sweep.Status) client.Sweep {
	out := client.Sweep{SweepID: st.ID, State: st.State, Checked: st.Checked, Drifted: st.Drifted,
		FixesQueued: st.FixesQueued, Errors: st.Errors, Provider: st.Options.Provider, DryRun: st.Options.DryRun,
		Unfixable: st.Unfixable, PerProvider: countsOf(st.PerProvider), Stage: string(st.Stage), Calls: st.Calls, Trigger: st.Options.Trigger}
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

// countsOf renders a sweep's per-account counts; none is nil (the field is
// then left out, as it is for an empty map).
func countsOf(per map[string]sweep.Counts) map[string]client.SweepCounts {
	if len(per) == 0 {
		return nil
	}
	out := make(map[string]client.SweepCounts, len(per))
	for p, c := range per {
		out[p] = client.SweepCounts{Checked: c.Checked, Drifted: c.Drifted, Errors: c.Errors, Unlocks: c.Unlocks,
			Unfixable: c.Unfixable, Calls: c.Calls}
	}
	return out
}

func (s *Server) startSweep(w http.ResponseWriter, r *http.Request) {
	var b client.SweepRequest
	if !decodeBody(w, r, &b, true) {
		return
	}
	if b.Provider != "" && !s.Intents.Known(b.Provider) {
		s.writeErr(w, fmt.Errorf("%w %q", intent.ErrUnknownProvider, b.Provider))
		return
	}
	if ps := limitedTo(r); ps != nil {
		// A limited token sweeps one of its providers: the one it names,
		// or its only one.
		if b.Provider == "" && len(ps) == 1 {
			b.Provider = ps[0]
		}
		if b.Provider == "" || !mayUse(r, b.Provider) {
			forbidProvider(w, r)
			return
		}
	}
	id := s.Sweeps.NewID()
	if _, err := s.Sweeps.Start(r.Context(), id, sweep.Options{Provider: b.Provider, DryRun: b.DryRun, Trigger: "api:" + tokenName(r)}); err != nil {
		s.writeErr(w, err)
		return
	}
	writeJSON(w, http.StatusAccepted, client.SweepStarted{SweepID: id})
}

func (s *Server) getSweep(w http.ResponseWriter, r *http.Request) {
	if st, ok := s.visibleSweep(w, r, r.PathValue("id")); ok {
		writeJSON(w, http.StatusOK, SweepOf(st))
	}
}

// visibleSweep reads sweep id as the request's token may see it: a sweep
// of providers the token is not limited to is not found, word for word as
// a sweep that does not exist. It answers the 404 (or the error) itself
// and reports whether the caller may go on.
func (s *Server) visibleSweep(w http.ResponseWriter, r *http.Request, id string) (sweep.Status, bool) {
	st, err := s.Sweeps.Records.Get(r.Context(), id)
	if err == nil && !sweepVisible(r, st) {
		err = sweep.ErrNotFound
	}
	if errors.Is(err, sweep.ErrNotFound) {
		sweepNotFound(w, id)
		return st, false
	}
	if err != nil {
		s.writeErr(w, err)
		return st, false
	}
	return st, true
}

// sweepNotFound is the one answer for a sweep that is not there.
func sweepNotFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "not_found", "no sweep "+id+" (sweeps are kept for 7 days)")
}

func (s *Server) applySweep(w http.ResponseWriter, r *http.Request) {
	if limitedTo(r) != nil {
		if _, ok := s.visibleSweep(w, r, r.PathValue("id")); !ok {
			return
		}
	}
	st, err := s.Sweeps.Apply(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, sweep.ErrNotFound):
		sweepNotFound(w, r.PathValue("id"))
	case errors.Is(err, sweep.ErrNotPaused):
		writeError(w, http.StatusConflict, "not_paused", err.Error()+": only a paused sweep can be applied")
	case err != nil:
		s.writeErr(w, err)
	default:
		s.Log.Warn().Str("sweep_id", st.ID).Str("token", tokenName(r)).Int64("fixes_queued", st.FixesQueued).Msg("paused sweep applied by an operator")
		writeJSON(w, http.StatusAccepted, SweepOf(st))
	}
}

func (s *Server) listSweeps(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for k := range q {
		if k != "state" && k != "cursor" && k != "limit" {
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown query parameter %q (known: state, cursor, limit)", k))
			return
		}
	}
	state := q.Get("state")
	switch state {
	case "", sweep.StateRunning, sweep.StatePaused, sweep.StateDone:
	default:
		writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("state: %q is not running, paused or done", state))
		return
	}
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("limit: %q is not a number from 1 to 500", v))
			return
		}
		limit = n
	}
	page, err := s.Sweeps.Records.List(r.Context(), state, q.Get("cursor"), limit)
	if errors.Is(err, sweep.ErrBadCursor) {
		writeError(w, http.StatusBadRequest, "invalid_query", "cursor: "+err.Error())
		return
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := client.SweepList{Sweeps: make([]client.Sweep, 0, len(page.Sweeps))}
	for _, st := range page.Sweeps {
		if sweepVisible(r, st) {
			out.Sweeps = append(out.Sweeps, SweepOf(st))
		}
	}
	if page.Next != "" {
		out.NextCursor = &page.Next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) sweepReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	for k := range q {
		if k != "format" {
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown query parameter %q (known: format)", k))
			return
		}
	}
	if format != "" && format != "json" && format != "csv" {
		writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("format: %q is not json or csv", format))
		return
	}
	id := r.PathValue("id")
	if limitedTo(r) != nil {
		if _, ok := s.visibleSweep(w, r, id); !ok {
			return
		}
	}
	st, entries, err := s.Sweeps.Records.Report(r.Context(), id, s.Store.GetMany)
	if errors.Is(err, sweep.ErrNotFound) {
		sweepNotFound(w, id)
		return
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	out := client.SweepReport{Sweep: SweepOf(st), Domains: make([]client.ReportEntry, 0, len(entries))}
	for _, e := range entries {
		if !mayUse(r, e.Provider) {
			continue
		}
		out.Domains = append(out.Domains, client.ReportEntry{Domain: e.Domain, Provider: e.Provider, Before: lockWord(!e.Lock), After: lockWord(e.Lock),
			Outcome: e.Outcome, Detail: e.Detail})
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="sweep-`+csvName(id)+`.csv"`)
		_ = WriteReportCSV(w, out)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// WriteReportCSV writes a sweep report as CSV, a header row first.
func WriteReportCSV(w io.Writer, rep client.SweepReport) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"domain", "provider", "before", "after", "outcome", "detail"})
	for _, e := range rep.Domains {
		_ = cw.Write([]string{e.Domain, e.Provider, e.Before, e.After, e.Outcome, CSVSafe(e.Detail)})
	}
	cw.Flush()
	return cw.Error()
}

// CSVSafe keeps a spreadsheet from taking a cell for a formula: a value a
// registrar or a requester wrote may start with = + - @.
func CSVSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// csvName keeps a sweep ID safe in a header's filename.
func csvName(id string) string {
	return strings.Map(func(r rune) rune {
		if r == '-' || r == '.' || r == '_' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') {
			return r
		}
		return '_'
	}, id)
}

func lockWord(locked bool) string {
	if locked {
		return "locked"
	}
	return "unlocked"
}
