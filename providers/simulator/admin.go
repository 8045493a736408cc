package simulator

import "net/http"

// adminRoutes mounts the simulator's own controls under /_sim/. (Placeholder.)
func (s *Simulator) adminRoutes(mux *http.ServeMux) {}
