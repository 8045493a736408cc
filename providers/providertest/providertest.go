// Package providertest is the conformance suite every registrar adapter
// must pass: one contract (providers.Registrar and its optional abilities),
// checked against the registrar simulator over HTTP.
//
// An adapter's test file describes how to reach its simulated account in a
// Harness and calls Run, which runs the part of the suite each ability of
// the adapter calls for: RunRegistrar (the contract every adapter keeps),
// RunLister, RunBulkReader, RunTradeLocker. The wire fake (wire.go) is the
// other half of an adapter's tests: its exact requests, and answers
// recorded from the real services.
package providertest

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/simulator"
)

// Harness describes one adapter under test.
type Harness struct {
	// Kind is the simulated registrar.
	Kind simulator.Kind
	// Options configure the simulator (e.g. OpenSRSBadAuthReply).
	Options simulator.Options
	// User and Password are the account the simulator holds; for kinds with
	// more credentials, Setup sets the rest up.
	User, Password string
	// Setup, optional, runs after the account exists (extra credentials,
	// roles, tokens).
	Setup func(sim *simulator.Simulator, acct *simulator.Account)
	// New returns the adapter for the simulator at baseURL (e.g.
	// "http://127.0.0.1:1234"). With good false it must use credentials the
	// simulator refuses.
	New func(t *testing.T, baseURL string, good bool) providers.Registrar
	// TLD is the TLD of the domains the suite registers, e.g. "com", "ee".
	TLD string
	// Secrets are the credential values that must never appear in an error.
	Secrets []string
	// Pending is set when the registrar reports pending states.
	Pending bool
}

// world is one test's simulator and adapter.
type world struct {
	t    *testing.T
	h    Harness
	sim  *simulator.Simulator
	acct *simulator.Account
	reg  providers.Registrar
	url  string
	errs []error
}

func (h Harness) setup(t *testing.T) *world {
	t.Helper()
	sim := simulator.New(h.Options)
	acct := sim.AddAccount(h.Kind, h.User, h.Password)
	if h.Setup != nil {
		h.Setup(sim, acct)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	w := &world{t: t, h: h, sim: sim, acct: acct, url: srv.URL}
	w.reg = h.New(t, srv.URL, true)
	t.Cleanup(w.checkSecrets)
	return w
}

func (w *world) name(s string) string { return s + "." + w.h.TLD }

// keep remembers an error for the secrets check.
func (w *world) keep(err error) error {
	if err != nil {
		w.errs = append(w.errs, err)
	}
	return err
}

// checkSecrets: no error of the test may carry a credential.
func (w *world) checkSecrets() {
	for _, err := range w.errs {
		for e := err; e != nil; e = errors.Unwrap(e) {
			msg := e.Error() + fmt.Sprintf(" %+v %#v", e, e)
			for _, s := range w.h.Secrets {
				if s != "" && strings.Contains(msg, s) {
					w.t.Errorf("an error discloses a credential: %q", e.Error())
				}
			}
		}
	}
}

func (w *world) state(name string) providers.State {
	w.t.Helper()
	st, err := w.reg.LockState(context.Background(), name)
	if w.keep(err) != nil {
		w.t.Fatalf("LockState(%s): %v", name, err)
	}
	return st
}

func (w *world) set(name string, locked bool) {
	w.t.Helper()
	if err := w.keep(w.reg.SetLock(context.Background(), name, locked)); err != nil {
		w.t.Fatalf("SetLock(%s, %v): %v", name, locked, err)
	}
}

// Run runs every part of the suite the adapter's abilities call for.
func Run(t *testing.T, h Harness) {
	RunRegistrar(t, h)
	w := h.setup(t)
	if _, ok := w.reg.(providers.Lister); ok {
		RunLister(t, h)
	}
	if _, ok := w.reg.(providers.BulkReader); ok {
		RunBulkReader(t, h)
	}
	if _, ok := w.reg.(providers.TradeLocker); ok {
		RunTradeLocker(t, h)
	}
}

// paced counts the requests a context's pacer let through.
func paced(ctx context.Context) (context.Context, *atomic.Int64) {
	n := &atomic.Int64{}
	return providers.WithPacer(ctx, func(ctx context.Context) error { n.Add(1); return ctx.Err() }), n
}

// RunRegistrar checks the contract every adapter keeps (providers.Registrar).
func RunRegistrar(t *testing.T, h Harness) {
	t.Run("EveryRequestIsPaced", func(t *testing.T) {
		// Every HTTP request takes a rate-limit slot, whatever it is for (a
		// lookup of the registrar's ID, a login, the call itself), so that
		// an account never sees more than its rate: counted with cold
		// caches, a fresh adapter for each call.
		w := h.setup(t)
		d := w.name("paced")
		w.acct.AddDomain(d, false)
		for _, call := range []struct {
			name string
			do   func(ctx context.Context, r providers.Registrar) error
		}{
			{"LockState", func(ctx context.Context, r providers.Registrar) error { _, err := r.LockState(ctx, d); return err }},
			{"SetLock", func(ctx context.Context, r providers.Registrar) error { return r.SetLock(ctx, d, true) }},
		} {
			r := h.New(t, w.url, true) // cold: no cached IDs or session
			ctx, n := paced(context.Background())
			before := w.acct.Calls()
			if err := w.keep(call.do(ctx, r)); err != nil {
				t.Fatalf("%s: %v", call.name, err)
			}
			if sent := w.acct.Calls() - before; sent != n.Load() || sent == 0 {
				t.Errorf("%s sent %d requests and took %d rate-limit slots", call.name, sent, n.Load())
			}
		}
	})
	t.Run("Life", func(t *testing.T) {
		// A registrar's life: a domain registered a moment ago is found at
		// once (the adapter's caches of IDs and listings are older than
		// it); one transferred away is not found, permanently, for that
		// domain alone; one transferred in is found under its new ID.
		w := h.setup(t)
		warm, fresh := w.name("known"), w.name("registered-just-now")
		w.acct.AddDomain(warm, false)
		w.state(warm) // caches warm, from before the registration
		if _, err := w.acct.Register(fresh, false); err != nil {
			t.Fatal(err)
		}
		w.set(fresh, true)
		if !w.state(fresh).Locked {
			t.Fatal("a domain registered a moment ago: locked, but reads unlocked")
		}
		w.set(fresh, false)
		if _, err := w.sim.TransferAway(fresh); err != nil {
			t.Fatal(err)
		}
		_, err := w.reg.LockState(context.Background(), fresh)
		if !errors.Is(w.keep(err), providers.ErrNotFound) || !providers.IsPermanent(err) {
			t.Errorf("LockState of a domain transferred away = %v, want a permanent ErrNotFound", err)
		}
		if w.state(warm).Locked {
			t.Error("another domain reads wrong after a transfer away")
		}
		if _, err := w.acct.TransferIn(fresh, true); err != nil {
			t.Fatal(err)
		}
		if !w.state(fresh).Locked {
			t.Error("a domain transferred in (locked) reads unlocked")
		}
		w.set(fresh, false)
		if l, _ := w.sim.Locked(fresh); l {
			t.Error("SetLock(false) of a domain transferred in did not unlock it at the registrar")
		}
	})
	t.Run("RoundTrip", func(t *testing.T) {
		w := h.setup(t)
		d := w.name("roundtrip")
		w.acct.AddDomain(d, false)
		if w.state(d).Locked {
			t.Fatal("unlocked domain reads locked")
		}
		w.set(d, true)
		if l, _ := w.sim.Locked(d); !l {
			t.Fatal("SetLock(true) did not lock at the registrar")
		}
		if !w.state(d).Locked {
			t.Fatal("locked domain reads unlocked")
		}
		w.set(d, false)
		if l, _ := w.sim.Locked(d); l {
			t.Fatal("SetLock(false) did not unlock at the registrar")
		}
		if w.state(d).Locked {
			t.Fatal("unlocked domain reads locked")
		}
	})
	t.Run("IdempotentSet", func(t *testing.T) {
		w := h.setup(t)
		on, off := w.name("already-on"), w.name("already-off")
		w.acct.AddDomain(on, true)
		w.acct.AddDomain(off, false)
		w.set(on, true)
		w.set(off, false)
		if l, _ := w.sim.Locked(on); !l {
			t.Error("locking a locked domain unlocked it")
		}
		if l, _ := w.sim.Locked(off); l {
			t.Error("unlocking an unlocked domain locked it")
		}
	})
	t.Run("Drift", func(t *testing.T) {
		w := h.setup(t)
		d := w.name("drift")
		w.acct.AddDomain(d, true)
		w.sim.SetLocked(d, false)
		if w.state(d).Locked {
			t.Fatal("a lock removed behind the adapter's back still reads locked")
		}
	})
	t.Run("UnknownDomainIsNotFound", func(t *testing.T) {
		w := h.setup(t)
		other := w.sim.AddAccount(h.Kind, "someone-else", "their-password-123456")
		w.acct.AddDomain(w.name("mine"), true)
		other.AddDomain(w.name("theirs"), true)
		for _, d := range []string{w.name("nowhere-to-be-found"), w.name("theirs")} {
			_, err := w.reg.LockState(context.Background(), d)
			if !errors.Is(w.keep(err), providers.ErrNotFound) || !providers.IsPermanent(err) {
				t.Errorf("LockState(%s) = %v, want a permanent ErrNotFound", d, err)
			}
			err = w.reg.SetLock(context.Background(), d, false)
			if !errors.Is(w.keep(err), providers.ErrNotFound) || !providers.IsPermanent(err) {
				t.Errorf("SetLock(%s) = %v, want a permanent ErrNotFound", d, err)
			}
		}
		if l, _ := w.sim.Locked(w.name("theirs")); !l {
			t.Error("another account's domain was unlocked")
		}
	})
	t.Run("BadCredentialsArePermanentAuth", func(t *testing.T) {
		w := h.setup(t)
		d := w.name("guarded")
		w.acct.AddDomain(d, true)
		bad := h.New(t, w.url, false)
		_, err := bad.LockState(context.Background(), d)
		if !errors.Is(w.keep(err), providers.ErrAuth) || !providers.IsPermanent(err) {
			t.Errorf("LockState with bad credentials = %v, want a permanent ErrAuth", err)
		}
		err = bad.SetLock(context.Background(), d, false)
		if !errors.Is(w.keep(err), providers.ErrAuth) || !providers.IsPermanent(err) {
			t.Errorf("SetLock with bad credentials = %v, want a permanent ErrAuth", err)
		}
		if l, _ := w.sim.Locked(d); !l {
			t.Error("a refused caller unlocked the domain")
		}
	})
	t.Run("Faults", func(t *testing.T) {
		cases := []struct {
			fault      simulator.Fault
			retryAfter bool
		}{
			{simulator.FaultUnavailable, false},
			{simulator.FaultError, false},
			{simulator.FaultMalformed, false},
			{simulator.FaultDrop, false},
			{simulator.FaultBusy, true},
			{simulator.FaultRateLimited, true},
			{simulator.FaultHuge, false},
		}
		for _, c := range cases {
			t.Run(string(c.fault), func(t *testing.T) {
				w := h.setup(t)
				d := w.name("faulty")
				w.acct.AddDomain(d, false)
				for _, op := range []string{"LockState", "SetLock"} {
					w.acct.FailNext(1, c.fault)
					var err error
					if op == "LockState" {
						_, err = w.reg.LockState(context.Background(), d)
					} else {
						err = w.reg.SetLock(context.Background(), d, true)
					}
					w.keep(err)
					var ra *providers.RetryAfterError
					switch {
					case err == nil:
						t.Fatalf("%s during %s: no error", op, c.fault)
					case providers.IsPermanent(err):
						t.Fatalf("%s during %s: permanent %v, want retryable", op, c.fault, err)
					case c.retryAfter && (!errors.As(err, &ra) || ra.After <= 0):
						t.Fatalf("%s during %s: %v, want a *RetryAfterError with a delay", op, c.fault, err)
					case !c.retryAfter && errors.As(err, &ra):
						t.Fatalf("%s during %s: %v is a RetryAfterError", op, c.fault, err)
					}
				}
				// The registrar recovers; so does the adapter.
				w.set(d, true)
				if !w.state(d).Locked {
					t.Fatal("not locked after recovery")
				}
			})
		}
	})
	t.Run("HugeAnswerReadWithinBounds", func(t *testing.T) {
		// A gigabyte answer costs the adapter its 8 MiB bound, not the
		// gigabyte: it reads so far, gives up with a retryable error, and
		// hangs up.
		w := h.setup(t)
		d := w.name("huge")
		w.acct.AddDomain(d, false)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for range 4 {
			w.acct.FailNext(1, simulator.FaultHuge)
			_, err := w.reg.LockState(context.Background(), d)
			if w.keep(err) == nil || providers.IsPermanent(err) {
				t.Fatalf("LockState of a 1 GiB answer = %v, want a retryable error", err)
			}
		}
		runtime.ReadMemStats(&after)
		// Reading up to the bound allocates about twice the bound (the
		// buffer doubles as it grows), and twice that under -race; reading
		// the whole answer would allocate gigabytes.
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4*8*providers.MaxResponseBytes {
			t.Fatalf("4 reads of a 1 GiB answer allocated %d MiB; reads are bounded at %d MiB", alloc>>20, providers.MaxResponseBytes>>20)
		} else {
			t.Logf("4 reads of a 1 GiB answer allocated %d MiB in all", alloc>>20)
		}
	})
	t.Run("ContextCancellation", func(t *testing.T) {
		w := h.setup(t)
		d := w.name("slow")
		w.acct.AddDomain(d, false)
		w.acct.SetLatency(10 * time.Second)
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := w.reg.LockState(ctx, d)
		if w.keep(err) == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("LockState with an expired context = %v, want context.DeadlineExceeded", err)
		}
		err = w.reg.SetLock(ctx, d, true)
		if w.keep(err) == nil || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("SetLock with an expired context = %v, want context.DeadlineExceeded", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("cancelled calls took %v", took)
		}
	})
	if h.Pending {
		t.Run("Pending", func(t *testing.T) {
			w := h.setup(t)
			d := w.name("pending")
			w.acct.AddDomain(d, false)
			w.sim.SetPending(d, true)
			if !w.state(d).Pending {
				t.Fatal("a pending domain does not read as pending")
			}
		})
	}
}

// RunLister checks providers.Lister: the whole account, each domain once,
// every page paced.
func RunLister(t *testing.T, h Harness) {
	t.Run("Lister", func(t *testing.T) {
		w := h.setup(t)
		want := map[string]bool{}
		for i := range 257 {
			d := w.name(fmt.Sprintf("listed-%03d", i))
			w.acct.AddDomain(d, i%3 == 0)
			want[d] = true
		}
		w.sim.AddAccount(h.Kind, "someone-else", "their-password-123456").AddDomain(w.name("not-mine"), true)
		ctx, n := paced(context.Background())
		before := w.acct.Calls()
		for d, err := range w.reg.(providers.Lister).Domains(ctx) {
			if w.keep(err) != nil {
				t.Fatalf("Domains: %v", err)
			}
			if !want[d] {
				t.Fatalf("Domains yielded %q: not in the account, or twice", d)
			}
			delete(want, d)
		}
		if len(want) != 0 {
			t.Fatalf("Domains missed %d domains", len(want))
		}
		if sent := w.acct.Calls() - before; sent != n.Load() {
			t.Errorf("the listing sent %d requests and took %d rate-limit slots", sent, n.Load())
		}
	})
}

// RunBulkReader checks providers.BulkReader: every domain of the account
// with its lock, each once, every page paced.
func RunBulkReader(t *testing.T, h Harness) {
	t.Run("BulkReader", func(t *testing.T) {
		w := h.setup(t)
		want := map[string]bool{}
		for i := range 230 {
			d := w.name(fmt.Sprintf("bulk-%03d", i))
			w.acct.AddDomain(d, i%2 == 0)
			want[d] = i%2 == 0
		}
		w.sim.SetLocked(w.name("bulk-000"), false)
		want[w.name("bulk-000")] = false
		ctx, n := paced(context.Background())
		before := w.acct.Calls()
		for ds, err := range w.reg.(providers.BulkReader).LockStates(ctx) {
			if w.keep(err) != nil {
				t.Fatalf("LockStates: %v", err)
			}
			l, ok := want[ds.Domain]
			if !ok {
				t.Fatalf("LockStates yielded %q: not in the account, or twice", ds.Domain)
			}
			if ds.Locked != l {
				t.Errorf("%s: locked=%v, want %v", ds.Domain, ds.Locked, l)
			}
			delete(want, ds.Domain)
		}
		if len(want) != 0 {
			t.Fatalf("LockStates missed %d domains", len(want))
		}
		if sent := w.acct.Calls() - before; sent != n.Load() {
			t.Errorf("the bulk read sent %d requests and took %d rate-limit slots", sent, n.Load())
		}
	})
}

// RunTradeLocker checks providers.TradeLocker (OpenSRS's trade lock).
func RunTradeLocker(t *testing.T, h Harness) {
	t.Run("TradeLocker", func(t *testing.T) {
		w := h.setup(t)
		d := w.name("traded")
		w.acct.AddDomain(d, true)
		ip := netip.MustParseAddr("203.0.113.7")
		if err := w.keep(w.reg.(providers.TradeLocker).SetTradeLock(context.Background(), d, false, ip)); err != nil {
			t.Fatalf("SetTradeLock: %v", err)
		}
		enable, gotIP, set := w.sim.TradeLock(d)
		if !set || enable || gotIP != ip.String() {
			t.Fatalf("registrar holds trade lock set=%v enable=%v ip=%q", set, enable, gotIP)
		}
		err := w.reg.(providers.TradeLocker).SetTradeLock(context.Background(), w.name("unknown"), true, ip)
		if !errors.Is(w.keep(err), providers.ErrNotFound) {
			t.Fatalf("SetTradeLock of an unknown domain = %v, want ErrNotFound", err)
		}
	})
}

// AssertErr checks an error against the vocabulary: wantErr nil means
// success; otherwise errors.Is must hold and permanence must match.
func AssertErr(t *testing.T, err, wantErr error, wantPermanent bool) {
	t.Helper()
	if wantErr == nil {
		if err != nil {
			t.Fatalf("err = %v, want nil", err)
		}
		return
	}
	if !errors.Is(err, wantErr) {
		t.Fatalf("err = %v, want errors.Is %v", err, wantErr)
	}
	if got := providers.IsPermanent(err); got != wantPermanent {
		t.Errorf("IsPermanent(%v) = %v, want %v", err, got, wantPermanent)
	}
}
