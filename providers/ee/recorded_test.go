package ee

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/providertest"
)

// The recorded domains (testdata/recorded, the registrant portal's 2018
// capture).
const (
	recUnlocked     = "domain.ee"
	recUnlockedUUID = "bd695cc9-1da8-4c39-b7ac-9a2055e0a93e"
	recLocked       = "lockeddomain.ee"
	recLockedUUID   = "2198affc-7479-499d-9eae-b0611ec2fb49"
)

// recordedRegistry answers from the recordings: listings with listing
// (the 2018 bare array unless the case replaces it), GET domains/{uuid}
// with the object recorded for that UUID, and the one request a case
// replays (answers by "METHOD path-suffix") with its recording.
func recordedRegistry(t *testing.T, listing string, answers map[string]providertest.Answer) func(providertest.Request) providertest.Answer {
	show := map[string]string{
		recUnlockedUUID: "recorded/domain_show_unlocked_2018.json",
		recLockedUUID:   "recorded/domain_show_locked_by_registrant_2018.json",
	}
	return func(r providertest.Request) providertest.Answer {
		for key, a := range answers {
			method, suffix, _ := strings.Cut(key, " ")
			if r.Method == method && strings.HasSuffix(r.Path, suffix) {
				return a
			}
		}
		path := strings.TrimPrefix(r.Path, "/api/v1/registrant")
		if path == "/domains" {
			return providertest.Fixture(t, listing)
		}
		if f, ok := show[strings.TrimPrefix(path, "/domains/")]; ok {
			return providertest.Fixture(t, f)
		}
		return providertest.Answer{Status: http.StatusTeapot, Body: []byte("no recording for " + r.Method + " " + r.Path)}
	}
}

// TestRecorded replays every recorded answer through the wire fake: each
// must give the reading or classification named here. A recording that
// contradicts protocols.md or a hand-written fixture wins (SOURCES.md).
func TestRecorded(t *testing.T) {
	recorded := func(name string, status int) providertest.Answer {
		return providertest.Answer{Status: status, Body: providertest.ReadFixture(t, "recorded/"+name)}
	}
	const bare = "recorded/domains_list_bare_array_2018.json"
	wantListing := []providers.DomainState{
		{Domain: recUnlocked, ID: recUnlockedUUID},
		// Locked by its registrant before the 2021 change: the registrant's.
		{Domain: recLocked, ID: recLockedUUID, State: providers.State{Locked: true}},
	}
	tests := []struct {
		name    string
		files   []string // the recordings the case replays
		listing string   // the listing's recording; default: the bare array
		answers map[string]providertest.Answer
		eid     bool
		run     func(ctx context.Context, c *Client) (*providers.State, error)
		// The outcome: a state, or an error.
		want          *providers.State
		wantErr       error
		wantPermanent bool
		wantMsg       string
	}{
		{name: "2018 bare-array listing, with the lock of each domain", files: []string{"domains_list_bare_array_2018.json"},
			run: listed(wantListing)},
		{name: "2020 {count, domains} listing", files: []string{"domains_list_count_only_2020.json"}, listing: "recorded/domains_list_count_only_2020.json",
			run: listed(wantListing)},
		{name: "a domain locked by its registrant before 2021 reads as the registrant's lock", files: []string{"domain_show_locked_by_registrant_2018.json"},
			run: lockState(recLocked), want: &providers.State{Locked: true}},
		{name: "an unlocked domain", files: []string{"domain_show_unlocked_2018.json"},
			run: lockState(recUnlocked), want: &providers.State{}},
		{name: "unlock answered with the unlocked object (the portal's shortcut)", files: []string{"domain_show_unlocked_2018.json"},
			answers: map[string]providertest.Answer{"DELETE /registry_lock": recorded("domain_show_unlocked_2018.json", 200)},
			run:     setLock(recUnlocked, false)},
		{name: "lock refused, the domain locked by its registrant before 2021: nothing to do", files: []string{"registry_lock_post_error_422_cannot_lock_registrytest.json"},
			answers: map[string]providertest.Answer{"POST /registry_lock": recorded("registry_lock_post_error_422_cannot_lock_registrytest.json", 422)},
			run:     setLock(recLocked, true)},
		{name: "lock refused, the domain unlocked: the refusal stands", files: []string{"registry_lock_post_error_422_cannot_lock_registrytest.json"},
			answers: map[string]providertest.Answer{"POST /registry_lock": recorded("registry_lock_post_error_422_cannot_lock_registrytest.json", 422)},
			run:     setLock(recUnlocked, true), wantErr: errCannotLock, wantPermanent: true, wantMsg: "Domain cannot be locked"},
		{name: "unlock refused, the domain unlocked: nothing to do", files: []string{"registry_lock_delete_error_422_not_locked_registrytest.json"},
			answers: map[string]providertest.Answer{"DELETE /registry_lock": recorded("registry_lock_delete_error_422_not_locked_registrytest.json", 422)},
			run:     setLock(recUnlocked, false)},
		{name: "unlock refused, the registrant's lock of before 2021: permanent, and why", files: []string{"registry_lock_delete_error_422_not_locked_registrytest.json"},
			answers: map[string]providertest.Answer{"DELETE /registry_lock": recorded("registry_lock_delete_error_422_not_locked_registrytest.json", 422)},
			run:     setLock(recLocked, false), wantErr: errNotLocked, wantPermanent: true, wantMsg: "before the registry's 2021 status change"},
		{name: "a technical contact", files: []string{"registry_lock_post_error_401_not_admin_registrytest.json"},
			answers: map[string]providertest.Answer{"POST /registry_lock": recorded("registry_lock_post_error_401_not_admin_registrytest.json", 401)},
			run:     setLock(recUnlocked, true), wantErr: providers.ErrNotPermitted, wantPermanent: true, wantMsg: "Only administrative contacts"},
		{name: "domain not found", files: []string{"error_404_domain_not_found_registrytest.json"},
			answers: map[string]providertest.Answer{"GET /" + recUnlockedUUID: recorded("error_404_domain_not_found_registrytest.json", 404)},
			run:     lockState(recUnlocked), wantErr: providers.ErrNotFound, wantPermanent: true, wantMsg: "Domain not found"},
		{name: "token refused", files: []string{"error_401_not_authorized_registrytest.json"},
			answers: map[string]providertest.Answer{"GET /domains": recorded("error_401_not_authorized_registrytest.json", 401)},
			run:     lockState(recUnlocked), wantErr: providers.ErrAuth, wantPermanent: true, wantMsg: "Not authorized"},
		{name: "eID login from an address not allowed", files: []string{"error_401_not_authorized_registrytest.json"}, eid: true,
			answers: map[string]providertest.Answer{"POST /auth/eid": recorded("error_401_not_authorized_registrytest.json", 401)},
			run:     lockState(recUnlocked), wantErr: providers.ErrAuth, wantPermanent: true, wantMsg: "allow-list"},
		{name: "eID login without ident", files: []string{"auth_eid_error_422_ident_required_registrytest.json"}, eid: true,
			answers: map[string]providertest.Answer{"POST /auth/eid": recorded("auth_eid_error_422_ident_required_registrytest.json", 422)},
			run:     lockState(recUnlocked), wantErr: providers.ErrAuth, wantPermanent: true, wantMsg: "ident: parameter is required"},
		{name: "listing limit out of range", files: []string{"domains_error_400_limit_registrytest.json"},
			answers: map[string]providertest.Answer{"GET /domains": recorded("domains_error_400_limit_registrytest.json", 400)},
			run:     lockState(recUnlocked), wantPermanent: true, wantMsg: "limit: parameter is out of range"},
		{name: "listing offset out of range", files: []string{"domains_error_400_offset_registrytest.json"},
			answers: map[string]providertest.Answer{"GET /domains": recorded("domains_error_400_offset_registrytest.json", 400)},
			run:     lockState(recUnlocked), wantPermanent: true, wantMsg: "offset: parameter is out of range"},
	}
	replayed := map[string]bool{}
	for _, tt := range tests {
		for _, f := range tt.files {
			replayed["recorded/"+f] = true
		}
		t.Run(tt.name, func(t *testing.T) {
			listing := tt.listing
			if listing == "" {
				listing = bare
			}
			w := providertest.NewWire(t)
			w.Route(recordedRegistry(t, listing, tt.answers))
			cfg := Config{Endpoint: w.URL, Token: testToken}
			if tt.eid {
				cfg = Config{Endpoint: w.URL, EID: docEID}
			}
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tt.run(context.Background(), c)
			switch {
			case tt.wantErr == nil && tt.wantMsg == "":
				if err != nil {
					t.Fatalf("err = %v, want nil", err)
				}
			case tt.wantErr != nil:
				providertest.AssertErr(t, err, tt.wantErr, tt.wantPermanent)
			case err == nil || providers.IsPermanent(err) != tt.wantPermanent || errors.Is(err, providers.ErrNotFound):
				t.Fatalf("err = %v, want permanent %v, not ErrNotFound", err, tt.wantPermanent)
			}
			if err != nil && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %q, want it to say %q", err, tt.wantMsg)
			}
			if tt.want != nil && (got == nil || *got != *tt.want) {
				t.Errorf("state = %+v, want %+v", got, *tt.want)
			}
		})
	}
	for _, f := range providertest.Fixtures(t, "recorded/*") {
		if !replayed[f] {
			t.Errorf("%s is not replayed", f)
		}
	}
}

func lockState(domain string) func(ctx context.Context, c *Client) (*providers.State, error) {
	return func(ctx context.Context, c *Client) (*providers.State, error) {
		st, err := c.LockState(ctx, domain)
		if err != nil {
			return nil, err
		}
		return &st, nil
	}
}

func setLock(domain string, locked bool) func(ctx context.Context, c *Client) (*providers.State, error) {
	return func(ctx context.Context, c *Client) (*providers.State, error) {
		return nil, c.SetLock(ctx, domain, locked)
	}
}

func listed(want []providers.DomainState) func(ctx context.Context, c *Client) (*providers.State, error) {
	return func(ctx context.Context, c *Client) (*providers.State, error) { return nil, checkListing(ctx, c, want) }
}

// checkListing reads the account through LockStates and Domains and
// compares them with want.
func checkListing(ctx context.Context, c *Client, want []providers.DomainState) error {
	states, errs := collect(c.LockStates(ctx))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if !slices.Equal(states, want) {
		return fmt.Errorf("LockStates = %+v, want %+v", states, want)
	}
	names, errs := collect(c.Domains(ctx))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var wantNames []string
	for _, ds := range want {
		wantNames = append(wantNames, ds.Domain)
	}
	if !slices.Equal(names, wantNames) {
		return fmt.Errorf("Domains = %v, want %v", names, wantNames)
	}
	return nil
}
