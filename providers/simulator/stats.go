package simulator

import "time"

// stats counts calls for load tests: per registrar and command, reads and
// writes, and each account's busiest sliding 1-second window. Guarded by
// Simulator.logMu.
type stats struct {
	calls    map[Kind]map[string]int64
	reads    int64
	writes   int64
	windows  map[string]*window
	since    time.Time
	lastCall time.Time
}

// window holds one account's calls of the last second.
type window struct {
	times   []time.Time
	busiest int
}

func (st *stats) add(r Request) {
	if st.calls == nil {
		st.calls = make(map[Kind]map[string]int64)
		st.windows = make(map[string]*window)
		st.since = r.Time
	}
	ops := st.calls[r.Kind]
	if ops == nil {
		ops = make(map[string]int64)
		st.calls[r.Kind] = ops
	}
	ops[r.Op]++
	if r.Write {
		st.writes++
	} else {
		st.reads++
	}
	st.lastCall = r.Time
	key := string(r.Kind) + "/" + r.Account
	w := st.windows[key]
	if w == nil {
		w = &window{}
		st.windows[key] = w
	}
	cut := 0
	for cut < len(w.times) && r.Time.Sub(w.times[cut]) >= time.Second {
		cut++
	}
	w.times = append(w.times[cut:], r.Time)
	w.busiest = max(w.busiest, len(w.times))
}

// Stats is what the simulator has counted since it started or was reset.
type Stats struct {
	Calls  map[Kind]map[string]int64 `json:"calls"`
	Reads  int64                     `json:"reads"`
	Writes int64                     `json:"writes"`
	// BusiestSecond is, per "kind/account", the most calls seen in any
	// sliding 1-second window.
	BusiestSecond map[string]int `json:"busiest_second"`
	Since         time.Time      `json:"since"`
	LastCall      time.Time      `json:"last_call"`
}

// Stats returns a copy of the counters.
func (s *Simulator) Stats() Stats {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := Stats{Calls: map[Kind]map[string]int64{}, BusiestSecond: map[string]int{},
		Reads: s.stats.reads, Writes: s.stats.writes, Since: s.stats.since, LastCall: s.stats.lastCall}
	for k, ops := range s.stats.calls {
		m := make(map[string]int64, len(ops))
		for op, n := range ops {
			m[op] = n
		}
		out.Calls[k] = m
	}
	for k, w := range s.stats.windows {
		out.BusiestSecond[k] = w.busiest
	}
	return out
}

// ResetStats starts counting afresh.
func (s *Simulator) ResetStats() {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.stats = stats{}
}
