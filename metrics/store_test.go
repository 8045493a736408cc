package metrics

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// scrape returns the series of the named metrics as "name{l=v,...} value".
func scrape(t *testing.T, m *Metrics, names ...string) []string {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if !slices.Contains(names, mf.GetName()) {
			continue
		}
		for _, s := range mf.GetMetric() {
			var labels []string
			for _, l := range s.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			out = append(out, fmt.Sprintf("%s{%s} %v", mf.GetName(), strings.Join(labels, ","), s.GetGauge().GetValue()))
		}
	}
	slices.Sort(out)
	return out
}

// The store's identity as a process knows it: lost (or replaced) is 1, and
// the id it works for is a label, for alerts that compare processes.
func TestWatchStore(t *testing.T) {
	m := New()
	st := StoreStatus{ID: "abc", State: "ok"}
	m.WatchStore(func() StoreStatus { return st })
	for _, c := range []struct {
		st   StoreStatus
		want []string
	}{
		{StoreStatus{ID: "abc", State: "ok"}, []string{"reglock_store_info{state=ok,store_id=abc} 1", "reglock_store_lost{} 0"}},
		{StoreStatus{ID: "def", State: "lost", Lost: true}, []string{"reglock_store_info{state=lost,store_id=def} 1", "reglock_store_lost{} 1"}},
		{StoreStatus{ID: "abc", State: "replaced", Lost: true}, []string{"reglock_store_info{state=replaced,store_id=abc} 1", "reglock_store_lost{} 1"}},
		// Before the process saw a marker: no id, not lost.
		{StoreStatus{}, []string{"reglock_store_lost{} 0"}},
	} {
		st = c.st
		if got := scrape(t, m, "reglock_store_lost", "reglock_store_info"); !slices.Equal(got, c.want) {
			t.Errorf("%+v: scrape %v, want %v", c.st, got, c.want)
		}
	}
}
