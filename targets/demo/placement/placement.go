package placement

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/chaosctl/chaosctl/targets/demo/ring"
)

// Scheme names.
const (
	Hash  = "hash"
	Range = "range"
)

// DefaultScheme is the scheme of a Config that names none.
const DefaultScheme = Hash

// MaxSplits bounds the split points a range placement accepts.
const MaxSplits = 4096

// ErrInvalidPlacement is wrapped by every error New, NewHash and NewRange
// return (NewHash also wraps ring.ErrInvalidRing).
var ErrInvalidPlacement = errors.New("invalid placement")

// Placement maps keys to the store nodes that hold them. Implementations are
// immutable and safe for concurrent use.
type Placement interface {
	// Scheme is Hash or Range.
	Scheme() string
	// Nodes returns a copy of the node names, in the order given.
	Nodes() []string
	// Has reports whether node is one of the nodes.
	Has(node string) bool
	// Owner is key's primary node: Preference(key, 1)[0].
	Owner(key string) string
	// Shard names the shard key falls in, for metrics: the owner node under
	// hash, the range ("r0", "r1", ...) under range.
	Shard(key string) string
	// Preference returns key's first n distinct nodes, the owner first; n is
	// capped at the node count and n <= 0 gives an empty list.
	Preference(key string, n int) []string
	// AppendPreference appends Preference(key, n) to dst without allocating
	// when dst has room.
	AppendPreference(dst []string, key string, n int) []string
	// ReplicaSets returns every distinct set of n nodes that replicate some
	// keys, each sorted, in sorted order.
	ReplicaSets(n int) [][]string
	// Describe is the JSON-ready view served on GET /debug/ring.
	Describe() Description
}

// Description is a placement as GET /debug/ring shows it. The hash scheme
// fills VNodes and Tokens (the fields /debug/ring had before schemes
// existed), the range scheme Splits and Ranges.
type Description struct {
	Scheme    string             `json:"scheme"`
	Nodes     []string           `json:"nodes"`
	Ownership map[string]float64 `json:"ownership,omitempty"` // hash: share of the hash space owned as primary
	VNodes    int                `json:"vnodes,omitempty"`
	Tokens    []ring.Token       `json:"tokens,omitempty"`
	Splits    []string           `json:"splits,omitempty"`
	Ranges    []KeyRange         `json:"ranges,omitempty"`
}

// KeyRange is one range of a range placement: the keys k with Start <= k <
// End as byte strings ("" Start: from the first key; "" End: to the last).
type KeyRange struct {
	Shard    string   `json:"shard"` // r0, r1, ...
	Start    string   `json:"start"`
	End      string   `json:"end,omitempty"`
	Owner    string   `json:"owner"`
	Replicas []string `json:"replicas,omitempty"` // with Describe's replication, the owner first
}

// Config selects and configures a scheme.
type Config struct {
	Scheme string   // Hash or Range; "" = DefaultScheme
	Nodes  []string // store node names, in order (the order matters to Range only)
	VNodes int      // Hash: tokens per node (1..ring.MaxVNodes)
	Splits []string // Range: split points, strictly increasing, none empty
}

// constructors is the one registry of schemes.
var constructors = map[string]func(Config) (Placement, error){
	Hash:  func(c Config) (Placement, error) { return NewHash(c.Nodes, c.VNodes) },
	Range: func(c Config) (Placement, error) { return NewRange(c.Nodes, c.Splits) },
}

// Schemes lists the valid scheme names, sorted.
func Schemes() []string {
	names := make([]string, 0, len(constructors))
	for n := range constructors {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds the placement cfg names. A Range config must not give VNodes
// and a Hash config must not give Splits, so a setting meant for the other
// scheme is not silently ignored.
func New(cfg Config) (Placement, error) {
	if cfg.Scheme == "" {
		cfg.Scheme = DefaultScheme
	}
	build, ok := constructors[cfg.Scheme]
	if !ok {
		return nil, fmt.Errorf("sharding scheme %q unknown; allowed: %s: %w", cfg.Scheme, strings.Join(Schemes(), ", "), ErrInvalidPlacement)
	}
	if cfg.Scheme == Hash && len(cfg.Splits) > 0 {
		return nil, fmt.Errorf("split points %q apply to range sharding only, the scheme is hash: %w", cfg.Splits, ErrInvalidPlacement)
	}
	return build(cfg)
}

// hashPlacement is the consistent-hash ring, unchanged, as a Placement.
type hashPlacement struct {
	*ring.Ring
}

// NewHash builds the hash scheme: ring.New(nodes, vnodes).
func NewHash(nodes []string, vnodes int) (Placement, error) {
	r, err := ring.New(nodes, vnodes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", err, ErrInvalidPlacement)
	}
	return hashPlacement{r}, nil
}

func (hashPlacement) Scheme() string { return Hash }

func (h hashPlacement) Shard(key string) string { return h.Owner(key) }

func (h hashPlacement) Describe() Description {
	d := h.Ring.Describe()
	return Description{Scheme: Hash, Nodes: d.Nodes, Ownership: d.Ownership, VNodes: d.VNodes, Tokens: d.Tokens}
}

// RangePlacement is the range scheme. Build it with NewRange.
type RangePlacement struct {
	nodes  []string
	splits []string
	shards []string // "r0".."rk", so Shard does not allocate
}

// NewRange builds the range scheme over nodes (at least one, names unique and
// non-empty) with the given split points: strictly increasing as byte
// strings, none empty, at most MaxSplits. Range i, [splits[i-1], splits[i]),
// is owned by nodes[i mod len(nodes)].
func NewRange(nodes []string, splits []string) (*RangePlacement, error) {
	if err := checkNodes(nodes); err != nil {
		return nil, err
	}
	if len(splits) > MaxSplits {
		return nil, fmt.Errorf("range placement: %d split points, at most %d: %w", len(splits), MaxSplits, ErrInvalidPlacement)
	}
	for i, s := range splits {
		if s == "" {
			return nil, fmt.Errorf("range placement: split point %d is empty; the first range already starts at the smallest key: %w", i, ErrInvalidPlacement)
		}
		if i > 0 && s <= splits[i-1] {
			return nil, fmt.Errorf("range placement: split point %d %q is not above split point %d %q; split points must be strictly increasing as byte strings: %w", i, s, i-1, splits[i-1], ErrInvalidPlacement)
		}
	}
	p := &RangePlacement{nodes: slices.Clone(nodes), splits: slices.Clone(splits)}
	p.shards = make([]string, len(splits)+1)
	for i := range p.shards {
		p.shards[i] = fmt.Sprintf("r%d", i)
	}
	return p, nil
}

func checkNodes(nodes []string) error {
	if len(nodes) == 0 {
		return fmt.Errorf("range placement: no nodes: %w", ErrInvalidPlacement)
	}
	seen := make(map[string]bool, len(nodes))
	for i, n := range nodes {
		if n == "" {
			return fmt.Errorf("range placement: node %d has an empty name: %w", i, ErrInvalidPlacement)
		}
		if seen[n] {
			return fmt.Errorf("range placement: duplicate node %q: %w", n, ErrInvalidPlacement)
		}
		seen[n] = true
	}
	return nil
}

// Scheme is Range.
func (p *RangePlacement) Scheme() string { return Range }

// Nodes returns a copy of the nodes, in order.
func (p *RangePlacement) Nodes() []string { return slices.Clone(p.nodes) }

// Splits returns a copy of the split points.
func (p *RangePlacement) Splits() []string { return slices.Clone(p.splits) }

// Has reports whether node is one of the nodes.
func (p *RangePlacement) Has(node string) bool { return slices.Contains(p.nodes, node) }

// RangeOf is the index of the range that holds key: the number of split
// points at or below it.
func (p *RangePlacement) RangeOf(key string) int {
	// The first split point above key; keys equal to a split point start its range.
	lo, hi := 0, len(p.splits)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if p.splits[mid] <= key {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// Owner is the node that owns key's range.
func (p *RangePlacement) Owner(key string) string {
	return p.nodes[p.RangeOf(key)%len(p.nodes)]
}

// Shard is the name of key's range, "r<index>".
func (p *RangePlacement) Shard(key string) string { return p.shards[p.RangeOf(key)] }

// Preference is key's range's owner and the next n-1 nodes in order.
func (p *RangePlacement) Preference(key string, n int) []string {
	n = min(n, len(p.nodes))
	if n <= 0 {
		return []string{}
	}
	return p.AppendPreference(make([]string, 0, n), key, n)
}

// AppendPreference appends Preference(key, n) to dst.
func (p *RangePlacement) AppendPreference(dst []string, key string, n int) []string {
	return p.appendSet(dst, p.RangeOf(key), n)
}

func (p *RangePlacement) appendSet(dst []string, rangeIndex, n int) []string {
	n = min(n, len(p.nodes))
	first := rangeIndex % len(p.nodes)
	for i := range n {
		dst = append(dst, p.nodes[(first+i)%len(p.nodes)])
	}
	return dst
}

// ReplicaSets returns the distinct replica sets of length n over all ranges,
// each sorted, in sorted order.
func (p *RangePlacement) ReplicaSets(n int) [][]string {
	n = min(n, len(p.nodes))
	if n <= 0 {
		return nil
	}
	var out [][]string
	for i := range min(len(p.splits)+1, len(p.nodes)) {
		set := slices.Sorted(slices.Values(p.appendSet(nil, i, n)))
		if !slices.ContainsFunc(out, func(s []string) bool { return slices.Equal(s, set) }) {
			out = append(out, set)
		}
	}
	slices.SortFunc(out, slices.Compare)
	return out
}

// Ranges lists every range with its owner and its replica set of length n
// (none when n <= 0).
func (p *RangePlacement) Ranges(n int) []KeyRange {
	out := make([]KeyRange, len(p.splits)+1)
	for i := range out {
		r := KeyRange{Shard: p.shards[i], Owner: p.nodes[i%len(p.nodes)]}
		if i > 0 {
			r.Start = p.splits[i-1]
		}
		if i < len(p.splits) {
			r.End = p.splits[i]
		}
		if n > 0 {
			r.Replicas = p.appendSet(nil, i, n)
		}
		out[i] = r
	}
	return out
}

// Describe lists the split points and the ranges with their owners.
func (p *RangePlacement) Describe() Description {
	return Description{Scheme: Range, Nodes: p.Nodes(), Splits: p.Splits(), Ranges: p.Ranges(0)}
}

// EvenSplits returns the ranges-1 split points that cut keys, sorted as byte
// strings, into ranges runs of equal length (the first runs one longer when
// the count does not divide): with those splits each range holds the same
// share of keys. Repeated keys count once. Fewer distinct keys than ranges
// give fewer split points (every range would otherwise need a key to start
// it); ranges <= 1 gives none.
func EvenSplits(keys []string, ranges int) []string {
	sorted := slices.Sorted(slices.Values(keys))
	sorted = slices.Compact(sorted)
	ranges = min(ranges, len(sorted))
	if ranges <= 1 {
		return nil
	}
	splits := make([]string, 0, ranges-1)
	for i := 1; i < ranges; i++ {
		// Range i starts at the first key past i equal shares (rounded up,
		// so the earlier ranges take the remainder).
		splits = append(splits, sorted[(i*len(sorted)+ranges-1)/ranges])
	}
	return splits
}
