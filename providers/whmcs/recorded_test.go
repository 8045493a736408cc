package whmcs

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// TestRecorded replays every public WHMCS response in testdata/recorded/
// (sources in testdata/SOURCES.md) through the wire fake, each with the
// classification or reading it must give. No public recording of a whole
// answer to these three commands exists: the files are WHMCS's documented
// examples and message texts quoted in issue threads. A quoted message is
// replayed in the documented error envelope, {"result":"error","message":
// ...}, after checking that the file holds it; a quoted answer shape is
// replayed as the JSON it shows.
func TestRecorded(t *testing.T) {
	type outcome struct {
		state        *providers.State
		names        []string
		err          error // errors.Is; nil: success
		permanent    bool
		unrecognized bool
		msg          string // the error names it
	}
	errorEnvelope := func(message string) []byte {
		b, _ := json.Marshal(map[string]string{"result": "error", "message": message})
		return b
	}
	locked := providers.State{Locked: true, Indirect: true}
	// failure marks an outcome that is an error whatever it wraps.
	failure := errors.New("an error")
	tests := []struct {
		name string
		file string
		// inFile is text the file must hold for the replay to be its; empty:
		// the file is replayed whole as the body.
		inFile string
		// body builds the replayed body from the file.
		body   func(raw []byte) []byte
		status int
		call   string // "LockState", "Lock", "Unlock", "Domains"
		// then are the answers after the replayed one (an XML retry, the
		// read after a lookup); when the replayed body answers a read or a
		// write, the lookup before it is getclientsdomains_domain.json.
		then    []string
		atRead  bool // the replayed body answers the read or write, not the lookup
		want    outcome
		wantXML bool // the request after the replayed answer asks for XML
	}{
		{name: "DomainGetLockingStatus example", file: "domaingetlockingstatus_locked_doc.json", call: "LockState", atRead: true,
			want: outcome{state: &locked}},
		{name: "DomainUpdateLockingStatus example, locking", file: "domainupdatelockingstatus_success_doc.json", call: "Lock", atRead: true},
		{name: "DomainUpdateLockingStatus example, unlocking", file: "domainupdatelockingstatus_success_doc.json", call: "Unlock", atRead: true},
		// A success without lockstatus is no reading.
		{name: "DomainUpdateLockingStatus example as a read", file: "domainupdatelockingstatus_success_doc.json", call: "LockState", atRead: true,
			want: outcome{err: failure, unrecognized: true, msg: "no usable lockstatus"}},
		// The documented GetClientsDomains example is a flattened rendering
		// ("domains[domain][0][id]") that claims two results and holds no
		// domains list: a broken listing, neither an empty account nor
		// "not found" (the nested shape real clients read is what the
		// adapter parses).
		{name: "GetClientsDomains example as a listing", file: "getclientsdomains_doc_flattened.json", call: "Domains",
			want: outcome{err: errBrokenListing, msg: "numreturned 2, 0 entries"}},
		{name: "GetClientsDomains example as a lookup", file: "getclientsdomains_doc_flattened.json", call: "LockState",
			want: outcome{err: errBrokenListing, msg: "numreturned 2, 0 entries"}},
		{name: "JSON encoding error", file: "error_malformed_utf8_issue_excerpt.txt",
			inFile: "Error generating JSON encoded response: Malformed UTF-8 characters, possibly incorrectly encoded",
			body:   func(raw []byte) []byte { return errorEnvelope(strings.TrimSpace(string(raw))) },
			call:   "LockState", then: []string{"getclientsdomains_domain.xml", "domaingetlockingstatus_locked.json"},
			want: outcome{state: &locked}, wantXML: true},
		{name: "JSON encoding error as bare text", file: "error_malformed_utf8_issue_excerpt.txt",
			call: "LockState", then: []string{"getclientsdomains_domain.xml", "domaingetlockingstatus_locked.json"},
			want: outcome{state: &locked}, wantXML: true},
		{name: "JSON encoding error, then unreadable XML", file: "error_malformed_utf8_issue_excerpt.txt",
			inFile: "Malformed UTF-8 characters",
			body:   func(raw []byte) []byte { return errorEnvelope(strings.TrimSpace(string(raw))) },
			call:   "Domains", then: []string{"getclientsdomains_truncated.xml"},
			want: outcome{err: errJSONEncoding, permanent: true, msg: "does not read either"}, wantXML: true},
		{name: "Invalid IP", file: "error_invalidip_issue_excerpt.txt", inFile: "Invalid IP 127.0.0.1",
			body: func([]byte) []byte { return errorEnvelope("Invalid IP 127.0.0.1") }, status: http.StatusForbidden, call: "LockState",
			want: outcome{err: providers.ErrAuth, permanent: true, msg: "Invalid IP 127.0.0.1"}},
		{name: "Forbidden IP", file: "error_invalidip_issue_excerpt.txt", inFile: "Forbidden IP 127.65.4.46",
			body: func([]byte) []byte { return errorEnvelope("Forbidden IP 127.65.4.46") }, status: http.StatusForbidden, call: "Lock",
			want: outcome{err: providers.ErrAuth, permanent: true, msg: "Forbidden IP 127.65.4.46"}},
		{name: "Forbidden IP at 200", file: "error_invalidip_issue_excerpt.txt", inFile: "Forbidden IP 127.65.4.46",
			body: func([]byte) []byte { return errorEnvelope("Forbidden IP 127.65.4.46") }, call: "Domains",
			want: outcome{err: providers.ErrAuth, permanent: true}},
		{name: "Authentication Failed", file: "error_authfailed_issue_excerpt.txt", inFile: "Authentication Failed",
			body: func([]byte) []byte { return errorEnvelope("Authentication Failed") }, status: http.StatusForbidden, call: "Unlock",
			want: outcome{err: providers.ErrAuth, permanent: true}},
		// Shapes seen from other commands: not this client's answers, so
		// retried a few times and then reported, never success.
		{name: "status instead of result", file: "error_getemails_status_key_issue_excerpt.txt", inFile: `message: "Client **_ID_** Not Found"`,
			body: func([]byte) []byte { return []byte(`{"status":"error","message":"Client ID Not Found"}`) }, call: "LockState",
			want: outcome{err: failure, unrecognized: true, msg: "answer without result, status: Client ID Not Found"}},
		{name: "warning instead of result", file: "error_warning_key_issue_excerpt.txt",
			inFile: "'warning': 'Invalid or Missing Payment Information - Please Reload and Try Again'",
			body: func([]byte) []byte {
				return []byte(`{"warning":"Invalid or Missing Payment Information - Please Reload and Try Again"}`)
			}, call: "Domains",
			want: outcome{err: failure, unrecognized: true, msg: "warning: Invalid or Missing Payment Information"}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered["recorded/"+tt.file] = true
		t.Run(tt.name, func(t *testing.T) {
			raw := providertest.ReadFixture(t, "recorded/"+tt.file)
			if !strings.Contains(string(raw), tt.inFile) {
				t.Fatalf("%s does not hold %q", tt.file, tt.inFile)
			}
			body := raw
			if tt.body != nil {
				body = tt.body(raw)
			}
			replayed := providertest.Answer{Status: tt.status, Body: body}
			var answers []providertest.Answer
			if tt.atRead {
				answers = append(answers, ok(t, "getclientsdomains_domain.json"))
			}
			answers = append(answers, replayed)
			for _, f := range tt.then {
				answers = append(answers, ok(t, f))
			}
			c, w := setup(t, answers...)
			var (
				st    providers.State
				names []string
				err   error
			)
			ctx := context.Background()
			switch tt.call {
			case "LockState":
				st, err = c.LockState(ctx, docDomain)
			case "Lock", "Unlock":
				err = c.SetLock(ctx, docDomain, tt.call == "Lock")
			case "Domains":
				var errs []error
				names, errs = collect(c.Domains(ctx))
				err = errors.Join(errs...)
			}
			switch {
			case tt.want.err == nil:
				providertest.AssertErr(t, err, nil, false)
			case tt.want.unrecognized:
				if !providers.IsUnrecognized(err) || providers.IsPermanent(err) {
					t.Fatalf("err = %v, want an unrecognized answer (retried, then reported)", err)
				}
			default:
				providertest.AssertErr(t, err, tt.want.err, tt.want.permanent)
			}
			if err != nil && !strings.Contains(err.Error(), tt.want.msg) {
				t.Errorf("err = %q, want it to name %q", err, tt.want.msg)
			}
			if errors.Is(err, providers.ErrNotFound) {
				t.Errorf("err = %v: no recording says a domain is missing", err)
			}
			if tt.want.state != nil && st != *tt.want.state {
				t.Errorf("LockState = %+v, want %+v", st, *tt.want.state)
			}
			if !slices.Equal(names, tt.want.names) {
				t.Errorf("Domains = %v, want %v", names, tt.want.names)
			}
			reqs := w.Requests()
			at := 0
			if tt.atRead {
				at = 1
			}
			if tt.wantXML {
				if len(reqs) < at+2 || reqs[at+1].Form().Get("responsetype") != "xml" ||
					!sameExcept(reqs[at].Form(), reqs[at+1].Form(), "responsetype") {
					t.Errorf("requests %v: want the replayed one sent again with responsetype=xml", reqs)
				}
			} else if n := len(reqs); n > at+1 && !tt.atRead && tt.want.err != nil {
				t.Errorf("%d requests after an error answer, want %d", n, at+1)
			}
		})
	}
	for _, f := range providertest.Fixtures(t, "recorded/*") {
		if !covered[f] {
			t.Errorf("%s is not replayed", f)
		}
	}
}

// sameExcept reports whether two forms differ at most in key.
func sameExcept(a, b map[string][]string, key string) bool {
	for k, v := range a {
		if k != key && !slices.Equal(v, b[k]) {
			return false
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok && k != key {
			return false
		}
	}
	return true
}
