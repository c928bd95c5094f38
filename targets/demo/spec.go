package demo

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/chaosctl/chaosctl/internal/keyspace"
	"github.com/chaosctl/chaosctl/targets/demo/node"
	"github.com/chaosctl/chaosctl/targets/demo/placement"
	"github.com/chaosctl/chaosctl/targets/demo/raftkv"
)

// Defaults of a cluster, reused as flag defaults by the CLI.
const (
	DefaultNodes       = 5
	DefaultGateways    = 1
	DefaultVNodes      = 64
	DefaultReplicas    = 3
	DefaultWriteQuorum = 2
	DefaultReadQuorum  = 2
	DefaultConsistency = node.Linearizable
	DefaultSharding    = placement.Hash
	// DefaultSplitKeys is the workload's default key count, whose random
	// key names a range cluster given no split points is cut by.
	DefaultSplitKeys = keyspace.DefaultKeys

	DefaultTimeout        = 500 * time.Millisecond
	DefaultRetries        = 2
	DefaultRetryBase      = 10 * time.Millisecond
	DefaultRetryCap       = 200 * time.Millisecond
	DefaultBreakerFails   = 5
	DefaultBreakerOpen    = 2 * time.Second
	DefaultBreakerMaxOpen = 1.0 // share of nodes whose breakers may be open at once
	DefaultHedgeAfter     = 50 * time.Millisecond
	DefaultHedgeBudget    = 0.1 // share of reads that may be hedged
	DefaultBulkhead       = 32
	DefaultMaxInflight    = 512

	DefaultCacheSize        = 10000
	DefaultCacheTTL         = 10 * time.Second
	DefaultNegativeTTL      = time.Second
	DefaultPenetration      = PenetrationNegative
	DefaultBloomFalsePos    = 0.01
	DefaultWriteBehindQueue = 1024

	DefaultScanShardTimeout = 200 * time.Millisecond

	MaxNodes    = 64
	MaxGateways = 16
)

// Persistence modes.
const (
	PersistMemory = "memory"
	PersistDisk   = "disk"
)

// Write modes of the gateway cache.
const (
	WriteInvalidate = "invalidate"
	WriteThrough    = "through"
	WriteBehind     = "behind"
)

// ClusterSpec is a whole demo cluster.
type ClusterSpec struct {
	Nodes    int `json:"nodes"`
	Gateways int `json:"gateways"`
	VNodes   int `json:"vnodes"`
	// Sharding is the placement of keys on the store nodes: hash (the
	// consistent-hash ring, the default) or range (ordered key ranges cut at
	// Splits; see package placement). Range with no Splits takes
	// DefaultSplits.
	Sharding    string      `json:"sharding,omitempty"`
	Splits      []string    `json:"splits,omitempty"`
	Replication Replication `json:"replication"`
	Consistency string      `json:"consistency"`
	Persistence string      `json:"persistence"`
	Recovery    string      `json:"recovery"` // resync | none: a restarted in-memory node's catch-up
	// RaftReads is Raft mode's read path: index (ReadIndex, the default) or
	// lease (a read lease judged on each node's clock; see raftkv.ReadLease).
	RaftReads  string     `json:"raftReads,omitempty"`
	Cache      CacheSpec  `json:"cache"`
	Resilience Resilience `json:"resilience"`
	Scan       ScanSpec   `json:"scan"`
}

// ScanSpec configures the gateways' range queries (GET /kv?from=&to=).
type ScanSpec struct {
	ShardTimeout time.Duration `json:"shardTimeout"` // each node's listing; 0 = DefaultScanShardTimeout
	Partial      string        `json:"partial"`      // fail | allow; "" = fail
}

// Partial-result policies of a range query (scan.partial).
const (
	ScanPartialFail  = "fail"  // 503 naming the missed shards
	ScanPartialAllow = "allow" // 200 with the others' keys, the missed shards named
)

// Replication is n replicas per key with write quorum w and read quorum r.
type Replication struct {
	N int `json:"n"`
	W int `json:"w"`
	R int `json:"r"`
}

// Cache penetration defences (cache.penetration): what stops a flood of reads
// of missing keys from reaching the store.
const (
	PenetrationNone     = "none"     // every read of a missing key reaches the store
	PenetrationNegative = "negative" // not-found answers cached for negativeTTL (needs a cache policy)
	PenetrationBloom    = "bloom"    // a Bloom filter of existing keys in each gateway
)

// CacheSpec configures the gateways' cache. Policy "none" (the default) turns it off.
type CacheSpec struct {
	Policy           string        `json:"policy"` // none | lru | arc | 2q | lfu
	Size             int           `json:"size"`
	TTL              time.Duration `json:"ttl"`
	TTLJitter        float64       `json:"ttlJitter"` // fraction 0..1
	NegativeTTL      time.Duration `json:"negativeTTL"`
	WriteMode        string        `json:"writeMode"`        // invalidate | through | behind
	WriteBehindQueue int           `json:"writeBehindQueue"` // queued writes at most (behind)
	NoSingleflight   bool          `json:"noSingleflight"`   // let every miss reach the store (to show a stampede)
	EarlyRefreshBeta float64       `json:"earlyRefreshBeta"` // XFetch β; 0 = default 1, <0 = off
	StaleIfError     time.Duration `json:"staleIfError"`
	// Penetration is the defence against reads of missing keys: bloom |
	// negative | none; default negative (negativeTTL's caching of not-found
	// answers, the behaviour before the field existed).
	Penetration string `json:"penetration,omitempty"`
	// BloomFalsePositive is the false positive rate the gateways' Bloom
	// filters are sized for (penetration bloom), in (0, 0.5]; default 0.01.
	BloomFalsePositive float64 `json:"bloomFalsePositive,omitempty"`
}

// Resilience configures the gateways' calls to the store and every member's
// admission control.
type Resilience struct {
	Timeout     time.Duration `json:"timeout"`
	Retries     Retries       `json:"retries"`
	Breaker     Breaker       `json:"breaker"`
	Hedge       Hedge         `json:"hedge"`
	Bulkhead    int           `json:"bulkhead"`
	MaxInflight int           `json:"maxInflight"`
	RateLimit   float64       `json:"rateLimit"` // requests/s per gateway, 0 = off
	// RetryBudget, in [0, 1], caps a gateway's retries at that share of its
	// recent requests (plus a floor of 10 a second); 0 = off (the default).
	RetryBudget float64   `json:"retryBudget"`
	Admission   Admission `json:"admission"`
}

// Admission is every member's admission control beyond the static in-flight
// limit (see resilience.AdmissionConfig). The zero value is today's
// behaviour: a static limit, no queueing-delay test, no priority.
type Admission struct {
	Limit         string        `json:"limit"`         // static | aimd; "" = static
	Target        time.Duration `json:"target"`        // aimd latency target; 0 = default
	Queue         string        `json:"queue"`         // none | codel; "" = none
	QueueTarget   time.Duration `json:"queueTarget"`   // codel target delay; 0 = default
	QueueInterval time.Duration `json:"queueInterval"` // codel interval; 0 = default
	Priority      bool          `json:"priority"`      // shed writes (low priority) before reads
}

// Retries is exponential backoff with full jitter.
type Retries struct {
	Max  int           `json:"max"`
	Base time.Duration `json:"base"`
	Cap  time.Duration `json:"cap"`
}

// Breaker opens after Failures consecutive failures, for OpenFor.
type Breaker struct {
	Failures int           `json:"failures"` // 0 = default
	OpenFor  time.Duration `json:"openFor"`
	MaxOpen  float64       `json:"maxOpen"`  // share of nodes whose breakers may be open at once, (0, 1]; 0 = default
	Disabled bool          `json:"disabled"` // never open (to show life without a breaker)
	// Trip is consecutive (Failures in a row; "" too) or errorRate (at
	// least ErrorRate of at least MinRequests calls over Window failed, a
	// timeout while the node answered others not counting).
	Trip        string        `json:"trip"`
	ErrorRate   float64       `json:"errorRate"`   // (0, 1]; 0 = default
	MinRequests int           `json:"minRequests"` // 0 = default
	Window      time.Duration `json:"window"`      // 0 = default
}

// Hedge, when Enabled, sends a read its first node has not answered within
// the hedge delay to the next node too (at most Budget of reads over time).
type Hedge struct {
	Enabled bool          `json:"enabled"` // off by default
	After   time.Duration `json:"after"`   // 0 = default
	Budget  float64       `json:"budget"`  // (0, 1]; 0 = default
}

// DefaultClusterSpec returns the documented defaults (docs/demo-cluster.md).
func DefaultClusterSpec() ClusterSpec {
	s := ClusterSpec{Gateways: DefaultGateways}
	_ = s.Validate()
	return s
}

// Validate fills zero fields with defaults (except Gateways: a cluster may have
// none) and rejects impossible settings.
func (s *ClusterSpec) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&s.Nodes, DefaultNodes)
	def(&s.VNodes, DefaultVNodes)
	s.Consistency = cmp.Or(s.Consistency, DefaultConsistency)
	if s.Consistency == node.Eventual {
		def(&s.Replication.W, 1)
		def(&s.Replication.R, 1)
	}
	def(&s.Replication.N, min(DefaultReplicas, max(s.Nodes, 1)))
	def(&s.Replication.W, s.Replication.N/2+1)
	def(&s.Replication.R, s.Replication.N/2+1)
	s.Persistence = cmp.Or(s.Persistence, PersistMemory)
	s.Recovery = cmp.Or(s.Recovery, node.RecoveryResync)
	if s.Nodes < 1 || s.Nodes > MaxNodes {
		bad("nodes %d: must be 1..%d", s.Nodes, MaxNodes)
	}
	if s.Gateways < 0 || s.Gateways > MaxGateways {
		bad("gateways %d: must be 0..%d", s.Gateways, MaxGateways)
	}
	if s.VNodes < 1 || s.VNodes > 4096 {
		bad("vnodes %d: must be 1..4096", s.VNodes)
	}
	s.Sharding = cmp.Or(s.Sharding, DefaultSharding)
	if s.Sharding == placement.Range && len(s.Splits) == 0 && s.Nodes >= 1 && s.Nodes <= MaxNodes {
		s.Splits = DefaultSplits(keyspace.Random, DefaultSplitKeys, s.Nodes)
	}
	if s.Nodes >= 1 && s.Nodes <= MaxNodes {
		if _, err := s.Placement(); err != nil {
			errs = append(errs, err)
		}
	}
	switch s.Consistency {
	case node.Linearizable, node.Quorum, node.Raft:
	case node.Eventual:
		if s.Replication.W != 1 || s.Replication.R != 1 {
			bad("eventual consistency uses w=1 r=1; got w=%d r=%d", s.Replication.W, s.Replication.R)
		}
	default:
		bad("consistency %q: allowed are linearizable, quorum, eventual, raft", s.Consistency)
	}
	if err := node.CheckQuorums(s.Nodes, s.Replication.N, s.Replication.W, s.Replication.R, s.Consistency); err != nil {
		errs = append(errs, err)
	}
	switch s.RaftReads {
	case "", raftkv.ReadIndex, raftkv.ReadLease:
	default:
		bad("raft reads %q: allowed are index, lease", s.RaftReads)
	}
	switch s.Persistence {
	case PersistMemory, PersistDisk:
	default:
		bad("persistence %q: allowed are memory, disk", s.Persistence)
	}
	switch s.Recovery {
	case node.RecoveryResync, node.RecoveryNone:
	default:
		bad("recovery %q: allowed are resync, none", s.Recovery)
	}

	c := &s.Cache
	c.Policy = cmp.Or(c.Policy, "none")
	switch c.Policy {
	case "none", "lru", "arc", "2q", "lfu":
	default:
		bad("cache policy %q: allowed are none, lru, arc, 2q, lfu", c.Policy)
	}
	c.Penetration = cmp.Or(c.Penetration, DefaultPenetration)
	switch c.Penetration {
	case PenetrationNone, PenetrationNegative, PenetrationBloom:
	default:
		bad("cache penetration %q: allowed are bloom, negative, none", c.Penetration)
	}
	if c.Penetration == PenetrationBloom {
		c.BloomFalsePositive = cmp.Or(c.BloomFalsePositive, DefaultBloomFalsePos)
	}
	if c.BloomFalsePositive < 0 || c.BloomFalsePositive > 0.5 || c.BloomFalsePositive != c.BloomFalsePositive {
		bad("cache bloomFalsePositive %g: must be above 0 and at most 0.5", c.BloomFalsePositive)
	}
	def(&c.Size, DefaultCacheSize)
	defD(&c.TTL, DefaultCacheTTL)
	defD(&c.NegativeTTL, DefaultNegativeTTL)
	def(&c.WriteBehindQueue, DefaultWriteBehindQueue)
	c.WriteMode = cmp.Or(c.WriteMode, WriteInvalidate)
	switch c.WriteMode {
	case WriteInvalidate, WriteThrough, WriteBehind:
	default:
		bad("cache writeMode %q: allowed are invalidate, through, behind", c.WriteMode)
	}
	if c.TTLJitter < 0 || c.TTLJitter > 1 {
		bad("cache ttlJitter %g: must be 0..1 (0%%..100%%)", c.TTLJitter)
	}
	if c.Size < 1 || c.TTL < 0 || c.NegativeTTL < 0 || c.StaleIfError < 0 || c.WriteBehindQueue < 1 {
		bad("cache size must be ≥ 1 and ttl, negativeTTL, staleIfError ≥ 0")
	}

	r := &s.Resilience
	defD(&r.Timeout, DefaultTimeout)
	if r.Retries == (Retries{}) {
		r.Retries = Retries{Max: DefaultRetries, Base: DefaultRetryBase, Cap: DefaultRetryCap}
	}
	defD(&r.Retries.Base, DefaultRetryBase)
	defD(&r.Retries.Cap, DefaultRetryCap)
	def(&r.Breaker.Failures, DefaultBreakerFails)
	defD(&r.Breaker.OpenFor, DefaultBreakerOpen)
	r.Breaker.MaxOpen = cmp.Or(r.Breaker.MaxOpen, DefaultBreakerMaxOpen)
	defD(&r.Hedge.After, DefaultHedgeAfter)
	r.Hedge.Budget = cmp.Or(r.Hedge.Budget, DefaultHedgeBudget)
	def(&r.Bulkhead, DefaultBulkhead)
	def(&r.MaxInflight, DefaultMaxInflight)
	switch {
	case r.Timeout <= 0:
		bad("resilience timeout %s: must be > 0", r.Timeout)
	case r.Retries.Max < 0 || r.Retries.Max > 10:
		bad("resilience retries.max %d: must be 0..10", r.Retries.Max)
	case r.Retries.Base <= 0 || r.Retries.Cap < r.Retries.Base:
		bad("resilience retries: base %s must be > 0 and cap %s ≥ base", r.Retries.Base, r.Retries.Cap)
	case r.Bulkhead < 1 || r.MaxInflight < 1:
		bad("resilience bulkhead %d and maxInflight %d must be ≥ 1", r.Bulkhead, r.MaxInflight)
	case r.RateLimit < 0:
		bad("resilience rateLimit %g: must be ≥ 0 (0 = off)", r.RateLimit)
	case r.Breaker.OpenFor < 0:
		bad("resilience breaker.openFor %s: must be ≥ 0", r.Breaker.OpenFor)
	case r.Hedge.After < 0 || r.Hedge.Budget < 0 || r.Hedge.Budget > 1:
		bad("resilience hedge: after %s must be ≥ 0 and budget %g in (0, 1]", r.Hedge.After, r.Hedge.Budget)
	case r.Breaker.MaxOpen <= 0 || r.Breaker.MaxOpen > 1:
		bad("resilience breaker.maxOpen %g: must be above 0 and at most 1", r.Breaker.MaxOpen)
	case r.RetryBudget < 0 || r.RetryBudget > 1:
		bad("resilience retryBudget %g: must be 0 (off) to 1", r.RetryBudget)
	}
	switch r.Breaker.Trip {
	case "", "consecutive", "errorRate":
	default:
		bad("resilience breaker.trip %q: allowed are consecutive, errorRate", r.Breaker.Trip)
	}
	if r.Breaker.ErrorRate < 0 || r.Breaker.ErrorRate > 1 || r.Breaker.MinRequests < 0 || r.Breaker.Window < 0 {
		bad("resilience breaker: errorRate %g must be 0 (default) to 1, minRequests %d and window %s ≥ 0", r.Breaker.ErrorRate, r.Breaker.MinRequests, r.Breaker.Window)
	}
	sc := &s.Scan
	defD(&sc.ShardTimeout, DefaultScanShardTimeout)
	sc.Partial = cmp.Or(sc.Partial, ScanPartialFail)
	switch sc.Partial {
	case ScanPartialFail, ScanPartialAllow:
	default:
		bad("scan partial %q: allowed are fail, allow", sc.Partial)
	}
	if sc.ShardTimeout < 0 {
		bad("scan shardTimeout %s: must be > 0", sc.ShardTimeout)
	}
	a := &r.Admission
	switch a.Limit {
	case "", "static", "aimd":
	default:
		bad("resilience admission.limit %q: allowed are static, aimd", a.Limit)
	}
	switch a.Queue {
	case "", "none", "codel":
	default:
		bad("resilience admission.queue %q: allowed are none, codel", a.Queue)
	}
	if a.Target < 0 || a.QueueTarget < 0 || a.QueueInterval < 0 {
		bad("resilience admission: target %s, queueTarget %s and queueInterval %s must be ≥ 0", a.Target, a.QueueTarget, a.QueueInterval)
	}
	return errors.Join(errs...)
}

// DefaultSplits are the split points range sharding takes when none are
// given: the nodes-1 keys that cut the workload's key names (keys of
// pattern, see package keyspace), in byte order, into nodes equal runs. Each
// node then owns one range holding the same share of the keys, so a uniform
// workload loads the nodes evenly and any imbalance comes from the access
// pattern (sequential keys), not from the split points.
func DefaultSplits(pattern string, keys, nodes int) []string {
	return placement.EvenSplits(keyspace.Names(pattern, keys), nodes)
}

// Placement builds the spec's placement of keys on its store nodes, the
// one every member routes by.
func (s ClusterSpec) Placement() (placement.Placement, error) {
	p, err := placement.New(placement.Config{Scheme: s.Sharding, Nodes: s.NodeIDs(), VNodes: s.VNodes, Splits: s.Splits})
	if err != nil {
		return nil, fmt.Errorf("sharding: %w", err)
	}
	return p, nil
}

// NodeIDs returns n1..nN.
func (s ClusterSpec) NodeIDs() []string { return ids("n", s.Nodes) }

// GatewayIDs returns g1..gG.
func (s ClusterSpec) GatewayIDs() []string { return ids("g", s.Gateways) }

// MemberIDs returns the gateways, then the store nodes.
func (s ClusterSpec) MemberIDs() []string { return append(s.GatewayIDs(), s.NodeIDs()...) }

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return out
}
