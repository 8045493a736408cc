package tasks

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeDomain(t *testing.T) {
	ok := []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM.", "example.com"},
		{"EXAMPLE.co.uk", "example.co.uk"},
		{"bücher.de", "xn--bcher-kva.de"},
		{"BÜCHER.DE.", "xn--bcher-kva.de"},
		{"xn--bcher-kva.de", "xn--bcher-kva.de"},
		{"例え.jp", "xn--r8jz45g.jp"},
		{"müller.ee", "xn--mller-kva.ee"},
		{"a-b.ee", "a-b.ee"},
		{"foo.blogspot.com", ""}, // checked below: a subdomain of a registered domain
		{"example.test", "example.test"},
		{"x.com", "x.com"},
		{strings.Repeat("a", 63) + ".com", strings.Repeat("a", 63) + ".com"},
		{"example．com", "example.com"}, // full-width dot
	}
	for _, c := range ok {
		if c.want == "" {
			continue
		}
		got, err := NormalizeDomain(c.in)
		if err != nil || got != c.want {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := []struct{ in, reason string }{
		{"", "empty"},
		{"com", "single label"},
		{"co.uk", "public suffix"},
		{"www.example.com", `registered domain is "example.com"`},
		{"foo.blogspot.com", `registered domain is "blogspot.com"`},
		{"a.b.example.co.uk", `registered domain is "example.co.uk"`},
		{"exa mple.com", "contains a space"},
		{"example.com/path", "slash"},
		{"user@example.com", "'@'"},
		{"http://example.com", "':'"},
		{"192.168.0.1", "numeric"},
		{"under_score.com", `contains "_"`},
		{"-lead.com", "hyphen"},
		{"trail-.com", "hyphen"},
		{"ab--cd.com", "3rd and 4th"},
		{strings.Repeat("a", 64) + ".com", "63"},
		{strings.Repeat("abcdefghi.", 26) + "com", "253"},
		{"example..com", "two dots"},
		{".example.com", "starts with a dot"},
		{"example.com..", "two dots"},
		{"\xff.com", "UTF-8"},
		{strings.Repeat("a", 5000), "longer than 253"},
	}
	for _, c := range bad {
		got, err := NormalizeDomain(c.in)
		var de *DomainError
		if !errors.As(err, &de) {
			t.Errorf("NormalizeDomain(%q) = %q, %v; want a *DomainError", c.in, got, err)
			continue
		}
		if !strings.Contains(err.Error(), c.reason) {
			t.Errorf("NormalizeDomain(%q) error %q does not mention %q", c.in, err, c.reason)
		}
		if len(err.Error()) > 2000 {
			t.Errorf("NormalizeDomain(%q): error message of %d bytes", c.in[:10], len(err.Error()))
		}
	}
}

func TestRegistrySuffix(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":      "com",
		"example.co.uk":    "co.uk",
		"foo.blogspot.com": "com",
		"example.test":     "test",
		"pärnu.ee":         "ee",
		"x.pri.ee":         "pri.ee",
	} {
		if got := RegistrySuffix(in); got != want {
			t.Errorf("RegistrySuffix(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzNormalizeDomain checks that normalisation never panics, is idempotent,
// and only ever returns lowercase ASCII names of legal length.
func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"example.com", "Example.COM.", "bücher.de", "xn--bcher-kva.de", "www.example.co.uk", "co.uk", "a..b", "\xff", "例え.jp", "192.168.0.1", "ab--cd.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := NormalizeDomain(s)
		if err != nil {
			return
		}
		if len(got) > 253 {
			t.Fatalf("NormalizeDomain(%q) = %d bytes", s, len(got))
		}
		for i := 0; i < len(got); i++ {
			c := got[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
				t.Fatalf("NormalizeDomain(%q) = %q: byte %q", s, got, c)
			}
		}
		again, err := NormalizeDomain(got)
		if err != nil || again != got {
			t.Fatalf("not idempotent: %q -> %q -> %q, %v", s, got, again, err)
		}
	})
}

// FuzzPlainASCII holds the fast path to the full IDNA processing: whatever
// it accepts, IDNA accepts and maps to the same name.
func FuzzPlainASCII(f *testing.F) {
	for _, s := range []string{"example.com", "EXAMPLE.co.uk", "a-b.c-d.ee", "ab--cd.com", "-a.com", "a..b", "xn--bcher-kva.de", strings.Repeat("a", 63) + ".com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := plainASCII(s)
		if !ok {
			return
		}
		slow, err := lookup.ToASCII(s)
		if err != nil || slow != fast {
			t.Fatalf("plainASCII(%q) = %q, IDNA gives %q, %v", s, fast, slow, err)
		}
	})
}

func BenchmarkNormalizeDomain(b *testing.B) {
	for _, in := range []string{"example.com", "Example.CO.UK.", "bücher.de"} {
		b.Run(in, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := NormalizeDomain(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
