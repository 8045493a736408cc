package english

import "testing"

func TestCount(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{Count(0, "domain"), "0 domains"},
		{Count(1, "domain"), "1 domain"},
		{Count(2, "domain"), "2 domains"},
		{Count(-1, "day"), "-1 day"},
		{Count(int64(1), "fix"), "1 fix"},
		{Count(int64(3), "fix"), "3 fixes"},
		{Count(uint(2), "entry"), "2 entries"},
		{Count(2, "day"), "2 days"},
		{Count(2, "status"), "2 statuses"},
		{Count(2, "match"), "2 matches"},
		{Count(2, "registrar call"), "2 registrar calls"},
		{Count(1, "registrar call"), "1 registrar call"},
		{Count(2, "argument"), "2 arguments"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

func TestA(t *testing.T) {
	for word, want := range map[string]string{
		"enom":     "an enom",
		"ee":       "an ee",
		"opensrs":  "an opensrs",
		"whmcs":    "a whmcs",
		"unlock":   "an unlock",
		"unit":     "a unit",
		"URL":      "a URL",
		"hour":     "an hour",
		"sweep":    "a sweep",
		"account":  "an account",
		"":         "",
		"one-time": "a one-time",
	} {
		if got := A(word); got != want {
			t.Errorf("A(%q) = %q, want %q", word, got, want)
		}
	}
}
