package english

import (
	"testing"
	"time"
)

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

func TestDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		366 * 24 * time.Hour:            "366 days",
		24 * time.Hour:                  "1 day",
		36 * time.Hour:                  "1 day 12 hours",
		72 * time.Hour:                  "3 days",
		24*time.Hour + 30*time.Minute:   "1 day 30 minutes",
		90 * time.Second:                "1 minute 30 seconds",
		time.Hour:                       "1 hour",
		-2 * time.Hour:                  "-2 hours",
		1500 * time.Millisecond:         "1.5s",
		200 * time.Millisecond:          "200ms",
		0:                               "0s",
		14*24*time.Hour + time.Second:   "14 days 1 second",
		2*time.Hour + 3*time.Minute + 0: "2 hours 3 minutes",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%s) = %q, want %q", d, got, want)
		}
	}
}
