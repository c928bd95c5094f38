// Package probes is what chaosctl observes besides its own workload (which
// lives in probes/workload): the members' /metrics, a Prometheus server, and
// any HTTP URL. It measures; judging against bounds and budgets is the
// caller's (experiments, slo).
//
// # Member scrape
//
// A Scraper reads every member's /metrics once per interval (default 1 s),
// parses the text exposition with prometheus/common/expfmt, and turns two
// consecutive scrapes of a member into a MemberSample: server-side RED
// (requests answered, 5xx and 429 as errors, p99 from the increase of the
// chaosdemo_request_duration_seconds buckets) and USE (CPU seconds per
// second from process_cpu_seconds_total, in-flight requests, shed rate),
// open circuit breakers and the cache hit ratio. When
// process_start_time_seconds changed or any counter went down, the member
// restarted: Restarted is set and its counters are counted from zero, never
// as a negative rate. A member
// that does not answer within 80 % of the interval (paused, killed,
// partitioned) gives a sample with Up false and the reason, never a zero that
// looks healthy; the first answer after that has no rates (HaveRates false).
//
//	scraper := probes.NewScraper(target.Members, time.Second, nil, log)
//	go scraper.Run(ctx, func(second time.Time, samples []probes.MemberSample) {
//		cluster := probes.Aggregate(second, samples)
//		v, ok := cluster.Value(probes.MetricServerErrorRatio) // !ok: no data, inconclusive
//		...
//	})
//
// Aggregate folds one round into a ClusterSample: RED over the client-facing
// members (the gateways, when the target has any: a request a gateway
// forwards is not counted twice), CPU and in-flight of the busiest member,
// shed rate, open breakers and cache lookups summed over all members.
// MetricValue and ClusterSample.Value give the probe metrics
// (ScrapedMetrics) with ok false when the second has no data for
// them.
//
// # Prometheus
//
// Query runs an instant PromQL query through client_golang's API client and
// insists on one value (a scalar or a single-series vector); an empty result
// wraps ErrNoData. Ratio evaluates the good and total queries of a ratio SLI
// at one instant and returns both counts; a zero total wraps ErrNoEvents.
//
//	v, err := probes.Query(ctx, "http://127.0.0.1:9090", `sum(rate(chaosdemo_requests_total[5s]))`, time.Time{})
//	r, err := probes.Ratio(ctx, url, `sum(increase(x_total{code!~"5.."}[1m]))`, `sum(increase(x_total[1m]))`, end)
//
// # HTTP
//
// CheckHTTP GETs a URL on a fresh connection and judges its status and
// latency; it waits no longer than the latency bound.
package probes
