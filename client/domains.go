package client

import "time"

// The domain calls' wire format: what POST, DELETE and PUT of
// /v1/domains/{domain}/... send, and what a change and a read answer.

// LockRequest is the optional body of POST /v1/domains/{domain}/lock.
type LockRequest struct {
	Provider    string `json:"provider,omitempty"`
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
}

// UnlockRequest is the optional body of DELETE /v1/domains/{domain}/lock.
type UnlockRequest struct {
	RelockAfter string `json:"relock_after,omitempty"`
	// ForTransfer keeps the domain unlocked until it leaves the account
	// (the transfer is done: recorded, and the domain forgotten) or the
	// window ends (relocked; default 14 days, the server's
	// intent.DefaultTransferWindow).
	ForTransfer bool   `json:"for_transfer,omitempty"`
	Provider    string `json:"provider,omitempty"`
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
}

// TradeLockRequest is the body of PUT /v1/domains/{domain}/trade-lock.
type TradeLockRequest struct {
	Enable      *bool  `json:"enable"`
	ConsentIP   string `json:"consent_ip"`
	Provider    string `json:"provider,omitempty"`
	Reason      string `json:"reason,omitempty"`
	RequestedBy string `json:"requested_by,omitempty"`
}

// Accepted is the answer to an accepted change (202).
type Accepted struct {
	Domain     string  `json:"domain"`
	Generation int64   `json:"generation"`
	TaskID     string  `json:"task_id"`
	Desired    Desired `json:"desired"`
}

// Desired is a domain's desired state.
type Desired struct {
	Locked       bool       `json:"locked"`
	TradeLock    *bool      `json:"trade_lock"`
	TradeApplied *bool      `json:"trade_lock_applied,omitempty"`
	RelockAt     *time.Time `json:"relock_at"`
	// ForTransfer: unlocked for a transfer away.
	ForTransfer bool `json:"for_transfer,omitempty"`
}

// Observed is the registrar's lock as last read.
type Observed struct {
	Locked     *bool      `json:"locked"`
	CheckedAt  *time.Time `json:"checked_at"`
	Error      *string    `json:"error"`
	ByRegistry bool       `json:"by_registry,omitempty"`
	Pending    bool       `json:"pending,omitempty"`
	Indirect   bool       `json:"indirect,omitempty"`
	// TransferPending: a transfer away is pending at the registry.
	TransferPending bool `json:"transfer_pending,omitempty"`
}

// Domain is a domain's record: GET /v1/domains/{domain}.
type Domain struct {
	Domain     string   `json:"domain"`
	Provider   string   `json:"provider"`
	Generation int64    `json:"generation"`
	Desired    Desired  `json:"desired"`
	Observed   Observed `json:"observed"`
	InSync     bool     `json:"in_sync"`
	// Intent says who asked for the current intent and why (GET of one
	// domain only: from its history).
	Intent *IntentInfo `json:"intent,omitempty"`
	// Task is the queued or retrying task of its pending work, if any.
	Task *TaskInfo `json:"task,omitempty"`
	// Relock is the end of its unlock window, if one is open.
	Relock *RelockInfo `json:"relock,omitempty"`
}

// DomainList is a page of GET /v1/domains.
type DomainList struct {
	Domains    []Domain `json:"domains"`
	NextCursor *string  `json:"next_cursor"`
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
