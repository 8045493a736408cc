package main

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/secret"
)

// simAccounts are the accounts the simulator serves (`reglock simulate`
// and the sandbox), one per registrar, each with its own TLD.
var simAccounts = []struct {
	kind  simulator.Kind
	name  string
	user  string
	tld   string
	route string
}{
	{simulator.ENom, "enom", "reglock", "com", "/enom/interface.asp"},
	{simulator.OpenSRS, "opensrs", "reglock", "net", "/opensrs/"},
	{simulator.WHMCS, "whmcs", "reglock", "org", "/whmcs/includes/api.php"},
	// The .ee account is the registrant user an eID login with ident
	// 38903110313 maps to; its password is its static Bearer token.
	{simulator.EE, "ee", "EE-38903110313", "ee", "/ee"},
}

// addSimAccounts creates the simulator's accounts, all with one credential.
func addSimAccounts(sim *simulator.Simulator, secret string) []*simulator.Account {
	accts := make([]*simulator.Account, len(simAccounts))
	for i, a := range simAccounts {
		accts[i] = sim.AddAccount(a.kind, a.user, secret)
	}
	return accts
}

// simProviders is the providers section that points reglock at a
// simulator serving at base: names are prefix + the registrar.
func simProviders(base, credential, prefix string) []config.Provider {
	cred := secret.String(credential)
	out := make([]config.Provider, 0, len(simAccounts))
	for _, a := range simAccounts {
		p := config.Provider{Name: prefix + a.name, Type: string(a.kind), Endpoint: base + a.route,
			TLDs: []string{a.tld}, Burst: config.DefaultBurst, Timeout: 10 * time.Second}
		switch a.kind {
		case simulator.ENom:
			p.Username, p.Password = a.user, cred
		case simulator.OpenSRS:
			p.Username, p.Key = a.user, cred
		case simulator.WHMCS:
			p.Identifier, p.Secret = secret.String(a.user), cred
		case simulator.EE:
			p.Token, p.API = cred, config.EEAPIV1
		}
		out = append(out, p)
	}
	return out
}

// simDomain is the i-th generated domain: they rotate over the accounts
// that get domains (indexes into simAccounts).
func simDomain(i int, accounts []int) (name string, account int) {
	account = accounts[i%len(accounts)]
	return fmt.Sprintf("sim%07d.%s", i, simAccounts[account].tld), account
}

// addSimDomains generates n domains over the holders (indexes into
// simAccounts and accts), share of each account's domains locked.
func addSimDomains(accts []*simulator.Account, holders []int, n int, share float64) {
	for i := range n {
		name, a := simDomain(i, holders)
		// The domains rotate over the holders, so the i-th domain is the
		// (i/len(holders))-th of its account's.
		accts[a].AddDomain(name, simLocked(i/len(holders), share))
	}
}

// simLocked reports whether an account's k-th generated domain starts
// locked: of its first k+1 domains, round((k+1)*share) are, so the unlocked
// ones are spread evenly over every account at any size, and the same
// flags always give the same domains.
func simLocked(k int, share float64) bool {
	return math.Round(float64(k+1)*share) > math.Round(float64(k)*share)
}

type simulateFlags struct {
	listen      string
	domains     int
	lockedShare float64
	secret      string
	latency     time.Duration
	registrars  []string
	drift       int
	driftAfter  time.Duration
}

// simDrifters picks the domains that drift: in each account that holds
// generated domains, the last per of those --locked-share leaves unlocked
// (fewer if it leaves fewer). They start locked and are unlocked behind
// reglock's back later (runDrift), so an account never has more unlocked
// domains than --locked-share says: a policy import's first sweep finds
// no more drift than without them, and never trips the blast-radius guard
// because of them. It returns the names by account (indexes into
// simAccounts).
func simDrifters(n int, holders []int, share float64, per int) map[int][]string {
	out := map[int][]string{}
	if per <= 0 {
		return out
	}
	for i := n - 1; i >= 0; i-- {
		name, a := simDomain(i, holders)
		if len(out[a]) < per && !simLocked(i/len(holders), share) {
			out[a] = append(out[a], name)
		}
	}
	return out
}

// runDrift unlocks each account's drifters after (at least) after has
// passed since the account's first call: reglock has listed or read the
// account by then (an import, a sweep), so what it recorded no longer
// holds. Each drifter is unlocked once. It returns when every drifter has
// drifted or stop is closed.
func runDrift(sim *simulator.Simulator, accts []*simulator.Account, drifters map[int][]string, after time.Duration,
	tick time.Duration, stop <-chan struct{}, drifted func(name, account string)) {
	first := map[int]time.Time{}
	for len(drifters) > 0 {
		select {
		case <-stop:
			return
		case <-time.After(tick):
		}
		now := time.Now()
		for a, names := range drifters {
			if first[a].IsZero() {
				if accts[a].Calls() == 0 {
					continue
				}
				first[a] = now
			}
			if now.Sub(first[a]) < after {
				continue
			}
			for _, name := range names {
				sim.SetLocked(name, false)
				drifted(name, simAccounts[a].name)
			}
			delete(drifters, a)
		}
	}
}

// accounts returns the indexes of the accounts named by --registrars.
func (f simulateFlags) accounts() ([]int, error) {
	var out []int
	for _, r := range f.registrars {
		found := false
		for i, a := range simAccounts {
			if string(a.kind) == r {
				out = append(out, i)
				found = true
			}
		}
		if !found {
			return nil, usageError{fmt.Errorf("--registrars: %q is not enom, opensrs, whmcs or ee", r)}
		}
	}
	if len(out) == 0 {
		return nil, usageError{errors.New("--registrars: name at least one")}
	}
	return out, nil
}

func newSimulateCmd(g *globals) *cobra.Command {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Serve fake eNom, OpenSRS, WHMCS and .ee endpoints with generated domains",
		Long: `simulate serves the four registrar protocols from one process, each following its
registrar's documents, with generated domains (sim0000000.com, sim0000001.net, ...: .com at
eNom, .net at OpenSRS, .org at WHMCS, .ee at the .ee registry; --registrars limits which
accounts get them). It prints the providers
section of a reglock configuration that points at it. Its controls live under /_sim/
(drift, faults, latency, registrations, transfers, registry locks, request log, stats);
GET /_sim/ lists them.

It drifts by itself too: --drift domains of each account (one by default) start locked
and are unlocked --drift-after (a minute) after reglock first calls the account, as if
someone unlocked them at the registrar: whether reglock imported them with --adopt or
by policy, a sweep after that finds them drifted and locks them again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSimulate(cmd, g, f) },
	}
	cmd.Flags().StringVar(&f.listen, "listen", "127.0.0.1:8090", "address to serve on")
	cmd.Flags().IntVar(&f.domains, "domains", 100, "number of generated domains, spread over the four registrars")
	cmd.Flags().Float64Var(&f.lockedShare, "locked-share", 0.9, "share of generated domains that start locked")
	cmd.Flags().StringVar(&f.secret, "secret", "simulator-secret-0123456789", "credential of every simulated account (simulators only!)")
	cmd.Flags().DurationVar(&f.latency, "latency", 0, "delay of every answer")
	cmd.Flags().StringSliceVar(&f.registrars, "registrars", []string{"enom", "opensrs", "whmcs", "ee"}, "registrars whose accounts get the generated domains")
	cmd.Flags().IntVar(&f.drift, "drift", 1, "domains of each account that start locked and are unlocked behind reglock's back (taken from the unlocked share; 0: none)")
	cmd.Flags().DurationVar(&f.driftAfter, "drift-after", time.Minute, "how long after reglock first calls an account its --drift domains are unlocked")
	return cmd
}

func runSimulate(cmd *cobra.Command, g *globals, f simulateFlags) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	if f.domains < 0 || f.lockedShare < 0 || f.lockedShare > 1 {
		return usageError{errors.New("--domains must be >= 0 and --locked-share between 0 and 1")}
	}
	if f.drift < 0 || f.driftAfter < 0 {
		return usageError{errors.New("--drift and --drift-after must not be negative")}
	}
	holders, err := f.accounts()
	if err != nil {
		return err
	}
	sim := simulator.New(simulator.Options{LogSize: 100000})
	accts := addSimAccounts(sim, f.secret)
	for _, a := range accts {
		a.SetLatency(f.latency)
	}
	addSimDomains(accts, holders, f.domains, f.lockedShare)
	drifters := simDrifters(f.domains, holders, f.lockedShare, f.drift)
	var driftNames []string
	for _, names := range drifters {
		for _, name := range names {
			sim.SetLocked(name, true)
			driftNames = append(driftNames, name)
		}
	}
	sort.Strings(driftNames)
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", f.listen, err)
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(g.stdout, "# reglock simulate: %s. Providers for a reglock configuration:\nproviders:\n", english.Count(f.domains, "domain"))
	for _, p := range simProviders(base, f.secret, "sim-") {
		fmt.Fprintf(g.stdout, "  - name: %s\n    type: %s\n    endpoint: %s\n", p.Name, p.Type, p.Endpoint)
		for _, kv := range [][2]string{{"username", p.Username}, {"password", p.Password.Reveal()}, {"key", p.Key.Reveal()},
			{"identifier", p.Identifier.Reveal()}, {"secret", p.Secret.Reveal()}, {"token", p.Token.Reveal()}} {
			if kv[1] != "" {
				// The simulator's own credentials, printed on purpose.
				fmt.Fprintf(g.stdout, "    %s: %s\n", kv[0], kv[1])
			}
		}
		fmt.Fprintf(g.stdout, "    tlds: [%s]\n", strings.Join(p.TLDs, ", "))
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		<-cmd.Context().Done()
		srv.Close()
	}()
	log.Info().Str("listen", base).Str("controls", base+"/_sim/").Int("domains", f.domains).Msg("simulator serving eNom, OpenSRS, WHMCS and .ee")
	if len(driftNames) > 0 {
		log.Info().Strs("domains", driftNames).Dur("after", f.driftAfter).
			Msgf("drift: %s locked now will be unlocked behind reglock's back %s after reglock first calls their account (--drift 0: none)",
				english.Count(len(driftNames), "domain"), english.Duration(f.driftAfter))
		go runDrift(sim, accts, drifters, f.driftAfter, time.Second, cmd.Context().Done(), func(name, account string) {
			log.Info().Str("domain", name).Str("account", account).Msg("drift: unlocked behind reglock's back; the next sweep finds it")
		})
	}
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
