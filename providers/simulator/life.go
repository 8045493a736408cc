package simulator

// A registrar's life: domains arrive (registration, transfer in), leave
// (transfer away, at once or pending and then completed or cancelled), and
// the registry sets and lifts its own lock. The inventory stays one:
// every event changes the records the protocols read, so each answers as
// its registrar would.
//
// What each protocol shows of them:
//
//   - A domain that left (TransferAway, CompleteTransferAway) is one the
//     account does not hold: eNom "Domain name not found" with
//     ResponseNumber 316153 at HTTP 200; OpenSRS response code 415
//     "Authentication Error." as live (480 with
//     Options.OpenSRSNotHeldNotFound); WHMCS "Domain ID Not Found" for its
//     old domainid; .ee 404 "Domain not found". No listing has it.
//   - A transfer away needs the domain unlocked (its registrar lock and
//     the registry's), as a registry refuses to start one otherwise; once
//     pending, it completes whatever happens to the lock.
//   - A pending transfer away: OpenSRS shows transfer_away_in_progress 1
//     and can_modify 0 and refuses modify (486); WHMCS refuses lock changes
//     with its pending error; .ee has the pendingTransfer status, under
//     which the registry refuses to lock. eNom shows nothing of it, as it
//     shows nothing of SetPending's state [sim: its documents say nothing
//     of either].
//   - A transfer in is listed at once, with a new WHMCS domainid and a new
//     .ee UUID (OpenSRS has no ID; eNom's DomainNameID is made from the
//     name here, so it stays).
//   - The registry's lock: on .ee the three server*Prohibited statuses
//     without locked_by_registrant_at. eNom, OpenSRS and WHMCS report only
//     the account's own lock, so it does not show in their lock reads; it
//     shows as refused lock changes, as an EPP registry refuses updates
//     under serverUpdateProhibited [sim: none of the three documents it]:
//     eNom "Object status prohibits operation", OpenSRS 435 (permission
//     denied, the code of a recorded reply passing on a registry's
//     refusal), WHMCS a registrar error. OpenSRS also shows can_modify 0.

import (
	"errors"
	"strconv"
)

// The life events' errors.
var (
	// ErrNoDomain: no account holds the domain.
	ErrNoDomain = errors.New("simulator: no account holds the domain")
	// ErrRegistered: a registration of a domain some account holds.
	ErrRegistered = errors.New("simulator: the domain is registered already")
	// ErrHeld: a transfer in to the account that holds the domain.
	ErrHeld = errors.New("simulator: the account holds the domain already")
	// ErrTransferLocked: a transfer of a domain whose lock forbids it (the
	// registrar lock, or the registry's); unlock it first.
	ErrTransferLocked = errors.New("simulator: the domain is locked against transfers; unlock it first")
	// ErrNoTransfer: completing or cancelling a transfer away that was
	// never started.
	ErrNoTransfer = errors.New("simulator: no transfer away is pending")
)

// Register registers a new domain in the account with the given lock
// (a real registration starts unlocked): it is listed and answers lock
// calls at once. It fails with ErrRegistered when any account holds name.
func (a *Account) Register(name string, locked bool) (DomainInfo, error) {
	s := a.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.domains[name]; ok {
		return DomainInfo{}, ErrRegistered
	}
	return s.info(s.add(a, name, locked, false)), nil
}

// TransferIn brings a domain into the account with the given lock, as a
// completed transfer from another registrar does: a new record, with a new
// WHMCS domainid and a new .ee UUID. When another account of the simulator
// holds name, it leaves that account, which needs it unlocked unless a
// transfer away is pending there (ErrTransferLocked). It fails with ErrHeld
// when the account holds name already.
func (a *Account) TransferIn(name string, locked bool) (DomainInfo, error) {
	s := a.sim
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.domains[name]; ok {
		switch {
		case d.account == a:
			return DomainInfo{}, ErrHeld
		case !d.transferPending && s.transferLocked(d):
			return DomainInfo{}, ErrTransferLocked
		}
	}
	return s.info(s.add(a, name, locked, true)), nil
}

// TransferAway completes a transfer of the domain to another registrar
// now: it leaves its account and the inventory, and every protocol answers
// it as a domain the account does not hold. Unless a transfer away is
// pending (then this completes it), the domain must be unlocked, as a
// registry refuses to start a transfer otherwise (ErrTransferLocked). It
// returns the domain as it left.
func (s *Simulator) TransferAway(name string) (DomainInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	switch {
	case !ok:
		return DomainInfo{}, ErrNoDomain
	case !d.transferPending && s.transferLocked(d):
		return DomainInfo{}, ErrTransferLocked
	}
	return s.leave(d), nil
}

// StartTransferAway puts the domain in a pending transfer away, until
// CompleteTransferAway or CancelTransferAway: OpenSRS shows
// transfer_away_in_progress, .ee the pendingTransfer status, and the
// registrars that refuse changes in a pending state (OpenSRS, WHMCS, .ee)
// refuse lock changes. The domain must be unlocked (ErrTransferLocked): the
// registry checks the lock when the transfer is requested. Starting a
// transfer that is pending already changes nothing.
func (s *Simulator) StartTransferAway(name string) (DomainInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	switch {
	case !ok:
		return DomainInfo{}, ErrNoDomain
	case d.transferPending:
		return s.info(d), nil
	case s.transferLocked(d):
		return DomainInfo{}, ErrTransferLocked
	}
	s.setTransferPending(d, true)
	return s.info(d), nil
}

// CompleteTransferAway completes the pending transfer away: the domain
// leaves, as with TransferAway. It fails with ErrNoTransfer when none is
// pending, and returns the domain as it left.
func (s *Simulator) CompleteTransferAway(name string) (DomainInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	switch {
	case !ok:
		return DomainInfo{}, ErrNoDomain
	case !d.transferPending:
		return DomainInfo{}, ErrNoTransfer
	}
	return s.leave(d), nil
}

// CancelTransferAway ends the pending transfer away with the domain still
// in its account. It fails with ErrNoTransfer when none is pending.
func (s *Simulator) CancelTransferAway(name string) (DomainInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	switch {
	case !ok:
		return DomainInfo{}, ErrNoDomain
	case !d.transferPending:
		return DomainInfo{}, ErrNoTransfer
	}
	s.setTransferPending(d, false)
	return s.info(d), nil
}

// SetRegistryLock sets or lifts the registry's own lock on the domain,
// which is not the account's and which the account cannot lift: on .ee
// the three server*Prohibited statuses without locked_by_registrant_at
// (which the .ee adapter reads as ByRegistry); at eNom, OpenSRS and WHMCS,
// whose lock reads show only the account's own lock, lock changes are
// refused while it holds. Setting the state the domain has changes
// nothing.
func (s *Simulator) SetRegistryLock(name string, locked bool) (DomainInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.domains[name]
	if !ok {
		return DomainInfo{}, ErrNoDomain
	}
	if d.ee != nil {
		s.eeSetRegistryLock(d, locked)
	} else {
		d.registryLocked = locked
	}
	s.rdapNote(d)
	return s.info(d), nil
}

// transferLocked reports whether the domain's locks make a registry refuse
// a transfer away. The caller holds s.mu.
func (s *Simulator) transferLocked(d *domain) bool {
	if d.ee != nil {
		return d.ee.transferBlocked()
	}
	return d.locked || d.registryLocked
}

// setTransferPending starts or ends a pending transfer away. The caller
// holds s.mu for writing.
func (s *Simulator) setTransferPending(d *domain, pending bool) {
	if d.ee != nil {
		s.eeSetTransferPending(d, pending)
		return
	}
	d.transferPending = pending
	s.rdapNote(d)
}

// leave takes d out of its account and the inventory and returns it as it
// left. The caller holds s.mu for writing.
func (s *Simulator) leave(d *domain) DomainInfo {
	info := s.info(d)
	info.TransferPending, info.TransferredAway = false, true
	s.remove(d)
	return info
}

// registrarID is the registrar's own identifier of d, where its protocol
// has one: WHMCS's domainid, the .ee UUID. The caller holds s.mu.
func (d *domain) registrarID() string {
	switch {
	case d.ee != nil:
		return eeFormatUUID(d.ee.uuid)
	case d.account.kind == WHMCS:
		return strconv.Itoa(d.id)
	}
	return ""
}
