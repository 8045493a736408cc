package opensrs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/reglock/reglock/providers"
)

// FuzzParse feeds the reply parser and the classification every fixture
// and mutations of them: they must never panic, a failure must always be an
// error that names its code and keeps the text bounded, and the status and
// listing readers must accept whatever the parser returns.
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed fixtures: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("<OPS_envelope>"))
	f.Add([]byte(`<OPS_envelope><body><data_block><dt_assoc><item key="action">reply</item><item key="is_success">0</item><item key="response_code">-1</item></dt_assoc></data_block></body></OPS_envelope>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseReply(body)
		if err != nil {
			return
		}
		cerr := classify(r, func(s string) string { return s })
		if r.success != (cerr == nil) {
			t.Fatalf("success %v, classify = %v", r.success, cerr)
		}
		if cerr != nil {
			var re *replyError
			if !errors.As(cerr, &re) || re.code != r.code || len(re.text) > maxText+len("…") {
				t.Fatalf("classify = %v, want a *replyError for code %d with bounded text", cerr, r.code)
			}
			var ra *providers.RetryAfterError
			if errors.As(cerr, &ra) && (ra.After <= 0 || providers.IsPermanent(cerr)) {
				t.Fatalf("classify = %v: a retry must be transient and later", cerr)
			}
		}
		if st, err := parseStatus(r.attrs); err == nil && st.ByRegistry {
			t.Fatalf("parseStatus = %+v", st)
		}
		names, _, err := parseListing(r.attrs)
		if err == nil {
			if len(names) > len(body) {
				t.Fatalf("%d names from %d bytes", len(names), len(body))
			}
			for _, n := range names {
				if !isDomainName(n) {
					t.Fatalf("listing yielded %q", n)
				}
			}
		}
	})
}
