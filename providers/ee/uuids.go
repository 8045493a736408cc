package ee

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/reglock/reglock/providers"
)

// The spacing of the listings that look names up: a listing may begin
// once the last one began listingSpacingPerPage for each of its pages
// beyond the first ago, and at most maxListingSpacing ago. An account of
// one page (200 domains) is listed again whenever a name is missing (one
// request); a million-domain account once a minute at most, not once per
// unknown name.
const (
	listingSpacingPerPage = time.Second
	maxListingSpacing     = time.Minute
)

// maxWaiting bounds the names remembered as told to retry.
const maxWaiting = 10000

// uuidCache maps domain names to the registry's UUIDs, from listings of
// the account. One listing runs at a time; callers that need one while it
// runs wait for it and use it if it began after they did.
//
// "Not found" is final only on evidence from after the caller began: a
// name missing from a listing begun earlier may have been registered since
// (the most common producer flow: register, then lock). Such a caller gets
// a fresh listing, or a *RetryAfterError until one is allowed.
type uuidCache struct {
	now  func() time.Time
	list func(context.Context) (map[string]string, int, error)
	// sem admits one listing at a time.
	sem chan struct{}

	mu     sync.Mutex
	byName map[string]string
	// started counts the listings begun; listed is the number of the one
	// byName comes from (0: none).
	started, listed int
	// lastStart is when the latest listing began; lastPages how many pages
	// the latest complete one took.
	lastStart time.Time
	lastPages int
	// waiting maps a name told to retry to the value of started when it was
	// first looked up: a listing begun after that answers for the retry.
	waiting map[string]int
}

func newUUIDCache(now func() time.Time, list func(context.Context) (map[string]string, int, error)) *uuidCache {
	return &uuidCache{now: now, list: list, sem: make(chan struct{}, 1)}
}

// mark is the point a caller looking name up starts from: listings with a
// higher number began after it. A caller told to retry keeps the point of
// its first attempt, so that its retries converge on one later listing.
func (u *uuidCache) mark(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	if w, ok := u.waiting[name]; ok && w < u.started {
		return w
	}
	return u.started
}

// cached returns name's UUID if a listing has given it.
func (u *uuidCache) cached(name string) (string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	id, ok := u.byName[name]
	return id, ok
}

// fresh returns name's UUID from a listing begun after since (a mark),
// making one if none has: if the spacing allows it, or force is set (a UUID
// has just answered 404). Missing from such a listing, name is ErrNotFound;
// when no listing is allowed yet, a *RetryAfterError says when one is.
func (u *uuidCache) fresh(ctx context.Context, name string, since int, force bool) (string, error) {
	select {
	case u.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-u.sem }()
	u.mu.Lock()
	// A listing that finished while this caller waited may hold the name:
	// a UUID found is good whatever its listing's age (a request with it
	// confirms it), unless a UUID has just answered 404 and this listing
	// began before that could be known.
	if id, ok := u.byName[name]; ok && (!force || u.listed > since) {
		delete(u.waiting, name)
		u.mu.Unlock()
		return id, nil
	}
	if u.listed <= since {
		age := u.now().Sub(u.lastStart)
		if wait := u.spacing() - age; wait > 0 && !force {
			if _, ok := u.waiting[name]; !ok && len(u.waiting) < maxWaiting {
				if u.waiting == nil {
					u.waiting = make(map[string]int)
				}
				u.waiting[name] = since
			}
			u.mu.Unlock()
			return "", providers.RetryAfter(wait, fmt.Errorf(
				"not in the account's domain listing begun %s ago, before this request (a domain registered since is missing from it); the next listing is allowed in %s",
				round(age), round(wait)))
		}
		u.started++
		n := u.started
		u.lastStart = u.now()
		u.mu.Unlock()
		m, pages, err := u.list(ctx)
		if err != nil {
			return "", err
		}
		u.mu.Lock()
		u.byName, u.listed, u.lastPages = m, n, pages
	}
	id, ok := u.byName[name]
	delete(u.waiting, name)
	u.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("not in the account's domain listing (one begun after this request): %w", providers.ErrNotFound)
	}
	return id, nil
}

// spacing is how long after the latest listing began the next may begin.
// Caller holds u.mu.
func (u *uuidCache) spacing() time.Duration {
	return min(maxListingSpacing, time.Duration(max(u.lastPages-1, 0))*listingSpacingPerPage)
}

// learn records a UUID seen in another listing.
func (u *uuidCache) learn(name, id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byName == nil {
		u.byName = make(map[string]string)
	}
	u.byName[name] = id
}

// drop forgets name's UUID if it is still id.
func (u *uuidCache) drop(name, id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.byName[name] == id {
		delete(u.byName, name)
	}
}

// round shortens a duration for a message.
func round(d time.Duration) time.Duration {
	if d >= 10*time.Second {
		return d.Round(time.Second)
	}
	return d.Round(10 * time.Millisecond)
}
