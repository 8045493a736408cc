package client

import "time"

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
	SweepID     string `json:"sweep_id"`
	State       string `json:"state"`
	Checked     int64  `json:"checked"`
	Drifted     int64  `json:"drifted"`
	FixesQueued int64  `json:"fixes_queued"`
	Errors      int64  `json:"errors"`
	// Calls are the registrar requests the sweep's reads took.
	Calls    int64  `json:"calls"`
	Provider string `json:"provider,omitempty"`
	// Trigger is who started it: "schedule" (the cron), "freshness" (a
	// pass of the continuous mode), or "api:<token name>" (a request, the
	// CLI's included).
	Trigger     string                 `json:"trigger,omitempty"`
	DryRun      bool                   `json:"dry_run"`
	Unfixable   int64                  `json:"unfixable"`
	Paused      map[string]string      `json:"paused,omitempty"`
	PerProvider map[string]SweepCounts `json:"per_provider,omitempty"`
	Stage       string                 `json:"stage,omitempty"`
	CreatedAt   *time.Time             `json:"created_at"`
	FinishedAt  *time.Time             `json:"finished_at"`
}

// SweepCounts are one account's figures in a sweep (Sweep.PerProvider).
type SweepCounts struct {
	// Checked domains were read at the registrar.
	Checked int64 `json:"checked"`
	// Drifted domains differed from their desired state on two readings.
	Drifted int64 `json:"drifted"`
	// Errors are domains whose read failed.
	Errors int64 `json:"errors"`
	// Unlocks are fixes that would unlock a domain.
	Unlocks int64 `json:"unlocks"`
	// Unfixable are drifted domains reglock must not touch (a registry's
	// own lock, a pending state).
	Unfixable int64 `json:"unfixable"`
	// Calls are the registrar requests the sweep's reads took (lookups,
	// listing pages, logins, retries): Calls/Checked is what a domain cost.
	Calls int64 `json:"calls"`
}
