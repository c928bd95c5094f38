package keyspace

import (
	"slices"
	"testing"
)

func TestSequentialNamesSortAsNumbers(t *testing.T) {
	for _, keys := range []int{1, 9, 10, 11, 1000, 12345} {
		names := Names(Sequential, keys)
		if len(names) != keys || !slices.IsSorted(names) {
			t.Fatalf("%d sequential names are not in byte order: %v...", keys, names[:min(12, keys)])
		}
		if w := len(names[0]); w != len(names[keys-1]) {
			t.Fatalf("%d keys: widths %d and %d differ", keys, w, len(names[keys-1]))
		}
	}
	if got := SequentialName(42, 1000); got != "k042" {
		t.Errorf("SequentialName(42, 1000) = %q, want k042", got)
	}
	if got := SequentialName(7, 1); got != "k7" {
		t.Errorf("SequentialName beyond keys = %q, want k7", got)
	}
	if got := Names(Random, 3); !slices.Equal(got, []string{"k0", "k1", "k2"}) {
		t.Errorf("Names(random, 3) = %v", got)
	}
	if !Known(Sequential) || Known("") || Known("zipf") {
		t.Error("Known disagrees with Patterns")
	}
}
