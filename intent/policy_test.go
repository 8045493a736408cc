package intent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/policy"
	"github.com/reglock/reglock/store"
)

func TestService_policyAllows(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	cfg := config.Default()
	cfg.Policy.TLDs["nolock"] = config.TLDCapability{Lock: config.LockNone}
	errDates := errors.New("no dates")
	dates := func(_ context.Context, domain string) (policy.Dates, error) {
		switch domain {
		case "young.com", "young.nolock":
			return policy.Dates{Registered: now.Add(-24 * time.Hour)}, nil
		case "broken.com":
			return policy.Dates{}, errDates
		}
		return policy.Dates{}, nil
	}
	locked := func(err error) bool { return errors.Is(err, policy.ErrLockedByPolicy) }
	unlockable := func(err error) bool { return errors.Is(err, policy.ErrUnlockable) }
	isNil := func(err error) bool { return err == nil }
	tests := []struct {
		name   string
		kind   store.Kind
		domain string
		dates  func(context.Context, string) (policy.Dates, error)
		want   func(error) bool
	}{
		{"lock, lockable TLD", store.KindLock, "young.com", dates, isNil},
		{"lock, TLD without a lock", store.KindLock, "example.nolock", dates, unlockable},
		{"unlock, TLD without a lock, before the window check", store.KindUnlock, "young.nolock", dates, unlockable},
		{"trade lock, TLD without a lock: not this check's", store.KindTrade, "example.nolock", dates, isNil},
		{"unlock inside a window", store.KindUnlock, "young.com", dates, locked},
		{"unlock, no dates known", store.KindUnlock, "other.com", dates, isNil},
		{"unlock, no Dates hook", store.KindUnlock, "young.com", nil, isNil},
		{"unlock, the dates cannot be read", store.KindUnlock, "broken.com", dates, func(err error) bool { return errors.Is(err, errDates) }},
		{"registry-enforced windows only: .ee has none", store.KindUnlock, "young.ee", dates, isNil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &Service{Config: cfg, Clock: clock.NewManual(now), Dates: tc.dates}
			if err := s.policyAllows(context.Background(), tc.kind, tc.domain); !tc.want(err) {
				t.Errorf("policyAllows = %v", err)
			}
		})
	}
	s := &Service{Config: cfg, Clock: clock.NewManual(now), Dates: dates}
	var pl *policy.PolicyLockedError
	if err := s.policyAllows(context.Background(), store.KindUnlock, "young.com"); !errors.As(err, &pl) ||
		pl.Domain != "young.com" || pl.Window.Kind != config.WindowRegistration || !pl.Window.Until.Equal(now.Add(59*24*time.Hour)) {
		t.Errorf("policyAllows = %#v", err)
	}
	// A configuration without a policy section (a literal, as in tests):
	// every TLD lockable, no windows.
	s = &Service{Config: &config.Config{}, Clock: clock.NewManual(now), Dates: dates}
	if err := s.policyAllows(context.Background(), store.KindUnlock, "young.nolock"); err != nil {
		t.Errorf("policyAllows with no policy = %v", err)
	}
}
