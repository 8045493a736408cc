package intent

import (
	"context"
	"fmt"

	"github.com/reglock/reglock/policy"
	"github.com/reglock/reglock/store"
)

// policyAllows refuses, before anything is recorded, a lock or unlock
// request for a TLD without a lock (*policy.CannotLockError) and an unlock
// request for a domain inside a registry-enforced policy window
// (*policy.PolicyLockedError). Trade-lock requests are not checked: the
// trade lock is the registrar's own setting.
func (s *Service) policyAllows(ctx context.Context, kind store.Kind, domain string) error {
	if kind != store.KindLock && kind != store.KindUnlock {
		return nil
	}
	if err := policy.Capabilities(s.Config.Policy.TLDs).For(domain).CannotLock(); err != nil {
		return err
	}
	if kind != store.KindUnlock || s.Dates == nil {
		return nil
	}
	dates, err := s.Dates(ctx, domain)
	if err != nil {
		return fmt.Errorf("policy windows: the dates of %s: %w", domain, err)
	}
	if w, ok := policy.Windows(s.Config.Policy.Windows).Active(dates, domain, s.now()); ok {
		return &policy.PolicyLockedError{Domain: domain, Window: w}
	}
	return nil
}
