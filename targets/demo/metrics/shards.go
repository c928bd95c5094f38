package metrics

import "github.com/prometheus/client_golang/prometheus"

// Shard metric names (with Namespace): the load of each shard of the store,
// so that a hot spot shows. A shard is what the cluster's sharding scheme
// cuts the key space into: under hash, the keys a node owns as primary (the
// shard is named after the node); under range, one range (r0, r1, ...).
const (
	ShardRequestsName = "shard_requests_total"
	ShardKeysName     = "shard_keys"
)

// Shards holds a store node's per-shard metrics.
type Shards struct {
	// Requests counts the key-value client requests this node coordinated,
	// by the key's shard and the shard's owner:
	// chaosdemo_shard_requests_total{shard,owner}.
	Requests *prometheus.CounterVec
}

// NewShards creates the per-shard request counter and registers it, with
// keys, a collector of chaosdemo_shard_keys{shard,owner}: the keys this node
// stores (tombstones included) by shard, counted at each scrape. keys calls
// its argument once per shard with the shard's owner and count. Call it once
// per member.
func (m *Member) NewShards(keys func(emit func(shard, owner string, count int)) error) *Shards {
	s := &Shards{Requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: ShardRequestsName,
		Help: "Key-value client requests this store node received (as coordinator, or as a Raft follower that forwards them), by the key's shard (hash: the owner node; range: the range, r0, r1, ...) and the shard's owner."},
		[]string{"shard", "owner"})}
	m.Registry.MustRegister(s.Requests, &shardKeys{keys: keys, desc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", ShardKeysName),
		"Keys this store node holds (tombstones included), by shard and the shard's owner, counted at each scrape.",
		[]string{"shard", "owner"}, nil)})
	return s
}

// shardKeys counts the stored keys by shard when scraped.
type shardKeys struct {
	keys func(emit func(shard, owner string, count int)) error
	desc *prometheus.Desc
}

func (c *shardKeys) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *shardKeys) Collect(ch chan<- prometheus.Metric) {
	err := c.keys(func(shard, owner string, count int) {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(count), shard, owner)
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
	}
}
