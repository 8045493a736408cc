package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/sweep"
)

// errPaused is the exit of `reglock sweep --wait` for a sweep the guard
// paused: the run worked, but the drift needs an operator.
var errPaused = errors.New("paused by the blast-radius guard")

func newSweepCmd(g *globals) *cobra.Command {
	var r api.SweepRequest
	var wait bool
	cmd := &cobra.Command{
		Use:   "sweep [--provider P] [--dry-run] [--wait]",
		Short: "Start a reconciliation sweep now",
		Long: `sweep reads every domain's lock at its registrar (or one provider's), records what it
finds, and queues fixes for confirmed drift. An account with more drift than
scheduler.max_drift_share, or whose fixes would unlock domains, is paused instead of
fixed until an operator applies the sweep. --dry-run reports drift without fixing it.
With --wait it prints progress until the sweep ends; a paused sweep exits with status 3.`,
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
	cmd.Flags().BoolVar(&wait, "wait", false, "print progress until the sweep ends")
	addAPIFlags(cmd, g)
	cmd.AddCommand(newSweepApplyCmd(g), newSweepStatusCmd(g), newSweepListCmd(g), newSweepReportCmd(g))
	return cmd
}

func newSweepApplyCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply SWEEP_ID",
		Short: "Queue the fixes of a sweep that the blast-radius guard paused",
		Args:  exactArgs(1, "SWEEP_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			st, err := c.ApplySweep(cmd.Context(), args[0])
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
		Use:   "status SWEEP_ID",
		Short: "Show a sweep's progress",
		Args:  exactArgs(1, "SWEEP_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			st, err := c.Sweep(cmd.Context(), args[0])
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
			return nil
		case sweep.StatePaused:
			printSweep(w, st)
			return exitError{code: 3, err: fmt.Errorf("sweep %s %w: review the drift with `reglock sweep report %s`, then `reglock sweep apply %s`", st.SweepID, errPaused, st.SweepID, st.SweepID)}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// perDomain is " (0.04 a domain)", or "" when nothing was read.
func perDomain(calls, domains int64) string {
	if domains == 0 {
		return ""
	}
	return fmt.Sprintf(" (%.3f a domain)", float64(calls)/float64(domains))
}

func printSweep(w io.Writer, st api.Sweep) {
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
