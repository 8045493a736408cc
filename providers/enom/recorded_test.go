package enom

import (
	"context"
	"errors"
	"path"
	"slices"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// replay is what the adapter must make of one recorded answer, sent by the
// wire fake to the call that would have received it.
type replay func(t *testing.T, answer providertest.Answer)

// replayLockState expects LockState to read locked, or to fail with want.
func replayLockState(locked bool, want error, unrecognized bool) replay {
	return func(t *testing.T, a providertest.Answer) {
		c, _ := setup(t, a)
		st, err := c.LockState(context.Background(), "resellerdocs.com")
		switch {
		case want == nil && !unrecognized:
			if err != nil || st.Locked != locked {
				t.Fatalf("LockState = %+v, %v; want locked %v", st, err, locked)
			}
		case unrecognized:
			if !providers.IsUnrecognized(err) {
				t.Fatalf("LockState = %+v, %v; want an unrecognized answer", st, err)
			}
		case !errors.Is(err, want):
			t.Fatalf("LockState = %+v, %v; want %v", st, err, want)
		}
	}
}

// replaySetLock expects SetLock(locked) to return an error that is want.
func replaySetLock(locked bool, want error) replay {
	return func(t *testing.T, a providertest.Answer) {
		c, _ := setup(t, a)
		err := c.SetLock(context.Background(), "resellerdocs.com", locked)
		if (want == nil && err != nil) || !errors.Is(err, want) {
			t.Fatalf("SetLock(%v) = %v, want %v", locked, err, want)
		}
	}
}

// replayLockStates answers GetAllDomains with the recording (the size
// question first with a GetDomains page claiming size names, under a
// BulkMax that lets any size through) and expects the states, or an error
// that is want.
func replayLockStates(size string, want []providers.DomainState, wantErr error) replay {
	return func(t *testing.T, a providertest.Answer) {
		c, w := setupWith(t, Config{BulkMax: 1 << 20})
		w.Route(accountRoute(t, edited(t, "getdomains_size.xml",
			"<DomainCount>2</DomainCount>", "<DomainCount>"+size+"</DomainCount>",
			"<TotalDomainCount>2</TotalDomainCount>", "<TotalDomainCount>"+size+"</TotalDomainCount>"), a))
		got, errs := collect(c.LockStates(context.Background()))
		if wantErr != nil {
			if len(got) != 0 || len(errs) != 1 || !errors.Is(errs[0], wantErr) {
				t.Fatalf("LockStates = %v, %v; want only %v", got, errs, wantErr)
			}
			return
		}
		if len(errs) != 0 || !slices.Equal(got, want) {
			t.Fatalf("LockStates = %v, %v; want %v", got, errs, want)
		}
	}
}

// replayDomains expects Domains to fail with want.
func replayDomains(want error) replay {
	return func(t *testing.T, a providertest.Answer) {
		c, _ := setup(t, a)
		_, errs := collect(c.Domains(context.Background()))
		if len(errs) != 1 || !errors.Is(errs[0], want) {
			t.Fatalf("Domains errors = %v, want %v", errs, want)
		}
	}
}

// recorded says what each answer in testdata/recorded/ (sources in
// testdata/SOURCES.md) must give. The text-format ones are answers to
// requests without ResponseType=XML; the adapter always asks for XML, and
// must refuse such a body rather than misread it.
var recorded = map[string]replay{
	// The Ruby enom gem's fixtures, captured from eNom's test service.
	"getreglock_locked.xml":               replayLockState(true, nil, false),
	"setreglock_unlock_registrarlock.xml": replaySetLock(false, nil),
	"getalldomains_account.xml": replayLockStates("2", []providers.DomainState{
		{Domain: "test1234567test1234567.com", State: providers.State{Locked: true}},
		{Domain: "test123456test123456.com", State: providers.State{Locked: true}},
	}, nil),
	// A ModifyNS answer carries a reg-lock too: it must not be read as
	// GetRegLock's.
	"modifyns_success_reglock0.xml": replayLockState(false, nil, true),

	// eNom's API documents' examples.
	"getreglock_locked_doc.xml": replayLockState(true, nil, false),
	// Ends in a stray </debug> after Done: still a successful lock.
	"setreglock_lock_doc.xml": replaySetLock(true, nil),
	// Abbreviated by the documents' writers: they claim more than they hold.
	"getalldomains_doc_elided.xml":    replayLockStates("3077", nil, errListing),
	"getdomains_page1_doc_elided.xml": replayDomains(errListing),
	"getreglock_unlocked_doc.txt":     replayLockState(false, errNotENom, false),
	"setreglock_lock_doc.txt":         replaySetLock(true, errNotENom),
	"getalldomains_doc_elided.txt":    replayLockStates("2691", nil, errNotENom),
	"getdomains_page1_doc_elided.txt": replayDomains(errNotENom),

	// eNom's support article quoting errors in text format.
	"error_badauth_support_excerpt.txt":      replayLockState(false, errNotENom, false),
	"error_ipnotallowed_support_excerpt.txt": replayLockState(false, errNotENom, false),
}

// TestRecorded replays every recorded answer through the wire fake.
func TestRecorded(t *testing.T) {
	files := providertest.Fixtures(t, "recorded/*")
	seen := map[string]bool{}
	for _, name := range files {
		base := path.Base(name)
		if base == "SOURCES.md" {
			continue
		}
		seen[base] = true
		t.Run(base, func(t *testing.T) {
			check, ok := recorded[base]
			if !ok {
				t.Fatalf("no expectation for %s: every recording is replayed", name)
			}
			check(t, providertest.Fixture(t, name))
		})
	}
	for base := range recorded {
		if !seen[base] {
			t.Errorf("expectation for %s, but testdata/recorded/ has no such file", base)
		}
	}
}
