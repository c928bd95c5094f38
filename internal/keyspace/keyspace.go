package keyspace

import (
	"slices"
	"strconv"
)

// Key patterns (workload.keyPattern).
const (
	Random     = "random"
	Sequential = "sequential"
)

// DefaultKeys is the workload's key count when it gives none.
const DefaultKeys = 1000

// RecentKeys is how many of the newest keys the reads and deletes of the
// sequential pattern draw from.
const RecentKeys = 100

// Patterns lists the key patterns.
func Patterns() []string { return []string{Random, Sequential} }

// Known reports whether pattern is one of Patterns ("" is not).
func Known(pattern string) bool { return slices.Contains(Patterns(), pattern) }

// Name is random key number i: "k" and i in decimal.
func Name(i int) string { return "k" + strconv.Itoa(i) }

// SequentialName is sequential key number i of keys keys: "k" and i in
// decimal, zero-padded to the width of keys-1.
func SequentialName(i, keys int) string {
	width := len(strconv.Itoa(max(keys-1, 0)))
	b := make([]byte, 0, 1+width)
	b = append(b, 'k')
	digits := strconv.Itoa(i)
	for range width - len(digits) {
		b = append(b, '0')
	}
	return string(append(b, digits...))
}

// Names returns every key name of a pattern with keys keys, in key number
// order; an unknown pattern is taken as Random.
func Names(pattern string, keys int) []string {
	out := make([]string, max(keys, 0))
	for i := range out {
		if pattern == Sequential {
			out[i] = SequentialName(i, keys)
		} else {
			out[i] = Name(i)
		}
	}
	return out
}
