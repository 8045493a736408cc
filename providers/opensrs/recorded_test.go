package opensrs

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// TestRecorded replays every reply in testdata/recorded (replies OpenSRS
// sent, or its documents print; testdata/SOURCES.md) through the wire fake
// and checks what each reads as. Every recorded file must have a case here.
func TestRecorded(t *testing.T) {
	cases := map[string]func(t *testing.T, answer providertest.Answer){
		// The documentation's example: one page that holds what it counts.
		"get_domains_by_expiredate_doc_netdri.xml": func(t *testing.T, answer providertest.Answer) {
			c, w := setup(t, answer)
			names, errs := collect(c.Domains(context.Background()))
			if want := []string{"katarina.biz", "kristina.cn"}; !slices.Equal(names, want) || len(errs) != 0 {
				t.Errorf("Domains = %v, %v; want %v", names, errs, want)
			}
			assertRequests(t, w, "get_domains_by_expiredate_page1")
			// As an answer to a status read, it has no lock_state.
			_, err := c.LockState(context.Background(), docDomain)
			if err == nil || !strings.Contains(err.Error(), "no usable lock_state") || providers.IsPermanent(err) {
				t.Errorf("LockState = %v, want a transient error: no lock_state", err)
			}
		},
		// A live page 1 of 25 that holds 3: whatever follows must make up
		// the 25, or the listing is an error.
		"get_domains_by_expiredate_live_enoise.xml": func(t *testing.T, answer providertest.Answer) {
			want := []string{"pm-online-solutions.org", "lansons-evolve.com", "woodgrangerovers.co.uk"}
			page := string(answer.Body)
			lastPage := strings.NewReplacer(`<item key="page">1</item>`, `<item key="page">2</item>`,
				`<item key="remainder">1</item>`, `<item key="remainder">0</item>`).Replace(page)
			lastPage = lastPage[:strings.Index(lastPage, "<dt_array>")+len("<dt_array>")] + lastPage[strings.Index(lastPage, "</dt_array>"):]
			for _, tc := range []struct {
				name    string
				next    providertest.Answer
				wantMsg string
			}{
				{"page 2 is page 1 again", answer, "asked for page 2, the answer is page 1"},
				{"page 2 is empty and the last", body(lastPage), "page 2: the answer counts 25 domains in all, its pages hold 3, and no more follow"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					c, w := setup(t, answer, tc.next)
					names, errs := collect(c.Domains(context.Background()))
					if !slices.Equal(names, want) || len(errs) != 1 {
						t.Fatalf("Domains = %v, %v; want %v and one error", names, errs, want)
					}
					if !strings.Contains(errs[0].Error(), tc.wantMsg) || !providers.IsUnrecognized(errs[0]) {
						t.Errorf("err = %v, want an unrecognized answer saying %q", errs[0], tc.wantMsg)
					}
					assertRequests(t, w, "get_domains_by_expiredate_page1", "get_domains_by_expiredate_page2")
				})
			}
		},
		// A success about another object: no account is empty because a
		// balance came back.
		"get_balance_live_enoise.xml": func(t *testing.T, answer providertest.Answer) {
			c, _ := setup(t, answer)
			names, errs := collect(c.Domains(context.Background()))
			if len(names) != 0 || len(errs) != 1 || !errors.Is(errs[0], errNotReply) || providers.IsPermanent(errs[0]) {
				t.Errorf("Domains = %v, %v; want one transient error: not a reply about DOMAIN", names, errs)
			}
			_, err := c.LockState(context.Background(), docDomain)
			if !errors.Is(err, errNotReply) || !strings.Contains(err.Error(), `object "BALANCE", not DOMAIN`) {
				t.Errorf("LockState = %v, want: not a reply about DOMAIN", err)
			}
		},
		// A documented failure: 435 with its text over several indented
		// lines and attributes on the failure. It is the domain's, and
		// permanent; its text reads on one line.
		"sw_register_error435_doc_netdri.xml": func(t *testing.T, answer providertest.Answer) {
			c, w := setup(t, answer)
			const text = "response code 435: Request failed validation: Name server 'dns1.example.com' is not found at the registry. Please double check the nameserver and re-submit. Name server 'dns2.example.com' is not found at the registry. Please double check the nameserver and re-submit."
			_, err := c.LockState(context.Background(), docDomain)
			providertest.AssertErr(t, err, providers.ErrNotPermitted, true)
			if !strings.HasSuffix(err.Error(), text+": "+providers.ErrNotPermitted.Error()) {
				t.Errorf("err = %q, want the text on one line", err)
			}
			// A code whose meaning is known is not read back.
			providertest.AssertErr(t, c.SetLock(context.Background(), docDomain, true), providers.ErrNotPermitted, true)
			assertRequests(t, w, "get_status", "modify_status_lock")
			for _, err := range c.Domains(context.Background()) {
				providertest.AssertErr(t, err, providers.ErrNotPermitted, true)
			}
		},
	}
	files := providertest.Fixtures(t, "recorded/*.xml")
	if len(files) == 0 {
		t.Fatal("no recorded replies")
	}
	for _, name := range files {
		base := strings.TrimPrefix(name, "recorded/")
		check, ok := cases[base]
		if !ok {
			t.Errorf("%s has no case in TestRecorded", name)
			continue
		}
		delete(cases, base)
		t.Run(base, func(t *testing.T) { check(t, providertest.Fixture(t, name)) })
	}
	for base := range cases {
		t.Errorf("TestRecorded has a case for %s, which is not in testdata/recorded", base)
	}
}
