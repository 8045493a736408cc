package sweep

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/reglock/reglock/redistest"
)

func TestGuard_Hold(t *testing.T) {
	g := Guard{MaxDriftShare: 0.10}
	cases := []struct {
		name string
		c    Counts
		want string // "" means no hold
	}{
		{"no drift", Counts{Checked: 100}, ""},
		{"at the limit", Counts{Checked: 100, Drifted: 10}, ""},
		{"over the limit", Counts{Checked: 100, Drifted: 11}, "11 of 100 domains drifted (11.0% > the 10.0% limit)"},
		{"unfixable drift does not count", Counts{Checked: 100, Drifted: 30, Unfixable: 25}, ""},
		{"an unlock", Counts{Checked: 1000, Drifted: 1, Unlocks: 1}, "1 fix would unlock a domain"},
		{"both", Counts{Checked: 10, Drifted: 5, Unlocks: 2}, "5 of 10 domains drifted (50.0% > the 10.0% limit); 2 fixes would unlock domains"},
		{"nothing checked", Counts{}, ""},
	}
	for _, c := range cases {
		got := g.Hold(c.c)
		if (c.want == "") != (got == "") || !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: Hold = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestGuard_HoldPass(t *testing.T) {
	g := Guard{MaxDriftShare: 0.10}
	five := func(n int, drifted int64) []Counts {
		out := make([]Counts, n)
		for i := range out {
			out[i] = Counts{Checked: 5}
		}
		out[0].Drifted = drifted
		return out
	}
	cases := []struct {
		name  string
		this  Counts
		trail []Counts
		want  string
	}{
		{"one drift among five", Counts{Checked: 5, Drifted: 1}, five(1, 1), ""},
		{"a bad pass, too few drifts", Counts{Checked: 5, Drifted: 5}, five(30, 5), ""},
		{"bad passes, enough drifts", Counts{Checked: 20, Drifted: 20}, []Counts{{Checked: 20, Drifted: 20}, {Checked: 20, Drifted: 1}, {Checked: 100}},
			"21 of 140 domains drifted in the newest 3 freshness passes (15.0% > the 10.0% limit)"},
		{"many drifts, a small share of the newest 100 reads", Counts{Checked: 100, Drifted: 10}, []Counts{{Checked: 100, Drifted: 10}, {Checked: 100, Drifted: 90}}, ""},
		{"an unlock holds at once", Counts{Checked: 5, Drifted: 1, Unlocks: 1}, five(1, 1), "1 fix would unlock a domain"},
	}
	for _, c := range cases {
		got := g.HoldPass(c.this, c.trail)
		if (c.want == "") != (got == "") || !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: HoldPass = %q, want %q", c.name, got, c.want)
		}
	}
}

// Freshness passes over random small accounts, on real Redis: isolated
// drift (2% of the domains read) never pauses an account, whatever the
// pass's sample; a registrar misreading every domain pauses it
// within the passes that read MinPassDrift of them; a pass's figures count
// for one period and once however often they are recorded; an operator's
// apply clears them.
func TestPassTrail_property(t *testing.T) {
	env := redistest.New(t)
	ctx := context.Background()
	r := New(env.Client, env.Namespace+":")
	g := Guard{MaxDriftShare: 0.10}
	period, window := 24*time.Hour, 15*time.Minute
	for seed := range 60 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		account := fmt.Sprintf("acct%d", seed)
		now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
		perPass := 1 + rng.IntN(20)
		breaks := 96 + rng.IntN(96) // the pass where the registrar starts misreading
		pausedAt := -1
		for pass := range 300 {
			now = now.Add(window)
			id := fmt.Sprintf("fresh-%d-%d", seed, pass)
			c := Counts{Checked: int64(perPass)}
			switch {
			case pass >= breaks:
				c.Drifted = c.Checked
			default: // isolated drift: each domain read drifted with probability 2%
				for range perPass {
					if rng.IntN(50) == 0 {
						c.Drifted++
					}
				}
			}
			trail, err := r.PassTrail(ctx, account, id, c, now, period)
			if err != nil {
				t.Fatal(err)
			}
			if rng.IntN(4) == 0 { // a retried finalize records it again
				if again, err := r.PassTrail(ctx, account, id, c, now, period); err != nil || !slices.Equal(again, trail) {
					t.Fatalf("seed %d pass %d: recorded twice %+v, once %+v (%v)", seed, pass, again, trail, err)
				}
			}
			if want := min(pass+1, int(period/window)); len(trail) != want || trail[0].Checked != c.Checked || trail[0].Drifted != c.Drifted {
				t.Fatalf("seed %d pass %d: the period holds %d passes, newest %+v; want %d, newest %+v", seed, pass, len(trail), trail[0], want, c)
			}
			why := g.HoldPass(c, trail)
			if why != "" && pass < breaks {
				t.Fatalf("seed %d pass %d: isolated drift paused the account (%d read a pass): %s", seed, pass, perPass, why)
			}
			if why != "" && pausedAt < 0 {
				pausedAt = pass
				// The operator applies: the drift no longer counts.
				if err := r.forgetTrail(ctx, []string{account}); err != nil {
					t.Fatal(err)
				}
				if trail, _ := r.PassTrail(ctx, account, id+"-next", Counts{Checked: int64(perPass), Drifted: 1}, now, period); g.HoldPass(Counts{Checked: int64(perPass), Drifted: 1}, trail) != "" {
					t.Fatalf("seed %d: a single drift right after an apply paused again", seed)
				}
				break
			}
		}
		// MinPassDrift misread, and one pass more to outweigh what the
		// sample held before.
		passesToTen := (MinPassDrift+perPass-1)/perPass + 1
		if pausedAt < 0 || pausedAt > breaks+passesToTen {
			t.Fatalf("seed %d: misreading from pass %d (%d read a pass) paused at %d, want by %d", seed, breaks, perPass, pausedAt, breaks+passesToTen)
		}
	}
}
