// Package policy says what the registries' rules allow: whether a domain is
// inside a policy window (the transfer lock after a registration, a transfer
// or a change of registrant) and what lock its TLD has at all. The rules are
// data, from the configuration (policy.windows, policy.tlds), because they
// differ by TLD and they change.
//
// # Policy windows
//
// ICANN's Transfer Policy locks a gTLD domain against transfer for 60 days
// after it is registered, after it is transferred and (a lock the registrar
// applies, which the registrant may opt out of: OpenSRS's trade lock) after
// a change of registrant. The Transfer Policy review replaces the 60-day
// locks with 720-hour (30-day) ones and drops the change-of-registrant lock;
// its effective date is not yet announced. Each window in policy.windows
// therefore has optional effective dates:
//
//	policy:
//	  windows:
//	    - {kind: registration,      tlds: [com, net, org], duration: 1440h, enforced_by: registry}
//	    - {kind: transfer,          tlds: [com, net, org], duration: 1440h, enforced_by: registry}
//	    - {kind: registrant_change, tlds: [com, net, org], duration: 1440h, enforced_by: registrar}
//
// is the default. Once the date is announced, end the 60-day windows on it
// and start the 720-hour ones (replace DATE; no change-of-registrant window
// from it):
//
//	policy:
//	  windows:
//	    - {kind: registration,      tlds: [com, net, org], duration: 1440h, effective_until: DATE}
//	    - {kind: transfer,          tlds: [com, net, org], duration: 1440h, effective_until: DATE}
//	    - {kind: registrant_change, tlds: [com, net, org], duration: 1440h, effective_until: DATE, enforced_by: registrar}
//	    - {kind: registration,      tlds: [com, net, org], duration: 720h,  effective_from: DATE}
//	    - {kind: transfer,          tlds: [com, net, org], duration: 720h,  effective_from: DATE}
//
// The effective-date rule: a window applies to an event (registration,
// transfer, change of registrant) that happened while the window was
// effective, effective_from <= event < effective_until. The rules in force
// on the day of the event decide its lock, so a domain registered the day
// before the new policy keeps its 60-day lock, and one registered on the day
// gets 720 hours, whenever it is asked.
//
// A window enforced_by registry is one the registry holds whatever the
// registrar lock says: Windows.Active reports it, a domain inside it is
// "locked by policy until T" rather than drifted, and an unlock request
// inside it is refused (*PolicyLockedError). A registrar-enforced window
// (Windows.InEffect lists it too) is informational: the registrant can
// opt out of it.
//
// # TLD capabilities
//
// Not every TLD has a registrar lock. policy.tlds says, per TLD, which lock
// there is: registrar (the default, also for TLDs not listed), registry
// (only a registry lock, as .ee's registrant API sets), or none. A lock or
// unlock request for a TLD with lock: none is refused at once
// (*CannotLockError, HTTP 422 lock_unsupported) instead of failing at the
// registrar over and over. locks lists the separate transfer, update and
// delete locks a TLD has, for people.
//
//	policy:
//	  tlds:
//	    ch:  {lock: none, note: "the registry offers no registrar lock"}
//	    "*": {lock: registrar}   # every TLD not listed (the default)
//
// The entries given add to the defaults (com, net, org: registrar; ee:
// registry) or replace them, TLD by TLD. A TLD entry covers the names under
// it (uk covers co.uk); the longest match wins.
package policy
