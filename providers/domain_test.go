package providers

import (
	"strings"
	"testing"
)

func TestCheckDomain(t *testing.T) {
	for _, ok := range []string{"example.com", "xn--bcher-kva.com", "a-b.co.uk", "1.ee", strings.Repeat("a", 63) + ".com"} {
		if err := CheckDomain("test", ok); err != nil {
			t.Errorf("CheckDomain(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "com", "Example.com", "example.com.", "bücher.com", "-a.com", "a-.com", "a..com",
		"a b.com", "a_b.com", strings.Repeat("a", 64) + ".com", strings.Repeat("a.", 127) + "com"} {
		err := CheckDomain("test", bad)
		if err == nil || !IsPermanent(err) || !strings.HasPrefix(err.Error(), "test: ") {
			t.Errorf("CheckDomain(%q) = %v, want a permanent error naming the adapter", bad, err)
		}
	}
}
