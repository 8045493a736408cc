package rdap

import (
	"context"
	"time"

	"github.com/reglock/reglock/config"
	"github.com/reglock/reglock/ratelimit"
)

// RateLimiter is a Pacer spending the budget that package ratelimit shares
// through Redis, so that every worker process together keeps to Limit per
// RDAP server.
type RateLimiter struct {
	Limiter *ratelimit.Limiter
	Limit   ratelimit.Limit
	// MaxWait is the longest a request waits for its slot; a later slot is
	// a *providers.RetryAfterError (ratelimit.ErrLimited). 0 means 30s.
	MaxWait time.Duration
}

// NewRateLimiter paces at the rdap section's rate and burst.
func NewRateLimiter(l *ratelimit.Limiter, c config.RDAP) *RateLimiter {
	return &RateLimiter{Limiter: l, Limit: ratelimit.Limit{Rate: c.Rate, Burst: c.Burst}}
}

// Wait blocks until key may make one request.
func (r *RateLimiter) Wait(ctx context.Context, key string) error {
	maxWait := r.MaxWait
	if maxWait <= 0 {
		maxWait = 30 * time.Second
	}
	return r.Limiter.Wait(ctx, key, r.Limit, maxWait)
}
