package gateway

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/cache"
	"github.com/chaosctl/chaosctl/targets/demo/resilience"
	"github.com/chaosctl/chaosctl/targets/demo/ring"
)

// WriteMode says how a gateway's writes meet its cache.
type WriteMode string

// The write modes.
const (
	// WriteInvalidate writes to the store, then drops the cached entry
	// (cache-aside).
	WriteInvalidate WriteMode = "invalidate"
	// WriteThrough writes to the store, then caches the written value.
	WriteThrough WriteMode = "through"
	// WriteBehind caches the value, queues the write and answers at once; a
	// background flusher writes to the store later. Queued writes die with the
	// gateway. With cache policy none nothing is cached, so reads do not see
	// queued writes until they are flushed.
	WriteBehind WriteMode = "behind"
)

// WriteModes lists the valid write modes.
var WriteModes = []WriteMode{WriteInvalidate, WriteThrough, WriteBehind}

// Defaults filled in by Config.Validate for zero fields.
const (
	DefaultVNodes           = 64
	DefaultReplicas         = 3
	DefaultWriteBehindQueue = 1024
	// DefaultWriteBehindBytes bounds the bytes (keys and values) of the
	// writes in the write-behind queue: 1024 writes of 1 MiB values would
	// otherwise hold a GiB.
	DefaultWriteBehindBytes = 64 << 20
)

// Resilience is the gateway's resilience config: timeout, retries, breakers,
// bulkheads, shedding and rate limit (see resilience.Config).
type Resilience = resilience.Config

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid gateway config")

// Config configures a gateway.
type Config struct {
	ID     string   // member name, e.g. g1
	Nodes  []string // store node ids, e.g. n1..n5
	VNodes int      // tokens per node on the ring (sharding hash); 0 = DefaultVNodes
	// Sharding is the placement scheme: placement.Hash ("" too) or
	// placement.Range with the split points Splits (see package placement).
	Sharding string
	Splits   []string
	Replicas int               // preference list length n; 0 = DefaultReplicas, capped at len(Nodes)
	Peers    map[string]string // node id -> "host:port" as this gateway reaches it (may be a proxy)
	Cache    cache.Config
	// WriteMode is how writes meet the cache; "" = WriteInvalidate.
	WriteMode WriteMode
	// WriteBehindQueue bounds the acknowledged writes not yet flushed in behind
	// mode (beyond it writes get 503); 0 = DefaultWriteBehindQueue.
	WriteBehindQueue int
	// WriteBehindBytes bounds the bytes (keys and values) of those writes
	// (beyond it writes get 503 too); 0 = DefaultWriteBehindBytes.
	WriteBehindBytes int64
	Resilience       Resilience
	// OnlyWriter says every write to the store passes through this gateway
	// (a cluster of one gateway whose clients do not write to the nodes
	// directly). Only then may the Bloom filter of Cache.Penetration bloom
	// answer absent on its own (see bloom.go).
	OnlyWriter bool
	// PeerToken is the store nodes' replica token: with penetration bloom
	// the gateway lists the store's keys through the nodes' snapshot
	// endpoint to seed its filter, and a range query lists each node's
	// records through its range endpoint. "" leaves the filter unseeded, so
	// never trusted, and makes every scan fail.
	PeerToken string
	// Scan is the range queries' per-shard deadline and partial-result
	// policy (scan.go).
	Scan ScanConfig
}

// ScanPolicy is what a range query answers when a shard's listing is missing.
type ScanPolicy string

// The partial-result policies.
const (
	// ScanFail answers 503 naming the shards that missed (api.HeaderPartial).
	ScanFail ScanPolicy = "fail"
	// ScanAllow answers 200 with what the other shards listed, naming the
	// shards that missed in api.HeaderPartial and the answer's partial.
	ScanAllow ScanPolicy = "allow"
)

// ScanPolicies lists the valid partial-result policies.
var ScanPolicies = []ScanPolicy{ScanFail, ScanAllow}

// DefaultScanShardTimeout is a shard's listing deadline when
// ScanConfig.ShardTimeout is zero.
const DefaultScanShardTimeout = 200 * time.Millisecond

// ScanConfig configures range queries (scatter-gather).
type ScanConfig struct {
	// ShardTimeout bounds each store node's listing (within the request's
	// own deadline); 0 = DefaultScanShardTimeout.
	ShardTimeout time.Duration
	// Partial is the policy when a shard misses its deadline or fails;
	// "" = ScanFail.
	Partial ScanPolicy
}

// validate fills the defaults; errors name the field.
func (s ScanConfig) validate() (ScanConfig, error) {
	if s.ShardTimeout < 0 {
		return s, fmt.Errorf("scan shardTimeout %s is negative", s.ShardTimeout)
	}
	s.ShardTimeout = cmp.Or(s.ShardTimeout, DefaultScanShardTimeout)
	s.Partial = cmp.Or(s.Partial, ScanFail)
	if !slices.Contains(ScanPolicies, s.Partial) {
		return s, fmt.Errorf("scan partial %q is unknown (valid: fail, allow)", s.Partial)
	}
	return s, nil
}

// Validate checks c, fills defaults and returns the completed config. Errors name
// the field and wrap ErrInvalidConfig.
func (c Config) Validate() (Config, error) {
	if c.ID == "" {
		return c, fmt.Errorf("gateway id is empty: %w", ErrInvalidConfig)
	}
	if len(c.Nodes) == 0 {
		return c, fmt.Errorf("gateway %s: nodes is empty; a gateway needs store nodes: %w", c.ID, ErrInvalidConfig)
	}
	for _, n := range c.Nodes {
		if c.Peers[n] == "" {
			return c, fmt.Errorf("gateway %s: node %s has no address in peers: %w", c.ID, n, ErrInvalidConfig)
		}
	}
	switch {
	case c.VNodes < 0 || c.VNodes > ring.MaxVNodes:
		return c, fmt.Errorf("gateway %s: vnodes %d outside [0, %d]: %w", c.ID, c.VNodes, ring.MaxVNodes, ErrInvalidConfig)
	case c.Replicas < 0:
		return c, fmt.Errorf("gateway %s: replicas %d is negative: %w", c.ID, c.Replicas, ErrInvalidConfig)
	case c.WriteBehindQueue < 0:
		return c, fmt.Errorf("gateway %s: writeBehindQueue %d is negative: %w", c.ID, c.WriteBehindQueue, ErrInvalidConfig)
	case c.WriteBehindBytes < 0:
		return c, fmt.Errorf("gateway %s: writeBehindBytes %d is negative: %w", c.ID, c.WriteBehindBytes, ErrInvalidConfig)
	}
	c.WriteMode = cmp.Or(c.WriteMode, WriteInvalidate)
	c.WriteMode = WriteMode(strings.ToLower(string(c.WriteMode)))
	known := false
	for _, w := range WriteModes {
		known = known || w == c.WriteMode
	}
	if !known {
		names := make([]string, len(WriteModes))
		for i, w := range WriteModes {
			names[i] = string(w)
		}
		return c, fmt.Errorf("gateway %s: writeMode %q is unknown (valid: %s): %w", c.ID, c.WriteMode, strings.Join(names, ", "), ErrInvalidConfig)
	}
	var err error
	if c.Scan, err = c.Scan.validate(); err != nil {
		return c, fmt.Errorf("gateway %s: %w: %w", c.ID, err, ErrInvalidConfig)
	}
	if c.Cache, err = c.Cache.Validate(); err != nil {
		return c, fmt.Errorf("gateway %s: %w", c.ID, err)
	}
	if c.Resilience, err = c.Resilience.Validate(); err != nil {
		return c, fmt.Errorf("gateway %s: %w", c.ID, err)
	}
	c.VNodes = cmp.Or(c.VNodes, DefaultVNodes)
	c.Replicas = cmp.Or(c.Replicas, DefaultReplicas)
	c.Replicas = min(c.Replicas, len(c.Nodes))
	c.WriteBehindQueue = cmp.Or(c.WriteBehindQueue, DefaultWriteBehindQueue)
	c.WriteBehindBytes = cmp.Or(c.WriteBehindBytes, DefaultWriteBehindBytes)
	return c, nil
}
