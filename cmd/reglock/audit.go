package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/audit"
	"github.com/reglock/reglock/client"
	"github.com/reglock/reglock/english"
)

func newAuditCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Ship the domains' histories out of Redis",
	}
	cmd.AddCommand(newAuditExportCmd(g))
	return cmd
}

func newAuditExportCmd(g *globals) *cobra.Command {
	var since, output, stateFile string
	cmd := &cobra.Command{
		Use:   "export [--since 24h|TIME] [--state-file FILE] [--output FILE]",
		Short: "Write every domain's history events as JSON lines (to a SIEM, a log store, an archive)",
		Long: `export writes every event of every domain's history recorded since --since (a
duration back from now, or an RFC 3339 time; default: everything Redis still holds)
as one JSON object per line: the API's history event plus "domain". Events come
domain by domain, each domain's oldest first.

For shipping on a schedule, give --state-file: each run starts where the previous
one started (so an event recorded during a run is shipped again by the next one:
at least once; deduplicate by domain and id) and the file is written only after a
successful run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			from, err := parseSince(since, stateFile)
			if err != nil {
				return err
			}
			rt, err := g.openConfigured(cmd.Context(), runtimeOptions{})
			if err != nil {
				return err
			}
			defer rt.Close()
			var w io.Writer = g.stdout
			var f *os.File
			if output != "" {
				if f, err = os.OpenFile(output, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
					return err
				}
				w = f
			}
			started := time.Now()
			n, err := exportHistories(cmd.Context(), rt.Audit, from, w)
			if f != nil {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err != nil {
				return err
			}
			if stateFile != "" {
				if err := os.WriteFile(stateFile, []byte(started.UTC().Format(time.RFC3339Nano)+"\n"), 0o600); err != nil {
					return err
				}
			}
			fmt.Fprintf(g.stderr, "exported %s\n", english.Count(n, "event"))
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "only events recorded since: a duration back from now (24h) or an RFC 3339 time")
	cmd.Flags().StringVar(&stateFile, "state-file", "", "start where the previous run with this file started, and record this run's start")
	cmd.Flags().StringVar(&output, "output", "", "write to this file instead of standard output")
	return cmd
}

// parseSince reads --since, or the state file's time when no --since is
// given.
func parseSince(since, stateFile string) (time.Time, error) {
	if since == "" && stateFile != "" {
		b, err := os.ReadFile(stateFile)
		if errors.Is(err, os.ErrNotExist) {
			return time.Time{}, nil // the first run ships everything
		}
		if err != nil {
			return time.Time{}, err
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
		if err != nil {
			return time.Time{}, usageError{fmt.Errorf("--state-file %s: %q is not a time this command wrote", stateFile, strings.TrimSpace(string(b)))}
		}
		return t, nil
	}
	if since == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(since); err == nil && d > 0 {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, since)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--since: %q is neither a positive duration (24h) nor an RFC 3339 time", since)}
	}
	return t, nil
}

// exportedEvent is a line of the export: a history event and its domain.
type exportedEvent struct {
	Domain string `json:"domain"`
	client.HistoryEvent
}

func exportHistories(ctx context.Context, l *audit.Log, since time.Time, w io.Writer) (int, error) {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	n := 0
	err := l.Export(ctx, since, func(e audit.Event) error {
		n++
		return enc.Encode(exportedEvent{Domain: e.Domain, HistoryEvent: api.HistoryEventOf(e)})
	})
	if err != nil {
		return n, err
	}
	return n, bw.Flush()
}
