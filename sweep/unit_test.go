package sweep

import "testing"

func TestUnit_names(t *testing.T) {
	for _, c := range []struct {
		u    Unit
		name string
	}{
		{BulkUnit("enom-main"), "b:enom-main"},
		{ChunkUnit(17), "c17"},
		{ConfirmUnit(ChunkUnit(0)), "k:c0"},
		{ConfirmUnit(BulkUnit("opensrs")), "k:b:opensrs"},
		{DueUnit(3), "d3"},
		{ConfirmUnit(DueUnit(0)), "k:d0"},
	} {
		if got := c.u.String(); got != c.name {
			t.Errorf("%+v: %q, want %q", c.u, got, c.name)
		}
		u, err := ParseUnit(c.name)
		if err != nil || u.String() != c.name || u.Stage != c.u.Stage {
			t.Errorf("ParseUnit(%q) = %+v, %v", c.name, u, err)
		}
	}
	for _, bad := range []string{"", "b:", "c", "c-1", "c01", "cx", "k:", "k:k:c1", "x1", "d", "d-1", "d07"} {
		if u, err := ParseUnit(bad); err == nil {
			t.Errorf("ParseUnit(%q) = %+v, want an error", bad, u)
		}
	}
}

// A unit name is read back as the unit it names, or refused.
func FuzzParseUnit(f *testing.F) {
	for _, s := range []string{"b:enom", "c3", "k:c3", "k:b:x", "k:k:c1", "c+1", "d2", "k:d1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUnit(s)
		if err != nil {
			return
		}
		if u.String() != s {
			t.Fatalf("ParseUnit(%q).String() = %q", s, u.String())
		}
	})
}
