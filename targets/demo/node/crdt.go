package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/crdt"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// CRDT values (eventual mode only). A counter or set named key is stored under
// the storage key "crdt/{type}/{key}", which no key of the /kv/ API can be
// (those have no '/'), and is replicated on that key's preference list like
// any record. Unlike a /kv/ record, a CRDT record is never replaced by a newer
// one: every replica MERGES what it receives into what it holds (crdt's
// join), whether it comes from a coordinator, a hinted handoff, a read repair
// or a recovering node's catch-up. The record's version only orders the
// merged states a replica stores (each merge stores a newer one), so the
// storage engine's rules (newest wins, a corrupt copy is repaired) hold.

// crdtStoragePrefix starts every CRDT storage key.
const crdtStoragePrefix = "crdt/"

// CRDTStorageKey is the storage key of the CRDT value key of type typ.
func CRDTStorageKey(typ, key string) string { return api.CRDTStorageKey(typ, key) }

// crdtTypeOf returns the CRDT type of a storage key; ok is false for a /kv/ key.
func crdtTypeOf(storageKey string) (typ string, ok bool) {
	rest, found := strings.CutPrefix(storageKey, crdtStoragePrefix)
	if !found {
		return "", false
	}
	typ, _, ok = strings.Cut(rest, "/")
	return typ, ok && crdt.KnownType(typ)
}

// validateStorageKey is api.ValidateKey for the replica API: a /kv/ key, or a
// CRDT storage key of a known type and a valid key.
func validateStorageKey(key string) error {
	rest, found := strings.CutPrefix(key, crdtStoragePrefix)
	if !found {
		return api.ValidateKey(key)
	}
	typ, k, _ := strings.Cut(rest, "/")
	if !crdt.KnownType(typ) {
		return fmt.Errorf("crdt type %q unknown; allowed: %s", typ, strings.Join(crdt.Types(), ", "))
	}
	return api.ValidateKey(k)
}

// maxElementLen bounds a set element, in bytes.
const maxElementLen = 256

// maxDelta bounds a counter update's magnitude.
const maxDelta = 1 << 40

// CRDTOp is the body of POST /crdt/{type}/{key}: {"delta": N} for a counter,
// {"add": "e"} or {"remove": "e"} for a set.
type CRDTOp struct {
	Delta  *int64  `json:"delta,omitempty"`
	Add    *string `json:"add,omitempty"`
	Remove *string `json:"remove,omitempty"`
}

// Validate reports why op is not an update of a value of type typ.
func (op CRDTOp) Validate(typ string) error {
	switch {
	case crdt.IsCounter(typ):
		switch {
		case op.Delta == nil || op.Add != nil || op.Remove != nil:
			return errors.New(`a counter update is {"delta": N}`)
		case *op.Delta == 0 || *op.Delta > maxDelta || *op.Delta < -maxDelta:
			return fmt.Errorf("delta %d: it must be nonzero and within ±%d", *op.Delta, int64(maxDelta))
		}
	case typ == crdt.TypeSet:
		var elem *string
		switch {
		case op.Delta != nil || (op.Add == nil) == (op.Remove == nil):
			return errors.New(`a set update is {"add": "element"} or {"remove": "element"}`)
		case op.Add != nil:
			elem = op.Add
		default:
			elem = op.Remove
		}
		if len(*elem) == 0 || len(*elem) > maxElementLen {
			return fmt.Errorf("element of %d bytes: elements are 1 to %d bytes", len(*elem), maxElementLen)
		}
	default:
		return fmt.Errorf("crdt type %q unknown; allowed: %s", typ, strings.Join(crdt.Types(), ", "))
	}
	return nil
}

// crdtState is a coordinator's own part of the CRDT values: the totals of its
// counters (this process is one actor of each), and the per-key locks of the
// replica merges.
type crdtState struct {
	actor    string // node id and incarnation: a restarted node is a new actor
	mu       sync.Mutex
	counters map[string]*crdt.Counter // storage key → this actor's totals
	locks    [64]sync.Mutex           // striped by storage key
}

func (s *crdtState) lock(key string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &s.locks[h.Sum32()%uint32(len(s.locks))]
}

// counterDelta adds d to this actor's total of key and returns the delta state.
func (s *crdtState) counterDelta(key string, d int64) crdt.Counter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counters == nil {
		s.counters = map[string]*crdt.Counter{}
	}
	c := s.counters[key]
	if c == nil {
		c = &crdt.Counter{}
		s.counters[key] = c
	}
	return c.Add(s.actor, d)
}

// mergeCRDT is ReplicaWrite for a CRDT storage key: merge rec's state into
// the stored one (or into the hint held for hintFor) and store the join under
// a version newer than both. applied is false when the join is what was
// stored already.
func (n *Node) mergeCRDT(key, typ string, rec storage.Record, hintFor string) (applied bool, err error) {
	if rec.Tombstone {
		return false, fmt.Errorf("CRDT value %q: a CRDT value is never deleted", key)
	}
	mu := n.crdt.lock(key)
	mu.Lock()
	defer mu.Unlock()
	var cur storage.Record
	var found bool
	if hintFor != "" {
		cur, found, err = n.hintOf(hintFor, key)
	} else {
		cur, found, err = n.engine.Get(key)
	}
	var state []byte
	intact := false
	switch {
	case errors.Is(err, storage.ErrCorrupt):
		// The damaged copy's state is lost here; the other replicas hold
		// it and a read's repair merges it back.
	case err != nil:
		return false, err
	case found:
		state, intact = cur.Value, true
	}
	merged, err := crdt.MergeEncoded(typ, state, rec.Value)
	if err != nil {
		return false, fmt.Errorf("merge into %q: %w", key, err)
	}
	if intact && bytes.Equal(merged, state) {
		return false, nil
	}
	v := n.newVersion()
	for _, older := range []storage.Version{cur.Version, rec.Version} {
		if !v.Newer(older) {
			v = older
			v.Logical++
		}
	}
	out := storage.Seal(key, storage.Record{Version: v, Value: merged})
	if hintFor != "" {
		if err := n.engine.PutHint(hintFor, key, out); err != nil {
			return false, err
		}
		if !found && n.metrics != nil {
			n.metrics.Hints.WithLabelValues("stored").Inc()
			n.metrics.HintsPending.Inc()
		}
		return true, nil
	}
	return n.engine.Put(key, out)
}

// hintOf returns the hint this node holds for target of key.
func (n *Node) hintOf(target, key string) (storage.Record, bool, error) {
	hints, err := n.engine.Hints(target, 0)
	if err != nil {
		return storage.Record{}, false, err
	}
	for _, h := range hints {
		if h.Key == key {
			return h.Record, true, nil
		}
	}
	return storage.Record{}, false, nil
}

// newVersion is a fresh version from this node's hybrid logical clock.
func (n *Node) newVersion() storage.Version {
	ts := n.clock.Now()
	return storage.Version{Time: ts.Wall, Logical: ts.Logical, Node: n.index, Seq: n.seq.Add(1)}
}

// storeRecord stores a record received from a peer's snapshot: merged for a
// CRDT key, newest-wins for the others.
func (n *Node) storeRecord(key string, rec storage.Record) (bool, error) {
	if typ, ok := crdtTypeOf(key); ok {
		return n.mergeCRDT(key, typ, rec, "")
	}
	return n.engine.Put(key, rec)
}

// CRDTUpdate coordinates an update of the CRDT value key of type typ: it
// makes the update's delta (a counter's new totals of this node's actor, a
// set's fresh tag, or the tags of the element a read quorum observed for a
// remove) and writes it like an eventual-mode write (sloppy quorum, hinted
// handoff), except that a home replica that neither it nor a stand-in could
// reach gets a hint held here: every replica receives every delta once the
// faults are gone. An error after the delta was made is indeterminate (500):
// the delta may have reached some replica, and this actor's later deltas
// carry its totals anyway.
func (n *Node) CRDTUpdate(ctx context.Context, typ, key string, op CRDTOp, rid string) error {
	skey := CRDTStorageKey(typ, key)
	var delta []byte
	switch {
	case op.Delta != nil && typ == crdt.TypeLWWCounter:
		// The naive counter: read (R replicas), add, write the sum under
		// this node's clock; the replicas keep the newest sum.
		state, err := n.CRDTRead(ctx, typ, key, rid)
		if err != nil {
			return err
		}
		c, err := crdt.DecodeLWWCounter(state)
		if err != nil {
			return err
		}
		v := n.newVersion()
		delta = crdt.LWWCounter{Value: c.Value + *op.Delta, Time: v.Time, Logical: v.Logical,
			Actor: n.crdt.actor + "." + strconv.FormatUint(uint64(v.Seq), 10)}.Encode()
	case op.Delta != nil:
		delta = n.crdt.counterDelta(skey, *op.Delta).Encode()
	case op.Add != nil:
		var s crdt.Set
		delta = s.Add(*op.Add, n.crdt.actor+"."+strconv.FormatUint(uint64(n.seq.Add(1)), 10)).Encode()
	default:
		state, err := n.CRDTRead(ctx, typ, key, rid)
		if err != nil {
			return err
		}
		s, err := crdt.DecodeSet(state)
		if err != nil {
			return err
		}
		d := s.Remove(*op.Remove)
		if d.Empty() {
			return nil // nothing observed, nothing to remove
		}
		delta = d.Encode()
	}
	rec := storage.Seal(skey, storage.Record{Version: n.newVersion(), Value: delta})
	peers := n.ring.Preference(skey, n.cfg.N)
	bg, cancel := n.detached(ctx)
	acks := n.startSloppyWrites(bg, peers, "", skey, rec, rid, true)
	ok, last := awaitAcks(ctx, acks, len(peers), n.cfg.W)
	if !ok {
		cancel()
		return &QuorumError{Op: "update " + skey, Need: n.cfg.W, Replicas: peers, DeadlinePassed: ctx.Err() != nil, Indeterminate: true, Last: last}
	}
	n.background.Go(func() { defer cancel(); drainErrs(bg, acks) })
	return nil
}

// CRDTRead reads the CRDT value key of type typ from a read quorum and
// returns the join of what it returned, encoded. Every replica that answered
// with less than the join of all the answers (gathered after the answer) is
// repaired by merging the join into it.
func (n *Node) CRDTRead(ctx context.Context, typ, key, rid string) ([]byte, error) {
	skey := CRDTStorageKey(typ, key)
	peers := n.ring.Preference(skey, n.cfg.N)
	bg, cancel := n.detached(ctx)
	replies := n.startReads(bg, peers, skey, rid, false)
	got, rest := collect(ctx, replies, len(peers), n.cfg.R)
	if len(got) < n.cfg.R {
		cancel()
		return nil, n.quorumError(ctx, "read "+skey, peers, n.cfg.R, got, rest)
	}
	merged, err := joinReplies(typ, nil, got)
	if err != nil {
		cancel()
		return nil, err
	}
	n.background.Go(func() {
		defer cancel()
		all := append(got, drain(bg, replies, len(peers)-len(got)-len(rest))...)
		all = append(all, rest...)
		join, err := joinReplies(typ, merged, all)
		if err != nil {
			return
		}
		rec := storage.Seal(skey, storage.Record{Version: n.newVersion(), Value: join})
		for _, r := range all {
			if r.Err != nil || (r.Found && !r.Corrupt && bytes.Equal(r.Rec.Value, join)) {
				continue
			}
			if err := n.writeReplica(bg, r.Peer, skey, rec, "", rid); err == nil {
				n.countRepairs(1)
			}
		}
	})
	return merged, nil
}

// joinReplies merges the intact states of replies into base.
func joinReplies(typ string, base []byte, replies []Reply) ([]byte, error) {
	out, err := crdt.MergeEncoded(typ, base, nil)
	if err != nil {
		return nil, err
	}
	for _, r := range replies {
		if r.Err != nil || !r.Found || r.Corrupt {
			continue
		}
		if out, err = crdt.MergeEncoded(typ, out, r.Rec.Value); err != nil {
			return nil, fmt.Errorf("state from %s: %w", r.Peer, err)
		}
	}
	return out, nil
}

// CRDTLocalView is the answer of GET /crdt/{type}/{key}?local=1: this node's
// own copy, for a read-back that compares the replicas.
type CRDTLocalView struct {
	crdt.View
	Node  string `json:"node"`
	Home  bool   `json:"home"`  // this node is one of the key's home replicas
	Found bool   `json:"found"` // this node stores the value
}

// serveCRDT is the client API of CRDT values (see docs/demo-cluster.md):
//
//	POST /crdt/{type}/{key}          an update (CRDTOp): 204, or 500 indeterminate
//	GET  /crdt/{type}/{key}          the join of a read quorum's copies: 200 crdt.View
//	GET  /crdt/{type}/{key}?local=1  this node's copy: 200 CRDTLocalView
//
// Only the eventual mode has them: the others answer 400.
func (n *Node) serveCRDT(w http.ResponseWriter, r *http.Request) {
	typ, key, _ := api.CRDTFromPath(r.URL.Path)
	if !crdt.KnownType(typ) {
		api.Error(w, http.StatusNotFound, fmt.Sprintf("crdt type %q unknown; allowed: %s", typ, strings.Join(crdt.Types(), ", ")))
		return
	}
	if err := api.ValidateKey(key); err != nil {
		api.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	if n.cfg.Consistency != Eventual {
		api.Error(w, http.StatusBadRequest, fmt.Sprintf("CRDT values need consistency eventual; this cluster runs %s", n.cfg.Consistency))
		return
	}
	arrived := n.suspects.now()
	ctx, cancel, ok := n.clientContext(w, r)
	if !ok {
		return
	}
	defer cancel()
	rid := r.Header.Get(api.HeaderRequestID)
	switch r.Method {
	case http.MethodGet:
		if r.URL.Query().Get("local") != "" {
			n.serveCRDTLocal(w, typ, key)
			return
		}
		state, err := n.CRDTRead(ctx, typ, key, rid)
		if err != nil {
			n.writeError(w, "get", err, arrived)
			return
		}
		view, err := crdt.ViewOf(typ, state)
		if err != nil {
			api.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, view)
	case http.MethodPost:
		var op CRDTOp
		dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&op); err != nil {
			api.Error(w, http.StatusBadRequest, "decode the update: "+err.Error())
			return
		}
		if err := op.Validate(typ); err != nil {
			api.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		if err := n.CRDTUpdate(ctx, typ, key, op, rid); err != nil {
			n.writeError(w, "update", err, arrived)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST")
		api.Error(w, http.StatusMethodNotAllowed, "method not allowed; use GET or POST")
	}
}

func (n *Node) serveCRDTLocal(w http.ResponseWriter, typ, key string) {
	if n.recovery.active() {
		api.Error(w, http.StatusServiceUnavailable, ErrRecovering.Error())
		return
	}
	skey := CRDTStorageKey(typ, key)
	rec, found, err := n.engine.Get(skey)
	if err != nil {
		api.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	view, err := crdt.ViewOf(typ, rec.Value)
	if err != nil {
		api.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	home := false
	for _, p := range n.ring.Preference(skey, n.cfg.N) {
		home = home || p == n.cfg.ID
	}
	writeJSON(w, CRDTLocalView{View: view, Node: n.cfg.ID, Home: home, Found: found})
}
