package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/secret"
)

// controller is what the producer commands need: the HTTP API (--api, or
// the sandbox) or, with --config, the same API served in this process on
// the configuration's Redis (system.LocalClient).
type controller interface {
	Lock(ctx context.Context, domain string, r client.LockRequest) (client.Accepted, error)
	Unlock(ctx context.Context, domain string, r client.UnlockRequest) (client.Accepted, error)
	TradeLock(ctx context.Context, domain string, r client.TradeLockRequest) (client.Accepted, error)
	Domain(ctx context.Context, domain string) (client.Domain, error)
	Domains(ctx context.Context, q client.ListQuery) (client.DomainList, error)
	StartSweep(ctx context.Context, r client.SweepRequest) (client.SweepStarted, error)
	Sweep(ctx context.Context, id string) (client.Sweep, error)
	ApplySweep(ctx context.Context, id string) (client.Sweep, error)
	History(ctx context.Context, domain, cursor string, limit int) (client.History, error)
	Sweeps(ctx context.Context, state, cursor string) (client.SweepList, error)
	SweepReport(ctx context.Context, id string) (client.SweepReport, error)
	Compliance(ctx context.Context) (client.Compliance, error)
	Forget(ctx context.Context, domain string, r client.ForgetRequest) (client.Forgotten, error)
}

// openController picks the backend: --api, else --config (Redis), else a
// sandbox running on this machine.
func openController(ctx context.Context, g *globals) (controller, func(), error) {
	if g.apiURL != "" {
		tok := g.apiToken
		if tok == "" {
			tok = os.Getenv("REGLOCK_TOKEN")
		}
		return &client.Client{BaseURL: g.apiURL, Token: secret.String(tok)}, func() {}, nil
	}
	if g.configPath != "" {
		rt, err := g.openConfigured(ctx, runtimeOptions{})
		if err != nil {
			return nil, nil, err
		}
		return rt.LocalClient(requestedBy()), rt.Close, nil
	}
	if info, err := readSandboxInfo(); err == nil {
		return &client.Client{BaseURL: info.API, Token: secret.String(info.Token)}, func() {}, nil
	}
	return nil, nil, usageError{errors.New("nothing to talk to: give --config FILE (Redis), --api URL, or start `reglock serve` (the sandbox) first")}
}

// requestedBy is the CLI's identity in --config mode, where no token
// names the caller: the history records it as the token.
func requestedBy() string {
	u := os.Getenv("USER")
	if u == "" {
		u = "unknown"
	}
	return "cli:" + u
}

func newLockCmd(g *globals) *cobra.Command {
	var r client.LockRequest
	cmd := &cobra.Command{
		Use:   "lock DOMAIN",
		Short: "Record desired = locked and queue the change",
		Args:  exactArgs(1, "DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			acc, err := c.Lock(cmd.Context(), args[0], r)
			if err != nil {
				return err
			}
			printAccepted(g.stdout, "lock", acc)
			return nil
		},
	}
	cmd.Flags().StringVar(&r.Provider, "provider", "", "provider name from the configuration (needed for a new domain no provider's tlds cover)")
	cmd.Flags().StringVar(&r.Reason, "reason", "", "why, for the domain's history")
	cmd.Flags().StringVar(&r.RequestedBy, "requested-by", "", "on whose behalf, for the domain's history (the token's name is recorded either way)")
	addAPIFlags(cmd, g)
	return cmd
}

func newUnlockCmd(g *globals) *cobra.Command {
	var r client.UnlockRequest
	cmd := &cobra.Command{
		Use:   "unlock DOMAIN",
		Short: "Record desired = unlocked and queue the change",
		Args:  exactArgs(1, "DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if r.RelockAfter != "" {
				v, err := parseDuration(r.RelockAfter)
				if err != nil || v <= 0 {
					return usageError{fmt.Errorf("--relock-after: %q is not a positive duration such as 72h or 14d", r.RelockAfter)}
				}
				r.RelockAfter = v.String() // the API takes Go's form
			}
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			acc, err := c.Unlock(cmd.Context(), args[0], r)
			if err != nil {
				return err
			}
			printAccepted(g.stdout, "unlock", acc)
			return nil
		},
	}
	cmd.Flags().StringVar(&r.RelockAfter, "relock-after", "", "flip back to locked after this long, e.g. 72h or 14d")
	cmd.Flags().BoolVar(&r.ForTransfer, "for-transfer", false, "unlocked until the domain leaves the account (transfer done: recorded and forgotten) or the window ends (--relock-after, default 14 days)")
	cmd.Flags().StringVar(&r.Provider, "provider", "", "provider name from the configuration")
	cmd.Flags().StringVar(&r.Reason, "reason", "", "why, for the domain's history")
	cmd.Flags().StringVar(&r.RequestedBy, "requested-by", "", "on whose behalf, for the domain's history (the token's name is recorded either way)")
	addAPIFlags(cmd, g)
	return cmd
}

func newTradeLockCmd(g *globals) *cobra.Command {
	var r client.TradeLockRequest
	var enable bool
	cmd := &cobra.Command{
		Use:   "trade-lock DOMAIN --enable=false --consent-ip IP",
		Short: "Set the OpenSRS 60-day trade lock setting",
		Args:  exactArgs(1, "DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("enable") {
				return usageError{errors.New("--enable is required (--enable=false records the registrant's opt-out)")}
			}
			if r.ConsentIP == "" {
				return usageError{errors.New("--consent-ip is required: the registrant's IP address when they gave consent")}
			}
			if _, err := netip.ParseAddr(r.ConsentIP); err != nil {
				return usageError{fmt.Errorf("--consent-ip: %q is not an IP address", r.ConsentIP)}
			}
			r.Enable = &enable
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			acc, err := c.TradeLock(cmd.Context(), args[0], r)
			if err != nil {
				return err
			}
			printAccepted(g.stdout, "trade-lock", acc)
			return nil
		},
	}
	cmd.Flags().BoolVar(&enable, "enable", true, "apply the 60-day lock after the next change of registrant")
	cmd.Flags().StringVar(&r.ConsentIP, "consent-ip", "", "the registrant's IP address when they gave consent")
	cmd.Flags().StringVar(&r.Provider, "provider", "", "provider name from the configuration")
	cmd.Flags().StringVar(&r.Reason, "reason", "", "why, for the domain's history")
	cmd.Flags().StringVar(&r.RequestedBy, "requested-by", "", "on whose behalf, for the domain's history (the token's name is recorded either way)")
	addAPIFlags(cmd, g)
	return cmd
}

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status DOMAIN",
		Short: "Show desired vs observed lock, last check and last error",
		Args:  exactArgs(1, "DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			d, err := c.Domain(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(g.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(d)
			}
			printDomain(g.stdout, d)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	addAPIFlags(cmd, g)
	return cmd
}

func exactArgs(n int, names string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %s (got %s)", cmd.Name(), names, english.Count(len(args), "argument"))}
		}
		return nil
	}
}

func printAccepted(w io.Writer, what string, a client.Accepted) {
	fmt.Fprintf(w, "queued %s of %s: generation %d, task %s\n", what, a.Domain, a.Generation, a.TaskID)
}

func printDomain(w io.Writer, d client.Domain) {
	lock := func(b bool) string {
		if b {
			return "locked"
		}
		return "unlocked"
	}
	fmt.Fprintf(w, "%s\n  provider:    %s\n  generation:  %d\n  desired:     %s", d.Domain, d.Provider, d.Generation, lock(d.Desired.Locked))
	if d.Desired.RelockAt != nil {
		fmt.Fprintf(w, " (relocks at %s)", d.Desired.RelockAt.Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if d.Desired.TradeLock != nil {
		state := "pending"
		if d.Desired.TradeApplied != nil && *d.Desired.TradeApplied {
			state = "applied, unverified (OpenSRS cannot read it back)"
		}
		fmt.Fprintf(w, "  trade lock:  %v (%s)\n", *d.Desired.TradeLock, state)
	}
	if d.Observed.Locked == nil {
		fmt.Fprintln(w, "  observed:    not read yet")
	} else {
		fmt.Fprintf(w, "  observed:    %s (read %s)\n", lock(*d.Observed.Locked), d.Observed.CheckedAt.Format(time.RFC3339))
	}
	if d.Observed.Error != nil {
		fmt.Fprintf(w, "  last error:  %s\n", *d.Observed.Error)
	}
	sync := "yes"
	if !d.InSync {
		sync = "no"
	}
	fmt.Fprintf(w, "  in sync:     %s\n", sync)
	if in := d.Intent; in != nil {
		fmt.Fprintf(w, "  asked by:    %s", orDash(in.RequestedBy))
		if in.Token != "" {
			fmt.Fprintf(w, " (token %s)", in.Token)
		}
		if in.RequestedAt != nil {
			fmt.Fprintf(w, " at %s", in.RequestedAt.Format(time.RFC3339))
		}
		fmt.Fprintln(w)
		if in.Reason != "" {
			fmt.Fprintf(w, "  reason:      %s\n", in.Reason)
		}
	}
	if t := d.Task; t != nil {
		fmt.Fprintf(w, "  task:        %s (%s", t.ID, t.State)
		if t.Retried > 0 {
			fmt.Fprintf(w, ", retried %d of %d", t.Retried, t.MaxRetry)
		}
		if t.NextAttempt != nil {
			fmt.Fprintf(w, ", next attempt %s", t.NextAttempt.Format(time.RFC3339))
		}
		fmt.Fprintln(w, ")")
		if t.LastError != "" {
			fmt.Fprintf(w, "  task error:  %s\n", t.LastError)
		}
	}
	if rl := d.Relock; rl != nil {
		fmt.Fprintf(w, "  relock:      %s (%s)\n", rl.At.Format(time.RFC3339), rl.State)
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
