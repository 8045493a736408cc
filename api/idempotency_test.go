package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/reglock/reglock/api"
	"github.com/reglock/reglock/redistest"
)

// failFinalWrite is a go-redis hook that, while armed, fails the write that
// settles an Idempotency-Key after its request ran: the SET of its "done|"
// answer and the DEL that releases it after a refusal. It counts the
// attempts it failed.
type failFinalWrite struct {
	armed  atomic.Bool
	failed atomic.Int32
}

func (h *failFinalWrite) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *failFinalWrite) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *failFinalWrite) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.armed.Load() && isFinalWrite(cmd.Args()) {
			h.failed.Add(1)
			err := errors.New("injected: Redis went away")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

func isFinalWrite(args []any) bool {
	if len(args) < 2 {
		return false
	}
	name, _ := args[0].(string)
	key, _ := args[1].(string)
	switch strings.ToLower(name) {
	case "set":
		if len(args) < 3 {
			return false
		}
		v, _ := args[2].(string)
		return strings.HasPrefix(v, "done|")
	case "del":
		return strings.Contains(key, ":idem:")
	}
	return false
}

// When the write that settles an Idempotency-Key fails (a Redis blip, or
// the process dying right after the handler), the key's "pending" marker
// must not block retries for the 24 h window: it expires within
// api.IdempotencyPendingTTL, a retry before that gets 409 with a Retry-After
// header, and a retry after it is processed.
func TestIdempotency_finalWriteFails_keyReleasedSoon(t *testing.T) {
	for _, tc := range []struct {
		name         string
		path, body   string
		status       int // the first request's answer, and the retry's after expiry
		failedWrites int32
	}{
		// Accepted: the SET of the "done" answer fails, also when retried.
		{"answer not stored", "/v1/domains/blip.com/lock", `{"reason":"paid"}`, 202, 2},
		// Refused: the DEL that frees the key fails, also when retried.
		{"key not released", "/v1/domains/bad_name.com/lock", "", 400, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := redistest.New(t)
			hook := &failFinalWrite{}
			env.Client.AddHook(hook)
			b := setupEnv(t, env)
			ctx := context.Background()

			call := func() (int, map[string]any, http.Header) {
				t.Helper()
				req, _ := http.NewRequest("POST", b.url+tc.path, strings.NewReader(tc.body))
				req.Header.Set("Authorization", "Bearer "+writeToken)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Idempotency-Key", "order-blip")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var out map[string]any
				_ = json.NewDecoder(resp.Body).Decode(&out)
				return resp.StatusCode, out, resp.Header
			}
			idemKey := func() string {
				t.Helper()
				keys, err := env.Client.Keys(ctx, env.StorePrefix()+"idem:*").Result()
				if err != nil || len(keys) != 1 {
					t.Fatalf("Idempotency-Key records: %v %v", keys, err)
				}
				return keys[0]
			}

			hook.armed.Store(true)
			if code, out, _ := call(); code != tc.status {
				t.Fatalf("first request: %d %v", code, out)
			}
			hook.armed.Store(false)
			if n := hook.failed.Load(); n != tc.failedWrites {
				t.Errorf("the final write was attempted and failed %d times, want %d (once, then once more)", n, tc.failedWrites)
			}

			k := idemKey()
			v, _ := env.Client.Get(ctx, k).Result()
			if !strings.HasPrefix(v, "pending|") {
				t.Fatalf("the key after a failed final write: %q, want the pending marker", v)
			}
			ttl, err := env.Client.PTTL(ctx, k).Result()
			if err != nil || ttl <= 0 || ttl > api.IdempotencyPendingTTL {
				t.Fatalf("the pending marker's TTL is %v (err %v), want at most %v: a lost final write must not hold the key for %v",
					ttl, err, api.IdempotencyPendingTTL, api.IdempotencyWindow)
			}

			// A retry while the marker lives: 409, told when to come back.
			code, out, h := call()
			if code != http.StatusConflict || errCode(out) != "idempotency_in_progress" {
				t.Fatalf("retry while pending: %d %v", code, out)
			}
			ra, err := strconv.Atoi(h.Get("Retry-After"))
			if err != nil || ra < 1 || time.Duration(ra)*time.Second > api.IdempotencyPendingTTL {
				t.Fatalf("retry while pending: Retry-After %q, want 1 to %v seconds", h.Get("Retry-After"), api.IdempotencyPendingTTL.Seconds())
			}
			if !strings.Contains(errMessage(out), "released") {
				t.Fatalf("retry while pending: the message does not say the key is released: %q", errMessage(out))
			}

			// Time passes (without sleeping for minutes): the marker
			// expires, and the retry is processed as a new request.
			if err := env.Client.PExpire(ctx, k, 20*time.Millisecond).Err(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for env.Client.Exists(ctx, k).Val() != 0 {
				if time.Now().After(deadline) {
					t.Fatal("the pending marker did not expire")
				}
				time.Sleep(10 * time.Millisecond)
			}
			code, out, h = call()
			if code != tc.status || h.Get("Idempotent-Replayed") != "" {
				t.Fatalf("retry after the marker expired: %d %v %v", code, out, h)
			}
			if tc.status == 202 {
				// The retry's answer is stored now, for the full window, and
				// replayed from then on.
				if ttl := env.Client.PTTL(ctx, idemKey()).Val(); ttl <= api.IdempotencyPendingTTL {
					t.Fatalf("the stored answer's TTL is %v, want the %v window", ttl, api.IdempotencyWindow)
				}
				if code, out, h := call(); code != 202 || h.Get("Idempotent-Replayed") != "true" {
					t.Fatalf("replay of the stored answer: %d %v %v", code, out, h)
				}
			}
		})
	}
}
