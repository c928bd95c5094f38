package placement

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/targets/demo/ring"
)

var five = []string{"n1", "n2", "n3", "n4", "n5"}

func mustRange(t *testing.T, nodes, splits []string) *RangePlacement {
	t.Helper()
	p, err := NewRange(nodes, splits)
	if err != nil {
		t.Fatalf("NewRange(%q, %q): %v", nodes, splits, err)
	}
	return p
}

func TestRangeBoundaries(t *testing.T) {
	p := mustRange(t, []string{"n1", "n2", "n3"}, []string{"k3", "k6"})
	tests := []struct {
		key, shard, owner string
		pref              []string
	}{
		{"", "r0", "n1", []string{"n1", "n2", "n3"}},
		{"a", "r0", "n1", []string{"n1", "n2", "n3"}},
		{"k2999", "r0", "n1", []string{"n1", "n2", "n3"}},
		{"k3", "r1", "n2", []string{"n2", "n3", "n1"}}, // a split point starts its range
		{"k30", "r1", "n2", []string{"n2", "n3", "n1"}},
		{"k5\xff", "r1", "n2", []string{"n2", "n3", "n1"}},
		{"k6", "r2", "n3", []string{"n3", "n1", "n2"}},
		{"k9", "r2", "n3", []string{"n3", "n1", "n2"}},
		{"z", "r2", "n3", []string{"n3", "n1", "n2"}},
		{"\xff\xff", "r2", "n3", []string{"n3", "n1", "n2"}},
	}
	for _, tt := range tests {
		if got := p.Shard(tt.key); got != tt.shard {
			t.Errorf("Shard(%q) = %s, want %s", tt.key, got, tt.shard)
		}
		if got := p.Owner(tt.key); got != tt.owner {
			t.Errorf("Owner(%q) = %s, want %s", tt.key, got, tt.owner)
		}
		if got := p.Preference(tt.key, 3); !slices.Equal(got, tt.pref) {
			t.Errorf("Preference(%q, 3) = %v, want %v", tt.key, got, tt.pref)
		}
		if got := p.Preference(tt.key, 1); !slices.Equal(got, tt.pref[:1]) {
			t.Errorf("Preference(%q, 1) = %v, want %v", tt.key, got, tt.pref[:1])
		}
	}
	if got := p.Preference("k1", 9); len(got) != 3 {
		t.Errorf("Preference capped at the node count: got %v", got)
	}
	if got := p.Preference("k1", 0); len(got) != 0 || got == nil {
		t.Errorf("Preference(n=0) = %#v, want an empty list", got)
	}
}

// Ownership follows byte order: the owner of a key never goes back to an
// earlier range as keys grow, and matches a naive scan of the split points.
func TestRangeOrderingMatchesNaiveScan(t *testing.T) {
	splits := []string{"b", "k1", "k10", "k5", "m\x00", "q"}
	p := mustRange(t, five, splits)
	var keys []string
	for _, prefix := range []string{"", "a", "b", "k", "k1", "k10", "k100", "k5", "m", "m\x00", "p", "q", "r"} {
		for i := range 12 {
			keys = append(keys, prefix+strconv.Itoa(i), prefix)
		}
	}
	slices.Sort(keys)
	last := 0
	for _, k := range keys {
		want := 0
		for _, s := range splits {
			if k >= s {
				want++
			}
		}
		got := p.RangeOf(k)
		if got != want {
			t.Fatalf("RangeOf(%q) = %d, naive scan gives %d", k, got, want)
		}
		if got < last {
			t.Fatalf("RangeOf(%q) = %d went back from %d", k, got, last)
		}
		last = got
		if p.Owner(k) != five[want%5] {
			t.Fatalf("Owner(%q) = %s, want %s", k, p.Owner(k), five[want%5])
		}
	}
}

func TestRangeReplicaSets(t *testing.T) {
	tests := []struct {
		nodes  []string
		splits []string
		n      int
		want   [][]string
	}{
		{five, []string{"b", "c", "d", "e"}, 3, [][]string{
			{"n1", "n2", "n3"}, {"n1", "n2", "n5"}, {"n1", "n4", "n5"}, {"n2", "n3", "n4"}, {"n3", "n4", "n5"}}},
		// Fewer ranges than nodes: only the ranges' sets.
		{five, []string{"m"}, 2, [][]string{{"n1", "n2"}, {"n2", "n3"}}},
		// More ranges than nodes: ownership wraps, the sets repeat.
		{[]string{"n1", "n2"}, []string{"b", "c", "d", "e"}, 2, [][]string{{"n1", "n2"}}},
		{[]string{"n1"}, nil, 3, [][]string{{"n1"}}},
		{five, nil, 0, nil},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d nodes %d splits n=%d", len(tt.nodes), len(tt.splits), tt.n), func(t *testing.T) {
			p := mustRange(t, tt.nodes, tt.splits)
			got := p.ReplicaSets(tt.n)
			if !slices.EqualFunc(got, tt.want, slices.Equal) {
				t.Fatalf("ReplicaSets(%d) = %v, want %v", tt.n, got, tt.want)
			}
			// Every key's preference list is one of them.
			for _, k := range []string{"", "a", "b", "bb", "c", "d", "e", "m", "z"} {
				if tt.n == 0 {
					break
				}
				pref := slices.Sorted(slices.Values(p.Preference(k, tt.n)))
				if !slices.ContainsFunc(got, func(s []string) bool { return slices.Equal(s, pref) }) {
					t.Fatalf("preference of %q %v is not among the replica sets %v", k, pref, got)
				}
			}
		})
	}
}

func TestNewRangeRejectsBadInput(t *testing.T) {
	tests := []struct {
		name   string
		nodes  []string
		splits []string
		want   string
	}{
		{"no nodes", nil, nil, "range placement: no nodes"},
		{"empty node", []string{"n1", ""}, nil, "node 1 has an empty name"},
		{"duplicate node", []string{"n1", "n2", "n1"}, nil, `duplicate node "n1"`},
		{"empty split", five, []string{"", "k5"}, "split point 0 is empty"},
		{"equal splits", five, []string{"k3", "k3"}, `split point 1 "k3" is not above split point 0 "k3"`},
		{"decreasing splits", five, []string{"k6", "k3"}, `split point 1 "k3" is not above split point 0 "k6"`},
		{"numeric order is not byte order", five, []string{"k9", "k10"}, `split point 1 "k10" is not above split point 0 "k9"`},
		{"too many", five, manySplits(MaxSplits + 1), "4097 split points, at most 4096"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewRange(tt.nodes, tt.splits)
			if err == nil {
				t.Fatalf("NewRange = %v, want an error", p)
			}
			if !errors.Is(err, ErrInvalidPlacement) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q: want it to wrap ErrInvalidPlacement and say %q", err, tt.want)
			}
		})
	}
	if _, err := NewRange(five, manySplits(MaxSplits)); err != nil {
		t.Fatalf("MaxSplits split points: %v", err)
	}
}

func manySplits(n int) []string {
	s := make([]string, n)
	for i := range s {
		s[i] = fmt.Sprintf("k%06d", i)
	}
	return s
}

func TestNewSelectsAndValidates(t *testing.T) {
	p, err := New(Config{Nodes: five, VNodes: 64})
	if err != nil || p.Scheme() != Hash {
		t.Fatalf("New with no scheme = %v, %v; want the hash scheme", p, err)
	}
	p, err = New(Config{Scheme: Range, Nodes: five, Splits: []string{"k5"}})
	if err != nil || p.Scheme() != Range || p.Owner("k7") != "n2" {
		t.Fatalf("New range = %v, %v", p, err)
	}
	for _, tt := range []struct {
		cfg  Config
		want string
	}{
		{Config{Scheme: "directory", Nodes: five, VNodes: 8}, `sharding scheme "directory" unknown; allowed: hash, range`},
		{Config{Scheme: Hash, Nodes: five, VNodes: 8, Splits: []string{"k5"}}, "apply to range sharding only"},
		{Config{Scheme: Hash, Nodes: five, VNodes: 0}, "vnodes 0 outside"},
		{Config{Scheme: Range, Nodes: five, Splits: []string{"b", "a"}}, `split point 1 "a" is not above`},
	} {
		_, err := New(tt.cfg)
		if err == nil || !errors.Is(err, ErrInvalidPlacement) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("New(%+v) error %v: want ErrInvalidPlacement saying %q", tt.cfg, err, tt.want)
		}
	}
}

// The hash scheme is the ring, unchanged.
func TestHashIsTheRing(t *testing.T) {
	p, err := NewHash(five, 64)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ring.New(five, 64)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5000 {
		k := "k" + strconv.Itoa(i)
		if got, want := p.Preference(k, 3), r.Preference(k, 3); !slices.Equal(got, want) {
			t.Fatalf("Preference(%q) = %v, ring gives %v", k, got, want)
		}
		if p.Shard(k) != r.Owner(k) {
			t.Fatalf("Shard(%q) = %s, want the owner %s", k, p.Shard(k), r.Owner(k))
		}
	}
	if !slices.EqualFunc(p.ReplicaSets(3), r.ReplicaSets(3), slices.Equal) {
		t.Fatal("replica sets differ from the ring's")
	}
	d, rd := p.Describe(), r.Describe()
	if d.Scheme != Hash || d.VNodes != 64 || !slices.Equal(d.Tokens, rd.Tokens) || !slices.Equal(d.Nodes, rd.Nodes) || len(d.Ranges) != 0 {
		t.Fatalf("Describe = %+v, want the ring's description", d)
	}
}

func TestRangeDescribe(t *testing.T) {
	p := mustRange(t, []string{"n1", "n2", "n3"}, []string{"k3", "k6"})
	d := p.Describe()
	want := []KeyRange{
		{Shard: "r0", Start: "", End: "k3", Owner: "n1"},
		{Shard: "r1", Start: "k3", End: "k6", Owner: "n2"},
		{Shard: "r2", Start: "k6", End: "", Owner: "n3"},
	}
	if d.Scheme != Range || !slices.Equal(d.Splits, []string{"k3", "k6"}) || !slices.EqualFunc(d.Ranges, want, func(a, b KeyRange) bool {
		return a.Shard == b.Shard && a.Start == b.Start && a.End == b.End && a.Owner == b.Owner
	}) {
		t.Fatalf("Describe = %+v", d)
	}
	if r := p.Ranges(2); !slices.Equal(r[2].Replicas, []string{"n3", "n1"}) {
		t.Fatalf("Ranges(2)[2].Replicas = %v, want [n3 n1]", r[2].Replicas)
	}
}

func TestEvenSplits(t *testing.T) {
	names := func(n int, format string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf(format, i)
		}
		return out
	}
	tests := []struct {
		keys   []string
		ranges int
		want   []string
	}{
		{names(1000, "k%d"), 3, []string{"k4", "k7"}},
		{names(1000, "k%03d"), 4, []string{"k250", "k500", "k750"}},
		{names(10, "k%02d"), 3, []string{"k04", "k07"}}, // 4, 3, 3
		{[]string{"b", "a", "a"}, 5, []string{"b"}},     // two distinct keys
		{names(10, "k%d"), 1, nil},
		{nil, 3, nil},
	}
	for _, tt := range tests {
		got := EvenSplits(tt.keys, tt.ranges)
		if !slices.Equal(got, tt.want) {
			t.Errorf("EvenSplits(%d keys, %d) = %q, want %q", len(tt.keys), tt.ranges, got, tt.want)
		}
		if _, err := NewRange(five, got); err != nil {
			t.Errorf("EvenSplits gave unusable split points %q: %v", got, err)
		}
	}
	// Each range of the even splits holds an equal share of the keys.
	keys := names(1000, "k%d")
	p := mustRange(t, five, EvenSplits(keys, 5))
	count := map[string]int{}
	for _, k := range keys {
		count[p.Owner(k)]++
	}
	for _, n := range five {
		if count[n] != 200 {
			t.Errorf("%s owns %d of 1000 keys, want 200 (%v)", n, count[n], count)
		}
	}
}

func TestRangeAppendPreferenceDoesNotAllocate(t *testing.T) {
	p := mustRange(t, five, []string{"k2", "k4", "k6", "k8"})
	buf := make([]string, 0, 3)
	if allocs := testing.AllocsPerRun(1000, func() { buf = p.AppendPreference(buf[:0], "k5", 3) }); allocs != 0 {
		t.Errorf("AppendPreference allocates %v times per call, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(1000, func() { _ = p.Shard("k5") }); allocs != 0 {
		t.Errorf("Shard allocates %v times per call, want 0", allocs)
	}
}

func BenchmarkRangePreference(b *testing.B) {
	p, err := NewRange(five, manySplits(64))
	if err != nil {
		b.Fatal(err)
	}
	buf := make([]string, 0, 3)
	b.ReportAllocs()
	for b.Loop() {
		buf = p.AppendPreference(buf[:0], "k000031x", 3)
	}
}
