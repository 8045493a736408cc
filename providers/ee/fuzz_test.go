package ee

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/reglock/reglock/providers/providertest"
)

// seed adds every JSON fixture, the recorded answers and some edge cases
// to a fuzz target.
func seed(f *testing.F, extra ...string) {
	names := append(providertest.Fixtures(f, "*.json"), providertest.Fixtures(f, "recorded/*.json")...)
	if len(names) == 0 || !slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "recorded/") }) {
		f.Fatalf("no seed fixtures: %v", names)
	}
	for _, name := range names {
		f.Add(providertest.ReadFixture(f, name))
	}
	for _, s := range append(extra, "", "null", "{}", "[]", `{"`, "\xff") {
		f.Add([]byte(s))
	}
}

// FuzzParseDomain: the domain parser never panics, keeps its bounds, and
// anything it accepts has a canonical UUID and an A-label name.
func FuzzParseDomain(f *testing.F) {
	seed(f, `{"id":"1B3EE442-E8FE-4922-9492-8FCB9DCCC69C","name":"ÕUN.ee","statuses":null,"locked_by_registrant_at":""}`,
		`{"uuid":"98d1083a-8863-4153-93e4-caee4a013535","name_puny":"xn--un-nla.ee","statuses":["serverUpdateProhibited"]}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, api := range []string{APIV1, APIRepp} {
			for _, full := range []bool{true, false} {
				o, err := parseDomain(body, api, full)
				if err != nil {
					continue
				}
				checkObject(t, o)
				st := o.state(api)
				if st.ByRegistry && !st.Locked {
					t.Fatalf("ByRegistry without Locked: %+v", st)
				}
				mine, legacy := o.registrantLock(api)
				if mine && (!st.Locked || st.ByRegistry) || legacy && !mine {
					t.Fatalf("locked by registrant reads %+v", st)
				}
			}
		}
	})
}

func checkObject(t *testing.T, o domainObject) {
	t.Helper()
	if !isUUID(o.id) {
		t.Fatalf("accepted id %q", o.id)
	}
	if o.name == "" || o.name != strings.ToLower(o.name) || strings.ContainsFunc(o.name, func(r rune) bool { return r > 0x7f }) || len(o.name) > 253 {
		t.Fatalf("accepted name %q", o.name)
	}
	if len(o.statuses) > maxStatuses {
		t.Fatalf("kept %d statuses", len(o.statuses))
	}
}

// FuzzParseList: the listing parser never panics and keeps its bounds.
func FuzzParseList(f *testing.F) {
	seed(f, `{"count":1e3,"domains":[]}`, `{"count":"7","domains":[]}`, `[{"id":"x"}]`)
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, api := range []string{APIV1, APIRepp} {
			p, err := parseList(body, api, false)
			if err != nil {
				continue
			}
			if p.count < -1 {
				t.Fatalf("count = %d", p.count)
			}
			if len(p.domains) > len(body) {
				t.Fatalf("%d domains from %d bytes", len(p.domains), len(body))
			}
			for _, o := range p.domains {
				checkObject(t, o)
			}
		}
	})
}

// FuzzParseErrors: the error parser never fails or panics, keeps its
// bounds, and classify accepts whatever it returns, for every status.
func FuzzParseErrors(f *testing.F) {
	seed(f, `{"errors":[{"base":[["a"],{"b":"c"}]}]}`, `{"error":{"base":"x"}}`)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		msgs := parseErrors(body)
		if len(msgs) > maxMessages {
			t.Fatalf("kept %d messages", len(msgs))
		}
		for _, m := range msgs {
			if len(m.text) > maxText+len("…") {
				t.Fatalf("kept a message of %d bytes", len(m.text))
			}
		}
		for _, code := range []int{400, 401, 404, 422, 429, 500, 503} {
			for _, kind := range []op{opDomain, opList, opLogin} {
				if classify(kind, code, http.Header{"Retry-After": {"1"}}, body, now, nil) == nil {
					t.Fatalf("classify(%d) = nil", code)
				}
			}
		}
	})
}

// FuzzParseAuth: the login parser never panics and accepts only tokens
// that can go into a header.
func FuzzParseAuth(f *testing.F) {
	seed(f, `{"access_token":"a\r\nb"}`, `{"access_token":"x","expires_at":"2018-07-13T11:30:51Z","type":"BEARER"}`)
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := parseAuth(body)
		if err != nil {
			return
		}
		if a.token == "" || len(a.token) > maxToken || strings.ContainsAny(a.token, " \t\r\n") {
			t.Fatalf("accepted token %q", a.token)
		}
		if !httpguts.ValidHeaderFieldValue("Bearer " + a.token) {
			t.Fatalf("token %q cannot go into a header", a.token)
		}
	})
}
