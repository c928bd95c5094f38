package probes

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// Two scrapes of a gateway two seconds apart. Between them: 150 reads
// answered 200, 38 writes 204, 10 reads 503 and 2 reads 429 (a series that
// first appears in the second scrape), 200 requests in all; 1 CPU second;
// 6 requests shed; cache 90 hits of 100 lookups.
const exposition1 = `# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.7e+09
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 10
# TYPE chaosdemo_requests_total counter
chaosdemo_requests_total{code="200",member="g1",op="read"} 100
chaosdemo_requests_total{code="204",member="g1",op="write"} 50
chaosdemo_requests_total{code="503",member="g1",op="read"} 5
# TYPE chaosdemo_request_duration_seconds histogram
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="0.01"} 60
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="0.1"} 100
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="0.5"} 105
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="+Inf"} 105
chaosdemo_request_duration_seconds_sum{member="g1",op="read"} 3.5
chaosdemo_request_duration_seconds_count{member="g1",op="read"} 105
chaosdemo_request_duration_seconds_bucket{member="g1",op="write",le="0.01"} 40
chaosdemo_request_duration_seconds_bucket{member="g1",op="write",le="0.1"} 50
chaosdemo_request_duration_seconds_bucket{member="g1",op="write",le="0.5"} 50
chaosdemo_request_duration_seconds_bucket{member="g1",op="write",le="+Inf"} 50
chaosdemo_request_duration_seconds_sum{member="g1",op="write"} 1
chaosdemo_request_duration_seconds_count{member="g1",op="write"} 50
# TYPE chaosdemo_inflight_requests gauge
chaosdemo_inflight_requests 3
# TYPE chaosdemo_shed_total counter
chaosdemo_shed_total 7
# TYPE chaosdemo_breaker_state gauge
chaosdemo_breaker_state{peer="n1"} 0
chaosdemo_breaker_state{peer="n2"} 2
# TYPE chaosdemo_cache_requests_total counter
chaosdemo_cache_requests_total{result="hit"} 80
chaosdemo_cache_requests_total{result="miss"} 20
chaosdemo_cache_requests_total{result="stale"} 0
chaosdemo_cache_requests_total{result="negative"} 0
`

const exposition2 = `# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.7e+09
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 11
# TYPE chaosdemo_requests_total counter
chaosdemo_requests_total{code="200",member="g1",op="read"} 250
chaosdemo_requests_total{code="204",member="g1",op="write"} 88
chaosdemo_requests_total{code="503",member="g1",op="read"} 15
chaosdemo_requests_total{code="429",member="g1",op="read"} 2
# TYPE chaosdemo_request_duration_seconds histogram
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="0.01"} 160
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="0.1"} 250
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="0.5"} 267
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="+Inf"} 267
chaosdemo_request_duration_seconds_sum{member="g1",op="read"} 9
chaosdemo_request_duration_seconds_count{member="g1",op="read"} 267
chaosdemo_request_duration_seconds_bucket{member="g1",op="write",le="0.01"} 70
chaosdemo_request_duration_seconds_bucket{member="g1",op="write",le="0.1"} 86
chaosdemo_request_duration_seconds_bucket{member="g1",op="write",le="0.5"} 88
chaosdemo_request_duration_seconds_bucket{member="g1",op="write",le="+Inf"} 88
chaosdemo_request_duration_seconds_sum{member="g1",op="write"} 2
chaosdemo_request_duration_seconds_count{member="g1",op="write"} 88
# TYPE chaosdemo_inflight_requests gauge
chaosdemo_inflight_requests 4
# TYPE chaosdemo_shed_total counter
chaosdemo_shed_total 13
# TYPE chaosdemo_breaker_state gauge
chaosdemo_breaker_state{peer="n1"} 2
chaosdemo_breaker_state{peer="n2"} 2
chaosdemo_breaker_state{peer="n3"} 1
# TYPE chaosdemo_cache_requests_total counter
chaosdemo_cache_requests_total{result="hit"} 170
chaosdemo_cache_requests_total{result="miss"} 28
chaosdemo_cache_requests_total{result="stale"} 1
chaosdemo_cache_requests_total{result="negative"} 1
`

// exposition3 is the same member restarted: a new start time, counters
// from zero.
const exposition3 = `# TYPE process_start_time_seconds gauge
process_start_time_seconds 1.7000001e+09
# TYPE process_cpu_seconds_total counter
process_cpu_seconds_total 0.4
# TYPE chaosdemo_requests_total counter
chaosdemo_requests_total{code="200",member="g1",op="read"} 20
# TYPE chaosdemo_request_duration_seconds histogram
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="0.01"} 10
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="0.1"} 20
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="0.5"} 20
chaosdemo_request_duration_seconds_bucket{member="g1",op="read",le="+Inf"} 20
chaosdemo_request_duration_seconds_sum{member="g1",op="read"} 0.5
chaosdemo_request_duration_seconds_count{member="g1",op="read"} 20
# TYPE chaosdemo_inflight_requests gauge
chaosdemo_inflight_requests 1
# TYPE chaosdemo_shed_total counter
chaosdemo_shed_total 0
# TYPE chaosdemo_cache_requests_total counter
chaosdemo_cache_requests_total{result="hit"} 5
chaosdemo_cache_requests_total{result="miss"} 5
chaosdemo_cache_requests_total{result="stale"} 0
chaosdemo_cache_requests_total{result="negative"} 0
`

// A store node without process collector whose request counter went down:
// a restart, every counter counted from zero, not a negative rate.
const expositionNoProcess1 = `# TYPE chaosdemo_requests_total counter
chaosdemo_requests_total{code="204",member="n1",op="write"} 100
chaosdemo_requests_total{code="503",member="n1",op="write"} 4
`

const expositionNoProcess2 = `# TYPE chaosdemo_requests_total counter
chaosdemo_requests_total{code="204",member="n1",op="write"} 30
chaosdemo_requests_total{code="503",member="n1",op="write"} 6
`

// want lists the figures of a MemberSample a case checks.
type want struct {
	haveRates, restarted                                 bool
	requests, errors, requestRate, errorRate, errorRatio float64
	p99, latencyCount, cpu, inflight, shedRate           float64
	breakerOpen                                          int
	cacheHitRatio, cacheLookups                          float64
	haveCache                                            bool
}

func TestMemberSampleArithmetic(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	// Merged bucket increases of exposition1 → 2: ≤0.01: 130, ≤0.1: 186,
	// ≤0.5: 200, all: 200. Rank 0.99 × 200 = 198 lies in (0.1, 0.5].
	p99Gateway := 0.1 + (0.5-0.1)*(198-186)/(200-186.0)
	// exposition2 → 3: 20 requests, ≤0.01: 10, ≤0.1: 20; rank 19.8.
	p99Restarted := 0.01 + (0.1-0.01)*(19.8-10)/(20-10.0)
	tests := []struct {
		name      string
		prev, cur string
		dt        time.Duration
		want      want
	}{
		{
			name: "first scrape: gauges, no rates",
			cur:  exposition1,
			want: want{inflight: 3, breakerOpen: 1},
		},
		{
			name: "two scrapes 2s apart",
			prev: exposition1, cur: exposition2, dt: 2 * time.Second,
			want: want{
				haveRates: true, requests: 200, errors: 12, requestRate: 100, errorRate: 6, errorRatio: 0.06,
				p99: p99Gateway, latencyCount: 200, cpu: 0.5, inflight: 4, shedRate: 3, breakerOpen: 2,
				cacheHitRatio: 0.9, cacheLookups: 100, haveCache: true,
			},
		},
		{
			name: "restart: counters from zero, not negative",
			prev: exposition2, cur: exposition3, dt: 2 * time.Second,
			want: want{
				haveRates: true, restarted: true, requests: 20, requestRate: 10,
				p99: p99Restarted, latencyCount: 20, cpu: 0.2, inflight: 1,
				cacheHitRatio: 0.5, cacheLookups: 10, haveCache: true,
			},
		},
		{
			name: "counter reset without process collector",
			prev: expositionNoProcess1, cur: expositionNoProcess2, dt: time.Second,
			want: want{haveRates: true, restarted: true, requests: 36, errors: 6, requestRate: 36, errorRate: 6, errorRatio: 6 / 36.0},
		},
		{
			name: "no requests in the interval: ratios undefined",
			prev: exposition2, cur: exposition2, dt: time.Second,
			want: want{haveRates: true, cpu: 0, inflight: 4, breakerOpen: 2},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var prev *snapshot
			if tt.prev != "" {
				prev = mustParse(t, tt.prev, t0)
			}
			cur := mustParse(t, tt.cur, t0.Add(tt.dt))
			got := memberSample("g1", "gateway", prev, cur)
			if !got.Up || got.Member != "g1" || got.Role != "gateway" || !got.Time.Equal(t0.Add(tt.dt)) {
				t.Errorf("identity: up %v member %q role %q time %s", got.Up, got.Member, got.Role, got.Time)
			}
			if got.HaveRates && got.Interval != tt.dt {
				t.Errorf("interval = %s, want %s", got.Interval, tt.dt)
			}
			checkSample(t, got, tt.want)
		})
	}
}

func checkSample(t *testing.T, got MemberSample, w want) {
	t.Helper()
	if got.HaveRates != w.haveRates || got.Restarted != w.restarted || got.HaveCache != w.haveCache || got.BreakerOpen != w.breakerOpen {
		t.Errorf("haveRates %v restarted %v haveCache %v breakerOpen %d, want %v %v %v %d",
			got.HaveRates, got.Restarted, got.HaveCache, got.BreakerOpen, w.haveRates, w.restarted, w.haveCache, w.breakerOpen)
	}
	figures := []struct {
		name      string
		got, want float64
	}{
		{"requests", got.Requests, w.requests},
		{"errors", got.Errors, w.errors},
		{"requestRate", got.RequestRate, w.requestRate},
		{"errorRate", got.ErrorRate, w.errorRate},
		{"serverErrorRatio", got.ServerErrorRatio, w.errorRatio},
		{"serverLatencyP99", got.ServerLatencyP99, w.p99},
		{"latencyCount", got.LatencyCount, w.latencyCount},
		{"cpuUtilization", got.CPUUtilization, w.cpu},
		{"inflight", got.Inflight, w.inflight},
		{"shedRate", got.ShedRate, w.shedRate},
		{"cacheHitRatio", got.CacheHitRatio, w.cacheHitRatio},
		{"cacheLookups", got.CacheLookups, w.cacheLookups},
	}
	for _, f := range figures {
		if math.Abs(f.got-f.want) > 1e-9 {
			t.Errorf("%s = %.12g, want %.12g", f.name, f.got, f.want)
		}
		if f.got < 0 {
			t.Errorf("%s = %g is negative", f.name, f.got)
		}
	}
}

func mustParse(t *testing.T, text string, at time.Time) *snapshot {
	t.Helper()
	s, err := parseSnapshot(strings.NewReader(text), at)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestParseSnapshotRejectsBrokenExposition(t *testing.T) {
	_, err := parseSnapshot(strings.NewReader("chaosdemo_requests_total{code=\"200\" 1\n"), time.Now())
	if err == nil || !strings.Contains(err.Error(), "parse exposition") {
		t.Fatalf("err = %v, want a parse error", err)
	}
}

func TestBucketQuantile(t *testing.T) {
	b := func(pairs ...float64) []Bucket {
		var out []Bucket
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, Bucket{UpperBound: pairs[i], Count: pairs[i+1]})
		}
		return out
	}
	tests := []struct {
		name    string
		q       float64
		buckets []Bucket
		count   float64
		want    float64
		ok      bool
	}{
		{"interpolates in the first bucket from 0", 0.5, b(0.1, 100, 1, 100), 100, 0.05, true},
		{"interpolates in a middle bucket", 0.99, b(0.01, 50, 0.1, 90, 0.5, 100), 100, 0.1 + 0.4*9/10, true},
		{"exact bucket edge", 0.9, b(0.01, 50, 0.1, 90, 0.5, 100), 100, 0.1, true},
		{"rank in +Inf: highest finite bound", 0.99, b(0.01, 50, 0.1, 90), 100, 0.1, true},
		{"skips empty buckets", 0.99, b(0.001, 0, 0.01, 0, 0.1, 100), 100, 0.01 + 0.09*0.99, true},
		{"no observations", 0.99, b(0.1, 0), 0, 0, false},
		{"no buckets", 0.99, nil, 10, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := bucketQuantile(tt.q, tt.buckets, tt.count)
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("bucketQuantile = %g, %v; want %g, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestAggregateAndMetricValue(t *testing.T) {
	at := time.Unix(1000, 0)
	g := func(id string, requests, errs float64, buckets []Bucket) MemberSample {
		return MemberSample{Time: at, Member: id, Role: "gateway", Up: true, HaveRates: true, Interval: time.Second,
			Requests: requests, Errors: errs, RequestRate: requests, ErrorRate: errs,
			LatencyCount: requests, LatencyBuckets: buckets, CPUUtilization: 0.2, Inflight: 5,
			CacheLookups: 10, CacheHitRatio: 0.5, HaveCache: true}
	}
	n := func(id string, cpu, inflight, shed float64, breakers int) MemberSample {
		// Store nodes answer the gateways' forwarded requests: never counted
		// in the cluster's RED when there are gateways.
		return MemberSample{Time: at, Member: id, Role: "node", Up: true, HaveRates: true, Interval: time.Second,
			Requests: 1000, Errors: 1000, RequestRate: 1000, LatencyCount: 1000,
			LatencyBuckets: []Bucket{{UpperBound: 10, Count: 1000}},
			CPUUtilization: cpu, Inflight: inflight, ShedRate: shed, BreakerOpen: breakers}
	}
	down := func(id, role string) MemberSample {
		return MemberSample{Time: at, Member: id, Role: role, Error: "no answer within 800ms"}
	}
	type value struct {
		v  float64
		ok bool
	}
	tests := []struct {
		name    string
		samples []MemberSample
		want    map[string]value
		down    []string
	}{
		{
			name: "gateways are the client-facing tier",
			samples: []MemberSample{
				// 100 requests of g1: 90 ≤ 10ms, 100 ≤ 100ms; 100 of g2 all ≤ 10ms.
				g("g1", 100, 3, []Bucket{{0.01, 90}, {0.1, 100}}),
				g("g2", 100, 1, []Bucket{{0.01, 100}, {0.1, 100}}),
				n("n1", 0.7, 9, 2, 1),
				n("n2", 0.4, 20, 1, 0),
				down("n3", "node"),
			},
			want: map[string]value{
				MetricServerErrorRatio: {4 / 200.0, true},
				// Merged: ≤10ms 190, ≤100ms 200; rank 198 in (0.01, 0.1].
				MetricServerLatencyP99: {0.01 + 0.09*(198-190)/10, true},
				MetricCPUUtilization:   {0.7, true},
				MetricInflight:         {20, true},
				MetricShedRate:         {3, true},
				MetricBreakerOpen:      {1, true},
				MetricCacheHitRatio:    {0.5, true},
				"no_such_metric":       {0, false},
			},
			down: []string{"n3"},
		},
		{
			name: "no gateways: every member is client-facing",
			samples: []MemberSample{
				n("n1", 0.5, 1, 0, 0),
				{Time: at, Member: "n2", Role: "node", Up: true, HaveRates: true, Requests: 1000, RequestRate: 1000,
					LatencyCount: 1000, LatencyBuckets: []Bucket{{UpperBound: 10, Count: 1000}}},
			},
			want: map[string]value{
				MetricServerErrorRatio: {0.5, true},
				MetricServerLatencyP99: {9.9, true},
				MetricCacheHitRatio:    {0, false},
			},
		},
		{
			name:    "every member down: no data, never a healthy zero",
			samples: []MemberSample{down("g1", "gateway"), down("n1", "node")},
			want: map[string]value{
				MetricServerErrorRatio: {0, false}, MetricServerLatencyP99: {0, false},
				MetricCPUUtilization: {0, false}, MetricInflight: {0, false}, MetricShedRate: {0, false},
				MetricBreakerOpen: {0, false}, MetricCacheHitRatio: {0, false},
			},
			down: []string{"g1", "n1"},
		},
		{
			name: "first answers: gauges without rates",
			samples: []MemberSample{
				{Time: at, Member: "g1", Role: "gateway", Up: true, Inflight: 2, BreakerOpen: 1},
			},
			want: map[string]value{
				MetricInflight: {2, true}, MetricBreakerOpen: {1, true},
				MetricServerErrorRatio: {0, false}, MetricCPUUtilization: {0, false}, MetricShedRate: {0, false},
			},
		},
		{
			name: "gateway down, nodes up: no client-facing data",
			samples: []MemberSample{
				down("g1", "gateway"), n("n1", 0.3, 1, 0, 0),
			},
			want: map[string]value{
				MetricServerErrorRatio: {0, false}, MetricServerLatencyP99: {0, false}, MetricCPUUtilization: {0.3, true},
			},
			down: []string{"g1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Aggregate(at, tt.samples)
			if strings.Join(c.Down, ",") != strings.Join(tt.down, ",") || c.Up != len(tt.samples)-len(tt.down) || c.Members != len(tt.samples) {
				t.Errorf("members %d up %d down %v, want %d %d %v", c.Members, c.Up, c.Down, len(tt.samples), len(tt.samples)-len(tt.down), tt.down)
			}
			for metric, w := range tt.want {
				v, ok := MetricValue(metric, tt.samples)
				if ok != w.ok || math.Abs(v-w.v) > 1e-12 {
					t.Errorf("%s = %g, %v; want %g, %v", metric, v, ok, w.v, w.ok)
				}
			}
		})
	}
}

func TestScrapedMetricsAllHaveValues(t *testing.T) {
	s := MemberSample{Member: "g1", Role: "gateway", Up: true, HaveRates: true, Requests: 1, RequestRate: 1,
		LatencyCount: 1, LatencyBuckets: []Bucket{{UpperBound: 0.1, Count: 1}}, CacheLookups: 1, HaveCache: true}
	node := MemberSample{Member: "n1", Role: "node", Up: true, HaveRates: true, Requests: 1, RequestRate: 1}
	for _, m := range ScrapedMetrics {
		if _, ok := MetricValue(m, []MemberSample{s, node}); !ok {
			t.Errorf("%s: no value from a sample that has every figure", m)
		}
	}
}

func TestSingle(t *testing.T) {
	sample := func(v float64, labels ...string) *model.Sample {
		m := model.Metric{}
		for i := 0; i+1 < len(labels); i += 2 {
			m[model.LabelName(labels[i])] = model.LabelValue(labels[i+1])
		}
		return &model.Sample{Metric: m, Value: model.SampleValue(v)}
	}
	tests := []struct {
		name    string
		result  model.Value
		want    float64
		noData  bool
		errText string
	}{
		{name: "scalar", result: &model.Scalar{Value: 2.5}, want: 2.5},
		{name: "one sample", result: model.Vector{sample(7, "job", "a")}, want: 7},
		{name: "empty vector", result: model.Vector{}, noData: true},
		{name: "NaN", result: model.Vector{sample(math.NaN())}, noData: true},
		{name: "several series", result: model.Vector{sample(1, "code", "200"), sample(2, "code", "503")}, errText: "2 series"},
		{name: "range vector", result: model.Matrix{}, errText: "matrix"},
		{name: "string", result: &model.String{Value: "x"}, errText: "string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := single(tt.result)
			switch {
			case tt.noData:
				if !errors.Is(err, ErrNoData) {
					t.Errorf("err = %v, want ErrNoData", err)
				}
			case tt.errText != "":
				if err == nil || !strings.Contains(err.Error(), tt.errText) || errors.Is(err, ErrNoData) {
					t.Errorf("err = %v, want one mentioning %q", err, tt.errText)
				}
			default:
				if err != nil || got != tt.want {
					t.Errorf("single = %g, %v; want %g", got, err, tt.want)
				}
			}
		})
	}
}

// FuzzParseSnapshot: any exposition parses or errs without panicking, and
// two scrapes never give a negative figure.
func FuzzParseSnapshot(f *testing.F) {
	f.Add(exposition1, exposition2)
	f.Add(exposition2, exposition3)
	f.Add(expositionNoProcess1, expositionNoProcess2)
	f.Add("", "process_cpu_seconds_total NaN\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		t0 := time.Unix(0, 0)
		prev, err1 := parseSnapshot(strings.NewReader(a), t0)
		cur, err2 := parseSnapshot(strings.NewReader(b), t0.Add(time.Second))
		if err1 != nil || err2 != nil {
			return
		}
		s := memberSample("m", "node", prev, cur)
		for name, v := range map[string]float64{"requests": s.Requests, "errors": s.Errors, "latencyCount": s.LatencyCount,
			"cpu": s.CPUUtilization, "shed": s.ShedRate, "lookups": s.CacheLookups} {
			if v < 0 {
				t.Errorf("%s = %g is negative", name, v)
			}
		}
	})
}

// store_request_rate sums the store nodes' request rates, not the gateways':
// what got past the gateways' caches and filters. No store node with rates is
// no data.
func TestStoreRequestRate(t *testing.T) {
	g := MemberSample{Member: "g1", Role: "gateway", Up: true, HaveRates: true, RequestRate: 100}
	n1 := MemberSample{Member: "n1", Role: "node", Up: true, HaveRates: true, RequestRate: 7}
	n2 := MemberSample{Member: "n2", Role: "node", Up: true, HaveRates: true, RequestRate: 5}
	n3 := MemberSample{Member: "n3", Role: "node", Up: true} // first scrape: no rates yet
	if v, ok := MetricValue(MetricStoreRequestRate, []MemberSample{g, n1, n2, n3}); !ok || v != 12 {
		t.Fatalf("store_request_rate = %g, %v; want 12, true", v, ok)
	}
	if v, ok := MetricValue(MetricStoreRequestRate, []MemberSample{g, n3}); ok {
		t.Fatalf("store_request_rate = %g with no store node rates; want no data", v)
	}
}
