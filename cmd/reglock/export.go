package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/reconcile"
	"github.com/reglock/reglock/store"
)

func newExportCmd(g *globals) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "export [--output FILE]",
		Short: "Write every domain's desired state (intents, unlock windows, trade lock settings) as JSON lines",
		Long: `export writes the desired state of every domain in the inventory as JSON lines: a
header, one line per domain (provider, locked, generation, unlock window, trade lock
setting), and an end line with the count, so that a truncated file is refused by
restore. Observations are not exported: after a restore, a sweep reads them again.

Run it on a schedule (docs/operations.md, "Exports and backups"): it is what
` + "`reglock restore FILE`" + ` brings back after a Redis loss. With --output the file is written
under a temporary name and renamed when complete, so an export that fails never
replaces a good one. Needs --config.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if g.configPath == "" {
				return usageError{errors.New("export reads Redis itself: give --config")}
			}
			return runExport(cmd.Context(), g, output)
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to FILE instead of standard output")
	return cmd
}

func runExport(ctx context.Context, g *globals, output string) error {
	rt, err := g.openConfigured(ctx, runtimeOptions{})
	if err != nil {
		return err
	}
	defer rt.Close()
	if err := rt.StoreWatch.Verify(ctx); err != nil {
		return fmt.Errorf("export refused: the store holds nothing worth keeping, and the file could replace your last good export: %w", err)
	}
	start := time.Now()
	var n int64
	if output == "" {
		n, err = rt.Store.Export(ctx, g.stdout, time.Now())
	} else {
		n, err = writeAtomically(output, func(w io.Writer) (int64, error) { return rt.Store.Export(ctx, w, time.Now()) })
	}
	if err != nil {
		return fmt.Errorf("export failed after %s: %w", english.Count(n, "domain"), err)
	}
	where := output
	if where == "" {
		where = "standard output"
	}
	rt.log.Info().Int64("domains", n).Str("output", where).Dur("took", time.Since(start)).Msg("exported the desired state")
	fmt.Fprintf(g.stderr, "exported %s to %s (%s)\n", english.Count(n, "domain"), where, time.Since(start).Round(time.Millisecond))
	return nil
}

// writeAtomically writes path through write: to a temporary file beside it
// (mode 0600), synced, then renamed over path, so that path is either the
// old file or the complete new one.
func writeAtomically(path string, write func(io.Writer) (int64, error)) (int64, error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return 0, err
	}
	tmp := f.Name()
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
	}
	return n, err
}

func newRestoreCmd(g *globals) *cobra.Command {
	var acceptEmpty bool
	cmd := &cobra.Command{
		Use:   "restore FILE | restore --accept-empty",
		Short: "Write an export's desired state back into the store (after a Redis loss), or accept the store as it is",
		Long: `restore reads an export (reglock export), checks all of it first (its format and
version, every line, every domain name, every provider against the configuration; a
truncated file is refused) and writes nothing unless all of it is good. Then it writes
each domain's desired state back: a domain the store does not hold is added; one it
holds under an older generation is replaced; one it holds under the same or a newer
generation is kept, so running it twice changes nothing. Unlock windows are re-armed:
a window that ended meanwhile is relocked at once. Restored domains are not observed
yet: run a sweep (reglock sweep) to read them.

When the store was lost (Redis wiped under running processes), every process refuses
to work until an operator acts: restore marks the store ok again when it is done, and
the processes turn ready within seconds. With --accept-empty and no FILE, the store is
accepted as it is (empty, or as re-imported) instead. See docs/operations.md, "Redis
loss". Needs --config.`,
		Args: func(cmd *cobra.Command, args []string) error {
			switch {
			case acceptEmpty && len(args) > 0:
				return usageError{errors.New("give FILE or --accept-empty, not both")}
			case !acceptEmpty && len(args) != 1:
				return usageError{errors.New("give the export FILE to restore (or --accept-empty to accept the store as it is)")}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if g.configPath == "" {
				return usageError{errors.New("restore writes Redis itself: give --config")}
			}
			if acceptEmpty {
				return runAcceptEmpty(cmd.Context(), g)
			}
			return runRestore(cmd.Context(), g, args[0])
		},
	}
	cmd.Flags().BoolVar(&acceptEmpty, "accept-empty", false, "accept the store as it is (after a loss, with no export to restore): running processes resume")
	return cmd
}

// restoreBatch is how many domains one round trip of a restore writes.
const restoreBatch = 500

func runRestore(ctx context.Context, g *globals, path string) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	cfg, err := g.loadConfigFor(config.Uses{})
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// Everything is checked before anything is written.
	h, n, err := store.ReadExport(f, func(_ int, r store.ExportRecord) error {
		p, ok := cfg.Provider(r.Provider)
		switch {
		case !ok:
			return fmt.Errorf("%s: provider %q is not in the configuration (add it, or edit the export)", r.Domain, r.Provider)
		case r.TradeLock != nil && !p.TradeLock():
			return fmt.Errorf("%s: a trade lock setting, but provider %s (%s) has no trade lock", r.Domain, p.Name, p.Type)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: %w (nothing was restored)", path, err)
	}
	rt, err := openRuntime(ctx, cfg, log, runtimeOptions{namespace: g.namespace})
	if err != nil {
		return err
	}
	defer rt.Close()
	before, hadMarker, err := rt.Store.Identity(ctx)
	if err != nil {
		return err
	}
	if hadMarker && h.StoreID != "" && h.StoreID != before.ID && h.StoreID != before.LostID {
		fmt.Fprintf(g.stderr, "note: %s is an export of store %s; this store is %s (lost: %q). Restoring anyway: generations decide what is kept.\n",
			path, h.StoreID, before.ID, before.LostID)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	start := time.Now()
	by, reason := requestedBy(), "restored from "+filepath.Base(path)
	counts := map[store.RestoreOutcome]int{}
	windows, windowErrs := 0, 0
	var batch []store.ExportRecord
	flush := func() error {
		out, err := rt.Store.Restore(ctx, batch, by, reason)
		if err != nil {
			return err
		}
		for i, o := range out {
			counts[o]++
			r := batch[i]
			if o == store.Kept || r.Locked || r.RelockAt == nil {
				continue
			}
			// The window's relock, as the unlock's worker queued it before
			// the loss: now if it ended meanwhile. The janitor finds an
			// ended window by itself too; this is on time.
			d := store.Domain{Name: r.Domain, Desired: store.Desired{Provider: r.Provider, RelockAt: *r.RelockAt}}
			if _, err := rt.Queue.Relock(ctx, reconcile.RelockIntent(d)); err != nil {
				windowErrs++
				log.Warn().Err(err).Str("domain", r.Domain).Msg("could not queue the relock of a restored window; the janitor queues it when the window has ended")
				continue
			}
			windows++
		}
		batch = batch[:0]
		return nil
	}
	_, _, err = store.ReadExport(f, func(_ int, r store.ExportRecord) error {
		batch = append(batch, r)
		if len(batch) == restoreBatch {
			return flush()
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = flush()
	}
	done := counts[store.Restored] + counts[store.Replaced] + counts[store.Kept]
	if err != nil {
		return fmt.Errorf("restore stopped after %d of %s (running it again is safe): %w", done, english.Count(n, "domain"), err)
	}
	after, err := rt.Store.Resolve(ctx, store.ResolvedByRestore)
	if err != nil {
		return fmt.Errorf("restored %s, but could not mark the store ok (run restore again): %w", english.Count(done, "domain"), err)
	}
	log.Warn().Str("operator", by).Str("file", path).Str("store_id", after.ID).Int64("domains", n).
		Int("added", counts[store.Restored]).Int("replaced", counts[store.Replaced]).Int("kept", counts[store.Kept]).
		Int("windows", windows).Dur("took", time.Since(start)).Msg("store restored from an export")
	from := h.StoreID
	if from == "" {
		from = "-"
	}
	fmt.Fprintf(g.stdout, "restored %s (exported %s from store %s): %s: %d added, %d replaced an older intent, %d kept (the store's is as new or newer)\n",
		path, h.ExportedAt.Format(time.RFC3339), from, english.Count(n, "domain"), counts[store.Restored], counts[store.Replaced], counts[store.Kept])
	fmt.Fprintf(g.stdout, "unlock windows re-armed: %d", windows)
	if windowErrs > 0 {
		fmt.Fprintf(g.stdout, " (%d not queued: the janitor relocks them when they end)", windowErrs)
	}
	fmt.Fprintln(g.stdout)
	fmt.Fprintf(g.stdout, "store %s is marked ok: running processes resume within %v. Restored domains are not read yet: run `reglock sweep` to compare them with the registrars.\n",
		after.ID, store.DefaultIdentityInterval)
	return nil
}

func runAcceptEmpty(ctx context.Context, g *globals) error {
	rt, err := g.openConfigured(ctx, runtimeOptions{})
	if err != nil {
		return err
	}
	defer rt.Close()
	before, ok, err := rt.Store.Identity(ctx)
	if err != nil {
		return err
	}
	if ok && before.State == store.StateOK {
		fmt.Fprintf(g.stdout, "store %s is not marked lost: nothing to accept\n", before.ID)
		return nil
	}
	counts, err := rt.Store.CountByProvider(ctx)
	if err != nil {
		return err
	}
	var total int64
	for _, c := range counts {
		total += c
	}
	after, err := rt.Store.Resolve(ctx, store.ResolvedByAccept)
	if err != nil {
		return err
	}
	rt.log.Warn().Str("operator", requestedBy()).Str("store_id", after.ID).Str("lost_id", after.LostID).Int64("domains", total).
		Msg("store accepted as it is after a loss")
	fmt.Fprintf(g.stdout, "store %s accepted as it is (%s): running processes resume within %v.\n", after.ID, english.Count(total, "domain"), store.DefaultIdentityInterval)
	fmt.Fprintln(g.stdout, "What the lost store held is gone: record the intents again (the producers, `reglock import --provider P --adopt`), then run `reglock sweep`.")
	return nil
}
