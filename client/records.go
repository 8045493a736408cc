package client

import "time"

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

// SweepList is a page of GET /v1/sweeps, newest first.
type SweepList struct {
	Sweeps     []Sweep `json:"sweeps"`
	NextCursor *string `json:"next_cursor"`
}

// Outcomes of a drifted domain in a sweep report (ReportEntry.Outcome; the
// server's package sweep decides which applies, with these constants).
const (
	// OutcomeFixed: the registrar was read back in the state the fix set.
	OutcomeFixed = "fixed"
	// OutcomeHeld: the guard held the account's fixes for an operator.
	OutcomeHeld = "held"
	// OutcomeUnfixable: drift reglock must not touch (the registry's own
	// lock, a pending state).
	OutcomeUnfixable = "unfixable"
	// OutcomeError: the fix failed at the registrar (see the domain).
	OutcomeError = "error"
	// OutcomeQueued: the fix is queued and not yet confirmed.
	OutcomeQueued = "queued"
	// OutcomeReported: a dry run's drift, reported and left alone.
	OutcomeReported = "reported"
	// OutcomeMovedOn: the domain's intent changed after the sweep read it,
	// so the sweep's fix no longer applies (the newer intent's own task
	// converges it), or the domain left the inventory.
	OutcomeMovedOn = "moved_on"
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
