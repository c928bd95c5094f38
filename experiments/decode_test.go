package experiments

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func ptr[T any](v T) *T { return &v }

// exampleFiles returns the experiment files in examples/. Other kinds of
// file (GameDay playbooks) are left to their own packages.
func exampleFiles(t testing.TB) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var head struct {
			Kind string `yaml:"kind"`
		}
		if yaml.Unmarshal(data, &head) == nil && head.Kind != "" && head.Kind != KindExperiment {
			continue
		}
		files[p] = data
	}
	if len(files) < 3 {
		t.Fatalf("found %d experiment files in examples/, want at least 3", len(files))
	}
	return files
}

func TestExamplesValidate(t *testing.T) {
	for path := range exampleFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			e, err := Load(path)
			if err != nil {
				t.Fatalf("Load(%s):\n%v", path, err)
			}
			if _, err := e.Plan(1); err != nil {
				t.Fatalf("Plan: %v", err)
			}
		})
	}
}

func TestQuickstartMatchesBrief(t *testing.T) {
	e, err := Load(filepath.Join("..", "examples", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := e.Target.Demo
	if c == nil || c.Nodes != 3 || c.Gateways != 1 || c.Replication != (Replication{N: 3, W: 2, R: 2}) || c.Consistency != ConsistencyLinearizable {
		t.Errorf("target = %+v, want 3 nodes, 1 gateway, linearizable n=3 w=2 r=2", c)
	}
	w := e.Workload
	if w.Duration != 20*time.Second || w.Rate != 200 || w.Warmup != 2*time.Second {
		t.Errorf("workload = %+v, want 200 req/s for 20s after 2s", w)
	}
	var kinds []FaultKind
	for _, f := range e.Faults {
		kinds = append(kinds, f.Kind())
	}
	if !reflect.DeepEqual(kinds, []FaultKind{FaultPartition, FaultCrash}) {
		t.Errorf("fault kinds = %v, want partition and crash", kinds)
	}
	if e.Faults[0].Duration != 5*time.Second || e.Faults[1].Crash.RestartAfter <= 0 {
		t.Errorf("faults = %+v, want a 5s partition and a crash with restartAfter", e.Faults)
	}
	if len(e.SLOs) != 2 || e.SLOs[0].SLI != SLIAvailability || e.SLOs[1].SLI != SLILatency || e.SLOs[1].Op != OpRead {
		t.Errorf("slos = %+v, want availability and read latency", e.SLOs)
	}
	if len(e.SteadyState.Probes) == 0 {
		t.Error("no steady-state probes")
	}
}

const fullDemo = `
apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: full, description: every field}
seed: -7
repeat: 5
target:
  runtime: docker
  demo:
    nodes: 5
    gateways: 2
    vnodes: 128
    sharding: range
    splits: [k3, k6]
    replication: {n: 3, w: 2, r: 1}
    consistency: quorum
    persistence: disk
    recovery: none
    cache: {policy: arc, size: 50, ttl: 10s, ttlJitter: 10%, negativeTTL: 1s, writeMode: through}
    resilience:
      timeout: 250ms
      retries: {max: 0, base: 5ms, cap: 50ms}
      breaker: {failures: 3, openFor: 1s, maxOpen: 34%, trip: errorRate, errorRate: 25%, minRequests: 7, window: 3s}
      hedge: {enabled: true, after: 30ms, budget: 5%}
      bulkhead: 8
      maxInflight: 64
      rateLimit: 100.5
      retryBudget: 20%
      admission: {limit: aimd, target: 30ms, queue: codel, queueTarget: 10ms, queueInterval: 200ms, priority: true}
    scan: {shardTimeout: 150ms, partial: allow}
workload:
  rate: 150.5
  duration: 1m
  warmup: 0
  rampUp: false
  keys: 10
  distribution: zipf
  keyPattern: sequential
  readRatio: 50%
  valueSize: 1KiB
  timeout: 2s
steadyState:
  window: 3s
  recoveryWithin: 0s
  probes:
    - {name: errs, metric: error_ratio, max: 1%, min: 0, during: true}
    - {name: p99, metric: latency_p99, max: 150ms}
    - {name: prom, prometheus: {url: "http://127.0.0.1:9090", query: "up", min: 1}}
    - {name: home, http: {url: "https://example.com/", status: 204, maxLatency: 1s}}
faults:
  - {name: cut, at: 1s, duration: 2s, partition: {groups: [[n1, g1], [n2, n3], [client]], oneWay: true, behavior: reject}}
  - {name: ring, at: 4s, duration: 2s, partition: {mode: ring}}
  - {name: slow, at: 1s, latency: {pick: {count: 2, from: [n1, n2, n3]}, delay: 100ms, jitter: 20ms}}
  - {name: thin, at: 1s, duration: 5s, bandwidth: {nodes: [client], rate: 64KiB/s}}
  - {name: rst, at: 2s, duration: 1s, reset: {nodes: [g2], timeout: 150ms}}
  - {name: hole, at: 2s, duration: 1s, blackhole: {nodes: [n5]}}
  - {name: kill, at: 10s, crash: {nodes: [n4], restartAfter: 5s}}
  - {name: stop, at: 20s, duration: 3s, pause: {pick: {}}}
  - {name: bounce, at: 30s, restart: {nodes: [g1]}}
  - {name: skew, at: 1s, duration: 10s, clockSkew: {nodes: [n2], offset: -2s}}
  - {name: rot, at: 40s, corrupt: {nodes: [n3], ratio: 0.5}}
slos:
  - {name: avail, sli: availability, objective: 0.999, op: write, judge: faults}
  - {name: lat, sli: latency, op: read, threshold: 50ms, objective: 99%}
  - {name: ratio, sli: ratio, good: "sum(ok)", total: "sum(all)", url: "http://127.0.0.1:9090", objective: 95%}
abort: {burnRate: 6, window: 10s, maxDuration: 5m}
checks: [linearizable, no-lost-writes]
`

func TestDecodeEveryDemoField(t *testing.T) {
	e, err := Decode("full.yaml", []byte(fullDemo))
	if err != nil {
		t.Fatal(err)
	}
	want := &Experiment{
		APIVersion: APIVersion, Kind: KindExperiment,
		Metadata: Metadata{Name: "full", Description: "every field"},
		Seed:     ptr(int64(-7)),
		Repeat:   5,
		Target: Target{Runtime: RuntimeDocker, Demo: &DemoCluster{
			Nodes: 5, Gateways: 2, VNodes: 128, Sharding: ShardingRange, Splits: []string{"k3", "k6"},
			Replication: Replication{N: 3, W: 2, R: 1},
			Consistency: ConsistencyQuorum, Persistence: PersistenceDisk, Recovery: RecoveryNone, Raft: RaftTuning{Reads: RaftReadsIndex},
			Cache: Cache{Policy: CacheARC, Size: 50, TTL: 10 * time.Second, TTLJitter: 0.1, NegativeTTL: time.Second, WriteMode: WriteThrough, Singleflight: true, Penetration: PenetrationNegative, BloomFalsePositive: 0.01},
			Resilience: Resilience{
				Timeout: 250 * time.Millisecond,
				Retries: Retries{Max: 0, Base: 5 * time.Millisecond, Cap: 50 * time.Millisecond},
				Breaker: Breaker{Enabled: true, Failures: 3, OpenFor: time.Second, MaxOpen: 0.34,
					Trip: TripErrorRate, ErrorRate: 0.25, MinRequests: 7, Window: 3 * time.Second},
				Hedge:    Hedge{Enabled: true, After: 30 * time.Millisecond, Budget: 0.05},
				Bulkhead: 8, MaxInflight: 64, RateLimit: 100.5, RetryBudget: 0.2,
				Admission: Admission{Limit: LimitAIMD, Target: 30 * time.Millisecond, Queue: QueueCoDel,
					QueueTarget: 10 * time.Millisecond, QueueInterval: 200 * time.Millisecond, Priority: true},
			},
			Scan: Scan{ShardTimeout: 150 * time.Millisecond, Partial: ScanPartialAllow},
		}},
		Body: Body{
			Workload: Workload{Kind: WorkloadKV, Rate: 150.5, Duration: time.Minute, Warmup: 0, Keys: 10, Distribution: DistributionZipf, KeyPattern: KeyPatternSequential,
				ReadRatio: 0.5, ValueSize: 1024, Timeout: 2 * time.Second},
			SteadyState: SteadyState{Window: 3 * time.Second, RecoveryWithin: 0, Probes: []Probe{
				{Name: "errs", Metric: MetricErrorRatio, Max: &Threshold{0.01, ThresholdPercent}, Min: &Threshold{0, ThresholdNumber}, During: true},
				{Name: "p99", Metric: MetricLatencyP99, Max: &Threshold{0.15, ThresholdDuration}},
				{Name: "prom", Prometheus: &PrometheusProbe{URL: "http://127.0.0.1:9090", Query: "up", Min: &Threshold{1, ThresholdNumber}}},
				{Name: "home", HTTP: &HTTPProbe{URL: "https://example.com/", Status: 204, MaxLatency: time.Second}},
			}},
			Faults: []Fault{
				{Name: "cut", At: time.Second, Duration: 2 * time.Second, Partition: &Partition{Groups: [][]string{{"n1", "g1"}, {"n2", "n3"}, {"client"}}, OneWay: true, Behavior: BehaviorReject}},
				{Name: "ring", At: 4 * time.Second, Duration: 2 * time.Second, Partition: &Partition{Mode: ModeRing, Behavior: BehaviorDrop}},
				{Name: "slow", At: time.Second, Duration: 59 * time.Second, Latency: &Latency{Selector: Selector{Pick: &Pick{Count: 2, From: []string{"n1", "n2", "n3"}}}, Delay: 100 * time.Millisecond, Jitter: 20 * time.Millisecond}},
				{Name: "thin", At: time.Second, Duration: 5 * time.Second, Bandwidth: &Bandwidth{Selector: Selector{Nodes: []string{"client"}}, Rate: 64 * 1024}},
				{Name: "rst", At: 2 * time.Second, Duration: time.Second, Reset: &Reset{Selector: Selector{Nodes: []string{"g2"}}, Timeout: 150 * time.Millisecond}},
				{Name: "hole", At: 2 * time.Second, Duration: time.Second, Blackhole: &Blackhole{Selector: Selector{Nodes: []string{"n5"}}}},
				{Name: "kill", At: 10 * time.Second, Duration: 5 * time.Second, Crash: &Crash{Selector: Selector{Nodes: []string{"n4"}}, RestartAfter: 5 * time.Second}},
				{Name: "stop", At: 20 * time.Second, Duration: 3 * time.Second, Pause: &Pause{Selector: Selector{Pick: &Pick{Count: 1, From: []string{"n1", "n2", "n3", "n4", "n5"}}}}},
				{Name: "bounce", At: 30 * time.Second, Duration: 0, Restart: &Restart{Selector: Selector{Nodes: []string{"g1"}}}},
				{Name: "skew", At: time.Second, Duration: 10 * time.Second, ClockSkew: &ClockSkew{Selector: Selector{Nodes: []string{"n2"}}, Offset: -2 * time.Second}},
				{Name: "rot", At: 40 * time.Second, Duration: 0, Corrupt: &Corrupt{Selector: Selector{Nodes: []string{"n3"}}, Ratio: 0.5}},
			},
			SLOs: []SLO{
				{Name: "avail", SLI: SLIAvailability, Objective: 0.999, Op: OpWrite, Judge: JudgeFaults},
				{Name: "lat", SLI: SLILatency, Op: OpRead, Threshold: 50 * time.Millisecond, Objective: 0.99, Judge: JudgeRun},
				{Name: "ratio", SLI: SLIRatio, Good: "sum(ok)", Total: "sum(all)", URL: "http://127.0.0.1:9090", Objective: 0.95, Judge: JudgeRun},
			},
			Abort:    Abort{BurnRate: 6, Window: 10 * time.Second, MaxDuration: 5 * time.Minute},
			Checks:   []Check{CheckLinearizable, CheckNoLostWrites},
			Receipts: ReceiptsRequire,
		},
	}
	if !reflect.DeepEqual(e, want) {
		diffExperiments(t, e, want)
	}
}

// diffExperiments reports the top-level fields that differ (the Body's
// fields one by one).
func diffExperiments(t *testing.T, got, want *Experiment) {
	t.Helper()
	gv, wv := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for _, f := range reflect.VisibleFields(gv.Type()) {
		if f.Anonymous {
			continue
		}
		g, w := gv.FieldByIndex(f.Index).Interface(), wv.FieldByIndex(f.Index).Interface()
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %#v\nwant %#v", f.Name, g, w)
		}
	}
}

const fullExternal = `
apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: ext}
target:
  external:
    members:
      - name: web
        command: [python3, -m, http.server, "18080"]
        env: {PYTHONUNBUFFERED: "1", MODE: test}
        dir: /tmp
        ready: {http: "http://127.0.0.1:18080/"}
        ports: [18080]
      - {name: db, container: {name: my-db}, ready: {tcp: "127.0.0.1:5432"}}
      - {name: api, container: {label: "com.docker.compose.service=api"}}
    proxies:
      - {name: web, listen: "127.0.0.1:28080", upstream: "127.0.0.1:18080"}
      - {name: pg, listen: "127.0.0.1:25432", upstream: "127.0.0.1:5432"}
    toxiproxy: {url: "http://127.0.0.1:8474"}
workload:
  rate: 20
  duration: 30s
  http:
    - {url: "http://127.0.0.1:28080/"}
    - {name: post, method: POST, url: "http://127.0.0.1:28080/x", headers: {Content-Type: text/plain}, body: hi, expect: 201, weight: 0.5}
faults:
  - {name: slow, at: 5s, duration: 10s, latency: {proxies: [web], delay: 300ms}}
  - {name: any, at: 5s, duration: 1s, blackhole: {pick: {count: 1}}}
  - {name: kill, at: 5s, crash: {nodes: [db], restartAfter: 2s}}
slos:
  - {name: posts, sli: latency, op: post, threshold: 100ms, objective: 99%}
`

func TestDecodeEveryExternalField(t *testing.T) {
	e, err := Decode("ext.yaml", []byte(fullExternal))
	if err != nil {
		t.Fatal(err)
	}
	wantTarget := Target{Runtime: RuntimeExternal, External: &ExternalTarget{
		Members: []Member{
			{Name: "web", Command: []string{"python3", "-m", "http.server", "18080"}, Env: map[string]string{"PYTHONUNBUFFERED": "1", "MODE": "test"},
				Dir: "/tmp", Ready: &Readiness{HTTP: "http://127.0.0.1:18080/"}, Ports: []int{18080}},
			{Name: "db", Container: &ContainerRef{Name: "my-db"}, Ready: &Readiness{TCP: "127.0.0.1:5432"}},
			{Name: "api", Container: &ContainerRef{Label: "com.docker.compose.service=api"}},
		},
		Proxies: []Proxy{
			{Name: "web", Listen: "127.0.0.1:28080", Upstream: "127.0.0.1:18080"},
			{Name: "pg", Listen: "127.0.0.1:25432", Upstream: "127.0.0.1:5432"},
		},
		Toxiproxy: &Toxiproxy{URL: "http://127.0.0.1:8474"},
	}}
	if !reflect.DeepEqual(e.Target, wantTarget) {
		t.Errorf("target:\n got %#v\nwant %#v", e.Target, wantTarget)
	}
	wantHTTP := []HTTPRequest{
		{Name: "GET http://127.0.0.1:28080/", Method: "GET", URL: "http://127.0.0.1:28080/", Expect: 200, Weight: 1},
		{Name: "post", Method: "POST", URL: "http://127.0.0.1:28080/x", Headers: map[string]string{"Content-Type": "text/plain"}, Body: "hi", Expect: 201, Weight: 0.5},
	}
	if !reflect.DeepEqual(e.Workload.HTTP, wantHTTP) {
		t.Errorf("workload.http:\n got %#v\nwant %#v", e.Workload.HTTP, wantHTTP)
	}
	// Demo-only workload fields stay zero for an external target.
	if e.Workload.Keys != 0 || e.Workload.ReadRatio != 0 {
		t.Errorf("demo workload fields filled for an external target: %+v", e.Workload)
	}
	if got := e.Faults[1].Blackhole.Pick.From; !reflect.DeepEqual(got, []string{"web", "pg"}) {
		t.Errorf("external link pick defaults to %v, want the proxies", got)
	}
}

// control: and degradation: decode into the model, each limit only when
// given; without them there is no control run and no limit.
func TestControlAndDegradation(t *testing.T) {
	e, err := Decode("c.yaml", []byte(minimalWith("control: true\nslos: [{name: a, sli: availability, objective: 99%}, {name: b, sli: latency, objective: 99%, threshold: 1s}]\ndegradation: {latency: 20ms, errors: 0.5%}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if !e.Control || e.Degradation == nil || *e.Degradation.Latency != 20*time.Millisecond || *e.Degradation.Errors != 0.005 {
		t.Fatalf("control %v degradation %+v", e.Control, e.Degradation)
	}
	e, err = Decode("c.yaml", []byte(minimalWith("control: true\nslos: [{name: a, sli: availability, objective: 99%}]\ndegradation: {errors: 0}\n")))
	if err != nil {
		t.Fatal(err)
	}
	if e.Degradation.Latency != nil || *e.Degradation.Errors != 0 {
		t.Fatalf("degradation %+v: want errors 0 and no latency limit", e.Degradation)
	}
	e, err = Decode("min.yaml", []byte(minimal))
	if err != nil || e.Control || e.Degradation != nil {
		t.Fatalf("a file without them: control %v, degradation %+v (%v)", e.Control, e.Degradation, err)
	}
}

func TestDefaults(t *testing.T) {
	e, err := Decode("min.yaml", []byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	demo := DefaultDemoCluster()
	if e.Target.Runtime != RuntimeProcess || !reflect.DeepEqual(e.Target.Demo, &demo) {
		t.Errorf("target = %+v %+v, want the default demo cluster", e.Target.Runtime, e.Target.Demo)
	}
	if demo.Nodes != 3 || demo.Gateways != 1 || demo.Replication != (Replication{3, 2, 2}) || demo.Resilience.Timeout != 500*time.Millisecond ||
		demo.Resilience.Retries != (Retries{2, 10 * time.Millisecond, 200 * time.Millisecond}) || demo.Resilience.Breaker != (Breaker{true, 5, 2 * time.Second, 1, TripConsecutive, 0.5, 20, 5 * time.Second}) ||
		demo.Resilience.RetryBudget != 0 || demo.Resilience.Admission != (Admission{LimitStatic, 50 * time.Millisecond, QueueNone, 5 * time.Millisecond, 100 * time.Millisecond, false}) ||
		demo.Resilience.Hedge != (Hedge{false, 50 * time.Millisecond, 0.1}) ||
		demo.Resilience.Bulkhead != 32 || demo.Resilience.MaxInflight != 512 || demo.Resilience.RateLimit != 0 || demo.VNodes != 64 ||
		demo.Cache.Policy != CacheNone || demo.Consistency != ConsistencyLinearizable || demo.Persistence != PersistenceMemory {
		t.Errorf("DefaultDemoCluster() = %+v, not the documented defaults", demo)
	}
	w := e.Workload
	wantW := Workload{Kind: WorkloadKV, Rate: 10, Duration: 10 * time.Second, Warmup: 2 * time.Second, RampUp: true, Keys: 1000, Distribution: DistributionUniform,
		KeyPattern: KeyPatternRandom, ReadRatio: 0.9, ValueSize: 32, Timeout: time.Second}
	if !reflect.DeepEqual(w, wantW) {
		t.Errorf("workload = %+v, want %+v", w, wantW)
	}
	if e.Abort.MaxDuration != 10*time.Minute || e.Abort.Window != 5*time.Second {
		t.Errorf("abort = %+v, want maxDuration 10m, window 5s", e.Abort)
	}
	if e.SteadyState.Window != 5*time.Second || e.SteadyState.RecoveryWithin != 10*time.Second {
		t.Errorf("steadyState = %+v", e.SteadyState)
	}
	if e.Seed != nil {
		t.Errorf("seed = %v, want nil when the file has none", *e.Seed)
	}
	if e.Repeat != 1 {
		t.Errorf("repeat = %d, want 1 (one run) when the file has none", e.Repeat)
	}

	// An explicit zero stays zero; a long workload raises maxDuration.
	e, err = Decode("zero.yaml", []byte(minimalWith(`target: {demo: {resilience: {retries: {max: 0}}}}`)))
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Target.Demo.Resilience.Retries.Max; got != 0 {
		t.Errorf("retries.max = %d, want the explicit 0", got)
	}
	e, err = Decode("long.yaml", []byte(strings.Replace(minimal, "duration: 10s", "duration: 1h", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if e.Abort.MaxDuration < e.Workload.Warmup+e.Workload.Duration {
		t.Errorf("default maxDuration %v is shorter than the run", e.Abort.MaxDuration)
	}
}

func TestMergeKeysAndAliases(t *testing.T) {
	src := minimalWith(`
x-slow: &slow {delay: 100ms, jitter: 10ms}
faults:
  - {name: a, at: 1s, duration: 1s, latency: {<<: *slow, nodes: [n1]}}
  - {name: b, at: 1s, duration: 1s, latency: {<<: *slow, nodes: [n2], delay: 50ms}}
`)
	// x-slow is not a field: anchors must live inside known fields.
	if _, err := Decode("m.yaml", []byte(src)); err == nil || !strings.Contains(err.Error(), `unknown field "x-slow"`) {
		t.Fatalf("want an unknown field error for x-slow, got %v", err)
	}
	src = minimalWith(`
faults:
  - {name: a, at: 1s, duration: 1s, latency: &slow {nodes: [n1], delay: 100ms, jitter: 10ms}}
  - {name: b, at: 1s, duration: 1s, latency: {<<: *slow, nodes: [n2], delay: 50ms}}
  - {name: c, at: 1s, duration: 1s, latency: *slow}
`)
	e, err := Decode("m.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	b := e.Faults[1].Latency
	if b.Delay != 50*time.Millisecond || b.Jitter != 10*time.Millisecond || !reflect.DeepEqual(b.Nodes, []string{"n2"}) {
		t.Errorf("merged latency = %+v, want explicit keys over merged ones", b)
	}
	if c := e.Faults[2].Latency; c.Delay != 100*time.Millisecond || !reflect.DeepEqual(c.Nodes, []string{"n1"}) {
		t.Errorf("aliased latency = %+v", c)
	}
}

// minimal is the smallest valid experiment; line numbers in the problem
// table below count from it (it has 5 lines, so extra text starts at 6).
const minimal = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
workload: {rate: 10, duration: 10s}
checks: [linearizable]
`

func minimalWith(extra string) string { return minimal + strings.TrimPrefix(extra, "\n") }

func TestProblems(t *testing.T) {
	tests := []struct {
		name string
		src  string
		// want lists "LINE:COL: text", one per expected problem; the text
		// must appear in the message. No other problem may be reported.
		want []string
	}{
		{
			name: "unknown top-level field",
			src:  minimalWith("workloads: {}\n"),
			want: []string{`6:1: unknown field "workloads" at top level; allowed: apiVersion, kind, metadata, seed, repeat, ramp, control, degradation, target, workload, steadyState, faults, actions, slos, abort, checks, receipts, nemesis; did you mean "workload"?`},
		},
		{
			name: "unknown field in a fault",
			src: minimalWith(`faults:
  - name: a
    at: 1s
    durration: 2s
    crash: {nodes: [n1]}
`),
			want: []string{`9:5: unknown field "durration" in faults[0]; allowed: name, at, duration, partition, latency, bandwidth, reset, blackhole, http, crash, pause, restart, clockSkew, corrupt; did you mean "duration"?`},
		},
		{
			name: "unknown field inside a fault kind",
			src:  minimalWith("faults: [{name: a, at: 1s, latency: {nodes: [n1], delay: 1s, jiter: 1ms}}]\n"),
			want: []string{`6:62: unknown field "jiter" in faults[0].latency; allowed: nodes, pick, proxies, delay, jitter; did you mean "jitter"?`},
		},
		{
			name: "unknown field inside a selector",
			src:  minimalWith("faults: [{name: a, at: 1s, crash: {pick: {count: 1, form: [n1]}}}]\n"),
			want: []string{`6:53: unknown field "form" in faults[0].crash.pick; allowed: count, from; did you mean "from"?`},
		},
		{
			name: "unknown field deep in the target",
			src:  minimalWith("target: {demo: {resilience: {retries: {max: 1, bsae: 1ms}}}}\n"),
			want: []string{`6:48: unknown field "bsae" in target.demo.resilience.retries; allowed: max, base, cap; did you mean "base"?`},
		},
		{
			name: "unknown field in an external member",
			src: `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target: {external: {members: [{name: web, comand: [x]}]}}
`,
			want: []string{
				`4:43: unknown field "comand" in target.external.members[0]; allowed: name, command, env, dir, ready, container, pod, ports; did you mean "command"?`,
				`1:1: top level: missing required field workload`,
				`1:1: top level: nothing to judge`,
			},
		},
		{
			name: "duplicate key",
			src:  minimalWith("workload: {rate: 5, duration: 1s}\n"),
			want: []string{`6:1: duplicate key "workload" at top level (first on line 4)`},
		},
		{
			name: "isolate: not one way, not the client, not a bridge",
			src: minimalWith(`faults:
  - {name: a, at: 1s, duration: 1s, partition: {groups: [[n1], [n2]], oneWay: true, behavior: isolate}}
  - {name: b, at: 3s, duration: 1s, partition: {groups: [[client], [g1]], behavior: isolate}}
  - {name: c, at: 5s, duration: 1s, partition: {mode: bridge, behavior: isolate}}
`),
			want: []string{
				`7:71: faults[0].partition.oneWay: isolate takes members off the network both ways`,
				`8:58: faults[1].partition.groups[0]: isolate takes the first group's members off the network; client is the workload's side`,
				`9:73: faults[2].partition.behavior: isolate takes the first group off the network; mode bridge has no group to isolate`,
			},
		},
		{
			name: "partition size: only with mode isolate, 1 to the nodes less one",
			src: minimalWith(`faults:
  - {name: a, at: 1s, duration: 1s, partition: {groups: [[n1], [n2, n3]], size: 1}}
  - {name: b, at: 3s, duration: 1s, partition: {mode: halves, size: 2}}
  - {name: c, at: 5s, duration: 1s, partition: {mode: isolate, size: 3}}
  - {name: d, at: 7s, duration: 1s, partition: {mode: isolate, size: 0}}
  - {name: e, at: 9s, duration: 1s, partition: {mode: isolate, size: two}}
`),
			want: []string{
				`7:75: faults[0].partition.size: size applies to mode isolate (how many store nodes it cuts off together); with groups, name the members in the first group`,
				`8:63: faults[1].partition.size: size applies to mode isolate (how many store nodes it cuts off together); mode halves sizes its groups itself`,
				`9:70: faults[2].partition.size: 3 is out of range; allowed: 1 to 2 (isolate cuts size of the cluster's 3 store nodes off from the others, and leaves at least one)`,
				`10:70: faults[3].partition.size: 0 is out of range; allowed: 1 to 2`,
				`11:70: faults[4].partition.size: expected an integer, got the string "two"`,
			},
		},
		{
			name: "partition size of an external target",
			src: minimalWith(`target:
  kubernetes: {allow: [shop]}
  external:
    members: [{name: cart, pod: {namespace: shop, selector: "app=cart"}}]
faults:
  - {name: a, at: 1s, duration: 1s, partition: {groups: [[cart]], behavior: isolate, size: 1}}
`),
			want: []string{
				`4:11: workload: missing required field http`,
				`5:10: checks[0]: linearizable reads a key-value workload's operation history`,
				`11:86: faults[0].partition.size: applies to the demo cluster's partitions; isolate of pod members takes groups`,
			},
		},
		{
			name: "kubernetes target: protected namespaces, names, runtime",
			src: minimalWith(`target:
  runtime: docker
  kubernetes: {namespace: kube-system, allow: [team-a, kube-public, Bad_NS], storageClass: ""}
`),
			want: []string{
				`8:3: target.kubernetes: applies to runtime kubernetes, and target.runtime is docker; remove one of them`,
			},
		},
		{
			name: "kubernetes target: fields",
			src: minimalWith(`target:
  kubernetes: {imag: x}
`),
			want: []string{
				`7:16: unknown field "imag" in target.kubernetes; allowed: kubeconfig, context, namespace, allow, image, storageClass, crash; did you mean "image"?`,
			},
		},
		{
			name: "kubernetes target: values",
			src: minimalWith(`target:
  kubernetes: {namespace: kube-system, allow: [team-a, kube-public, Bad_NS], kubeconfig: ""}
`),
			want: []string{
				`7:27: target.kubernetes.namespace: kube-system is never touched`,
				`7:56: target.kubernetes.allow[1]: kube-public is never touched, whatever allow says`,
				`7:69: target.kubernetes.allow[2]: bad name "Bad_NS"`,
				`7:90: target.kubernetes.kubeconfig: is empty`,
			},
		},
		{
			name: "pod members: allowed namespaces, selectors, isolate",
			src: minimalWith(`target:
  kubernetes: {allow: [shop], namespace: x}
  external:
    members:
      - {name: cart, pod: {namespace: shop, selector: "app=cart"}}
      - {name: db, pod: {namespace: kube-system, selector: "app=db"}}
      - {name: web, pod: {namespace: other, selector: "app in (x"}}
      - {name: local, command: [sleep, "9"]}
faults:
  - {name: a, at: 1s, duration: 1s, partition: {groups: [[cart, local], [web]], behavior: isolate}}
  - {name: b, at: 3s, duration: 1s, partition: {groups: [[cart]], behavior: drop}}
`),
			want: []string{
				`4:11: workload: missing required field http`,
				`5:10: checks[0]: linearizable reads a key-value workload's operation history`,
				`7:31: target.kubernetes.namespace: applies to the demo cluster; with target.external give kubeconfig, context and allow`,
				`11:37: target.external.members[1].pod.namespace: kube-system is never touched`,
				`12:38: target.external.members[2].pod.namespace: other is not in target.kubernetes.allow`,
				`12:55: target.external.members[2].pod.selector: bad label selector "app in (x"`,
				`15:65: faults[0].partition.groups[0][1]: local is not a pod member`,
				`16:37: faults[1].partition: partition of an external target needs behavior: isolate`,
			},
		},
		{
			name: "duplicate key in a flow mapping",
			src:  minimalWith("faults: [{name: a, at: 1s, at: 2s, crash: {nodes: [n1]}}]\n"),
			want: []string{`6:28: duplicate key "at" in faults[0] (first on line 6)`},
		},
		{
			name: "wrong types",
			src: minimalWith(`target: {demo: {nodes: "5"}}
steadyState: {probes: {name: x}}
faults: [{name: a, at: 1s, duration: 1s, partition: {groups: [[n1], [n2]], oneWay: yes}}]
seed: 1.5
`),
			want: []string{
				`6:24: target.demo.nodes: expected an integer, got the string "5"`,
				`7:23: steadyState.probes: expected a list, got a mapping`,
				`8:84: faults[0].partition.oneWay: expected true or false, got the string "yes"`,
				`9:7: seed: expected an integer, got the number 1.5`,
			},
		},
		{
			name: "number where a string belongs",
			src:  strings.Replace(minimal, "{name: t}", "{name: t, description: 2024}", 1),
			want: []string{`3:34: metadata.description: expected a string, got the integer 2024 (quote it to make it a string)`},
		},
		{
			name: "bad enum value",
			src:  minimalWith("target: {demo: {consistency: linearisable}}\n"),
			want: []string{`6:30: target.demo.consistency: bad value "linearisable"; allowed: linearizable, quorum, eventual, raft; did you mean "linearizable"?`},
		},
		{
			name: "out of range",
			src: minimalWith(`target: {demo: {nodes: 0, gateways: 99}}
`) + "slos: [{name: a, sli: availability, objective: 100%}]\n",
			want: []string{
				`6:24: target.demo.nodes: 0 is out of range; allowed: 1 to 32`,
				`6:37: target.demo.gateways: 99 is out of range; allowed: 1 to 8`,
				`7:48: slos[0].objective: 100% is out of range; allowed: above 0% and below 100%`,
			},
		},
		{
			name: "lease ttl out of range",
			src:  minimalWith("target: {demo: {nodes: 3}, leaseTTL: 20ms}\n"),
			want: []string{`6:38: target.leaseTTL: 20ms is out of range; allowed: 100ms to 10m0s`},
		},
		{
			name: "breaker share out of range",
			src:  minimalWith("target: {demo: {resilience: {breaker: {maxOpen: 0%}}}}\n"),
			want: []string{`6:49: target.demo.resilience.breaker.maxOpen: 0% is out of range; allowed: above 0% up to 100% (the share of store nodes whose breakers a gateway may hold open at once; one may always open)`},
		},
		{
			name: "overload switches out of range",
			src:  minimalWith("target: {demo: {resilience: {breaker: {trip: often}, admission: {limit: vegas, queue: red, queueTarget: 1s, queueInterval: 10ms}, retryBudget: 150%}}}\n"),
			want: []string{
				`6:46: target.demo.resilience.breaker.trip: bad value "often"; allowed: consecutive, errorRate`,
				`6:73: target.demo.resilience.admission.limit: bad value "vegas"; allowed: static, aimd`,
				`6:87: target.demo.resilience.admission.queue: bad value "red"; allowed: none, codel`,
				`6:124: target.demo.resilience.admission.queueInterval: 10ms is below queueTarget 1s; allowed: at least queueTarget, up to 1m`,
				`6:144: target.demo.resilience.retryBudget: 150% is out of range; allowed: 0% to 100%`,
			},
		},
		{
			name: "hedge after the timeout",
			src:  minimalWith("target: {demo: {resilience: {timeout: 200ms, hedge: {after: 200ms}}}}\n"),
			want: []string{`6:61: target.demo.resilience.hedge.after: 200ms is not below resilience.timeout 200ms: a hedge would never be sent; allowed: above 0 and below the timeout`},
		},
		{
			name: "bad percent",
			src: minimalWith(`slos:
  - {name: a, sli: availability, objective: 99.5}
  - {name: b, sli: availability, objective: ninety%}
  - {name: c, sli: availability, objective: 0.999%}
`),
			want: []string{
				`7:45: slos[0].objective: 99.5 is a fraction (9950%), above 100%; a bare number is a fraction: write 99.5% (a percentage) or 0.995 (a fraction)`,
				`8:45: slos[1].objective: bad percentage "ninety%"`,
				`9:45: slos[2].objective: 0.999% leaves 99.001% of the events as error budget; an objective is the share of good events: if you meant 99.9%, write 99.9% (a percentage) or 0.999 (a fraction)`,
			},
		},
		{
			name: "bad judge value",
			src: minimalWith(`faults: [{name: k, at: 1s, crash: {nodes: [n1]}}]
slos: [{name: a, sli: availability, objective: 99%, judge: fault}]
`),
			want: []string{`7:60: slos[0].judge: bad value "fault"; allowed: run, faults; did you mean "faults"?`},
		},
		{
			name: "misspelt judge field",
			src: minimalWith(`faults: [{name: k, at: 1s, crash: {nodes: [n1]}}]
slos: [{name: a, sli: availability, objective: 99%, jugde: faults}]
`),
			want: []string{`7:53: unknown field "jugde" in slos[0]; allowed: name, sli, objective, op, threshold, good, bad, total, url, query, compare, value, metric, openslo, judge; did you mean "judge"?`},
		},
		{
			name: "judge faults without faults",
			src:  minimalWith("slos: [{name: a, sli: availability, objective: 99%, judge: faults}]\n"),
			want: []string{`6:60: slos[0].judge: faults needs faults to judge: the experiment has none`},
		},
		{
			name: "judge faults on a ratio SLO",
			src: minimalWith(`faults: [{name: k, at: 1s, crash: {nodes: [n1]}}]
slos: [{name: r, sli: ratio, good: "sum(ok)", total: "sum(all)", url: "http://127.0.0.1:9090", objective: 99%, judge: faults}]
`),
			want: []string{`7:119: slos[0].judge: faults is not allowed for ratio SLOs`},
		},
		{
			name: "bad duration",
			src:  strings.Replace(minimal, "duration: 10s", "duration: 10", 1) + "steadyState: {window: 5 s}\n",
			want: []string{
				`4:32: workload.duration: bad duration 10: add a unit, e.g. 10s or 10ms`,
				`6:23: steadyState.window: bad duration "5 s"`,
			},
		},
		{
			name: "negative duration",
			src:  minimalWith("target: {demo: {cache: {ttl: -1s}}}\n"),
			want: []string{`6:30: target.demo.cache.ttl: -1s is negative; allowed: 0 to 24h0m0s`},
		},
		{
			name: "unknown cache penetration",
			src:  minimalWith("target: {demo: {cache: {penetration: cuckoo}}}\n"),
			want: []string{`6:38: target.demo.cache.penetration: bad value "cuckoo"; allowed: bloom, negative, none`},
		},
		{
			name: "unknown raft reads",
			src:  minimalWith("target: {demo: {consistency: raft, raft: {reads: stale}}}\n"),
			want: []string{`6:50: target.demo.raft.reads: bad value "stale"; allowed: index, lease`},
		},
		{
			name: "raft reads outside raft mode",
			src:  minimalWith("target: {demo: {raft: {reads: lease}}}\n"),
			want: []string{`6:17: target.demo.raft: tunes Raft mode; it needs target.demo.consistency: raft`},
		},
		{
			name: "bloomFalsePositive without penetration bloom",
			src:  minimalWith("target: {demo: {cache: {bloomFalsePositive: 2%}}}\n"),
			want: []string{`6:45: target.demo.cache.bloomFalsePositive: applies to penetration bloom only; penetration is negative`},
		},
		{
			name: "bloomFalsePositive out of range",
			src:  minimalWith("target: {demo: {cache: {penetration: bloom, bloomFalsePositive: 60%}}}\n"),
			want: []string{`6:65: target.demo.cache.bloomFalsePositive: 60% is out of range; allowed: above 0% up to 50%`},
		},
		{
			name: "unknown sharding",
			src:  minimalWith("target: {demo: {sharding: directory}}\n"),
			want: []string{`6:27: target.demo.sharding: bad value "directory"; allowed: hash, range`},
		},
		{
			name: "splits without range sharding",
			src:  minimalWith("target: {demo: {splits: [k3]}}\n"),
			want: []string{`6:17: target.demo.splits: are range sharding's split points; set target.demo.sharding: range`},
		},
		{
			name: "splits out of byte order",
			src:  minimalWith("target: {demo: {sharding: range, splits: [k9, k10]}}\n"),
			want: []string{`6:47: target.demo.splits[1]: "k10" is not above "k9"; split points must be strictly increasing as byte strings (k10 sorts before k9: zero-pad numbers)`},
		},
		{
			name: "empty split point",
			src:  minimalWith("target: {demo: {sharding: range, splits: [\"\", k5]}}\n"),
			want: []string{`6:43: target.demo.splits[0]: is empty; the first range already starts at the smallest key, give split points above it`},
		},
		{
			name: "sequential keys of a counter workload",
			src:  "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: t}\ntarget: {demo: {consistency: eventual}}\nworkload: {rate: 10, duration: 10s, kind: counter, keyPattern: sequential}\nchecks: [converges]\n",
			want: []string{`5:64: workload.keyPattern: sequential writes new key-value keys; it needs kind kv, and kind is counter`},
		},
		{
			name: "unknown key pattern",
			src:  "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: t}\nworkload: {rate: 10, duration: 10s, keyPattern: monotonic}\nchecks: [linearizable]\n",
			want: []string{`4:49: workload.keyPattern: bad value "monotonic"; allowed: random, sequential`},
		},
		{
			name: "metric SLO on a workload metric",
			src:  minimalWith("slos: [{name: s, sli: metric, metric: latency_p99, compare: lte, value: 1, objective: 90%}]\n"),
			want: []string{`6:39: slos[0].metric: latency_p99 is measured by the workload; a metric SLO takes a metric scraped from the members: server_error_ratio, server_latency_p99, cpu_utilization, inflight, shed_rate, breaker_open, cache_hit_ratio, store_request_rate, hot_shard_share`},
		},
		{
			name: "metric SLO without compare and value",
			src:  minimalWith("slos: [{name: s, sli: metric, metric: hot_shard_share, objective: 90%}]\n"),
			want: []string{`6:8: slos[0]: missing required field compare`, `6:8: slos[0]: missing required field value`},
		},
		{
			name: "metric on an availability SLO",
			src:  minimalWith("slos: [{name: s, sli: availability, metric: hot_shard_share, objective: 90%}]\n"),
			want: []string{`6:37: slos[0].metric: applies to metric SLOs (sli: metric)`},
		},
		{
			name: "missRatio out of range",
			src:  "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: t}\nworkload: {rate: 10, duration: 10s, missRatio: 150%}\nchecks: [linearizable]\n",
			want: []string{`4:48: workload.missRatio: 150% is out of range; allowed: 0% to 100%`},
		},
		{
			name: "negative reset timeout",
			src:  minimalWith("faults: [{name: a, at: 1s, reset: {nodes: [n1], timeout: -5ms}}]\n"),
			want: []string{`6:58: faults[0].reset.timeout: -5ms is negative; allowed: 0 to 10s`},
		},
		{
			name: "reset timeout without a unit",
			src:  minimalWith("faults: [{name: a, at: 1s, reset: {nodes: [n1], timeout: 300}}]\n"),
			want: []string{`6:58: faults[0].reset.timeout: bad duration 300: add a unit, e.g. 300s or 300ms`},
		},
		{
			name: "reset timeout too long",
			src:  minimalWith("faults: [{name: a, at: 1s, reset: {nodes: [n1], timeout: 1h}}]\n"),
			want: []string{`6:58: faults[0].reset.timeout: 1h0m0s is out of range; allowed: 0s to 10s`},
		},
		{
			name: "unknown node in a selector",
			src:  minimalWith("faults: [{name: a, at: 1s, latency: {nodes: [n1, n9], delay: 1s}}]\n"),
			want: []string{`6:50: faults[0].latency.nodes[1]: unknown node "n9"; allowed: client, g1, n1, n2, n3`},
		},
		{
			name: "unknown node in a partition group",
			src:  minimalWith("faults: [{name: a, at: 1s, partition: {groups: [[n1, nn2], [n3]]}}]\n"),
			want: []string{`6:54: faults[0].partition.groups[0][1]: unknown node "nn2"; allowed: client, g1, n1, n2, n3; did you mean "n2"?`},
		},
		{
			name: "unknown node in pick.from and a count too large",
			src:  minimalWith("faults: [{name: a, at: 1s, crash: {pick: {count: 3, from: [n1, client]}}}]\n"),
			want: []string{
				`6:64: faults[0].crash.pick.from[1]: unknown node "client"; allowed: g1, n1, n2, n3`,
				`6:50: faults[0].crash.pick.count: 3 is out of range; allowed: 1 to 2`,
			},
		},
		{
			name: "clock skew of a gateway",
			src:  minimalWith("faults: [{name: a, at: 1s, clockSkew: {nodes: [g1], offset: 1s}}]\n"),
			want: []string{`6:48: faults[0].clockSkew.nodes[0]: unknown node "g1"; allowed: n1, n2, n3`},
		},
		{
			name: "node in two partition groups",
			src:  minimalWith("faults: [{name: a, at: 1s, partition: {groups: [[n1, n2], [n2, n3]]}}]\n"),
			want: []string{`6:60: faults[0].partition.groups[1][0]: n2 is already in faults[0].partition.groups[0][1]`},
		},
		{
			name: "partition that cuts nothing",
			src:  minimalWith("faults: [{name: a, at: 1s, partition: {groups: [[client], [n1]]}}]\n"),
			want: []string{`6:48: faults[0].partition.groups: cuts no link of the fault plane`},
		},
		{
			name: "mode needs more nodes",
			src:  minimalWith("faults: [{name: a, at: 1s, partition: {mode: ring}}]\n"),
			want: []string{`6:46: faults[0].partition.mode: ring needs at least 4 store nodes, the cluster has 3`},
		},
		{
			name: "fault starting after the workload",
			src:  minimalWith("faults: [{name: a, at: 10s, crash: {nodes: [n1]}}]\n"),
			want: []string{`6:24: faults[0].at: the fault starts at 10s, not before the workload ends at 10s (at counts from the end of warmup)`},
		},
		{
			name: "fault ending after the workload",
			src: minimalWith(`faults:
  - {name: a, at: 5s, duration: 6s, pause: {nodes: [n1]}}
  - {name: b, at: 8s, crash: {nodes: [n2], restartAfter: 3s}}
  - {name: c, at: -1s, crash: {nodes: [n3]}}
`),
			want: []string{
				`7:33: faults[0].duration: the fault ends at 11s (at 5s + 6s), after the workload ends at 10s`,
				`8:58: faults[1].crash.restartAfter: the restart comes at 11s (at 8s + 3s), after the workload ends at 10s`,
				`9:19: faults[2].at: -1s is negative`,
			},
		},
		{
			name: "overlapping crashes of one node",
			src: minimalWith(`faults:
  - {name: a, at: 1s, crash: {nodes: [n1], restartAfter: 3s}}
  - {name: b, at: 2s, crash: {nodes: [n2, n1], restartAfter: 1s}}
  - {name: c, at: 4s, crash: {nodes: [n1]}}
`),
			want: []string{
				`8:30: faults[1].crash: crash of n1 from 2s to 3s overlaps faults[0] (a, crash from 1s to 4s) on n1`,
			},
		},
		{
			name: "crash overlapping a pause and a restart",
			src: minimalWith(`faults:
  - {name: a, at: 1s, crash: {nodes: [n1]}}
  - {name: b, at: 5s, duration: 1s, pause: {nodes: [n1]}}
  - {name: c, at: 8s, restart: {nodes: [n1]}}
  - {name: d, at: 1s, duration: 1s, pause: {pick: {count: 1, from: [n2, n3]}}}
  - {name: e, at: 1s, crash: {nodes: [n3], restartAfter: 1s}}
`),
			want: []string{
				`8:44: faults[1].pause: pause of n1 from 5s to 6s overlaps faults[0] (a, crash from 1s to 10s) on n1`,
				`9:32: faults[2].restart: restart of n1 from 8s to 8s overlaps faults[0] (a, crash from 1s to 10s) on n1`,
				`11:30: faults[4].crash: crash of n3 from 1s to 2s overlaps faults[3] (d, pause from 1s to 2s) on n3; a member is crashed, paused or restarted by one fault at a time (a pick may choose any of its candidates)`,
			},
		},
		{
			name: "overlapping partitions",
			src: strings.Replace(minimal, "checks", "target: {demo: {nodes: 5}}\nchecks", 1) + `faults:
  - {name: a, at: 1s, duration: 5s, partition: {groups: [[n1], [n2]]}}
  - {name: b, at: 2s, duration: 5s, partition: {groups: [[n3], [n4, n5]]}}
  - {name: c, at: 3s, duration: 1s, partition: {mode: halves}}
`,
			want: []string{`10:48: faults[2].partition: overlaps faults[0] (a, partition from 1s to 6s) on the store nodes`},
		},
		{
			name: "impossible quorums",
			src: minimalWith(`target: {demo: {replication: {n: 3, w: 4, r: 2}}}
---
`),
			want: []string{`7:1: the file holds more than one YAML document`},
		},
		{
			name: "write quorum above n",
			src:  minimalWith("target: {demo: {replication: {n: 3, w: 4, r: 2}}}\n"),
			want: []string{`6:40: target.demo.replication.w: write quorum 4 is impossible with n=3 replicas; allowed: 1 to 3`},
		},
		{
			name: "read quorum above n and more replicas than nodes",
			src:  minimalWith("target: {demo: {nodes: 2, replication: {n: 3, r: 4}}}\n"),
			want: []string{
				`6:44: target.demo.replication.n: 3 replicas need at least 3 nodes, the cluster has 2`,
				`6:50: target.demo.replication.r: read quorum 4 is impossible with n=3 replicas; allowed: 1 to 3`,
			},
		},
		{
			name: "linearizable quorums that do not overlap",
			src:  minimalWith("target: {demo: {replication: {n: 3, w: 1, r: 2}}}\n"),
			want: []string{`6:30: target.demo.replication: linearizable needs overlapping quorums (r+w > n); r=2 w=1 n=3 do not overlap`},
		},
		{
			name: "missing required fields",
			src:  "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {description: x}\nworkload: {rate: 10}\nchecks: [linearizable]\nfaults: [{name: a, crash: {nodes: [n1]}}]\n",
			want: []string{
				`3:11: metadata: missing required field name`,
				`4:11: workload: missing required field duration`,
				`6:10: faults[0]: missing required field at`,
			},
		},
		{
			name: "fault with no kind and with two kinds",
			src: minimalWith(`faults:
  - {name: a, at: 1s}
  - {name: b, at: 1s, pause: {nodes: [n1]}, crash: {nodes: [n2]}}
`),
			want: []string{
				`7:5: faults[0]: needs one of partition, latency, bandwidth, reset, blackhole, http, crash, pause, restart, clockSkew, corrupt`,
				`8:45: faults[1].crash: pause and crash are exclusive`,
			},
		},
		{
			name: "crash with a duration",
			src:  minimalWith("faults: [{name: a, at: 1s, duration: 2s, crash: {nodes: [n1]}}]\n"),
			want: []string{`6:28: faults[0].duration: crash takes no duration; use crash.restartAfter`},
		},
		{
			name: "probe bound in the wrong unit",
			src: minimalWith(`steadyState:
  probes:
    - {name: a, metric: latency_p99, max: 0.2}
    - {name: b, metric: error_ratio, max: 2}
    - {name: c, metric: throughput, min: 5%}
    - {name: d, metric: error_ratio}
    - {name: d, metric: latency_p50, min: 2s, max: 1s}
`),
			want: []string{
				`8:43: steadyState.probes[0].max: latency_p99 is a latency; write the bound as a duration`,
				`9:43: steadyState.probes[1].max: 2 is out of range for the ratio error_ratio`,
				`10:42: steadyState.probes[2].min: throughput is a number`,
				`11:7: steadyState.probes[3]: needs max, min or both`,
				`12:14: steadyState.probes[4].name: probe name "d" is already used by steadyState.probes[3].name`,
				`12:43: steadyState.probes[4].min: min 2s is above max 1s`,
			},
		},
		{
			name: "demo and external together",
			src:  minimalWith("target: {demo: {nodes: 3}, external: {proxies: [{name: p, listen: ':1', upstream: ':2'}]}}\n"),
			want: []string{`6:28: target.external: demo and external are exclusive`},
		},
		{
			name: "external target misuse",
			src: `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target:
  external:
    members: [{name: web, command: [x], ready: {http: "ftp://x"}}]
    proxies: [{name: web, listen: "127.0.0.1", upstream: "127.0.0.1:80"}]
workload: {rate: 1, duration: 10s, keys: 5, http: [{url: "http://127.0.0.1:1/"}]}
faults:
  - {name: a, at: 1s, latency: {nodes: [web], delay: 1s}}
  - {name: b, at: 1s, crash: {proxies: [web]}}
  - {name: c, at: 1s, partition: {groups: [[web], [client]]}}
slos: [{name: s, sli: availability, objective: 99%, op: read}]
checks: [linearizable]
`,
			want: []string{
				`6:55: target.external.members[0].ready.http: bad URL "ftp://x"`,
				`7:35: target.external.proxies[0].listen: bad address "127.0.0.1"`,
				`8:36: workload.keys: applies to a key-value workload (the demo cluster's, or workload.redis)`,
				`10:33: faults[0].latency.nodes: latency on an external target acts on proxies; use proxies: [web]`,
				`11:31: faults[1].crash.proxies: crash acts on members; use nodes`,
				`12:23: faults[2].partition: partition of an external target needs behavior: isolate and pod members`,
				`13:57: slos[0].op: unknown op "read"; allowed: GET http://127.0.0.1:1/`,
				`14:10: checks[0]: linearizable reads a key-value workload's operation history`,
			},
		},
		{
			name: "redis workload misuse",
			src: `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
target:
  external:
    members: [{name: db, command: [redis-server], ready: {tcp: "127.0.0.1:6379"}}]
workload: {rate: 1, duration: 10s, redis: {addr: "127.0.0.1", db: 16}, http: [{url: "http://127.0.0.1:1/"}], sticky: true}
slos: [{name: s, sli: availability, objective: 99%, op: read}]
checks: [linearizable, no-lost-writes]
`,
			want: []string{
				`7:50: workload.redis.addr: bad address "127.0.0.1"`,
				`7:67: workload.redis.db: 16 is out of range; allowed: 0 to 15`,
				`7:72: workload.http: is the HTTP workload; workload.redis sends the key-value workload, give one of the two`,
				`7:110: workload.sticky: applies to the demo cluster (one gateway and coordinator per client session); an external target has neither`,
			},
		},
		{
			name: "sticky is a boolean",
			src:  strings.Replace(minimal, "workload: {", "workload: {sticky: maybe, ", 1),
			want: []string{`4:20: workload.sticky: expected true or false, got the string "maybe"`},
		},
		{
			name: "nothing to judge",
			src:  strings.Replace(minimal, "checks: [linearizable]\n", "", 1),
			want: []string{`1:1: top level: nothing to judge`},
		},
		{
			name: "invalid YAML",
			src:  "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: t\n",
			want: []string{`3:1: invalid YAML: did not find expected ',' or '}'`},
		},
		{
			name: "invalid YAML: bad indentation",
			src:  "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata:\n  name: t\n description: x\n",
			want: []string{`5:2: invalid YAML: did not find expected key`},
		},
		{
			name: "invalid YAML: tab",
			src:  "apiVersion: chaosctl/v1\n\tkind: Experiment\n",
			want: []string{`2:1: invalid YAML: tab character; YAML indents with spaces`},
		},
		{
			name: "invalid YAML: tab after spaces",
			src:  "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata:\n  name: t\n  \tdescription: x\n",
			want: []string{`5:3: invalid YAML: tab character; YAML indents with spaces`},
		},
		{
			name: "invalid YAML: tab under a key",
			src:  "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata:\n\tname: t\n",
			want: []string{`4:1: invalid YAML: tab character; YAML indents with spaces`},
		},
		{
			name: "unknown anchor",
			src:  minimalWith("slos: [*nope]\n"),
			want: []string{`6:8: invalid YAML: alias *nope refers to no anchor`},
		},
		{
			name: "empty file",
			src:  "# nothing here\n",
			want: []string{`1:1: empty file`},
		},
		{
			name: "not a mapping",
			src:  "- a\n- b\n",
			want: []string{`1:1: top level: expected a mapping with fields apiVersion, kind`},
		},
		{
			name: "self-merging mapping",
			src:  minimalWith("abort: &a {<<: *a}\n"),
			want: []string{`6:8: abort: a mapping merges itself`},
		},
		{
			name: "hostile node counts with picks",
			src: minimalWith(`target: {demo: {nodes: -1, gateways: 999999999}}
faults: [{name: a, at: 1s, crash: {pick: {count: 1}}}, {name: b, at: 1s, partition: {mode: halves}}]
`),
			want: []string{
				`6:24: target.demo.nodes: -1 is out of range; allowed: 1 to 32`,
				`6:38: target.demo.gateways: 999999999 is out of range; allowed: 1 to 8`,
			},
		},
		{
			name: "list too long",
			src:  minimalWith("faults: [{name: a, at: 1s, latency: {delay: 1s, nodes: [" + strings.Repeat("n1, ", MaxListItems) + "n1]}}]\n"),
			want: []string{`6:56: faults[0].latency.nodes: has 10001 items; at most 10000 are allowed`},
		},
		{
			name: "repeat below one",
			src:  minimalWith("repeat: 0\n"),
			want: []string{`6:9: repeat: 0 is out of range; allowed: 1 to 1000`},
		},
		{
			name: "repeat above the bound",
			src:  minimalWith("repeat: 1001\n"),
			want: []string{`6:9: repeat: 1001 is out of range; allowed: 1 to 1000`},
		},
		{
			name: "repeat not a number",
			src:  minimalWith("repeat: \"3\"\n"),
			want: []string{`6:9: repeat`},
		},
		{
			name: "repeat misspelt",
			src:  minimalWith("repaet: 3\n"),
			want: []string{`6:1: unknown field "repaet" at top level; allowed: apiVersion, kind, metadata, seed, repeat, ramp, control, degradation, target, workload, steadyState, faults, actions, slos, abort, checks, receipts, nemesis; did you mean "repeat"?`},
		},
		{
			name: "degradation without control",
			src:  minimalWith("slos: [{name: a, sli: availability, objective: 99%}]\ndegradation: {errors: 1%}\n"),
			want: []string{`7:1: degradation: limits how much worse than a fault-free control run the experiment may be, and the file has no control run; add control: true`},
		},
		{
			name: "degradation latency without a unit",
			src:  minimalWith("control: true\nslos: [{name: a, sli: latency, objective: 99%, threshold: 50ms}]\ndegradation: {latency: 20}\n"),
			want: []string{`8:24: degradation.latency: bad duration 20: add a unit, e.g. 20s or 20ms`},
		},
		{
			name: "degradation errors as a duration",
			src:  minimalWith("control: true\nslos: [{name: a, sli: availability, objective: 99%}]\ndegradation: {errors: 5ms}\n"),
			want: []string{`8:23: degradation.errors: bad percentage "5ms": write 99.5% or 0.995`},
		},
		{
			name: "degradation out of range",
			src:  minimalWith("control: true\nslos: [{name: a, sli: availability, objective: 99%}, {name: b, sli: latency, objective: 99%, threshold: 1s}]\ndegradation: {errors: 150%, latency: -1ms}\n"),
			want: []string{`8:23: degradation.errors: 150% is out of range; allowed: 0% to 100%`, `8:38: degradation.latency: -1ms is negative; allowed: 0 to 1m0s`},
		},
		{
			name: "degradation empty",
			src:  minimalWith("control: true\nslos: [{name: a, sli: availability, objective: 99%}]\ndegradation: {}\n"),
			want: []string{`8:14: degradation: needs latency, errors or both`},
		},
		{
			name: "degradation misspelt",
			src:  minimalWith("control: true\nslos: [{name: a, sli: availability, objective: 99%}]\ndegradation: {error: 1%}\n"),
			want: []string{`8:15: unknown field "error" in degradation; allowed: latency, errors; did you mean "errors"?`},
		},
		{
			name: "degradation of a kind without an SLO",
			src:  minimalWith("control: true\nslos: [{name: a, sli: availability, objective: 99%}]\ndegradation: {latency: 20ms}\n"),
			want: []string{`8:24: degradation.latency: bounds the shift of latency SLOs, and the file has none`},
		},
		{
			name: "control without an SLO to compare",
			src:  minimalWith("control: true\n"),
			want: []string{`6:10: control: compares the per-second series of availability and latency SLOs`},
		},
		{
			name: "control not a boolean",
			src:  minimalWith("control: yes please\n"),
			want: []string{`6:10: control: expected true or false`},
		},
		{
			name: "control misspelt",
			src:  minimalWith("contrl: true\n"),
			want: []string{`6:1: unknown field "contrl" at top level; allowed: apiVersion, kind, metadata, seed, repeat, ramp, control, degradation, target, workload, steadyState, faults, actions, slos, abort, checks, receipts, nemesis; did you mean "control"?`},
		},
		{
			name: "too many faults",
			src:  minimalWith("faults:\n" + strings.Repeat("  - {name: a, at: 1s, crash: {nodes: [n1]}}\n", MaxFaults+1)),
			want: []string{`7:3: faults: 1001 faults; at most 1000 are allowed`},
		},
		{
			name: "several problems in one file, sorted by position",
			src: `apiVersion: chaosctl/v2
kind: Experiment
metadata: {name: Bad_Name}
target:
  demo: {nodes: 3, replication: {n: 3, w: 1, r: 1}}
workload: {rate: -5, duration: 10s, readRatio: 2}
faults:
  - {name: a, at: 1s, duration: 20s, latency: {nodes: [n4], delay: 0s}}
slos: [{name: s, sli: latency, objective: 99%}]
checks: [linearizable, linearizable]
`,
			want: []string{
				`1:13: apiVersion: unsupported version "chaosctl/v2"; allowed: chaosctl/v1`,
				`3:18: metadata.name: bad name "Bad_Name"`,
				`5:33: target.demo.replication: linearizable needs overlapping quorums`,
				`6:18: workload.rate: -5 requests/s is out of range`,
				`6:48: workload.readRatio: 200% is out of range; allowed: 0% to 100%`,
				`8:33: faults[0].duration: the fault ends at 21s (at 1s + 20s), after the workload ends at 10s`,
				`8:56: faults[0].latency.nodes[0]: unknown node "n4"; allowed: client, g1, n1, n2, n3; did you mean "n1"?`,
				`8:68: faults[0].latency.delay: 0s is out of range; allowed: 1ms to 1m0s`,
				`9:8: slos[0]: missing required field threshold`,
				`10:24: checks[1]: linearizable is already listed at checks[0]`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("exp.yaml", []byte(tt.src))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Decode error = %v, want a *ValidationError", err)
			}
			checkProblems(t, verr, "exp.yaml", tt.want)
		})
	}
}

// checkProblems matches each wanted problem to a distinct one and fails on
// problems nobody wanted. A wanted problem is "FILE:LINE:COL: text", or
// "LINE:COL: text" in file when file is not ""; text is part of the
// message.
func checkProblems(t *testing.T, verr *ValidationError, file string, want []string) {
	t.Helper()
	used := make([]bool, len(verr.Problems))
	for _, w := range want {
		found := false
		for i, p := range verr.Problems {
			pos := p.String()[:len(p.String())-len(p.Msg)]
			if file != "" {
				pos = strings.TrimPrefix(pos, file+":")
			}
			if !used[i] && strings.HasPrefix(w, pos) && strings.Contains(p.Msg, w[len(pos):]) {
				used[i], found = true, true
				break
			}
		}
		if !found {
			t.Errorf("missing problem %q", w)
		}
	}
	for i, p := range verr.Problems {
		if !used[i] {
			t.Errorf("unexpected problem %s", p)
		}
	}
	if t.Failed() {
		t.Logf("all problems:\n%v", verr)
	}
	for i := 1; i < len(verr.Problems); i++ {
		a, b := verr.Problems[i-1], verr.Problems[i]
		if a.Line > b.Line || (a.Line == b.Line && a.Col > b.Col) {
			t.Errorf("problems not sorted by position: %s before %s", a, b)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	_, err := Decode("dir/exp.yaml", []byte(minimalWith("bogus: 1\nfaults: [{name: a, at: 1s, durration: 1s, crash: {nodes: [n1]}}]\n")))
	want := `dir/exp.yaml:6:1: unknown field "bogus" at top level; allowed: apiVersion, kind, metadata, seed, repeat, ramp, control, degradation, target, workload, steadyState, faults, actions, slos, abort, checks, receipts, nemesis
dir/exp.yaml:7:28: unknown field "durration" in faults[0]; allowed: name, at, duration, partition, latency, bandwidth, reset, blackhole, http, crash, pause, restart, clockSkew, corrupt; did you mean "duration"?`
	if err == nil || err.Error() != want {
		t.Errorf("Error() =\n%v\nwant\n%s", err, want)
	}
	var verr *ValidationError
	if errors.As(err, &verr) && verr.Problems[1].Path != "faults[0].durration" {
		t.Errorf("Path = %q, want faults[0].durration", verr.Problems[1].Path)
	}
}

func TestManyProblemsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString(minimal)
	b.WriteString("faults:\n")
	for range 150 {
		b.WriteString("  - {name: a, at: 1s, bogus: 1, crash: {nodes: [n1]}}\n")
	}
	_, err := Decode("exp.yaml", []byte(b.String()))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v", err)
	}
	if len(verr.Problems) != maxProblems || verr.Omitted == 0 {
		t.Errorf("got %d problems, %d omitted; want %d and some omitted", len(verr.Problems), verr.Omitted, maxProblems)
	}
	if !strings.HasSuffix(err.Error(), "more problems not shown") {
		t.Errorf("Error() does not say problems were omitted")
	}
}

func TestTooLarge(t *testing.T) {
	data := []byte(minimal + "# " + strings.Repeat("x", MaxFileSize) + "\n")
	_, err := Decode("big.yaml", data)
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 1 || !strings.Contains(verr.Problems[0].Msg, "larger than") {
		t.Fatalf("Decode(%d bytes) = %v, want one too-large problem", len(data), err)
	}
	path := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); !errors.As(err, &verr) || !strings.Contains(err.Error(), "big.yaml:1:1: file is larger") {
		t.Fatalf("Load = %v, want a too-large problem", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	var verr *ValidationError
	if err == nil || errors.As(err, &verr) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Load(missing) = %v, want a wrapped os.ErrNotExist", err)
	}
}

// billionLaughs is the classic alias bomb, nine levels of ten aliases
// each (10^9 strings if expanded), placed where the model allows nesting:
// in a partition's groups.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString(minimal)
	b.WriteString("faults:\n  - name: a\n    at: 1s\n    partition:\n      groups:\n")
	b.WriteString("        - &a0 [n1, n1, n1, n1, n1, n1, n1, n1, n1, n1]\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&b, "        - &a%d [%s]\n", i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 10), ", "))
	}
	return b.String()
}

// mergeBomb nests merge keys instead: each mapping merges ten copies of the
// previous one.
func mergeBomb() string {
	var b strings.Builder
	b.WriteString(minimal)
	b.WriteString("x0: &m0 {burnRate: 1}\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &m%d {<<: [%s]}\n", i, i, strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*m%d, ", i-1), 10), ", "))
	}
	b.WriteString("abort: {<<: *m9}\n")
	return b.String()
}

// wideAliases reuses one long list as 4000 groups: quadratic rather than
// exponential growth, but a million values all the same.
func wideAliases() string {
	var b strings.Builder
	b.WriteString(minimal)
	b.WriteString("faults:\n  - name: a\n    at: 1s\n    partition:\n      groups:\n")
	b.WriteString("        - &a [" + strings.TrimSuffix(strings.Repeat("n1, ", 250), ", ") + "]\n")
	b.WriteString(strings.Repeat("        - *a\n", 4000))
	return b.String()
}

func TestAliasBombIsRejectedQuickly(t *testing.T) {
	tests := []struct {
		name, src string
		// budget says whether the alias budget must be what stops it; the
		// classic bomb nests deeper than any list in the model, so a type
		// error stops it before it expands.
		budget bool
	}{
		{name: "billion laughs in nested lists", src: billionLaughs()},
		{name: "nested merge keys", src: mergeBomb(), budget: true},
		{name: "wide aliases", src: wideAliases(), budget: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Decode("bomb.yaml", []byte(tt.src))
			elapsed := time.Since(start)
			if err == nil {
				t.Fatal("Decode accepted an alias bomb")
			}
			if tt.budget && !strings.Contains(err.Error(), "alias bomb") {
				t.Errorf("Decode = %v, want an alias bomb problem", err)
			}
			// Unprotected, these expand for minutes or exhaust memory; the
			// bound leaves room for -race on a busy 2-core machine.
			if elapsed > time.Second {
				t.Errorf("Decode took %v, want under a second", elapsed)
			}
			t.Logf("rejected in %v", elapsed)
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	inputs := map[string][]byte{
		"quickstart": nil,
		// The largest list the decoder accepts, all in one partition group.
		"10k-names": []byte(minimalWith("faults: [{name: a, at: 1s, partition: {groups: [[" +
			strings.TrimSuffix(strings.Repeat("n1, ", MaxListItems-1), ", ") + "], [n2]]}}]\n")),
	}
	var err error
	if inputs["quickstart"], err = os.ReadFile(filepath.Join("..", "examples", "quickstart.yaml")); err != nil {
		b.Fatal(err)
	}
	for name, data := range inputs {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_, _ = Decode("bench.yaml", data)
			}
		})
	}
}

// The testdata file using judge: faults validates, and the SLO that does
// not say keeps judge: run.
func TestJudgeFaultsFileValidates(t *testing.T) {
	e, err := Load(filepath.Join("testdata", "judge", "faults.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(e.SLOs) != 2 || e.SLOs[0].Judge != JudgeFaults || e.SLOs[1].Judge != JudgeRun {
		t.Errorf("slos %+v, want availability judged on the faults and fast-reads on the run", e.SLOs)
	}
}
