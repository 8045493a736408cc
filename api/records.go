package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/reglock/reglock/sweep"
)

// The record: what reglock knows about a domain, a sweep and the
// inventory, as the API, the CLI and the console show it.

// HistoryEvent is one entry of a domain's history.
type HistoryEvent struct {
	// ID is the entry's place in the domain's history (a cursor).
	ID   string    `json:"id"`
	Time time.Time `json:"time"`
	// Kind is intent, change, drift, error, recovery, relock, forgotten or
	// gone.
	Kind       string `json:"kind"`
	Generation int64  `json:"generation"`
	Provider   string `json:"provider,omitempty"`
	// Intent is lock, unlock or trade (kind intent).
	Intent string `json:"intent,omitempty"`
	// Before and After are "locked", "unlocked", "trade_lock:on" or
	// "trade_lock:off" (kinds change and drift).
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
	// Cause is request, sweep or relock (kind change).
	Cause       string `json:"cause,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
	Reason      string `json:"reason,omitempty"`
	// Token names the API token (or the CLI identity) that asked.
	Token    string     `json:"token,omitempty"`
	RelockAt *time.Time `json:"relock_at,omitempty"`
	// ForTransfer marks an unlock asked for a transfer away.
	ForTransfer bool   `json:"for_transfer,omitempty"`
	SweepID     string `json:"sweep_id,omitempty"`
	TaskID      string `json:"task_id,omitempty"`
	// Error is the registrar's error (kind error).
	Error string `json:"error,omitempty"`
}

// History is a page of GET /v1/domains/{domain}/history, newest first.
type History struct {
	Domain     string         `json:"domain"`
	Events     []HistoryEvent `json:"events"`
	NextCursor *string        `json:"next_cursor"`
}

// IntentInfo says who asked for a domain's current intent, and why.
type IntentInfo struct {
	Kind        string     `json:"kind"`
	RequestedBy string     `json:"requested_by,omitempty"`
	Reason      string     `json:"reason,omitempty"`
	Token       string     `json:"token,omitempty"`
	RequestedAt *time.Time `json:"requested_at"`
}

// TaskInfo is the task that carries a domain's pending work.
type TaskInfo struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	// State is asynq's: pending, scheduled, active, retry, archived; or
	// "owed" when the work is recorded but no task is queued (the janitor
	// queues it).
	State       string     `json:"state"`
	Retried     int        `json:"retried"`
	MaxRetry    int        `json:"max_retry"`
	NextAttempt *time.Time `json:"next_attempt"`
	LastError   string     `json:"last_error,omitempty"`
}

// RelockInfo is the end of a domain's unlock window.
type RelockInfo struct {
	At time.Time `json:"at"`
	// State is "scheduled" (in the future), "due" (the window ended less
	// than a grace period ago) or "overdue".
	State string `json:"state"`
}

// SweepList is a page of GET /v1/sweeps, newest first.
type SweepList struct {
	Sweeps     []Sweep `json:"sweeps"`
	NextCursor *string `json:"next_cursor"`
}

// Outcomes of a drifted domain in a sweep report (package sweep says what
// each means).
const (
	OutcomeFixed     = sweep.OutcomeFixed
	OutcomeHeld      = sweep.OutcomeHeld
	OutcomeUnfixable = sweep.OutcomeUnfixable
	OutcomeError     = sweep.OutcomeError
	OutcomeQueued    = sweep.OutcomeQueued
	OutcomeReported  = sweep.OutcomeReported
	OutcomeMovedOn   = sweep.OutcomeMovedOn
)

// ReportEntry is one domain a sweep found drifted.
type ReportEntry struct {
	Domain   string `json:"domain"`
	Provider string `json:"provider"`
	// Before is what the registrar had, After what the fix sets.
	Before  string `json:"before"`
	After   string `json:"after"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail,omitempty"`
}

// SweepReport is GET /v1/sweeps/{id}/report.
type SweepReport struct {
	Sweep   Sweep         `json:"sweep"`
	Domains []ReportEntry `json:"domains"`
}

// ProviderCompliance is one account's figures in GET /v1/compliance.
type ProviderCompliance struct {
	Provider string `json:"provider"`
	Domains  int64  `json:"domains"`
	// InDesiredState domains were last read in their desired state.
	InDesiredState int64   `json:"in_desired_state"`
	Share          float64 `json:"share_in_desired_state"`
	Drifted        int64   `json:"drifted"`
	InError        int64   `json:"in_error"`
	NeverRead      int64   `json:"never_read"`
	// OldestReading is the least recent reading of any of its domains.
	OldestReading  *time.Time `json:"oldest_reading"`
	RegistryLocked int64      `json:"registry_locked"`
	// TransferPending domains have a transfer away pending at the registry.
	TransferPending int64 `json:"transfer_pending"`
	WindowsOpen     int64 `json:"windows_open"`
	WindowsOverdue  int64 `json:"windows_overdue"`
	// Freshness is the newest freshness plan's verdict on the account's
	// budget (absent when freshness mode is off).
	Freshness *Freshness `json:"freshness,omitempty"`
}

// Freshness says whether an account's background budget keeps every domain
// read once per period (scheduler.freshness).
type Freshness struct {
	// Period is scheduler.freshness, and Covers how long one period's
	// reads take at the account's budget ("" when it has no rate limit).
	Period string `json:"period"`
	Covers string `json:"covers"`
	// Short is true when Covers is longer than Period: some domains are
	// read less often than the period asks.
	Short           bool      `json:"short"`
	BudgetPerSecond float64   `json:"budget_per_second"`
	AtRisk          int64     `json:"at_risk"`
	Message         string    `json:"message"`
	PlannedAt       time.Time `json:"planned_at"`
}

// Compliance is GET /v1/compliance.
type Compliance struct {
	GeneratedAt time.Time            `json:"generated_at"`
	Providers   []ProviderCompliance `json:"providers"`
}

// History reads a page of a domain's history, newest first.
func (c *Client) History(ctx context.Context, domain, cursor string, limit int) (History, error) {
	v := url.Values{}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if limit > 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	var out History
	return out, c.do(ctx, http.MethodGet, "/v1/domains/"+url.PathEscape(domain)+"/history"+query(v), nil, &out)
}

// Sweeps reads a page of sweeps, newest first; state filters by state.
func (c *Client) Sweeps(ctx context.Context, state, cursor string) (SweepList, error) {
	v := url.Values{}
	if state != "" {
		v.Set("state", state)
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	var out SweepList
	return out, c.do(ctx, http.MethodGet, "/v1/sweeps"+query(v), nil, &out)
}

// SweepReport reads a sweep's report.
func (c *Client) SweepReport(ctx context.Context, id string) (SweepReport, error) {
	var out SweepReport
	return out, c.do(ctx, http.MethodGet, "/v1/sweeps/"+url.PathEscape(id)+"/report", nil, &out)
}

// Compliance reads the per-provider compliance summary.
func (c *Client) Compliance(ctx context.Context) (Compliance, error) {
	var out Compliance
	return out, c.do(ctx, http.MethodGet, "/v1/compliance", nil, &out)
}

// Forget removes a domain from the inventory (admin).
func (c *Client) Forget(ctx context.Context, domain string, r ForgetRequest) (Forgotten, error) {
	var out Forgotten
	return out, c.do(ctx, http.MethodDelete, "/v1/domains/"+url.PathEscape(domain), r, &out)
}

// ForgetRequest is the optional body of DELETE /v1/domains/{domain}.
type ForgetRequest struct {
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
}

// Forgotten is the answer to DELETE /v1/domains/{domain}.
type Forgotten struct {
	Domain   string `json:"domain"`
	Provider string `json:"provider"`
}

func query(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}
