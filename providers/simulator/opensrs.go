package simulator

import "net/http"

// serveOpenSRS is the OpenSRS XCP endpoint. (Placeholder until implemented.)
func (s *Simulator) serveOpenSRS(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "OpenSRS is not simulated yet", http.StatusNotImplemented)
}
