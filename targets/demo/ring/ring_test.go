package ring

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func nodeNames(n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = "n" + strconv.Itoa(i+1)
	}
	return names
}

func mustNew(t testing.TB, nodes []string, vnodes int) *Ring {
	t.Helper()
	r, err := New(nodes, vnodes)
	if err != nil {
		t.Fatalf("New(%v, %d): %v", nodes, vnodes, err)
	}
	return r
}

const spreadKeys = 100_000

func TestLoadSpread(t *testing.T) {
	r := mustNew(t, nodeNames(5), 64)
	counts := map[string]int{}
	for i := range spreadKeys {
		counts[r.Owner("k"+strconv.Itoa(i))]++
	}
	mean := float64(spreadKeys) / 5
	maxCount := 0
	own := r.Ownership()
	for _, n := range r.Nodes() {
		c := counts[n]
		maxCount = max(maxCount, c)
		t.Logf("%s: %6d keys (%.2f%% of keys, owns %.2f%% of the hash space)", n, c, 100*float64(c)/spreadKeys, 100*own[n])
		// 100k keys sample each share to within ~0.3 percentage points (3 sigma).
		if d := math.Abs(float64(c)/spreadKeys - own[n]); d > 0.01 {
			t.Errorf("%s: key share %.4f differs from ownership %.4f by more than 0.01", n, float64(c)/spreadKeys, own[n])
		}
	}
	ratio := float64(maxCount) / mean
	t.Logf("max/mean = %d/%.0f = %.3f", maxCount, mean, ratio)
	if ratio > 1.25 {
		t.Errorf("max/mean = %.3f, want <= 1.25", ratio)
	}
}

func TestPreferenceListsAreDistinct(t *testing.T) {
	tests := []struct {
		nodes, vnodes, n, wantLen int
	}{
		{nodes: 1, vnodes: 1, n: 3, wantLen: 1},
		{nodes: 3, vnodes: 1, n: 3, wantLen: 3},
		{nodes: 5, vnodes: 64, n: 3, wantLen: 3},
		{nodes: 5, vnodes: 64, n: 5, wantLen: 5},
		{nodes: 5, vnodes: 64, n: 9, wantLen: 5},
		{nodes: 5, vnodes: 64, n: 0, wantLen: 0},
		{nodes: 5, vnodes: 64, n: -1, wantLen: 0},
		{nodes: 70, vnodes: 16, n: 5, wantLen: 5}, // beyond the 64-node bitmask path
		{nodes: 70, vnodes: 2, n: 70, wantLen: 70},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("nodes=%d/vnodes=%d/n=%d", tt.nodes, tt.vnodes, tt.n), func(t *testing.T) {
			r := mustNew(t, nodeNames(tt.nodes), tt.vnodes)
			for i := range 2000 {
				key := "key-" + strconv.Itoa(i)
				pref := r.Preference(key, tt.n)
				if len(pref) != tt.wantLen {
					t.Fatalf("Preference(%q, %d) has %d nodes, want %d: %v", key, tt.n, len(pref), tt.wantLen, pref)
				}
				seen := map[string]bool{}
				for _, node := range pref {
					if seen[node] {
						t.Fatalf("Preference(%q, %d) repeats %s: %v", key, tt.n, node, pref)
					}
					seen[node] = true
				}
				if len(pref) > 0 && pref[0] != r.Owner(key) {
					t.Fatalf("Preference(%q)[0] = %s, Owner = %s", key, pref[0], r.Owner(key))
				}
				// A longer list extends a shorter one.
				if longer := r.Preference(key, tt.n+1); len(pref) > 0 && !slices.Equal(longer[:len(pref)], pref) {
					t.Fatalf("Preference(%q, %d) = %v is not a prefix of Preference(%q, %d) = %v", key, tt.n, pref, key, tt.n+1, longer)
				}
			}
		})
	}
}

func TestPreferenceMatchesNaiveWalk(t *testing.T) {
	r := mustNew(t, nodeNames(7), 8)
	tokens := r.Describe().Tokens
	for i := range 3000 {
		key := "w" + strconv.Itoa(i)
		h := KeyHash(key)
		start := 0
		for start < len(tokens) && tokens[start].Position < h {
			start++
		}
		var want []string
		for j := 0; len(want) < 3; j++ {
			node := tokens[(start+j)%len(tokens)].Node
			if !slices.Contains(want, node) {
				want = append(want, node)
			}
		}
		if got := r.Preference(key, 3); !slices.Equal(got, want) {
			t.Fatalf("Preference(%q, 3) = %v, naive walk gives %v", key, got, want)
		}
	}
}

func TestAddingANodeMovesOnlyItsShare(t *testing.T) {
	before := mustNew(t, nodeNames(5), 64)
	after := mustNew(t, nodeNames(6), 64)
	const replicas = 3
	moved := 0
	for i := range spreadKeys {
		key := "k" + strconv.Itoa(i)
		was, now := before.Owner(key), after.Owner(key)
		if was != now {
			moved++
			if now != "n6" {
				t.Fatalf("key %q moved from %s to %s; only moves to the new node are allowed", key, was, now)
			}
		}
		// The new node is inserted into preference lists; the others keep their order.
		oldPref, newPref := before.Preference(key, replicas), after.Preference(key, replicas)
		kept := slices.DeleteFunc(slices.Clone(newPref), func(n string) bool { return n == "n6" })
		if !slices.Equal(kept, oldPref[:len(kept)]) {
			t.Fatalf("key %q: preference %v became %v; existing nodes must keep their order", key, oldPref, newPref)
		}
	}
	frac := float64(moved) / spreadKeys
	share := after.Ownership()["n6"]
	t.Logf("adding n6 moved %d of %d primaries (%.2f%%; ideal 1/6 = 16.67%%; n6 owns %.2f%% of the hash space)", moved, spreadKeys, 100*frac, 100*share)
	if frac < 0.5/6 || frac > 1.5/6 {
		t.Errorf("moved fraction %.4f outside [%.4f, %.4f]", frac, 0.5/6, 1.5/6)
	}
	if math.Abs(frac-share) > 0.01 {
		t.Errorf("moved fraction %.4f differs from n6's ownership %.4f", frac, share)
	}
}

func TestRingIgnoresNodeOrder(t *testing.T) {
	a := mustNew(t, []string{"n1", "n2", "n3", "n4"}, 32)
	b := mustNew(t, []string{"n3", "n1", "n4", "n2"}, 32)
	for i := range 5000 {
		key := "o" + strconv.Itoa(i)
		if pa, pb := a.Preference(key, 3), b.Preference(key, 3); !slices.Equal(pa, pb) {
			t.Fatalf("Preference(%q) depends on node order: %v vs %v", key, pa, pb)
		}
	}
	if !slices.Equal(a.Tokens(), b.Tokens()) {
		t.Error("token lists differ between node orders")
	}
	if got := b.Nodes(); !slices.Equal(got, []string{"n3", "n1", "n4", "n2"}) {
		t.Errorf("Nodes() = %v, want the order given", got)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		nodes  []string
		vnodes int
	}{
		{name: "no nodes", nodes: nil, vnodes: 8},
		{name: "empty list", nodes: []string{}, vnodes: 8},
		{name: "empty name", nodes: []string{"n1", ""}, vnodes: 8},
		{name: "duplicate", nodes: []string{"n1", "n2", "n1"}, vnodes: 8},
		{name: "zero vnodes", nodes: []string{"n1"}, vnodes: 0},
		{name: "negative vnodes", nodes: []string{"n1"}, vnodes: -3},
		{name: "too many vnodes", nodes: []string{"n1"}, vnodes: MaxVNodes + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := New(tt.nodes, tt.vnodes)
			if err == nil {
				t.Fatalf("New(%q, %d) = %v, want an error", tt.nodes, tt.vnodes, r)
			}
			if !errors.Is(err, ErrInvalidRing) {
				t.Errorf("error %v does not wrap ErrInvalidRing", err)
			}
		})
	}
	if _, err := New([]string{"n1"}, MaxVNodes); err != nil {
		t.Errorf("New with MaxVNodes: %v", err)
	}
}

func TestDescribeAndOwnershipAgree(t *testing.T) {
	tests := []struct{ nodes, vnodes int }{{1, 1}, {1, 16}, {2, 1}, {5, 64}, {9, 100}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%dx%d", tt.nodes, tt.vnodes), func(t *testing.T) {
			r := mustNew(t, nodeNames(tt.nodes), tt.vnodes)
			d := r.Describe()
			if !slices.Equal(d.Nodes, r.Nodes()) || d.VNodes != tt.vnodes {
				t.Fatalf("Describe nodes/vnodes = %v/%d, want %v/%d", d.Nodes, d.VNodes, r.Nodes(), tt.vnodes)
			}
			if len(d.Tokens) != tt.nodes*tt.vnodes {
				t.Fatalf("%d tokens, want %d", len(d.Tokens), tt.nodes*tt.vnodes)
			}
			if !slices.IsSortedFunc(d.Tokens, func(a, b Token) int { return cmpUint64(a.Position, b.Position) }) {
				t.Fatal("tokens are not sorted by position")
			}
			perNode := map[string]int{}
			for _, tok := range d.Tokens {
				perNode[tok.Node]++
				v := -1
				for i := range tt.vnodes {
					if TokenPosition(tok.Node, i) == tok.Position {
						v = i
					}
				}
				if v < 0 {
					t.Fatalf("token %+v is not at any TokenPosition of its node", tok)
				}
			}
			sum := 0.0
			own := r.Ownership()
			for _, n := range r.Nodes() {
				if perNode[n] != tt.vnodes {
					t.Errorf("%s has %d tokens, want %d", n, perNode[n], tt.vnodes)
				}
				if own[n] <= 0 || own[n] > 1 {
					t.Errorf("%s owns %v of the ring", n, own[n])
				}
				if d.Ownership[n] != own[n] {
					t.Errorf("Describe ownership of %s = %v, Ownership() = %v", n, d.Ownership[n], own[n])
				}
				sum += own[n]
			}
			if math.Abs(sum-1) > 1e-9 {
				t.Errorf("ownership sums to %v, want 1", sum)
			}
			// Recompute ownership from the described tokens, independently.
			recomputed := map[string]float64{}
			for i, tok := range d.Tokens {
				prev := d.Tokens[(i+len(d.Tokens)-1)%len(d.Tokens)].Position
				arc := math.Ldexp(float64(tok.Position-prev), -64)
				if len(d.Tokens) == 1 {
					arc = 1
				}
				recomputed[tok.Node] += arc
			}
			for n, share := range recomputed {
				if math.Abs(share-own[n]) > 1e-12 {
					t.Errorf("%s: ownership %v, recomputed from tokens %v", n, own[n], share)
				}
			}
			if _, err := json.Marshal(d); err != nil {
				t.Fatalf("marshal description: %v", err)
			}
		})
	}
}

func TestDescriptionJSON(t *testing.T) {
	r := mustNew(t, []string{"n1", "n2"}, 1)
	b, err := json.Marshal(r.Describe())
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	for _, field := range []string{"nodes", "vnodes", "ownership", "tokens"} {
		if _, ok := back[field]; !ok {
			t.Errorf("JSON %s lacks %q", b, field)
		}
	}
	tok := back["tokens"].([]any)[0].(map[string]any)
	if _, ok := tok["position"]; !ok {
		t.Errorf("token JSON %v lacks position", tok)
	}
}

func TestNodesReturnsACopy(t *testing.T) {
	r := mustNew(t, []string{"n1", "n2"}, 4)
	r.Nodes()[0] = "mutated"
	r.Describe().Nodes[1] = "mutated"
	if got := r.Nodes(); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Errorf("Nodes() = %v after mutating copies", got)
	}
	if !r.Has("n2") || r.Has("mutated") {
		t.Error("Has disagrees with membership")
	}
}

func TestPreferenceAllocatesOnlyTheResult(t *testing.T) {
	r := mustNew(t, nodeNames(5), 64)
	if allocs := testing.AllocsPerRun(1000, func() { _ = r.Preference("k12345", 3) }); allocs > 1 {
		t.Errorf("Preference allocates %v times per call, want 1", allocs)
	}
	buf := make([]string, 0, 3)
	if allocs := testing.AllocsPerRun(1000, func() { buf = r.AppendPreference(buf[:0], "k12345", 3) }); allocs != 0 {
		t.Errorf("AppendPreference allocates %v times per call, want 0", allocs)
	}
}

func TestConcurrentReaders(t *testing.T) {
	r := mustNew(t, nodeNames(5), 64)
	want := r.Preference("shared", 3)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				if got := r.Preference("shared", 3); !slices.Equal(got, want) {
					errs <- fmt.Errorf("goroutine %d iteration %d: %v, want %v", g, i, got, want)
					return
				}
				_ = r.Owner("k" + strconv.Itoa(i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func BenchmarkPreference(b *testing.B) {
	for _, bc := range []struct{ nodes, vnodes, n int }{{5, 64, 3}, {5, 256, 3}, {100, 256, 3}} {
		b.Run(fmt.Sprintf("nodes=%d/vnodes=%d/n=%d", bc.nodes, bc.vnodes, bc.n), func(b *testing.B) {
			r := mustNew(b, nodeNames(bc.nodes), bc.vnodes)
			keys := make([]string, 1024)
			for i := range keys {
				keys[i] = "k" + strconv.Itoa(i)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				_ = r.Preference(keys[i&1023], bc.n)
				i++
			}
		})
	}
}

func BenchmarkOwner(b *testing.B) {
	r := mustNew(b, nodeNames(5), 64)
	b.ReportAllocs()
	for b.Loop() {
		_ = r.Owner("k12345")
	}
}

func BenchmarkAppendPreference(b *testing.B) {
	r := mustNew(b, nodeNames(5), 64)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "k" + strconv.Itoa(i)
	}
	buf := make([]string, 0, 3)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = r.AppendPreference(buf[:0], keys[i&1023], 3)
		i++
	}
}

// Every key's preference list, as a set, is one of ReplicaSets, and every
// replica set is some key's.
func TestReplicaSetsCoverEveryPreferenceList(t *testing.T) {
	r, err := New([]string{"n1", "n2", "n3", "n4", "n5"}, 16)
	if err != nil {
		t.Fatal(err)
	}
	sets := r.ReplicaSets(3)
	index := map[string]bool{}
	for _, s := range sets {
		if len(s) != 3 || !slices.IsSorted(s) {
			t.Fatalf("replica set %v: want 3 sorted nodes", s)
		}
		index[strings.Join(s, ",")] = true
	}
	used := map[string]bool{}
	for i := range 20000 {
		p := r.Preference("key-"+strconv.Itoa(i), 3)
		slices.Sort(p)
		id := strings.Join(p, ",")
		if !index[id] {
			t.Fatalf("preference %v of key-%d is not among the replica sets %v", p, i, sets)
		}
		used[id] = true
	}
	if len(used) != len(sets) {
		t.Fatalf("20000 keys use %d of the %d replica sets %v", len(used), len(sets), sets)
	}
	if got := r.ReplicaSets(9); len(got) != 1 || len(got[0]) != 5 {
		t.Fatalf("ReplicaSets(9) = %v, want the one set of all 5 nodes", got)
	}
	if got := r.ReplicaSets(0); got != nil {
		t.Fatalf("ReplicaSets(0) = %v, want none", got)
	}
}
