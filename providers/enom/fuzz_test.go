package enom

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParseResponse feeds the parser every fixture and mutations of them:
// it must never panic, must keep its bounds, and classify must accept
// whatever it returns.
func FuzzParseResponse(f *testing.F) {
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
	f.Add([]byte("<interface-response>"))
	f.Add([]byte("<interface-response><errors><Err1>a</Err1><Err99>b</Err99></errors><ErrCount>2</ErrCount><Done>TRUE</Done></interface-response>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseResponse(body)
		if err != nil {
			return
		}
		if len(r.errs) > maxErrs {
			t.Fatalf("kept %d error texts, bound is %d", len(r.errs), maxErrs)
		}
		for _, e := range r.errs {
			if len(e) > maxText {
				t.Fatalf("kept an error text of %d bytes, bound is %d", len(e), maxText)
			}
		}
		if r.errCount < -1 {
			t.Fatalf("errCount = %d", r.errCount)
		}
		if len(r.domains) > len(body) {
			t.Fatalf("%d domains from %d bytes", len(r.domains), len(body))
		}
		_ = classify(r, func(s string) string { return s })
	})
}
