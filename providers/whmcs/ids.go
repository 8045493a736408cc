package whmcs

import "sync"

// maxCachedIDs bounds the name -> domainid cache: about 20 MB at most,
// which covers most WHMCS installations whole. A bigger one costs one extra
// lookup per uncached read, nothing worse.
const maxCachedIDs = 1 << 18

// idCache remembers WHMCS's domainid of each name, so that a read or write
// costs one call instead of a lookup and the call. WHMCS ids never change
// for a domain record and are never reused; a record deleted and created
// again gets a new id, which the client notices by "Domain ID Not Found".
// Safe for concurrent use.
type idCache struct {
	mu  sync.RWMutex
	max int
	ids map[string]int
}

func newIDCache(max int) *idCache {
	return &idCache{max: max, ids: make(map[string]int)}
}

func (c *idCache) get(name string) (int, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	id, ok := c.ids[name]
	return id, ok
}

// put remembers name's id. When the cache is full it forgets an arbitrary
// entry (map iteration starts at a random one), which is O(1) and good
// enough for a cache whose misses cost one request.
func (c *idCache) put(name string, id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.ids[name]; !ok && len(c.ids) >= c.max {
		for k := range c.ids {
			delete(c.ids, k)
			break
		}
	}
	c.ids[name] = id
}

// forget drops name's entry if it still says id, so that a concurrent
// lookup's newer id survives.
func (c *idCache) forget(name string, id int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids[name] == id {
		delete(c.ids, name)
	}
}

func (c *idCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.ids)
}
