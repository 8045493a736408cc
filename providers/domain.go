package providers

import (
	"fmt"
	"strings"
)

// CheckDomain enforces the Registrar contract's domain form before any
// request is sent: lowercase A-labels of letters, digits and hyphens (no
// hyphen at a label's ends), two labels or more, no trailing dot, at most
// 253 octets (tasks.NormalizeDomain produces this form). Anything else is a
// permanent error naming the adapter: no request could fix it. The
// registry, not the adapter, decides what is registrable.
func CheckDomain(adapter, domain string) error {
	if !isDomainForm(domain) {
		return Permanent(fmt.Errorf("%s: %q is not a domain name in lowercase A-labels", adapter, domain))
	}
	return nil
}

func isDomainForm(s string) bool {
	if len(s) == 0 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
