package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/sweep"
)

// errPaused is the exit of `reglock sweep --wait` for a sweep the guard
// paused: the run worked, but the drift needs an operator.
var errPaused = errors.New("paused by the blast-radius guard")

func newSweepCmd(g *globals) *cobra.Command {
	var r client.SweepRequest
	var wait bool
	cmd := &cobra.Command{
		Use:   "sweep [--provider P] [--dry-run] [--wait]",
		Short: "Start a reconciliation sweep now",
		Long: `sweep reads every domain's lock at its registrar (or one provider's), records what it
finds, and queues fixes for confirmed drift. An account with more drift than
scheduler.max_drift_share, or whose fixes would unlock domains, is paused instead of
fixed until an operator applies the sweep. --dry-run reports drift without fixing it.
With --wait it prints progress until the sweep ends and its fixes are done (or a minute
has passed), then each drift it found and what became of it; a paused sweep exits with
status 3.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			started, err := c.StartSweep(cmd.Context(), r)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "sweep %s started\n", started.SweepID)
			if !wait {
				return nil
			}
			return waitSweep(cmd.Context(), c, g.stdout, started.SweepID)
		},
	}
	cmd.Flags().StringVar(&r.Provider, "provider", "", "sweep only this provider's domains")
	cmd.Flags().BoolVar(&r.DryRun, "dry-run", false, "report drift without fixing it")
	cmd.Flags().BoolVar(&wait, "wait", false, "print progress until the sweep ends and its fixes are done")
	addAPIFlags(cmd, g)
	cmd.AddCommand(newSweepApplyCmd(g), newSweepStatusCmd(g), newSweepListCmd(g), newSweepReportCmd(g))
	return cmd
}

func newSweepApplyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply SWEEP_ID|latest",
		Short: "Queue the fixes of a sweep that the blast-radius guard paused",
		Args:  exactArgs(1, "SWEEP_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			id, err := sweepID(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			st, err := c.ApplySweep(cmd.Context(), id)
			if err != nil {
				return err
			}
			printSweep(g.stdout, st)
			return nil
		},
	}
	addAPIFlags(cmd, g)
	return cmd
}

func newSweepStatusCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "status SWEEP_ID|latest",
		Short: "Show a sweep's progress",
		Args:  exactArgs(1, "SWEEP_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			id, err := sweepID(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			st, err := c.Sweep(cmd.Context(), id)
			if err != nil {
				return err
			}
			printSweep(g.stdout, st)
			return nil
		},
	}
	addAPIFlags(cmd, g)
	return cmd
}

// waitSweep polls a sweep until it is no longer running.
func waitSweep(ctx context.Context, c controller, w io.Writer, id string) error {
	last := ""
	for {
		st, err := c.Sweep(ctx, id)
		if err != nil && !errors.Is(err, sweep.ErrNotFound) {
			return err
		}
		line := fmt.Sprintf("%s: checked %d, drifted %d, errors %d, fixes queued %d", st.State, st.Checked, st.Drifted, st.Errors, st.FixesQueued)
		if line != last {
			fmt.Fprintln(w, line)
			last = line
		}
		switch st.State {
		case sweep.StateDone:
			if st.FixesQueued > 0 || st.Drifted > 0 {
				return waitFixes(ctx, c, w, id, fixWait)
			}
			return nil
		case sweep.StatePaused:
			printSweep(w, st)
			return exitError{code: 3, err: fmt.Errorf("sweep %s %w: review the drift with `reglock sweep report %s`, then `reglock sweep apply %s` (with an admin token, or --config)", st.SweepID, errPaused, st.SweepID, st.SweepID)}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// fixWait bounds how long sweep --wait waits for the fixes of a sweep
// that is done.
const fixWait = time.Minute

// waitFixes waits until no fix of the sweep is still queued (or for at
// most limit), then prints what became of each drift it found.
func waitFixes(ctx context.Context, c controller, w io.Writer, id string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		rep, err := c.SweepReport(ctx, id)
		if err != nil {
			return err
		}
		queued := 0
		for _, e := range rep.Domains {
			if e.Outcome == client.OutcomeQueued {
				queued++
			}
		}
		if queued == 0 || time.Now().After(deadline) {
			printOutcomes(w, rep, 20)
			if queued > 0 {
				fmt.Fprintf(w, "%s still queued after %s: `reglock sweep report %s` follows them\n",
					english.Count(queued, "fix"), english.Duration(limit), id)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// printOutcomes writes each drift of a report and its outcome (the first
// most of them), and the count of each outcome.
func printOutcomes(w io.Writer, rep client.SweepReport, most int) {
	counts := map[string]int{}
	for i, e := range rep.Domains {
		counts[e.Outcome]++
		if i < most {
			line := fmt.Sprintf("  %s %s (%s): %s -> %s", e.Outcome, e.Domain, e.Provider, e.Before, e.After)
			if e.Detail != "" {
				line += ": " + e.Detail
			}
			fmt.Fprintln(w, line)
		}
	}
	if len(rep.Domains) > most {
		fmt.Fprintf(w, "  and %d more: `reglock sweep report %s`\n", len(rep.Domains)-most, rep.Sweep.SweepID)
	}
	outcomes := make([]string, 0, len(counts))
	for o := range counts {
		outcomes = append(outcomes, o)
	}
	sort.Strings(outcomes)
	parts := make([]string, len(outcomes))
	for i, o := range outcomes {
		parts[i] = fmt.Sprintf("%d %s", counts[o], o)
	}
	fmt.Fprintf(w, "drift found: %s (%s)\n", english.Count(len(rep.Domains), "domain"), strings.Join(parts, ", "))
}

// sweepID is the ID a sweep command was given, or for "latest" the
// newest sweep's.
func sweepID(ctx context.Context, c controller, arg string) (string, error) {
	if arg != "latest" {
		return arg, nil
	}
	l, err := c.Sweeps(ctx, "", "")
	if err != nil {
		return "", err
	}
	if len(l.Sweeps) == 0 {
		return "", errors.New("no sweep in the last 7 days: start one with `reglock sweep`")
	}
	return l.Sweeps[0].SweepID, nil
}

// perDomain is " (0.04 a domain)", or "" when nothing was read.
func perDomain(calls, domains int64) string {
	if domains == 0 {
		return ""
	}
	return fmt.Sprintf(" (%.3f a domain)", float64(calls)/float64(domains))
}

func printSweep(w io.Writer, st client.Sweep) {
	fmt.Fprintf(w, "sweep %s: %s\n  checked %d, drifted %d (unfixable %d), errors %d, fixes queued %d\n",
		st.SweepID, st.State, st.Checked, st.Drifted, st.Unfixable, st.Errors, st.FixesQueued)
	names := make([]string, 0, len(st.PerProvider))
	for p := range st.PerProvider {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		c := st.PerProvider[p]
		fmt.Fprintf(w, "  %-20s checked %d, drifted %d, errors %d, registrar calls %d%s\n", p, c.Checked, c.Drifted, c.Errors, c.Calls, perDomain(c.Calls, c.Checked+c.Errors))
		if why, ok := st.Paused[p]; ok {
			fmt.Fprintf(w, "  %-20s PAUSED: %s\n", "", why)
		}
	}
}
