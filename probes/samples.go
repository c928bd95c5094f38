package probes

import (
	"math"
	"slices"
	"time"
)

// Probe metric names measured from the members' /metrics, as steady-state probes name them.
const (
	MetricServerErrorRatio = "server_error_ratio" // ratio: (5xx + 429) ÷ answered, client-facing members
	MetricServerLatencyP99 = "server_latency_p99" // seconds, client-facing members
	MetricCPUUtilization   = "cpu_utilization"    // CPU seconds per second of the busiest member (1 = one core)
	MetricInflight         = "inflight"           // in-flight requests of the busiest member
	MetricShedRate         = "shed_rate"          // requests shed per second, all members
	MetricBreakerOpen      = "breaker_open"       // open circuit breakers, all members
	MetricCacheHitRatio    = "cache_hit_ratio"    // hit ÷ lookups, all members with a cache
	MetricStoreRequestRate = "store_request_rate" // requests/s the store nodes answered (what got past the gateways)
	MetricHotShardShare    = "hot_shard_share"    // ratio: the busiest store node's share of the store nodes' client requests (over ShardWindowSeconds, see ShardWindow)
)

// ScrapedMetrics lists the probe metrics MetricValue knows, in a fixed order.
var ScrapedMetrics = []string{
	MetricServerErrorRatio, MetricServerLatencyP99, MetricCPUUtilization,
	MetricInflight, MetricShedRate, MetricBreakerOpen, MetricCacheHitRatio,
	MetricStoreRequestRate, MetricHotShardShare,
}

// Bucket is one bucket of a latency histogram: how many requests of an
// interval took at most UpperBound seconds (cumulative, as in Prometheus).
// The +Inf bucket is not listed; its count is the histogram's total.
type Bucket struct {
	UpperBound float64 `json:"le"`
	Count      float64 `json:"count"`
}

// MemberSample is what one member did between two scrapes of its /metrics.
//
// A member that did not answer the scrape has Up false, Error says why, and
// every figure is zero: read Up before any figure. The rates need two scrapes
// in a row, so they are meaningful only when HaveRates is set (not on a
// member's first answer, nor on the first after it was down); the gauges
// (Inflight, BreakerOpen) are meaningful whenever Up is set. A ratio whose
// denominator is zero is reported as 0: Requests, LatencyCount and HaveCache
// say whether it is defined.
type MemberSample struct {
	Time   time.Time `json:"time"` // when the scrape answered or failed
	Member string    `json:"member"`
	Role   string    `json:"role,omitempty"`
	Up     bool      `json:"up"`
	Error  string    `json:"error,omitempty"` // why the member is not up

	HaveRates bool          `json:"haveRates"`
	Interval  time.Duration `json:"interval,omitempty"` // what the rates cover
	// Restarted: the process started anew since the previous scrape; its
	// counters began again from zero and were counted from there.
	Restarted bool `json:"restarted,omitempty"`

	// Server-side RED over the interval.
	Requests         float64  `json:"requests"` // requests answered
	Errors           float64  `json:"errors"`   // of which 5xx or 429
	RequestRate      float64  `json:"requestRate"`
	ErrorRate        float64  `json:"errorRate"`
	ServerErrorRatio float64  `json:"serverErrorRatio"` // Errors ÷ Requests
	ServerLatencyP99 float64  `json:"serverLatencyP99"` // seconds, from the histogram's bucket increases
	LatencyCount     float64  `json:"latencyCount"`     // requests in the latency histogram
	LatencyBuckets   []Bucket `json:"latencyBuckets,omitempty"`

	// USE: utilisation, saturation, errors (above).
	CPUUtilization float64 `json:"cpuUtilization"` // CPU seconds per second; 1 = one core busy
	Inflight       float64 `json:"inflight"`       // gauge at the scrape
	ShedRate       float64 `json:"shedRate"`       // requests shed per second
	BreakerOpen    int     `json:"breakerOpen"`    // peers whose breaker is open, at the scrape

	CacheHitRatio float64 `json:"cacheHitRatio"`
	CacheLookups  float64 `json:"cacheLookups"`
	HaveCache     bool    `json:"haveCache"` // CacheLookups > 0
}

// ClusterSample aggregates one second's member samples.
//
// Request figures (RED) count the client-facing members only, the gateways
// when the target has any, so a request the gateway forwards to a store node
// is not counted twice; the latency percentile merges their histograms. CPU
// and in-flight are those of the busiest member (saturation is about the
// bottleneck); shed rate, open breakers and cache lookups add up over all
// members. Every figure is over the members that answered; Down names the
// others.
type ClusterSample struct {
	Time    time.Time `json:"time"`
	Members int       `json:"members"`
	Up      int       `json:"up"`
	Down    []string  `json:"down,omitempty"`
	// WithRates counts the members that answered twice in a row; the rates
	// below are over them.
	WithRates int `json:"withRates"`

	Requests         float64 `json:"requests"`
	Errors           float64 `json:"errors"`
	RequestRate      float64 `json:"requestRate"`
	ServerErrorRatio float64 `json:"serverErrorRatio"`
	ServerLatencyP99 float64 `json:"serverLatencyP99"`
	LatencyCount     float64 `json:"latencyCount"`

	CPUUtilization float64 `json:"cpuUtilization"`
	Inflight       float64 `json:"inflight"`
	ShedRate       float64 `json:"shedRate"`
	BreakerOpen    int     `json:"breakerOpen"`
	CacheHitRatio  float64 `json:"cacheHitRatio"`
	CacheLookups   float64 `json:"cacheLookups"`
	// StoreRequestRate is the client API request rate of the store nodes
	// (every member but the gateways): with gateways, the reads and writes
	// that got past their caches and filters.
	StoreRequestRate float64 `json:"storeRequestRate"`
	// HotShardShare is the busiest store node's share of the store nodes'
	// client requests: 1/nodes when the shards are evenly loaded, 1 when one
	// takes every request. A gateway sends each request to the first node
	// of the key's preference list, the owner of its shard, so a node's
	// client requests are its shard's load (see package placement).
	// Aggregate gives this second's; WithHotShardShare replaces it with a
	// ShardWindow's.
	HotShardShare float64 `json:"hotShardShare"`
	hotShardOK    bool

	frontWithRates int // client-facing members with rates
	storeWithRates int // store nodes with rates
	storeNodes     int // store nodes sampled, answering or not
}

// Aggregate computes the cluster-wide sample of one second.
func Aggregate(second time.Time, samples []MemberSample) ClusterSample {
	c := ClusterSample{Time: second, Members: len(samples)}
	front := func(MemberSample) bool { return true }
	if slices.ContainsFunc(samples, func(s MemberSample) bool { return s.Role == roleGateway }) {
		front = func(s MemberSample) bool { return s.Role == roleGateway }
	}
	var cacheHits, busiest float64
	latency := map[float64]float64{}
	for _, s := range samples {
		if s.Role != roleGateway {
			c.storeNodes++
		}
		if !s.Up {
			c.Down = append(c.Down, s.Member)
			continue
		}
		c.Up++
		c.Inflight = max(c.Inflight, s.Inflight)
		c.BreakerOpen += s.BreakerOpen
		if !s.HaveRates {
			continue
		}
		c.WithRates++
		c.CPUUtilization = max(c.CPUUtilization, s.CPUUtilization)
		c.ShedRate += s.ShedRate
		c.CacheLookups += s.CacheLookups
		cacheHits += s.CacheHitRatio * s.CacheLookups
		if s.Role != roleGateway {
			c.storeWithRates++
			c.StoreRequestRate += s.RequestRate
			busiest = max(busiest, s.RequestRate)
		}
		if front(s) {
			c.frontWithRates++
			c.Requests += s.Requests
			c.Errors += s.Errors
			c.RequestRate += s.RequestRate
			c.LatencyCount += s.LatencyCount
			for _, b := range s.LatencyBuckets {
				latency[b.UpperBound] += b.Count
			}
		}
	}
	if c.Requests > 0 {
		c.ServerErrorRatio = c.Errors / c.Requests
	}
	if c.CacheLookups > 0 {
		c.CacheHitRatio = cacheHits / c.CacheLookups
	}
	if c.StoreRequestRate > 0 {
		c.HotShardShare = busiest / c.StoreRequestRate
		// Only over seconds in which every store node answered twice in a
		// row: a share among the nodes that happened to answer would not be
		// the busiest shard's.
		c.hotShardOK = c.storeWithRates == c.storeNodes
	}
	if c.LatencyCount > 0 {
		c.ServerLatencyP99, _ = bucketQuantile(0.99, bucketsOf(latency), c.LatencyCount)
	}
	return c
}

// Value returns a probe metric of the cluster sample; ok is false when the
// second holds no data for it (no member answered twice in a row, no
// request, no cache lookup) or the metric is not one of ScrapedMetrics. No
// data must be judged inconclusive, never a pass.
func (c ClusterSample) Value(metric string) (value float64, ok bool) {
	switch metric {
	case MetricServerErrorRatio:
		return c.ServerErrorRatio, c.Requests > 0
	case MetricServerLatencyP99:
		return c.ServerLatencyP99, c.LatencyCount > 0
	case MetricCPUUtilization:
		return c.CPUUtilization, c.WithRates > 0
	case MetricInflight:
		return c.Inflight, c.Up > 0
	case MetricShedRate:
		return c.ShedRate, c.WithRates > 0
	case MetricBreakerOpen:
		return float64(c.BreakerOpen), c.Up > 0
	case MetricCacheHitRatio:
		return c.CacheHitRatio, c.CacheLookups > 0
	case MetricStoreRequestRate:
		return c.StoreRequestRate, c.storeWithRates > 0
	case MetricHotShardShare:
		return c.HotShardShare, c.hotShardOK
	}
	return 0, false
}

// WithHotShardShare returns c with HotShardShare replaced, e.g. by a
// ShardWindow's; ok false leaves the second without that metric.
func (c ClusterSample) WithHotShardShare(share float64, ok bool) ClusterSample {
	c.HotShardShare, c.hotShardOK = share, ok
	return c
}

// ShardWindowSeconds is the window of the scraped hot_shard_share.
const ShardWindowSeconds = 5

// ShardWindow measures hot_shard_share over the last few seconds: the
// busiest store node's share of the store nodes' client requests answered
// in them. One second is noisy on a busy machine: a node that stalls for a
// second answers nothing in it and twice as much in the next, which says
// nothing about its shard's load; over a window the shift cancels out. It
// is not safe for concurrent use.
type ShardWindow struct {
	size    int
	seconds []map[string]float64 // store node -> requests answered, oldest first
}

// NewShardWindow returns a window of the given number of seconds (at least 1).
func NewShardWindow(seconds int) *ShardWindow {
	return &ShardWindow{size: max(seconds, 1)}
}

// Add takes one second's member samples and returns the share over the
// window, ending with this second. ok is false when this second lacks a
// store node's rates (the node did not answer twice in a row) or the window
// holds no store request.
func (w *ShardWindow) Add(samples []MemberSample) (share float64, ok bool) {
	now := map[string]float64{}
	complete := true
	for _, s := range samples {
		if s.Role == roleGateway {
			continue
		}
		if !s.Up || !s.HaveRates {
			complete = false
			continue
		}
		now[s.Member] = s.Requests
	}
	w.seconds = append(w.seconds, now)
	if len(w.seconds) > w.size {
		w.seconds = w.seconds[1:]
	}
	total := map[string]float64{}
	var sum float64
	for _, sec := range w.seconds {
		for m, n := range sec {
			total[m] += n
			sum += n
		}
	}
	if !complete || sum <= 0 {
		return 0, false
	}
	var busiest float64
	for _, n := range total {
		busiest = max(busiest, n)
	}
	return busiest / sum, true
}

// MetricValue returns a probe metric (one of ScrapedMetrics) over one
// second's member samples: Aggregate, then ClusterSample.Value.
func MetricValue(metric string, samples []MemberSample) (value float64, ok bool) {
	var at time.Time
	if len(samples) > 0 {
		at = samples[0].Time
	}
	return Aggregate(at, samples).Value(metric)
}

// bucketsOf sorts a histogram held as upper bound → cumulative count.
func bucketsOf(m map[float64]float64) []Bucket {
	out := make([]Bucket, 0, len(m))
	for le, n := range m {
		out = append(out, Bucket{UpperBound: le, Count: n})
	}
	slices.SortFunc(out, func(a, b Bucket) int {
		switch {
		case a.UpperBound < b.UpperBound:
			return -1
		case a.UpperBound > b.UpperBound:
			return 1
		}
		return 0
	})
	return out
}

// bucketQuantile is PromQL's histogram_quantile over cumulative finite
// buckets (sorted by upper bound) and the total count: linear interpolation
// inside the bucket that holds the rank, 0 as the lower bound of the first
// bucket, and the highest finite bound when the rank lies in the +Inf bucket.
func bucketQuantile(q float64, buckets []Bucket, count float64) (float64, bool) {
	if count <= 0 || len(buckets) == 0 || math.IsNaN(q) {
		return 0, false
	}
	rank := q * count
	lower, below := 0.0, 0.0
	for i, b := range buckets {
		if b.Count >= rank && b.Count > below {
			if i == 0 && b.UpperBound <= 0 {
				return b.UpperBound, true
			}
			return lower + (b.UpperBound-lower)*(rank-below)/(b.Count-below), true
		}
		lower, below = b.UpperBound, b.Count
	}
	return buckets[len(buckets)-1].UpperBound, true
}
