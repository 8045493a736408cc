package opensrs

import (
	"errors"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// FuzzParse feeds the reply parser and the classification every fixture,
// every recorded reply and mutations of them: they must never panic, a
// failure must always be an error that names its code and keeps the text
// bounded and on one line, and the status and listing readers must accept
// whatever the parser returns.
func FuzzParse(f *testing.F) {
	seeds := append(providertest.Fixtures(f, "*.xml"), providertest.Fixtures(f, "recorded/*.xml")...)
	if len(providertest.Fixtures(f, "recorded/*.xml")) == 0 {
		f.Fatal("no recorded replies to seed from")
	}
	for _, name := range seeds {
		b := providertest.ReadFixture(f, name)
		f.Add(b, true)
		f.Add(b, false)
	}
	f.Add([]byte(""), false)
	f.Add([]byte("<OPS_envelope>"), true)
	f.Add([]byte(`<OPS_envelope><body><data_block><dt_assoc><item key="action">reply</item><item key="is_success">0</item><item key="response_code">-1</item></dt_assoc></data_block></body></OPS_envelope>`), true)
	f.Fuzz(func(t *testing.T, body []byte, aboutDomain bool) {
		r, err := parseReply(body)
		if err != nil {
			return
		}
		domain := ""
		if aboutDomain {
			domain = docDomain
		}
		cerr := classify(r, func(s string) string { return s }, domain)
		if (r.success && (r.code == 0 || r.code >= 200 && r.code < 300)) != (cerr == nil) {
			t.Fatalf("is_success %v, code %d: classify = %v", r.success, r.code, cerr)
		}
		if cerr != nil {
			var re *replyError
			if !errors.As(cerr, &re) || re.code != r.code || len(re.text) > maxText+len("…") {
				t.Fatalf("classify = %v, want a *replyError for code %d with bounded text", cerr, r.code)
			}
			for _, c := range re.text {
				if c == '\n' || c == '\r' || c == '\t' {
					t.Fatalf("classify = %q, want the text on one line", cerr)
				}
			}
			var ra *providers.RetryAfterError
			if errors.As(cerr, &ra) && (ra.After <= 0 || providers.IsPermanent(cerr)) {
				t.Fatalf("classify = %v: a retry must be transient and later", cerr)
			}
			// Refused credentials are evidence about the account: never
			// from a code about one domain, and never at once a domain's.
			if errors.Is(cerr, providers.ErrAuth) && (errors.Is(cerr, providers.ErrNotFound) || errors.Is(cerr, providers.ErrRefused)) {
				t.Fatalf("classify = %v is both the account's and the domain's", cerr)
			}
			if !aboutDomain && errors.Is(cerr, providers.ErrRefused) {
				t.Fatalf("classify = %v: a refusal about the account must be ErrAuth", cerr)
			}
		}
		if st, err := parseStatus(r.attrs); err == nil && st.ByRegistry {
			t.Fatalf("parseStatus = %+v", st)
		}
		p, err := parseListing(r.attrs)
		if err == nil {
			if len(p.names) > len(body) {
				t.Fatalf("%d names from %d bytes", len(p.names), len(body))
			}
			for _, n := range p.names {
				if providers.CheckDomain("opensrs", n) != nil {
					t.Fatalf("listing yielded %q", n)
				}
			}
			if err := p.check(1, 0); err == nil && p.total >= 0 && p.last() && len(p.names) != p.total {
				t.Fatalf("a first and last page of %d names that counts %d passed the check", len(p.names), p.total)
			}
		}
	})
}
