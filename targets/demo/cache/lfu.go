package cache

import "sync"

// lfuStore is the lfu policy: an O(1) least-frequently-used store after Shah,
// Mitra and Matani, "An O(1) algorithm for implementing the LFU cache eviction
// scheme" (2010). No kept Go module offers LFU (hashicorp/golang-lru has LRU,
// 2Q and ARC), so it is written here.
//
// The entries are grouped by use count: a doubly linked list of frequency
// buckets in increasing count, each holding a doubly linked list of its
// entries, most recently used at the front. A use moves an entry from its
// bucket to the next one (created when it is missing, its old bucket dropped
// when empty); the victim is the back (least recent) entry of the first
// (lowest count) bucket. Every operation is O(1): a map finds the entry, the
// entry points at its bucket.
//
// Ties between entries of the same count go by recency: the least recently
// used of them is evicted first. A new entry starts at count 1, so it is the
// first candidate for eviction: LFU protects a stable hot set from a scan, but
// a key that was hot once and went cold keeps its count (no ageing) until it
// is removed; TTL expiry does not remove it, a reload replaces it (Add keeps the
// count of a key already held).
//
// lfuStore is not safe for concurrent use; the cache uses it through lockedLFU,
// as hashicorp/golang-lru's caches lock themselves.
type lfuStore struct {
	size    int
	entries map[string]*lfuEntry
	// head is a sentinel of the circular bucket list: head.next is the bucket
	// of the lowest count.
	head lfuBucket
}

// lfuBucket is one use count's entries.
type lfuBucket struct {
	count      uint64
	prev, next *lfuBucket
	// items is a sentinel of the circular entry list: items.next is the most
	// recently used entry of the bucket, items.prev the least.
	items lfuEntry
}

// lfuEntry is one key in its bucket.
type lfuEntry struct {
	key        string
	it         *item
	bucket     *lfuBucket
	prev, next *lfuEntry
}

// newLFU returns an empty LFU store of at most size entries (size ≥ 1).
func newLFU(size int) *lfuStore {
	s := &lfuStore{size: size, entries: make(map[string]*lfuEntry, min(size, 1<<16))}
	s.head.prev, s.head.next = &s.head, &s.head
	return s
}

// Get returns key's item and counts a use of it.
func (s *lfuStore) Get(key string) (*item, bool) {
	e, ok := s.entries[key]
	if !ok {
		return nil, false
	}
	s.touch(e)
	return e.it, true
}

// Peek returns key's item without counting a use.
func (s *lfuStore) Peek(key string) (*item, bool) {
	e, ok := s.entries[key]
	if !ok {
		return nil, false
	}
	return e.it, true
}

// Add stores it for key. A key already held gets the new item and a use; a new
// key starts at count 1, after evicting the least frequently used entry (the
// least recent among equals) when the store is full.
func (s *lfuStore) Add(key string, it *item) {
	if e, ok := s.entries[key]; ok {
		e.it = it
		s.touch(e)
		return
	}
	if len(s.entries) >= s.size {
		s.evict()
	}
	b := s.head.next
	if b == &s.head || b.count != 1 {
		b = s.insertBucketAfter(&s.head, 1)
	}
	e := &lfuEntry{key: key, it: it}
	s.entries[key] = e
	b.pushFront(e)
}

// Remove drops key.
func (s *lfuStore) Remove(key string) {
	e, ok := s.entries[key]
	if !ok {
		return
	}
	s.unlink(e)
	delete(s.entries, key)
}

// Len is the number of entries held.
func (s *lfuStore) Len() int { return len(s.entries) }

// Keys returns the keys in eviction order: lowest count first, least recent
// first within a count.
func (s *lfuStore) Keys() []string {
	out := make([]string, 0, len(s.entries))
	for b := s.head.next; b != &s.head; b = b.next {
		for e := b.items.prev; e != &b.items; e = e.prev {
			out = append(out, e.key)
		}
	}
	return out
}

// touch moves e to the bucket of the next count, at its front.
func (s *lfuStore) touch(e *lfuEntry) {
	b := e.bucket
	next := b.next
	if b.items.next == e && e.next == &b.items && (next == &s.head || next.count != b.count+1) {
		b.count++ // e is alone in its bucket: the bucket moves up with it, no allocation
		return
	}
	if next == &s.head || next.count != b.count+1 {
		next = s.insertBucketAfter(b, b.count+1)
	}
	s.unlink(e)
	next.pushFront(e)
}

// evict drops the back entry of the lowest-count bucket.
func (s *lfuStore) evict() {
	b := s.head.next
	if b == &s.head {
		return
	}
	e := b.items.prev
	s.unlink(e)
	delete(s.entries, e.key)
}

// unlink takes e out of its bucket and drops the bucket when it empties.
func (s *lfuStore) unlink(e *lfuEntry) {
	b := e.bucket
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next, e.bucket = nil, nil, nil
	if b.items.next == &b.items {
		b.prev.next, b.next.prev = b.next, b.prev
	}
}

func (s *lfuStore) insertBucketAfter(at *lfuBucket, count uint64) *lfuBucket {
	b := &lfuBucket{count: count, prev: at, next: at.next}
	b.items.prev, b.items.next = &b.items, &b.items
	at.next.prev = b
	at.next = b
	return b
}

func (b *lfuBucket) pushFront(e *lfuEntry) {
	e.bucket = b
	e.prev, e.next = &b.items, b.items.next
	b.items.next.prev = e
	b.items.next = e
}

// lockedLFU makes an lfuStore safe for concurrent use.
type lockedLFU struct {
	mu sync.Mutex
	s  *lfuStore
}

func (l *lockedLFU) Get(key string) (*item, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Get(key)
}

func (l *lockedLFU) Peek(key string) (*item, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Peek(key)
}

func (l *lockedLFU) Add(key string, it *item) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Add(key, it)
}

func (l *lockedLFU) Remove(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.Remove(key)
}

func (l *lockedLFU) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Len()
}

func (l *lockedLFU) Keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s.Keys()
}
