package simulator

import "net/http"

// serveWHMCS is the WHMCS API endpoint. (Placeholder until implemented.)
func (s *Simulator) serveWHMCS(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "WHMCS is not simulated yet", http.StatusNotImplemented)
}
