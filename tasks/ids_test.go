package tasks

import (
	"strings"
	"testing"
	"time"
)

// Every ID names its domain readably and holds no '/' (asynqmon cannot open
// a task whose ID has one).
func TestIDs(t *testing.T) {
	at := time.Date(2026, 12, 5, 3, 0, 0, 0, time.FixedZone("EET", 2*3600))
	for _, tc := range []struct{ got, want string }{
		{ChangeID("lock", "example.com", 3), "lock:example.com@3"},
		{ChangeID("trade", "xn--nide-loa.ee", 12), "trade:xn--nide-loa.ee@12"},
		{RelockID("example.com", at), "relock:example.com@20261205T010000.000Z"},
		{ConfirmID("example.com", 3), "confirm:example.com@3"},
		{FixID("example.com", 3, "sweep-20261202T030000Z"), "fix:example.com@3:sweep-20261202T030000Z"},
		{SweepTaskID("manual-1", "unit", "c17"), "manual-1:unit:c17"},
		{SweepTaskID("manual-1", "start", ""), "manual-1:start"},
	} {
		if tc.got != tc.want {
			t.Errorf("ID %q, want %q", tc.got, tc.want)
		}
		if strings.Contains(tc.got, "/") {
			t.Errorf("ID %q holds a '/'", tc.got)
		}
	}
	if RelockID("a.com", at) == RelockID("a.com", at.Add(time.Millisecond)) {
		t.Error("two windows ending a millisecond apart share a relock ID")
	}
}
