package providers

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	timeout := errors.New("read tcp: i/o timeout")
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want Verdict
	}{
		{"success", bg, nil, Verdict{Done, Up}},
		{"the caller gave up", cancelled, timeout, Verdict{Retry, Neutral}},
		{"busy", bg, RetryAfter(time.Second, errors.New("busy")), Verdict{RetryLater, Up}},
		{"refused credentials", bg, fmt.Errorf("enom: %w", ErrAuth), Verdict{Archive, CredentialsRefused}},
		{"refused credentials, breaker open", bg, RetryAfter(time.Minute, fmt.Errorf("circuit open: %w", ErrAuth)), Verdict{RetryLater, Up}},
		{"refused", bg, fmt.Errorf("opensrs 415: %w", ErrRefused), Verdict{Archive, Refused}},
		{"not found", bg, fmt.Errorf("x: %w", ErrNotFound), Verdict{Archive, Up}},
		{"not lockable", bg, ErrNotLockable, Verdict{Archive, Up}},
		{"not permitted", bg, ErrNotPermitted, Verdict{Archive, Up}},
		{"marked permanent", bg, Permanent(errors.New("bad payload")), Verdict{Archive, Up}},
		{"unrecognized", bg, Unrecognized(errors.New("code 9999")), Verdict{Retry, Failing}},
		{"an HTTP 502", bg, &StatusError{Code: 502}, Verdict{Retry, Failing}},
		{"a timeout", bg, timeout, Verdict{Retry, Failing}},
		{"rate limit unreachable: never sent", bg, fmt.Errorf("enom: GetRegLock x.com: %w", &NotSentError{Err: errors.New("dial tcp: refused")}), Verdict{Retry, Neutral}},
	} {
		if got := Judge(c.ctx, c.err); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// A pacer that cannot take a slot (Redis down) makes the request a
// NotSentError, no evidence against the account; a pacer's "wait" stays a
// RetryAfterError.
func TestPace_failingPacerIsNotSent(t *testing.T) {
	down := WithPacer(context.Background(), func(context.Context) error { return errors.New("dial tcp: connection refused") })
	var ns *NotSentError
	if err := Pace(down); !errors.As(err, &ns) || Judge(down, err) != (Verdict{Retry, Neutral}) {
		t.Fatalf("Pace with a failing pacer = %v", err)
	}
	busy := WithPacer(context.Background(), func(context.Context) error { return RetryAfter(time.Second, errors.New("limited")) })
	var ra *RetryAfterError
	if err := Pace(busy); !errors.As(err, &ra) || errors.As(err, &ns) {
		t.Fatalf("Pace with a limited pacer = %v", err)
	}
}

// Only requests that go out are counted: a paced one once its slot is
// taken, an unpaced one at once; none that a pacer held back.
func TestPace_countsCallsSent(t *testing.T) {
	var n atomic.Int64
	ctx := WithCallCounter(context.Background(), &n)
	_ = Pace(ctx)
	_ = Pace(WithPacer(ctx, func(context.Context) error { return nil }))
	_ = Pace(WithPacer(ctx, func(context.Context) error { return errors.New("redis down") }))
	_ = Pace(WithPacer(ctx, func(context.Context) error { return RetryAfter(time.Second, errors.New("limited")) }))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_ = Pace(cancelled)
	if n.Load() != 2 {
		t.Fatalf("counted %d calls, want 2", n.Load())
	}
}
