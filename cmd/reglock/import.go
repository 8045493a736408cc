package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/english"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/ratelimit"
	"github.com/reglock/reglock/store"
	"github.com/reglock/reglock/tasks"
	"github.com/reglock/reglock/worker"
)

func newImportCmd(g *globals) *cobra.Command {
	var provider string
	var adopt bool
	cmd := &cobra.Command{
		Use:   "import --provider P [--adopt]",
		Short: "Add every domain the registrar account lists to the inventory",
		Long: `import lists the registrar account and adds each domain that is not in the inventory
yet; domains already there are left alone. With --adopt the lock each domain has now
becomes its desired state (read in bulk where the registrar can, else one by one under
the account's rate limit); without it, the desired state is policy.import_locked
(default: locked), and the next sweep brings the registrar in line. Needs --config.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if provider == "" {
				return usageError{errors.New("--provider is required")}
			}
			if g.configPath == "" {
				return usageError{errors.New("import talks to the registrar and Redis itself: give --config (the sandbox needs none: its demo domains are in its inventory from the start)")}
			}
			return runImport(cmd.Context(), g, provider, adopt)
		},
	}
	cmd.Flags().StringVar(&provider, "provider", "", "provider name from the configuration")
	cmd.Flags().BoolVar(&adopt, "adopt", false, "take each domain's current lock as its desired state")
	return cmd
}

// importCounts is what an import did.
type importCounts struct {
	listed, added, known, failed atomic.Int64
}

func runImport(ctx context.Context, g *globals, provider string, adopt bool) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	cfg, err := g.loadConfigFor(config.Uses{Registrars: true})
	if err != nil {
		return err
	}
	rt, err := openRuntime(ctx, cfg, log, runtimeOptions{registrars: true, namespace: g.namespace})
	if err != nil {
		return err
	}
	defer rt.Close()
	acct, ok := rt.Accounts[provider]
	if !ok {
		return fmt.Errorf("unknown provider %q", provider)
	}
	lister, ok := acct.Registrar.(providers.Lister)
	if !ok {
		return fmt.Errorf("provider %s (%s) cannot list its domains", provider, acct.Type)
	}
	if !adopt {
		// A policy import into a wiped store would lock (or unlock) every
		// domain, those deliberately unlocked included.
		if err := rt.StoreWatch.Verify(ctx); err != nil {
			return fmt.Errorf("import refused: it would record every listed domain as %s (policy.import_locked), and %w", lockWord(cfg.Policy.ImportLocked), err)
		}
	}
	im := &importer{rt: rt, acct: acct, adopt: adopt, policyLocked: cfg.Policy.ImportLocked}
	// The listing's pages keep to the account's rate limit too, in the
	// background lane: a customer's change goes first.
	ctx = providers.WithPacer(ctx, func(ctx context.Context) error {
		return rt.Limiter.Wait(ratelimit.Background(ctx), acct.Name, acct.Limit, time.Minute)
	})
	start := time.Now()
	// A registrar that lists locks with its domains gives --adopt its
	// readings for free; an account too large for that is listed and read
	// domain by domain.
	bulk := false
	if br, ok := acct.Registrar.(providers.BulkReader); ok && adopt {
		bulk = true
		for ds, err := range br.LockStates(ctx) {
			if errors.Is(err, providers.ErrNoBulk) {
				bulk = false
				break
			}
			if err != nil {
				return err
			}
			im.add(ctx, ds.Domain, &ds.State)
		}
	}
	if !bulk {
		for name, err := range lister.Domains(ctx) {
			if err != nil {
				return err
			}
			im.add(ctx, name, nil)
		}
	}
	im.wg.Wait()
	c := &im.counts
	fmt.Fprintf(g.stdout, "import from %s: %d listed, %d added, %d already in the inventory, %d failed (%s)\n",
		provider, c.listed.Load(), c.added.Load(), c.known.Load(), c.failed.Load(), time.Since(start).Round(time.Millisecond))
	if !adopt && c.added.Load() > 0 {
		fmt.Fprintf(g.stdout, "desired state of new domains: %s (policy.import_locked); run `reglock sweep --provider %s` to compare with the registrar\n",
			lockWord(cfg.Policy.ImportLocked), provider)
	}
	if c.failed.Load() > 0 {
		return fmt.Errorf("%s could not be imported (see the log)", english.Count(c.failed.Load(), "domain"))
	}
	return nil
}

// importer adds domains a few at a time.
type importer struct {
	rt           *runtime
	acct         worker.Account
	adopt        bool
	policyLocked bool
	counts       importCounts
	wg           sync.WaitGroup
	sem          chan struct{}
	once         sync.Once
}

func (im *importer) add(ctx context.Context, name string, st *providers.State) {
	im.once.Do(func() { im.sem = make(chan struct{}, 16) })
	im.counts.listed.Add(1)
	im.sem <- struct{}{}
	im.wg.Add(1)
	go func() {
		defer im.wg.Done()
		defer func() { <-im.sem }()
		if err := im.addOne(ctx, name, st); err != nil {
			im.counts.failed.Add(1)
			im.rt.log.Error().Err(err).Str("domain", name).Msg("import failed")
		}
	}()
}

func (im *importer) addOne(ctx context.Context, name string, st *providers.State) error {
	domain, err := tasks.NormalizeDomain(name)
	if err != nil {
		return err
	}
	if d, err := im.rt.Store.Get(ctx, domain); err == nil {
		if d.Desired.Provider != im.acct.Name {
			im.rt.log.Warn().Str("domain", domain).Str("provider", d.Desired.Provider).Msg("listed by this account but in the inventory under another provider; left alone")
		}
		im.counts.known.Add(1)
		return nil
	}
	locked := im.policyLocked
	var read time.Time
	if im.adopt {
		if st == nil {
			read = time.Now()
			s, err := im.acct.Registrar.LockState(ctx, domain)
			if err != nil {
				return err
			}
			st = &s
		} else {
			read = time.Now()
		}
		locked = st.Locked
	}
	kind := store.KindUnlock
	if locked {
		kind = store.KindLock
	}
	_, out, err := im.rt.Store.Fold(ctx, store.Change{Domain: domain, Kind: kind, Mode: store.ModeImport, Provider: im.acct.Name})
	if err != nil {
		return err
	}
	if out != store.Applied {
		im.counts.known.Add(1)
		return nil
	}
	im.counts.added.Add(1)
	if st != nil {
		_, _, err = im.rt.Store.Observe(ctx, domain, store.Reading{Locked: st.Locked, Flags: store.FlagsOf(*st), StartedAt: read})
	}
	return err
}
