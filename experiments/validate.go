package experiments

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/placement"
)

// Defaults, filled in by Decode in one place (setDefaults) and exported so
// the command line can use them as flag defaults.
const (
	DefaultRuntime           = RuntimeProcess
	DefaultNodes             = 3
	DefaultGateways          = 1
	DefaultVNodes            = 64
	DefaultSharding          = ShardingHash
	DefaultReplicas          = 3
	DefaultWriteQuorum       = 2
	DefaultReadQuorum        = 2
	DefaultConsistency       = ConsistencyLinearizable
	DefaultPersistence       = PersistenceMemory
	DefaultRecovery          = RecoveryResync
	DefaultCachePolicy       = CacheNone
	DefaultCacheSize         = 10000
	DefaultCacheWriteMode    = WriteInvalidate
	DefaultResilienceTimeout = 500 * time.Millisecond
	DefaultRetryMax          = 2
	DefaultRetryBase         = 10 * time.Millisecond
	DefaultRetryCap          = 200 * time.Millisecond
	DefaultBreakerFailures   = 5
	DefaultBreakerOpenFor    = 2 * time.Second
	DefaultBreakerMaxOpen    = Percent(1)
	DefaultBreakerTrip       = TripConsecutive
	DefaultBreakerErrorRate  = Percent(0.5)
	DefaultBreakerMinReqs    = 20
	DefaultBreakerWindow     = 5 * time.Second
	DefaultAdmissionLimit    = LimitStatic
	DefaultAdmissionTarget   = 50 * time.Millisecond
	DefaultAdmissionQueue    = QueueNone
	DefaultQueueTarget       = 5 * time.Millisecond
	DefaultQueueInterval     = 100 * time.Millisecond
	DefaultHedgeAfter        = 50 * time.Millisecond
	DefaultHedgeBudget       = Percent(0.1)
	DefaultBulkhead          = 32
	DefaultMaxInflight       = 512
	DefaultRateLimit         = 0.0

	DefaultWarmup                     = 2 * time.Second
	DefaultKeys                       = 1000
	DefaultDistribution               = DistributionUniform
	DefaultKeyPattern                 = KeyPatternRandom
	DefaultReadRatio       Percent    = 0.9
	DefaultValueSize       ByteSize   = 32
	DefaultWorkloadTimeout            = time.Second
	DefaultHTTPMethod      HTTPMethod = "GET"
	DefaultHTTPExpect                 = 200
	DefaultHTTPWeight                 = 1.0

	DefaultSteadyStateWindow = 5 * time.Second
	DefaultRecoveryWithin    = 10 * time.Second
	DefaultHTTPProbeStatus   = 200
	DefaultExecProbeTimeout  = 5 * time.Second
	DefaultStepTimeout       = 30 * time.Second
	DefaultStepMethod        = HTTPMethod("POST")

	DefaultPickCount                 = 1
	DefaultPartitionBehavior         = BehaviorDrop
	DefaultIsolateSize               = 1
	DefaultCorruptRatio      Percent = 1

	DefaultAbortWindow = 5 * time.Second
	// DefaultAbortMaxDuration bounds a run; Decode raises it to twice
	// warmup+duration for longer workloads.
	DefaultAbortMaxDuration = 10 * time.Minute
)

// DefaultScanShardTimeout is target.demo.scan.shardTimeout's default.
const DefaultScanShardTimeout = 200 * time.Millisecond

// Defaults and bounds of the scan workload (workload.scan).
const (
	DefaultScanRatio Percent = 0.1
	DefaultScanWidth         = 10
	DefaultScanLimit         = 100
	MaxScanLimit             = 1000 // the gateways' limit (api.MaxScanLimit)
)

// DefaultBloomFalsePositive is the false positive rate of
// target.demo.cache.bloomFalsePositive (penetration bloom).
const DefaultBloomFalsePositive Percent = 0.01

// Bounds of the values the file may give.
const (
	MaxNodes       = 32
	MaxGateways    = 8
	MaxVNodes      = 1024
	MaxRate        = 100000.0 // requests per second
	MaxRunDuration = 24 * time.Hour
	MaxKeys        = 10_000_000
	MaxValueSize   = ByteSize(1 << 20)
	MaxRetries     = 10
	MaxFaults      = 1000
	MaxActions     = 100
	// MaxExecProbeTimeout and MaxStepTimeout bound the timeout of an exec
	// probe and of an action's or rollback's step; MinStepTimeout both.
	MaxExecProbeTimeout = time.Minute
	MaxStepTimeout      = 10 * time.Minute
	MinStepTimeout      = 10 * time.Millisecond
	// MaxRepeat bounds repeat: (and --repeat): the runs of one experiment.
	MaxRepeat = 1000
)

// DefaultDemoCluster returns the demo cluster a file gets when it gives no
// target, with every default filled in.
func DefaultDemoCluster() DemoCluster {
	return DemoCluster{
		Nodes:       DefaultNodes,
		Gateways:    DefaultGateways,
		VNodes:      DefaultVNodes,
		Sharding:    DefaultSharding,
		Replication: Replication{N: DefaultReplicas, W: DefaultWriteQuorum, R: DefaultReadQuorum},
		Consistency: DefaultConsistency,
		Persistence: DefaultPersistence,
		Recovery:    DefaultRecovery,
		Raft:        RaftTuning{Reads: RaftReadsIndex},
		Cache:       Cache{Policy: DefaultCachePolicy, Size: DefaultCacheSize, WriteMode: DefaultCacheWriteMode, Singleflight: true, Penetration: PenetrationNegative},
		Scan:        Scan{ShardTimeout: DefaultScanShardTimeout, Partial: ScanPartialFail},
		Resilience: Resilience{
			Timeout: DefaultResilienceTimeout,
			Retries: Retries{Max: DefaultRetryMax, Base: DefaultRetryBase, Cap: DefaultRetryCap},
			Breaker: Breaker{Enabled: true, Failures: DefaultBreakerFailures, OpenFor: DefaultBreakerOpenFor, MaxOpen: DefaultBreakerMaxOpen,
				Trip: DefaultBreakerTrip, ErrorRate: DefaultBreakerErrorRate, MinRequests: DefaultBreakerMinReqs, Window: DefaultBreakerWindow},
			Admission: Admission{Limit: DefaultAdmissionLimit, Target: DefaultAdmissionTarget, Queue: DefaultAdmissionQueue,
				QueueTarget: DefaultQueueTarget, QueueInterval: DefaultQueueInterval},
			Hedge:       Hedge{Enabled: false, After: DefaultHedgeAfter, Budget: DefaultHedgeBudget},
			Bulkhead:    DefaultBulkhead,
			MaxInflight: DefaultMaxInflight,
			RateLimit:   DefaultRateLimit,
		},
	}
}

// setDefaults fills every field the file left out. Presence, not the zero
// value, decides: "retries: {max: 0}" stays 0.
func setDefaults(e *Experiment, d *decoder) {
	if e.Target.Demo == nil && e.Target.External == nil {
		demo := DefaultDemoCluster()
		e.Target.Demo = &demo
	} else if c := e.Target.Demo; c != nil {
		setDemoDefaults(c, d)
	}
	if !d.has("target.runtime") {
		e.Target.Runtime = DefaultRuntime
		switch {
		case e.Target.External != nil && e.Target.Demo == nil:
			e.Target.Runtime = RuntimeExternal
		case e.Target.Kubernetes != nil:
			e.Target.Runtime = RuntimeKubernetes
		}
	}

	w := &e.Workload
	set(d, "workload.warmup", &w.Warmup, DefaultWarmup)
	set(d, "workload.rampUp", &w.RampUp, true)
	set(d, "workload.timeout", &w.Timeout, DefaultWorkloadTimeout)
	set(d, "workload.kind", &w.Kind, WorkloadKV)
	if w.Kind == WorkloadLock {
		if w.Lock == nil {
			w.Lock = &LockWorkload{}
		}
		l := w.Lock
		set(d, "workload.lock.name", &l.Name, DefaultLockName)
		set(d, "workload.lock.resource", &l.Resource, DefaultLockResource)
		set(d, "workload.lock.clients", &l.Clients, DefaultLockClients)
		set(d, "workload.lock.lease", &l.Lease, DefaultLockLease)
		set(d, "workload.lock.hold", &l.Hold, DefaultLockHold)
		set(d, "workload.lock.pause", &l.Pause, 2*l.Lease)
	}
	if w.Kind == WorkloadScan {
		if w.Scan == nil {
			w.Scan = &ScanWorkload{}
		}
		set(d, "workload.scan.ratio", &w.Scan.Ratio, DefaultScanRatio)
		set(d, "workload.scan.width", &w.Scan.Width, DefaultScanWidth)
		set(d, "workload.scan.limit", &w.Scan.Limit, DefaultScanLimit)
	}
	if e.Target.Demo != nil || w.Redis != nil {
		set(d, "workload.keys", &w.Keys, DefaultKeys)
		set(d, "workload.distribution", &w.Distribution, DefaultDistribution)
		set(d, "workload.keyPattern", &w.KeyPattern, DefaultKeyPattern)
		set(d, "workload.readRatio", &w.ReadRatio, DefaultReadRatio)
		set(d, "workload.valueSize", &w.ValueSize, DefaultValueSize)
	}
	for i := range w.HTTP {
		p := fmt.Sprintf("workload.http[%d]", i)
		r := &w.HTTP[i]
		set(d, p+".method", &r.Method, DefaultHTTPMethod)
		set(d, p+".expect", &r.Expect, DefaultHTTPExpect)
		set(d, p+".weight", &r.Weight, DefaultHTTPWeight)
		set(d, p+".name", &r.Name, string(r.Method)+" "+r.URL)
	}

	if c := e.Target.Demo; c != nil && c.Sharding == ShardingRange && w.Kind == WorkloadKV {
		// Split the workload's own key names evenly (see demo.DefaultSplits).
		keys := w.Keys
		if keys < 1 || keys > MaxKeys {
			keys = DefaultKeys // out of range: reported by validation
		}
		set(d, "target.demo.splits", &c.Splits, demo.DefaultSplits(string(w.KeyPattern), keys, min(max(c.Nodes, 1), MaxNodes)))
	}

	s := &e.SteadyState
	set(d, "steadyState.window", &s.Window, DefaultSteadyStateWindow)
	set(d, "steadyState.recoveryWithin", &s.RecoveryWithin, DefaultRecoveryWithin)
	for i := range s.Probes {
		if h := s.Probes[i].HTTP; h != nil {
			set(d, fmt.Sprintf("steadyState.probes[%d].http.status", i), &h.Status, DefaultHTTPProbeStatus)
		}
		if x := s.Probes[i].Exec; x != nil {
			set(d, fmt.Sprintf("steadyState.probes[%d].exec.timeout", i), &x.Timeout, DefaultExecProbeTimeout)
		}
	}
	for i := range e.Actions {
		a := &e.Actions[i]
		p := fmt.Sprintf("actions[%d]", i)
		setStepDefaults(d, p, &a.ActionStep)
		if a.Rollback != nil {
			setStepDefaults(d, p+".rollback", a.Rollback)
		}
	}

	for i := range e.Faults {
		setFaultDefaults(e, &e.Faults[i], fmt.Sprintf("faults[%d]", i), d)
	}
	for i := range e.SLOs {
		set(d, fmt.Sprintf("slos[%d].judge", i), &e.SLOs[i].Judge, JudgeRun)
	}

	setNemesisDefaults(e, d)
	set(d, "receipts", &e.Receipts, ReceiptsRequire)
	set(d, "repeat", &e.Repeat, 1)
	setRampDefaults(e, d)
	set(d, "abort.window", &e.Abort.Window, DefaultAbortWindow)
	// Validation bounds the run to MaxRunDuration; the default stays within
	// it too (and leaves the sum alone when the file's terms are out of
	// range, to be reported).
	defaultMax := DefaultAbortMaxDuration
	if run, ok := sumWithin(MaxRunDuration, w.Warmup, w.Duration); ok {
		defaultMax = min(max(defaultMax, 2*run), MaxRunDuration)
	}
	set(d, "abort.maxDuration", &e.Abort.MaxDuration, defaultMax)
}

func setDemoDefaults(c *DemoCluster, d *decoder) {
	def := DefaultDemoCluster()
	const p = "target.demo."
	set(d, p+"nodes", &c.Nodes, def.Nodes)
	set(d, p+"gateways", &c.Gateways, def.Gateways)
	set(d, p+"vnodes", &c.VNodes, def.VNodes)
	set(d, p+"sharding", &c.Sharding, def.Sharding)
	set(d, p+"consistency", &c.Consistency, def.Consistency)
	// n defaults to 3, or to the node count when there are fewer nodes.
	// Eventual mode is w = r = 1 (a sloppy quorum); the others default to
	// majorities of n.
	set(d, p+"replication.n", &c.Replication.N, min(def.Replication.N, max(c.Nodes, 1)))
	quorumW, quorumR := c.Replication.N/2+1, c.Replication.N/2+1
	if c.Consistency == ConsistencyEventual {
		quorumW, quorumR = 1, 1
	}
	set(d, p+"replication.w", &c.Replication.W, quorumW)
	set(d, p+"replication.r", &c.Replication.R, quorumR)
	set(d, p+"persistence", &c.Persistence, def.Persistence)
	set(d, p+"recovery", &c.Recovery, def.Recovery)
	set(d, p+"raft.reads", &c.Raft.Reads, def.Raft.Reads)
	set(d, p+"cache.policy", &c.Cache.Policy, def.Cache.Policy)
	set(d, p+"cache.size", &c.Cache.Size, def.Cache.Size)
	set(d, p+"cache.writeMode", &c.Cache.WriteMode, def.Cache.WriteMode)
	set(d, p+"cache.singleflight", &c.Cache.Singleflight, def.Cache.Singleflight)
	set(d, p+"cache.penetration", &c.Cache.Penetration, def.Cache.Penetration)
	set(d, p+"cache.bloomFalsePositive", &c.Cache.BloomFalsePositive, DefaultBloomFalsePositive)
	set(d, p+"scan.shardTimeout", &c.Scan.ShardTimeout, def.Scan.ShardTimeout)
	set(d, p+"scan.partial", &c.Scan.Partial, def.Scan.Partial)
	r, dr := &c.Resilience, def.Resilience
	set(d, p+"resilience.timeout", &r.Timeout, dr.Timeout)
	set(d, p+"resilience.retries.max", &r.Retries.Max, dr.Retries.Max)
	set(d, p+"resilience.retries.base", &r.Retries.Base, dr.Retries.Base)
	set(d, p+"resilience.retries.cap", &r.Retries.Cap, dr.Retries.Cap)
	set(d, p+"resilience.breaker.enabled", &r.Breaker.Enabled, dr.Breaker.Enabled)
	set(d, p+"resilience.breaker.failures", &r.Breaker.Failures, dr.Breaker.Failures)
	set(d, p+"resilience.breaker.openFor", &r.Breaker.OpenFor, dr.Breaker.OpenFor)
	set(d, p+"resilience.breaker.maxOpen", &r.Breaker.MaxOpen, dr.Breaker.MaxOpen)
	set(d, p+"resilience.hedge.enabled", &r.Hedge.Enabled, dr.Hedge.Enabled)
	set(d, p+"resilience.hedge.after", &r.Hedge.After, dr.Hedge.After)
	set(d, p+"resilience.hedge.budget", &r.Hedge.Budget, dr.Hedge.Budget)
	set(d, p+"resilience.bulkhead", &r.Bulkhead, dr.Bulkhead)
	set(d, p+"resilience.maxInflight", &r.MaxInflight, dr.MaxInflight)
	set(d, p+"resilience.rateLimit", &r.RateLimit, dr.RateLimit)
	set(d, p+"resilience.retryBudget", &r.RetryBudget, dr.RetryBudget)
	set(d, p+"resilience.breaker.trip", &r.Breaker.Trip, dr.Breaker.Trip)
	set(d, p+"resilience.breaker.errorRate", &r.Breaker.ErrorRate, dr.Breaker.ErrorRate)
	set(d, p+"resilience.breaker.minRequests", &r.Breaker.MinRequests, dr.Breaker.MinRequests)
	set(d, p+"resilience.breaker.window", &r.Breaker.Window, dr.Breaker.Window)
	set(d, p+"resilience.admission.limit", &r.Admission.Limit, dr.Admission.Limit)
	set(d, p+"resilience.admission.target", &r.Admission.Target, dr.Admission.Target)
	set(d, p+"resilience.admission.queue", &r.Admission.Queue, dr.Admission.Queue)
	set(d, p+"resilience.admission.queueTarget", &r.Admission.QueueTarget, dr.Admission.QueueTarget)
	set(d, p+"resilience.admission.queueInterval", &r.Admission.QueueInterval, dr.Admission.QueueInterval)
	set(d, p+"resilience.admission.priority", &r.Admission.Priority, dr.Admission.Priority)
}

func setFaultDefaults(e *Experiment, f *Fault, p string, d *decoder) {
	if !d.has(p + ".duration") {
		switch {
		case f.Crash != nil && f.Crash.RestartAfter > 0:
			f.Duration = f.Crash.RestartAfter
		case f.Restart != nil, f.Corrupt != nil:
			f.Duration = 0
		default:
			f.Duration = max(0, e.Workload.Duration-f.At)
		}
	}
	if f.Partition != nil {
		set(d, p+".partition.behavior", &f.Partition.Behavior, DefaultPartitionBehavior)
		if f.Partition.Mode == ModeIsolate {
			set(d, p+".partition.size", &f.Partition.Size, DefaultIsolateSize)
		}
	}
	if f.Corrupt != nil {
		set(d, p+".corrupt.ratio", &f.Corrupt.Ratio, DefaultCorruptRatio)
	}
	if h := f.HTTP; h != nil {
		for action, share := range map[string]*HTTPShare{"abort": shareOf(h.Abort), "delay": shareOf(h.Delay), "drop": shareOf(h.Drop)} {
			if sp := p + ".http." + action; share != nil && !d.has(sp+".firstN") {
				set(d, sp+".percent", &share.Percent, DefaultHTTPPercent)
			}
		}
	}
	sel := f.Selector()
	if sel == nil || sel.Pick == nil {
		return
	}
	sp := p + "." + string(f.Kind()) + ".pick"
	set(d, sp+".count", &sel.Pick.Count, DefaultPickCount)
	if !d.has(sp + ".from") {
		sel.Pick.From = defaultPickFrom(&e.Target, f.Kind())
	}
}

// set stores def in *field unless the file gave a value at path.
func set[T any](d *decoder, path string, field *T, def T) {
	if !d.has(path) && !d.bad[path] {
		*field = def
	}
}

// faultKinds is the injector registry: the fault kinds and what each acts
// on come from it alone.
var faultKinds = injectors.DefaultRegistry()

// faultCaps returns what faults of kind k act on (the zero value for "").
func faultCaps(k FaultKind) injectors.Capabilities {
	c, _ := faultKinds.Capabilities(string(k))
	return c
}

// selectsLinks reports whether a fault of kind k acts on the fault-plane
// links of the members or proxies it selects: every link fault but a
// partition, whose groups or mode say what it cuts.
func selectsLinks(k FaultKind) bool {
	c := faultCaps(k)
	return c.Links && !c.Groups
}

// selectable returns the names a fault of kind k may select, and whether
// they are proxies.
func selectable(t *Target, k FaultKind) ([]string, bool) {
	if c := t.Demo; c != nil {
		switch {
		case faultCaps(k).StoreNodes:
			return c.NodeNames(), false
		case selectsLinks(k):
			return append(append([]string{ClientName}, c.GatewayNames()...), c.NodeNames()...), false
		default:
			return append(c.GatewayNames(), c.NodeNames()...), false
		}
	}
	if x := t.External; x != nil {
		if selectsLinks(k) {
			return proxyNames(x), true
		}
		if k == FaultPause {
			// Kubernetes cannot freeze a container of the user's pod.
			var names []string
			for _, m := range x.Members {
				if m.Pod == nil {
					names = append(names, m.Name)
				}
			}
			return names, false
		}
		if faultCaps(k).MemberState {
			return memberNames(x), false
		}
	}
	return nil, false
}

// defaultPickFrom is what pick chooses from when the file gives no from:
// the store nodes, or the external members or proxies.
func defaultPickFrom(t *Target, k FaultKind) []string {
	if c := t.Demo; c != nil {
		return c.NodeNames()
	}
	names, _ := selectable(t, k)
	return names
}

func memberNames(x *ExternalTarget) []string {
	names := make([]string, len(x.Members))
	for i, m := range x.Members {
		names[i] = m.Name
	}
	return names
}

func proxyNames(x *ExternalTarget) []string {
	names := make([]string, len(x.Proxies))
	for i, p := range x.Proxies {
		names[i] = p.Name
	}
	return names
}

// validator checks a decoded experiment, reporting at the positions the
// decoder recorded.
type validator struct {
	d *decoder
	e *Experiment
}

func validate(e *Experiment, d *decoder) {
	v := &validator{d: d, e: e}
	v.top()
	v.target()
	v.workload()
	v.steadyState()
	v.faults()
	v.actions()
	v.slos()
	v.control()
	v.abort()
	v.checks()
	v.nemesis()
	v.ramp()
}

// node returns the node nearest to path: its value, its key, or the
// nearest ancestor's value.
func (v *validator) node(path string) *yaml.Node {
	for {
		if n, ok := v.d.values[path]; ok {
			return n
		}
		if n, ok := v.d.keys[path]; ok {
			return n
		}
		if path == "" {
			return nil
		}
		path = parentPath(path)
	}
}

// position returns the line and column of the key (or value) at path.
func (v *validator) position(path string) (line, col int) {
	n, ok := v.d.keys[path]
	if !ok {
		n = v.node(path)
	}
	if n == nil {
		return 0, 0
	}
	return n.Line, n.Column
}

// namesKnown reports whether the target's member names can be trusted
// for checking selectors: a bad node count would make every name unknown.
func (v *validator) namesKnown() bool {
	return v.ok("target.demo.nodes", "target.demo.gateways", "target.external.members", "target.external.proxies")
}

// parentPath strips the last ".name" or "[i]" from path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

func lastName(path string) string {
	return path[strings.LastIndexAny(path, ".[")+1:]
}

// suppressed reports whether path was already complained about, or lies
// in a value that could not be decoded.
func (v *validator) suppressed(path string) bool {
	if v.d.bad[path] {
		return true
	}
	for p := path; ; p = parentPath(p) {
		if v.d.broken[p] {
			return true
		}
		if p == "" {
			return false
		}
	}
}

// errorf reports a problem with the value at path, unless decoding already
// complained about it.
func (v *validator) errorf(path, format string, args ...any) {
	if v.suppressed(path) {
		return
	}
	v.report(v.node(path), path, format, args...)
}

// keyErrorf reports a problem at the key of path (a field that should not
// be there).
func (v *validator) keyErrorf(path, format string, args ...any) {
	if v.suppressed(path) {
		return
	}
	n, ok := v.d.keys[path]
	if !ok {
		n = v.node(path)
	}
	v.report(n, path, format, args...)
}

// report records a problem at n; the message is prefixed with the path,
// or for a missing field with its parent's path.
func (v *validator) report(n *yaml.Node, path, format string, args ...any) {
	v.d.bad[path] = true
	if v.d.full() {
		return
	}
	shown := path
	if strings.HasPrefix(format, "missing required field") {
		shown = parentPath(path)
	}
	note := ""
	if n != nil {
		note = v.d.note(n)
	}
	v.d.problemAtNode(n, path, displayPath(shown)+": "+fmt.Sprintf(format, args...)+note)
}

// ok reports whether no path was complained about.
func (v *validator) ok(paths ...string) bool {
	for _, p := range paths {
		if v.suppressed(p) {
			return false
		}
	}
	return true
}

// required reports a missing field at its parent and returns whether it is
// present. When a whole section is missing it is reported once, as the
// section; when its mapping has a misspelt key, not at all (the unknown
// field problem says it better).
func (v *validator) required(path string) bool {
	if v.d.has(path) {
		return true
	}
	missing := path
	for p := parentPath(path); p != "" && !v.d.has(p); p = parentPath(p) {
		missing = p
	}
	parent := parentPath(missing)
	if v.suppressed(missing) || v.d.misspelt[parent] || v.d.broken[parent] {
		return false
	}
	v.report(v.node(parent), missing, "missing required field %s", lastName(missing))
	return false
}

// notAllowed reports each present path as a field that does not apply.
func (v *validator) notAllowed(why string, paths ...string) {
	for _, p := range paths {
		if v.d.has(p) {
			v.keyErrorf(p, "%s", why)
		}
	}
}

// exactlyOne checks that exactly one of the fields under parent is given;
// it returns the one given, or "".
func (v *validator) exactlyOne(parent string, fields ...string) string {
	var given []string
	for _, f := range fields {
		if v.d.has(joinPath(parent, f)) || v.d.bad[joinPath(parent, f)] {
			given = append(given, f)
		}
	}
	// Name them in file order and complain at the later one.
	sort.SliceStable(given, func(i, j int) bool {
		li, ci := v.position(joinPath(parent, given[i]))
		lj, cj := v.position(joinPath(parent, given[j]))
		return li < lj || (li == lj && ci < cj)
	})
	switch len(given) {
	case 0:
		if v.ok(parent) && !v.d.misspelt[parent] {
			v.errorf(parent, "needs one of %s", strings.Join(fields, ", "))
		}
		return ""
	case 1:
		return given[0]
	default:
		v.keyErrorf(joinPath(parent, given[1]), "%s and %s are exclusive; give one of %s", given[0], given[1], strings.Join(fields, ", "))
		return ""
	}
}

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// name checks a name used in labels, file names and selectors.
func (v *validator) name(path, name string) {
	if !v.required(path) {
		return
	}
	if len(name) > 63 || !nameRE.MatchString(name) {
		v.errorf(path, "bad name %q: use lower-case letters, digits and dashes ([a-z0-9-]+, at most 63)", name)
	}
}

// unique reports names used twice in one list.
func (v *validator) unique(what string, names []string, pathOf func(int) string) {
	first := map[string]int{}
	for i, n := range names {
		if n == "" {
			continue
		}
		if j, dup := first[n]; dup {
			v.errorf(pathOf(i), "%s %q is already used by %s", what, n, pathOf(j))
			continue
		}
		first[n] = i
	}
}

func (v *validator) intRange(path string, val, lo, hi int) {
	if v.d.has(path) && (val < lo || val > hi) {
		v.errorf(path, "%d is out of range; allowed: %d to %d", val, lo, hi)
	}
}

func (v *validator) durationRange(path string, val, lo, hi time.Duration) {
	if v.d.has(path) && (val < lo || val > hi) {
		if lo == 0 && val < 0 {
			v.errorf(path, "%s is negative; allowed: 0 to %s", val, hi)
			return
		}
		v.errorf(path, "%s is out of range; allowed: %s to %s", val, lo, hi)
	}
}

// positiveDuration checks that a duration, when given, is above zero and
// at most hi.
func (v *validator) positiveDuration(path string, val, hi time.Duration) {
	if v.d.has(path) && (val <= 0 || val > hi) {
		v.errorf(path, "%s is out of range; allowed: above 0 up to %s", val, hi)
	}
}

// sumWithin adds durations and reports whether the sum is at most most.
// A term outside 0..most gives false and no sum, so nothing overflows: the
// few terms of at most a day each that callers add stay far below the
// int64 limit.
func sumWithin(most time.Duration, terms ...time.Duration) (sum time.Duration, ok bool) {
	for _, t := range terms {
		if t < 0 || t > most {
			return 0, false
		}
		sum += t
	}
	return sum, sum <= most
}

func (v *validator) percentRange(path string, val Percent, lo, hi float64) {
	if v.d.has(path) && (float64(val) < lo || float64(val) > hi) {
		v.errorf(path, "%s is out of range; allowed: %s to %s", val, Percent(lo), Percent(hi))
	}
}

func (v *validator) httpURL(path, raw string) {
	if !v.d.has(path) {
		return
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errorf(path, "bad URL %q: want http://host[:port]/path or https://...", raw)
	}
}

func (v *validator) hostPort(path, addr string) {
	if !v.d.has(path) {
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.errorf(path, "bad address %q: want host:port, e.g. 127.0.0.1:8080", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		v.errorf(path, "bad port in %q; allowed: 1 to 65535", addr)
	}
}

func (v *validator) top() {
	e := v.e
	if v.required("apiVersion") && e.APIVersion != APIVersion {
		v.errorf("apiVersion", "unsupported version %q; allowed: %s", e.APIVersion, APIVersion)
	}
	if v.required("kind") && e.Kind != KindExperiment {
		v.errorf("kind", "bad kind %q; allowed: %s", e.Kind, KindExperiment)
	}
	v.name("metadata.name", e.Metadata.Name)
	v.intRange("repeat", e.Repeat, 1, MaxRepeat)
}

func (v *validator) target() {
	t := &v.e.Target
	if v.d.has("target.demo") && v.d.has("target.external") {
		v.keyErrorf("target.external", "demo and external are exclusive; a target is the demo cluster or your own services")
		t.External = nil // judge the rest against the demo cluster only
	}
	switch {
	case t.External != nil && t.Runtime != RuntimeExternal:
		v.errorf("target.runtime", "%s cannot run target.external; leave runtime out (external services are started by command or found as containers)", t.Runtime)
	case t.Demo != nil && t.Runtime == RuntimeExternal:
		v.errorf("target.runtime", "external needs target.external; the demo cluster runs as process, docker or kubernetes")
	}
	if t.Demo != nil {
		v.demo(t.Demo)
	}
	v.durationRange("target.leaseTTL", t.LeaseTTL, deadman.MinTTL, deadman.MaxTTL)
	if t.Kubernetes != nil {
		v.kubernetes(t)
	}
	if t.External != nil {
		v.external(t.External)
	}
}

func (v *validator) demo(c *DemoCluster) {
	const p = "target.demo."
	v.intRange(p+"nodes", c.Nodes, 1, MaxNodes)
	v.intRange(p+"gateways", c.Gateways, 1, MaxGateways)
	v.intRange(p+"vnodes", c.VNodes, 1, MaxVNodes)
	if c.Sharding != ShardingRange && v.ok(p+"sharding") {
		v.notAllowed("are range sharding's split points; set target.demo.sharding: range", p+"splits")
	}
	if c.Sharding == ShardingRange && v.d.has(p+"splits") && v.ok(p+"nodes") {
		v.splits(p+"splits", c)
	}
	if c.Consistency != ConsistencyRaft && v.ok(p+"consistency") {
		v.notAllowed("tunes Raft mode; it needs target.demo.consistency: raft", p+"raft")
	}

	rep := c.Replication
	if v.ok(p+"nodes", p+"replication.n", p+"replication.w", p+"replication.r") {
		switch {
		case rep.N < 1:
			v.errorf(p+"replication.n", "%d replicas; allowed: 1 to the node count (%d)", rep.N, c.Nodes)
		case rep.N > c.Nodes:
			v.errorf(p+"replication.n", "%d replicas need at least %d nodes, the cluster has %d", rep.N, rep.N, c.Nodes)
		}
		switch {
		case rep.W < 1 || rep.W > rep.N:
			v.errorf(p+"replication.w", "write quorum %d is impossible with n=%d replicas; allowed: 1 to %d", rep.W, rep.N, max(rep.N, 1))
		case rep.R < 1 || rep.R > rep.N:
			v.errorf(p+"replication.r", "read quorum %d is impossible with n=%d replicas; allowed: 1 to %d", rep.R, rep.N, max(rep.N, 1))
		case c.Consistency == ConsistencyLinearizable && rep.R+rep.W <= rep.N:
			v.errorf(p+"replication", "linearizable needs overlapping quorums (r+w > n); r=%d w=%d n=%d do not overlap", rep.R, rep.W, rep.N)
		}
	}

	cache := c.Cache
	if cache.Policy != CacheNone {
		v.intRange(p+"cache.size", cache.Size, 1, 100_000_000)
	}
	v.durationRange(p+"cache.ttl", cache.TTL, 0, MaxRunDuration)
	v.percentRange(p+"cache.ttlJitter", cache.TTLJitter, 0, 1)
	v.durationRange(p+"cache.negativeTTL", cache.NegativeTTL, 0, MaxRunDuration)
	if v.d.has(p + "cache.bloomFalsePositive") {
		if cache.Penetration != PenetrationBloom {
			v.errorf(p+"cache.bloomFalsePositive", "applies to penetration bloom only; penetration is %s", cache.Penetration)
		} else if cache.BloomFalsePositive <= 0 || cache.BloomFalsePositive > 0.5 {
			v.errorf(p+"cache.bloomFalsePositive", "%s is out of range; allowed: above 0%% up to 50%% (the false positive rate the Bloom filter is sized for)", cache.BloomFalsePositive)
		}
	}

	r := c.Resilience
	v.positiveDuration(p+"resilience.timeout", r.Timeout, time.Minute)
	v.positiveDuration(p+"scan.shardTimeout", c.Scan.ShardTimeout, time.Minute)
	if v.ok(p+"scan.shardTimeout", p+"resilience.timeout") && v.d.has(p+"scan.shardTimeout") && c.Scan.ShardTimeout > r.Timeout {
		v.errorf(p+"scan.shardTimeout", "%s is above resilience.timeout %s, the whole scan's deadline; allowed: above 0 up to the timeout", c.Scan.ShardTimeout, r.Timeout)
	}
	v.intRange(p+"resilience.retries.max", r.Retries.Max, 0, MaxRetries)
	v.positiveDuration(p+"resilience.retries.base", r.Retries.Base, time.Minute)
	v.positiveDuration(p+"resilience.retries.cap", r.Retries.Cap, time.Minute)
	if v.ok(p+"resilience.retries.base", p+"resilience.retries.cap") && r.Retries.Cap < r.Retries.Base {
		v.errorf(p+"resilience.retries.cap", "cap %s is below base %s", r.Retries.Cap, r.Retries.Base)
	}
	v.intRange(p+"resilience.breaker.failures", r.Breaker.Failures, 1, 1_000_000)
	v.positiveDuration(p+"resilience.breaker.openFor", r.Breaker.OpenFor, time.Hour)
	if v.d.has(p+"resilience.breaker.maxOpen") && (r.Breaker.MaxOpen <= 0 || r.Breaker.MaxOpen > 1) {
		v.errorf(p+"resilience.breaker.maxOpen", "%s is out of range; allowed: above 0%% up to 100%% (the share of store nodes whose breakers a gateway may hold open at once; one may always open)", r.Breaker.MaxOpen)
	}
	v.positiveDuration(p+"resilience.hedge.after", r.Hedge.After, time.Minute)
	if v.ok(p+"resilience.hedge.after", p+"resilience.timeout") && v.d.has(p+"resilience.hedge.after") && r.Hedge.After >= r.Timeout {
		v.errorf(p+"resilience.hedge.after", "%s is not below resilience.timeout %s: a hedge would never be sent; allowed: above 0 and below the timeout", r.Hedge.After, r.Timeout)
	}
	if v.d.has(p+"resilience.hedge.budget") && (r.Hedge.Budget <= 0 || r.Hedge.Budget > 1) {
		v.errorf(p+"resilience.hedge.budget", "%s is out of range; allowed: above 0%% up to 100%% (the share of reads that may be hedged over time)", r.Hedge.Budget)
	}
	v.intRange(p+"resilience.bulkhead", r.Bulkhead, 1, 1_000_000)
	v.intRange(p+"resilience.maxInflight", r.MaxInflight, 1, 1_000_000)
	if v.d.has(p+"resilience.rateLimit") && (r.RateLimit < 0 || r.RateLimit > MaxRate) {
		v.errorf(p+"resilience.rateLimit", "%g is out of range; allowed: 0 (off) to %g", r.RateLimit, MaxRate)
	}
	v.percentRange(p+"resilience.retryBudget", r.RetryBudget, 0, 1)
	if v.d.has(p+"resilience.breaker.errorRate") && (r.Breaker.ErrorRate <= 0 || r.Breaker.ErrorRate > 1) {
		v.errorf(p+"resilience.breaker.errorRate", "%s is out of range; allowed: above 0%% up to 100%% (the share of failed calls over the window that opens the breaker, trip: errorRate)", r.Breaker.ErrorRate)
	}
	v.intRange(p+"resilience.breaker.minRequests", r.Breaker.MinRequests, 1, 1_000_000)
	v.positiveDuration(p+"resilience.breaker.window", r.Breaker.Window, time.Hour)
	v.positiveDuration(p+"resilience.admission.target", r.Admission.Target, time.Minute)
	v.positiveDuration(p+"resilience.admission.queueTarget", r.Admission.QueueTarget, time.Minute)
	v.positiveDuration(p+"resilience.admission.queueInterval", r.Admission.QueueInterval, time.Minute)
	if v.ok(p+"resilience.admission.queueTarget", p+"resilience.admission.queueInterval") && r.Admission.QueueInterval < r.Admission.QueueTarget {
		v.errorf(p+"resilience.admission.queueInterval", "%s is below queueTarget %s; allowed: at least queueTarget, up to 1m", r.Admission.QueueInterval, r.Admission.QueueTarget)
	}
}

// splits checks range sharding's split points, naming the first bad one.
func (v *validator) splits(path string, c *DemoCluster) {
	if len(c.Splits) > placement.MaxSplits {
		v.errorf(path, "%d split points; allowed: at most %d", len(c.Splits), placement.MaxSplits)
		return
	}
	for i, s := range c.Splits {
		at := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case s == "":
			v.errorf(at, "is empty; the first range already starts at the smallest key, give split points above it")
			return
		case i > 0 && s <= c.Splits[i-1]:
			v.errorf(at, "%q is not above %q; split points must be strictly increasing as byte strings (k10 sorts before k9: zero-pad numbers)", s, c.Splits[i-1])
			return
		}
	}
}

// protectedNamespaces are never acted in (targets/kubernetes refuses them
// too).
var protectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

func (v *validator) kubernetes(t *Target) {
	const p = "target.kubernetes"
	k := t.Kubernetes
	if t.External != nil {
		// Users' own pods: the section says which cluster and which
		// namespaces chaosctl may act in; the rest is the demo cluster's.
		v.notAllowed("applies to the demo cluster; with target.external give kubeconfig, context and allow", p+".namespace", p+".image", p+".storageClass", p+".crash")
	} else if t.Runtime != RuntimeKubernetes && v.d.has("target.runtime") {
		v.keyErrorf(p, "applies to runtime kubernetes, and target.runtime is %s; remove one of them", t.Runtime)
		return
	}
	if v.d.has(p + ".namespace") {
		v.name(p+".namespace", k.Namespace)
		if slices.Contains(protectedNamespaces, k.Namespace) {
			v.errorf(p+".namespace", "%s is never touched; allowed: a namespace of your own (default chaosctl-<run id>)", k.Namespace)
		}
	}
	for i, ns := range k.Allow {
		path := fmt.Sprintf("%s.allow[%d]", p, i)
		v.name(path, ns)
		if slices.Contains(protectedNamespaces, ns) {
			v.errorf(path, "%s is never touched, whatever allow says (protected: %s)", ns, strings.Join(protectedNamespaces, ", "))
		}
	}
	if v.d.has(p+".kubeconfig") && k.Kubeconfig == "" {
		v.errorf(p+".kubeconfig", "is empty; give a kubeconfig file or leave it out for the default loading rules")
	}
	if v.d.has(p+".image") && (k.Image == "" || strings.ContainsAny(k.Image, " \t")) {
		v.errorf(p+".image", "bad image %q: give a reference such as chaosctl:1.2.3", k.Image)
	}
	if v.d.has(p + ".storageClass") {
		v.name(p+".storageClass", k.StorageClass)
	}
}

// podRef checks a pod member's namespace (allowed, never protected) and
// selector.
func (v *validator) podRef(pp string, ref *PodRef) {
	if v.required(pp + ".namespace") {
		v.name(pp+".namespace", ref.Namespace)
		k := v.e.Target.Kubernetes
		switch {
		case slices.Contains(protectedNamespaces, ref.Namespace):
			v.errorf(pp+".namespace", "%s is never touched (protected: %s)", ref.Namespace, strings.Join(protectedNamespaces, ", "))
		case k == nil || !slices.Contains(k.Allow, ref.Namespace):
			v.errorf(pp+".namespace", "%s is not in target.kubernetes.allow; chaosctl acts only in namespaces the experiment allows (its blast radius)", ref.Namespace)
		}
	}
	if v.required(pp + ".selector") {
		if _, err := labels.Parse(ref.Selector); err != nil || strings.TrimSpace(ref.Selector) == "" {
			why := "it is empty and would match every pod"
			if err != nil {
				why = err.Error()
			}
			v.errorf(pp+".selector", "bad label selector %q: %s; e.g. app=cart or app=cart,tier!=canary", ref.Selector, why)
		}
	}
}

func (v *validator) external(x *ExternalTarget) {
	const p = "target.external"
	if len(x.Members) == 0 && len(x.Proxies) == 0 {
		v.errorf(p, "needs members, proxies or both")
	}
	for i, m := range x.Members {
		mp := fmt.Sprintf("%s.members[%d]", p, i)
		v.name(mp+".name", m.Name)
		if m.Name == ClientName {
			v.errorf(mp+".name", "%q names the workload's side of the links; choose another name", ClientName)
		}
		switch v.exactlyOne(mp, "command", "container", "pod") {
		case "command":
			if len(m.Command) == 0 {
				v.errorf(mp+".command", "is empty; give the program and its arguments")
			}
		case "container":
			v.notAllowed("applies to members started with command, not to containers", mp+".env", mp+".dir")
			if v.exactlyOne(mp+".container", "name", "label") == "label" && strings.HasPrefix(m.Container.Label, "=") {
				v.errorf(mp+".container.label", "bad label %q: want key or key=value", m.Container.Label)
			}
		case "pod":
			v.notAllowed("applies to members started with command, not to pods", mp+".env", mp+".dir")
			v.podRef(mp+".pod", m.Pod)
		}
		if m.Ready != nil {
			switch v.exactlyOne(mp+".ready", "http", "tcp") {
			case "http":
				v.httpURL(mp+".ready.http", m.Ready.HTTP)
			case "tcp":
				v.hostPort(mp+".ready.tcp", m.Ready.TCP)
			}
		}
		for k := range m.Env {
			if k == "" || strings.ContainsAny(k, "= \t") {
				v.errorf(mp+".env."+k, "bad environment variable name %q", k)
			}
		}
		seen := map[int]bool{}
		for j, port := range m.Ports {
			pp := fmt.Sprintf("%s.ports[%d]", mp, j)
			v.intRange(pp, port, 1, 65535)
			if seen[port] {
				v.errorf(pp, "port %d is listed twice", port)
			}
			seen[port] = true
		}
	}
	v.unique("member", memberNames(x), func(i int) string { return fmt.Sprintf("%s.members[%d].name", p, i) })

	listens := make([]string, len(x.Proxies))
	for i, px := range x.Proxies {
		pp := fmt.Sprintf("%s.proxies[%d]", p, i)
		v.name(pp+".name", px.Name)
		if px.Name == ClientName {
			v.errorf(pp+".name", "%q names the workload's side of the links; choose another name", ClientName)
		}
		if v.required(pp + ".listen") {
			v.hostPort(pp+".listen", px.Listen)
		}
		if v.required(pp + ".upstream") {
			v.hostPort(pp+".upstream", px.Upstream)
		}
		listens[i] = px.Listen
	}
	v.unique("proxy", proxyNames(x), func(i int) string { return fmt.Sprintf("%s.proxies[%d].name", p, i) })
	v.unique("listen address", listens, func(i int) string { return fmt.Sprintf("%s.proxies[%d].listen", p, i) })
	if x.Toxiproxy != nil && v.required(p+".toxiproxy.url") {
		v.httpURL(p+".toxiproxy.url", x.Toxiproxy.URL)
	}
}

// The lock workload's defaults and bounds.
const (
	DefaultLockName     = "demo-lock"
	DefaultLockResource = "locked-resource"
	DefaultLockClients  = 3
	DefaultLockLease    = time.Second
	DefaultLockHold     = 100 * time.Millisecond
	MaxLockClients      = 64
	MaxLockLease        = time.Minute
)

// lockWorkload checks workload.kind lock and workload.lock.
func (v *validator) lockWorkload() {
	w := &v.e.Workload
	const p = "workload"
	if w.Kind != WorkloadLock {
		v.notAllowed("needs workload.kind: lock", p+".lock")
		return
	}
	v.notAllowed("is the key-value workload's; the lock workload's load is set by workload.lock.clients",
		p+".rate", p+".keys", p+".distribution", p+".readRatio", p+".valueSize", p+".http", p+".redis")
	c := v.e.Target.Demo
	switch {
	case c == nil:
		v.errorf(p+".kind", "lock drives the demo cluster's lock service; give target.demo (or leave target out)")
	case c.Consistency != ConsistencyLinearizable && v.ok("target.demo.consistency"):
		v.errorf(p+".kind", "lock needs target.demo.consistency: linearizable (the lock service compares-and-sets on the linearizable store); it is %s", c.Consistency)
	}
	l := w.Lock
	for _, f := range []struct{ path, val string }{{p + ".lock.name", l.Name}, {p + ".lock.resource", l.Resource}} {
		if v.d.has(f.path) && (f.val == "" || len(f.val) > 200 || strings.ContainsAny(f.val, "/?# \t\n")) {
			v.errorf(f.path, "%q is not allowed; allowed: 1 to 200 bytes without '/', '?', '#' or spaces", f.val)
		}
	}
	if v.d.has(p+".lock.name") && v.d.has(p+".lock.resource") && "lock."+l.Name == l.Resource {
		v.errorf(p+".lock.resource", "%q is the lock's own record; name another key", l.Resource)
	}
	v.intRange(p+".lock.clients", l.Clients, 1, MaxLockClients)
	v.durationRange(p+".lock.lease", l.Lease, 10*time.Millisecond, MaxLockLease)
	v.durationRange(p+".lock.hold", l.Hold, 0, MaxLockLease)
	v.durationRange(p+".lock.pauseEvery", l.PauseEvery, 0, MaxRunDuration)
	v.positiveDuration(p+".lock.pause", l.Pause, MaxLockLease)
	if l.PauseEvery > 0 && l.PauseEvery < 2*time.Millisecond {
		v.errorf(p+".lock.pauseEvery", "%s is out of range; allowed: 0 (no pauses) or 2ms to %s", l.PauseEvery, MaxRunDuration)
	}
}

// scanWorkload checks workload.kind scan and workload.scan.
func (v *validator) scanWorkload() {
	w := &v.e.Workload
	const p = "workload"
	if w.Kind != WorkloadScan {
		v.notAllowed("needs workload.kind: scan", p+".scan")
		return
	}
	if v.e.Target.Demo == nil {
		v.errorf(p+".kind", "scan sends range queries to the demo cluster's gateways; give target.demo (or leave target out)")
		return
	}
	s := w.Scan
	if v.d.has(p+".scan.ratio") && (s.Ratio <= 0 || s.Ratio > 1) {
		v.errorf(p+".scan.ratio", "%s is out of range; allowed: above 0%% up to 100%% (the share of operations that are scans)", s.Ratio)
	}
	v.intRange(p+".scan.limit", s.Limit, 1, MaxScanLimit)
	if v.d.has(p+".scan.width") && (s.Width < 1 || s.Width > w.Keys) {
		v.errorf(p+".scan.width", "%d is out of range; allowed: 1 to workload.keys (%d), the keys a scan's range spans", s.Width, w.Keys)
	}
}

func (v *validator) workload() {
	w := &v.e.Workload
	const p = "workload"
	v.lockWorkload()
	v.scanWorkload()
	if w.Kind == WorkloadLock {
		if v.required(p + ".duration") {
			v.positiveDuration(p+".duration", w.Duration, MaxRunDuration)
		}
		v.durationRange(p+".warmup", w.Warmup, 0, MaxRunDuration)
		v.positiveDuration(p+".timeout", w.Timeout, time.Minute)
		return
	}
	if v.required(p+".rate") && (w.Rate <= 0 || w.Rate > MaxRate) {
		v.errorf(p+".rate", "%g requests/s is out of range; allowed: above 0 up to %g", w.Rate, MaxRate)
	}
	if v.required(p + ".duration") {
		v.positiveDuration(p+".duration", w.Duration, MaxRunDuration)
	}
	v.durationRange(p+".warmup", w.Warmup, 0, MaxRunDuration)
	if v.ok(p+".duration", p+".warmup") && v.d.has(p+".duration") {
		if run, ok := sumWithin(MaxRunDuration, w.Warmup, w.Duration); !ok {
			v.errorf(p+".duration", "the run lasts warmup %s + duration %s = %s; the most allowed is %s", w.Warmup, w.Duration, run, MaxRunDuration)
		}
	}
	v.positiveDuration(p+".timeout", w.Timeout, time.Minute)

	if v.e.Target.External != nil && w.Redis != nil {
		v.notAllowed("is the HTTP workload; workload.redis sends the key-value workload, give one of the two", p+".http")
		if v.required(p + ".redis.addr") {
			v.hostPort(p+".redis.addr", w.Redis.Addr)
		}
		v.intRange(p+".redis.db", w.Redis.DB, 0, 15)
		v.notAllowed("applies to the demo cluster's workload", p+".missRatio", p+".keyPattern")
		v.intRange(p+".keys", w.Keys, 1, MaxKeys)
		v.percentRange(p+".readRatio", w.ReadRatio, 0, 1)
		if v.d.has(p+".valueSize") && (w.ValueSize < 1 || w.ValueSize > MaxValueSize) {
			v.errorf(p+".valueSize", "%s is out of range; allowed: 1B to %s", w.ValueSize, MaxValueSize)
		}
	} else if v.e.Target.External != nil {
		v.notAllowed("applies to a key-value workload (the demo cluster's, or workload.redis); give workload.redis, or use workload.http",
			p+".keys", p+".distribution", p+".readRatio", p+".valueSize", p+".missRatio", p+".keyPattern")
		if len(w.HTTP) == 0 && v.ok(p+".http") {
			v.required(p + ".http")
			if v.d.has(p + ".http") {
				v.errorf(p+".http", "needs at least one request class")
			}
		}
	} else {
		v.notAllowed("needs target.external; the demo cluster's workload is set by keys, readRatio and valueSize", p+".http", p+".redis")
		if d := v.e.Target.Demo; d != nil && w.Kind.CRDT() && d.Consistency != ConsistencyEventual && v.ok(p+".kind") {
			v.errorf(p+".kind", "%s acts on CRDT values, which only the eventual mode has; set target.demo.consistency: eventual, or use kind kv", w.Kind)
		}
		if w.KeyPattern == KeyPatternSequential && w.Kind != WorkloadKV && v.ok(p+".kind", p+".keyPattern") {
			v.errorf(p+".keyPattern", "sequential writes new key-value keys; it needs kind kv, and kind is %s", w.Kind)
		}
		v.intRange(p+".keys", w.Keys, 1, MaxKeys)
		v.percentRange(p+".readRatio", w.ReadRatio, 0, 1)
		v.percentRange(p+".missRatio", w.MissRatio, 0, 1)
		if v.d.has(p+".valueSize") && (w.ValueSize < 1 || w.ValueSize > MaxValueSize) {
			v.errorf(p+".valueSize", "%s is out of range; allowed: 1B to %s", w.ValueSize, MaxValueSize)
		}
	}

	if v.e.Target.External != nil {
		v.notAllowed("applies to the demo cluster (one gateway and coordinator per client session); an external target has neither", p+".sticky")
	}

	names := make([]string, len(w.HTTP))
	for i, r := range w.HTTP {
		rp := fmt.Sprintf("%s.http[%d]", p, i)
		if v.required(rp + ".url") {
			v.httpURL(rp+".url", r.URL)
		}
		v.intRange(rp+".expect", r.Expect, 100, 599)
		if v.d.has(rp+".weight") && r.Weight <= 0 {
			v.errorf(rp+".weight", "%g is out of range; allowed: above 0", r.Weight)
		}
		names[i] = r.Name
	}
	v.unique("request class", names, func(i int) string {
		if rp := fmt.Sprintf("%s.http[%d].name", p, i); v.d.has(rp) {
			return rp
		}
		return fmt.Sprintf("%s.http[%d]", p, i)
	})
}

func (v *validator) steadyState() {
	s := &v.e.SteadyState
	const p = "steadyState"
	v.positiveDuration(p+".window", s.Window, time.Hour)
	v.durationRange(p+".recoveryWithin", s.RecoveryWithin, 0, time.Hour)
	names := make([]string, len(s.Probes))
	for i := range s.Probes {
		pr := &s.Probes[i]
		pp := fmt.Sprintf("%s.probes[%d]", p, i)
		v.name(pp+".name", pr.Name)
		names[i] = pr.Name
		switch v.exactlyOne(pp, "metric", "prometheus", "http", "tcp", "exec") {
		case "metric":
			v.metricProbe(pp, pr)
		case "prometheus":
			v.notAllowed("belongs inside prometheus", pp+".max", pp+".min")
			q := pr.Prometheus
			// The URL may come from --prometheus-url instead (checked by Run).
			if v.d.has(pp + ".prometheus.url") {
				v.httpURL(pp+".prometheus.url", q.URL)
			}
			if v.required(pp+".prometheus.query") && strings.TrimSpace(q.Query) == "" {
				v.errorf(pp+".prometheus.query", "is empty; give a PromQL query")
			}
			v.bounds(pp+".prometheus", q.Max, q.Min)
		case "http":
			v.notAllowed("applies to metric probes", pp+".max", pp+".min")
			h := pr.HTTP
			if v.required(pp + ".http.url") {
				v.httpURL(pp+".http.url", h.URL)
			}
			v.intRange(pp+".http.status", h.Status, 100, 599)
			v.durationRange(pp+".http.maxLatency", h.MaxLatency, 0, time.Minute)
		case "tcp":
			v.notAllowed("applies to metric probes", pp+".max", pp+".min")
			c := pr.TCP
			if v.required(pp + ".tcp.addr") {
				v.hostPort(pp+".tcp.addr", c.Addr)
			}
			if c.Expect != "" && c.Send == "" && v.d.has(pp+".tcp.expect") {
				v.errorf(pp+".tcp.expect", "needs send: the probe reads an answer only after sending")
			}
			v.durationRange(pp+".tcp.maxLatency", c.MaxLatency, 0, time.Minute)
		case "exec":
			v.notAllowed("applies to metric probes", pp+".max", pp+".min")
			v.execStep(pp+".exec", pr.Exec, MaxExecProbeTimeout)
		}
	}
	v.unique("probe name", names, func(i int) string { return fmt.Sprintf("%s.probes[%d].name", p, i) })
}

func (v *validator) metricProbe(pp string, pr *Probe) {
	m := pr.Metric
	if m.Scraped() && v.e.Target.Demo == nil {
		v.errorf(pp+".metric", "%s is scraped from the demo cluster's members; against an external target use a prometheus probe", m)
	}
	for _, b := range []struct {
		field string
		t     *Threshold
	}{{"max", pr.Max}, {"min", pr.Min}} {
		if b.t == nil {
			continue
		}
		bp := pp + "." + b.field
		switch unit := m.Unit(); {
		case unit == UnitSeconds && b.t.Unit != ThresholdDuration:
			v.errorf(bp, "%s is a latency; write the bound as a duration, e.g. 150ms", m)
		case unit == UnitRatio && b.t.Unit == ThresholdDuration:
			v.errorf(bp, "%s is a ratio; write the bound as 1%% or 0.01", m)
		case unit == UnitRatio && (b.t.Value < 0 || b.t.Value > 1):
			v.errorf(bp, "%s is out of range for the ratio %s; allowed: 0 to 100%%", b.t, m)
		case (unit == UnitCount || unit == UnitPerSecond) && b.t.Unit != ThresholdNumber:
			v.errorf(bp, "%s is a number; write the bound as a plain number", m)
		case b.t.Value < 0:
			v.errorf(bp, "%s is negative; %s is never below 0", b.t, m)
		}
	}
	v.bounds(pp, pr.Max, pr.Min)
}

// bounds checks that at least one of max and min is given, and min <= max.
func (v *validator) bounds(p string, maxT, minT *Threshold) {
	if maxT == nil && minT == nil {
		if v.ok(p+".max", p+".min") {
			v.errorf(p, "needs max, min or both")
		}
		return
	}
	if maxT != nil && minT != nil && minT.Value > maxT.Value {
		v.errorf(p+".min", "min %s is above max %s", minT, maxT)
	}
}

func (v *validator) faults() {
	e := v.e
	if len(e.Faults) > MaxFaults {
		v.errorf("faults", "%d faults; at most %d are allowed", len(e.Faults), MaxFaults)
		return
	}
	names := make([]string, len(e.Faults))
	for i := range e.Faults {
		v.fault(i, &e.Faults[i])
		names[i] = e.Faults[i].Name
	}
	v.unique("fault name", names, func(i int) string { return fmt.Sprintf("faults[%d].name", i) })
	v.contradictions()
}

func (v *validator) fault(i int, f *Fault) {
	p := fmt.Sprintf("faults[%d]", i)
	v.name(p+".name", f.Name)
	kind := FaultKind(v.exactlyOne(p, faultKinds.KindsInOrder()...))
	kp := p + "." + string(kind)
	if kind == "" || !v.ok(kp) {
		return
	}

	// Timing: at counts from the end of warmup; the fault must start before
	// the workload ends and end no later than it.
	end := v.e.Workload.Duration
	known := v.workloadDurationKnown()
	if v.required(p + ".at") {
		switch {
		case f.At > MaxRunDuration:
			v.errorf(p+".at", "%s is too late; the most allowed is %s (at counts from the end of warmup, and a run lasts at most %s)", f.At, MaxRunDuration, MaxRunDuration)
		case !known:
			// Checked against the workload once its duration is valid.
		case f.At < 0:
			v.errorf(p+".at", "%s is negative; at counts from the end of warmup", f.At)
		case f.At >= end:
			v.errorf(p+".at", "the fault starts at %s, not before the workload ends at %s (at counts from the end of warmup)", f.At, end)
		}
	}
	switch {
	case kind == FaultCrash:
		v.notAllowed("crash takes no duration; use crash.restartAfter to bring the member back", p+".duration")
	case faultCaps(kind).Instant:
		v.notAllowed(string(kind)+" is instantaneous and takes no duration", p+".duration")
	case v.d.has(p + ".duration"):
		if f.Duration <= 0 {
			v.errorf(p+".duration", "%s is out of range; allowed: above 0 (leave it out to last until the workload ends)", f.Duration)
		} else if f.Duration > MaxRunDuration {
			v.errorf(p+".duration", "%s is too long; the most allowed is %s (a run lasts at most %s)", f.Duration, MaxRunDuration, MaxRunDuration)
		} else if known && v.ok(p+".at") && f.At >= 0 && f.At < end && f.End() > end {
			v.errorf(p+".duration", "the fault ends at %s (at %s + %s), after the workload ends at %s", f.End(), f.At, f.Duration, end)
		}
	}

	if kind == FaultPartition {
		v.partition(kp, f.Partition)
		return
	}
	if c := v.e.Target.Demo; c == nil && faultCaps(kind).StoreNodes {
		v.keyErrorf(kp, "%s needs the demo cluster; an external target supports partition-free link faults (latency, bandwidth, reset, blackhole) and crash, pause, restart", kind)
		return
	}
	v.selector(kp, kind, f.Selector())

	switch kind {
	case FaultLatency:
		// The fault plane (toxiproxy) delays in whole milliseconds.
		if v.required(kp + ".delay") {
			v.durationRange(kp+".delay", f.Latency.Delay, injectors.MinDelay, time.Minute)
		}
		v.durationRange(kp+".jitter", f.Latency.Jitter, 0, time.Minute)
		if f.Latency.Jitter > f.Latency.Delay && v.d.has(kp+".jitter") {
			v.errorf(kp+".jitter", "%s exceeds the delay %s; allowed: 0 to the delay", f.Latency.Jitter, f.Latency.Delay)
		}
	case FaultBandwidth:
		if v.required(kp+".rate") && f.Bandwidth.Rate < injectors.MinBytesPerSecond {
			v.errorf(kp+".rate", "%s is out of range; allowed: at least 1000B/s (the fault plane limits in KB/s)", f.Bandwidth.Rate)
		}
	case FaultReset:
		// Up to the bound within which a revert can remove the toxic.
		v.durationRange(kp+".timeout", f.Reset.Timeout, 0, injectors.MaxResetTimeout)
	case FaultCrash:
		ra := f.Crash.RestartAfter
		if v.d.has(kp + ".restartAfter") {
			if ra <= 0 {
				v.errorf(kp+".restartAfter", "%s is out of range; allowed: above 0 (leave it out to keep the member down)", ra)
			} else if ra > MaxRunDuration {
				v.errorf(kp+".restartAfter", "%s is too long; the most allowed is %s (a run lasts at most %s)", ra, MaxRunDuration, MaxRunDuration)
			} else if known && v.ok(p+".at") && f.At >= 0 && f.At < end && f.At+ra > end {
				v.errorf(kp+".restartAfter", "the restart comes at %s (at %s + %s), after the workload ends at %s", f.At+ra, f.At, ra, end)
			}
		}
	case FaultClockSkew:
		if v.required(kp+".offset") && (f.ClockSkew.Offset == 0 || f.ClockSkew.Offset.Abs() > MaxRunDuration) {
			v.errorf(kp+".offset", "%s is out of range; allowed: a non-zero offset up to ±%s", f.ClockSkew.Offset, MaxRunDuration)
		}
	case FaultCorrupt:
		if v.d.has(kp+".ratio") && (f.Corrupt.Ratio <= 0 || f.Corrupt.Ratio > 1) {
			v.errorf(kp+".ratio", "%s is out of range; allowed: above 0%% up to 100%%", f.Corrupt.Ratio)
		}
	case FaultHTTP:
		v.httpFault(kp, f.HTTP)
	}
}

// DefaultHTTPPercent is the share of matching requests an http fault acts
// on when the file gives neither percent nor firstN: all of them.
const DefaultHTTPPercent Percent = 1

// MaxHTTPFirstN bounds an http fault's firstN.
const MaxHTTPFirstN = 1_000_000_000

var headerNameRE = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// shareOf returns the share of an http fault's action, nil when the action
// is not given.
func shareOf[T HTTPAbort | HTTPDelay | HTTPDrop](a *T) *HTTPShare {
	if a == nil {
		return nil
	}
	switch x := any(a).(type) {
	case *HTTPAbort:
		return &x.HTTPShare
	case *HTTPDelay:
		return &x.HTTPShare
	case *HTTPDrop:
		return &x.HTTPShare
	}
	return nil
}

// httpMatch checks an http fault's match (or the nemesis's) at mp.
func (v *validator) httpMatch(mp string, m *HTTPMatch) {
	if v.d.has(mp+".pathPrefix") && !strings.HasPrefix(m.PathPrefix, "/") {
		v.errorf(mp+".pathPrefix", "%q does not start with /; allowed: a path such as /kv/ (the request target's path, without the query)", m.PathPrefix)
	}
	for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
		hp := mp + ".headers." + name
		switch val := m.Headers[name]; {
		case !headerNameRE.MatchString(name):
			v.keyErrorf(hp, "bad header name %q; allowed: a token such as X-Tenant (letters, digits and !#$%%&'*+-.^_`|~)", name)
		case strings.ContainsAny(val, "\r\n"):
			v.errorf(hp, "the value holds a line break; allowed: one line, compared exactly")
		}
	}
}

func (v *validator) httpFault(kp string, h *HTTP) {
	if x := v.e.Target.External; x != nil && x.Toxiproxy != nil {
		v.keyErrorf(kp, "needs chaosctl's own fault plane: the HTTP toxic does not exist in a toxiproxy server of yours (target.external.toxiproxy); leave toxiproxy out and chaosctl runs its own")
		return
	}
	v.httpMatch(kp+".match", &h.Match)
	var share *HTTPShare
	sp := kp
	switch a := v.exactlyOne(kp, "abort", "delay", "drop"); a {
	case "abort":
		ap := kp + ".abort"
		if v.required(ap + ".status") {
			v.intRange(ap+".status", h.Abort.Status, 200, 599)
		}
		share, sp = &h.Abort.HTTPShare, ap
	case "delay":
		dp := kp + ".delay"
		if v.required(dp + ".latency") {
			v.durationRange(dp+".latency", h.Delay.Latency, injectors.MinDelay, time.Minute)
		}
		share, sp = &h.Delay.HTTPShare, dp
	case "drop":
		share, sp = &h.Drop.HTTPShare, kp+".drop"
	}
	if share == nil {
		return
	}
	if v.d.has(sp+".percent") && v.d.has(sp+".firstN") {
		v.keyErrorf(sp+".firstN", "percent and firstN are exclusive; give one of percent, firstN")
		return
	}
	if v.d.has(sp+".percent") && (share.Percent <= 0 || share.Percent > 1) {
		hint := ""
		if share.Percent > 1 && share.Percent <= 100 {
			hint = fmt.Sprintf(" (write %g%% for %g percent)", float64(share.Percent), float64(share.Percent))
		}
		v.errorf(sp+".percent", "%s is out of range; allowed: above 0%% up to 100%%%s", share.Percent, hint)
	}
	v.intRange(sp+".firstN", share.FirstN, 1, MaxHTTPFirstN)
}

// workloadDurationKnown reports whether fault times can be checked
// against the workload's duration.
func (v *validator) workloadDurationKnown() bool {
	return v.d.has("workload.duration") && v.ok("workload.duration") && v.e.Workload.Duration > 0
}

func (v *validator) selector(kp string, kind FaultKind, s *Selector) {
	allowed, proxies := selectable(&v.e.Target, kind)
	demo := v.e.Target.Demo != nil
	switch v.exactlyOne(kp, "nodes", "pick", "proxies") {
	case "nodes":
		if !demo && proxies {
			v.keyErrorf(kp+".nodes", "%s on an external target acts on proxies; use proxies: [%s]", kind, strings.Join(allowed, ", "))
			return
		}
		if len(s.Nodes) == 0 {
			v.errorf(kp+".nodes", "is empty; allowed: %s", strings.Join(allowed, ", "))
		}
		v.names(kp+".nodes", s.Nodes, allowed, "node")
	case "proxies":
		if demo {
			v.keyErrorf(kp+".proxies", "proxies name target.external proxies; select the demo cluster's links with nodes")
			return
		}
		if !proxies {
			v.keyErrorf(kp+".proxies", "%s acts on members; use nodes: [...] (proxies take latency, bandwidth, reset and blackhole)", kind)
			return
		}
		if len(s.Proxies) == 0 {
			v.errorf(kp+".proxies", "is empty; allowed: %s", strings.Join(allowed, ", "))
		}
		v.names(kp+".proxies", s.Proxies, allowed, "proxy")
	case "pick":
		pp := kp + ".pick"
		what := "node"
		if proxies {
			what = "proxy"
		}
		if v.d.has(pp + ".from") {
			if len(s.Pick.From) == 0 {
				v.errorf(pp+".from", "is empty; allowed: %s", strings.Join(allowed, ", "))
			}
			v.names(pp+".from", s.Pick.From, allowed, what)
		}
		if v.ok(pp+".count", pp+".from") && v.namesKnown() && (s.Pick.Count < 1 || s.Pick.Count > len(s.Pick.From)) {
			v.errorf(pp+".count", "%d is out of range; allowed: 1 to %d (the candidates: %s)", s.Pick.Count, len(s.Pick.From), strings.Join(s.Pick.From, ", "))
		}
	}
}

// names checks a list of selected names against the allowed ones.
func (v *validator) names(path string, list, allowed []string, what string) {
	if !v.namesKnown() {
		return
	}
	seen := map[string]bool{}
	for i, n := range list {
		np := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case !contains(allowed, n):
			v.errorf(np, "unknown %s %q; allowed: %s%s", what, n, strings.Join(allowed, ", "), suggest(n, allowed))
		case seen[n]:
			v.errorf(np, "%s %q is listed twice", what, n)
		}
		seen[n] = true
	}
}

func (v *validator) partition(kp string, pt *Partition) {
	c := v.e.Target.Demo
	if c == nil {
		v.externalPartition(kp, pt)
		return
	}
	if pt.Behavior == BehaviorIsolate && pt.OneWay {
		v.keyErrorf(kp+".oneWay", "isolate takes members off the network both ways; oneWay applies to drop and reject")
	}
	switch v.exactlyOne(kp, "groups", "mode") {
	case "groups":
		v.notAllowed("size applies to mode isolate (how many store nodes it cuts off together); with groups, name the members in the first group", kp+".size")
		allowed := append(append([]string{ClientName}, c.GatewayNames()...), c.NodeNames()...)
		if len(pt.Groups) < 2 {
			v.errorf(kp+".groups", "needs at least two groups, e.g. [[n1], [n2, n3]]")
			return
		}
		valid := true
		where := map[string]string{}
		for gi, g := range pt.Groups {
			gp := fmt.Sprintf("%s.groups[%d]", kp, gi)
			if len(g) == 0 {
				v.errorf(gp, "is an empty group")
				valid = false
			}
			for ni, n := range g {
				np := fmt.Sprintf("%s[%d]", gp, ni)
				if !contains(allowed, n) {
					if !v.namesKnown() {
						valid = false
						continue
					}
					v.errorf(np, "unknown node %q; allowed: %s%s", n, strings.Join(allowed, ", "), suggest(n, allowed))
					valid = false
					continue
				}
				if first, dup := where[n]; dup {
					v.errorf(np, "%s is already in %s; a member belongs to one group", n, first)
					valid = false
					continue
				}
				where[n] = np
			}
		}
		if pt.Behavior == BehaviorIsolate && len(pt.Groups) > 0 && contains(pt.Groups[0], ClientName) {
			v.errorf(kp+".groups[0]", "isolate takes the first group's members off the network; %s is the workload's side and cannot be; put it in another group", ClientName)
			valid = false
		}
		if valid && v.ok(kp+".groups") && pt.Behavior != BehaviorIsolate && len(cutLinks(pt.Groups, pt.OneWay, demoLinks(c))) == 0 {
			v.errorf(kp+".groups", "cuts no link of the fault plane (client->g*, g*->n*, n*->n*); put store nodes, gateways or the client on both sides")
		}
	case "mode":
		if pt.Behavior == BehaviorIsolate && (pt.Mode == ModeRing || pt.Mode == ModeBridge) {
			v.errorf(kp+".behavior", "isolate takes the first group off the network; mode %s has no group to isolate (use isolate, majority-minority, halves or groups)", pt.Mode)
		}
		if min := pt.Mode.minNodes(); c.Nodes < min && v.ok("target.demo.nodes") {
			v.errorf(kp+".mode", "%s needs at least %d store nodes, the cluster has %d", pt.Mode, min, c.Nodes)
		}
		if pt.Mode == ModeRing && pt.OneWay {
			v.keyErrorf(kp+".oneWay", "a ring has no first group; oneWay applies to groups and to the other modes")
		}
		switch {
		case !v.d.has(kp+".size") || !v.ok(kp+".mode"):
		case pt.Mode != ModeIsolate:
			v.keyErrorf(kp+".size", "size applies to mode isolate (how many store nodes it cuts off together); mode %s sizes its groups itself", pt.Mode)
		case c.Nodes >= 2 && (pt.Size < 1 || pt.Size > c.Nodes-1) && v.ok("target.demo.nodes"):
			v.errorf(kp+".size", "%d is out of range; allowed: 1 to %d (isolate cuts size of the cluster's %d store nodes off from the others, and leaves at least one)", pt.Size, c.Nodes-1, c.Nodes)
		}
	}
}

// externalPartition checks a partition of an external target: only
// behavior isolate, of pod members (a NetworkPolicy); the first group is
// isolated, further groups only document the rest.
func (v *validator) externalPartition(kp string, pt *Partition) {
	x := v.e.Target.External
	if x == nil || pt.Behavior != BehaviorIsolate {
		v.keyErrorf(kp, "partition of an external target needs behavior: isolate and pod members (a NetworkPolicy); otherwise use blackhole or reset on proxies")
		return
	}
	v.notAllowed("applies to the demo cluster's partitions; isolate of pod members takes groups", kp+".mode", kp+".size", kp+".oneWay")
	if !v.required(kp + ".groups") {
		return
	}
	if len(pt.Groups) == 0 || len(pt.Groups[0]) == 0 {
		v.errorf(kp+".groups", "needs a first group of pod members to isolate, e.g. [[cart]]")
		return
	}
	var pods, all []string
	for _, m := range x.Members {
		all = append(all, m.Name)
		if m.Pod != nil {
			pods = append(pods, m.Name)
		}
	}
	for gi, g := range pt.Groups {
		for ni, n := range g {
			np := fmt.Sprintf("%s.groups[%d][%d]", kp, gi, ni)
			switch {
			case !contains(all, n):
				if v.namesKnown() {
					v.errorf(np, "unknown member %q; allowed: %s%s", n, strings.Join(all, ", "), suggest(n, all))
				}
			case gi == 0 && !contains(pods, n):
				v.errorf(np, "%s is not a pod member; isolate applies a NetworkPolicy to pods (members with pod:)", n)
			}
		}
	}
}

// window is where a fault is active, as offsets from the end of warmup.
// An instantaneous fault occupies one nanosecond so it still collides with
// faults active at that moment.
// The end saturates: a fault whose duration is out of range is reported,
// and must not wrap around to a short window meanwhile.
func faultWindow(f *Fault) (start, end time.Duration) {
	end = f.End()
	if f.Duration > 0 && end < f.At {
		end = math.MaxInt64
	}
	return f.At, max(end, f.At+1)
}

// touched returns the members a fault may touch: its nodes, or every
// candidate of its pick (the choice is made later, with the seed).
func touched(f *Fault) (names []string, picked bool) {
	s := f.Selector()
	switch {
	case s == nil:
		return nil, false
	case s.Pick != nil:
		return s.Pick.From, true
	default:
		return s.Nodes, false
	}
}

// contradictions reports faults that cannot both hold: a member crashed,
// paused or restarted by two overlapping faults; two overlapping clock
// skews of one member; overlapping partitions that could cut the same link.
func (v *validator) contradictions() {
	faults := v.e.Faults
	for j := range faults {
		if len(v.d.problems) >= maxProblems {
			return
		}
		fj := &faults[j]
		kj := fj.Kind()
		if kj == "" || !v.timed(j) {
			continue
		}
		sj, ej := faultWindow(fj)
		for i := range j {
			fi := &faults[i]
			ki := fi.Kind()
			if ki == "" || !v.timed(i) {
				continue
			}
			si, ei := faultWindow(fi)
			if !(si < ej && sj < ei) {
				continue
			}
			kp := fmt.Sprintf("faults[%d].%s", j, kj)
			other := fmt.Sprintf("faults[%d] (%s, %s from %s to %s)", i, fi.Name, ki, fi.At, fi.End())
			switch c, n, picked := conflict(fi, fj); c {
			case conflictMemberState:
				v.errorf(kp, "%s of %s from %s to %s overlaps %s on %s; a member is crashed, paused or restarted by one fault at a time%s",
					kj, n, fj.At, fj.End(), other, n, pickNote(picked))
			case conflictClock:
				v.errorf(kp, "clock skew of %s overlaps %s; a member's clock takes one skew at a time%s", n, other, pickNote(picked))
			case conflictPartition:
				v.errorf(kp, "overlaps %s on %s; partitions may overlap in time only when both give groups naming disjoint members (healing one must not heal the other's links)", other, n)
			}
		}
	}
}

// faultConflict is why two faults cannot be active at once.
type faultConflict int

const (
	noConflict          faultConflict = iota
	conflictMemberState               // one member crashed, paused or restarted by both
	conflictClock                     // one member's clock skewed by both
	conflictPartition                 // partitions that could cut the same link
)

// conflict says whether faults a and b could not both hold if their
// windows overlapped: the member (or members) they share, and whether a
// pick may be what chooses it. Validation and the nemesis's schedules use
// this one rule.
func conflict(a, b *Fault) (c faultConflict, member string, picked bool) {
	ka, kb := a.Kind(), b.Kind()
	switch {
	case faultCaps(ka).MemberState && faultCaps(kb).MemberState:
		c = conflictMemberState
	case ka == FaultClockSkew && kb == FaultClockSkew:
		c = conflictClock
	case ka == FaultPartition && kb == FaultPartition:
		if n := sharedPartitionMember(a.Partition, b.Partition); n != "" {
			return conflictPartition, n, false
		}
		return noConflict, "", false
	default:
		return noConflict, "", false
	}
	if n, picked := sharedMember(a, b); n != "" {
		return c, n, picked
	}
	return noConflict, "", false
}

// timed reports whether fault i has a usable window.
func (v *validator) timed(i int) bool {
	p := fmt.Sprintf("faults[%d]", i)
	return v.d.has(p+".at") && v.ok(p+".at", p+".duration", p+"."+string(v.e.Faults[i].Kind()))
}

func pickNote(picked bool) string {
	if picked {
		return " (a pick may choose any of its candidates)"
	}
	return ""
}

// sharedMember returns a member both faults may touch, and whether a pick
// is involved.
func sharedMember(a, b *Fault) (string, bool) {
	na, pa := touched(a)
	nb, pb := touched(b)
	for _, n := range nb {
		if contains(na, n) {
			return n, pa || pb
		}
	}
	return "", false
}

// sharedPartitionMember returns a member named by both partitions, or
// "store nodes" when either is a mode (which spans every store node).
func sharedPartitionMember(a, b *Partition) string {
	if a.Mode != "" || b.Mode != "" {
		return "the store nodes (a mode spans all of them)"
	}
	in := map[string]bool{}
	for _, g := range a.Groups {
		for _, n := range g {
			in[n] = true
		}
	}
	for _, g := range b.Groups {
		for _, n := range g {
			if in[n] {
				return n
			}
		}
	}
	return ""
}

// objective checks an SLO's objective, the share of good events. The unit
// rule: "99.9%" is a percentage and a bare number a fraction (0.999), both
// 99.9 %. A bare number of 1 or more (99.9, a percentage without its %)
// and a percentage below 1 % (0.999%, a fraction with a %) are errors that
// spell out both spellings: neither is an objective anyone means.
func (v *validator) objective(path string, o Percent) {
	raw := ""
	if n := v.d.values[path]; n != nil {
		raw = strings.TrimSpace(n.Value)
	}
	percent := strings.HasSuffix(raw, "%")
	switch {
	case !percent && o > 1 && o < 100:
		v.errorf(path, "%s is a fraction (%s), above 100%%; a bare number is a fraction: write %s%% (a percentage) or %s (a fraction)",
			raw, o, raw, floatText(float64(o)/100))
	case percent && o > 0 && o < 0.01:
		written := float64(o) * 100 // the number before the %
		v.errorf(path, "%s leaves %s of the events as error budget; an objective is the share of good events: if you meant %s%%, write %s%% (a percentage) or %s (a fraction)",
			raw, 1-o, floatText(written*100), floatText(written*100), floatText(written))
	case o <= 0 || o >= 1:
		v.errorf(path, "%s is out of range; allowed: above 0%% and below 100%% (100%% leaves no error budget)", o)
	}
}

// floatText is v without binary noise: "99.9", not "99.89999999999999".
func floatText(v float64) string {
	return strconv.FormatFloat(math.Round(v*1e9)/1e9, 'f', -1, 64)
}

func (v *validator) slos() {
	e := v.e
	ops := []string{OpRead, OpWrite, OpGet, OpPut, OpDelete}
	if e.Workload.Kind == WorkloadScan {
		ops = append(ops, OpScan)
	}
	if e.Target.External != nil && e.Workload.Redis == nil {
		ops = nil
		for _, r := range e.Workload.HTTP {
			ops = append(ops, r.Name)
		}
	}
	names := make([]string, len(e.SLOs))
	for i, s := range e.SLOs {
		p := fmt.Sprintf("slos[%d]", i)
		names[i] = s.Name
		v.name(p+".name", s.Name)
		v.required(p + ".sli")
		if v.required(p + ".objective") {
			v.objective(p+".objective", s.Objective)
		}
		if v.d.has(p+".op") && !contains(ops, s.Op) {
			v.errorf(p+".op", "unknown op %q; allowed: %s%s", s.Op, strings.Join(ops, ", "), suggest(s.Op, ops))
		}
		ratioFields := []string{p + ".good", p + ".bad", p + ".total"}
		thresholdFields := []string{p + ".query", p + ".compare", p + ".value"}
		if s.SLI != SLIMetric {
			v.notAllowed("applies to metric SLOs (sli: metric)", p+".metric")
		}
		switch s.SLI {
		case SLIMetric:
			v.metricSLO(p, s)
		case SLIAvailability:
			v.notAllowed("applies to latency SLOs", p+".threshold")
			v.notAllowed("applies to ratio SLOs", ratioFields...)
			v.notAllowed("applies to threshold SLOs", thresholdFields...)
			v.notAllowed("applies to ratio and threshold SLOs (the Prometheus server)", p+".url")
		case SLILatency:
			if v.required(p + ".threshold") {
				v.positiveDuration(p+".threshold", s.Threshold, time.Minute)
			}
			v.notAllowed("applies to ratio SLOs", ratioFields...)
			v.notAllowed("applies to threshold SLOs", thresholdFields...)
			v.notAllowed("applies to ratio and threshold SLOs (the Prometheus server)", p+".url")
		case SLIRatio, SLIThreshold:
			v.notAllowed("applies to availability and latency SLOs", p+".op", p+".threshold")
			if s.Judge == JudgeFaults {
				v.errorf(p+".judge", "faults is not allowed for %s SLOs: their events come from Prometheus without per-second data to attribute to the faults; allowed: run", s.SLI)
			}
			if s.SLI == SLIRatio {
				v.notAllowed("applies to threshold SLOs", thresholdFields...)
				queries := map[string]string{"good": s.Good, "bad": s.Bad, "total": s.Total}
				for _, q := range []string{v.exactlyOne(p, "good", "bad"), "total"} {
					if q != "" && v.required(p+"."+q) && strings.TrimSpace(queries[q]) == "" {
						v.errorf(p+"."+q, "is empty; give a PromQL query")
					}
				}
			} else {
				v.notAllowed("applies to ratio SLOs", ratioFields...)
				if v.required(p+".query") && strings.TrimSpace(s.Query) == "" {
					v.errorf(p+".query", "is empty; give a PromQL query whose every sample is compared with value")
				}
				v.required(p + ".compare")
				if v.required(p+".value") && (math.IsNaN(*s.Value) || math.IsInf(*s.Value, 0)) {
					v.errorf(p+".value", "is not a finite number")
				}
			}
			if v.d.has(p + ".url") {
				v.httpURL(p+".url", s.URL)
			}
		}
		if s.Judge == JudgeFaults && len(e.Faults) == 0 && e.Nemesis == nil && v.ok("faults") && !v.d.misspelt[""] {
			v.errorf(p+".judge", "faults needs faults to judge: the experiment has none, so no bad event could count; use judge: run (the default) or add faults")
		}
	}
	v.unique("SLO name", names, func(i int) string { return fmt.Sprintf("slos[%d].name", i) })
	if len(e.SLOs) == 0 && len(e.SteadyState.Probes) == 0 && len(e.Checks) == 0 && v.ok("slos", "steadyState", "steadyState.probes", "checks") && !v.d.openSLOFailed {
		v.errorf("", "nothing to judge: give at least one of slos, steadyState.probes or checks (a run with no criteria would pass vacuously)")
	}
}

// metricSLO checks a metric SLO: a member metric of the demo cluster,
// compared with a value each second.
func (v *validator) metricSLO(p string, s SLO) {
	v.notAllowed("applies to availability and latency SLOs", p+".op", p+".threshold")
	v.notAllowed("applies to ratio SLOs", p+".good", p+".bad", p+".total")
	v.notAllowed("applies to threshold SLOs (a PromQL query); a metric SLO names its metric", p+".query")
	v.notAllowed("applies to ratio and threshold SLOs (the Prometheus server)", p+".url")
	if v.required(p+".metric") && v.ok(p+".metric") {
		switch {
		case !s.Metric.Scraped():
			v.errorf(p+".metric", "%s is measured by the workload; a metric SLO takes a metric scraped from the members: %s", s.Metric, strings.Join(scrapedMetrics(), ", "))
		case v.e.Target.Demo == nil:
			v.errorf(p+".metric", "is scraped from the demo cluster's members; an external target has none")
		}
	}
	v.required(p + ".compare")
	if v.required(p+".value") && (math.IsNaN(*s.Value) || math.IsInf(*s.Value, 0)) {
		v.errorf(p+".value", "is not a finite number")
	}
	if s.Judge == JudgeFaults {
		v.errorf(p+".judge", "faults is not allowed for metric SLOs: their events are seconds of the whole cluster, not requests a fault could be blamed for; allowed: run")
	}
}

// scrapedMetrics lists the probe metrics scraped from the members.
func scrapedMetrics() []string {
	var out []string
	for _, m := range metricUnits {
		if m.scraped {
			out = append(out, string(m.metric))
		}
	}
	return out
}

// MaxDegradationLatency bounds degradation.latency.
const MaxDegradationLatency = time.Minute

// control checks control: and degradation:. The comparison needs an SLO
// with per-second data (availability or latency) to compare, and each
// limit an SLO of its kind.
func (v *validator) control() {
	e := v.e
	if e.Control && e.Ramp != nil && v.ok("control") {
		v.errorf("control", "a ramp's steps are not compared with a control run; leave control out of a file with a ramp")
	}
	if !v.d.has("degradation") {
		if e.Control && !e.Comparable() && v.ok("slos") {
			v.errorf("control", "compares the per-second series of availability and latency SLOs between the control run and the experiment, and the file has none; add one under slos")
		}
		return
	}
	const p = "degradation"
	dg := e.Degradation
	if !e.Control && v.ok("control") {
		v.keyErrorf(p, "limits how much worse than a fault-free control run the experiment may be, and the file has no control run; add control: true")
	}
	if dg == nil {
		return
	}
	if dg.Latency == nil && dg.Errors == nil && v.ok(p+".latency", p+".errors") && !v.d.misspelt[p] {
		v.errorf(p, "needs latency, errors or both, e.g. {latency: 20ms, errors: 0.5%%}")
	}
	if dg.Latency != nil {
		v.durationRange(p+".latency", *dg.Latency, 0, MaxDegradationLatency)
		if !hasSLI(e, SLILatency) && v.ok("slos") {
			v.errorf(p+".latency", "bounds the shift of latency SLOs, and the file has none; add a latency SLO under slos or leave latency out")
		}
	}
	if dg.Errors != nil {
		v.percentRange(p+".errors", *dg.Errors, 0, 1)
		if !hasSLI(e, SLIAvailability) && v.ok("slos") {
			v.errorf(p+".errors", "bounds the rise of availability SLOs' error ratio, and the file has none; add an availability SLO under slos or leave errors out")
		}
	}
}

// Comparable reports whether a control run of e has something to compare:
// an availability or latency SLO (a ratio SLO has no per-second series).
func (e *Experiment) Comparable() bool {
	return hasSLI(e, SLIAvailability) || hasSLI(e, SLILatency)
}

// hasSLI reports whether e has an SLO of sli.
func hasSLI(e *Experiment, sli SLI) bool {
	for _, s := range e.SLOs {
		if s.SLI == sli {
			return true
		}
	}
	return false
}

func (v *validator) abort() {
	a := &v.e.Abort
	w := &v.e.Workload
	const p = "abort"
	if v.d.has(p+".burnRate") && a.BurnRate < 0 {
		v.errorf(p+".burnRate", "%g is negative; allowed: 0 (off) or above", a.BurnRate)
	}
	if a.BurnRate > 0 && len(v.e.SLOs) == 0 {
		v.errorf(p+".burnRate", "needs at least one SLO to measure a burn rate")
	}
	if !(a.BurnRate > 0) && v.d.has(p+".window") {
		v.keyErrorf(p+".window", "applies only with burnRate")
	}
	v.positiveDuration(p+".window", a.Window, time.Hour)
	if v.d.has(p+".maxDuration") && v.ok("workload.warmup", "workload.duration") {
		if run := w.Warmup + w.Duration; a.MaxDuration < run || a.MaxDuration > MaxRunDuration {
			v.errorf(p+".maxDuration", "%s is out of range; allowed: from the run's length (warmup %s + duration %s = %s) up to %s", a.MaxDuration, w.Warmup, w.Duration, run, MaxRunDuration)
		}
	}
}

func (v *validator) checks() {
	seen := map[Check]int{}
	for i, c := range v.e.Checks {
		p := fmt.Sprintf("checks[%d]", i)
		if c == "" {
			continue
		}
		if j, dup := seen[c]; dup {
			v.errorf(p, "%s is already listed at checks[%d]", c, j)
		}
		seen[c] = i
		lock := v.e.Workload.Kind == WorkloadLock
		switch {
		case c == CheckMutualExclusion && !lock:
			v.errorf(p, "%s reads the lock workload's history; it needs workload.kind: lock", c)
			continue
		case c != CheckMutualExclusion && lock:
			v.errorf(p, "%s does not judge the lock workload's history; with workload.kind: lock use mutual-exclusion", c)
			continue
		case v.e.Target.Demo == nil && v.e.Workload.Redis == nil:
			v.errorf(p, "%s reads a key-value workload's operation history; an HTTP workload has none (workload.redis has one)", c)
			continue
		}
		switch kind := v.e.Workload.Kind; {
		case !v.ok("workload.kind"):
		case c == CheckConverges && !kind.CRDT():
			v.errorf(p, "converges judges CRDT values; it needs workload.kind counter, lww-counter or set, not %s", cmp.Or(kind, WorkloadKV))
		case (c == CheckLinearizable || c == CheckNoLostWrites) && kind.CRDT():
			v.errorf(p, "%s judges a key-value workload; workload.kind %s updates CRDT values: use converges", c, kind)
		}
	}
}

// Nemesis defaults and bounds.
const (
	// MaxNemesisFaults bounds the faults of one drawn schedule.
	MaxNemesisFaults = 100
	// DefaultNemesisSpacing is the longest default pause before a fault.
	DefaultNemesisSpacing = 2 * time.Second
)

// Default nemesis ranges (the duration range depends on the workload).
var (
	DefaultNemesisFaults    = Range[int]{Min: 1, Max: 3}
	DefaultNemesisDelay     = Range[time.Duration]{Min: 50 * time.Millisecond, Max: 500 * time.Millisecond}
	DefaultNemesisBandwidth = Range[ByteRate]{Min: 16 << 10, Max: 256 << 10}
	DefaultNemesisSkew      = Range[time.Duration]{Min: time.Second, Max: 10 * time.Second}
	DefaultNemesisCorrupt   = Range[Percent]{Min: 0.01, Max: 0.1}
	// DefaultNemesisHTTPActions, DefaultNemesisHTTPStatus,
	// DefaultNemesisHTTPDelay and DefaultNemesisHTTPPercent are how http
	// faults are drawn when nemesis.http leaves them out.
	DefaultNemesisHTTPActions = []HTTPAction{HTTPActionAbort, HTTPActionDelay, HTTPActionDrop}
	DefaultNemesisHTTPStatus  = []int{500, 503}
	DefaultNemesisHTTPDelay   = Range[time.Duration]{Min: 100 * time.Millisecond, Max: time.Second}
	DefaultNemesisHTTPPercent = Range[Percent]{Min: 0.1, Max: 0.5}
)

// setNemesisDefaults fills what the nemesis section leaves out; a range
// given as {min} or {max} alone takes the other bound from the default.
func setNemesisDefaults(e *Experiment, d *decoder) {
	n := e.Nemesis
	if n == nil {
		return
	}
	const p = "nemesis."
	if !d.has(p+"targets") && !d.bad[p+"targets"] {
		n.Targets = nemesisDefaultTargets(e)
	}
	setRange(d, p+"faults", &n.Faults, DefaultNemesisFaults)
	dur := e.Workload.Duration
	shortest := min(time.Second, max(dur, 0))
	setRange(d, p+"duration", &n.Duration, Range[time.Duration]{Min: shortest, Max: max(shortest, dur/3)})
	setRange(d, p+"spacing", &n.Spacing, Range[time.Duration]{Min: 0, Max: min(DefaultNemesisSpacing, max(dur, 0))})
	setRange(d, p+"latency.delay", &n.Latency.Delay, DefaultNemesisDelay)
	setRange(d, p+"bandwidth.rate", &n.Bandwidth.Rate, DefaultNemesisBandwidth)
	setRange(d, p+"crash.restartAfter", &n.Crash.RestartAfter, n.Duration)
	setRange(d, p+"clockSkew.offset", &n.ClockSkew.Offset, DefaultNemesisSkew)
	setRange(d, p+"corrupt.ratio", &n.Corrupt.Ratio, DefaultNemesisCorrupt)
	set(d, p+"http.actions", &n.HTTP.Actions, slices.Clone(DefaultNemesisHTTPActions))
	set(d, p+"http.status", &n.HTTP.Status, slices.Clone(DefaultNemesisHTTPStatus))
	setRange(d, p+"http.delay", &n.HTTP.Delay, DefaultNemesisHTTPDelay)
	setRange(d, p+"http.percent", &n.HTTP.Percent, DefaultNemesisHTTPPercent)
	set(d, p+"partition.behavior", &n.Partition.Behavior, DefaultPartitionBehavior)
	if !d.has(p+"partition.shapes") && !d.bad[p+"partition.shapes"] {
		n.Partition.Shapes = nemesisDefaultShapes(e)
	}
}

// setRange fills the bounds of a range the file left out from def; a bound
// given alone keeps the range ordered (faults: {min: 5} is 5 to 5 when the
// default's max is 3).
func setRange[T cmp.Ordered](d *decoder, path string, r *Range[T], def Range[T]) {
	if n, ok := d.values[path]; ok && n.Kind != yaml.MappingNode {
		return // one plain value: both bounds
	}
	hasMin := d.has(path+".min") || d.bad[path+".min"]
	hasMax := d.has(path+".max") || d.bad[path+".max"]
	switch {
	case !hasMin && !hasMax:
		*r = def
	case !hasMin:
		r.Min = min(def.Min, r.Max)
	case !hasMax:
		r.Max = max(def.Max, r.Min)
	}
}

// nemesisDefaultTargets is every member a kind of the nemesis may act on
// (not the client side of the links: name it to have its links cut).
func nemesisDefaultTargets(e *Experiment) []string {
	var names []string
	for _, k := range e.Nemesis.Kinds {
		all, _ := selectable(&e.Target, k)
		if k == FaultPartition && e.Target.Demo != nil {
			all = e.Target.Demo.NodeNames()
		}
		for _, name := range all {
			if name != ClientName && !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	return names
}

// NemesisCandidates returns the names a drawn fault of kind k may select:
// the nemesis's targets the kind can act on (store nodes for a partition),
// in the order the target lists them.
func (e *Experiment) NemesisCandidates(k FaultKind) []string {
	if e.Nemesis == nil {
		return nil
	}
	all, _ := selectable(&e.Target, k)
	if k == FaultPartition {
		all = nil
		if c := e.Target.Demo; c != nil {
			all = c.NodeNames()
		}
	}
	var out []string
	for _, name := range all {
		if slices.Contains(e.Nemesis.Targets, name) {
			out = append(out, name)
		}
	}
	return out
}

// nemesisSpansAll reports whether every store node is a nemesis target, as
// the partition shapes that span them all (halves, bridge, ring) need.
func nemesisSpansAll(e *Experiment) bool {
	c := e.Target.Demo
	return c != nil && len(c.NodeNames()) > 0 && len(e.NemesisCandidates(FaultPartition)) == len(c.NodeNames())
}

// nemesisShapeProblem says why shape cannot be drawn against the file's
// target and targets ("" when it can).
func nemesisShapeProblem(e *Experiment, shape PartitionMode, behavior PartitionBehavior) string {
	c := e.Target.Demo
	if c == nil {
		return "the nemesis partitions the demo cluster's store nodes"
	}
	nodes, cands := len(c.NodeNames()), len(e.NemesisCandidates(FaultPartition))
	switch {
	case nodes < shape.minNodes():
		return fmt.Sprintf("%s needs at least %d store nodes, the cluster has %d", shape, shape.minNodes(), nodes)
	case behavior == BehaviorIsolate && (shape == ModeRing || shape == ModeBridge || shape == ModeHalves):
		return fmt.Sprintf("behavior isolate takes the first group off the network; %s has no group of the nemesis's targets to isolate", shape)
	case (shape == ModeHalves || shape == ModeBridge || shape == ModeRing) && !nemesisSpansAll(e):
		return fmt.Sprintf("%s spans every store node, and nemesis.targets leaves some out (its blast radius)", shape)
	case shape == ModeMajorityMinority && cands < 1:
		return "majority-minority takes its minority from nemesis.targets, which names no store node"
	case shape == ModeIsolate && cands < 1:
		return "isolate cuts one of nemesis.targets off, and it names no store node"
	}
	return ""
}

// nemesisDefaultShapes is every partition shape the target and targets allow.
func nemesisDefaultShapes(e *Experiment) []PartitionMode {
	var shapes []PartitionMode
	for _, s := range []PartitionMode{ModeIsolate, ModeMajorityMinority, ModeHalves, ModeBridge, ModeRing} {
		if nemesisShapeProblem(e, s, e.Nemesis.Partition.Behavior) == "" {
			shapes = append(shapes, s)
		}
	}
	return shapes
}

// nemesisKindSections are the kinds whose intensity has its own section.
var nemesisKindSections = []FaultKind{FaultPartition, FaultLatency, FaultBandwidth, FaultCrash, FaultClockSkew, FaultCorrupt, FaultHTTP}

func (v *validator) nemesis() {
	n := v.e.Nemesis
	if n == nil {
		return
	}
	const p = "nemesis"
	e := v.e
	if v.required(p+".kinds") && len(n.Kinds) == 0 {
		v.errorf(p+".kinds", "is empty; give the fault kinds to draw from: %s", strings.Join(faultKinds.KindsInOrder(), ", "))
	}
	seen := map[FaultKind]int{}
	for i, k := range n.Kinds {
		kp := fmt.Sprintf("%s.kinds[%d]", p, i)
		if k == "" {
			continue
		}
		if j, dup := seen[k]; dup {
			v.errorf(kp, "%s is already listed at %s.kinds[%d]", k, p, j)
			continue
		}
		seen[k] = i
		switch {
		case k == FaultHTTP && e.Target.External != nil && e.Target.External.Toxiproxy != nil:
			v.errorf(kp, "http faults need chaosctl's own fault plane: the HTTP toxic does not exist in a toxiproxy server of yours (target.external.toxiproxy); leave toxiproxy out and chaosctl runs its own")
		case k == FaultPartition && e.Target.Demo == nil:
			v.errorf(kp, "the nemesis partitions the demo cluster's store nodes; against an external target draw blackhole or reset on proxies")
		case faultCaps(k).StoreNodes && e.Target.Demo == nil:
			v.errorf(kp, "%s needs the demo cluster", k)
		case v.ok(p+".targets") && v.namesKnown() && len(e.NemesisCandidates(k)) == 0:
			all, _ := selectable(&e.Target, k)
			if k == FaultPartition {
				all = e.Target.Demo.NodeNames()
			}
			v.errorf(kp, "no member of nemesis.targets can take a %s; it acts on %s", k, strings.Join(all, ", "))
		}
	}
	v.nemesisTargets(p+".targets", n)
	nemesisRange(v, p+".faults", n.Faults, 1, MaxNemesisFaults, func(x int) string { return strconv.Itoa(x) })
	end := e.Workload.Duration
	if !v.workloadDurationKnown() {
		end = MaxRunDuration
	}
	nemesisRange(v, p+".duration", n.Duration, time.Millisecond, end, time.Duration.String)
	nemesisRange(v, p+".spacing", n.Spacing, 0, end, time.Duration.String)
	v.nemesisSections(p, n, end)
	if v.workloadDurationKnown() && v.ok(p+".faults", p+".duration", p+".spacing", p+".crash.restartAfter", p+".kinds") && len(n.Kinds) > 0 {
		shortest := n.Duration.Min
		for _, k := range n.Kinds {
			shortest = min(shortest, nemesisMinLength(n, k))
		}
		count := n.Faults.Min
		if n.Overlap {
			count = 1 // overlapping faults may all start at once
		}
		// An instant fault takes a millisecond of the schedule.
		need := time.Duration(count) * (n.Spacing.Min + max(shortest, time.Millisecond))
		if need > end {
			v.errorf(p+".faults", "%d faults of at least %s, each after at least %s of spacing, do not fit in the workload's %s; lower faults.min, duration.min or spacing.min, or lengthen workload.duration", count, shortest, n.Spacing.Min, end)
		}
	}
}

// nemesisMinLength is the shortest fault of kind k the nemesis draws.
func nemesisMinLength(n *Nemesis, k FaultKind) time.Duration {
	switch {
	case faultCaps(k).Instant:
		return 0
	case k == FaultCrash:
		return n.Crash.RestartAfter.Min
	}
	return n.Duration.Min
}

func (v *validator) nemesisTargets(p string, n *Nemesis) {
	if !v.d.has(p) {
		return
	}
	if len(n.Targets) == 0 {
		v.errorf(p, "is empty; leave it out to let the nemesis pick any member")
		return
	}
	var allowed []string
	for _, k := range faultKinds.KindsInOrder() {
		names, _ := selectable(&v.e.Target, FaultKind(k))
		for _, name := range names {
			if !contains(allowed, name) {
				allowed = append(allowed, name)
			}
		}
	}
	v.names(p, n.Targets, allowed, "member")
}

// nemesisRange checks that a range's bounds lie in lo..hi and are ordered.
func nemesisRange[T cmp.Ordered](v *validator, path string, r Range[T], lo, hi T, show func(T) string) {
	switch {
	case r.Min < lo || r.Min > hi:
		v.errorf(path, "min %s is out of range; allowed: %s to %s", show(r.Min), show(lo), show(hi))
	case r.Max < lo || r.Max > hi:
		v.errorf(path, "max %s is out of range; allowed: %s to %s", show(r.Max), show(lo), show(hi))
	case r.Min > r.Max:
		v.errorf(path, "min %s is above max %s", show(r.Min), show(r.Max))
	}
}

func (v *validator) nemesisSections(p string, n *Nemesis, end time.Duration) {
	for _, k := range nemesisKindSections {
		if sp := p + "." + string(k); v.d.has(sp) && !slices.Contains(n.Kinds, k) && v.ok(p+".kinds") {
			v.keyErrorf(sp, "sets %s faults, and nemesis.kinds does not list %s; add it there or remove this section", k, k)
		}
	}
	shapes := map[PartitionMode]int{}
	for i, s := range n.Partition.Shapes {
		sp := fmt.Sprintf("%s.partition.shapes[%d]", p, i)
		if j, dup := shapes[s]; dup {
			v.errorf(sp, "%s is already listed at %s.partition.shapes[%d]", s, p, j)
			continue
		}
		shapes[s] = i
		if why := nemesisShapeProblem(v.e, s, n.Partition.Behavior); why != "" && v.ok(p+".targets", "target.demo.nodes") {
			v.errorf(sp, "%s", why)
		}
	}
	if slices.Contains(n.Kinds, FaultPartition) && len(n.Partition.Shapes) == 0 && v.ok(p+".partition.shapes", p+".targets", p+".kinds", "target.demo.nodes") && v.e.Target.Demo != nil {
		v.errorf(p+".partition", "no partition shape fits the cluster and nemesis.targets; give partition.shapes, or name more store nodes in targets")
	}
	nemesisRange(v, p+".latency.delay", n.Latency.Delay, injectors.MinDelay, time.Minute, time.Duration.String)
	nemesisRange(v, p+".bandwidth.rate", n.Bandwidth.Rate, injectors.MinBytesPerSecond, ByteRate(1<<40), ByteRate.String)
	if v.d.has(p + ".crash.restartAfter") { // else it is the duration range, checked already
		nemesisRange(v, p+".crash.restartAfter", n.Crash.RestartAfter, time.Millisecond, end, time.Duration.String)
	}
	nemesisRange(v, p+".clockSkew.offset", n.ClockSkew.Offset, -MaxRunDuration, MaxRunDuration, time.Duration.String)
	if o := n.ClockSkew.Offset; v.ok(p+".clockSkew.offset") && !(o.Min > 0 && o.Max > 0) && !(o.Min < 0 && o.Max < 0) {
		v.errorf(p+".clockSkew.offset", "%s to %s includes or touches 0; allowed: both bounds above 0, or both below", o.Min, o.Max)
	}
	nemesisRange(v, p+".corrupt.ratio", n.Corrupt.Ratio, 0.0001, 1, Percent.String)
	v.nemesisHTTP(p+".http", &n.HTTP)
}

// MinNemesisHTTPPercent is the smallest share of requests the nemesis's
// http faults may act on (drawn shares are whole tenths of a percent).
const MinNemesisHTTPPercent Percent = 0.001

// nemesisHTTP checks how http faults are drawn: the actions and statuses
// each once, the ranges in bounds, a setting only for an action drawn, the
// match as a fault's.
func (v *validator) nemesisHTTP(p string, h *NemesisHTTP) {
	if v.d.has(p+".actions") && len(h.Actions) == 0 {
		v.errorf(p+".actions", "is empty; give the actions to draw from: %s, or leave it out for all of them", strings.Join(HTTPAction("").allowed(), ", "))
	}
	actions := map[HTTPAction]int{}
	for i, a := range h.Actions {
		ap := fmt.Sprintf("%s.actions[%d]", p, i)
		if j, dup := actions[a]; dup && a != "" {
			v.errorf(ap, "%s is already listed at %s.actions[%d]", a, p, j)
			continue
		}
		actions[a] = i
	}
	drawn := func(a HTTPAction, field string) bool {
		if !v.d.has(p+"."+field) || !v.ok(p+".actions") || slices.Contains(h.Actions, a) {
			return true
		}
		v.keyErrorf(p+"."+field, "sets how %s faults are drawn, and nemesis.http.actions does not list %s; add it there or remove %s", a, a, field)
		return false
	}
	if drawn(HTTPActionAbort, "status") {
		if v.d.has(p+".status") && len(h.Status) == 0 {
			v.errorf(p+".status", "is empty; give the statuses an abort answers with (200 to 599), or leave it out for %s", strings.Join(intsText(DefaultNemesisHTTPStatus), ", "))
		}
		statuses := map[int]int{}
		for i, st := range h.Status {
			sp := fmt.Sprintf("%s.status[%d]", p, i)
			if j, dup := statuses[st]; dup {
				v.errorf(sp, "%d is already listed at %s.status[%d]", st, p, j)
				continue
			}
			statuses[st] = i
			v.intRange(sp, st, 200, 599)
		}
	}
	if drawn(HTTPActionDelay, "delay") {
		nemesisRange(v, p+".delay", h.Delay, injectors.MinDelay, time.Minute, time.Duration.String)
	}
	// The first bound out of range (as nemesisRange sees them), when it is
	// a plain number above 1 meant as a percent, gets a hint.
	r, which := h.Percent, "min"
	bound := r.Min
	if bound >= MinNemesisHTTPPercent && bound <= 1 {
		which, bound = "max", r.Max
	}
	if bound > 1 && bound <= 100 {
		v.errorf(p+".percent", "%s %s is out of range; allowed: %s to 100%% (write %g%% for %g percent)", which, bound, MinNemesisHTTPPercent, float64(bound), float64(bound))
	} else {
		nemesisRange(v, p+".percent", r, MinNemesisHTTPPercent, 1, Percent.String)
	}
	v.httpMatch(p+".match", &h.Match)
}

func intsText(xs []int) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = strconv.Itoa(x)
	}
	return out
}

// CheckRunnable reports a file that `chaosctl run` cannot run although it
// is valid: one with a nemesis and no faults, which is for `chaosctl
// explore`. The error is a *ValidationError at the nemesis section.
func (e *Experiment) CheckRunnable() error {
	if e.Nemesis == nil || len(e.Faults) > 0 {
		return nil
	}
	p := e.Nemesis.pos
	if p.Line < 1 {
		p.Line, p.Col = 1, 1
	}
	p.Path = "nemesis"
	p.Msg = "nemesis: the file has a nemesis and no faults, so it describes fault schedules for chaosctl explore to draw; " +
		"run it with chaosctl explore " + p.File + ", or give it faults for chaosctl run"
	return &ValidationError{Problems: []Problem{p}}
}

func setStepDefaults(d *decoder, p string, s *ActionStep) {
	if s.Exec != nil {
		set(d, p+".exec.timeout", &s.Exec.Timeout, DefaultStepTimeout)
	}
	if h := s.HTTP; h != nil {
		set(d, p+".http.method", &h.Method, DefaultStepMethod)
		set(d, p+".http.timeout", &h.Timeout, DefaultStepTimeout)
	}
}

// actions checks the user's actions: names, times within the workload and
// their steps.
func (v *validator) actions() {
	e := v.e
	if len(e.Actions) > MaxActions {
		v.errorf("actions", "%d actions; at most %d are allowed", len(e.Actions), MaxActions)
		return
	}
	names := make([]string, len(e.Actions))
	for i := range e.Actions {
		a := &e.Actions[i]
		p := fmt.Sprintf("actions[%d]", i)
		v.name(p+".name", a.Name)
		names[i] = a.Name
		if v.required(p + ".at") {
			switch end := e.Workload.Duration; {
			case a.At < 0:
				v.errorf(p+".at", "%s is negative; at counts from the end of warmup", a.At)
			case a.At > MaxRunDuration:
				v.errorf(p+".at", "%s is too late; the most allowed is %s", a.At, MaxRunDuration)
			case v.workloadDurationKnown() && a.At >= end:
				v.errorf(p+".at", "the action runs at %s, not before the workload ends at %s (at counts from the end of warmup)", a.At, end)
			}
		}
		v.actionStep(p, &a.ActionStep)
		if a.Rollback != nil {
			v.actionStep(p+".rollback", a.Rollback)
		}
	}
	v.unique("action name", names, func(i int) string { return fmt.Sprintf("actions[%d].name", i) })
	fnames := map[string]bool{}
	for _, f := range e.Faults {
		fnames[f.Name] = true
	}
	for i, n := range names {
		if fnames[n] {
			v.errorf(fmt.Sprintf("actions[%d].name", i), "%q is already a fault's name; actions and faults share the timeline, give it another", n)
		}
	}
}

// actionStep checks an action's or rollback's step: exactly one of exec and http.
func (v *validator) actionStep(p string, s *ActionStep) {
	switch v.exactlyOne(p, "exec", "http") {
	case "exec":
		v.execStep(p+".exec", s.Exec, MaxStepTimeout)
	case "http":
		h := s.HTTP
		if v.required(p + ".http.url") {
			v.httpURL(p+".http.url", h.URL)
		}
		if v.d.has(p+".http.status") && (h.Status < 100 || h.Status > 599) {
			v.errorf(p+".http.status", "%d is out of range; allowed: 100 to 599 (leave it out for any 2xx)", h.Status)
		}
		v.durationRange(p+".http.timeout", h.Timeout, MinStepTimeout, MaxStepTimeout)
		for k := range h.Headers {
			if strings.TrimSpace(k) == "" || strings.ContainsAny(k, " :\r\n") {
				v.errorf(p+".http.headers", "bad header name %q: a token without spaces or colons, e.g. Authorization", k)
			}
		}
	}
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// execStep checks a command: an argv whose first word is not empty, a
// timeout within bounds, an exit code a process can give and a stdout
// expression that compiles.
func (v *validator) execStep(p string, x *ExecStep, maxTimeout time.Duration) {
	if v.required(p + ".command") {
		switch {
		case len(x.Command) == 0:
			v.errorf(p+".command", "is empty; give the argv, e.g. [kubectl, get, pods] (no shell: write [sh, -c, \"...\"] for one)")
		case strings.TrimSpace(x.Command[0]) == "" && !v.d.bad[p+".command[0]"]:
			v.errorf(p+".command", "the program (first word) is empty; give its name or path")
		}
	}
	v.durationRange(p+".timeout", x.Timeout, MinStepTimeout, maxTimeout)
	v.intRange(p+".expect.exitCode", x.Expect.ExitCode, 0, 255)
	if v.d.has(p + ".expect.stdout") {
		if _, err := regexp.Compile(x.Expect.Stdout); err != nil {
			v.errorf(p+".expect.stdout", "bad regular expression %q: %v (RE2 syntax)", x.Expect.Stdout, err)
		}
	}
	for k := range x.Env {
		if !envNameRE.MatchString(k) {
			v.errorf(p+".env", "bad variable name %q: letters, digits and _, not starting with a digit", k)
		}
	}
}
