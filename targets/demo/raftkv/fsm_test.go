package raftkv

import (
	"bytes"
	"io"
	"testing"

	"github.com/hashicorp/raft"

	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

func TestCommandRoundTrips(t *testing.T) {
	for _, c := range []struct {
		key   string
		value []byte
		tomb  bool
	}{{"k1", []byte("v"), false}, {"k", nil, false}, {"key-with-long-name", []byte{0, 1, 2}, false}, {"k2", []byte("ignored"), true}} {
		key, value, tomb, err := decodeCommand(encodeCommand(c.key, c.value, c.tomb))
		if err != nil {
			t.Fatal(err)
		}
		want := c.value
		if c.tomb {
			want = nil
		}
		if key != c.key || tomb != c.tomb || !bytes.Equal(value, want) {
			t.Errorf("%q: got %q %q %v", c.key, key, value, tomb)
		}
	}
	for _, bad := range [][]byte{nil, {9, 1, 'k'}, {opPut, 200, 'k'}} {
		if _, _, _, err := decodeCommand(bad); err == nil {
			t.Errorf("decode %v: no error", bad)
		}
	}
}

func apply(f *FSM, index uint64, key, value string, tomb bool) ApplyResult {
	return f.Apply(&raft.Log{Index: index, Term: 1, Type: raft.LogCommand, Data: encodeCommand(key, []byte(value), tomb)}).(ApplyResult)
}

// Entries applied twice, or out of order as a snapshot's fuzzy copy and the
// log's replay can deliver them, leave the store as applying each once in
// order would.
func TestFSMApplyIsIdempotentAndVersionedByIndex(t *testing.T) {
	eng := storage.OpenMemory()
	f := NewFSM(eng, nil)
	if r := apply(f, 3, "k", "a", false); r.Err != nil || r.Version.Time != 3 {
		t.Fatalf("apply 3: %+v", r)
	}
	apply(f, 5, "k", "b", false)
	apply(f, 3, "k", "a", false) // replayed
	apply(f, 4, "j", "", true)
	rec, found, err := eng.Get("k")
	if err != nil || !found || string(rec.Value) != "b" || rec.Version.Time != 5 {
		t.Fatalf("k: %+v %v %v", rec, found, err)
	}
	if rec, _, _ := eng.Get("j"); !rec.Tombstone {
		t.Fatalf("j: not a tombstone: %+v", rec)
	}
	if applied, _ := f.Applied(); applied != 5 {
		t.Fatalf("applied %d, want 5 (the highest index seen)", applied)
	}
	if r := f.Apply(&raft.Log{Index: 6, Type: raft.LogCommand, Data: []byte{7}}).(ApplyResult); r.Err == nil {
		t.Fatal("a malformed entry applied without error")
	}
}

type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }
func (s *memSink) Close() error  { return nil }

// A snapshot holds only the group's keys; restoring it into another store
// gives the same records, and keeps a newer copy the store already had.
func TestFSMSnapshotRestore(t *testing.T) {
	src := storage.OpenMemory()
	owns := func(key string) bool { return key != "other" }
	f := NewFSM(src, owns)
	apply(f, 1, "a", "1", false)
	apply(f, 2, "b", "2", false)
	apply(f, 3, "a", "", true)
	apply(f, 4, "other", "x", false)
	snap, _ := f.Snapshot()
	var sink memSink
	if err := snap.Persist(&sink); err != nil || sink.cancelled {
		t.Fatalf("persist: %v cancelled=%v", err, sink.cancelled)
	}
	dst := storage.OpenMemory()
	g := NewFSM(dst, owns)
	apply(g, 9, "b", "newer", false)
	if err := g.Restore(io.NopCloser(&sink)); err != nil {
		t.Fatal(err)
	}
	if rec, found, _ := dst.Get("a"); !found || !rec.Tombstone || rec.Version.Time != 3 {
		t.Errorf("a: %+v", rec)
	}
	if rec, _, _ := dst.Get("b"); string(rec.Value) != "newer" {
		t.Errorf("b: restore rolled back a newer copy: %+v", rec)
	}
	if _, found, _ := dst.Get("other"); found {
		t.Error("the snapshot carried another group's key")
	}
}
