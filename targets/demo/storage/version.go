package storage

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// Version totally orders the writes of one key. Linearizable mode uses Time as a
// counter; quorum and eventual modes use Time = HLC wall nanoseconds and Logical =
// HLC logical. Node is the coordinator's index (n1 => 1) and Seq a per-coordinator
// sequence, so two different writes never share a Version. Versions order by
// Time, then Logical, Node and Seq. The zero Version is older than every other.
type Version struct {
	Time    int64
	Logical uint32
	Node    uint32
	Seq     uint32
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than o.
func (v Version) Compare(o Version) int {
	if c := cmp.Compare(v.Time, o.Time); c != 0 {
		return c
	}
	if c := cmp.Compare(v.Logical, o.Logical); c != 0 {
		return c
	}
	if c := cmp.Compare(v.Node, o.Node); c != 0 {
		return c
	}
	return cmp.Compare(v.Seq, o.Seq)
}

// Newer reports whether v is newer than o.
func (v Version) Newer(o Version) bool { return v.Compare(o) > 0 }

// IsZero reports whether v is the zero Version.
func (v Version) IsZero() bool { return v == Version{} }

// String formats v as "TIME.LOGICAL.NODE.SEQ", e.g. "1700000000000000000.3.2.17",
// safe in URLs and HTTP headers; ParseVersion reads it back.
func (v Version) String() string {
	b := make([]byte, 0, 48)
	b = strconv.AppendInt(b, v.Time, 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v.Logical), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v.Node), 10)
	b = append(b, '.')
	b = strconv.AppendUint(b, uint64(v.Seq), 10)
	return string(b)
}

// ParseVersion reads a Version written by Version.String.
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return Version{}, fmt.Errorf("parse version %q: want TIME.LOGICAL.NODE.SEQ", s)
	}
	t, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil {
		return Version{}, fmt.Errorf("parse version %q: time: %w", s, err)
	}
	var fields [3]uint32
	for i, name := range [3]string{"logical", "node", "seq"} {
		u, err := strconv.ParseUint(parts[i+1], 10, 32)
		if err != nil {
			return Version{}, fmt.Errorf("parse version %q: %s: %w", s, name, err)
		}
		fields[i] = uint32(u)
	}
	return Version{Time: t, Logical: fields[0], Node: fields[1], Seq: fields[2]}, nil
}
