package raftkv

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// Command operations in the Raft log.
const (
	opPut    byte = 1
	opDelete byte = 2
)

// encodeCommand is one write in the log: op, key length (uvarint), key, value.
func encodeCommand(key string, value []byte, tombstone bool) []byte {
	op := opPut
	if tombstone {
		op, value = opDelete, nil
	}
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(key)+len(value))
	b = append(b, op)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	return append(b, value...)
}

func decodeCommand(b []byte) (key string, value []byte, tombstone bool, err error) {
	if len(b) < 2 {
		return "", nil, false, errors.New("command too short")
	}
	op := b[0]
	if op != opPut && op != opDelete {
		return "", nil, false, fmt.Errorf("unknown command op %d", op)
	}
	n, w := binary.Uvarint(b[1:])
	if w <= 0 || n > uint64(len(b)-1-w) {
		return "", nil, false, errors.New("command key length out of range")
	}
	rest := b[1+w:]
	key, value = string(rest[:n]), rest[n:]
	if op == opDelete {
		return key, nil, true, nil
	}
	if len(value) == 0 {
		value = nil
	}
	return key, value, false, nil
}

// ApplyResult is what FSM.Apply returns for a write: the version it was
// stored under, or the error that kept it out of the store.
type ApplyResult struct {
	Version storage.Version
	Err     error
}

// FSM applies a group's committed writes to the node's storage engine. A
// write's version is its log index (Version.Time), so versions of one key
// grow with the log, and the engine's put-if-newer makes applying an entry
// twice, or a snapshot that already holds some later entries, harmless: the
// store's state is a function of the set of applied entries, not of their
// order. That is what lets Snapshot stream the live engine while Apply goes
// on (hashicorp/raft calls Persist concurrently with Apply).
type FSM struct {
	engine storage.Engine
	owns   func(key string) bool // the keys of this group (the engine holds other groups' too)
	// applied is the index of the last command applied (or of a barrier's
	// floor, raiseFloor); hashicorp/raft does not hand no-op, barrier and
	// configuration entries to the FSM.
	applied atomic.Uint64

	mu      sync.Mutex
	waiters chan struct{} // closed and replaced on every apply
}

// NewFSM returns an FSM over engine for the keys owns accepts (nil: all).
func NewFSM(engine storage.Engine, owns func(key string) bool) *FSM {
	if owns == nil {
		owns = func(string) bool { return true }
	}
	return &FSM{engine: engine, owns: owns, waiters: make(chan struct{})}
}

// Apply implements raft.FSM.
func (f *FSM) Apply(l *raft.Log) any {
	defer f.advance(l.Index)
	if l.Type != raft.LogCommand {
		return nil
	}
	key, value, tomb, err := decodeCommand(l.Data)
	if err != nil {
		return ApplyResult{Err: fmt.Errorf("entry %d: %w", l.Index, err)}
	}
	v := storage.Version{Time: int64(l.Index), Logical: uint32(l.Term)}
	rec := storage.Seal(key, storage.Record{Version: v, Value: value, Tombstone: tomb})
	if _, err := f.engine.Put(key, rec); err != nil {
		return ApplyResult{Version: v, Err: fmt.Errorf("apply entry %d to %s: %w", l.Index, key, err)}
	}
	return ApplyResult{Version: v}
}

func (f *FSM) advance(index uint64) {
	f.mu.Lock()
	if index > f.applied.Load() {
		f.applied.Store(index)
	}
	close(f.waiters)
	f.waiters = make(chan struct{})
	f.mu.Unlock()
}

// raiseFloor records that every entry up to index is applied (a barrier
// returned), which covers a snapshot restored before it.
func (f *FSM) raiseFloor(index uint64) { f.advance(index) }

// Applied returns the index of the last entry applied and a channel closed
// at the next apply.
func (f *FSM) Applied() (uint64, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied.Load(), f.waiters
}

// snapshotRecord is one record of a snapshot (JSON lines).
type snapshotRecord struct {
	Key       string `json:"k"`
	Version   string `json:"v"`
	Tombstone bool   `json:"t,omitempty"`
	Value     []byte `json:"d,omitempty"`
}

// Snapshot implements raft.FSM. It captures nothing: Persist streams the
// engine as it is then (see FSM).
func (f *FSM) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{engine: f.engine, owns: f.owns}, nil
}

// Restore implements raft.FSM. It puts every record of the snapshot; the
// engine keeps the newer of its own copy and the snapshot's. The engine
// never needs emptying first: keys are never removed (deletes are
// tombstones), and an engine's copies come from entries at or below the
// snapshot's index or from later ones the log will apply again.
func (f *FSM) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	dec := json.NewDecoder(bufio.NewReader(rc))
	for count := 1; ; count++ {
		var r snapshotRecord
		if err := dec.Decode(&r); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("restore snapshot: record %d: %w", count, err)
		}
		v, err := storage.ParseVersion(r.Version)
		if err != nil {
			return fmt.Errorf("restore snapshot: key %q: %w", r.Key, err)
		}
		rec := storage.Seal(r.Key, storage.Record{Version: v, Value: r.Value, Tombstone: r.Tombstone})
		if _, err := f.engine.Put(r.Key, rec); err != nil {
			return fmt.Errorf("restore snapshot: key %q: %w", r.Key, err)
		}
	}
}

type fsmSnapshot struct {
	engine storage.Engine
	owns   func(key string) bool
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	w := bufio.NewWriter(sink)
	enc := json.NewEncoder(w)
	var werr error
	err := s.engine.Keys(func(key string) bool {
		if !s.owns(key) {
			return true
		}
		rec, found, err := s.engine.Get(key)
		if err != nil || !found {
			// A copy damaged by the corrupt fault is left out; the group's
			// other members hold it intact.
			return true
		}
		r := snapshotRecord{Key: key, Version: rec.Version.String(), Tombstone: rec.Tombstone, Value: rec.Value}
		if werr = enc.Encode(r); werr != nil {
			return false
		}
		return true
	})
	if err = errors.Join(err, werr); err == nil {
		err = w.Flush()
	}
	if err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("persist snapshot: %w", err)
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
