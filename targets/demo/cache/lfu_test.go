package cache

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/internal/demotest"
)

// The victim is the entry of the lowest use count; among equal counts, the
// least recently used.
func TestLFUEvictsLeastFrequentlyUsedThenLeastRecent(t *testing.T) {
	s := newLFU(3)
	s.Add("a", &item{})
	s.Add("b", &item{})
	s.Add("c", &item{})
	s.Get("a")
	s.Get("a") // a: 3 uses
	s.Get("c") // c: 2 uses, b: 1
	if got, want := s.Keys(), []string{"b", "c", "a"}; !slices.Equal(got, want) {
		t.Fatalf("eviction order %v, want %v", got, want)
	}
	s.Add("d", &item{}) // evicts b, the only key used once
	if _, ok := s.Peek("b"); ok {
		t.Fatal("b (1 use) survived the eviction; a (3) and c (2) were used more")
	}
	// d (1) is now the coldest; a tie at 2 between c and d goes to recency.
	s.Get("d") // d: 2 uses, more recent than c
	if got, want := s.Keys(), []string{"c", "d", "a"}; !slices.Equal(got, want) {
		t.Fatalf("eviction order %v, want %v (c and d tie at 2 uses, c less recent)", got, want)
	}
	s.Add("e", &item{})
	if _, ok := s.Peek("c"); ok {
		t.Fatal("c survived: on a tie of counts the least recently used goes first")
	}
	for _, k := range []string{"a", "d", "e"} {
		if _, ok := s.Peek(k); !ok {
			t.Fatalf("%s was evicted", k)
		}
	}
	if s.Len() != 3 {
		t.Fatalf("Len() = %d, want 3", s.Len())
	}
}

// Add of a key held replaces its item and counts a use; Peek counts none;
// Remove forgets the key and its count.
func TestLFUAddPeekRemove(t *testing.T) {
	s := newLFU(2)
	first, second := &item{}, &item{}
	s.Add("a", first)
	s.Add("b", &item{})
	s.Add("a", second) // a: 2 uses
	if it, _ := s.Peek("a"); it != second {
		t.Fatal("Add of a held key did not replace its item")
	}
	for range 5 {
		s.Peek("b") // no use counted
	}
	s.Add("c", &item{})
	if _, ok := s.Peek("b"); ok {
		t.Fatal("b survived: Peek must not count as a use")
	}
	s.Remove("a")
	s.Add("a", &item{}) // back at 1 use, the most recent of the 1s
	if got, want := s.Keys(), []string{"c", "a"}; !slices.Equal(got, want) {
		t.Fatalf("after Remove and Add of a: order %v, want %v", got, want)
	}
	s.Remove("missing")
	if s.Len() != 2 {
		t.Fatalf("Len() = %d, want 2", s.Len())
	}
}

// naiveLFU is the reference: it scans every entry for the victim.
type naiveLFU struct {
	size  int
	tick  int
	count map[string]int
	last  map[string]int
}

func (n *naiveLFU) use(k string) { n.count[k]++; n.tick++; n.last[k] = n.tick }

func (n *naiveLFU) add(k string) {
	if _, ok := n.count[k]; !ok && len(n.count) >= n.size {
		victim := ""
		for key := range n.count {
			if victim == "" || n.count[key] < n.count[victim] ||
				n.count[key] == n.count[victim] && n.last[key] < n.last[victim] {
				victim = key
			}
		}
		delete(n.count, victim)
		delete(n.last, victim)
	}
	n.use(k)
}

func (n *naiveLFU) order() []string {
	keys := make([]string, 0, len(n.count))
	for k := range n.count {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if n.count[a] != n.count[b] {
			return n.count[a] - n.count[b]
		}
		return n.last[a] - n.last[b]
	})
	return keys
}

// The O(1) store agrees with the naive reference on every seeded random
// sequence of gets, adds and removes.
func TestLFUAgreesWithNaiveReference(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 7))
		s := newLFU(8)
		ref := &naiveLFU{size: 8, count: map[string]int{}, last: map[string]int{}}
		for step := range 2000 {
			k := fmt.Sprintf("k%d", rng.IntN(20))
			switch op := rng.IntN(10); {
			case op < 5:
				_, ok := s.Get(k)
				if _, want := ref.count[k]; ok != want {
					t.Fatalf("seed %d step %d: Get(%s) found %v, reference %v", seed, step, k, ok, want)
				}
				if ok {
					ref.use(k)
				}
			case op < 9:
				s.Add(k, &item{})
				ref.add(k)
			default:
				s.Remove(k)
				delete(ref.count, k)
				delete(ref.last, k)
			}
			if got, want := s.Keys(), ref.order(); !slices.Equal(got, want) {
				t.Fatalf("seed %d step %d: order %v, reference %v", seed, step, got, want)
			}
		}
	}
}

// Through the cache, a hot key used often survives a stream of keys used once,
// and an expired entry is reloaded on its next read (TTL works as with the
// other policies; the reload keeps the key's count).
func TestLFUCacheKeepsFrequentKeysAndHonoursTTL(t *testing.T) {
	clock := demotest.NewClock()
	s := newCountingStore()
	c := newTestCache(t, Config{Policy: PolicyLFU, Size: 4, TTL: 10 * time.Second}, clock)
	s.set("hot", "v1")
	for range 5 {
		mustGet(t, c, "hot", s.Load)
	}
	for i := range 50 {
		k := fmt.Sprintf("once%d", i)
		s.set(k, "x")
		mustGet(t, c, k, s.Load)
	}
	if _, o := mustGet(t, c, "hot", s.Load); o != OutcomeHit {
		t.Fatalf("hot key after 50 one-off keys: outcome %s, want hit", o)
	}
	clock.Advance(10 * time.Second)
	s.set("hot", "v2")
	if e, o := mustGet(t, c, "hot", s.Load); o != OutcomeMiss || string(e.Value) != "v2" {
		t.Fatalf("hot key at expiry: (%q, %s), want (v2, miss)", e.Value, o)
	}
	if n := s.loadsOf("hot"); n != 2 {
		t.Fatalf("hot key loaded %d times, want 2 (once, then at expiry)", n)
	}
	for i := range 10 {
		k := fmt.Sprintf("more%d", i)
		s.set(k, "x")
		mustGet(t, c, k, s.Load)
	}
	if _, o := mustGet(t, c, "hot", s.Load); o != OutcomeHit {
		t.Fatalf("hot key after reload and 10 more one-off keys: outcome %s, want hit (the reload keeps its count)", o)
	}
}

// BenchmarkLFUStore measures the policy alone beside the LRU (BenchmarkGetHit
// measures both through the cache):
//
//	go test -run '^$' -bench 'LFUStore|GetHit' -benchmem ./targets/demo/cache/
func BenchmarkLFUStore(b *testing.B) {
	keys := make([]string, 4096)
	for i := range keys {
		keys[i] = fmt.Sprintf("k%d", i)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	zipf := rand.NewZipf(rng, 1.1, 1, uint64(len(keys)-1))
	draws := make([]int, 1<<16)
	for i := range draws {
		draws[i] = int(zipf.Uint64())
	}
	b.Run("lfu", func(b *testing.B) {
		s := newLFU(1024)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := keys[draws[i%len(draws)]]
			if _, ok := s.Get(k); !ok {
				s.Add(k, &item{})
			}
		}
	})
	b.Run("lru", func(b *testing.B) {
		c := newTestCache(b, Config{Policy: PolicyLRU, Size: 1024}, nil)
		s := c.store
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			k := keys[draws[i%len(draws)]]
			if _, ok := s.Get(k); !ok {
				s.Add(k, &item{})
			}
		}
	})
}
