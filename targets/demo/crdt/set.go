package crdt

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

// Set is an observed-remove set (OR-set): every add of an element creates a
// unique tag, and a remove deletes the tags of the element that its
// coordinator observed. An element is in the set while one of its tags is not
// removed, so an add concurrent with a remove survives it (add wins), and a
// remove undoes exactly the adds it saw.
//
// The removed tags are kept (tombstones), which makes Merge a plain union of
// both: the demo's sets are small and short-lived.
type Set struct {
	Adds    map[string]map[string]bool `json:"adds,omitempty"`    // element → its tags
	Removed map[string]bool            `json:"removed,omitempty"` // removed tags
}

// Add returns the delta that adds elem under tag, which must be unique among
// all adds of every replica, and merges it into s.
func (s *Set) Add(elem, tag string) Set {
	d := Set{Adds: map[string]map[string]bool{elem: {tag: true}}}
	s.Merge(d)
	return d
}

// Remove returns the delta that removes the tags of elem that s holds, and
// merges it into s. The delta is empty when s does not hold elem.
func (s *Set) Remove(elem string) Set {
	d := Set{}
	for tag := range s.Adds[elem] {
		if !s.Removed[tag] {
			if d.Removed == nil {
				d.Removed = map[string]bool{}
			}
			d.Removed[tag] = true
		}
	}
	s.Merge(d)
	return d
}

// Empty reports whether s holds no tag at all (the empty state).
func (s Set) Empty() bool { return len(s.Adds) == 0 && len(s.Removed) == 0 }

// Contains reports whether elem has a tag that is not removed.
func (s Set) Contains(elem string) bool {
	for tag := range s.Adds[elem] {
		if !s.Removed[tag] {
			return true
		}
	}
	return false
}

// Elements returns the elements in the set, sorted.
func (s Set) Elements() []string {
	out := []string{}
	for elem := range s.Adds {
		if s.Contains(elem) {
			out = append(out, elem)
		}
	}
	slices.Sort(out)
	return out
}

// Merge joins o into s: the union of the adds and of the removed tags.
func (s *Set) Merge(o Set) {
	for elem, tags := range o.Adds {
		if s.Adds == nil {
			s.Adds = map[string]map[string]bool{}
		}
		if s.Adds[elem] == nil {
			s.Adds[elem] = make(map[string]bool, len(tags))
		}
		maps.Copy(s.Adds[elem], tags)
	}
	if len(o.Removed) > 0 && s.Removed == nil {
		s.Removed = make(map[string]bool, len(o.Removed))
	}
	maps.Copy(s.Removed, o.Removed)
}

// Clone returns a copy of s that shares no map with it.
func (s Set) Clone() Set {
	var out Set
	out.Merge(s)
	return out
}

// Equal reports whether s and o are the same state (tags included).
func (s Set) Equal(o Set) bool {
	if len(s.Adds) != len(o.Adds) || !maps.Equal(s.Removed, o.Removed) {
		return false
	}
	for elem, tags := range s.Adds {
		if !maps.Equal(tags, o.Adds[elem]) {
			return false
		}
	}
	return true
}

// Encode returns s as JSON (sorted keys: equal states, equal bytes).
func (s Set) Encode() []byte {
	b, _ := json.Marshal(s) // maps of strings and booleans always marshal
	return b
}

// DecodeSet reads a Set written by Encode; empty input is the empty Set.
func DecodeSet(b []byte) (Set, error) {
	var s Set
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Set{}, fmt.Errorf("decode set: %w", err)
	}
	return s, nil
}
