package node

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// errDeadline is returned by a replica call whose caller's deadline passed
// before the replica worked on it: it had no effect.
var errDeadline = errors.New("deadline passed before the replica call was worked on")

// ReplicaRead is the replica side of a read: this node's own copy of key. A
// recovering node refuses (ErrRecovering): it may have forgotten writes it
// acknowledged before it restarted.
func (n *Node) ReplicaRead(ctx context.Context, key string) Reply {
	if ctx.Err() != nil {
		n.countDeadlineDropped()
		return Reply{Peer: n.cfg.ID, Err: errDeadline}
	}
	if n.recovery.active() {
		return Reply{Peer: n.cfg.ID, Clock: n.clock.Now(), Err: ErrRecovering}
	}
	rec, found, err := n.engine.Get(key)
	rep := Reply{Peer: n.cfg.ID, Rec: rec, Found: found, Clock: n.clock.Now()}
	if errors.Is(err, storage.ErrCorrupt) {
		rep.Corrupt = true
		rep.Found = true
		if n.metrics != nil {
			n.metrics.Corruptions.WithLabelValues("detected").Inc()
		}
		n.log.WithField("key", key).Warn("stored copy fails its checksum")
		return rep
	}
	rep.Err = err
	return rep
}

// ReplicaWrite is the replica side of a write: store rec (or, with hintFor,
// hold it as a hint for that home replica). Unlike a client request or a
// replica read, a replica write is applied even when it arrives after its
// coordinator's deadline: the record was already sent to a quorum, so its
// write was acknowledged or reported indeterminate (never as failed: a 503
// comes only before any record is sent), and either allows it to take effect
// later; storing it keeps the replicas converging, and the version rule keeps
// a late record from overwriting a newer one. A recovering node accepts
// writes: it does hold what it acknowledges, only not yet what it forgot.
func (n *Node) ReplicaWrite(ctx context.Context, key string, rec storage.Record, hintFor string) (applied bool, err error) {
	if !rec.Verify(key) {
		return false, fmt.Errorf("record of %q fails its checksum in transit: %w", key, storage.ErrCorrupt)
	}
	if n.cfg.Consistency != Linearizable {
		n.observeClock(hlcOf(rec.Version))
	}
	if typ, ok := crdtTypeOf(key); ok {
		return n.mergeCRDT(key, typ, rec, hintFor)
	}
	if hintFor != "" {
		if err := n.engine.PutHint(hintFor, key, rec); err != nil {
			return false, err
		}
		if n.metrics != nil {
			n.metrics.Hints.WithLabelValues("stored").Inc()
			n.metrics.HintsPending.Inc()
		}
		return true, nil
	}
	if atMost, ok := conditionFrom(ctx); ok {
		unlock := n.condLocks.lock(key)
		defer unlock()
		if err := n.checkCondition(key, atMost); err != nil {
			return false, err
		}
	}
	applied, err = n.engine.Put(key, rec)
	if err == nil && !applied {
		n.noteRefusedRollback(key, rec)
	}
	return applied, err
}

// noteRefusedRollback counts and logs a write that was not applied because
// this node's copy is corrupt and claims a newer version: replacing it would
// roll the replica back (chaosdemo_corruptions_total{event="rollback_refused"}).
// Writes of older versions over intact copies are the normal case and say
// nothing.
func (n *Node) noteRefusedRollback(key string, rec storage.Record) {
	cur, found, err := n.engine.Get(key)
	if !found || !errors.Is(err, storage.ErrCorrupt) || rec.Version.Compare(cur.Version) >= 0 {
		return
	}
	if n.metrics != nil {
		n.metrics.Corruptions.WithLabelValues("rollback_refused").Inc()
	}
	n.log.WithFields(map[string]any{"key": key, "offered": rec.Version.String(), "claimed": cur.Version.String()}).
		Warn("corrupt copy kept: the write offered to repair it is older than the version it claims (a newer write or read repair will replace it)")
}

// ReplicaSnapshot returns every intact record this node holds of the keys that
// forNode replicates (its catch-up after a restart). Corrupt copies are left
// out: the other replicas supply those keys.
func (n *Node) ReplicaSnapshot(ctx context.Context, forNode string) ([]KeyRecord, error) {
	if !n.ring.Has(forNode) {
		return nil, fmt.Errorf("snapshot for %q: not a node of the ring", forNode)
	}
	var (
		out  []KeyRecord
		ferr error
		pref = make([]string, 0, n.cfg.N)
	)
	err := n.engine.Keys(func(key string) bool {
		if ferr = ctx.Err(); ferr != nil {
			return false
		}
		pref = n.ring.AppendPreference(pref[:0], key, n.cfg.N)
		mine := false
		for _, p := range pref {
			mine = mine || p == forNode
		}
		if !mine {
			return true
		}
		rec, found, err := n.engine.Get(key)
		if err != nil || !found {
			return true // corrupt (or gone since listed): others have it
		}
		out = append(out, KeyRecord{Key: key, Record: rec})
		return true
	})
	if err == nil {
		err = ferr
	}
	if err != nil {
		return nil, fmt.Errorf("snapshot for %s: %w", forNode, err)
	}
	return out, nil
}

// peersOnly lets through the requests that carry the peer token
// (Authorization: Bearer TOKEN, compared in constant time) and answers the
// others 401 without reading them. A node without a token refuses them all.
func (n *Node) peersOnly(h http.HandlerFunc) http.Handler {
	want := []byte("Bearer " + n.cfg.PeerToken)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.cfg.PeerToken == "" || subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			if n.metrics != nil {
				n.metrics.Unauthorized.WithLabelValues("replica").Inc()
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="replica"`)
			api.Error(w, http.StatusUnauthorized, "replica API: missing or wrong peer token")
			return
		}
		h(w, r)
	})
}

func (n *Node) serveReplica(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, replicaPrefix)
	if err := validateStorageKey(key); err != nil {
		api.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel, expired := api.IncomingContext(r, n.cfg.Timeout)
	defer cancel()
	if (expired || ctx.Err() != nil) && r.Method != http.MethodPut {
		// A late read is work nobody waits for; a late write is still
		// applied (see ReplicaWrite).
		n.countDeadlineDropped()
		api.Error(w, http.StatusGatewayTimeout, errDeadline.Error())
		return
	}
	switch r.Method {
	case http.MethodGet:
		rep := n.ReplicaRead(ctx, key)
		h := w.Header()
		if !rep.Clock.IsZero() {
			h.Set(headerClock, rep.Clock.String())
		}
		switch {
		case errors.Is(rep.Err, ErrRecovering):
			h.Set(headerRecover, "1")
			api.Error(w, http.StatusServiceUnavailable, rep.Err.Error())
			return
		case errors.Is(rep.Err, errDeadline):
			api.Error(w, http.StatusGatewayTimeout, rep.Err.Error())
			return
		case rep.Err != nil:
			api.Error(w, http.StatusInternalServerError, rep.Err.Error())
			return
		case !rep.Found:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		h.Set(api.HeaderVersion, rep.Rec.Version.String())
		h.Set(headerChecksum, strconv.FormatUint(uint64(rep.Rec.Checksum), 10))
		if rep.Rec.Tombstone {
			h.Set(headerTombstone, "1")
		}
		if rep.Corrupt {
			h.Set(headerCorrupt, "1")
		}
		w.WriteHeader(http.StatusOK)
		if r.URL.Query().Get("meta") == "" && !rep.Corrupt {
			_, _ = w.Write(rep.Rec.Value)
		}
	case http.MethodPut:
		rec, err := recordFromRequest(r)
		if err != nil {
			api.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		if h := r.Header.Get(headerIfAtMost); h != "" {
			atMost, err := storage.ParseVersion(h)
			if err != nil {
				api.Error(w, http.StatusBadRequest, fmt.Sprintf("bad %s: %v", headerIfAtMost, err))
				return
			}
			ctx = withCondition(ctx, atMost)
		}
		applied, err := n.ReplicaWrite(ctx, key, rec, r.Header.Get(headerHintFor))
		switch {
		case errors.Is(err, ErrConditionFailed):
			api.Error(w, http.StatusPreconditionFailed, err.Error())
			return
		case errors.Is(err, errDeadline):
			api.Error(w, http.StatusGatewayTimeout, err.Error())
			return
		case errors.Is(err, storage.ErrCorrupt):
			api.Error(w, http.StatusBadRequest, err.Error())
			return
		case err != nil:
			api.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set(headerApplied, strconv.FormatBool(applied))
		w.WriteHeader(http.StatusNoContent)
	default:
		api.Error(w, http.StatusMethodNotAllowed, "method not allowed")
	}
}

func (n *Node) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		api.Error(w, http.StatusMethodNotAllowed, "method not allowed; use GET")
		return
	}
	// A snapshot may take longer than one replica call: the caller's deadline
	// bounds it, not the node's request timeout.
	ctx, cancel, expired := api.IncomingContext(r, 0)
	defer cancel()
	if expired {
		api.Error(w, http.StatusGatewayTimeout, errDeadline.Error())
		return
	}
	recs, err := n.ReplicaSnapshot(ctx, r.URL.Query().Get("for"))
	if err != nil {
		api.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	for _, kr := range recs {
		if err := enc.Encode(snapshotLine{Key: kr.Key, Version: kr.Record.Version.String(), Tombstone: kr.Record.Tombstone,
			Checksum: kr.Record.Checksum, Value: kr.Record.Value}); err != nil {
			return
		}
	}
	_ = enc.Encode(snapshotLine{Key: snapshotEnd})
}

func recordFromRequest(r *http.Request) (storage.Record, error) {
	var rec storage.Record
	v, err := storage.ParseVersion(r.Header.Get(api.HeaderVersion))
	if err != nil {
		return rec, fmt.Errorf("bad %s: %w", api.HeaderVersion, err)
	}
	sum, err := strconv.ParseUint(r.Header.Get(headerChecksum), 10, 32)
	if err != nil {
		return rec, fmt.Errorf("bad %s: %w", headerChecksum, err)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, api.MaxValueLen+1))
	if err != nil {
		return rec, fmt.Errorf("read record: %w", err)
	}
	rec.Version = v
	rec.Checksum = uint32(sum)
	rec.Tombstone = r.Header.Get(headerTombstone) == "1"
	if len(body) > 0 {
		rec.Value = body
	}
	return rec, nil
}

// readReplica asks one replica (possibly this node) for its copy of key.
func (n *Node) readReplica(ctx context.Context, peer, key, rid string, meta bool) Reply {
	var rep Reply
	if peer == n.cfg.ID {
		rep = n.ReplicaRead(ctx, key)
	} else {
		rep = n.transport.Read(ctx, peer, key, meta, rid)
		if rep.Corrupt && n.metrics != nil {
			n.metrics.Corruptions.WithLabelValues("detected").Inc()
		}
		if !rep.Clock.IsZero() && n.cfg.Consistency != Linearizable {
			n.observeClock(rep.Clock)
		}
	}
	return rep
}

// writeReplica stores rec on one replica (possibly this node). hintFor, when set,
// asks the replica to hold the record as a hint for that home replica.
func (n *Node) writeReplica(ctx context.Context, peer, key string, rec storage.Record, hintFor, rid string) error {
	if peer == n.cfg.ID {
		_, err := n.ReplicaWrite(ctx, key, rec, hintFor)
		return err
	}
	return n.transport.Write(ctx, peer, key, rec, hintFor, rid)
}

// observeClock moves the node's clock past a timestamp received from a peer,
// within the clock's maximum offset (counted when it is clamped).
func (n *Node) observeClock(ts hlc.Timestamp) {
	if _, clamped := n.clock.Update(ts); clamped && n.metrics != nil {
		n.metrics.HLCClamped.Inc()
	}
}

func (n *Node) countDeadlineDropped() {
	if n.metrics != nil {
		n.metrics.DeadlineDropped.WithLabelValues("replica").Inc()
	}
}

func (n *Node) countReplica(peer, code string) {
	if n.metrics != nil {
		n.metrics.ReplicaRequests.WithLabelValues(peer, code).Inc()
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15))
}
