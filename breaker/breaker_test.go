package breaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/reglock/reglock/clock"
	"github.com/reglock/reglock/providers"
)

func setup(t *testing.T) (*Set, *clock.Manual, *redis.Client) {
	t.Helper()
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	c := clock.NewManual(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	s := New(rdb, "rl:", Options{Threshold: 3, Cooldown: 10 * time.Second, MaxCooldown: 40 * time.Second, AuthCooldown: time.Minute, Clock: c}, zerolog.Nop())
	return s, c, rdb
}

var errDown = errors.New("HTTP 503")

// call runs one guarded call that fails with err, counting whether the
// registrar was reached.
func call(s *Set, account string, err error, reached *int) error {
	return s.Middleware(account)(context.Background(), "lock_state", "example.com", func(context.Context) error {
		*reached++
		return err
	})
}

func isOpen(err error) bool {
	var ra *providers.RetryAfterError
	return errors.As(err, &ra) && errors.Is(err, ErrOpen)
}

func TestBreaker_opensAfterFailuresAndProbes(t *testing.T) {
	s, c, _ := setup(t)
	reached := 0
	for range 3 {
		if err := call(s, "enom", errDown, &reached); !errors.Is(err, errDown) {
			t.Fatalf("failing call = %v", err)
		}
	}
	// Open: the registrar is left alone, the caller told when to come back.
	for range 10 {
		if err := call(s, "enom", nil, &reached); !isOpen(err) {
			t.Fatalf("call while open = %v", err)
		}
	}
	if reached != 3 {
		t.Fatalf("registrar reached %d times, want 3", reached)
	}
	// Other accounts are not affected.
	if err := call(s, "opensrs", nil, &reached); err != nil {
		t.Fatalf("another account: %v", err)
	}
	// After the cooldown one probe goes; it fails: open again, twice as long.
	c.Add(11 * time.Second)
	if err := call(s, "enom", errDown, &reached); !errors.Is(err, errDown) {
		t.Fatalf("probe = %v", err)
	}
	c.Add(11 * time.Second)
	if err := call(s, "enom", nil, &reached); !isOpen(err) {
		t.Fatalf("after a failed probe the cooldown doubles; got %v", err)
	}
	c.Add(10 * time.Second)
	if err := call(s, "enom", nil, &reached); err != nil {
		t.Fatalf("second probe: %v", err)
	}
	// Closed again.
	if err := call(s, "enom", nil, &reached); err != nil {
		t.Fatalf("after recovery: %v", err)
	}
}

func TestBreaker_authFailureOpensAtOnceAndWaits(t *testing.T) {
	s, _, _ := setup(t)
	reached := 0
	auth := providers.ErrAuth
	err := call(s, "enom", auth, &reached)
	var ra *providers.RetryAfterError
	if !errors.As(err, &ra) || ra.After != time.Minute || !errors.Is(err, providers.ErrAuth) || providers.IsPermanent(err) {
		t.Fatalf("refused credentials = %v, want a one-minute retry-after that still says ErrAuth", err)
	}
	for range 5 {
		if err := call(s, "enom", nil, &reached); !isOpen(err) {
			t.Fatalf("after refused credentials: %v", err)
		}
	}
	if reached != 1 {
		t.Fatalf("registrar reached %d times after refusing the credentials", reached)
	}
}

func TestBreaker_domainErrorsAndBusyAreNotFailures(t *testing.T) {
	s, _, _ := setup(t)
	reached := 0
	for range 10 {
		call(s, "enom", providers.ErrNotFound, &reached)
		call(s, "enom", providers.RetryAfter(time.Second, errors.New("busy")), &reached)
	}
	if err := call(s, "enom", nil, &reached); err != nil {
		t.Fatalf("domain errors opened the breaker: %v", err)
	}
}

// A breaker one process opens stops the others, through Redis.
func TestBreaker_sharedAcrossProcesses(t *testing.T) {
	a, c, rdb := setup(t)
	b := New(rdb, "rl:", Options{Threshold: 3, Cooldown: 10 * time.Second, Clock: c}, zerolog.Nop())
	reached := 0
	call(a, "enom", providers.ErrAuth, &reached)
	c.Add(3 * time.Second) // past b's refresh interval
	if err := call(b, "enom", nil, &reached); !isOpen(err) {
		t.Fatalf("the other process called an account whose credentials were refused: %v", err)
	}
	all, err := ReadAll(context.Background(), rdb, Key("rl:"))
	if err != nil || all["enom"].State != Open || !strings.Contains(all["enom"].Reason, "refused the credentials") {
		t.Fatalf("shared state: %+v %v", all, err)
	}
}

// The process that opened a breaker goes away (a restart, a scale-down)
// and another one calls only after the cooldown: that call is the probe,
// and its success closes the shared state instead of leaving "open" in
// Redis for good.
func TestBreaker_openedByAGoneProcessIsClosedByAProbe(t *testing.T) {
	a, c, rdb := setup(t)
	reached := 0
	for range 3 {
		call(a, "enom", errDown, &reached)
	}
	c.Add(11 * time.Second)
	b := New(rdb, "rl:", Options{Threshold: 3, Cooldown: 10 * time.Second, Clock: c}, zerolog.Nop())
	if err := call(b, "enom", nil, &reached); err != nil || reached != 4 {
		t.Fatalf("the first call after the cooldown: %v, registrar reached %d times", err, reached)
	}
	all, err := ReadAll(context.Background(), rdb, Key("rl:"))
	if err != nil || all["enom"].State != Closed {
		t.Fatalf("shared state after a successful probe by another process: %+v %v", all["enom"], err)
	}
}

// A failed probe re-opens the breaker without restarting the outage's
// clock: Since stays when it first opened, Until moves on.
func TestBreaker_failedProbeKeepsSince(t *testing.T) {
	s, c, rdb := setup(t)
	reached := 0
	opened := c.Now()
	for range 3 {
		call(s, "enom", errDown, &reached)
	}
	c.Add(11 * time.Second)
	if err := call(s, "enom", errDown, &reached); !errors.Is(err, errDown) {
		t.Fatalf("probe = %v", err)
	}
	all, err := ReadAll(context.Background(), rdb, Key("rl:"))
	if err != nil {
		t.Fatal(err)
	}
	st := all["enom"]
	if st.State != Open || !st.Since.Equal(opened) || !st.Until.Equal(c.Now().Add(20*time.Second)) {
		t.Fatalf("after a failed probe: %+v; want open since %s until %s", st, opened, c.Now().Add(20*time.Second))
	}
}

// Report shows an open breaker that nobody probed long after its cooldown
// as probe_due (no work is waiting for the account), so the alert on open
// breakers does not go on firing for an idle account after an outage.
func TestReport_openBreakerWithNoWorkBecomesProbeDue(t *testing.T) {
	s, c, rdb := setup(t)
	reached := 0
	for range 3 {
		call(s, "enom", errDown, &reached)
	}
	until := c.Now().Add(10 * time.Second)
	ctx := context.Background()
	for _, tt := range []struct {
		at   time.Time
		want string
	}{
		{c.Now(), Open},
		{until.Add(time.Second), Open}, // the probe is due: waiting work is about to send it
		{until.Add(ProbeGrace), Open},  // still within the grace
		{until.Add(ProbeGrace + time.Second), ProbeDue},
	} {
		all, err := Report(ctx, rdb, Key("rl:"), tt.at)
		if err != nil {
			t.Fatal(err)
		}
		if got := all["enom"]; got.State != tt.want || !got.Until.Equal(until) {
			t.Errorf("Report at until%+v = %+v, want state %s and Until kept", tt.at.Sub(until), got, tt.want)
		}
	}
	// The shared state itself is untouched: the next call is still the probe.
	all, err := ReadAll(ctx, rdb, Key("rl:"))
	if err != nil || all["enom"].State != Open {
		t.Fatalf("ReadAll after Report = %+v, %v; want open", all["enom"], err)
	}
}

// One domain refused is that domain's problem (OpenSRS 415 for a domain the
// reseller does not hold): the breaker stays closed and the error stays the
// domain's. Refusals of several distinct domains, or of a call that is not
// about one domain, are evidence about the account: the breaker opens.
func TestBreaker_refusalsOpenOnlyOnEvidenceAboutTheAccount(t *testing.T) {
	c := clock.NewManual(time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC))
	rdb := redis.NewClient(&redis.Options{Addr: miniredis.RunT(t).Addr()})
	s := New(rdb, "t:", Options{Clock: c}, zerolog.Nop())
	refused := func(domain string) error {
		return s.Middleware("osrs")(context.Background(), "lock_state", domain, func(context.Context) error {
			return fmt.Errorf("opensrs: 415: %w", providers.ErrRefused)
		})
	}
	for i := 0; i < 5; i++ {
		err := refused("gone.com") // the same domain again and again
		if !errors.Is(err, providers.ErrRefused) || isOpen(err) {
			t.Fatalf("refusal %d of one domain: %v, want the domain's own permanent error", i, err)
		}
	}
	if err := refused("other.com"); isOpen(err) {
		t.Fatalf("two distinct domains opened the breaker: %v", err)
	}
	c.Add(RefusalWindow + time.Second) // the first two age out
	if err := refused("third.com"); isOpen(err) {
		t.Fatalf("refusals outside the window counted: %v", err)
	}
	refused("fourth.com")
	if err := refused("fifth.com"); !isOpen(err) {
		t.Fatalf("three distinct domains refused within %s: %v, want the breaker open", RefusalWindow, err)
	}

	listing := New(rdb, "u:", Options{Clock: c}, zerolog.Nop())
	err := listing.Middleware("osrs")(context.Background(), "list", "", func(context.Context) error {
		return fmt.Errorf("opensrs: 415: %w", providers.ErrRefused)
	})
	if !isOpen(err) {
		t.Fatalf("a refused listing: %v, want the breaker open", err)
	}
}

// OnTransition names one outage alike in every process and on every
// transition: when it opened, when a failed probe re-opened it, and when
// another process, which took the open state from Redis, closed it.
func TestBreaker_onTransitionNamesTheOutage(t *testing.T) {
	a, c, rdb := setup(t)
	b := New(rdb, "rl:", Options{Threshold: 3, Cooldown: 10 * time.Second, Clock: c}, zerolog.Nop())
	type seen struct {
		process string
		Transition
	}
	var got []seen
	a.OnTransition = func(_ context.Context, tr Transition) { got = append(got, seen{"a", tr}) }
	b.OnTransition = func(_ context.Context, tr Transition) { got = append(got, seen{"b", tr}) }
	reached := 0
	opened := c.Now()
	for range 3 {
		call(a, "enom", errDown, &reached)
	}
	c.Add(11 * time.Second)
	call(a, "enom", errDown, &reached) // a failed probe: open again
	c.Add(21 * time.Second)
	if err := call(b, "enom", nil, &reached); err != nil { // b's probe succeeds
		t.Fatalf("b's probe: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("transitions %+v, want open, open, closed", got)
	}
	for i, want := range []struct{ process, state string }{{"a", Open}, {"a", Open}, {"b", Closed}} {
		g := got[i]
		if g.process != want.process || g.Account != "enom" || g.Status.State != want.state ||
			!g.Outage.Truncate(time.Millisecond).Equal(opened) {
			t.Errorf("transition %d: %s %+v; want %s %s of the outage since %s", i, g.process, g.Transition, want.process, want.state, opened)
		}
	}
	if r := got[0].Status.Reason; !strings.Contains(r, "3 failed calls in a row") {
		t.Errorf("open reason %q", r)
	}
}

// A call the open breaker holds back fails with an error of its own: it
// names its own domain and the account's cause, never the failure of the
// other domain that opened the breaker (asynqmon shows it as the task's
// Last Error), in the process that opened it and in one that took the open
// state from Redis. The shared reason names no domain either.
func TestBreaker_refusalNamesItsOwnDomainOnly(t *testing.T) {
	s, c, rdb := setup(t)
	other := &providers.StatusError{Code: 502, Body: "<html><title>other.com upstream down</title></html>"}
	mw := s.Middleware("enom")
	for range 3 {
		_ = mw(context.Background(), "lock_state", "other.com", func(context.Context) error {
			return fmt.Errorf("enom: GetRegLock other.com: %w", other)
		})
	}
	peer := New(rdb, "rl:", Options{Threshold: 3, Cooldown: 10 * time.Second, Clock: c}, zerolog.Nop())
	for name, set := range map[string]*Set{"the process that opened it": s, "another process": peer} {
		err := set.Middleware("enom")(context.Background(), "set_lock", "mine.com", func(context.Context) error {
			t.Fatal("the call went through an open breaker")
			return nil
		})
		if !isOpen(err) {
			t.Fatalf("%s: %v, want the breaker open", name, err)
		}
		msg := err.Error()
		for _, want := range []string{"circuit open for account enom since 2026-11-22T12:00:00Z", "3 failed calls in a row, the last: HTTP 502 Bad Gateway", "this task (domain mine.com) was not sent"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: %q does not say %q", name, msg, want)
			}
		}
		if strings.Contains(msg, "other.com") || strings.Contains(msg, "<") {
			t.Errorf("%s: %q quotes the other domain's failure", name, msg)
		}
	}
	// A listing held back says so.
	err := s.Middleware("enom")(context.Background(), "list", "", func(context.Context) error { return nil })
	if !isOpen(err) || !strings.Contains(err.Error(), "this task's list call was not sent") {
		t.Errorf("held-back listing: %v", err)
	}
	all, err := ReadAll(context.Background(), rdb, Key("rl:"))
	if err != nil {
		t.Fatal(err)
	}
	if r := all["enom"].Reason; strings.Contains(r, "other.com") || !strings.Contains(r, "HTTP 502") {
		t.Errorf("shared reason %q", r)
	}
}

func TestCause(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("enom: GetRegLock a.com: %w", &providers.StatusError{Code: 503, Body: "a.com is down"}), "HTTP 503 Service Unavailable"},
		{providers.RetryAfter(time.Second, &providers.StatusError{Code: 429}), "HTTP 429 Too Many Requests"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout"},
		{fmt.Errorf("x: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), "connection refused"},
		{&net.DNSError{Name: "api.example", Err: "no such host"}, "DNS lookup failed"},
		{fmt.Errorf("reading answer: %w", io.ErrUnexpectedEOF), "connection closed before the answer"},
		{providers.Unrecognized(errors.New("a.com: odd")), "an answer reglock does not recognize"},
		{errors.New("a.com: something else"), "an error (the worker's log has it)"},
	}
	for _, tt := range tests {
		if got := cause(tt.err); got != tt.want {
			t.Errorf("cause(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}
