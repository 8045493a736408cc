package simulation

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func setupRedis(t *testing.T, seed uint64) (*Sim, *Redis) {
	t.Helper()
	s := setup(t, seed)
	r, err := s.NewRedis()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return s, r
}

// inActor runs fn as the only actor of s, to its end.
func inActor(t *testing.T, s *Sim, fn func(ctx context.Context)) {
	t.Helper()
	a := s.Go(t.Name(), fn)
	if err := s.Run(a.Done, s.Now().Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func TestRedis_faults(t *testing.T) {
	tests := []struct {
		name       string
		faults     RedisFaults
		wantStored bool
		wantLost   bool
	}{
		{"before", RedisFaults{Before: 1}, false, false},
		{"after", RedisFaults{After: 1}, true, true},
		{"none", RedisFaults{}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, r := setupRedis(t, 1)
			r.SetFaults(tt.faults)
			var setErr, pipeErr error
			inActor(t, s, func(ctx context.Context) {
				setErr = r.Client.Set(ctx, "single", "v", 0).Err()
				_, pipeErr = r.Client.TxPipelined(ctx, func(p redis.Pipeliner) error {
					p.Set(ctx, "tx1", "v", 0)
					p.Set(ctx, "tx2", "v", 0)
					return nil
				})
			})
			for key, err := range map[string]error{"single": setErr, "tx1": pipeErr} {
				var f *Fault
				switch {
				case tt.faults == RedisFaults{} && err != nil:
					t.Errorf("%s: %v", key, err)
				case tt.faults != RedisFaults{} && (!errors.As(err, &f) || f.Lost != tt.wantLost):
					t.Errorf("%s: %v, want a *Fault with Lost %v", key, err, tt.wantLost)
				}
				if _, isNet := err.(net.Error); err != nil && !isNet {
					t.Errorf("%s: %T is not a net.Error", key, err)
				}
				if got := r.MR.Exists(key); got != tt.wantStored {
					t.Errorf("%s stored: %v, want %v", key, got, tt.wantStored)
				}
			}
		})
	}
}

func TestRedis_outsideActorsNoFaults(t *testing.T) {
	_, r := setupRedis(t, 2)
	r.SetFaults(RedisFaults{Before: 1})
	if err := r.Client.Set(context.Background(), "k", "v", 0).Err(); err != nil {
		t.Fatalf("a command outside actors: %v", err)
	}
}

const incrScript = `return redis.call("INCRBY", KEYS[1], ARGV[1])`

func TestRedis_script(t *testing.T) {
	s, r := setupRedis(t, 3)
	script := redis.NewScript(incrScript)
	var first, second int64
	var err1, err2 error
	inActor(t, s, func(ctx context.Context) {
		// The first run goes EVALSHA, NOSCRIPT, EVAL; the second EVALSHA.
		first, err1 = script.Run(ctx, r.Client, []string{"n"}, 2).Int64()
		second, err2 = script.Run(ctx, r.Client, []string{"n"}, 3).Int64()
	})
	if err1 != nil || err2 != nil || first != 2 || second != 5 {
		t.Fatalf("script runs: %d, %v; %d, %v; want 2 and 5", first, err1, second, err2)
	}
}

// An After fault never hides NOSCRIPT: go-redis still loads the script, and
// the lost reply is the EVAL's, whose effect stands.
func TestRedis_script_afterFault(t *testing.T) {
	s, r := setupRedis(t, 4)
	r.SetFaults(RedisFaults{After: 1})
	var err error
	inActor(t, s, func(ctx context.Context) {
		err = redis.NewScript(incrScript).Run(ctx, r.Client, []string{"n"}, 7).Err()
	})
	var f *Fault
	if !errors.As(err, &f) || !f.Lost || f.Op != "eval" {
		t.Fatalf("script run: %v, want the EVAL's lost reply", err)
	}
	if got, _ := r.MR.Get("n"); got != "7" {
		t.Fatalf("n = %q, want 7: the script ran", got)
	}
}

func TestRedis_virtualClock(t *testing.T) {
	s, r := setupRedis(t, 5)
	var before, after int64
	var serverTime time.Time
	inActor(t, s, func(ctx context.Context) {
		r.Client.Set(ctx, "k", "v", 10*time.Second)
		_ = s.Clock().Sleep(ctx, 9*time.Second)
		before = r.Client.Exists(ctx, "k").Val()
		_ = s.Clock().Sleep(ctx, 2*time.Second)
		after = r.Client.Exists(ctx, "k").Val()
		serverTime = r.Client.Time(ctx).Val()
		if d := serverTime.Sub(s.Now()); d < -time.Millisecond || d > time.Millisecond {
			t.Errorf("TIME %s, virtual time %s", serverTime, s.Now())
		}
	})
	if before != 1 || after != 0 {
		t.Fatalf("a key with a 10s TTL exists after 9s: %d, after 11s: %d; want 1, 0", before, after)
	}
}

// A WATCH transaction runs through the hook on its own connection, and a
// killed actor gives that connection back.
func TestRedis_watch(t *testing.T) {
	s, r := setupRedis(t, 6)
	incr := func(ctx context.Context) error {
		return r.Client.Watch(ctx, func(tx *redis.Tx) error {
			n, err := tx.Get(ctx, "n").Int()
			if err != nil && !errors.Is(err, redis.Nil) {
				return err
			}
			_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Set(ctx, "n", n+1, 0)
				return nil
			})
			return err
		}, "n")
	}
	var actors []*Actor
	for i := range 100 {
		a := s.Go("incr", func(ctx context.Context) {
			for incr(ctx) != nil {
				s.Yield(ctx)
			}
		})
		actors = append(actors, a)
		if i%2 == 0 {
			s.Go("killer", func(ctx context.Context) {
				s.Yield(ctx)
				s.Yield(ctx)
				s.Kill(a)
			})
		}
	}
	if err := s.Run(allDone(actors...), start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.MR.Get("n"); got == "" {
		t.Fatal("no transaction went through")
	}
	if st := r.Client.PoolStats(); st.TotalConns-st.IdleConns != 0 {
		t.Fatalf("connections still out of the pool after every actor ended: %+v", st)
	}
}
