package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/client"
)

// The record: history, sweeps and their reports, compliance, forgetting.

// formatFlag is a --format flag limited to some values.
func formatFlag(cmd *cobra.Command, f *string, values ...string) {
	cmd.Flags().StringVar(f, "format", values[0], "output format: "+joinOr(values))
}

func checkFormat(f string, values ...string) error {
	for _, v := range values {
		if f == v {
			return nil
		}
	}
	return usageError{fmt.Errorf("--format: %q is not %s", f, joinOr(values))}
}

func joinOr(v []string) string {
	out := ""
	for i, s := range v {
		switch {
		case i == 0:
		case i == len(v)-1:
			out += " or "
		default:
			out += ", "
		}
		out += s
	}
	return out
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newHistoryCmd(g *globals) *cobra.Command {
	var format, cursor string
	var limit int
	cmd := &cobra.Command{
		Use:   "history DOMAIN [--format table|json|csv] [--limit N]",
		Short: "Show a domain's history, newest first: intents, changes, drift, errors, relocks",
		Args:  exactArgs(1, "DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json", "csv"); err != nil {
				return err
			}
			if limit < 1 || limit > 1000 {
				return usageError{fmt.Errorf("--limit: %d is not from 1 to 1000", limit)}
			}
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			h, err := c.History(cmd.Context(), args[0], cursor, limit)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return printJSON(g.stdout, h)
			case "csv":
				return writeHistoryCSV(g.stdout, h)
			}
			printHistory(g.stdout, h)
			return nil
		},
	}
	formatFlag(cmd, &format, "table", "json", "csv")
	cmd.Flags().IntVar(&limit, "limit", 50, "most events to show (1-1000)")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue from a previous page's next cursor")
	addAPIFlags(cmd, g)
	return cmd
}

// historyRow is one event as a table or CSV row.
func historyRow(e client.HistoryEvent) []string {
	what := ""
	switch e.Kind {
	case "intent":
		what = e.Intent
		if e.Intent == "trade" {
			what = e.After
		}
		if e.RelockAt != nil {
			what += " until " + e.RelockAt.Format(time.RFC3339)
		}
	case "change", "drift":
		what = e.Before + " -> " + e.After
		if e.Cause != "" {
			what += " (" + e.Cause + ")"
		}
	case "error", "gone":
		what = e.Error
	}
	who := e.RequestedBy
	if e.Token != "" {
		who += " [token " + e.Token + "]"
	}
	return []string{e.Time.Format(time.RFC3339), e.Kind, strconv.FormatInt(e.Generation, 10), what, who, e.Reason}
}

func printHistory(w io.Writer, h client.History) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tKIND\tGEN\tWHAT\tWHO\tREASON")
	for _, e := range h.Events {
		r := historyRow(e)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3], r[4], r[5])
	}
	tw.Flush()
	if len(h.Events) == 0 {
		fmt.Fprintf(w, "no history for %s\n", h.Domain)
	}
	if h.NextCursor != nil {
		fmt.Fprintf(w, "more: --cursor %s\n", *h.NextCursor)
	}
}

func writeHistoryCSV(w io.Writer, h client.History) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"time", "kind", "generation", "what", "who", "reason"})
	for _, e := range h.Events {
		r := historyRow(e)
		for i := range r {
			r[i] = api.CSVSafe(r[i])
		}
		_ = cw.Write(r)
	}
	cw.Flush()
	return cw.Error()
}

func newSweepListCmd(g *globals) *cobra.Command {
	var format, state, cursor string
	cmd := &cobra.Command{
		Use:   "list [--state running|paused|done]",
		Short: "List the sweeps of the last 7 days, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			l, err := c.Sweeps(cmd.Context(), state, cursor)
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, l)
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "SWEEP\tSTATE\tSTARTED\tCHECKED\tDRIFTED\tFIXES\tERRORS\tCALLS\tPROVIDER\tTRIGGER")
			for _, s := range l.Sweeps {
				started := ""
				if s.CreatedAt != nil {
					started = s.CreatedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", s.SweepID, s.State, started, s.Checked, s.Drifted, s.FixesQueued, s.Errors, s.Calls, orDash(s.Provider), orDash(s.Trigger))
			}
			tw.Flush()
			if l.NextCursor != nil {
				fmt.Fprintf(g.stdout, "more: --cursor %s\n", *l.NextCursor)
			}
			return nil
		},
	}
	formatFlag(cmd, &format, "table", "json")
	cmd.Flags().StringVar(&state, "state", "", "only sweeps in this state: running, paused or done")
	cmd.Flags().StringVar(&cursor, "cursor", "", "continue from a previous page's next cursor")
	addAPIFlags(cmd, g)
	return cmd
}

func newSweepReportCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "report SWEEP_ID|latest [--format table|json|csv]",
		Short: "Show every domain a sweep found drifted, with before, after and outcome",
		Args:  exactArgs(1, "SWEEP_ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkFormat(format, "table", "json", "csv"); err != nil {
				return err
			}
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			id, err := sweepID(cmd.Context(), c, args[0])
			if err != nil {
				return err
			}
			rep, err := c.SweepReport(cmd.Context(), id)
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return printJSON(g.stdout, rep)
			case "csv":
				return api.WriteReportCSV(g.stdout, rep)
			}
			printSweep(g.stdout, rep.Sweep)
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "DOMAIN\tPROVIDER\tBEFORE\tAFTER\tOUTCOME\tDETAIL")
			for _, e := range rep.Domains {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.Domain, e.Provider, e.Before, e.After, e.Outcome, e.Detail)
			}
			tw.Flush()
			if len(rep.Domains) == 0 {
				fmt.Fprintln(g.stdout, "no drift found")
			}
			return nil
		},
	}
	formatFlag(cmd, &format, "table", "json", "csv")
	addAPIFlags(cmd, g)
	return cmd
}

func newComplianceCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "compliance [--format table|json]",
		Short: "Per provider: domains in their desired state, drifted, in error, never read, windows",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat(format, "table", "json"); err != nil {
				return err
			}
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			out, err := c.Compliance(cmd.Context())
			if err != nil {
				return err
			}
			if format == "json" {
				return printJSON(g.stdout, out)
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROVIDER\tDOMAINS\tIN DESIRED STATE\tDRIFTED\tIN ERROR\tNEVER READ\tOLDEST READING\tREGISTRY-LOCKED\tWINDOWS OPEN\tOVERDUE\tTRANSFER PENDING")
			for _, p := range out.Providers {
				oldest := "-"
				if p.OldestReading != nil {
					oldest = p.OldestReading.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%d\t%d (%.1f%%)\t%d\t%d\t%d\t%s\t%d\t%d\t%d\t%d\n", p.Provider, p.Domains, p.InDesiredState, 100*p.Share,
					p.Drifted, p.InError, p.NeverRead, oldest, p.RegistryLocked, p.WindowsOpen, p.WindowsOverdue, p.TransferPending)
			}
			tw.Flush()
			for _, p := range out.Providers {
				if f := p.Freshness; f != nil {
					word := "freshness"
					if f.Short {
						word = "FRESHNESS SHORT"
					}
					fmt.Fprintf(g.stdout, "%s %s: %s\n", word, p.Provider, f.Message)
				}
			}
			fmt.Fprintf(g.stdout, "as of %s\n", out.GeneratedAt.Format(time.RFC3339))
			return nil
		},
	}
	formatFlag(cmd, &format, "table", "json")
	addAPIFlags(cmd, g)
	return cmd
}

func newForgetCmd(g *globals) *cobra.Command {
	var r client.ForgetRequest
	cmd := &cobra.Command{
		Use:   "forget DOMAIN [--reason TEXT]",
		Short: "Remove a domain from the inventory (expired, or left the account); its history keeps the record",
		Long: `forget removes a domain from the inventory: reglock stops reading and fixing it. Its
history stays (audit.history_retention) and records who forgot it and why. Needs an
admin token. To move a domain to another provider, forget it, then lock it with
--provider.`,
		Args: exactArgs(1, "DOMAIN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			out, err := c.Forget(cmd.Context(), args[0], r)
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "forgot %s (provider %s)\n", out.Domain, out.Provider)
			return nil
		},
	}
	cmd.Flags().StringVar(&r.Reason, "reason", "", "why, for the domain's history")
	cmd.Flags().StringVar(&r.RequestedBy, "requested-by", "", "on whose behalf, for the domain's history")
	addAPIFlags(cmd, g)
	return cmd
}
