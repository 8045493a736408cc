package notify

import (
	"strings"
	"time"

	"github.com/reglock/reglock/config"
)

// Kinds of event, the values of Event.Kind and of a notification's events
// filter (config.NotificationEvents lists them for the configuration).
const (
	// KindDriftConfirmed: a domain's lock differed from its intent on two
	// readings. ID: "drift_confirmed:<domain>@<generation>".
	KindDriftConfirmed = "drift_confirmed"
	// KindDriftFixed: reglock changed a drifted lock back to its intent.
	// ID: "drift_fixed:<domain>@<generation>".
	KindDriftFixed = "drift_fixed"
	// KindFixFailed: a change failed permanently; the error is recorded
	// on the domain. ID: "fix_failed:<domain>@<generation>".
	KindFixFailed = "fix_failed"
	// KindSweepPaused: the blast-radius guard held a sweep's fixes until
	// an operator applies it. ID: "sweep_paused:<sweep id>".
	KindSweepPaused = "sweep_paused"
	// KindSweepFinished: a sweep ended, done or paused, with its figures.
	// ID: "sweep_finished:<sweep id>".
	KindSweepFinished = "sweep_finished"
	// KindBreakerOpened: calls to a registrar account stopped.
	// ID: "breaker_opened:<provider>@<outage start>".
	KindBreakerOpened = "breaker_opened"
	// KindBreakerClosed: the account answers again.
	// ID: "breaker_closed:<provider>@<outage start>".
	KindBreakerClosed = "breaker_closed"
	// KindRelockDone: an unlock window ended and the domain is locked again.
	// ID: "relock_done:<domain>@<window end>".
	KindRelockDone = "relock_done"
	// KindRelockOverdue: an unlock window ended and its relock had not run
	// a grace period later; the janitor queued it.
	// ID: "relock_overdue:<domain>@<window end>".
	KindRelockOverdue = "relock_overdue"
	// KindDomainGone: a domain is no longer in its registrar account.
	// ID: "domain_gone:<domain>@<generation>".
	KindDomainGone = "domain_gone"
	// KindStoreLost: the store lost its data (a Redis without persistence
	// restarted). ID: "store_lost:<when it was noticed>".
	KindStoreLost = "store_lost"
	// KindTransferPending: a transfer away is pending at the registry for
	// a domain whose intent is locked — a hijack in progress, or a lock
	// lost: the losing registrar has days, not weeks, to stop it.
	// ID: "transfer_pending:<domain>@<generation>".
	KindTransferPending = "transfer_pending"
	// KindTransferred: a domain unlocked for a transfer left the account;
	// reglock recorded it and forgot the domain.
	// ID: "transferred:<domain>@<generation>".
	KindTransferred = "transferred"
	// KindRegistryDisagrees: the registry's public record (RDAP) disagrees
	// with the registrar about a domain's lock; reglock reads the registrar
	// again and writes only on its word.
	// ID: "registry_disagrees:<domain>@<generation>".
	KindRegistryDisagrees = "registry_disagrees"
)

// Kinds are all kinds of event, in the order of their documentation.
func Kinds() []string { return append([]string(nil), config.NotificationEvents...) }

// Event is something an operator should hear about. Its JSON form is the
// body of a json-format delivery, field for field.
type Event struct {
	// ID names the occurrence, the same wherever and however often it is
	// raised: deliveries are deduplicated by it, and receivers should do
	// the same (it is in the Reglock-Event-Id header). Build it with NewID
	// from the kind and what makes the occurrence unique (see the Kind
	// constants). Raise makes one from the kind, the subject and Time when
	// it is empty, which does not deduplicate across processes.
	ID   string `json:"id"`
	Kind string `json:"kind"`
	// Time is when it happened; Raise sets it to now when zero.
	Time     time.Time `json:"time"`
	Domain   string    `json:"domain"`
	Provider string    `json:"provider"`
	SweepID  string    `json:"sweep_id"`
	// Summary is one line for people; a Slack message is this line.
	Summary string `json:"summary"`
	// Data holds the kind's own fields; it is sent as {} when empty. No
	// secret may go here.
	Data map[string]any `json:"data"`
}

// NewID is an event ID: the kind and parts joined with ':', e.g.
// NewID(KindSweepPaused, sweepID). Characters that would break a task ID
// in asynqmon ('/', '?', '#', '%', white space) become '_'.
func NewID(kind string, parts ...string) string {
	return cleanID(strings.Join(append([]string{kind}, parts...), ":"))
}

// At formats t for an event ID ("20261205T030000.000Z"), as task IDs
// write times: NewID(KindRelockOverdue, domain+"@"+At(windowEnd)).
func At(t time.Time) string { return t.UTC().Format("20060102T150405.000Z") }

func cleanID(id string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '/', r == '?', r == '#', r == '%', r <= ' ', r == 0x7f:
			return '_'
		default:
			return r
		}
	}, id)
}

// subject is what an event is about, for a derived ID and a Slack line.
func (e Event) subject() string {
	switch {
	case e.Domain != "":
		return e.Domain
	case e.SweepID != "":
		return e.SweepID
	default:
		return e.Provider
	}
}
