package whmcs

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// asXML is a request fixture asking for XML instead.
func asXML(t *testing.T, name string) url.Values {
	return withParam(wantRequest(t, name), "responsetype", "xml")
}

// Case 4 of issue "Step 8": WHMCS cannot encode a record it holds as JSON
// ("Malformed UTF-8 characters"), which no retry of the same request can
// change. The client asks for the same answer as XML and reads that.
func TestClient_malformedUTF8FallsBackToXML(t *testing.T) {
	c, w := setup(t, ok(t, "error_jsonencoding.json"), ok(t, "getclientsdomains_domain.xml"), ok(t, "domaingetlockingstatus_locked.json"))
	st, err := c.LockState(context.Background(), docDomain)
	if err != nil || st != (providers.State{Locked: true, Indirect: true}) {
		t.Fatalf("LockState = %+v, %v; want locked", st, err)
	}
	lookup := wantRequest(t, "getclientsdomains_domain")
	assertRequests(t, w, lookup, withParam(lookup, "responsetype", "xml"), wantRequest(t, "domaingetlockingstatus_locked"))
	if id, _ := c.ids.get(docDomain); id != 1 {
		t.Errorf("cached id %d, want 1 from the XML answer", id)
	}
}

// Every command falls back the same way, and the XML answer means what the
// JSON one would have.
func TestClient_xmlFallback(t *testing.T) {
	lookup, read := wantRequest(t, "getclientsdomains_domain"), wantRequest(t, "domaingetlockingstatus_locked")
	lock := wantRequest(t, "domainupdatelockingstatus_lock")
	encodingError := func(t *testing.T) providertest.Answer { return ok(t, "error_jsonencoding.json") }
	tests := []struct {
		name          string
		answers       func(t *testing.T) []providertest.Answer
		call          func(c *Client) error
		want          func(t *testing.T) []url.Values
		wantErr       error
		wantPermanent bool
		wantMsg       []string
	}{
		{
			name: "the read",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "getclientsdomains_domain.json"), encodingError(t), ok(t, "domaingetlockingstatus_unlocked.xml")}
			},
			call: func(c *Client) error {
				st, err := c.LockState(context.Background(), docDomain)
				if err == nil && st != (providers.State{Indirect: true}) {
					return errors.New("not read as unlocked")
				}
				return err
			},
			want: func(t *testing.T) []url.Values {
				return []url.Values{lookup, read, asXML(t, "domaingetlockingstatus_locked")}
			},
		},
		{
			name: "the write",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "getclientsdomains_domain.json"), encodingError(t),
					{Body: []byte(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<whmcsapi version="8.13.1">` + "\n" +
						"<action>domainupdatelockingstatus</action>\n<result>success</result>\n</whmcsapi>")}}
			},
			call: func(c *Client) error { return c.SetLock(context.Background(), docDomain, true) },
			want: func(t *testing.T) []url.Values {
				return []url.Values{lookup, lock, asXML(t, "domainupdatelockingstatus_lock")}
			},
		},
		{
			name: "an XML error answer is classified",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{ok(t, "getclientsdomains_domain.json"), encodingError(t), ok(t, "error_domainidnotfound.xml")}
			},
			call: func(c *Client) error { _, err := c.LockState(context.Background(), docDomain); return err },
			want: func(t *testing.T) []url.Values {
				return []url.Values{lookup, read, asXML(t, "domaingetlockingstatus_locked")}
			},
			wantErr:       providers.ErrNotFound,
			wantPermanent: true,
		},
		{
			name: "an XML answer that does not read is permanent and names both causes",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{encodingError(t), ok(t, "getclientsdomains_truncated.xml")}
			},
			call:          func(c *Client) error { _, err := c.LockState(context.Background(), docDomain); return err },
			want:          func(t *testing.T) []url.Values { return []url.Values{lookup, asXML(t, "getclientsdomains_domain")} },
			wantErr:       errJSONEncoding,
			wantPermanent: true,
			wantMsg:       []string{"Malformed UTF-8 characters", "asked for XML instead, and that answer does not read either", "XML answer cut off"},
		},
		{
			name: "an XML answer that is another encoding error is permanent",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{encodingError(t), {Body: []byte(`<whmcsapi version=""><result>error</result>` +
					`<message>Error generating JSON encoded response: Malformed UTF-8 characters</message></whmcsapi>`)}}
			},
			call:          func(c *Client) error { _, err := c.LockState(context.Background(), docDomain); return err },
			want:          func(t *testing.T) []url.Values { return []url.Values{lookup, asXML(t, "getclientsdomains_domain")} },
			wantErr:       errJSONEncoding,
			wantPermanent: true,
		},
		{
			name: "the XML request failing at 503 is transient",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{encodingError(t), {Status: http.StatusServiceUnavailable, Body: []byte("<html>Service Unavailable</html>")}}
			},
			call:    func(c *Client) error { _, err := c.LockState(context.Background(), docDomain); return err },
			want:    func(t *testing.T) []url.Values { return []url.Values{lookup, asXML(t, "getclientsdomains_domain")} },
			wantMsg: []string{"asked for XML after", "Malformed UTF-8", "unexpected HTTP status 503"},
		},
		{
			name: "the encoder's complaint as bare text",
			answers: func(t *testing.T) []providertest.Answer {
				return []providertest.Answer{{Body: []byte("Error generating JSON encoded response: Malformed UTF-8 characters, possibly incorrectly encoded")},
					ok(t, "getclientsdomains_domain.xml"), ok(t, "domaingetlockingstatus_locked.json")}
			},
			call: func(c *Client) error { _, err := c.LockState(context.Background(), docDomain); return err },
			want: func(t *testing.T) []url.Values {
				return []url.Values{lookup, asXML(t, "getclientsdomains_domain"), read}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := setup(t, tt.answers(t)...)
			err := tt.call(c)
			switch {
			case tt.wantErr != nil:
				providertest.AssertErr(t, err, tt.wantErr, tt.wantPermanent)
			case len(tt.wantMsg) > 0:
				if err == nil || providers.IsPermanent(err) {
					t.Fatalf("err = %v, want a transient error", err)
				}
			default:
				providertest.AssertErr(t, err, nil, false)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("err = %q, want it to name %q", err, m)
				}
			}
			assertRequests(t, w, tt.want(t)...)
		})
	}
}

// A listing page WHMCS can only send as XML, from an installation whose
// Charset is ISO-8859-1.
func TestClient_xmlFallback_listing(t *testing.T) {
	c, w := setup(t, ok(t, "error_jsonencoding.json"), ok(t, "getclientsdomains_latin1.xml"))
	names, errs := collect(c.Domains(context.Background()))
	if want := []string{"xn--bcher-kva.de", "example.net"}; !slices.Equal(names, want) || len(errs) != 0 {
		t.Fatalf("Domains = %v, %v; want %v", names, errs, want)
	}
	page := withParam(wantRequest(t, "getclientsdomains_page1"), "limitnum", "250")
	assertRequests(t, w, page, withParam(page, "responsetype", "xml"))
	if id, _ := c.ids.get("xn--bcher-kva.de"); id != 3 {
		t.Errorf("cached id %d, want 3", id)
	}
}

func TestParseXMLResponse(t *testing.T) {
	type entry struct {
		id           int
		name, status string
	}
	tests := []struct {
		name    string
		body    string
		fixture string
		want    response
		entries []entry
		wantErr error
	}{
		{name: "lookup with CDATA and bytes that are not UTF-8", fixture: "getclientsdomains_domain.xml",
			want: response{result: "success", totalResults: 1, numReturned: 1}, entries: []entry{{1, "example.com", "Active"}}},
		{name: "ISO-8859-1", fixture: "getclientsdomains_latin1.xml",
			want: response{result: "success", totalResults: 2, numReturned: 2}, entries: []entry{{3, "Bücher.de", "Active"}, {4, "example.net", "Active"}}},
		{name: "lockstatus", fixture: "domaingetlockingstatus_locked.xml", want: response{result: "success", lockStatus: "locked", totalResults: -1, numReturned: -1}},
		{name: "error", fixture: "error_domainidnotfound.xml", want: response{result: "error", message: "Domain ID Not Found", totalResults: -1, numReturned: -1}},
		{name: "truncated", fixture: "getclientsdomains_truncated.xml", wantErr: errMalformed},
		{name: "no declaration", body: `<whmcsapi><result>success</result><lockstatus>unlocked</lockstatus></whmcsapi>`,
			want: response{result: "success", lockStatus: "unlocked", totalResults: -1, numReturned: -1}},
		{name: "PHP notice and byte order mark first", body: "\xef\xbb\xbf<br />\n<b>Warning</b>: x in <b>y.php</b><br />\n" +
			`<?xml version="1.0" encoding="utf-8"?><whmcsapi><result>success</result></whmcsapi>`,
			want: response{result: "success", totalResults: -1, numReturned: -1}},
		{name: "entities and a bare ampersand", body: `<whmcsapi><result>error</result><message>A &amp; B &eacute; &nbsp;C & D</message></whmcsapi>`,
			want: response{result: "error", message: "A & B é \u00a0C & D", totalResults: -1, numReturned: -1}},
		{name: "single domain, nested lists ignored", body: `<whmcsapi><result>success</result><totalresults>1</totalresults>` +
			`<domains><domain><id>7</id><nameservers><ns>ns1</ns></nameservers><domainname>a.com</domainname></domain></domains></whmcsapi>`,
			want: response{result: "success", totalResults: 1, numReturned: -1}, entries: []entry{{7, "a.com", ""}}},
		{name: "empty domains", body: `<whmcsapi><result>success</result><totalresults>0</totalresults><domains></domains></whmcsapi>`,
			want: response{result: "success", totalResults: 0, numReturned: -1}},
		{name: "empty counts", body: `<whmcsapi><result>success</result><totalresults></totalresults></whmcsapi>`,
			want: response{result: "success", totalResults: -1, numReturned: -1}},
		{name: "id not a number", body: `<whmcsapi><result>success</result><domains><domain><id>x7</id></domain></domains></whmcsapi>`, wantErr: errMalformed},
		{name: "count not a number", body: `<whmcsapi><result>success</result><numreturned>1.5</numreturned></whmcsapi>`, wantErr: errMalformed},
		{name: "negative count", body: `<whmcsapi><result>success</result><totalresults>-2</totalresults></whmcsapi>`, wantErr: errMalformed},
		{name: "another root", body: `<?xml version="1.0"?><html><body>x</body></html>`, wantErr: errNotWHMCS},
		{name: "two roots", body: `<whmcsapi><result>success</result></whmcsapi><whmcsapi></whmcsapi>`, wantErr: errNotWHMCS},
		{name: "no result", body: `<whmcsapi><lockstatus>locked</lockstatus></whmcsapi>`, wantErr: errNotWHMCS},
		{name: "JSON", body: `{"result":"success"}`, wantErr: errNotWHMCS},
		{name: "empty", body: ``, wantErr: errNotWHMCS},
		{name: "syntax error", body: `<whmcsapi><result>success</result><</whmcsapi>`, wantErr: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.fixture != "" {
				body = providertest.ReadFixture(t, tt.fixture)
			}
			r, err := parseXMLResponse(body)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("parseXMLResponse = %+v, %v; want %v", r, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []entry
			for _, d := range r.domains {
				got = append(got, entry{d.id, d.name, d.status})
			}
			type scalars struct {
				result, message, lockStatus, odd string
				total, returned                  int
			}
			plain := func(r response) scalars {
				return scalars{r.result, r.message, r.lockStatus, r.odd, r.totalResults, r.numReturned}
			}
			if plain(r) != plain(tt.want) || !slices.Equal(got, tt.entries) {
				t.Errorf("parseXMLResponse = %+v %v; want %+v %v", r, got, tt.want, tt.entries)
			}
		})
	}
}

// Parse errors quote nothing of the body: an echoed credential in an
// element name or a number must not reach an error.
func TestParseXMLResponse_errorsQuoteNothing(t *testing.T) {
	for _, body := range []string{
		`<whmcsapi><result>success</result><12345678></whmcsapi>`,
		`<whmcsapi><result>success</result></12345678>`,
		`<whmcsapi><result>success</result><totalresults>12345678x</totalresults></whmcsapi>`,
		`<whmcsapi><result>success</result><domains><domain><id>12345678.9</id></domain></domains></whmcsapi>`,
		`<whmcsapi12345678><result>success</result>`,
	} {
		_, err := parseXMLResponse([]byte(body))
		if err == nil || strings.Contains(err.Error(), "1234") {
			t.Errorf("parseXMLResponse(%s) = %v, want an error that quotes nothing", body, err)
		}
	}
}
