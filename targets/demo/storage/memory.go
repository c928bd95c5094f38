package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cespare/xxhash/v2"
)

// memoryShards spreads keys over independent locks so that concurrent writes of
// different keys rarely contend.
const memoryShards = 64

type memoryShard struct {
	mu      sync.RWMutex
	records map[string]Record
	_       [32]byte // one shard per 64-byte cache line: no false sharing between locks
}

// memoryEngine keeps records in sharded maps. Stored values are never modified in
// place (Corrupt replaces them), so readers copy them outside the lock.
type memoryEngine struct {
	shards [memoryShards]memoryShard
	closed atomic.Bool

	hintsMu sync.Mutex
	hints   map[string]map[string]Record // target -> key -> record
}

// OpenMemory returns an empty in-memory Engine.
func OpenMemory() Engine {
	e := &memoryEngine{hints: map[string]map[string]Record{}}
	for i := range e.shards {
		e.shards[i].records = map[string]Record{}
	}
	return e
}

func (e *memoryEngine) shard(key string) *memoryShard {
	return &e.shards[xxhash.Sum64String(key)%memoryShards]
}

func (e *memoryEngine) Get(key string) (Record, bool, error) {
	if e.closed.Load() {
		return Record{}, false, fmt.Errorf("get %q: %w", key, ErrClosed)
	}
	s := e.shard(key)
	s.mu.RLock()
	rec, ok := s.records[key]
	s.mu.RUnlock()
	if !ok {
		return Record{}, false, nil
	}
	rec = rec.clone()
	if !rec.Verify(key) {
		return rec, true, fmt.Errorf("get %q version %v: %w", key, rec.Version, ErrCorrupt)
	}
	return rec, true, nil
}

func (e *memoryEngine) Put(key string, rec Record) (bool, error) {
	if e.closed.Load() {
		return false, fmt.Errorf("put %q: %w", key, ErrClosed)
	}
	if err := checkWrite("put", key, rec); err != nil {
		return false, err
	}
	rec = rec.clone()
	s := e.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.records[key]; ok && !supersedes(key, cur, rec) {
		return false, nil
	}
	s.records[key] = rec
	return true, nil
}

func (e *memoryEngine) Corrupt(n int, rng *rand.Rand) ([]string, error) {
	if e.closed.Load() {
		return nil, fmt.Errorf("corrupt: %w", ErrClosed)
	}
	if rng == nil {
		return nil, errors.New("corrupt: nil rng")
	}
	if n <= 0 {
		return nil, nil
	}
	var candidates []string
	for i := range e.shards {
		s := &e.shards[i]
		s.mu.RLock()
		for k, rec := range s.records {
			if corruptible(k, rec) {
				candidates = append(candidates, k)
			}
		}
		s.mu.RUnlock()
	}
	var damaged []string
	for _, key := range pickKeys(candidates, n, rng) {
		s := e.shard(key)
		s.mu.Lock()
		// A write may have replaced the record since the scan; damage what is there now.
		if rec, ok := s.records[key]; ok && corruptible(key, rec) {
			rec.Value = flipBit(rec.Value, rng)
			s.records[key] = rec
			damaged = append(damaged, key)
		}
		s.mu.Unlock()
	}
	return damaged, nil
}

func (e *memoryEngine) Keys(fn func(key string) bool) error {
	if e.closed.Load() {
		return fmt.Errorf("list keys: %w", ErrClosed)
	}
	var keys []string
	for i := range e.shards {
		s := &e.shards[i]
		// Snapshot one shard at a time, then call fn without holding its lock, so
		// fn may use the engine.
		s.mu.RLock()
		keys = keys[:0]
		for k := range s.records {
			keys = append(keys, k)
		}
		s.mu.RUnlock()
		for _, k := range keys {
			if !fn(k) {
				return nil
			}
		}
	}
	return nil
}

func (e *memoryEngine) Len() (int, error) {
	if e.closed.Load() {
		return 0, fmt.Errorf("count keys: %w", ErrClosed)
	}
	n := 0
	for i := range e.shards {
		s := &e.shards[i]
		s.mu.RLock()
		n += len(s.records)
		s.mu.RUnlock()
	}
	return n, nil
}

// Range scans every shard (the maps keep no order): O(stored keys) plus a
// sort of the keys in range, which is what a demo's in-memory store affords.
func (e *memoryEngine) Range(from, to string, limit int) ([]KeyRecord, bool, error) {
	if e.closed.Load() {
		return nil, false, fmt.Errorf("range [%q, %q): %w", from, to, ErrClosed)
	}
	var out []KeyRecord
	for i := range e.shards {
		s := &e.shards[i]
		s.mu.RLock()
		for k, rec := range s.records {
			if inRange(k, from, to) {
				out = append(out, KeyRecord{Key: k, Record: rec})
			}
		}
		s.mu.RUnlock()
	}
	slices.SortFunc(out, func(a, b KeyRecord) int { return strings.Compare(a.Key, b.Key) })
	more := false
	if limit > 0 && len(out) > limit {
		out, more = out[:limit], true
	}
	for i := range out {
		out[i].Record = out[i].Record.clone() // stored values are never modified in place
	}
	return out, more, nil
}

func (e *memoryEngine) PutHint(target, key string, rec Record) error {
	if e.closed.Load() {
		return fmt.Errorf("put hint for %s: %w", target, ErrClosed)
	}
	if err := validateKey("hint target", target); err != nil {
		return fmt.Errorf("put hint: %w", err)
	}
	if err := checkWrite("put hint for "+target, key, rec); err != nil {
		return err
	}
	rec = rec.clone()
	e.hintsMu.Lock()
	defer e.hintsMu.Unlock()
	byKey := e.hints[target]
	if byKey == nil {
		byKey = map[string]Record{}
		e.hints[target] = byKey
	}
	if cur, ok := byKey[key]; ok && !rec.Version.Newer(cur.Version) {
		return nil
	}
	byKey[key] = rec
	return nil
}

func (e *memoryEngine) Hints(target string, max int) ([]Hint, error) {
	if e.closed.Load() {
		return nil, fmt.Errorf("list hints for %s: %w", target, ErrClosed)
	}
	e.hintsMu.Lock()
	byKey := e.hints[target]
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if max > 0 && len(keys) > max {
		keys = keys[:max]
	}
	hints := make([]Hint, len(keys))
	for i, k := range keys {
		hints[i] = Hint{Target: target, Key: k, Record: byKey[k]}
	}
	e.hintsMu.Unlock()
	for i := range hints {
		hints[i].Record = hints[i].Record.clone()
	}
	return hints, nil
}

func (e *memoryEngine) DeleteHint(target, key string, v Version) error {
	if e.closed.Load() {
		return fmt.Errorf("delete hint for %s: %w", target, ErrClosed)
	}
	e.hintsMu.Lock()
	defer e.hintsMu.Unlock()
	byKey := e.hints[target]
	if cur, ok := byKey[key]; ok && cur.Version == v {
		delete(byKey, key)
		if len(byKey) == 0 {
			delete(e.hints, target)
		}
	}
	return nil
}

func (e *memoryEngine) HintTargets() ([]string, error) {
	if e.closed.Load() {
		return nil, fmt.Errorf("list hint targets: %w", ErrClosed)
	}
	e.hintsMu.Lock()
	targets := make([]string, 0, len(e.hints))
	for t := range e.hints {
		targets = append(targets, t)
	}
	e.hintsMu.Unlock()
	slices.Sort(targets)
	return targets, nil
}

func (e *memoryEngine) Close() error {
	e.closed.Store(true)
	return nil
}
