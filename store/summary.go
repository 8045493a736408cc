package store

import (
	"context"
	"time"
)

// Summary is one account's compliance figures: how many of its domains are
// as they should be, and why the others are not.
type Summary struct {
	Provider string
	Domains  int64
	// InDesiredState domains were last read in their desired state.
	InDesiredState int64
	// Drifted domains were last read successfully in the other state.
	Drifted int64
	// InError domains' newest read failed.
	InError int64
	// NeverRead domains have no reading yet.
	NeverRead int64
	// OldestReading is the least recent successful reading (zero if none).
	OldestReading time.Time
	// RegistryLocked domains carry the registry's own lock.
	RegistryLocked int64
	// TransferPending domains have a transfer away pending at the registry
	// (their newest reading).
	TransferPending int64
	// WindowsOpen are unlock windows still running; WindowsOverdue ended
	// more than the grace period ago and the domain is still not locked.
	WindowsOpen, WindowsOverdue int64
}

// Summarize reads the whole inventory, a few buckets per round trip, and
// returns each account's figures. A window that ended less than grace ago
// is due, not overdue: its relock is on its way.
func (s *Store) Summarize(ctx context.Context, now time.Time, grace time.Duration) (map[string]*Summary, error) {
	out := map[string]*Summary{}
	chunks, err := s.OccupiedChunks(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range chunks {
		err := s.ScanChunk(ctx, c, "", func(doms []Domain) bool {
			for _, d := range doms {
				sum := out[d.Desired.Provider]
				if sum == nil {
					sum = &Summary{Provider: d.Desired.Provider}
					out[d.Desired.Provider] = sum
				}
				sum.add(d, now, grace)
			}
			return true
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// The sync states of a domain, as its newest reading has it (SyncState).
const (
	StateError     = "error"
	StateNeverRead = "never_read"
	StateInSync    = "in_sync"
	StateDrifted   = "drifted"
)

// SyncState is where a domain stands by its newest reading: its read
// failed, it was never read, it is in its desired state, or it drifted.
// The compliance figures, the freshness plan and reglock_domains all count
// by it.
func SyncState(d Domain) string {
	switch {
	case d.Observed.Error != "":
		return StateError
	case !d.Observed.Known:
		return StateNeverRead
	case d.InSync():
		return StateInSync
	default:
		return StateDrifted
	}
}

func (sum *Summary) add(d Domain, now time.Time, grace time.Duration) {
	sum.Domains++
	o := d.Observed
	switch SyncState(d) {
	case StateError:
		sum.InError++
	case StateNeverRead:
		sum.NeverRead++
	case StateInSync:
		sum.InDesiredState++
	default:
		sum.Drifted++
	}
	if o.Known {
		if sum.OldestReading.IsZero() || o.CheckedAt.Before(sum.OldestReading) {
			sum.OldestReading = o.CheckedAt
		}
		if o.Flags&FlagByRegistry != 0 {
			sum.RegistryLocked++
		}
		if o.Flags&FlagTransfer != 0 {
			sum.TransferPending++
		}
	}
	if at := d.Desired.RelockAt; !at.IsZero() && !d.Desired.Locked {
		if now.Before(at.Add(grace)) {
			sum.WindowsOpen++
		} else {
			sum.WindowsOverdue++
		}
	}
}
