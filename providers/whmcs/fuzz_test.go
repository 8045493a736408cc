package whmcs

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzParseResponse feeds the parser every fixture and mutations of them:
// it must never panic, must keep its bounds, and classify must accept
// whatever it returns, at any status.
func FuzzParseResponse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seed fixtures: %v", err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint16(200))
	}
	f.Add([]byte(""), uint16(200))
	f.Add([]byte(`{"result":"error","message":"Authentication Failed"}`), uint16(403))
	f.Add([]byte(`{"result":"success","domains":{"domain":{"id":"7","domainname":"a.com","status":"Active"}}}`), uint16(200))
	f.Add([]byte(`{"result":"success","totalresults":"99999999999999999999999"}`), uint16(200))
	f.Add([]byte("\xef\xbb\xbf<b>Notice</b> {\"result\":\"success\",\"lockstatus\":null}"), uint16(503))
	f.Fuzz(func(t *testing.T, body []byte, status uint16) {
		r, perr := parseResponse(body)
		if perr == nil {
			if r.result == "" {
				t.Fatal("parsed an answer without a result")
			}
			for _, s := range []string{r.result, r.message, r.lockStatus} {
				if len(s) > maxText {
					t.Fatalf("kept a text of %d bytes, bound is %d", len(s), maxText)
				}
			}
			if len(r.domains) > len(body) {
				t.Fatalf("%d domains from %d bytes", len(r.domains), len(body))
			}
			if r.totalResults < -1 {
				t.Fatalf("totalResults = %d", r.totalResults)
			}
			for _, d := range r.domains {
				if len(d.name) > maxText || len(d.status) > maxText {
					t.Fatal("kept an unbounded domain text")
				}
			}
			_, _ = pick(r.domains, "example.com")
		}
		a := answer{status: int(status), header: http.Header{"Retry-After": {"1"}}, r: r, parseErr: perr,
			snippet: func() string { return "snippet" }}
		err := classify(a, func(s string) string { return s }, time.Now())
		if perr != nil && err == nil {
			t.Fatalf("an unparsable body (%v) classified as success", perr)
		}
	})
}
