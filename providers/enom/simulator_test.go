package enom_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/providers/simulator"
)

// The conformance suite (conformance_test.go) holds the contract against
// the simulator; these check what it does not: eNom's own refusals.

// setupSim starts the simulator with one eNom account and a client of it.
func setupSim(t *testing.T, opts simulator.Options, cfg enom.Config) (*simulator.Simulator, *simulator.Account, *enom.Client) {
	t.Helper()
	sim := simulator.New(opts)
	acct := sim.AddAccount(simulator.ENom, "resellid", "resellpw")
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	cfg.Endpoint, cfg.UID, cfg.PW = srv.URL+"/enom/interface.asp", "resellid", "resellpw"
	c, err := enom.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, acct, c
}

// A TLD without a registrar lock: reads unlocked, and locking it is a
// permanent ErrNotLockable.
func TestSimulator_notLockableTLD(t *testing.T) {
	sim, acct, c := setupSim(t, simulator.Options{NotLockableTLDs: []string{"ch"}}, enom.Config{})
	acct.AddDomain("mine.ch", false)
	if st, err := c.LockState(context.Background(), "mine.ch"); err != nil || st.Locked {
		t.Errorf("LockState = %+v, %v; want unlocked", st, err)
	}
	err := c.SetLock(context.Background(), "mine.ch", true)
	if !errors.Is(err, providers.ErrNotLockable) || !providers.IsPermanent(err) {
		t.Errorf("SetLock = %v, want a permanent ErrNotLockable", err)
	}
	if l, _ := sim.Locked("mine.ch"); l {
		t.Error("the simulator locked a domain of a TLD without a registrar lock")
	}
}

// An account larger than BulkMax is not read in bulk: ErrNoBulk after one
// small GetDomains, and no GetAllDomains.
func TestSimulator_LockStates_overBulkMax(t *testing.T) {
	sim, acct, c := setupSim(t, simulator.Options{}, enom.Config{BulkMax: 5})
	for i := range 6 {
		acct.AddDomain(fmt.Sprintf("bulk%d.com", i), true)
	}
	var errs []error
	for _, err := range c.LockStates(context.Background()) {
		errs = append(errs, err)
	}
	if len(errs) != 1 || !errors.Is(errs[0], providers.ErrNoBulk) {
		t.Fatalf("LockStates errors = %v, want only ErrNoBulk", errs)
	}
	for _, r := range sim.Log() {
		if r.Op == "GetAllDomains" {
			t.Error("GetAllDomains was called for an account over BulkMax")
		}
	}
	if n := len(sim.Log()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}
