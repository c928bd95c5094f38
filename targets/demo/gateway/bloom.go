package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/cache"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
)

// The gateway's side of cache.PenetrationBloom: a cache.KeyFilter of the keys
// that exist, checked before the cache and the store.
//
// The rule that keeps it sound (a Bloom filter that says absent for a key
// that exists loses that key for every reader):
//
//  1. A PUT adds its key to the filter before it is sent to the store (or
//     queued, in behind mode), so a key this gateway writes is in the filter
//     before any node can hold it.
//  2. At start (Run) the gateway seeds the filter from a complete listing of
//     the store: every node's snapshot (the replica API's, with the peer
//     token). Until a listing with every node in it has been read, the
//     filter is not trusted: a key it has not seen is read from the store
//     (chaosdemo_bloom_checks_total{result="unverified"}).
//  3. Writes that bypass this gateway are invisible to it: another gateway's,
//     a client's straight to a node. So the filter is trusted only when the
//     config says this gateway is the only writer (Config.OnlyWriter: the
//     member wiring sets it for a cluster of one gateway). With several
//     gateways the filter never answers absent on its own: a key it has not
//     seen is read from the store, and learnt when found. Bloom then protects
//     nothing, but it never answers wrongly. Sharing the filter
//     between gateways (each pushing its added keys to the others before a
//     write is acknowledged) is what would make it protect there.
//
// Known gap: a node's snapshot lists the keys of its store, not its hinted
// handoffs. A key whose every acknowledged copy was a hint when the gateway
// seeded (the key's home replicas were all down) is missing from the listing;
// once the hints are delivered a read of it through this gateway answers 404
// until the gateway restarts. It takes a write acknowledged only by hints,
// then a gateway restart before their delivery.

// snapshotPath is the store nodes' replica snapshot endpoint (node package,
// peer token required): JSON lines {"k": key, "v": version, "t": tombstone,
// ...}, closed by {"k": "end"} with no version.
const snapshotPath = "/internal/v1/snapshot"

// seedRetry bounds the pause between seeding attempts.
const seedRetry = 2 * time.Second

// checkFilter runs the filter in front of a read: absent answers not-found at
// once (done true); otherwise read runs and its outcome feeds the filter's
// measurements: a maybe that found nothing is a false positive, an unverified
// key that was found is learnt.
func (g *Gateway) checkFilter(ctx context.Context, key string, read func(context.Context, string) (cache.Entry, error)) (cache.Entry, error) {
	answer := g.filter.Check(key)
	if answer == cache.FilterAbsent {
		return cache.Entry{Found: false}, nil
	}
	e, err := read(ctx, key)
	switch {
	case err != nil:
	case !e.Found && answer == cache.FilterMaybe:
		g.filter.FalsePositive()
	case e.Found && answer == cache.FilterUnverified:
		g.filter.Learn(key)
	}
	return e, err
}

// SeedFilter seeds the Bloom filter from one listing of every node's keys.
// It fails, leaving the filter untrusted, when any node cannot be listed. A
// no-op unless penetration is bloom.
func (g *Gateway) SeedFilter(ctx context.Context) error {
	if g.filter == nil {
		return nil
	}
	if g.cfg.PeerToken == "" {
		return errors.New("seed the bloom filter: no peer token to list the store's keys with")
	}
	var keys []string
	for _, n := range g.cfg.Nodes {
		k, err := g.listKeys(ctx, n)
		if err != nil {
			return fmt.Errorf("seed the bloom filter: %w", err)
		}
		keys = append(keys, k...)
	}
	g.filter.Seed(keys)
	g.log.WithField("keys", len(keys)).WithField("trusted", g.filter.Trusted()).Info("bloom filter seeded from the store")
	return nil
}

// seedFilterUntilDone retries SeedFilter with backoff until it succeeds or ctx
// ends.
func (g *Gateway) seedFilterUntilDone(ctx context.Context) {
	for attempt := 0; ; attempt++ {
		err := g.SeedFilter(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		g.log.WithError(err).Debug("bloom filter not seeded yet")
		if resilience.Sleep(ctx, resilience.Backoff(attempt, 100*time.Millisecond, seedRetry, g.rng)) != nil {
			return
		}
	}
}

// listKeys reads node's snapshot of every key it holds (a snapshot "for" a
// node lists the keys that node replicates, so every node is asked for every
// node: the union is all the node holds), tombstones left out.
func (g *Gateway) listKeys(ctx context.Context, node string) ([]string, error) {
	var keys []string
	for _, forNode := range g.cfg.Nodes {
		k, err := g.snapshotKeys(ctx, node, forNode)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k...)
	}
	return keys, nil
}

func (g *Gateway) snapshotKeys(ctx context.Context, node, forNode string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	u := "http://" + g.cfg.Peers[node] + snapshotPath + "?for=" + url.QueryEscape(forNode)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("list the keys of %s: %w", node, err)
	}
	api.SetOutgoing(ctx, req, "")
	req.Header.Set("Authorization", "Bearer "+g.cfg.PeerToken)
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list the keys of %s: %w", node, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("list the keys of %s: status %d %s", node, resp.StatusCode, resp.Header.Get(api.HeaderError))
	}
	return decodeSnapshotKeys(resp.Body, node)
}

// snapshotKey is the part of a snapshot line the filter needs.
type snapshotKey struct {
	Key       string `json:"k"`
	Version   string `json:"v"`
	Tombstone bool   `json:"t"`
}

// decodeSnapshotKeys reads the live keys of a snapshot stream; one cut off
// before its end line is an error (a short listing would make the filter
// lie).
func decodeSnapshotKeys(r io.Reader, node string) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4*api.MaxValueLen)
	var keys []string
	for n := 1; sc.Scan(); n++ {
		var l snapshotKey
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("list the keys of %s: line %d: %w", node, n, err)
		}
		if l.Key == "end" && l.Version == "" {
			return keys, nil
		}
		if !l.Tombstone {
			keys = append(keys, l.Key)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("list the keys of %s: %w", node, err)
	}
	return nil, fmt.Errorf("list the keys of %s: the listing ended before its end line", node)
}
