package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/store"
)

// sandbox is what `reglock serve` runs on when no Redis is configured: an
// in-process miniredis and, when no providers are configured either, the
// registrar simulator with a few demo domains.
type sandbox struct {
	mr     *miniredis.Miniredis
	rdb    *redis.Client
	sim    *simulator.Simulator
	simURL string
	simSrv *http.Server
	stop   chan struct{}
	wg     sync.WaitGroup
}

// demoDomains are the sandbox registrars' domains: .com at eNom, .net at
// OpenSRS, .org through WHMCS, .ee at the .ee registry. The sandbox starts
// with them in its inventory, desired as they are at the registrar, but
// for one: bücher.com is meant to be locked and someone unlocked it at the
// registrar behind reglock's back, the drift the tour's first sweep finds
// and fixes.
var demoDomains = []struct {
	name    string
	locked  bool // at the (simulated) registrar
	desired bool // in the inventory
}{
	{"example.com", true, true},
	{"xn--bcher-kva.com", false, true}, // bücher.com: drifted
	{"example.net", false, false},
	{"example.org", true, true},
	{"xn--nide-loa.ee", false, false}, // näide.ee
}

// sandboxPrefix names the sandbox's simulated accounts: sandbox-enom, ...
const sandboxPrefix = "sandbox-"

func startSandbox(ctx context.Context, cfg *config.Config, log zerolog.Logger) (*sandbox, error) {
	sb := &sandbox{mr: miniredis.NewMiniRedis(), stop: make(chan struct{})}
	if err := sb.mr.Start(); err != nil {
		return nil, err
	}
	sb.rdb = redis.NewClient(&redis.Options{Addr: sb.mr.Addr(), PoolSize: 64})
	sb.wg.Add(1)
	go sb.tick(time.Second)
	log.Warn().Str("redis", sb.mr.Addr()).Msg("SANDBOX: no Redis configured; running on an embedded in-memory Redis. Everything is lost on exit. Development only.")
	if len(cfg.Providers) == 0 {
		if err := sb.startSimulator(cfg); err != nil {
			sb.Close()
			return nil, err
		}
		log.Warn().Str("simulator", sb.simURL).Int("domains", len(demoDomains)).
			Msg("SANDBOX: no providers configured; using the built-in registrar simulator (eNom for .com, OpenSRS for .net, WHMCS for .org, the .ee registry for .ee) with demo domains example.com, bücher.com, example.net, example.org, näide.ee, all in the inventory; bücher.com was unlocked at the registrar behind reglock's back: `reglock sweep --wait` finds and fixes it")
		log.Warn().Float64("max_drift_share", cfg.Scheduler.MaxDriftShare).Dur("confirm_delay", cfg.Scheduler.ConfirmDelay).
			Msg("SANDBOX: two domains an account, so one drift is half of one: unless configured, the blast-radius guard pauses only an account that drifted whole, and a drift is confirmed after 2s")
	}
	return sb, nil
}

// tick keeps miniredis's clock moving: it only expires keys when told that
// time has passed, and asynq's unique locks, leases and retention rely on
// keys that expire.
func (sb *sandbox) tick(every time.Duration) {
	defer sb.wg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	last := time.Now()
	sb.mr.SetTime(last)
	for {
		select {
		case <-sb.stop:
			return
		case now := <-t.C:
			sb.mr.SetTime(now)
			sb.mr.FastForward(now.Sub(last))
			last = now
		}
	}
}

func (sb *sandbox) startSimulator(cfg *config.Config) error {
	sb.sim = simulator.New(simulator.Options{})
	pw := randomToken()
	accts := addSimAccounts(sb.sim, pw)
	for _, d := range demoDomains {
		for i, a := range simAccounts {
			if strings.HasSuffix(d.name, "."+a.tld) {
				accts[i].AddDomain(d.name, d.locked)
			}
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sb.simSrv = &http.Server{Handler: sb.sim.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go sb.simSrv.Serve(ln)
	sb.simURL = "http://" + ln.Addr().String()
	for _, p := range simProviders(sb.simURL, pw, sandboxPrefix) {
		p.Rate = 20 // to show the shared rate limit at work
		cfg.Providers = append(cfg.Providers, p)
	}
	// Two domains an account: one drift is 50%, which the default guard
	// (10%) would pause, and the tour would wait 10s for each confirmation.
	if cfg.Scheduler.MaxDriftShare == config.DefaultMaxDriftShare {
		cfg.Scheduler.MaxDriftShare = 1
	}
	if cfg.Scheduler.ConfirmDelay == config.DefaultConfirmDelay {
		cfg.Scheduler.ConfirmDelay = 2 * time.Second
	}
	return nil
}

// seed puts the demo domains in the inventory as an import would, each
// with its intent (the simulator's accounts serve them). Domains already
// there are left alone.
func (sb *sandbox) seed(ctx context.Context, st *store.Store) error {
	if sb.sim == nil {
		return nil
	}
	for _, d := range demoDomains {
		provider := ""
		for _, a := range simAccounts {
			if strings.HasSuffix(d.name, "."+a.tld) {
				provider = sandboxPrefix + a.name
			}
		}
		kind := store.KindUnlock
		if d.desired {
			kind = store.KindLock
		}
		if _, _, err := st.Fold(ctx, store.Change{Domain: d.name, Kind: kind, Mode: store.ModeImport, Provider: provider,
			RequestedBy: "sandbox", Reason: "demo domain"}); err != nil {
			return fmt.Errorf("sandbox: adding %s to the inventory: %w", d.name, err)
		}
	}
	return nil
}

// Close stops the simulator, the clock and miniredis.
func (sb *sandbox) Close() {
	close(sb.stop)
	sb.wg.Wait()
	if sb.simSrv != nil {
		sb.simSrv.Close()
	}
	sb.rdb.Close()
	sb.mr.Close()
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// sandboxInfo is what a running sandbox tells the CLI on the same machine,
// so that `reglock lock example.net` works without flags.
type sandboxInfo struct {
	API   string `json:"api"`
	Token string `json:"token"`
	PID   int    `json:"pid"`
}

func sandboxInfoPath() string {
	return filepath.Join(os.TempDir(), "reglock-sandbox.json")
}

func writeSandboxInfo(info sandboxInfo) error {
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	tmp := sandboxInfoPath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, sandboxInfoPath())
}

// readSandboxInfo returns the running sandbox's address and token.
func readSandboxInfo() (sandboxInfo, error) {
	var info sandboxInfo
	b, err := os.ReadFile(sandboxInfoPath())
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, err
	}
	if info.API == "" || info.Token == "" {
		return info, errors.New("incomplete sandbox file")
	}
	return info, nil
}
