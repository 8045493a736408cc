package reconcile

import (
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
)

// OwedTask names the task that carries a domain's owed work (its mark): the
// one the janitor looks for, and queues again when it is gone. It is the
// task the API's domain status reports.
func OwedTask(domain string, desired store.Desired, m store.Mark) (id, queue string) {
	queue = tasks.QueueChanges
	if m.Kind == store.MarkFix || m.Kind == store.MarkRelock {
		queue = tasks.QueueFixes
	}
	switch {
	case m.TaskID != "":
		// The task that was queued for it: a live one has this ID.
		id = m.TaskID
	case m.Kind == store.MarkTrade && desired.TradeLock != nil:
		id = tasks.ChangeID("trade", domain, desired.Generation)
	case desired.Locked:
		id = tasks.ChangeID("lock", domain, desired.Generation)
	default:
		id = tasks.ChangeID("unlock", domain, desired.Generation)
	}
	return id, queue
}
