// Package cache is the demo cluster gateway's read-through cache in front of the
// store.
//
// Policies: none (off: every read goes to the store), lru, 2q and arc (the
// hashicorp/golang-lru implementations; 2Q and ARC resist a one-off scan that
// would flush an LRU) and lfu (an O(1) least-frequently-used store written
// here, lfu.go: it keeps the keys used most often, ties broken by recency; it
// resists scans too but never forgets a key's old popularity). On top of the policy:
//
//   - TTL with jitter: an entry lives TTL·(1 ± TTLJitter·u), so keys loaded
//     together do not expire together;
//   - negative caching: a not-found answer is cached for NegativeTTL;
//   - singleflight: N concurrent misses of one key make one load (switch it off
//     with DisableSingleflight to watch a stampede);
//   - probabilistic early refresh (XFetch): a hit near expiry may reload the key in
//     the background while the cached value is served, so a hot key is refreshed
//     by one caller instead of missed by all of them;
//   - StaleIfError: when a reload fails, an entry expired less than StaleIfError
//     ago is served (outcome stale).
//   - a byte bound: besides the policy's entry count (Size), the entries hold at
//     most MaxBytes of keys, values and versions; a new entry that does not fit
//     evicts others, the policy's coldest first, and one larger than MaxBytes
//     is not cached.
//
// Cache penetration (reads of keys that do not exist) is met by
// Config.Penetration: negative caches not-found answers for NegativeTTL;
// bloom is a KeyFilter, a Bloom filter of the keys that exist that the
// gateway asks before the cache, trusted to answer absent only when it holds
// every key (see KeyFilter); none lets every such read reach the store.
//
// Writes are the caller's: Set after a write-through or write-behind, Invalidate
// after a write that went to the store. A write wins over a load of the same key
// that was in flight when it happened, so a slow load cannot put back the value
// the write replaced.
//
// Use:
//
//	c, err := cache.New(cache.Config{Policy: cache.PolicyLRU, Size: 10000,
//		TTL: 10 * time.Second, TTLJitter: 0.1, NegativeTTL: time.Second},
//		rand.New(rand.NewPCG(seed, 0)), time.Now, m)
//	if err != nil {
//		return fmt.Errorf("build gateway cache: %w", err)
//	}
//	e, outcome, err := c.Get(ctx, key, loadFromStore)
//
// The hit path takes the policy's lock, reads the clock and allocates nothing.
// The clock is injectable, so tests drive expiry without sleeping.
package cache
