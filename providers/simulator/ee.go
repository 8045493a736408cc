package simulator

import "net/http"

// eeState is the .ee registrant API's own state. (Placeholder.)
type eeState struct{}

// eeDomain is the .ee registry's view of a domain. (Placeholder.)
type eeDomain struct{ locked bool }

func (s *Simulator) eeAdd(d *domain)                { d.ee = &eeDomain{locked: d.locked} }
func (s *Simulator) eeForget(d *domain)             {}
func (s *Simulator) eeLocked(d *domain) bool        { return d.ee.locked }
func (s *Simulator) eeSetLocked(d *domain, l bool)  { d.ee.locked = l }
func (s *Simulator) eeSetPending(d *domain, p bool) {}

// serveEE is the .ee registrant API. (Placeholder until implemented.)
func (s *Simulator) serveEE(w http.ResponseWriter, r *http.Request) {
	http.Error(w, ".ee is not simulated yet", http.StatusNotImplemented)
}
