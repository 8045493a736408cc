package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// IdempotencyWindow is how long an Idempotency-Key's answer is kept.
const IdempotencyWindow = 24 * time.Hour

// idempotencyPendingTTL is how long a key stays "pending" while its first
// request runs. It only has to outlive one request's handling: a handler
// makes a few Redis calls, each bounded by the client's timeouts, and the
// HTTP server gives up on writing the answer after 60 s (WriteTimeout in
// cmd/reglock/serve.go), so 2 minutes leaves room to spare. It is short on
// purpose: if the final write (the "done" answer, or the DEL of a refused
// request) is lost to a Redis blip or the process dies before it, the key is
// released after this long instead of answering 409 for the whole
// IdempotencyWindow. Only the "done" answer is kept for IdempotencyWindow.
const idempotencyPendingTTL = 2 * time.Minute

// idempotencyFinalWriteTimeout bounds each attempt at the final write.
const idempotencyFinalWriteTimeout = 2 * time.Second

// idempotent makes a write replayable: a request with an Idempotency-Key
// header that was answered before gets that answer again, and no second
// intent. The key belongs to the token that sent it; reusing it for a
// different request is refused. A request still running under the key
// gets 409 with Retry-After; one that was refused (4xx) or failed (5xx)
// leaves nothing behind, so the key is free for a corrected or retried
// request. The "pending" marker expires after idempotencyPendingTTL, so a
// lost final write holds the key for minutes, not for a day.
func (s *Server) idempotent(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("Idempotency-Key")
		if key == "" {
			next(w, r)
			return
		}
		if len(key) > 255 || strings.IndexFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) >= 0 {
			writeError(w, http.StatusBadRequest, "invalid_header", "Idempotency-Key: 1 to 255 visible ASCII characters")
			return
		}
		// The body is part of the request's identity; read it once, bounded.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody+1))
		if err != nil || len(body) > MaxBody {
			writeError(w, http.StatusBadRequest, "body_too_large", "request body larger than 64 KiB")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		fp := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "\n" + string(body)))
		fingerprint := hex.EncodeToString(fp[:8])
		k := s.idempotencyKey(r, key)
		rdb := s.Store.Redis()

		ok, err := rdb.SetNX(r.Context(), k, "pending|"+fingerprint, idempotencyPendingTTL).Result()
		if err != nil {
			s.writeErr(w, err)
			return
		}
		if !ok {
			s.replay(w, r, k, fingerprint)
			return
		}
		rec := &capture{ResponseWriter: w, status: http.StatusOK}
		next(rec, r)
		if rec.status >= 300 {
			// Only accepted requests are remembered: a refused one recorded
			// nothing and will be refused again, and a 5xx may be retried.
			if err := finalWrite(r.Context(), func(ctx context.Context) error { return rdb.Del(ctx, k).Err() }); err != nil {
				s.Log.Error().Err(err).Dur("released_in", idempotencyPendingTTL).Msg("could not release an Idempotency-Key")
			}
			return
		}
		done := "done|" + fingerprint + "|" + strconv.Itoa(rec.status) + "|" + rec.body.String()
		if err := finalWrite(r.Context(), func(ctx context.Context) error { return rdb.Set(ctx, k, done, IdempotencyWindow).Err() }); err != nil {
			s.Log.Error().Err(err).Dur("released_in", idempotencyPendingTTL).Msg("could not store an idempotent answer")
		}
	}
}

// finalWrite runs the write that settles a key (its answer, or its
// release), once more on failure, each attempt with a fresh short context
// that outlives the request's own. Should both fail, the "pending" marker
// expires by itself within idempotencyPendingTTL.
func finalWrite(parent context.Context, write func(context.Context) error) error {
	var err error
	for range 2 {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), idempotencyFinalWriteTimeout)
		err = write(ctx)
		cancel()
		if err == nil {
			return nil
		}
	}
	return err
}

// replay answers a request whose key was seen before.
func (s *Server) replay(w http.ResponseWriter, r *http.Request, k, fingerprint string) {
	v, err := s.Store.Redis().Get(r.Context(), k).Result()
	if errors.Is(err, redis.Nil) {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusConflict, "idempotency_in_progress", "a request with this Idempotency-Key has just finished; send it again")
		return
	}
	if err != nil {
		s.writeErr(w, err)
		return
	}
	f := strings.SplitN(v, "|", 4)
	switch {
	case len(f) >= 2 && f[1] != fingerprint:
		writeError(w, http.StatusUnprocessableEntity, "idempotency_key_reused", "this Idempotency-Key was used for a different request")
	case f[0] == "pending":
		w.Header().Set("Retry-After", strconv.Itoa(s.pendingFor(r.Context(), k)))
		writeError(w, http.StatusConflict, "idempotency_in_progress",
			"a request with this Idempotency-Key is still being processed; retry after Retry-After seconds (the key is released if that request never finishes)")
	case len(f) == 4:
		status, _ := strconv.Atoi(f[2])
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, f[3])
	default:
		writeError(w, http.StatusInternalServerError, "internal", "unreadable idempotency record")
	}
}

// pendingFor is how many seconds a pending key has left (its PTTL rounded
// up), at least 1: when a retry can expect an answer, or a free key.
func (s *Server) pendingFor(ctx context.Context, k string) int {
	ttl, err := s.Store.Redis().PTTL(ctx, k).Result()
	if err != nil || ttl <= 0 {
		// Gone already (-2), no TTL (-1, not written by this code) or
		// unreadable: the client may as well try again soon.
		return 1
	}
	return max(1, int((ttl+time.Second-1)/time.Second))
}

// idempotencyKey is the Redis key of a client's Idempotency-Key: per token,
// hashed so that any key fits.
func (s *Server) idempotencyKey(r *http.Request, key string) string {
	h := sha256.Sum256([]byte(key))
	return s.Store.Prefix() + "idem:" + tokenName(r) + ":" + hex.EncodeToString(h[:])
}

// capture keeps a copy of what a handler answers.
type capture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *capture) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *capture) Write(b []byte) (int, error) {
	c.body.Write(b)
	return c.ResponseWriter.Write(b)
}
