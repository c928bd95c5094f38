package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

const replicaPrefix = "/internal/v1/replica/"

// Replica API headers.
const (
	headerTombstone = "X-Tombstone"
	headerChecksum  = "X-Checksum"
	headerCorrupt   = "X-Corrupt"
	headerHintFor   = "X-Hint-For"
	headerApplied   = "X-Applied"
)

// reply is one replica's answer to a read.
type reply struct {
	peer    string
	rec     storage.Record
	found   bool
	corrupt bool // the replica's copy failed its checksum
	err     error
}

func (n *Node) serveReplica(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, replicaPrefix)
	if err := api.ValidateKey(key); err != nil {
		api.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel, expired := api.IncomingContext(r, n.cfg.Timeout)
	defer cancel()
	if expired || ctx.Err() != nil {
		if n.metrics != nil {
			n.metrics.DeadlineDropped.WithLabelValues("replica").Inc()
		}
		api.Error(w, http.StatusGatewayTimeout, "deadline passed before the replica call was worked on")
		return
	}
	switch r.Method {
	case http.MethodGet:
		rep := n.localRead(key)
		if rep.err != nil {
			api.Error(w, http.StatusInternalServerError, rep.err.Error())
			return
		}
		if !rep.found {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set(api.HeaderVersion, rep.rec.Version.String())
		h.Set(headerChecksum, strconv.FormatUint(uint64(rep.rec.Checksum), 10))
		if rep.rec.Tombstone {
			h.Set(headerTombstone, "1")
		}
		if rep.corrupt {
			h.Set(headerCorrupt, "1")
		}
		w.WriteHeader(http.StatusOK)
		if r.URL.Query().Get("meta") == "" {
			_, _ = w.Write(rep.rec.Value)
		}
	case http.MethodPut:
		rec, err := recordFromRequest(r)
		if err != nil {
			api.Error(w, http.StatusBadRequest, err.Error())
			return
		}
		if !rec.Verify(key) {
			api.Error(w, http.StatusBadRequest, "record fails its checksum in transit")
			return
		}
		if n.cfg.Consistency != Linearizable {
			n.clock.Update(hlcOf(rec.Version))
		}
		var applied bool
		if target := r.Header.Get(headerHintFor); target != "" {
			err = n.engine.PutHint(target, key, rec)
			applied = err == nil
			if err == nil && n.metrics != nil {
				n.metrics.Hints.WithLabelValues("stored").Inc()
				n.metrics.HintsPending.Inc()
			}
		} else {
			applied, err = n.engine.Put(key, rec)
		}
		if err != nil {
			api.Error(w, http.StatusInternalServerError, err.Error())
			return
		}
		w.Header().Set(headerApplied, strconv.FormatBool(applied))
		w.WriteHeader(http.StatusNoContent)
	default:
		api.Error(w, http.StatusMethodNotAllowed, "method not allowed")
	}
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

// localRead reads this node's own copy.
func (n *Node) localRead(key string) reply {
	rec, found, err := n.engine.Get(key)
	rep := reply{peer: n.cfg.ID, rec: rec, found: found}
	if errors.Is(err, storage.ErrCorrupt) {
		rep.corrupt = true
		rep.found = true
		if n.metrics != nil {
			n.metrics.Corruptions.WithLabelValues("detected").Inc()
		}
		n.log.WithField("key", key).Warn("stored copy fails its checksum")
		return rep
	}
	rep.err = err
	return rep
}

// readReplica asks one replica (possibly this node) for its copy of key.
func (n *Node) readReplica(ctx context.Context, peer, key, rid string, meta bool) reply {
	if peer == n.cfg.ID {
		return n.localRead(key)
	}
	url := "http://" + n.cfg.Peers[peer] + replicaPrefix + key
	if meta {
		url += "?meta=1"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return reply{peer: peer, err: err}
	}
	api.SetOutgoing(ctx, req, rid)
	resp, err := n.client.Do(req)
	if err != nil {
		n.countReplica(peer, errorClass(err))
		return reply{peer: peer, err: fmt.Errorf("read %s from %s: %w", key, peer, err)}
	}
	defer resp.Body.Close()
	n.countReplica(peer, strconv.Itoa(resp.StatusCode))
	switch resp.StatusCode {
	case http.StatusNotFound:
		_, _ = io.Copy(io.Discard, resp.Body)
		return reply{peer: peer}
	case http.StatusOK:
	default:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return reply{peer: peer, err: fmt.Errorf("read %s from %s: status %d", key, peer, resp.StatusCode)}
	}
	v, err := storage.ParseVersion(resp.Header.Get(api.HeaderVersion))
	if err != nil {
		return reply{peer: peer, err: fmt.Errorf("read %s from %s: %w", key, peer, err)}
	}
	sum, _ := strconv.ParseUint(resp.Header.Get(headerChecksum), 10, 32)
	rep := reply{peer: peer, found: true, rec: storage.Record{
		Version:   v,
		Tombstone: resp.Header.Get(headerTombstone) == "1",
		Checksum:  uint32(sum),
	}}
	if resp.Header.Get(headerCorrupt) == "1" {
		rep.corrupt = true
		if n.metrics != nil {
			n.metrics.Corruptions.WithLabelValues("detected").Inc()
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		return rep
	}
	if !meta {
		body, err := io.ReadAll(io.LimitReader(resp.Body, api.MaxValueLen+1))
		if err != nil {
			return reply{peer: peer, err: fmt.Errorf("read %s from %s: %w", key, peer, err)}
		}
		if len(body) > 0 {
			rep.rec.Value = body
		}
		if !rep.rec.Verify(key) {
			// Damaged in transit: treat like a corrupt copy, never serve it.
			rep.corrupt = true
		}
	}
	return rep
}

// writeReplica stores rec on one replica (possibly this node). hintFor, when set,
// asks the replica to hold the record as a hint for that home replica.
func (n *Node) writeReplica(ctx context.Context, peer, key string, rec storage.Record, hintFor, rid string) error {
	if peer == n.cfg.ID {
		if hintFor != "" {
			if err := n.engine.PutHint(hintFor, key, rec); err != nil {
				return err
			}
			if n.metrics != nil {
				n.metrics.Hints.WithLabelValues("stored").Inc()
				n.metrics.HintsPending.Inc()
			}
			return nil
		}
		_, err := n.engine.Put(key, rec)
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://"+n.cfg.Peers[peer]+replicaPrefix+key, strings.NewReader(string(rec.Value)))
	if err != nil {
		return err
	}
	req.ContentLength = int64(len(rec.Value))
	h := req.Header
	h.Set(api.HeaderVersion, rec.Version.String())
	h.Set(headerChecksum, strconv.FormatUint(uint64(rec.Checksum), 10))
	if rec.Tombstone {
		h.Set(headerTombstone, "1")
	}
	if hintFor != "" {
		h.Set(headerHintFor, hintFor)
	}
	api.SetOutgoing(ctx, req, rid)
	resp, err := n.client.Do(req)
	if err != nil {
		n.countReplica(peer, errorClass(err))
		return fmt.Errorf("write %s to %s: %w", key, peer, err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	n.countReplica(peer, strconv.Itoa(resp.StatusCode))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("write %s to %s: status %d", key, peer, resp.StatusCode)
	}
	return nil
}

func (n *Node) countReplica(peer, code string) {
	if n.metrics != nil {
		n.metrics.ReplicaRequests.WithLabelValues(peer, code).Inc()
	}
}

// errorClass names a transport error for metrics.
func errorClass(err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) && ne.Timeout() {
		return "timeout"
	}
	return "error"
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
