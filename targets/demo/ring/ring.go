package ring

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
)

// MaxVNodes bounds the number of virtual nodes per node that New accepts.
const MaxVNodes = 4096

// ErrInvalidRing is wrapped by every error New returns.
var ErrInvalidRing = errors.New("invalid ring")

// Ring is a consistent-hash ring with virtual nodes. It is immutable after New and
// safe for concurrent use.
type Ring struct {
	nodes  []string
	vnodes int
	// positions holds every token's position in ascending order; owners[i] is the
	// index in nodes of the node that owns positions[i]. Parallel slices keep the
	// binary search on a dense []uint64.
	positions []uint64
	owners    []int32
	ownership []float64 // by node index
}

// Token is one virtual node: a position on the ring and the node that owns it.
type Token struct {
	Position uint64 `json:"position"`
	Node     string `json:"node"`
}

// Description is a JSON-ready view of a ring, served on GET /debug/ring.
type Description struct {
	Nodes     []string           `json:"nodes"`
	VNodes    int                `json:"vnodes"`
	Ownership map[string]float64 `json:"ownership"`
	Tokens    []Token            `json:"tokens"` // sorted by position
}

// KeyHash is the position of key on the ring.
func KeyHash(key string) uint64 {
	return xxhash.Sum64String(key)
}

// TokenPosition is the position of node's vnode-th token: the xxhash64 of
// "NAME#INDEX". The index is all digits, so different (node, vnode) pairs never
// hash the same string even when names contain '#'.
func TokenPosition(node string, vnode int) uint64 {
	var buf [64]byte
	b := append(buf[:0], node...)
	b = append(b, '#')
	b = strconv.AppendInt(b, int64(vnode), 10)
	return xxhash.Sum64(b)
}

// New builds the ring of nodes with vnodes tokens each. It fails when nodes is
// empty, a name is empty or repeated, or vnodes is outside [1, MaxVNodes].
func New(nodes []string, vnodes int) (*Ring, error) {
	if len(nodes) == 0 {
		return nil, fmt.Errorf("build ring: no nodes: %w", ErrInvalidRing)
	}
	if len(nodes) > math.MaxInt32 {
		return nil, fmt.Errorf("build ring: %d nodes is too many: %w", len(nodes), ErrInvalidRing)
	}
	if vnodes < 1 || vnodes > MaxVNodes {
		return nil, fmt.Errorf("build ring: vnodes %d outside [1, %d]: %w", vnodes, MaxVNodes, ErrInvalidRing)
	}
	seen := make(map[string]struct{}, len(nodes))
	for i, n := range nodes {
		if n == "" {
			return nil, fmt.Errorf("build ring: node %d has an empty name: %w", i, ErrInvalidRing)
		}
		if _, dup := seen[n]; dup {
			return nil, fmt.Errorf("build ring: duplicate node %q: %w", n, ErrInvalidRing)
		}
		seen[n] = struct{}{}
	}

	r := &Ring{
		nodes:  append([]string(nil), nodes...),
		vnodes: vnodes,
	}
	type token struct {
		pos   uint64
		owner int32
	}
	tokens := make([]token, 0, len(nodes)*vnodes)
	for i, n := range r.nodes {
		for v := range vnodes {
			tokens = append(tokens, token{pos: TokenPosition(n, v), owner: int32(i)})
		}
	}
	// Ties between positions (astronomically rare) are broken by name, so the
	// ring does not depend on the order the nodes were listed in.
	sort.Slice(tokens, func(a, b int) bool {
		if tokens[a].pos != tokens[b].pos {
			return tokens[a].pos < tokens[b].pos
		}
		return r.nodes[tokens[a].owner] < r.nodes[tokens[b].owner]
	})
	r.positions = make([]uint64, len(tokens))
	r.owners = make([]int32, len(tokens))
	for i, t := range tokens {
		r.positions[i] = t.pos
		r.owners[i] = t.owner
	}
	r.ownership = r.computeOwnership()
	return r, nil
}

// computeOwnership sums, per node, the arcs its tokens own: token i owns the
// positions after token i-1 up to and including its own.
func (r *Ring) computeOwnership() []float64 {
	shares := make([]float64, len(r.nodes))
	if len(r.positions) == 1 {
		shares[0] = 1
		return shares
	}
	const space = 1 << 64 // as a float64 constant
	last := len(r.positions) - 1
	for i, pos := range r.positions {
		prev := r.positions[(i+last)%len(r.positions)]
		// Unsigned subtraction wraps around the top of the ring for i == 0.
		shares[r.owners[i]] += float64(pos-prev) / space
	}
	return shares
}

// Nodes returns a copy of the node names, in the order given to New.
func (r *Ring) Nodes() []string {
	return append([]string(nil), r.nodes...)
}

// VNodes is the number of tokens per node.
func (r *Ring) VNodes() int {
	return r.vnodes
}

// Has reports whether node is a member of the ring.
func (r *Ring) Has(node string) bool {
	for _, n := range r.nodes {
		if n == node {
			return true
		}
	}
	return false
}

// successor is the index of the first token at or after h, wrapping to 0.
func (r *Ring) successor(h uint64) int {
	// Hand-written binary search: sort.Search's closure costs ~2x here.
	lo, hi := 0, len(r.positions)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if r.positions[mid] < h {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == len(r.positions) {
		return 0
	}
	return lo
}

// Owner is key's primary owner: the node of the first token clockwise from
// KeyHash(key).
func (r *Ring) Owner(key string) string {
	return r.nodes[r.owners[r.successor(KeyHash(key))]]
}

// Preference returns the first n distinct nodes clockwise from KeyHash(key); n is
// capped at the number of nodes, and n <= 0 gives an empty list. The first entry
// is Owner(key). It allocates only the returned slice.
func (r *Ring) Preference(key string, n int) []string {
	n = min(n, len(r.nodes))
	if n <= 0 {
		return []string{}
	}
	return r.AppendPreference(make([]string, 0, n), key, n)
}

// AppendPreference appends key's preference list of length n (capped as in
// Preference) to dst and returns the extended slice; with enough capacity in dst
// it does not allocate.
func (r *Ring) AppendPreference(dst []string, key string, n int) []string {
	n = min(n, len(r.nodes))
	if n <= 0 {
		return dst
	}
	base := len(dst)
	i := r.successor(KeyHash(key))
	// Every node has at least one token, so one lap finds all of them and the
	// walk ends within len(positions) steps.
	if len(r.nodes) <= 64 {
		var seen uint64
		for len(dst)-base < n {
			o := r.owners[i]
			if bit := uint64(1) << uint(o); seen&bit == 0 {
				seen |= bit
				dst = append(dst, r.nodes[o])
			}
			if i++; i == len(r.positions) {
				i = 0
			}
		}
		return dst
	}
	for len(dst)-base < n {
		node := r.nodes[r.owners[i]]
		dup := false
		for _, got := range dst[base:] {
			if got == node {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, node)
		}
		if i++; i == len(r.positions) {
			i = 0
		}
	}
	return dst
}

// Ownership returns the fraction of the 2^64 hash space each node owns as primary.
// The fractions sum to 1 (up to float rounding).
func (r *Ring) Ownership() map[string]float64 {
	m := make(map[string]float64, len(r.nodes))
	for i, n := range r.nodes {
		m[n] = r.ownership[i]
	}
	return m
}

// Tokens returns every token, sorted by position.
func (r *Ring) Tokens() []Token {
	tokens := make([]Token, len(r.positions))
	for i, pos := range r.positions {
		tokens[i] = Token{Position: pos, Node: r.nodes[r.owners[i]]}
	}
	return tokens
}

// Describe returns a JSON-ready view of the ring for GET /debug/ring.
func (r *Ring) Describe() Description {
	return Description{
		Nodes:     r.Nodes(),
		VNodes:    r.vnodes,
		Ownership: r.Ownership(),
		Tokens:    r.Tokens(),
	}
}

// ReplicaSets returns the distinct preference lists of length n (capped as in
// Preference) over the whole ring, each sorted, the lists in sorted order:
// every set of nodes that together replicate some keys. A node that restarts
// without its data uses them to know whom it must copy from.
func (r *Ring) ReplicaSets(n int) [][]string {
	n = min(n, len(r.nodes))
	if n <= 0 {
		return nil
	}
	seen := map[string]bool{}
	var out [][]string
	for i := range r.positions {
		set := make([]string, 0, n)
		for j := i; len(set) < n; j = (j + 1) % len(r.positions) {
			node := r.nodes[r.owners[j]]
			if !slices.Contains(set, node) {
				set = append(set, node)
			}
		}
		slices.Sort(set)
		id := strings.Join(set, "\x00")
		if !seen[id] {
			seen[id] = true
			out = append(out, set)
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return slices.Compare(a, b) })
	return out
}
