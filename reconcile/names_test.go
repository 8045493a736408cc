package reconcile

import "testing"

func TestNamesDomain(t *testing.T) {
	for _, c := range []struct {
		text string
		want bool
	}{
		{"mine.com: HTTP 502", true},
		{"domain mine.com was not sent", true},
		{"registrar says mine.com.", true},
		{`"mine.com" not found`, true},
		{"notmine.com: HTTP 502", false},
		{"mine.com.au is locked", false},
		{"sub.mine.com is locked", false},
		{"mine.company is locked", false},
		{"no-mine.com", false},
		{"notmine.com and then mine.com", true},
		{"HTTP 502", false},
	} {
		if got := namesDomain(c.text, "mine.com"); got != c.want {
			t.Errorf("namesDomain(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}
