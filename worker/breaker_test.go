package worker_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/reglock/reglock/breaker"
	"github.com/reglock/reglock/intent"
	"github.com/reglock/reglock/providers"
	"github.com/reglock/reglock/providers/enom"
	"github.com/reglock/reglock/providers/simulator"
	"github.com/reglock/reglock/secret"
)

// withBreakers restarts the bundle's worker with a circuit breaker around
// every account, with short cooldowns.
func (b *bundle) withBreakers(opts breaker.Options) *breaker.Set {
	b.t.Helper()
	b.srv.Shutdown()
	set := breaker.New(b.env.Client, b.env.StorePrefix(), opts, zerolog.New(zerolog.NewTestWriter(b.t)))
	for name, a := range b.worker.Accounts {
		a.Registrar = providers.Wrap(a.Registrar, set.Middleware(name))
		b.worker.Accounts[name] = a
	}
	b.startWorker()
	return set
}

// A registrar account that fails for a while (5xx answers, answers that
// never come, a connection refused) delays its own work, never loses it, is
// not hammered, and does not hold up the other accounts.
func TestWorker_outageIsWaitedOut(t *testing.T) {
	closed := func(t *testing.T) string { // a port nothing listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		return addr
	}
	outages := []struct {
		name string
		// begin starts the outage and returns the registrar the worker
		// uses during it; end ends it.
		begin func(t *testing.T, b *bundle) providers.Registrar
		end   func(b *bundle)
	}{
		{"http 503", func(t *testing.T, b *bundle) providers.Registrar {
			b.acct.FailNext(1_000_000, simulator.FaultUnavailable)
			return b.worker.Accounts["enom-main"].Registrar
		}, func(b *bundle) { b.acct.FailNext(0, "") }},
		{"timeouts", func(t *testing.T, b *bundle) providers.Registrar {
			b.acct.SetLatency(time.Hour)
			reg, err := enom.New(enom.Config{Endpoint: b.simURL + "/enom/interface.asp", UID: "resellid", PW: secret.String("resellpw"), Timeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			return reg
		}, func(b *bundle) { b.acct.SetLatency(0) }},
		{"connection refused", func(t *testing.T, b *bundle) providers.Registrar {
			reg, err := enom.New(enom.Config{Endpoint: "http://" + closed(t) + "/enom/interface.asp", UID: "resellid", PW: secret.String("resellpw")})
			if err != nil {
				t.Fatal(err)
			}
			return reg
		}, nil},
	}
	for _, o := range outages {
		t.Run(o.name, func(t *testing.T) {
			b := setup(t)
			ctx := context.Background()
			good := b.worker.Accounts["enom-main"].Registrar
			var calls atomic.Int64
			counted := func(r providers.Registrar) providers.Registrar {
				return providers.Wrap(r, func(ctx context.Context, _, _ string, call func(context.Context) error) error {
					calls.Add(1)
					return call(ctx)
				})
			}
			useRegistrar := func(r providers.Registrar) {
				a := b.worker.Accounts["enom-main"]
				a.Registrar = counted(r)
				b.worker.Accounts["enom-main"] = a
				b.withBreakers(breaker.Options{Threshold: 3, Cooldown: time.Second, MaxCooldown: 2 * time.Second})
			}
			useRegistrar(o.begin(t, b))
			var enomDomains, eeDomains []string
			for i := range 20 {
				enomDomains = append(enomDomains, fmt.Sprintf("down%02d.com", i))
				eeDomains = append(eeDomains, fmt.Sprintf("up%02d.ee", i))
				b.acct.AddDomain(enomDomains[i], false)
				b.ee.AddDomain(eeDomains[i], false)
			}
			for i := range 20 {
				if _, err := b.intents.Lock(ctx, intent.Request{Domain: enomDomains[i]}); err != nil {
					t.Fatal(err)
				}
				if _, err := b.intents.Lock(ctx, intent.Request{Domain: eeDomains[i]}); err != nil {
					t.Fatal(err)
				}
			}
			// The healthy account's work goes through meanwhile.
			for _, d := range eeDomains {
				b.converged(d, true)
			}
			// The failing account is called a handful of times, not once
			// per task and retry: the breaker opened and probes now and then.
			time.Sleep(3 * time.Second)
			if n := calls.Load(); n > 12 {
				t.Errorf("eNom called %d times during its outage; the breaker should stop it", n)
			} else {
				t.Logf("%d calls to the failing account for 20 tasks over the outage", n)
			}
			all, err := breaker.ReadAll(ctx, b.env.Client, breaker.Key(b.env.StorePrefix()))
			if err != nil || all["enom-main"].State != breaker.Open {
				t.Fatalf("shared breaker state during the outage: %+v %v", all, err)
			}
			// Nothing was archived: the work waits.
			if info, err := b.insp.GetQueueInfo(b.queues.Queue("reglock:changes")); err == nil && info.Archived != 0 {
				t.Fatalf("%d tasks archived during an outage", info.Archived)
			}
			// The registrar comes back; a probe closes the breaker;
			// everything converges.
			if o.end != nil {
				o.end(b)
			}
			useRegistrar(good)
			for _, d := range enomDomains {
				b.converged(d, true)
			}
			all, _ = breaker.ReadAll(ctx, b.env.Client, breaker.Key(b.env.StorePrefix()))
			if all["enom-main"].State != breaker.Closed {
				t.Fatalf("breaker after recovery: %+v", all["enom-main"])
			}
		})
	}
}

// Refused credentials stop the account after one call, are reported once
// for the account (not as an error on every domain), and the work waits
// for the credentials to be fixed.
func TestWorker_refusedCredentialsReportedOncePerAccount(t *testing.T) {
	b := setup(t)
	bad, err := enom.New(enom.Config{Endpoint: b.simURL + "/enom/interface.asp", UID: "resellid", PW: secret.String("wrong-password-0123")})
	if err != nil {
		t.Fatal(err)
	}
	acct := b.worker.Accounts["enom-main"]
	good := acct.Registrar
	acct.Registrar = bad
	b.worker.Accounts["enom-main"] = acct
	b.withBreakers(breaker.Options{AuthCooldown: time.Second})
	ctx := context.Background()
	for i := range 10 {
		d := fmt.Sprintf("auth%02d.com", i)
		b.acct.AddDomain(d, false)
		if _, err := b.intents.Lock(ctx, intent.Request{Domain: d}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1500 * time.Millisecond)
	if calls := b.acct.Calls(); calls > 3 {
		t.Errorf("an account refusing the credentials got %d calls, want one and a probe or two", calls)
	}
	for i := range 10 {
		if d := b.domain(fmt.Sprintf("auth%02d.com", i)); d.Observed.Error != "" {
			t.Errorf("the refused credentials were recorded on %s: %q", d.Name, d.Observed.Error)
		}
	}
	// The credentials are fixed (a new deployment, say): the work resumes.
	acct.Registrar = good
	b.worker.Accounts["enom-main"] = acct
	b.withBreakers(breaker.Options{AuthCooldown: time.Second})
	for i := range 10 {
		b.converged(fmt.Sprintf("auth%02d.com", i), true)
	}
}
