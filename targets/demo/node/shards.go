package node

import (
	"cmp"
	"fmt"
	"slices"
)

// shardOwner names a shard and its owner, the labels of the shard metrics.
type shardOwner struct{ shard, owner string }

// countShardRequest counts a key-value client request by its key's shard.
func (n *Node) countShardRequest(key string) {
	if n.shards == nil {
		return
	}
	n.shards.Requests.WithLabelValues(n.ring.Shard(key), n.ring.Owner(key)).Inc()
}

// shardKeyCounts walks the stored keys and emits how many fall in each
// shard, in shard order: the chaosdemo_shard_keys collector. It is O(keys)
// per scrape, which the demo's key counts afford.
func (n *Node) shardKeyCounts(emit func(shard, owner string, count int)) error {
	counts := map[shardOwner]int{}
	if err := n.engine.Keys(func(key string) bool {
		counts[shardOwner{n.ring.Shard(key), n.ring.Owner(key)}]++
		return true
	}); err != nil {
		return fmt.Errorf("count keys by shard: %w", err)
	}
	order := make([]shardOwner, 0, len(counts))
	for s := range counts {
		order = append(order, s)
	}
	slices.SortFunc(order, func(a, b shardOwner) int {
		if len(a.shard) != len(b.shard) { // r2 before r10
			return len(a.shard) - len(b.shard)
		}
		return cmp.Compare(a.shard, b.shard)
	})
	for _, s := range order {
		emit(s.shard, s.owner, counts[s])
	}
	return nil
}
