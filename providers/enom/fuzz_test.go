package enom

import (
	"testing"

	"github.com/reglock/reglock/providers/providertest"
)

// FuzzParseResponse feeds the parser every fixture, hand-written and
// recorded, and mutations of them: it must never panic, must keep its
// bounds, and classify and the listing checks must accept whatever it
// returns.
func FuzzParseResponse(f *testing.F) {
	files := append(providertest.Fixtures(f, "*.xml"), providertest.Fixtures(f, "recorded/*")...)
	if len(files) == 0 {
		f.Fatal("no seed fixtures")
	}
	for _, name := range files {
		f.Add(providertest.ReadFixture(f, name))
	}
	f.Add([]byte(""))
	f.Add([]byte("<interface-response>"))
	f.Add([]byte("<interface-response><errors><Err1>a</Err1><Err99>b</Err99></errors><ErrCount>2</ErrCount><Done>TRUE</Done></interface-response>"))
	f.Add([]byte("<interface-response><RRPCode>2303</RRPCode><RRPText>Object does not exist</RRPText><ErrCount>1</ErrCount><Done>true</Done></debug>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := parseResponse(body)
		if err != nil {
			return
		}
		for _, list := range [][]string{r.errs, r.responseStrings} {
			if len(list) > maxErrs {
				t.Fatalf("kept %d texts, bound is %d", len(list), maxErrs)
			}
			for _, e := range list {
				if len(e) > maxText {
					t.Fatalf("kept a text of %d bytes, bound is %d", len(e), maxText)
				}
			}
		}
		if len(r.responseNumbers) > maxErrs {
			t.Fatalf("kept %d ResponseNumbers, bound is %d", len(r.responseNumbers), maxErrs)
		}
		if r.errCount < absent {
			t.Fatalf("errCount = %d", r.errCount)
		}
		if len(r.domains)+len(r.all) > len(body) {
			t.Fatalf("%d domains from %d bytes", len(r.domains)+len(r.all), len(body))
		}
		_ = classify(r, func(s string) string { return s })
		_ = r.checkPage(1, pageSize)
		_ = r.checkAll()
	})
}
