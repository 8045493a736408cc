package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/providers/simulator"
)

// simAccounts are the accounts `reglock simulate` serves, one per
// registrar, each with its own TLD.
var simAccounts = []struct {
	kind  simulator.Kind
	name  string
	user  string
	tld   string
	route string
}{
	{simulator.ENom, "sim-enom", "reglock", "com", "/enom/interface.asp"},
	{simulator.OpenSRS, "sim-opensrs", "reglock", "net", "/opensrs/"},
	{simulator.WHMCS, "sim-whmcs", "reglock", "org", "/whmcs/includes/api.php"},
	// The .ee account is the registrant user an eID login with ident
	// 38903110313 maps to; its password is its static Bearer token.
	{simulator.EE, "sim-ee", "EE-38903110313", "ee", "/ee"},
}

// simDomain is the i-th generated domain: they rotate over the accounts.
func simDomain(i int) (name string, account int) {
	account = i % len(simAccounts)
	return fmt.Sprintf("sim%07d.%s", i, simAccounts[account].tld), account
}

type simulateFlags struct {
	listen      string
	domains     int
	lockedShare float64
	secret      string
	latency     time.Duration
}

func newSimulateCmd(g *globals) *cobra.Command {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Serve fake eNom, OpenSRS, WHMCS and .ee endpoints with generated domains",
		Long: `simulate serves the four registrar protocols from one process, each following its
registrar's documents, with generated domains (sim0000000.com, sim0000001.net, ...: .com at
eNom, .net at OpenSRS, .org at WHMCS, .ee at the .ee registry). It prints the providers
section of a reglock configuration that points at it. Its controls live under /_sim/
(drift, faults, latency, request log, stats).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSimulate(cmd, g, f) },
	}
	cmd.Flags().StringVar(&f.listen, "listen", "127.0.0.1:8090", "address to serve on")
	cmd.Flags().IntVar(&f.domains, "domains", 100, "number of generated domains, spread over the four registrars")
	cmd.Flags().Float64Var(&f.lockedShare, "locked-share", 0.9, "share of generated domains that start locked")
	cmd.Flags().StringVar(&f.secret, "secret", "simulator-secret-0123456789", "credential of every simulated account (simulators only!)")
	cmd.Flags().DurationVar(&f.latency, "latency", 0, "delay of every answer")
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
	sim := simulator.New(simulator.Options{LogSize: 100000})
	accts := make([]*simulator.Account, len(simAccounts))
	for i, a := range simAccounts {
		accts[i] = sim.AddAccount(a.kind, a.user, f.secret)
		accts[i].SetLatency(f.latency)
	}
	// Locked-ness spread evenly: every k-th domain is unlocked.
	for i := range f.domains {
		name, a := simDomain(i)
		accts[a].AddDomain(name, float64(i%1000) < f.lockedShare*1000)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", f.listen, err)
	}
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(g.stdout, "# reglock simulate: %d domains. Providers for a reglock configuration:\nproviders:\n", f.domains)
	for _, a := range simAccounts {
		fmt.Fprintf(g.stdout, "  - name: %s\n    type: %s\n    endpoint: %s%s\n", a.name, a.kind, base, a.route)
		switch a.kind {
		case simulator.ENom:
			fmt.Fprintf(g.stdout, "    username: %s\n    password: %s\n", a.user, f.secret)
		case simulator.OpenSRS:
			fmt.Fprintf(g.stdout, "    username: %s\n    key: %s\n", a.user, f.secret)
		case simulator.WHMCS:
			fmt.Fprintf(g.stdout, "    identifier: %s\n    secret: %s\n", a.user, f.secret)
		case simulator.EE:
			fmt.Fprintf(g.stdout, "    token: %s\n", f.secret)
		}
		fmt.Fprintf(g.stdout, "    tlds: [%s]\n", a.tld)
	}
	srv := &http.Server{Handler: sim.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 120 * time.Second}
	go func() {
		<-cmd.Context().Done()
		srv.Close()
	}()
	log.Info().Str("listen", base).Int("domains", f.domains).Msg("simulator serving eNom, OpenSRS, WHMCS and .ee")
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
