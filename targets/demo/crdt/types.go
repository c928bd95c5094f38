package crdt

import (
	"encoding/json"
	"fmt"
	"slices"
)

// Type names, as in the demo's API paths (/crdt/{type}/{key}).
const (
	TypeCounter    = "counter"
	TypeLWWCounter = "lww-counter"
	TypeSet        = "set"
)

// Types lists the type names, sorted.
func Types() []string { return []string{TypeCounter, TypeLWWCounter, TypeSet} }

// IsCounter reports whether typ is one of the counter types, whose updates
// are deltas and whose view is a value.
func IsCounter(typ string) bool { return typ == TypeCounter || typ == TypeLWWCounter }

// KnownType reports whether typ names a type of this package.
func KnownType(typ string) bool { return slices.Contains(Types(), typ) }

// MergeEncoded joins two encoded states of type typ and returns the encoded
// join. An empty input is the empty state.
func MergeEncoded(typ string, a, b []byte) ([]byte, error) {
	switch typ {
	case TypeCounter:
		return mergeEncoded(a, b, DecodeCounter, (*Counter).Merge)
	case TypeLWWCounter:
		return mergeEncoded(a, b, DecodeLWWCounter, (*LWWCounter).Merge)
	case TypeSet:
		return mergeEncoded(a, b, DecodeSet, (*Set).Merge)
	}
	return nil, fmt.Errorf("crdt type %q unknown; allowed: %v", typ, Types())
}

// mergeEncoded decodes a and b, merges b into a and encodes the join.
func mergeEncoded[T interface{ Encode() []byte }](a, b []byte, decode func([]byte) (T, error), merge func(*T, T)) ([]byte, error) {
	x, err := decode(a)
	if err != nil {
		return nil, err
	}
	y, err := decode(b)
	if err != nil {
		return nil, err
	}
	merge(&x, y)
	return x.Encode(), nil
}

// View is what a client reads of a state: a counter's value, or a set's
// elements.
type View struct {
	Type     string   `json:"type"`
	Value    *int64   `json:"value,omitempty"`    // counter
	Elements []string `json:"elements,omitempty"` // set (sorted; absent when empty)
}

// ViewOf decodes an encoded state of type typ into what a client reads.
func ViewOf(typ string, state []byte) (View, error) {
	switch typ {
	case TypeCounter:
		c, err := DecodeCounter(state)
		if err != nil {
			return View{}, err
		}
		v := c.Value()
		return View{Type: typ, Value: &v}, nil
	case TypeLWWCounter:
		c, err := DecodeLWWCounter(state)
		if err != nil {
			return View{}, err
		}
		return View{Type: typ, Value: &c.Value}, nil
	case TypeSet:
		s, err := DecodeSet(state)
		if err != nil {
			return View{}, err
		}
		return View{Type: typ, Elements: s.Elements()}, nil
	}
	return View{}, fmt.Errorf("crdt type %q unknown; allowed: %v", typ, Types())
}

// String is the view as one line of JSON (the value a history records).
func (v View) String() string {
	b, _ := json.Marshal(v)
	return string(b)
}
