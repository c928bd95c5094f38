package experiments

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// The yaml tags below are read by this package's own strict decoder
// (decode.go), not by yaml.Unmarshal: they name each field in the file.
// ",inline" flattens an embedded struct's fields into its parent.

// APIVersion is the only experiment format version this package reads.
const APIVersion = "chaosctl/v1"

// KindExperiment is the kind of an experiment file.
const KindExperiment = "Experiment"

// ClientName names the workload's side of the client→gateway links in
// selectors and partition groups: the fault plane's name for it.
const ClientName = faultplane.ClientSide

// Experiment is one decoded and validated experiment file. Every default
// is filled in by Decode, so a zero value in a decoded Experiment means
// zero (or "off"), never "unset".
type Experiment struct {
	APIVersion string   `yaml:"apiVersion"`
	Kind       string   `yaml:"kind"`
	Metadata   Metadata `yaml:"metadata"`
	// Seed is the file's seed, nil when it has none; --seed overrides it.
	Seed *int64 `yaml:"seed"`
	// Repeat is how many times `chaosctl run` runs the experiment, with
	// seeds S, S+1, …, S+Repeat-1 (1 to MaxRepeat; default 1, one run);
	// --repeat overrides it.
	Repeat int `yaml:"repeat"`
	// Ramp, when set, makes `chaosctl run` search one parameter's range
	// for the breaking point (ramp.go); nil when the file has none.
	Ramp *Ramp `yaml:"ramp"`
	// Control runs a fault-free control run (the same seed, target and
	// workload, on the same runtime) before the experiment and compares
	// each availability and latency SLO's per-second series between the
	// two; --control sets it too.
	Control bool `yaml:"control"`
	// Degradation, with Control, is how much worse than the control run the
	// experiment may be; nil: the comparison is reported and decides
	// nothing.
	Degradation *Degradation `yaml:"degradation"`
	Target      Target       `yaml:"target"`
	Body        `yaml:",inline"`
	// Nemesis is the fault vocabulary `chaosctl explore` draws schedules
	// from; nil when the file has none. A file with a nemesis and no faults
	// is for explore only (CheckRunnable).
	Nemesis *Nemesis `yaml:"nemesis"`

	// sensitive are the values no output may show: what ${secret:NAME}
	// references gave, the members' env: values and sensitive HTTP header
	// values (Redactor). Never serialised.
	sensitive []string

	// Variables are the values the decoder put into the file, in the order
	// of their first use: ${NAME} references, ${secret:NAME} references
	// (their Value Redacted) and --set overrides.
	Variables []Variable
	// resolved is the file written anew with its variables resolved
	// (ResolvedSource); nil when it uses none.
	resolved []byte
}

// Body is what an experiment does to its target: the workload, the
// steady state, the faults, the SLOs, when to abort and the checks. A
// GameDay's inline experiment is a Body and a seed.
type Body struct {
	Workload    Workload    `yaml:"workload"`
	SteadyState SteadyState `yaml:"steadyState"`
	Faults      []Fault     `yaml:"faults"`
	// Actions are the user's own steps (a command or an HTTP call) at
	// times of the schedule, each with an optional rollback.
	Actions []Action `yaml:"actions"`
	SLOs    []SLO    `yaml:"slos"`
	Abort   Abort    `yaml:"abort"`
	Checks  []Check  `yaml:"checks"`
	// Receipts says what a fault whose receipt contradicts it does to the
	// verdict (default require).
	Receipts ReceiptPolicy `yaml:"receipts"`
}

// Degradation is how much worse than its control run an experiment may
// get: a compared SLO fails when its shift is significant (p < 0.05) and
// its 95 % confidence interval lies wholly above the limit. A kind left
// out (nil) is compared and reported, and decides nothing.
type Degradation struct {
	// Latency bounds the shift (Hodges-Lehmann) of every latency SLO's
	// per-second latency at its objective's quantile.
	Latency *time.Duration `yaml:"latency"`
	// Errors bounds the rise of every availability SLO's error ratio
	// (experiment minus control), 0.5% or 0.005.
	Errors *Percent `yaml:"errors"`
}

// ReceiptPolicy is what chaosctl does with the receipts it takes after each
// fault is applied and reverted (the measurements that show the fault did
// what the file says, then was undone).
type ReceiptPolicy string

// Receipt policies.
const (
	// ReceiptsRequire: a fault whose receipt shows it did not land, or was
	// not undone, makes the run inconclusive (exit 4). The default.
	ReceiptsRequire ReceiptPolicy = "require"
	// ReceiptsWarn: receipts are taken and reported but do not decide the
	// verdict.
	ReceiptsWarn ReceiptPolicy = "warn"
	// ReceiptsOff: no receipts are taken (no probes beside the workload).
	ReceiptsOff ReceiptPolicy = "off"
)

func (ReceiptPolicy) allowed() []string { return []string{"require", "warn", "off"} }

// Metadata names and describes an experiment.
type Metadata struct {
	// Name matches [a-z0-9-]+; it names the output folder and the reports.
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
}

// Runtime is how the target's members are started and stopped.
type Runtime string

// Runtimes.
const (
	RuntimeProcess  Runtime = "process"  // local processes (default for the demo cluster)
	RuntimeDocker   Runtime = "docker"   // containers on a run-owned network
	RuntimeExternal Runtime = "external" // the user's own services (target.external)
	// RuntimeKubernetes runs the demo cluster as pods in a namespace of the
	// run's own (target.kubernetes says which cluster).
	RuntimeKubernetes Runtime = "kubernetes"
)

func (Runtime) allowed() []string { return []string{"process", "docker", "kubernetes", "external"} }

// Target is what faults land on: the bundled demo cluster or the user's
// own services. After Decode exactly one of Demo and External is set; a
// file without a target gets the default demo cluster.
type Target struct {
	// Runtime defaults to process for the demo cluster and is external for
	// target.external.
	Runtime  Runtime         `yaml:"runtime"`
	Demo     *DemoCluster    `yaml:"demo"`
	External *ExternalTarget `yaml:"external"`
	// Kubernetes says where the kubernetes runtime deploys; runtime
	// defaults to kubernetes when it is given.
	Kubernetes *KubernetesTarget `yaml:"kubernetes"`
	// LeaseTTL is the dead-man switch of the docker and kubernetes
	// runtimes: how long faults in the fault plane's container or pod and in
	// the pods' supervisors outlive chaosctl's last renewal of their lease
	// (default 5s; 100ms to 10m). chaosctl renews it every third of it.
	LeaseTTL time.Duration `yaml:"leaseTTL"`
}

// KubernetesTarget is the cluster the kubernetes runtime deploys the demo
// cluster to. Every field is optional.
type KubernetesTarget struct {
	// Kubeconfig is the kubeconfig file ("" = $KUBECONFIG, ~/.kube/config,
	// then the in-cluster service account) and Context its context ("" =
	// the current one).
	Kubeconfig string `yaml:"kubeconfig"`
	Context    string `yaml:"context"`
	// Namespace is created for the run (default chaosctl-<run id>); an
	// existing one is used only when Allow names it.
	Namespace string `yaml:"namespace"`
	// Allow names existing namespaces chaosctl may act in (its blast
	// radius). kube-system, kube-public and kube-node-lease are refused.
	Allow []string `yaml:"allow"`
	// Image is chaosctl's image as the nodes know it (default
	// chaosctl:<version>, as `chaosctl image export` writes it); pods never
	// pull it.
	Image string `yaml:"image"`
	// StorageClass gives each store node a PersistentVolumeClaim, so
	// persistence: disk survives a crash that deletes the pod.
	StorageClass string `yaml:"storageClass"`
	// Crash is what a crash fault does: pod (delete the member's pod with
	// zero grace; it is created again at restartAfter) or process (SIGKILL
	// the member inside its pod, whose emptyDir keeps the data; it starts
	// again at restartAfter). Default: process for persistence: disk
	// without a storageClass, pod otherwise.
	Crash string `yaml:"crash"`
}

// DemoCluster configures the bundled demo key-value store.
type DemoCluster struct {
	Nodes    int `yaml:"nodes"`    // store nodes n1..nN
	Gateways int `yaml:"gateways"` // gateways g1..gG
	VNodes   int `yaml:"vnodes"`   // virtual nodes per store node on the hash ring
	// Sharding places keys on the store nodes: hash (the consistent-hash
	// ring, the default) or range (ordered key ranges cut at Splits).
	Sharding Sharding `yaml:"sharding"`
	// Splits are range sharding's split points, strictly increasing as
	// byte strings; range i is owned by node i mod nodes. Default: the
	// nodes-1 keys that cut the workload's key names, in byte order, into
	// equal runs (see demo.DefaultSplits).
	Splits      []string    `yaml:"splits"`
	Replication Replication `yaml:"replication"`
	Consistency Consistency `yaml:"consistency"`
	Persistence Persistence `yaml:"persistence"`
	// Recovery is what a store node that restarts without its data (memory
	// persistence) does: resync (default) catches up from its peers before
	// it answers reads; none answers at once with an empty store (amnesia).
	Recovery   Recovery   `yaml:"recovery"`
	Raft       RaftTuning `yaml:"raft"` // consistency raft only
	Cache      Cache      `yaml:"cache"`
	Resilience Resilience `yaml:"resilience"`
	// Scan configures the gateways' range queries (GET /kv?from=&to=).
	Scan Scan `yaml:"scan"`
}

// Scan configures the gateways' range queries: scatter-gather over the
// store nodes that can own the range.
type Scan struct {
	// ShardTimeout bounds each node's listing; a node that misses it
	// makes the scan partial.
	ShardTimeout time.Duration `yaml:"shardTimeout"`
	// Partial is what a partial scan answers: fail (503 naming the missed
	// shards in X-Chaos-Partial) or allow (200 with what the others listed,
	// the same header naming the missed ones).
	Partial ScanPartial `yaml:"partial"`
}

// ScanPartial is a range query's partial-result policy.
type ScanPartial string

// Partial-result policies.
const (
	ScanPartialFail  ScanPartial = "fail"
	ScanPartialAllow ScanPartial = "allow"
)

func (ScanPartial) allowed() []string { return []string{"fail", "allow"} }

// NodeNames returns n1..nN.
func (c *DemoCluster) NodeNames() []string { return numberedNames("n", c.Nodes) }

// GatewayNames returns g1..gG.
func (c *DemoCluster) GatewayNames() []string { return numberedNames("g", c.Gateways) }

// numberedNames returns prefix1..prefixN. Counts outside 0..MaxNodes give
// none: defaults run before range checks, and a hostile count must not
// allocate (validation reports it).
func numberedNames(prefix string, count int) []string {
	if count < 0 || count > MaxNodes {
		return nil
	}
	names := make([]string, count)
	for i := range names {
		names[i] = fmt.Sprintf("%s%d", prefix, i+1)
	}
	return names
}

// Sharding is the demo store's placement scheme (see package placement).
type Sharding string

// Sharding schemes.
const (
	ShardingHash  Sharding = "hash"
	ShardingRange Sharding = "range"
)

func (Sharding) allowed() []string { return []string{"hash", "range"} }

// Replication is the demo store's replica count and quorums.
type Replication struct {
	N int `yaml:"n"` // replicas per key
	W int `yaml:"w"` // write quorum
	R int `yaml:"r"` // read quorum
}

// Consistency is the demo store's replication mode.
type Consistency string

// Consistency modes.
const (
	ConsistencyLinearizable Consistency = "linearizable"
	ConsistencyQuorum       Consistency = "quorum"
	ConsistencyEventual     Consistency = "eventual"
	ConsistencyRaft         Consistency = "raft"
)

func (Consistency) allowed() []string { return []string{"linearizable", "quorum", "eventual", "raft"} }

// RaftTuning tunes Raft mode (consistency: raft).
type RaftTuning struct {
	// Reads is the read path: index (ReadIndex: the leader confirms its
	// lead with a quorum per read; linearizable) or lease (the node that
	// holds a read lease answers alone, trusting its own clock: stale reads
	// when that clock is set back or the node pauses past the lease).
	Reads RaftReads `yaml:"reads"`
}

// RaftReads is Raft mode's read path.
type RaftReads string

// Raft read paths.
const (
	RaftReadsIndex RaftReads = "index"
	RaftReadsLease RaftReads = "lease"
)

func (RaftReads) allowed() []string { return []string{"index", "lease"} }

// Persistence is where demo store nodes keep their data.
type Persistence string

// Persistence modes.
const (
	PersistenceMemory Persistence = "memory"
	PersistenceDisk   Persistence = "disk"
)

func (Persistence) allowed() []string { return []string{"memory", "disk"} }

// Recovery is how a demo store node rejoins after a restart that lost its
// in-memory data.
type Recovery string

// Recovery modes.
const (
	RecoveryResync Recovery = "resync"
	RecoveryNone   Recovery = "none"
)

func (Recovery) allowed() []string { return []string{"resync", "none"} }

// Cache configures the gateways' cache in front of the store.
type Cache struct {
	Policy      CachePolicy   `yaml:"policy"`
	Size        int           `yaml:"size"`        // entries per gateway
	TTL         time.Duration `yaml:"ttl"`         // 0: entries do not expire
	TTLJitter   Percent       `yaml:"ttlJitter"`   // each TTL is shortened by up to this share
	NegativeTTL time.Duration `yaml:"negativeTTL"` // 0: misses are not cached
	WriteMode   WriteMode     `yaml:"writeMode"`
	// Singleflight (default true) makes concurrent misses of one key share
	// one load; false lets a stampede reach the store.
	Singleflight bool `yaml:"singleflight"`
	// Penetration is the defence against reads of keys that do not exist:
	// bloom (a Bloom filter of existing keys in the gateway), negative
	// (cache not-found answers for negativeTTL; the default) or none.
	Penetration Penetration `yaml:"penetration"`
	// BloomFalsePositive is the false positive rate the Bloom filter is
	// sized for (penetration bloom).
	BloomFalsePositive Percent `yaml:"bloomFalsePositive"`
}

// Penetration is the gateways' defence against cache penetration.
type Penetration string

// Penetration defences.
const (
	PenetrationBloom    Penetration = "bloom"
	PenetrationNegative Penetration = "negative"
	PenetrationNone     Penetration = "none"
)

func (Penetration) allowed() []string { return []string{"bloom", "negative", "none"} }

// CachePolicy is the gateway cache's eviction policy; none turns it off.
type CachePolicy string

// Cache policies.
const (
	CacheNone CachePolicy = "none"
	CacheLRU  CachePolicy = "lru"
	CacheARC  CachePolicy = "arc"
	Cache2Q   CachePolicy = "2q"
	CacheLFU  CachePolicy = "lfu"
)

func (CachePolicy) allowed() []string { return []string{"none", "lru", "arc", "2q", "lfu"} }

// WriteMode is how the gateway cache treats writes.
type WriteMode string

// Write modes.
const (
	WriteInvalidate WriteMode = "invalidate"
	WriteThrough    WriteMode = "through"
	WriteBehind     WriteMode = "behind"
)

func (WriteMode) allowed() []string { return []string{"invalidate", "through", "behind"} }

// Resilience configures the gateways' calls to the store.
type Resilience struct {
	Timeout     time.Duration `yaml:"timeout"` // per request, propagated as a deadline
	Retries     Retries       `yaml:"retries"`
	Breaker     Breaker       `yaml:"breaker"`
	Hedge       Hedge         `yaml:"hedge"`
	Bulkhead    int           `yaml:"bulkhead"`    // concurrent calls per peer
	MaxInflight int           `yaml:"maxInflight"` // beyond this a member sheds load (503)
	RateLimit   float64       `yaml:"rateLimit"`   // requests/s per gateway; 0 = off
	// RetryBudget (default 0, off) caps a gateway's retries at that share
	// of its recent requests plus 10 a second (Finagle's and gRPC's retry
	// budget): retries cannot multiply an overload.
	RetryBudget Percent   `yaml:"retryBudget"`
	Admission   Admission `yaml:"admission"`
}

// Admission is every member's admission control beyond maxInflight. The
// defaults are a static limit, no queueing-delay test and no priority.
type Admission struct {
	// Limit: static (maxInflight at once) or aimd (an in-flight limit that
	// grows while requests are answered within Target and shrinks by 10 %
	// when they are not, up to maxInflight).
	Limit  AdmissionLimit `yaml:"limit"`
	Target time.Duration  `yaml:"target"`
	// Queue: none, or codel (refuse a request that queued longer than
	// QueueTarget once the smallest queueing delay over QueueInterval
	// exceeded it).
	Queue         AdmissionQueue `yaml:"queue"`
	QueueTarget   time.Duration  `yaml:"queueTarget"`
	QueueInterval time.Duration  `yaml:"queueInterval"`
	// Priority sheds writes before reads (or X-Request-Class: low before
	// high).
	Priority bool `yaml:"priority"`
}

// AdmissionLimit is how a member's in-flight limit is set.
type AdmissionLimit string

// Admission limits.
const (
	LimitStatic AdmissionLimit = "static"
	LimitAIMD   AdmissionLimit = "aimd"
)

func (AdmissionLimit) allowed() []string { return []string{"static", "aimd"} }

// AdmissionQueue is a member's queueing-delay test.
type AdmissionQueue string

// Admission queue tests.
const (
	QueueNone  AdmissionQueue = "none"
	QueueCoDel AdmissionQueue = "codel"
)

func (AdmissionQueue) allowed() []string { return []string{"none", "codel"} }

// BreakerTrip is what opens a circuit breaker.
type BreakerTrip string

// Breaker trip modes.
const (
	TripConsecutive BreakerTrip = "consecutive"
	TripErrorRate   BreakerTrip = "errorRate"
)

func (BreakerTrip) allowed() []string { return []string{"consecutive", "errorRate"} }

// Retries is exponential backoff with full jitter.
type Retries struct {
	Max  int           `yaml:"max"` // retries after the first attempt
	Base time.Duration `yaml:"base"`
	Cap  time.Duration `yaml:"cap"`
}

// Breaker is a per-peer circuit breaker.
type Breaker struct {
	// Enabled (default true): false never opens the breaker, to show what
	// retries do to a struggling store without one.
	Enabled  bool          `yaml:"enabled"`
	Failures int           `yaml:"failures"` // consecutive failures that open it
	OpenFor  time.Duration `yaml:"openFor"`
	// MaxOpen (default 100%) is the largest share of store nodes whose
	// breakers a gateway holds open at once; one may always open.
	MaxOpen Percent `yaml:"maxOpen"`
	// Trip (default consecutive): consecutive opens after Failures failures
	// in a row; errorRate opens when at least ErrorRate of at least
	// MinRequests calls over Window failed, a timeout while the node
	// answered other calls not counting (a busy node is not a dead one).
	Trip        BreakerTrip   `yaml:"trip"`
	ErrorRate   Percent       `yaml:"errorRate"`
	MinRequests int           `yaml:"minRequests"`
	Window      time.Duration `yaml:"window"`
}

// Hedge sends a read that its first store node has not answered within After
// to the next node of its key too; the first answer wins.
type Hedge struct {
	// Enabled (default false): hedging is opt-in. It takes a fault's onset
	// off the read latency on an idle machine, but its extra reads land when
	// the cluster is already stressed, and on a machine near saturation that
	// was measured to cost more than it saved.
	Enabled bool          `yaml:"enabled"`
	After   time.Duration `yaml:"after"`  // default 50ms
	Budget  Percent       `yaml:"budget"` // most reads hedged over time; default 10%
}

// ExternalTarget is the user's own services: members chaosctl starts
// (command) or finds (container), and toxiproxy proxies in front of them.
type ExternalTarget struct {
	Members []Member `yaml:"members"`
	Proxies []Proxy  `yaml:"proxies"`
	// Toxiproxy, when set, is an existing toxiproxy server to create the
	// proxies in; otherwise chaosctl embeds one.
	Toxiproxy *Toxiproxy `yaml:"toxiproxy"`
}

// Member is one of the user's services. Exactly one of Command and
// Container is set.
type Member struct {
	Name      string            `yaml:"name"`
	Command   []string          `yaml:"command"` // argv; chaosctl starts it
	Env       map[string]string `yaml:"env"`     // added to chaosctl's environment
	Dir       string            `yaml:"dir"`     // working directory
	Ready     *Readiness        `yaml:"ready"`   // when it is ready to serve
	Container *ContainerRef     `yaml:"container"`
	Pod       *PodRef           `yaml:"pod"`
	Ports     []int             `yaml:"ports"` // TCP ports it listens on, for the plan and readiness
}

// Readiness is how chaosctl waits for a member: exactly one of an HTTP URL
// that must answer 2xx, or a TCP address that must accept connections.
type Readiness struct {
	HTTP string `yaml:"http"`
	TCP  string `yaml:"tcp"`
}

// ContainerRef finds a running container by name or by label ("key=value").
type ContainerRef struct {
	Name  string `yaml:"name"`
	Label string `yaml:"label"`
}

// PodRef finds a member's pods on Kubernetes: every pod the label selector
// matches in the namespace, which target.kubernetes.allow must name. A crash
// deletes them (the user's controller brings them back); an isolate
// partition applies a deny-all NetworkPolicy to them.
type PodRef struct {
	Namespace string `yaml:"namespace"`
	Selector  string `yaml:"selector"` // e.g. "app=cart,tier!=canary"
}

// Proxy is a toxiproxy proxy that link faults act on.
type Proxy struct {
	Name     string `yaml:"name"`
	Listen   string `yaml:"listen"`   // host:port clients connect to
	Upstream string `yaml:"upstream"` // host:port of the service
}

// Toxiproxy is an existing toxiproxy server.
type Toxiproxy struct {
	URL string `yaml:"url"`
}

// Workload is the open-model load generator: the synthetic traffic that is
// also the active probe.
type Workload struct {
	Rate     float64       `yaml:"rate"` // requests per second, constant arrival
	Duration time.Duration `yaml:"duration"`
	Warmup   time.Duration `yaml:"warmup"` // before Duration, excluded from SLOs
	// RampUp (default true) raises the rate from 0 to Rate over the warmup;
	// false sends the warmup at the full rate.
	RampUp bool `yaml:"rampUp"`
	// Keys, Distribution, ReadRatio and ValueSize apply to the demo cluster.
	Keys         int          `yaml:"keys"`
	Distribution Distribution `yaml:"distribution"`
	// KeyPattern is random (each operation's key drawn by the
	// distribution, the default) or sequential (each put writes a new key
	// above every earlier one, k000, k001, ..., starting again after keys
	// puts; reads and deletes take one of the 100 newest).
	KeyPattern KeyPattern `yaml:"keyPattern"`
	ReadRatio  Percent    `yaml:"readRatio"`
	// MissRatio is the share of reads that ask for a key never written
	// (demo cluster only): a cache penetration flood.
	MissRatio Percent       `yaml:"missRatio"`
	ValueSize ByteSize      `yaml:"valueSize"`
	Timeout   time.Duration `yaml:"timeout"` // per request
	// Sticky (demo cluster) makes each workload client a sticky session:
	// all its requests go to one gateway, which sends the session's
	// requests for a key to one coordinator (X-Session). Default false:
	// requests spread round-robin over the gateways.
	Sticky bool `yaml:"sticky"`
	// HTTP lists the request classes sent to an external target, chosen in
	// proportion to their weights.
	HTTP []HTTPRequest `yaml:"http"`
	// Redis sends the key-value workload (keys, readRatio, valueSize) to a
	// Redis server of an external target as GET and SET; the consistency
	// checks apply to it as to the demo cluster.
	Redis *RedisWorkload `yaml:"redis"`
	// Kind is what the workload does: kv (the key-value traffic above, the
	// default), lock (closed-loop clients of the demo's lock service, Lock),
	// counter (increments and decrements of CRDT counters), set (adds and
	// removes of CRDT set elements) or scan (kv with range queries, Scan);
	// counter and set need the eventual mode.
	Kind WorkloadKind `yaml:"kind"`
	// Lock configures the lock workload (kind lock only).
	Lock *LockWorkload `yaml:"lock"`
	// Scan configures the scan workload (kind scan only): the key-value
	// traffic above with a share of range queries.
	Scan *ScanWorkload `yaml:"scan"`
}

// ScanWorkload is the scan workload's range queries: Ratio of the
// operations are scans (GET /kv?from=&to=&limit=) of Width of the
// workload's keys (in key order) asking for at most Limit keys; the rest
// are the gets, puts and deletes of readRatio. Scans are not written to the
// history (the checks judge single-key operations); SLOs judge them with op
// scan.
type ScanWorkload struct {
	Ratio Percent `yaml:"ratio"`
	Width int     `yaml:"width"`
	Limit int     `yaml:"limit"`
}

// WorkloadKind is what the workload does.
type WorkloadKind string

// Workload kinds.
const (
	WorkloadKV      WorkloadKind = "kv"
	WorkloadLock    WorkloadKind = "lock"
	WorkloadCounter WorkloadKind = "counter"
	// WorkloadLWWCounter is the counter workload on counters kept as
	// last-write-wins registers: the foil of the PN-counter.
	WorkloadLWWCounter WorkloadKind = "lww-counter"
	WorkloadSet        WorkloadKind = "set"
	WorkloadScan       WorkloadKind = "scan"
)

func (WorkloadKind) allowed() []string {
	return []string{"kv", "lock", "counter", "lww-counter", "set", "scan"}
}

// CRDT reports whether the kind acts on the demo's /crdt/ values (counter,
// lww-counter, set).
func (k WorkloadKind) CRDT() bool {
	return k == WorkloadCounter || k == WorkloadLWWCounter || k == WorkloadSet
}

// LockWorkload is the lock workload: Clients clients compete for the lock
// Name with leases of Lease; a holder writes Resource, waits Hold, writes
// it again and releases. Fencing sends the lock's token with each write
// (X-Fencing-Token), so the store refuses a stale holder's. About every
// PauseEvery (seeded) the holder after its first write pauses for Pause, as a
// GC pause would, and then writes as if it still held the lock.
type LockWorkload struct {
	Name       string        `yaml:"name"`
	Resource   string        `yaml:"resource"`
	Clients    int           `yaml:"clients"`
	Lease      time.Duration `yaml:"lease"`
	Hold       time.Duration `yaml:"hold"`
	Fencing    bool          `yaml:"fencing"`
	PauseEvery time.Duration `yaml:"pauseEvery"`
	Pause      time.Duration `yaml:"pause"`
}

// RedisWorkload is where the Redis workload connects.
type RedisWorkload struct {
	Addr string `yaml:"addr"` // host:port, usually a proxy's listen address
	DB   int    `yaml:"db"`
}

// KeyPattern is the order the demo workload writes keys in.
type KeyPattern string

// Key patterns.
const (
	KeyPatternRandom     KeyPattern = "random"
	KeyPatternSequential KeyPattern = "sequential"
)

func (KeyPattern) allowed() []string { return []string{"random", "sequential"} }

// Distribution is how the demo workload picks keys.
type Distribution string

// Key distributions.
const (
	DistributionUniform Distribution = "uniform"
	DistributionZipf    Distribution = "zipf"
)

func (Distribution) allowed() []string { return []string{"uniform", "zipf"} }

// HTTPRequest is one request class of an HTTP workload.
type HTTPRequest struct {
	// Name labels the class in reports and SLO ops; defaults to "METHOD URL".
	Name    string            `yaml:"name"`
	Method  HTTPMethod        `yaml:"method"`
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	Expect  int               `yaml:"expect"` // the status that counts as success
	Weight  float64           `yaml:"weight"` // relative share of the rate
}

// HTTPMethod is a request method.
type HTTPMethod string

func (HTTPMethod) allowed() []string {
	return []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}
}

// SteadyState is what must hold before the first fault and again after the
// last one.
type SteadyState struct {
	Window         time.Duration `yaml:"window"`         // probes are judged over this window
	RecoveryWithin time.Duration `yaml:"recoveryWithin"` // after the last fault is reverted
	Probes         []Probe       `yaml:"probes"`
}

// Probe is one steady-state probe: exactly one of Metric, Prometheus, HTTP
// and TCP is set.
type Probe struct {
	Name string `yaml:"name"`
	// Metric is a workload or member metric, bounded by Max and/or Min in
	// the metric's unit (see Metric.Unit).
	Metric     Metric           `yaml:"metric"`
	Max        *Threshold       `yaml:"max"`
	Min        *Threshold       `yaml:"min"`
	Prometheus *PrometheusProbe `yaml:"prometheus"`
	HTTP       *HTTPProbe       `yaml:"http"`
	TCP        *TCPProbe        `yaml:"tcp"`
	// Exec runs a command; its exit code (and stdout) decide.
	Exec *ExecStep `yaml:"exec"`
	// During also judges the probe while faults are active; by default it is
	// judged only before the first fault and after the last.
	During bool `yaml:"during"`
}

// PrometheusProbe is a PromQL query whose result is bounded.
type PrometheusProbe struct {
	URL   string     `yaml:"url"`
	Query string     `yaml:"query"`
	Max   *Threshold `yaml:"max"`
	Min   *Threshold `yaml:"min"`
}

// HTTPProbe is a GET that must answer Status within MaxLatency.
type HTTPProbe struct {
	URL        string        `yaml:"url"`
	Status     int           `yaml:"status"`
	MaxLatency time.Duration `yaml:"maxLatency"` // 0: no latency bound
}

// TCPProbe connects to Addr and, when Send is set, writes it and reads
// until the answer contains Expect (or, without Expect, any answer); all
// within MaxLatency. An echo service answers what it is sent.
type TCPProbe struct {
	Addr       string        `yaml:"addr"`
	Send       string        `yaml:"send"`
	Expect     string        `yaml:"expect"`
	MaxLatency time.Duration `yaml:"maxLatency"` // 0: the default timeout
}

// ExecStep is a command chaosctl runs: an exec probe, action or
// rollback. Command is an argv, run without a shell (write sh -c for one),
// in a process group of its own that is killed whole at Timeout and when
// the command ends.
type ExecStep struct {
	Command []string          `yaml:"command"`
	Env     map[string]string `yaml:"env"` // added to chaosctl's environment
	Dir     string            `yaml:"dir"` // working directory
	// Timeout bounds the command (default: 5s for a probe, 30s for an
	// action or rollback).
	Timeout time.Duration `yaml:"timeout"`
	Expect  ExecExpect    `yaml:"expect"`
}

// ExecExpect is what a command's success is: its exit code and, when
// Stdout is set, a regular expression its standard output must match.
type ExecExpect struct {
	ExitCode int    `yaml:"exitCode"`
	Stdout   string `yaml:"stdout"`
}

// HTTPStep is an HTTP call of an action or rollback.
type HTTPStep struct {
	Method  HTTPMethod        `yaml:"method"` // default POST
	URL     string            `yaml:"url"`
	Headers map[string]string `yaml:"headers"`
	Body    string            `yaml:"body"`
	// Status is the answer that counts as success; 0 (the default): any 2xx.
	Status  int           `yaml:"status"`
	Timeout time.Duration `yaml:"timeout"` // default 30s
}

// ActionStep is one thing an action or rollback does: exactly one of Exec and
// HTTP.
type ActionStep struct {
	Exec *ExecStep `yaml:"exec"`
	HTTP *HTTPStep `yaml:"http"`
}

// Action is a step of the user's at a time of the schedule. Its Rollback,
// when set, runs once whenever the action was started, on every path out of
// the run (and by `chaosctl recover` after a killed chaosctl).
type Action struct {
	Name string `yaml:"name"`
	// At is the offset from the end of warmup, as a fault's.
	At         time.Duration `yaml:"at"`
	ActionStep `yaml:",inline"`
	Rollback   *ActionStep `yaml:"rollback"`
}

// Metric names a probe metric.
type Metric string

// Workload metrics.
const (
	MetricThroughput  Metric = "throughput"
	MetricErrorRatio  Metric = "error_ratio"
	MetricLatencyP50  Metric = "latency_p50"
	MetricLatencyP90  Metric = "latency_p90"
	MetricLatencyP99  Metric = "latency_p99"
	MetricLatencyP999 Metric = "latency_p999"
	MetricDropped     Metric = "dropped"
)

// Metrics scraped from the demo cluster's members.
const (
	MetricServerErrorRatio Metric = "server_error_ratio"
	MetricServerLatencyP99 Metric = "server_latency_p99"
	MetricCPUUtilization   Metric = "cpu_utilization"
	MetricInflight         Metric = "inflight"
	MetricShedRate         Metric = "shed_rate"
	MetricBreakerOpen      Metric = "breaker_open"
	MetricCacheHitRatio    Metric = "cache_hit_ratio"
	MetricStoreRequestRate Metric = "store_request_rate"
	MetricHotShardShare    Metric = "hot_shard_share"
)

// metricUnits is the one table of probe metrics and their units.
var metricUnits = []struct {
	metric  Metric
	unit    MetricUnit
	scraped bool // from members' /metrics rather than the workload
}{
	{MetricThroughput, UnitPerSecond, false},
	{MetricErrorRatio, UnitRatio, false},
	{MetricLatencyP50, UnitSeconds, false},
	{MetricLatencyP90, UnitSeconds, false},
	{MetricLatencyP99, UnitSeconds, false},
	{MetricLatencyP999, UnitSeconds, false},
	{MetricDropped, UnitCount, false},
	{MetricServerErrorRatio, UnitRatio, true},
	{MetricServerLatencyP99, UnitSeconds, true},
	{MetricCPUUtilization, UnitRatio, true},
	{MetricInflight, UnitCount, true},
	{MetricShedRate, UnitPerSecond, true},
	{MetricBreakerOpen, UnitCount, true},
	{MetricCacheHitRatio, UnitRatio, true},
	{MetricStoreRequestRate, UnitPerSecond, true},
	{MetricHotShardShare, UnitRatio, true},
}

func (Metric) allowed() []string {
	names := make([]string, len(metricUnits))
	for i, m := range metricUnits {
		names[i] = string(m.metric)
	}
	return names
}

// MetricUnit is the unit a probe metric is measured and bounded in.
type MetricUnit int

// Metric units.
const (
	UnitCount     MetricUnit = iota // a plain count
	UnitPerSecond                   // events per second
	UnitRatio                       // a fraction between 0 and 1; bounds may be written as 1%
	UnitSeconds                     // a latency; bounds are written as durations
)

// Unit returns the metric's unit.
func (m Metric) Unit() MetricUnit {
	for _, u := range metricUnits {
		if u.metric == m {
			return u.unit
		}
	}
	return UnitCount
}

// Scraped reports whether the metric comes from the members' /metrics
// (the demo cluster only) rather than from the workload.
func (m Metric) Scraped() bool {
	for _, u := range metricUnits {
		if u.metric == m {
			return u.scraped
		}
	}
	return false
}

// FaultKind names a fault.
type FaultKind string

// Fault kinds: the injectors' kinds, each the name of its field of Fault.
const (
	FaultPartition FaultKind = injectors.KindPartition
	FaultLatency   FaultKind = injectors.KindLatency
	FaultBandwidth FaultKind = injectors.KindBandwidth
	FaultReset     FaultKind = injectors.KindReset
	FaultBlackhole FaultKind = injectors.KindBlackhole
	FaultHTTP      FaultKind = injectors.KindHTTP
	FaultCrash     FaultKind = injectors.KindCrash
	FaultPause     FaultKind = injectors.KindPause
	FaultRestart   FaultKind = injectors.KindRestart
	FaultClockSkew FaultKind = injectors.KindClockSkew
	FaultCorrupt   FaultKind = injectors.KindCorrupt
)

// Fault is one scheduled fault. Exactly one of the kind fields is set;
// Kind says which.
type Fault struct {
	Name string `yaml:"name"`
	// At is the offset from the end of warmup.
	At time.Duration `yaml:"at"`
	// Duration is how long the fault is active. Decode fills it in when the
	// file leaves it out: until the workload ends; for crash, restartAfter
	// (or until the workload ends without one); for restart without a
	// duration and for corrupt, 0 (instantaneous).
	Duration time.Duration `yaml:"duration"`

	Partition *Partition `yaml:"partition"`
	Latency   *Latency   `yaml:"latency"`
	Bandwidth *Bandwidth `yaml:"bandwidth"`
	Reset     *Reset     `yaml:"reset"`
	Blackhole *Blackhole `yaml:"blackhole"`
	HTTP      *HTTP      `yaml:"http"`
	Crash     *Crash     `yaml:"crash"`
	Pause     *Pause     `yaml:"pause"`
	Restart   *Restart   `yaml:"restart"`
	ClockSkew *ClockSkew `yaml:"clockSkew"`
	Corrupt   *Corrupt   `yaml:"corrupt"`
}

func (FaultKind) allowed() []string { return faultKinds.KindsInOrder() }

// Kind returns which fault this is, "" when no kind field is set.
func (f *Fault) Kind() FaultKind {
	kinds := f.kinds()
	if len(kinds) == 0 {
		return ""
	}
	return kinds[0]
}

// End returns the offset from the end of warmup at which the fault ends.
func (f *Fault) End() time.Duration { return f.At + f.Duration }

// kinds lists every kind field that is set, in declaration order.
func (f *Fault) kinds() []FaultKind {
	var kinds []FaultKind
	for _, k := range []struct {
		kind FaultKind
		set  bool
	}{
		{FaultPartition, f.Partition != nil}, {FaultLatency, f.Latency != nil},
		{FaultBandwidth, f.Bandwidth != nil}, {FaultReset, f.Reset != nil},
		{FaultBlackhole, f.Blackhole != nil}, {FaultHTTP, f.HTTP != nil}, {FaultCrash, f.Crash != nil},
		{FaultPause, f.Pause != nil}, {FaultRestart, f.Restart != nil},
		{FaultClockSkew, f.ClockSkew != nil}, {FaultCorrupt, f.Corrupt != nil},
	} {
		if k.set {
			kinds = append(kinds, k.kind)
		}
	}
	return kinds
}

// Selector returns the fault's target selector; nil for a partition, whose
// groups or mode say what it cuts.
func (f *Fault) Selector() *Selector {
	switch {
	case f.Latency != nil:
		return &f.Latency.Selector
	case f.Bandwidth != nil:
		return &f.Bandwidth.Selector
	case f.Reset != nil:
		return &f.Reset.Selector
	case f.Blackhole != nil:
		return &f.Blackhole.Selector
	case f.HTTP != nil:
		return &f.HTTP.Selector
	case f.Crash != nil:
		return &f.Crash.Selector
	case f.Pause != nil:
		return &f.Pause.Selector
	case f.Restart != nil:
		return &f.Restart.Selector
	case f.ClockSkew != nil:
		return &f.ClockSkew.Selector
	case f.Corrupt != nil:
		return &f.Corrupt.Selector
	}
	return nil
}

// Selector names what a fault touches: exactly one of Nodes, Pick and
// Proxies. Nodes and Pick name demo members (n1.., g1.., client for link
// faults) or external members; Proxies names external proxies.
type Selector struct {
	Nodes   []string `yaml:"nodes"`
	Pick    *Pick    `yaml:"pick"`
	Proxies []string `yaml:"proxies"`
}

// Pick chooses Count names from From with the run's seed. Decode fills
// From with the kind's candidates when the file leaves it out (the store
// nodes, or the external members or proxies).
type Pick struct {
	Count int      `yaml:"count"`
	From  []string `yaml:"from"`
}

// Partition cuts the links between groups of members.
type Partition struct {
	// Groups or Mode: exactly one is set.
	Groups [][]string    `yaml:"groups"`
	Mode   PartitionMode `yaml:"mode"`
	// Size is how many store nodes mode isolate cuts off together, chosen
	// with the seed (default 1, only with mode isolate; 0 otherwise). They
	// keep their links to each other unless Behavior is isolate.
	Size int `yaml:"size"`
	// OneWay cuts only the first group's outgoing links.
	OneWay   bool              `yaml:"oneWay"`
	Behavior PartitionBehavior `yaml:"behavior"`
}

// PartitionMode is a partition shape over the store nodes, resolved with
// the seed by Plan.
type PartitionMode string

// Partition modes.
const (
	// ModeIsolate cuts Partition.Size nodes (one by default) from the rest.
	ModeIsolate PartitionMode = "isolate"
	// ModeMajorityMinority splits the nodes into a majority and a minority
	// (groups in that order).
	ModeMajorityMinority PartitionMode = "majority-minority"
	// ModeHalves splits the nodes into two halves.
	ModeHalves PartitionMode = "halves"
	// ModeRing puts the nodes on a ring and cuts each from its
	// non-neighbours.
	ModeRing PartitionMode = "ring"
	// ModeBridge splits the nodes into two halves joined by one bridge node
	// that sees both.
	ModeBridge PartitionMode = "bridge"
)

func (PartitionMode) allowed() []string {
	return []string{"isolate", "majority-minority", "halves", "ring", "bridge"}
}

// minNodes is the fewest store nodes the mode can split meaningfully.
func (m PartitionMode) minNodes() int {
	switch m {
	case ModeMajorityMinority, ModeBridge:
		return 3
	case ModeRing:
		return 4 // with 3 every node neighbours every other
	default:
		return 2
	}
}

// PartitionBehavior is what a cut link does.
type PartitionBehavior string

// Partition behaviours.
const (
	BehaviorDrop   PartitionBehavior = "drop"   // data is dropped, callers time out
	BehaviorReject PartitionBehavior = "reject" // connections are refused
	// BehaviorIsolate takes every member of the first group off the network:
	// on the docker runtime its container is disconnected from the run's
	// network (reconnected on revert); elsewhere every link from or to it is
	// rejected, the client's and the other isolated members' included.
	BehaviorIsolate PartitionBehavior = "isolate"
)

func (PartitionBehavior) allowed() []string { return []string{"drop", "reject", "isolate"} }

// Latency delays the selected links.
type Latency struct {
	Selector `yaml:",inline"`
	Delay    time.Duration `yaml:"delay"`
	Jitter   time.Duration `yaml:"jitter"`
}

// Bandwidth limits the selected links.
type Bandwidth struct {
	Selector `yaml:",inline"`
	Rate     ByteRate `yaml:"rate"`
}

// Reset resets the connections of the selected links.
type Reset struct {
	Selector `yaml:",inline"`
	// Timeout holds a connection's first data that long before the reset
	// (0: reset at once). The fault plane counts whole milliseconds.
	Timeout time.Duration `yaml:"timeout"`
}

// Blackhole stops the data on the selected links; connections stay open.
type Blackhole struct {
	Selector `yaml:",inline"`
}

// HTTP acts on the HTTP/1.1 requests through the selected links that
// match Match: exactly one of Abort, Delay and Drop says what it does.
type HTTP struct {
	Selector `yaml:",inline"`
	Match    HTTPMatch  `yaml:"match"`
	Abort    *HTTPAbort `yaml:"abort"`
	Delay    *HTTPDelay `yaml:"delay"`
	Drop     *HTTPDrop  `yaml:"drop"`
}

// HTTPMatch selects requests: every condition given must hold; none
// matches every request.
type HTTPMatch struct {
	Method     HTTPMethod        `yaml:"method"`
	PathPrefix string            `yaml:"pathPrefix"`
	Headers    map[string]string `yaml:"headers"`
}

// HTTPShare says which matching requests an HTTP fault acts on: Percent
// of them, drawn with the run's seed, or the first FirstN (on each link).
type HTTPShare struct {
	Percent Percent `yaml:"percent"`
	FirstN  int     `yaml:"firstN"`
}

// HTTPAbort answers with Status without reaching the upstream.
type HTTPAbort struct {
	Status    int `yaml:"status"`
	HTTPShare `yaml:",inline"`
}

// HTTPDelay holds each request Latency before it goes on.
type HTTPDelay struct {
	Latency   time.Duration `yaml:"latency"`
	HTTPShare `yaml:",inline"`
}

// HTTPDrop sends the response's head, then closes the connection.
type HTTPDrop struct {
	HTTPShare `yaml:",inline"`
}

// Action returns the HTTP fault's action and its share.
func (h *HTTP) Action() (string, HTTPShare) {
	switch {
	case h.Abort != nil:
		return injectors.HTTPAbort, h.Abort.HTTPShare
	case h.Delay != nil:
		return injectors.HTTPDelay, h.Delay.HTTPShare
	case h.Drop != nil:
		return injectors.HTTPDrop, h.Drop.HTTPShare
	}
	return "", HTTPShare{}
}

// Describe says what the fault does in a line of the plan: "abort 20% of
// GET /kv/* requests with 503".
func (h *HTTP) Describe() string {
	action, share := h.Action()
	which := fmt.Sprintf("%s of", share.Percent)
	if share.FirstN > 0 {
		which = fmt.Sprintf("the first %d per link of", share.FirstN)
	}
	what := "requests"
	if m := h.Match; m.Method != "" || m.PathPrefix != "" || len(m.Headers) > 0 {
		var parts []string
		if m.Method != "" {
			parts = append(parts, string(m.Method))
		}
		if m.PathPrefix != "" {
			parts = append(parts, m.PathPrefix+"*")
		}
		for _, name := range slices.Sorted(maps.Keys(m.Headers)) {
			parts = append(parts, name+"="+m.Headers[name])
		}
		what = strings.Join(parts, " ") + " requests"
	}
	switch {
	case h.Abort != nil:
		return fmt.Sprintf("%s %s %s with %d", action, which, what, h.Abort.Status)
	case h.Delay != nil:
		return fmt.Sprintf("%s %s %s by %s", action, which, what, h.Delay.Latency)
	}
	return fmt.Sprintf("%s the connection mid-response for %s %s", action, which, what)
}

// Crash kills the selected members (SIGKILL or container kill); their data
// directories are kept.
type Crash struct {
	Selector `yaml:",inline"`
	// RestartAfter starts the member again after this long; 0 leaves it down
	// until the workload ends.
	RestartAfter time.Duration `yaml:"restartAfter"`
}

// Pause freezes the selected members (SIGSTOP or container pause).
type Pause struct {
	Selector `yaml:",inline"`
}

// Restart stops the selected members gracefully and starts them again
// after the fault's duration (at once when it has none).
type Restart struct {
	Selector `yaml:",inline"`
}

// ClockSkew shifts the selected demo members' clocks by Offset.
type ClockSkew struct {
	Selector `yaml:",inline"`
	Offset   time.Duration `yaml:"offset"`
}

// Corrupt flips bits in stored values on the selected demo store nodes.
type Corrupt struct {
	Selector `yaml:",inline"`
	// Ratio is the share of the node's stored values that are corrupted.
	Ratio Percent `yaml:"ratio"`
}

// SLI is what an SLO measures.
type SLI string

// SLIs.
const (
	// SLIAvailability: a request is bad when it errs (5xx, 429, timeout,
	// transport error); a read of a missing key is good.
	SLIAvailability SLI = "availability"
	// SLILatency: a request is bad when it takes longer than Threshold,
	// timed from its intended send time.
	SLILatency SLI = "latency"
	// SLIRatio: good (or bad) and total events are PromQL queries against
	// URL.
	SLIRatio SLI = "ratio"
	// SLIThreshold: Query, sampled every second of the measured period by
	// Prometheus at URL, is good in each sample (of each series) where it
	// compares with Value as Compare says; OpenSLO's thresholdMetric.
	SLIThreshold SLI = "threshold"
	// SLIMetric: a probe metric scraped from the demo cluster's members
	// (Metric, e.g. hot_shard_share) is good in each measured second where
	// it compares with Value as Compare says; seconds without data count
	// neither way.
	SLIMetric SLI = "metric"
)

func (SLI) allowed() []string {
	return []string{"availability", "latency", "ratio", "threshold", "metric"}
}

// Prometheus reports whether the SLI's events come from a Prometheus
// server (ratio and threshold) rather than from the workload.
func (s SLI) Prometheus() bool { return s == SLIRatio || s == SLIThreshold }

// ThresholdOp compares a threshold SLO's query with its value.
type ThresholdOp string

// Threshold ops, OpenSLO's: less than, less or equal, greater than,
// greater or equal.
const (
	OpLT  ThresholdOp = "lt"
	OpLTE ThresholdOp = "lte"
	OpGT  ThresholdOp = "gt"
	OpGTE ThresholdOp = "gte"
)

func (ThresholdOp) allowed() []string { return []string{"lt", "lte", "gt", "gte"} }

// PromQL is the op's PromQL comparison operator.
func (o ThresholdOp) PromQL() string {
	return map[ThresholdOp]string{OpLT: "<", OpLTE: "<=", OpGT: ">", OpGTE: ">="}[o]
}

// SLO is a service level objective with its error budget.
type SLO struct {
	Name      string  `yaml:"name"`
	SLI       SLI     `yaml:"sli"`
	Objective Percent `yaml:"objective"` // share of good events, below 100%
	// Op narrows availability and latency SLOs to "read" or "write" (demo
	// cluster; or to one operation as the metrics label it, "get", "put"
	// or "delete") or to an HTTP request class name; "" means every
	// request.
	Op        string        `yaml:"op"`
	Threshold time.Duration `yaml:"threshold"` // latency SLOs
	// Good (or Bad), Total and URL define a ratio SLO: PromQL queries of
	// the good (or bad) and of all events of the measured period, asked
	// once at its end from the Prometheus server at URL.
	Good  string `yaml:"good"`
	Bad   string `yaml:"bad"`
	Total string `yaml:"total"`
	URL   string `yaml:"url"`
	// Query, Compare and Value define a threshold SLO (with URL): a
	// second of a series is good when its value compares with Value as
	// Compare says (OpenSLO's op; op here narrows to a workload op).
	Query   string      `yaml:"query"`
	Compare ThresholdOp `yaml:"compare"`
	Value   *float64    `yaml:"value"`
	// Metric is a metric SLO's probe metric, one scraped from the demo
	// cluster's members (with Compare and Value).
	Metric Metric `yaml:"metric"`
	// OpenSLO imports the SLOs of an OpenSLO v1 file (openslo.go): an
	// entry with it is replaced by them when the file is decoded, so a
	// decoded Experiment never has it set.
	OpenSLO string `yaml:"openslo"`
	// Judge says which bad events the verdict counts: every one of the
	// measured period (run, the default), or only those the faults caused
	// (faults: in a fault's window or its 5 s settle margin, or in the
	// recovery until recoveryWithin after the last fault), against the
	// budget of the whole period. Availability and latency SLOs only.
	Judge SLOJudge `yaml:"judge"`
}

// SLOJudge is an SLO's judge rule.
type SLOJudge string

// SLO judge rules.
const (
	JudgeRun    SLOJudge = "run"
	JudgeFaults SLOJudge = "faults"
)

func (SLOJudge) allowed() []string { return []string{"run", "faults"} }

// Ops of the demo workload that SLOs may narrow to: read (the same as
// get) and write (put and delete), or one operation by the name the
// metrics' op label and the logs give it.
const (
	OpRead   = "read"
	OpWrite  = "write"
	OpGet    = "get"
	OpPut    = "put"
	OpDelete = "delete"
	// OpScan is the scan workload's range queries, apart from the point
	// reads of read and get.
	OpScan = "scan"
)

// Abort says when a run stops early; faults are reverted at once.
type Abort struct {
	// BurnRate fails the run when any SLO burns its budget faster than this
	// over Window; 0 turns it off.
	BurnRate    float64       `yaml:"burnRate"`
	Window      time.Duration `yaml:"window"`
	MaxDuration time.Duration `yaml:"maxDuration"` // the whole run, warmup included
}

// Check is a consistency checker run on the operation history.
type Check string

// Checks.
const (
	CheckLinearizable Check = "linearizable"
	CheckNoLostWrites Check = "no-lost-writes"
	// CheckMutualExclusion judges the lock workload's history (slo.CheckMutualExclusion).
	CheckMutualExclusion Check = "mutual-exclusion"
	// CheckConverges: after the faults heal and the cluster settles, every
	// home replica of every CRDT value holds the same state, and it is the
	// effect of the acknowledged updates (a counter or set workload).
	CheckConverges Check = "converges"
	// CheckReadYourWrites and CheckMonotonicReads are the session
	// guarantees, judged per workload client (slo.CheckReadYourWrites).
	CheckReadYourWrites Check = "read-your-writes"
	CheckMonotonicReads Check = "monotonic-reads"
)

func (Check) allowed() []string {
	return []string{"linearizable", "no-lost-writes", "mutual-exclusion", "converges", "read-your-writes", "monotonic-reads"}
}

// Range is a closed interval of values, written {min: 1, max: 3} or as one
// plain value (min = max). Decode fills a bound the file leaves out from
// the field's default.
type Range[T any] struct {
	Min T `yaml:"min"`
	Max T `yaml:"max"`
}

// plainRange marks the range types, which the decoder also reads from a
// single scalar.
func (*Range[T]) plainRange() {}

// Nemesis is what `chaosctl explore` draws fault schedules from: the fault
// kinds, the members they may target (the blast radius), how many faults a
// schedule holds, their durations and spacing, whether they may overlap,
// and each kind's intensity. Every default is filled in by Decode.
type Nemesis struct {
	// Kinds are the fault kinds to draw from (any kind of the format).
	Kinds []FaultKind `yaml:"kinds"`
	// Targets are the members (or, on an external target, the proxies) the
	// nemesis may pick; default: every one a kind can act on.
	Targets []string `yaml:"targets"`
	// Faults is how many faults a schedule holds (default 1 to 3).
	Faults Range[int] `yaml:"faults"`
	// Duration is each fault's duration, for kinds that have one (default 1s
	// to a third of the workload, at least 1s).
	Duration Range[time.Duration] `yaml:"duration"`
	// Spacing is the pause before each fault: from the end of warmup for the
	// first, then from the previous fault's end, or from its start when
	// Overlap is set (default 0s to 2s).
	Spacing Range[time.Duration] `yaml:"spacing"`
	// Overlap lets a fault start while the previous one is active (default
	// false). Faults that cannot hold together (one member crashed twice,
	// partitions sharing a member) never overlap.
	Overlap bool `yaml:"overlap"`

	Partition NemesisPartition `yaml:"partition"`
	Latency   NemesisLatency   `yaml:"latency"`
	Bandwidth NemesisBandwidth `yaml:"bandwidth"`
	Crash     NemesisCrash     `yaml:"crash"`
	ClockSkew NemesisClockSkew `yaml:"clockSkew"`
	Corrupt   NemesisCorrupt   `yaml:"corrupt"`
	HTTP      NemesisHTTP      `yaml:"http"`

	// pos is where the file gives the section, for CheckRunnable.
	pos Problem
}

// NemesisPartition is how the nemesis cuts the demo cluster's store nodes.
type NemesisPartition struct {
	// Shapes to draw from (default: every shape the node count allows).
	// isolate and majority-minority are written as groups of the nemesis's
	// targets; halves, bridge and ring span every store node and are
	// written as modes.
	Shapes   []PartitionMode   `yaml:"shapes"`
	Behavior PartitionBehavior `yaml:"behavior"` // default drop
}

// NemesisLatency is the delay range of latency faults (default 50ms to 500ms).
type NemesisLatency struct {
	Delay Range[time.Duration] `yaml:"delay"`
}

// NemesisBandwidth is the rate range of bandwidth faults (default 16KiB/s to 256KiB/s).
type NemesisBandwidth struct {
	Rate Range[ByteRate] `yaml:"rate"`
}

// NemesisCrash is the restart delay range of crash faults (default: the
// nemesis's duration range).
type NemesisCrash struct {
	RestartAfter Range[time.Duration] `yaml:"restartAfter"`
}

// NemesisClockSkew is the offset range of clock skews (default 1s to 10s);
// both bounds have one sign.
type NemesisClockSkew struct {
	Offset Range[time.Duration] `yaml:"offset"`
}

// NemesisCorrupt is the ratio range of corrupt faults (default 1% to 10%).
type NemesisCorrupt struct {
	Ratio Range[Percent] `yaml:"ratio"`
}

// NemesisHTTP is how http faults are drawn: each drawn fault takes one of
// Actions; an abort answers with one of Status, a delay holds each request
// a latency drawn from Delay; every drawn fault acts on a share of the
// matching requests drawn from Percent, and matches what Match says.
type NemesisHTTP struct {
	// Actions to draw from (default abort, delay, drop).
	Actions []HTTPAction `yaml:"actions"`
	// Status are the statuses an abort answers with (default 500, 503).
	Status []int `yaml:"status"`
	// Delay is the range of a delay's latency (default 100ms to 1s).
	Delay Range[time.Duration] `yaml:"delay"`
	// Percent is the range of the share of matching requests acted on
	// (default 10% to 50%).
	Percent Range[Percent] `yaml:"percent"`
	// Match selects the requests every drawn fault acts on (default: every
	// request).
	Match HTTPMatch `yaml:"match"`
}

// HTTPAction is what an http fault does to the requests it acts on: one
// of the fault's abort, delay and drop.
type HTTPAction string

// HTTP actions.
const (
	HTTPActionAbort HTTPAction = injectors.HTTPAbort
	HTTPActionDelay HTTPAction = injectors.HTTPDelay
	HTTPActionDrop  HTTPAction = injectors.HTTPDrop
)

func (HTTPAction) allowed() []string {
	return []string{string(HTTPActionAbort), string(HTTPActionDelay), string(HTTPActionDrop)}
}
