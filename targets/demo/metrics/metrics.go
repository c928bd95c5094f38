package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric the demo cluster exports.
const Namespace = "chaosdemo"

// LatencyBuckets has a bucket boundary at each common SLO latency threshold, so a
// "requests slower than T" ratio can be read exactly from the histogram.
var LatencyBuckets = []float64{
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25,
	0.3, 0.5, 0.75, 1, 1.5, 2, 2.5, 5, 10,
}

// Breaker states as exported by chaosdemo_breaker_state.
const (
	BreakerClosed   = 0
	BreakerHalfOpen = 1
	BreakerOpen     = 2
)

// Member holds one member's metrics. Fields are safe for concurrent use.
type Member struct {
	Registry *prometheus.Registry
	member   string

	Requests         *prometheus.CounterVec   // chaosdemo_requests_total{member,op,code}
	Duration         *prometheus.HistogramVec // chaosdemo_request_duration_seconds{member,op}
	Inflight         prometheus.Gauge         // chaosdemo_inflight_requests
	Shed             prometheus.Counter       // chaosdemo_shed_total
	RateLimited      prometheus.Counter       // chaosdemo_rate_limited_total
	DeadlineDropped  *prometheus.CounterVec   // chaosdemo_deadline_dropped_total{stage}
	BreakerState     *prometheus.GaugeVec     // chaosdemo_breaker_state{peer}
	BreakerHeld      *prometheus.CounterVec   // chaosdemo_breaker_trips_held_total{peer}
	BreakerSpared    *prometheus.CounterVec   // chaosdemo_breaker_failures_spared_total{peer}
	BreakerStalled   *prometheus.CounterVec   // chaosdemo_breaker_failures_stalled_total{peer}
	StallSeconds     prometheus.Counter       // chaosdemo_stall_seconds_total
	Retries          *prometheus.CounterVec   // chaosdemo_retries_total{peer}
	BulkheadFull     *prometheus.CounterVec   // chaosdemo_bulkhead_rejected_total{peer}
	Failovers        prometheus.Counter       // chaosdemo_failovers_total
	Hedges           *prometheus.CounterVec   // chaosdemo_hedged_reads_total{result}
	HedgeDelay       prometheus.Gauge         // chaosdemo_hedge_delay_seconds
	CacheRequests    *prometheus.CounterVec   // chaosdemo_cache_requests_total{result}
	CacheLoads       prometheus.Counter       // chaosdemo_cache_loads_total
	CacheRefreshes   prometheus.Counter       // chaosdemo_cache_early_refreshes_total
	BloomChecks      *prometheus.CounterVec   // chaosdemo_bloom_checks_total{result} (absent, maybe, unverified)
	BloomFalsePos    prometheus.Counter       // chaosdemo_bloom_false_positives_total
	BloomTrusted     prometheus.Gauge         // chaosdemo_bloom_trusted
	WriteBehind      prometheus.Gauge         // chaosdemo_writebehind_queue_depth
	WriteFlushes     *prometheus.CounterVec   // chaosdemo_writebehind_flushes_total{result}
	Indeterminate    *prometheus.CounterVec   // chaosdemo_gateway_writes_indeterminate_total{op}
	QuorumFailures   *prometheus.CounterVec   // chaosdemo_quorum_failures_total{op}
	ReplicaRequests  *prometheus.CounterVec   // chaosdemo_replica_requests_total{peer,code}
	ReplicaSuspected *prometheus.GaugeVec     // chaosdemo_replica_suspected{peer}
	ReadRepairs      prometheus.Counter       // chaosdemo_read_repairs_total
	Corruptions      *prometheus.CounterVec   // chaosdemo_corruptions_total{event} (detected, repaired, injected, rollback_refused)
	Hints            *prometheus.CounterVec   // chaosdemo_hints_total{event} (stored, delivered)
	HintsPending     prometheus.Gauge         // chaosdemo_hints_pending
	ClockOffset      prometheus.Gauge         // chaosdemo_clock_offset_seconds
	HLCClamped       prometheus.Counter       // chaosdemo_hlc_clamped_total
	Unauthorized     *prometheus.CounterVec   // chaosdemo_unauthorized_total{endpoint} (replica, control, pprof)
	BodyRefused      *prometheus.CounterVec   // chaosdemo_body_refused_total{reason} (timeout, too_large, budget)
	ScanFanout       prometheus.Histogram     // chaosdemo_scan_fanout
	ScanSlowest      prometheus.Histogram     // chaosdemo_scan_slowest_shard_seconds
	ScanPartial      *prometheus.CounterVec   // chaosdemo_scan_partial_total{result} (failed, served)
}

// FanoutBuckets bound chaosdemo_scan_fanout: store nodes per scan, up to
// the cluster's limit of 64.
var FanoutBuckets = []float64{1, 2, 3, 4, 5, 6, 8, 12, 16, 24, 32, 48, 64}

// New creates the metrics of one member and registers them, with the Go and
// process collectors, in a fresh registry.
func New(member string) *Member {
	r := prometheus.NewRegistry()
	m := &Member{Registry: r, member: member}
	f := func(name, help string) prometheus.CounterOpts {
		return prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}
	}
	g := func(name, help string) prometheus.GaugeOpts {
		return prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}
	}
	m.Requests = prometheus.NewCounterVec(f("requests_total", "Client API requests answered, by member, operation and status code."), []string{"member", "op", "code"})
	m.Duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "request_duration_seconds",
		Help:    "Client API request duration, by member and operation.",
		Buckets: LatencyBuckets,
	}, []string{"member", "op"})
	m.Inflight = prometheus.NewGauge(g("inflight_requests", "Client API requests being served now."))
	m.Shed = prometheus.NewCounter(f("shed_total", "Requests refused with 503 because in-flight requests exceeded the limit."))
	m.RateLimited = prometheus.NewCounter(f("rate_limited_total", "Requests refused with 429 by the token-bucket rate limit."))
	m.DeadlineDropped = prometheus.NewCounterVec(f("deadline_dropped_total", "Requests not worked on because their caller's deadline had passed, by stage (admit, replica)."), []string{"stage"})
	m.BreakerState = prometheus.NewGaugeVec(g("breaker_state", "Circuit breaker state per peer: 0 closed, 1 half-open, 2 open."), []string{"peer"})
	m.BreakerHeld = prometheus.NewCounterVec(f("breaker_trips_held_total", "Failures that would have opened a peer's breaker but found the share of open breakers (breaker.maxOpen) used up, so the breaker stayed closed, by peer."), []string{"peer"})
	m.BreakerStalled = prometheus.NewCounterVec(f("breaker_failures_stalled_total", "Failed attempts that a peer's breaker did not count because this member itself did not run for at least a quarter of the attempt's budget while the attempt was in flight (a stall of the caller says nothing about the peer), by peer."), []string{"peer"})
	m.StallSeconds = prometheus.NewCounter(f("stall_seconds_total", "Time this member's process did not run when it meant to: the lateness beyond 2 ms of a timer meant to fire every 5 ms (a busy machine, a paused process, a long GC)."))
	m.BreakerSpared = prometheus.NewCounterVec(f("breaker_failures_spared_total", "Failed attempts that a peer's breaker did not count because the peer answered that its replicas, not it, failed them (X-Failure-Cause: replicas: it heard from a quorum of them meanwhile), by peer."), []string{"peer"})
	m.Retries = prometheus.NewCounterVec(f("retries_total", "Attempts after the first towards a peer."), []string{"peer"})
	m.BulkheadFull = prometheus.NewCounterVec(f("bulkhead_rejected_total", "Calls refused because the peer's bulkhead was full."), []string{"peer"})
	m.Failovers = prometheus.NewCounter(f("failovers_total", "Requests moved to the next node of the preference list."))
	m.Hedges = prometheus.NewCounterVec(f("hedged_reads_total", "Reads sent to a second node because the first had not answered within hedge.after, by result: sent, won (the hedge answered first), over_budget (not sent: the hedge budget was spent)."), []string{"result"})
	m.HedgeDelay = prometheus.NewGauge(g("hedge_delay_seconds", "How long a gateway's read waits for its first node before a hedge goes to the next: the 95th percentile of recent successful read attempts, at least hedge.after."))
	m.CacheRequests = prometheus.NewCounterVec(f("cache_requests_total", "Cache lookups by result: hit, miss, stale, negative."), []string{"result"})
	m.CacheLoads = prometheus.NewCounter(f("cache_loads_total", "Reads the cache sent to the store (after singleflight)."))
	m.CacheRefreshes = prometheus.NewCounter(f("cache_early_refreshes_total", "Probabilistic early refreshes (XFetch) started."))
	m.BloomChecks = prometheus.NewCounterVec(f("bloom_checks_total", "Gateway reads checked against the Bloom filter of existing keys (cache.penetration bloom), by result: absent (answered 404 without the store), maybe (the key may exist: read from the store), unverified (never seen, but the filter is not trusted to know every key: read from the store)."), []string{"result"})
	m.BloomFalsePos = prometheus.NewCounter(f("bloom_false_positives_total", "Bloom filter checks that said maybe for a key the read then found missing: the measured false positives (deleted keys count too: a Bloom filter cannot forget)."))
	m.BloomTrusted = prometheus.NewGauge(g("bloom_trusted", "1 while the gateway's Bloom filter answers absent on its own: it was seeded from a complete listing of the store and the gateway is the only one writing."))
	m.WriteBehind = prometheus.NewGauge(g("writebehind_queue_depth", "Acknowledged writes waiting in the write-behind queue."))
	m.WriteFlushes = prometheus.NewCounterVec(f("writebehind_flushes_total", "Write-behind flushes by result (ok, error, indeterminate)."), []string{"result"})
	m.Indeterminate = prometheus.NewCounterVec(f("gateway_writes_indeterminate_total", "Gateway writes (client or write-behind flush) whose attempt was sent and may have applied (timeout, lost connection, node answered 500 or 504), so they were answered unknown and not retried, by operation (put, delete)."), []string{"op"})
	m.QuorumFailures = prometheus.NewCounterVec(f("quorum_failures_total", "Operations that could not reach their quorum, by operation."), []string{"op"})
	m.ReplicaRequests = prometheus.NewCounterVec(f("replica_requests_total", "Replica calls to peers by peer and status code (or error class)."), []string{"peer", "code"})
	m.ReplicaSuspected = prometheus.NewGaugeVec(g("replica_suspected", "1 while this node suspects a peer (its last replica call failed within the last node.SuspectFor): targeted reads ask it last."), []string{"peer"})
	m.ReadRepairs = prometheus.NewCounter(f("read_repairs_total", "Stale or corrupt replica copies rewritten after a read."))
	m.Corruptions = prometheus.NewCounterVec(f("corruptions_total", "Checksum failures by event: injected, detected, repaired, rollback_refused (an older write offered over a corrupt copy that claims a newer version)."), []string{"event"})
	m.Hints = prometheus.NewCounterVec(f("hints_total", "Hinted handoff by event: stored, delivered."), []string{"event"})
	m.HintsPending = prometheus.NewGauge(g("hints_pending", "Hints held for unreachable home replicas."))
	m.ClockOffset = prometheus.NewGauge(g("clock_offset_seconds", "Clock skew injected into this member's hybrid logical clock."))
	m.HLCClamped = prometheus.NewCounter(f("hlc_clamped_total", "Received timestamps more than the max offset ahead of this member's clock (physical time plus skew); the clock advanced at most to now + max offset instead of adopting them."))
	m.Unauthorized = prometheus.NewCounterVec(f("unauthorized_total", "Requests refused with 401 for a missing or wrong token, by endpoint: replica (the peer token), control and pprof (the control token)."), []string{"endpoint"})
	m.BodyRefused = prometheus.NewCounterVec(f("body_refused_total", "Requests refused before admission because of their body, by reason: timeout (not received within the body deadline, 408), too_large (413), budget (the bodies being received already held the member's byte budget, 503)."), []string{"reason"})
	m.ScanFanout = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "scan_fanout",
		Help:    "Store nodes a gateway's range query (GET /kv?from=&to=) sent its listing to.",
		Buckets: FanoutBuckets,
	})
	m.ScanSlowest = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: Namespace, Name: "scan_slowest_shard_seconds",
		Help:    "Per range query, the latency of its slowest node listing (a missed one counts until it failed or its deadline passed): a scan waits for it.",
		Buckets: LatencyBuckets,
	})
	m.ScanPartial = prometheus.NewCounterVec(f("scan_partial_total", "Range queries missing at least one shard's listing (deadline passed, node failed or refused), by result: failed (answered 503, scan policy fail) or served (answered with X-Chaos-Partial, policy allow)."), []string{"result"})

	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.Requests, m.Duration, m.Inflight, m.Shed, m.RateLimited, m.DeadlineDropped,
		m.BreakerState, m.BreakerHeld, m.BreakerSpared, m.BreakerStalled, m.StallSeconds, m.Retries, m.BulkheadFull, m.Failovers, m.Hedges, m.HedgeDelay, m.CacheRequests,
		m.CacheLoads, m.CacheRefreshes, m.BloomChecks, m.BloomFalsePos, m.BloomTrusted, m.WriteBehind, m.WriteFlushes, m.Indeterminate, m.QuorumFailures,
		m.ReplicaRequests, m.ReplicaSuspected, m.ReadRepairs, m.Corruptions, m.Hints, m.HintsPending, m.ClockOffset,
		m.HLCClamped, m.Unauthorized, m.BodyRefused, m.ScanFanout, m.ScanSlowest, m.ScanPartial,
	)
	return m
}

// Member returns the member name the metrics are labelled with.
func (m *Member) Member() string { return m.member }

// ObserveRequest counts one answered client API request and its duration.
func (m *Member) ObserveRequest(op string, code int, d time.Duration) {
	m.Requests.WithLabelValues(m.member, op, strconv.Itoa(code)).Inc()
	m.Duration.WithLabelValues(m.member, op).Observe(d.Seconds())
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Member) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
