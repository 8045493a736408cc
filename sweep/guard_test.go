package sweep

import (
	"strings"
	"testing"
)

func TestGuard_Hold(t *testing.T) {
	g := Guard{MaxDriftShare: 0.10}
	cases := []struct {
		name string
		c    Counts
		want string // "" means no hold
	}{
		{"no drift", Counts{Checked: 100}, ""},
		{"at the limit", Counts{Checked: 100, Drifted: 10}, ""},
		{"over the limit", Counts{Checked: 100, Drifted: 11}, "11 of 100 domains drifted (11.0% > the 10.0% limit)"},
		{"unfixable drift does not count", Counts{Checked: 100, Drifted: 30, Unfixable: 25}, ""},
		{"an unlock", Counts{Checked: 1000, Drifted: 1, Unlocks: 1}, "1 fix would unlock a domain"},
		{"both", Counts{Checked: 10, Drifted: 5, Unlocks: 2}, "5 of 10 domains drifted (50.0% > the 10.0% limit); 2 fixes would unlock domains"},
		{"nothing checked", Counts{}, ""},
	}
	for _, c := range cases {
		got := g.Hold(c.c)
		if (c.want == "") != (got == "") || !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: Hold = %q, want %q", c.name, got, c.want)
		}
	}
}
