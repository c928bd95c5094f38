package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/chaosctl/chaosctl/targets/demo/api"
)

// ReplicaRange is the node-local listing of a range query (a gateway's
// scatter-gather, api.ScanPath): this node's own records with keys in
// [q.From, q.To), in key order, at most q.Limit, tombstones included, each
// the one (newest) version the node holds. Copies that fail their checksum
// are left out (counted as detected): the key's other replicas list it. A
// recovering node refuses (ErrRecovering), as it does replica reads: it may
// have forgotten writes it acknowledged.
func (n *Node) ReplicaRange(ctx context.Context, q api.ScanQuery) (recs []KeyRecord, more bool, err error) {
	if ctx.Err() != nil {
		n.countDeadlineDropped()
		return nil, false, errDeadline
	}
	if n.recovery.active() {
		return nil, false, ErrRecovering
	}
	all, more, err := n.engine.Range(q.From, q.To, q.Limit)
	if err != nil {
		return nil, false, fmt.Errorf("list [%q, %q): %w", q.From, q.To, err)
	}
	recs = all[:0]
	for _, kr := range all {
		if !kr.Record.Verify(kr.Key) {
			if n.metrics != nil {
				n.metrics.Corruptions.WithLabelValues("detected").Inc()
			}
			n.log.WithField("key", kr.Key).Warn("stored copy fails its checksum (left out of a range listing)")
			continue
		}
		recs = append(recs, kr)
	}
	return recs, more, nil
}

func (n *Node) serveRange(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		api.Error(w, http.StatusMethodNotAllowed, "method not allowed; use GET")
		return
	}
	q, err := api.ParseScanQuery(r.URL.Query())
	if err != nil {
		api.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel, expired := api.IncomingContext(r, n.cfg.Timeout)
	defer cancel()
	if expired {
		n.countDeadlineDropped()
		api.Error(w, http.StatusGatewayTimeout, errDeadline.Error())
		return
	}
	recs, more, err := n.ReplicaRange(ctx, q)
	switch {
	case errors.Is(err, ErrRecovering):
		w.Header().Set(headerRecover, "1")
		api.Error(w, http.StatusServiceUnavailable, err.Error())
		return
	case errors.Is(err, errDeadline):
		api.Error(w, http.StatusGatewayTimeout, err.Error())
		return
	case err != nil:
		api.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := api.RangeListing{Items: make([]api.RangeItem, len(recs)), More: more}
	for i, kr := range recs {
		out.Items[i] = api.RangeItem{Key: kr.Key, Version: kr.Record.Version.String(), Tombstone: kr.Record.Tombstone,
			Checksum: kr.Record.Checksum, Value: kr.Record.Value}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out) // compact: a listing may hold api.MaxScanLimit values
}
