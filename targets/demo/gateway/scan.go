package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/placement"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// Range queries: scatter-gather over the shards that can own the range.
//
// A scan sends one listing request (api.RangePath) to every store node of
// every shard that can own keys in [from, to), in parallel, each with its own
// deadline (Config.Scan.ShardTimeout, within the request's). A shard is
// answered when one of its nodes answered; the answers are merged
// (mergeListings): the newest version of each key wins, deleted keys drop
// out, keys come in order, at most the limit. A shard none of whose nodes
// answered in time is missed, and the scan then fails (503) or answers
// without it (200), both naming the missed shards in api.HeaderPartial, as
// Config.Scan.Partial says.
//
// Consistency: each node lists its own copies (R=1 per node); the merge
// takes, per key, the newest version among the nodes that answered. With
// every node answering that is every replica of every key, so a scan sees
// each write acknowledged before it started, but it is not linearizable:
// the listings are taken at different moments, not at one point in time, so
// a scan concurrent with writes may see a later write of one key and miss an
// earlier write of another. With nodes missing, a key's newest copy may be on
// a missing node only.

// maxListingBytes bounds one node's listing on the wire: a longer one fails
// (the node counts as missed) rather than filling the gateway's memory.
const maxListingBytes = 64 << 20

// shard is a set of store nodes holding the same keys (a replica set); a scan
// needs the listing of one of them. Name labels it in api.HeaderPartial.
type shard struct {
	name  string
	nodes []string
}

// rangeShards returns the shards that can own keys in [from, to) (to ""
// means no upper bound). On the consistent-hash ring any node can hold any
// key, so every node is a shard of its own: a scan asks every node and
// needs every node. Range sharding keeps ranges together: the shards are the
// key ranges that overlap [from, to), each answered by any of its replicas.
func (g *Gateway) rangeShards(from, to string) []shard {
	if rp, ok := g.ring.(*placement.RangePlacement); ok {
		var out []shard
		for _, r := range rp.Ranges(g.cfg.Replicas) {
			if (r.End == "" || r.End > from) && (to == "" || r.Start < to) {
				out = append(out, shard{name: r.Shard, nodes: r.Replicas})
			}
		}
		return out
	}
	out := make([]shard, len(g.cfg.Nodes))
	for i, n := range g.cfg.Nodes {
		out[i] = shard{name: n, nodes: []string{n}}
	}
	return out
}

// ScanPartialError is a scan some of whose shards' listings are missing.
// Under policy fail it is the scan's error (503); under allow it is not
// returned when at least one shard answered.
type ScanPartialError struct {
	Missed []string // shard names, sorted
	Err    error    // the first missed shard's error
}

func (e *ScanPartialError) Error() string {
	return fmt.Sprintf("scan missed the listing of %s: %v", strings.Join(e.Missed, ", "), e.Err)
}

func (e *ScanPartialError) Unwrap() error { return e.Err }

// nodeListing is one node's listing of a range: its records in key order,
// more when its limit cut it short.
type nodeListing struct {
	recs []storage.KeyRecord
	more bool
}

// listResult is the outcome of one node's listing.
type listResult struct {
	node    string
	listing nodeListing
	took    time.Duration
	err     error
}

// Scan answers a range query: the live keys in [q.From, q.To) with their
// newest values, at most q.Limit, gathered from every shard that can own
// them (see the range queries' comment above). A bad query is a *StatusError
// (400); a missing shard under policy fail, or every shard missing, is a
// *ScanPartialError wrapping ErrUnavailable (503).
func (g *Gateway) Scan(ctx context.Context, q api.ScanQuery) (api.ScanAnswer, error) {
	if q.Limit < 1 || q.Limit > api.MaxScanLimit || (q.To != "" && q.To <= q.From) {
		return api.ScanAnswer{}, &StatusError{Code: http.StatusBadRequest, Reason: fmt.Sprintf("bad range query [%q, %q) limit %d", q.From, q.To, q.Limit)}
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, g.cfg.Resilience.Timeout)
		defer cancel()
	}
	shards := g.rangeShards(q.From, q.To)
	var nodes []string
	for _, s := range shards {
		for _, n := range s.nodes {
			if !slices.Contains(nodes, n) {
				nodes = append(nodes, n)
			}
		}
	}
	results := make([]listResult, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = g.listNode(ctx, n, q)
		}()
	}
	wg.Wait()

	g.m.ScanFanout.Observe(float64(len(nodes)))
	var slowest time.Duration
	byNode := make(map[string]listResult, len(results))
	for _, r := range results {
		slowest = max(slowest, r.took)
		byNode[r.node] = r
	}
	g.m.ScanSlowest.Observe(slowest.Seconds())

	listings, missed, firstErr := gather(shards, byNode)
	if len(missed) > 0 {
		perr := &ScanPartialError{Missed: missed, Err: fmt.Errorf("%w: %w", ErrUnavailable, firstErr)}
		if g.cfg.Scan.Partial == ScanFail || len(missed) == len(shards) {
			g.m.ScanPartial.WithLabelValues("failed").Inc()
			return api.ScanAnswer{}, perr
		}
		g.m.ScanPartial.WithLabelValues("served").Inc()
	}
	recs, next := mergeListings(listings, q.To, q.Limit)
	ans := api.ScanAnswer{Items: make([]api.ScanItem, len(recs)), Next: next, Partial: missed}
	for i, kr := range recs {
		ans.Items[i] = api.ScanItem{Key: kr.Key, Value: kr.Record.Value, Version: kr.Record.Version.String()}
	}
	return ans, nil
}

// gather sorts the node results into the listings to merge and the names of
// the shards none of whose nodes answered (sorted), with the first such
// shard's error.
func gather(shards []shard, byNode map[string]listResult) (listings []nodeListing, missed []string, firstErr error) {
	used := map[string]bool{}
	for _, s := range shards {
		answered := false
		var shardErr error
		for _, n := range s.nodes {
			r := byNode[n]
			if r.err != nil {
				shardErr = cmpErr(shardErr, fmt.Errorf("%s: %w", n, r.err))
				continue
			}
			answered = true
			if !used[n] {
				used[n] = true
				listings = append(listings, r.listing)
			}
		}
		if !answered {
			missed = append(missed, s.name)
			firstErr = cmpErr(firstErr, shardErr)
		}
	}
	slices.Sort(missed)
	return listings, missed, firstErr
}

// cmpErr keeps the first non-nil error.
func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// listNode fetches node's listing of q within the per-shard deadline. A node
// whose breaker is open or whose bulkhead is full is not asked (it misses);
// the outcome is reported to its breaker as a read's would be.
func (g *Gateway) listNode(ctx context.Context, node string, q api.ScanQuery) listResult {
	start := time.Now()
	res := listResult{node: node}
	next := 0
	c, err := g.pick([]string{node}, &next, nil)
	if err != nil {
		res.err = err
		return res
	}
	defer c.slot.Release()
	sctx, cancel := context.WithTimeout(ctx, g.cfg.Scan.ShardTimeout)
	defer cancel()
	var class string
	res.listing, class, res.err = g.fetchListing(sctx, node, q)
	res.took = time.Since(start)
	g.replicaCalls(node, class).Inc()
	switch {
	case res.err == nil:
		c.done(nil)
	case errors.Is(ctx.Err(), context.Canceled):
		c.done(context.Canceled) // the client went away: says nothing about the node
	default:
		c.done(res.err)
	}
	return res
}

// fetchListing makes the listing request to node; class labels
// chaosdemo_replica_requests_total{code}.
func (g *Gateway) fetchListing(ctx context.Context, node string, q api.ScanQuery) (l nodeListing, class string, err error) {
	if g.cfg.PeerToken == "" {
		return l, "error", errors.New("no peer token to list the store's records with")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+g.cfg.Peers[node]+api.RangePath+"?"+q.Encode(), nil)
	if err != nil {
		return l, "error", fmt.Errorf("list on %s: %w", node, err)
	}
	api.SetOutgoing(ctx, req, resilience.RequestIDFrom(ctx))
	req.Header.Set("Authorization", "Bearer "+g.cfg.PeerToken)
	resp, err := g.client.Do(req)
	if err != nil {
		class = "error"
		if errors.Is(err, context.DeadlineExceeded) {
			class = "timeout"
		}
		return l, class, fmt.Errorf("list on %s: %w", node, err)
	}
	defer resp.Body.Close()
	class = fmt.Sprint(resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return l, class, fmt.Errorf("list on %s: status %d %s", node, resp.StatusCode, resp.Header.Get(api.HeaderError))
	}
	var wire api.RangeListing
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxListingBytes)).Decode(&wire); err != nil {
		return l, "error", fmt.Errorf("list on %s: decode: %w", node, err)
	}
	l, err = decodeListing(wire)
	if err != nil {
		return l, "error", fmt.Errorf("list on %s: %w", node, err)
	}
	return l, class, nil
}

// decodeListing checks a node's listing: versions parse, records verify (a
// record damaged in transit fails the whole listing, as its node's newest
// copy of the key would otherwise be lost silently), keys ascend.
func decodeListing(wire api.RangeListing) (nodeListing, error) {
	l := nodeListing{recs: make([]storage.KeyRecord, len(wire.Items)), more: wire.More}
	for i, it := range wire.Items {
		v, err := storage.ParseVersion(it.Version)
		if err != nil {
			return nodeListing{}, fmt.Errorf("key %q: %w", it.Key, err)
		}
		rec := storage.Record{Version: v, Tombstone: it.Tombstone, Checksum: it.Checksum}
		if len(it.Value) > 0 {
			rec.Value = it.Value
		}
		if !rec.Verify(it.Key) {
			return nodeListing{}, fmt.Errorf("key %q fails its checksum in transit: %w", it.Key, storage.ErrCorrupt)
		}
		if i > 0 && it.Key <= wire.Items[i-1].Key {
			return nodeListing{}, fmt.Errorf("keys out of order: %q after %q", it.Key, wire.Items[i-1].Key)
		}
		l.recs[i] = storage.KeyRecord{Key: it.Key, Record: rec}
	}
	return l, nil
}

// mergeListings merges node listings of one range into its live keys: the
// newest version of each key wins, tombstones (deletes) drop out, keys that
// are not client keys (the CRDT values' "crdt/..." records) too; in key
// order, at most limit. A listing cut short at its own limit knows nothing
// past its last key, so the merge stops there (at the smallest such last
// key). next is where the range continues when keys may have been left out,
// "" when the answer covers all of [from, to).
func mergeListings(ls []nodeListing, to string, limit int) (recs []storage.KeyRecord, next string) {
	bound, bounded := "", false
	for _, l := range ls {
		if l.more && len(l.recs) > 0 {
			if last := l.recs[len(l.recs)-1].Key; !bounded || last < bound {
				bound, bounded = last, true
			}
		}
	}
	newest := map[string]storage.Record{}
	for _, l := range ls {
		for _, kr := range l.recs {
			if bounded && kr.Key > bound {
				break // listings are in key order
			}
			if cur, ok := newest[kr.Key]; !ok || kr.Record.Version.Newer(cur.Version) {
				newest[kr.Key] = kr.Record
			}
		}
	}
	for k, rec := range newest {
		if !rec.Tombstone && api.ValidateKey(k) == nil {
			recs = append(recs, storage.KeyRecord{Key: k, Record: rec})
		}
	}
	slices.SortFunc(recs, func(a, b storage.KeyRecord) int { return strings.Compare(a.Key, b.Key) })
	switch {
	case len(recs) > limit:
		recs = recs[:limit]
		next = after(recs[limit-1].Key)
	case bounded:
		next = after(bound)
	}
	if next != "" && to != "" && next >= to {
		next = ""
	}
	return recs, next
}

// after is the smallest key greater than k (bytewise order).
func after(k string) string { return k + "\x00" }

func (g *Gateway) serveScan(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		api.Error(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s; use GET (a range query) or /kv/{key}", r.Method, api.ScanPath))
		return
	}
	q, err := api.ParseScanQuery(r.URL.Query())
	if err != nil {
		api.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	ans, err := g.Scan(r.Context(), q)
	var perr *ScanPartialError
	if errors.As(err, &perr) {
		w.Header().Set(api.HeaderPartial, strings.Join(perr.Missed, ","))
		g.log.WithField("request_id", resilience.RequestIDFrom(r.Context())).WithError(err).Debug("scan failed")
		api.Error(w, http.StatusServiceUnavailable, "scan incomplete: no listing from "+strings.Join(perr.Missed, ", "))
		return
	}
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if len(ans.Partial) > 0 {
		w.Header().Set(api.HeaderPartial, strings.Join(ans.Partial, ","))
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(ans)
}
