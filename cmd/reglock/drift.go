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

	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/english"
)

func newDriftCmd(g *globals) *cobra.Command {
	var format, provider string
	cmd := &cobra.Command{
		Use:   "drift [--format table|json|csv] [--provider P]",
		Short: "List the domains whose observed state differs from the desired state",
		Long: `drift lists every domain that is not in sync: its registrar lock differs from the
desired lock, its last read failed, or it has not been read yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" && format != "csv" {
				return usageError{fmt.Errorf("--format: %q is not table, json or csv", format)}
			}
			c, done, err := openController(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer done()
			var all []client.Domain
			q := client.ListQuery{Provider: provider, Drift: true, Limit: 1000}
			for {
				page, err := c.Domains(cmd.Context(), q)
				if err != nil {
					return err
				}
				all = append(all, page.Domains...)
				if page.NextCursor == nil {
					break
				}
				q.Cursor = *page.NextCursor
			}
			return writeDrift(g.stdout, format, all)
		},
	}
	cmd.Flags().StringVar(&format, "format", "table", "table, json or csv")
	cmd.Flags().StringVar(&provider, "provider", "", "only this provider's domains")
	addAPIFlags(cmd, g)
	return cmd
}

func writeDrift(w io.Writer, format string, doms []client.Domain) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if doms == nil {
			doms = []client.Domain{}
		}
		return enc.Encode(doms)
	case "csv":
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"domain", "provider", "generation", "desired", "observed", "checked_at", "error"})
		for _, d := range doms {
			_ = cw.Write(driftRow(d))
		}
		cw.Flush()
		return cw.Error()
	default:
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DOMAIN\tPROVIDER\tGEN\tDESIRED\tOBSERVED\tCHECKED\tERROR")
		for _, d := range doms {
			r := driftRow(d)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r[0], r[1], r[2], r[3], r[4], r[5], r[6])
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s out of sync\n", english.Count(len(doms), "domain"))
		return nil
	}
}

func driftRow(d client.Domain) []string {
	observed, checked, errText := "never read", "", ""
	if d.Observed.Locked != nil {
		observed = lockWord(*d.Observed.Locked)
		if d.Observed.ByRegistry {
			observed += " (registry)"
		}
		if d.Observed.Pending {
			observed += " (pending)"
		}
	}
	if d.Observed.CheckedAt != nil {
		checked = d.Observed.CheckedAt.Format(time.RFC3339)
	}
	if d.Observed.Error != nil {
		errText = *d.Observed.Error
	}
	return []string{d.Domain, d.Provider, strconv.FormatInt(d.Generation, 10), lockWord(d.Desired.Locked), observed, checked, errText}
}

func lockWord(b bool) string {
	if b {
		return "locked"
	}
	return "unlocked"
}
