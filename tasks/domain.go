package tasks

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/net/publicsuffix"
)

// maxDomainInput bounds the input NormalizeDomain looks at: a domain is at
// most 253 octets as an A-label; a U-label of 63-octet labels can be longer
// in UTF-8, but never this long.
const maxDomainInput = 1024

// lookup maps the input the way a resolver would (case folding, full-width
// dots, NFC) and then checks the result against the registration rules
// (STD3 letters-digits-hyphen, label and name lengths, bidi).
var lookup = idna.New(
	idna.MapForLookup(),
	idna.BidiRule(),
	idna.StrictDomainName(true),
	idna.VerifyDNSLength(true),
	idna.Transitional(false),
)

// DomainError says why a name is not a domain reglock can lock.
type DomainError struct {
	Input  string
	Reason string
}

func (e *DomainError) Error() string {
	return fmt.Sprintf("invalid domain %q: %s", e.Input, e.Reason)
}

// NormalizeDomain turns a domain as a user writes it (any case, trailing dot,
// U-label or A-label) into the form reglock stores and registrars are asked
// about: the lowercase A-label without a trailing dot. It refuses names that
// are not registered domains: public suffixes ("co.uk"), subdomains
// ("www.example.com", whose registered domain is example.com), IP addresses
// and single labels.
func NormalizeDomain(s string) (string, error) {
	in := s
	if len(in) > maxDomainInput {
		in = in[:maxDomainInput] + "…"
		return "", &DomainError{Input: in, Reason: "longer than 253 characters"}
	}
	if s == "" {
		return "", &DomainError{Input: s, Reason: "empty"}
	}
	if !utf8.ValidString(s) {
		return "", &DomainError{Input: s, Reason: "not valid UTF-8"}
	}
	if strings.ContainsAny(s, " \t\r\n/\\@:") {
		return "", &DomainError{Input: s, Reason: "contains a space, slash, '@' or ':'; give the bare domain name"}
	}
	name := strings.TrimSuffix(s, ".")
	a, ok := plainASCII(name)
	if !ok {
		var err error
		if a, err = lookup.ToASCII(name); err != nil {
			return "", &DomainError{Input: s, Reason: diagnose(name, err)}
		}
	}
	if a == "" || strings.HasSuffix(a, ".") {
		return "", &DomainError{Input: s, Reason: "empty label (two dots in a row)"}
	}
	labels := strings.Split(a, ".")
	if len(labels) < 2 {
		return "", &DomainError{Input: s, Reason: "a single label is not a registered domain; add its TLD"}
	}
	if isDigits(labels[len(labels)-1]) {
		return "", &DomainError{Input: s, Reason: "the top-level label is numeric (an IP address is not a domain)"}
	}
	suffix := RegistrySuffix(a)
	switch n := len(labels) - strings.Count(suffix, ".") - 1; {
	case n <= 0:
		return "", &DomainError{Input: s, Reason: fmt.Sprintf("%q is a public suffix; domains are registered under it", a)}
	case n > 1:
		registered := strings.Join(labels[n-1:], ".")
		return "", &DomainError{Input: s, Reason: fmt.Sprintf("a subdomain; its registered domain is %q", registered)}
	}
	return a, nil
}

// plainASCII is the fast path for the common case, a name that is already
// letters, digits, hyphens and dots with legal labels: it lowercases it
// and reports true. Anything else (Unicode, xn-- labels, odd hyphens,
// bad lengths) goes to the full IDNA processing, which also explains errors.
func plainASCII(name string) (string, bool) {
	if len(name) == 0 || len(name) > 253 {
		return "", false
	}
	upper := false
	labelStart := 0
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			l := name[labelStart:i]
			if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || (len(l) >= 4 && l[2] == '-' && l[3] == '-') {
				return "", false
			}
			labelStart = i + 1
			continue
		}
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
		case c >= 'A' && c <= 'Z':
			upper = true
		default:
			return "", false
		}
	}
	if upper {
		return strings.ToLower(name), true
	}
	return name, true
}

// RegistrySuffix returns the public suffix under which name is registered at
// a registrar: the longest ICANN rule of the Public Suffix List that matches
// ("co.uk" for example.co.uk). Private rules (blogspot.com and the like) are
// hosting conventions, not registries, and are skipped; a TLD the list does
// not know falls back to its last label. name is a lowercase A-label.
func RegistrySuffix(name string) string {
	for rest := name; ; {
		if ps, icann := publicsuffix.PublicSuffix(rest); icann && ps == rest {
			return rest
		}
		i := strings.IndexByte(rest, '.')
		if i < 0 {
			return rest
		}
		rest = rest[i+1:]
	}
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// diagnose explains why the strict IDNA profile refused name, label by
// label, so that the operator learns which part to fix.
func diagnose(name string, err error) string {
	if len(name) > 253 {
		return "longer than 253 characters"
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if l == "" {
			if i == 0 {
				return "starts with a dot"
			}
			return "empty label (two dots in a row)"
		}
		a, perr := idna.Punycode.ToASCII(strings.ToLower(l))
		if perr != nil {
			break
		}
		switch {
		case len(a) > 63:
			return fmt.Sprintf("label %q is longer than 63 characters", l)
		case strings.HasPrefix(a, "-") || strings.HasSuffix(a, "-"):
			return fmt.Sprintf("label %q starts or ends with a hyphen", l)
		case len(a) >= 4 && a[2:4] == "--" && !strings.HasPrefix(a, "xn--"):
			return fmt.Sprintf("label %q has hyphens in the 3rd and 4th position, which are reserved for IDNA", l)
		}
		if r := strings.IndexFunc(l, func(r rune) bool {
			return r < 0x80 && !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-')
		}); r >= 0 {
			return fmt.Sprintf("label %q contains %q; only letters, digits and hyphens are allowed", l, l[r:r+1])
		}
	}
	if strings.Contains(err.Error(), "bidi") {
		return "mixes right-to-left and left-to-right text in a way IDNA forbids"
	}
	return "not a valid internationalized domain name (" + err.Error() + ")"
}
