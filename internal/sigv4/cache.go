package sigv4

import (
	"crypto/sha256"
	"sync"
)

// keyCache holds derived signing keys. A key is valid for one secret, day,
// region and service, so a busy server derives each a handful of times a day
// instead of four HMACs per request.
//
// It is bounded by two generations: lookups hit cur, then old (and promote);
// when cur reaches half the capacity it becomes old and the previous old is
// dropped. That keeps recently used keys at a map's cost and never holds more
// than size entries.
type keyCache struct {
	half int

	mu struct {
		sync.Mutex
		cur, old map[cacheKey][]byte // guarded by mu
	}
}

// cacheKey identifies a signing key. The secret enters only as a hash, so a
// heap dump of the cache shows no secret.
type cacheKey struct {
	secret                [sha256.Size]byte
	date, region, service string
}

func newKeyCache(size int) *keyCache {
	c := &keyCache{half: max(size/2, 1)}
	c.mu.cur = make(map[cacheKey][]byte)
	return c
}

func (c *keyCache) get(secret, date, region, service string) []byte {
	k := cacheKey{secret: sha256.Sum256([]byte(secret)), date: date, region: region, service: service}
	c.mu.Lock()
	if v, ok := c.mu.cur[k]; ok {
		c.mu.Unlock()
		return v
	}
	if v, ok := c.mu.old[k]; ok {
		c.putLocked(k, v)
		c.mu.Unlock()
		return v
	}
	c.mu.Unlock()

	// Derive outside the lock; two goroutines racing on a new key both derive
	// the same bytes, which is harmless.
	v := deriveKey(secret, date, region, service)
	c.mu.Lock()
	c.putLocked(k, v)
	c.mu.Unlock()
	return v
}

func (c *keyCache) putLocked(k cacheKey, v []byte) {
	if len(c.mu.cur) >= c.half {
		c.mu.old = c.mu.cur
		c.mu.cur = make(map[cacheKey][]byte, c.half)
	}
	c.mu.cur[k] = v
}

func (c *keyCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.mu.cur) + len(c.mu.old)
}
