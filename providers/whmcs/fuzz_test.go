package whmcs

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/providers/providertest"
)

// seedAnswers adds every answer fixture, hand-written and recorded, JSON
// and XML, to a fuzz target's corpus.
func seedAnswers(f *testing.F) {
	var names []string
	for _, pattern := range []string{"*.json", "*.xml", "recorded/*"} {
		names = append(names, providertest.Fixtures(f, pattern)...)
	}
	if len(names) == 0 {
		f.Fatal("no seed fixtures")
	}
	for _, name := range names {
		f.Add(providertest.ReadFixture(f, name), uint16(200))
	}
}

// checkParsed holds what a parser returned to its bounds, and classify and
// the count check to accepting it at any status.
func checkParsed(t *testing.T, body []byte, status uint16, r response, perr error) {
	if perr == nil {
		if r.result == "" && r.odd == "" {
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
		if r.totalResults < -1 || r.numReturned < -1 {
			t.Fatalf("totalResults = %d, numReturned = %d", r.totalResults, r.numReturned)
		}
		for _, d := range r.domains {
			if len(d.name) > maxText || len(d.status) > maxText {
				t.Fatal("kept an unbounded domain text")
			}
		}
		_, _ = pick(r.domains, "example.com")
		_ = r.checkCounts(0)
	}
	a := answer{status: int(status), header: http.Header{"Retry-After": {"1"}}, r: r, parseErr: perr,
		snippet: func() string { return "snippet" }}
	err := classify(a, func(s string) string { return s }, time.Now())
	if perr != nil && err == nil {
		t.Fatalf("an unparsable body (%v) classified as success", perr)
	}
}

// FuzzParseResponse feeds the JSON parser every fixture and mutations of
// them: it must never panic, must keep its bounds, and classify must
// accept whatever it returns, at any status.
func FuzzParseResponse(f *testing.F) {
	seedAnswers(f)
	f.Add([]byte(""), uint16(200))
	f.Add([]byte(`{"result":"error","message":"Authentication Failed"}`), uint16(403))
	f.Add([]byte(`{"result":"success","domains":{"domain":{"id":"7","domainname":"a.com","status":"Active"}}}`), uint16(200))
	f.Add([]byte(`{"result":"success","totalresults":"99999999999999999999999"}`), uint16(200))
	f.Add([]byte(`{"status":"error","message":"Client ID Not Found"}`), uint16(200))
	f.Add([]byte("\xef\xbb\xbf<b>Notice</b> {\"result\":\"success\",\"lockstatus\":null}"), uint16(503))
	f.Fuzz(func(t *testing.T, body []byte, status uint16) {
		r, perr := parseResponse(body)
		checkParsed(t, body, status, r, perr)
	})
}

// FuzzParseXMLResponse does the same for the XML parser, which also reads
// text that is not UTF-8 and other charsets.
func FuzzParseXMLResponse(f *testing.F) {
	seedAnswers(f)
	f.Add([]byte(`<whmcsapi><result>success</result><domains><domain><id>7</id></domain></domains></whmcsapi>`), uint16(200))
	f.Add([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><whmcsapi><result>success</result><lockstatus>locked</lockstatus></whmcsapi>`), uint16(200))
	f.Add([]byte(`<whmcsapi><result>error</result><message><![CDATA[a & <b>]]></message></whmcsapi>`), uint16(403))
	f.Add([]byte("<whmcsapi><result>success</result><totalresults>"+strings.Repeat("9", 30)+"</totalresults></whmcsapi>"), uint16(200))
	f.Fuzz(func(t *testing.T, body []byte, status uint16) {
		r, perr := parseXMLResponse(body)
		checkParsed(t, body, status, r, perr)
	})
}
