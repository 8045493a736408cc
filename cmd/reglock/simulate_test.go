package main

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/reglock/reglock/providers/simulator"
)

// --locked-share holds at every size and in every account: it used to
// compare i%1000 with share*1000, so fewer than 1,000 domains (the default
// is 100) all started locked and a default `simulate` had no drift.
func TestSimulate_lockedShare(t *testing.T) {
	cases := []struct {
		domains    int
		registrars []string
		share      float64
		wantLocked int
	}{
		{100, []string{"enom", "opensrs", "whmcs", "ee"}, 0.9, 92}, // 25 each, round(22.5) = 23 locked
		{1000, []string{"enom", "opensrs", "whmcs", "ee"}, 0.9, 900},
		{40, []string{"enom", "opensrs", "whmcs", "ee"}, 0, 0},
		{40, []string{"enom", "opensrs", "whmcs", "ee"}, 1, 40},
		{10, []string{"enom"}, 0.9, 9},
		{7, []string{"opensrs"}, 0.5, 4},
		{3, []string{"whmcs", "ee"}, 0.1, 0},
		{2000, []string{"ee", "enom"}, 0.99, 1980},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%d/%v/%v", c.domains, c.registrars, c.share), func(t *testing.T) {
			first := generatedLocks(t, c.domains, c.registrars, c.share)
			if again := generatedLocks(t, c.domains, c.registrars, c.share); !slices.Equal(first, again) {
				t.Fatal("the same flags generated different lock states")
			}
			perAccount := map[string][2]int{} // domains, locked
			total := 0
			for i, locked := range first {
				acct := fmt.Sprint(i % len(c.registrars))
				n := perAccount[acct]
				n[0]++
				if locked {
					n[1]++
					total++
				}
				perAccount[acct] = n
			}
			if total != c.wantLocked {
				t.Errorf("%d of %d locked, want %d", total, c.domains, c.wantLocked)
			}
			for acct, n := range perAccount {
				if want := int(math.Round(float64(n[0]) * c.share)); n[1] != want {
					t.Errorf("account %s: %d of %d locked, want %d", acct, n[1], n[0], want)
				}
			}
		})
	}
}

// generatedLocks runs simulate's domain generation and reads back each
// domain's lock from the simulator, in generation order.
func generatedLocks(t *testing.T, domains int, registrars []string, share float64) []bool {
	t.Helper()
	holders, err := simulateFlags{registrars: registrars}.accounts()
	if err != nil {
		t.Fatal(err)
	}
	sim := simulator.New(simulator.Options{})
	addSimDomains(addSimAccounts(sim, "simulator-secret-0123456789"), holders, domains, share)
	out := make([]bool, domains)
	for i := range domains {
		name, _ := simDomain(i, holders)
		info, ok := sim.Domain(name)
		if !ok {
			t.Fatalf("%s was not generated", name)
		}
		out[i] = info.Locked
	}
	return out
}
