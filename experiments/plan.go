package experiments

import (
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/internal/keyspace"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
)

// Plan is an experiment with every random choice made: the members, the
// links of the fault plane, and each fault's window and concrete targets.
// It is what --dry-run prints and what the runner schedules.
type Plan struct {
	Experiment *Experiment
	Seed       int64
	// Warmup and Duration are the workload's; the run lasts Warmup+Duration.
	Warmup, Duration time.Duration
	Members          []PlanMember
	// Links is the fault plane: client->g*, g*->n* and every ordered pair
	// n*->n* for the demo cluster, the declared proxies for an external
	// target.
	Links  []Link
	Faults []PlannedFault
}

// MemberRole says what a member is.
type MemberRole string

// Member roles.
const (
	RoleGateway   MemberRole = "gateway"
	RoleStoreNode MemberRole = "store node"
	RoleExternal  MemberRole = "member"
)

// PlanMember is one member of the target.
type PlanMember struct {
	Name   string
	Role   MemberRole
	Detail string // how an external member is started or found
}

// Link is one directed link of the fault plane; each has its own proxy,
// so one-way partitions work.
type Link struct {
	From, To string
	// Proxy is the declared proxy's name for an external target, where From
	// and To are its listen and upstream addresses; "" for the demo cluster.
	Proxy string
}

// String formats the link as "n1->n2", or "web (127.0.0.1:28080->127.0.0.1:18080)".
func (l Link) String() string {
	if l.Proxy != "" {
		return fmt.Sprintf("%s (%s->%s)", l.Proxy, l.From, l.To)
	}
	return l.From + "->" + l.To
}

// PlannedFault is one fault with its window and resolved targets.
type PlannedFault struct {
	Fault *Fault
	Name  string
	Kind  FaultKind
	// Start and End are offsets from the start of the run, warmup included
	// (Start = warmup + at), as the scheduler waits for them. End equals
	// Start for an instantaneous fault. Every output shows them at the run's
	// one origin, t = 0 at the end of warmup, where `at` counts from: see
	// Plan.T.
	Start, End time.Duration
	// Targets are the members (or, for external link faults, the proxies)
	// the fault acts on, after resolving pick.
	Targets []string
	// Links are the links a link fault acts on, or a partition cuts.
	Links []Link
	// Groups are a partition's groups, after resolving its mode.
	Groups [][]string
	// Bridge is the node that sees both halves of a bridge partition.
	Bridge string
	// Ring is the ring order of a ring partition; each node keeps only its
	// two neighbours.
	Ring []string
}

// Plan resolves every pick and partition mode with seed. Each fault draws
// from its own stream (seeded by seed and the fault's name), so editing one
// fault does not change the choices of the others. The same experiment and
// seed always give the same plan.
func (e *Experiment) Plan(seed int64) (*Plan, error) {
	p := &Plan{
		Experiment: e,
		Seed:       seed,
		Warmup:     e.Workload.Warmup,
		Duration:   e.Workload.Duration,
	}
	switch t := e.Target; {
	case t.Demo != nil:
		for _, g := range t.Demo.GatewayNames() {
			p.Members = append(p.Members, PlanMember{Name: g, Role: RoleGateway})
		}
		for _, n := range t.Demo.NodeNames() {
			p.Members = append(p.Members, PlanMember{Name: n, Role: RoleStoreNode})
		}
		p.Links = demoLinks(t.Demo)
	case t.External != nil:
		for _, m := range t.External.Members {
			p.Members = append(p.Members, PlanMember{Name: m.Name, Role: RoleExternal, Detail: memberDetail(m)})
		}
		for _, px := range t.External.Proxies {
			p.Links = append(p.Links, Link{From: px.Listen, To: px.Upstream, Proxy: px.Name})
		}
	default:
		return nil, fmt.Errorf("plan experiment %s: no target", e.Metadata.Name)
	}
	for i := range e.Faults {
		pf, err := p.planFault(&e.Faults[i])
		if err != nil {
			return nil, fmt.Errorf("plan experiment %s: fault %s: %w", e.Metadata.Name, e.Faults[i].Name, err)
		}
		p.Faults = append(p.Faults, pf)
	}
	return p, nil
}

func memberDetail(m Member) string {
	switch {
	case m.Container != nil && m.Container.Name != "":
		return "container " + m.Container.Name
	case m.Container != nil:
		return "container labelled " + m.Container.Label
	default:
		return "command: " + strings.Join(m.Command, " ")
	}
}

// demoLinks returns the demo cluster's fault plane: democluster.Links, the
// list the runtimes give a proxy each, in its order (client->g*, g*->n*,
// then every ordered pair n*->n*). Member counts out of range give no
// member, as GatewayNames and NodeNames do (validation reports them).
func demoLinks(c *DemoCluster) []Link {
	spec := demo.ClusterSpec{Gateways: len(c.GatewayNames()), Nodes: len(c.NodeNames())}
	var links []Link
	for _, l := range democluster.Links(spec) {
		links = append(links, Link{From: l.From, To: l.To})
	}
	return links
}

// cutLinks returns the plane's links from a member of one group to a
// member of another, in plane order; with oneWay only the first group's
// outgoing links.
func cutLinks(groups [][]string, oneWay bool, plane []Link) []Link {
	group := map[string]int{}
	for i, g := range groups {
		for _, n := range g {
			group[n] = i
		}
	}
	var cut []Link
	for _, l := range plane {
		from, okFrom := group[l.From]
		to, okTo := group[l.To]
		if !okFrom || !okTo || from == to || (oneWay && from != 0) {
			continue
		}
		cut = append(cut, l)
	}
	return cut
}

// isolateLinks returns the plane's links from or to any of members.
func isolateLinks(members []string, plane []Link) []Link {
	var cut []Link
	for _, l := range plane {
		if slices.Contains(members, l.From) || slices.Contains(members, l.To) {
			cut = append(cut, l)
		}
	}
	return cut
}

func (p *Plan) planFault(f *Fault) (PlannedFault, error) {
	e := p.Experiment
	start := e.Workload.Warmup + f.At
	pf := PlannedFault{Fault: f, Name: f.Name, Kind: f.Kind(), Start: start, End: start + f.Duration}
	src := faultSource(p.Seed, f.Name)
	if pt := f.Partition; pt != nil {
		return p.planPartition(pf, pt, src)
	}
	sel := f.Selector()
	if sel == nil {
		return pf, fmt.Errorf("no fault kind")
	}
	switch {
	case sel.Pick != nil:
		if sel.Pick.Count < 1 || sel.Pick.Count > len(sel.Pick.From) {
			return pf, fmt.Errorf("pick %d of %d candidates", sel.Pick.Count, len(sel.Pick.From))
		}
		pf.Targets = sortNames(shuffle(src, sel.Pick.From)[:sel.Pick.Count])
	case len(sel.Proxies) > 0:
		pf.Targets = sortNames(sel.Proxies)
	default:
		pf.Targets = sortNames(sel.Nodes)
	}
	if selectsLinks(pf.Kind) {
		for _, l := range p.Links {
			if (l.Proxy != "" && slices.Contains(pf.Targets, l.Proxy)) ||
				(l.Proxy == "" && (slices.Contains(pf.Targets, l.From) || slices.Contains(pf.Targets, l.To))) {
				pf.Links = append(pf.Links, l)
			}
		}
	}
	return pf, nil
}

func (p *Plan) planPartition(pf PlannedFault, pt *Partition, src *rand.PCG) (PlannedFault, error) {
	c := p.Experiment.Target.Demo
	if c == nil {
		// Users' pods: isolate takes the first group off the network by
		// NetworkPolicy; no proxy is involved.
		if pt.Behavior != BehaviorIsolate || len(pt.Groups) == 0 {
			return pf, fmt.Errorf("a partition of an external target isolates pod members")
		}
		pf.Groups = pt.Groups
		pf.Targets = sortNames(pt.Groups[0])
		return pf, nil
	}
	nodes := c.NodeNames()
	if pt.Mode != "" && len(nodes) < pt.Mode.minNodes() {
		return pf, fmt.Errorf("mode %s needs %d store nodes, have %d", pt.Mode, pt.Mode.minNodes(), len(nodes))
	}
	order := shuffle(src, nodes)
	switch pt.Mode {
	case "":
		pf.Groups = pt.Groups
	case ModeIsolate:
		// The first Size nodes of the seeded order: one more node extends
		// the cut side and leaves the earlier ones where they were.
		size := max(pt.Size, 1)
		if size >= len(order) {
			return pf, fmt.Errorf("isolate %d of %d store nodes", size, len(order))
		}
		pf.Groups = [][]string{sortNames(order[:size]), sortNames(order[size:])}
	case ModeMajorityMinority:
		minority := (len(order) - 1) / 2
		pf.Groups = [][]string{sortNames(order[minority:]), sortNames(order[:minority])}
	case ModeHalves:
		half := len(order) / 2
		pf.Groups = [][]string{sortNames(order[:half]), sortNames(order[half:])}
	case ModeBridge:
		rest := order[1:]
		half := len(rest) / 2
		pf.Bridge = order[0]
		pf.Groups = [][]string{sortNames(rest[:half]), sortNames(rest[half:])}
	case ModeRing:
		pf.Ring = order
	default:
		return pf, fmt.Errorf("unknown partition mode %q", pt.Mode)
	}
	if pf.Ring != nil {
		pf.Targets = sortNames(pf.Ring)
		pf.Links = ringCuts(pf.Ring, p.Links)
		return pf, nil
	}
	if pt.Behavior == BehaviorIsolate {
		// The first group leaves the network: its members are the targets,
		// every link from or to one of them is cut.
		pf.Targets = sortNames(pf.Groups[0])
		pf.Links = isolateLinks(pf.Targets, p.Links)
		return pf, nil
	}
	for _, g := range pf.Groups {
		pf.Targets = append(pf.Targets, g...)
	}
	if pf.Bridge != "" {
		pf.Targets = append(pf.Targets, pf.Bridge)
	}
	pf.Targets = sortNames(pf.Targets)
	pf.Links = cutLinks(pf.Groups, pt.OneWay, p.Links)
	return pf, nil
}

// ringCuts returns the links between ring members that are not neighbours
// on the ring.
func ringCuts(ring []string, plane []Link) []Link {
	pos := map[string]int{}
	for i, n := range ring {
		pos[n] = i
	}
	var cut []Link
	for _, l := range plane {
		a, okA := pos[l.From]
		b, okB := pos[l.To]
		if !okA || !okB {
			continue
		}
		if dist := (a - b + len(ring)) % len(ring); dist != 1 && dist != len(ring)-1 {
			cut = append(cut, l)
		}
	}
	return cut
}

// faultSource is the fault's own random stream: PCG seeded with the run's
// seed and a hash of the fault's name. PCG's output is fixed by its
// definition, so plans are stable across Go releases.
func faultSource(seed int64, name string) *rand.PCG {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.NewPCG(uint64(seed), h.Sum64())
}

// shuffle returns a Fisher-Yates shuffled copy of names. It draws bounded
// numbers itself rather than through rand.Rand so the result depends only
// on the PCG stream.
func shuffle(src *rand.PCG, names []string) []string {
	out := slices.Clone(names)
	for i := len(out) - 1; i > 0; i-- {
		j := int(uniform(src, uint64(i+1)))
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// uniform returns an unbiased number in [0, n) by rejection sampling.
func uniform(src *rand.PCG, n uint64) uint64 {
	threshold := -n % n
	for {
		if x := src.Uint64(); x >= threshold {
			return x % n
		}
	}
}

// sortNames returns names in plane order: client, gateways, store nodes,
// then other names; numbered names by number (n2 before n10).
func sortNames(names []string) []string {
	out := slices.Clone(names)
	slices.SortFunc(out, func(a, b string) int {
		ra, na, pa := nameKey(a)
		rb, nb, pb := nameKey(b)
		switch {
		case ra != rb:
			return ra - rb
		case pa != pb:
			return strings.Compare(pa, pb)
		case na != nb:
			return na - nb
		}
		return strings.Compare(a, b)
	})
	return out
}

// nameKey splits a name into a rank (client, gateway, node, other), its
// prefix and its trailing number.
func nameKey(name string) (rank, number int, prefix string) {
	i := len(name)
	for i > 0 && name[i-1] >= '0' && name[i-1] <= '9' {
		i--
	}
	prefix = name[:i]
	number, err := strconv.Atoi(name[i:])
	if err != nil {
		number = -1
	}
	switch {
	case name == ClientName:
		rank = 0
	case prefix == "g" && number >= 0:
		rank = 1
	case prefix == "n" && number >= 0:
		rank = 2
	default:
		rank = 3
	}
	return rank, number, prefix
}

// textWriter keeps the first write error so Format can write freely.
type textWriter struct {
	w   io.Writer
	err error
}

func (t *textWriter) printf(format string, args ...any) {
	if t.err == nil {
		_, t.err = fmt.Fprintf(t.w, format, args...)
	}
}

// linksPerLine keeps long link lists readable.
const linksPerLine = 8

func (t *textWriter) links(indent string, links []Link) {
	for i := 0; i < len(links); i += linksPerLine {
		parts := make([]string, 0, linksPerLine)
		for _, l := range links[i:min(i+linksPerLine, len(links))] {
			parts = append(parts, l.String())
		}
		t.printf("%s%s\n", indent, strings.Join(parts, " "))
	}
}

// T is an offset from the start of the run (warmup included) at the run's
// one origin, the end of warmup: t = offset − warmup, the time `at` in the
// experiment file gives (negative during warmup).
func (p *Plan) T(offset time.Duration) time.Duration { return offset - p.Warmup }

// originText states the origin of the times of the plan.
func (p *Plan) originText() string {
	s := "t = time from the end of warmup, as `at` in the file"
	if p.Warmup > 0 {
		s += fmt.Sprintf("; warmup is t = %s to 0", -p.Warmup)
	}
	return s
}

// Format writes the plan as the --dry-run text: target, workload, members,
// links, each fault with its window and concrete targets, then what is
// judged. The text is stable for a given experiment and seed. Every
// sensitive value (Experiment.Redactor) is written as [REDACTED].
func (p *Plan) Format(w io.Writer) error {
	e := p.Experiment
	// The plan shows commands, URLs and names, which may hold secrets.
	t := &textWriter{w: e.Redactor().Writer(w)}
	t.printf("experiment: %s\n", e.Metadata.Name)
	if e.Metadata.Description != "" {
		t.printf("  %s\n", strings.TrimSpace(e.Metadata.Description))
	}
	t.printf("seed: %d\n", p.Seed)
	formatVariables(t, e.Variables)
	p.formatTarget(t)
	p.formatWorkload(t)

	t.printf("members (%d):\n", len(p.Members))
	width := 0
	for _, m := range p.Members {
		width = max(width, len(m.Name))
	}
	for _, m := range p.Members {
		line := fmt.Sprintf("  %-*s  %s", width, m.Name, m.Role)
		if m.Detail != "" {
			line += ", " + m.Detail
		}
		t.printf("%s\n", line)
	}
	t.printf("links (%d):\n", len(p.Links))
	t.links("  ", p.Links)

	if n := p.Experiment.Nemesis; n != nil && len(p.Faults) == 0 {
		kinds := make([]string, len(n.Kinds))
		for i, k := range n.Kinds {
			kinds[i] = string(k)
		}
		t.printf("faults: none; a nemesis draws %d to %d of %s on %s (chaosctl explore --dry-run shows the schedules)\n",
			n.Faults.Min, n.Faults.Max, strings.Join(kinds, ", "), strings.Join(n.Targets, ", "))
	} else if len(p.Faults) == 0 {
		t.printf("faults: none\n")
	} else {
		t.printf("faults (%d; %s):\n", len(p.Faults), p.originText())
	}
	for _, f := range p.Faults {
		p.formatFault(t, f)
	}
	if acts := p.Experiment.Actions; len(acts) > 0 {
		t.printf("actions (%d; %s):\n", len(acts), p.originText())
		for _, a := range acts {
			t.printf("  %s at +%s: %s\n", a.Name, a.At, StepText(&a.ActionStep))
			if a.Rollback != nil {
				t.printf("    rollback: %s\n", StepText(a.Rollback))
			}
		}
	}
	p.formatJudgement(t)
	return t.err
}

func (p *Plan) formatTarget(t *textWriter) {
	e := p.Experiment
	if c := e.Target.Demo; c != nil {
		r := c.Replication
		t.printf("target: demo cluster, runtime %s\n", e.Target.Runtime)
		placement := fmt.Sprintf("%d vnodes", c.VNodes)
		if c.Sharding == ShardingRange {
			placement = fmt.Sprintf("range sharding (%d ranges, split at %s)", len(c.Splits)+1, strings.Join(c.Splits, ", "))
		}
		t.printf("  %s, %s, %s; replication n=%d w=%d r=%d, %s, persistence %s\n",
			plural(c.Nodes, "store node"), plural(c.Gateways, "gateway"), placement, r.N, r.W, r.R, c.Consistency, c.Persistence)
		if c.Persistence == PersistenceMemory {
			t.printf("  recovery after a restart: %s\n", recoveryText(c.Recovery))
		}
		if c.Cache.Policy == CacheNone {
			t.printf("  cache: none\n")
		} else {
			t.printf("  cache: %s, %d entries, ttl %s (jitter %s), negative ttl %s, writes %s\n",
				c.Cache.Policy, c.Cache.Size, c.Cache.TTL, c.Cache.TTLJitter, c.Cache.NegativeTTL, c.Cache.WriteMode)
			if !c.Cache.Singleflight {
				t.printf("  cache singleflight: off (every concurrent miss loads from the store)\n")
			}
		}
		switch c.Cache.Penetration {
		case PenetrationBloom:
			t.printf("  cache penetration: bloom (filter of existing keys, sized for %s false positives)\n", c.Cache.BloomFalsePositive)
		case PenetrationNone:
			t.printf("  cache penetration: none (every read of a missing key reaches the store)\n")
		}
		rs := c.Resilience
		rate := "off"
		if rs.RateLimit > 0 {
			rate = strconv.FormatFloat(rs.RateLimit, 'f', -1, 64) + "/s"
		}
		t.printf("  resilience: timeout %s, retries %d (base %s, cap %s), breaker %d failures open %s (at most %s of nodes at once), bulkhead %d, max inflight %d, rate limit %s\n",
			rs.Timeout, rs.Retries.Max, rs.Retries.Base, rs.Retries.Cap, rs.Breaker.Failures, rs.Breaker.OpenFor, rs.Breaker.MaxOpen, rs.Bulkhead, rs.MaxInflight, rate)
		if !rs.Breaker.Enabled {
			t.printf("  circuit breakers: off\n")
		}
		if rs.Breaker.Trip == TripErrorRate {
			t.printf("  circuit breakers trip on an error rate: %s of at least %d calls over %s (a busy node's timeouts and refusals not counted)\n", rs.Breaker.ErrorRate, rs.Breaker.MinRequests, rs.Breaker.Window)
		}
		if rs.RetryBudget > 0 {
			t.printf("  retry budget: %s of requests plus 10/s\n", rs.RetryBudget)
		}
		if a := rs.Admission; a.Limit != LimitStatic || a.Queue != QueueNone || a.Priority {
			t.printf("  admission: limit %s (target %s), queue %s (target %s, interval %s), read priority %v\n", a.Limit, a.Target, a.Queue, a.QueueTarget, a.QueueInterval, a.Priority)
		}
		if rs.Hedge.Enabled {
			t.printf("  hedged reads: after %s, at most %s of reads\n", rs.Hedge.After, rs.Hedge.Budget)
		} else {
			t.printf("  hedged reads: off\n")
		}
		if e.Workload.Kind == WorkloadScan || c.Scan != DefaultDemoCluster().Scan {
			t.printf("  range queries: each node's listing within %s, partial scans %s\n", c.Scan.ShardTimeout,
				map[ScanPartial]string{ScanPartialFail: "fail (503)", ScanPartialAllow: "allowed (200, X-Chaos-Partial)"}[c.Scan.Partial])
		}
		return
	}
	x := e.Target.External
	t.printf("target: external services\n")
	if x.Toxiproxy != nil {
		t.printf("  toxiproxy: %s\n", x.Toxiproxy.URL)
	} else {
		t.printf("  toxiproxy: embedded\n")
	}
}

// TCPProbeText says what a TCP probe does.
func TCPProbeText(c *TCPProbe) string {
	s := "TCP connect to " + c.Addr
	if c.Send != "" {
		s += fmt.Sprintf(", send %q", c.Send)
		if c.Expect != "" {
			s += fmt.Sprintf(", expect %q", c.Expect)
		} else {
			s += ", expect an answer"
		}
	}
	if c.MaxLatency > 0 {
		s += " within " + c.MaxLatency.String()
	}
	return s
}

func (p *Plan) formatWorkload(t *textWriter) {
	w := p.Experiment.Workload
	ramp := ""
	if w.RampUp && w.Warmup > 0 {
		ramp = " ramping up from 0"
	}
	if l := w.Lock; w.Kind == WorkloadLock && l != nil {
		fencing, pauses := "without fencing tokens", "no pauses"
		if l.Fencing {
			fencing = "with fencing tokens (X-Fencing-Token)"
		}
		if l.PauseEvery > 0 {
			pauses = fmt.Sprintf("a %s pause about every %s (seeded)", l.Pause, l.PauseEvery)
		}
		t.printf("workload: lock, %d clients for %s after a %s warmup (the run lasts %s), timeout %s\n",
			l.Clients, w.Duration, w.Warmup, w.Warmup+w.Duration, w.Timeout)
		t.printf("  lock %s, lease %s, hold %s; writes %s %s; %s\n", l.Name, l.Lease, l.Hold, l.Resource, fencing, pauses)
		return
	}
	t.printf("workload: %s req/s for %s after a %s warmup%s (the run lasts %s), timeout %s\n",
		strconv.FormatFloat(w.Rate, 'f', -1, 64), w.Duration, w.Warmup, ramp, w.Warmup+w.Duration, w.Timeout)
	if p.Experiment.Target.Demo != nil || w.Redis != nil {
		t.printf("  %d keys (%s), reads %s, values %s\n", w.Keys, w.Distribution, w.ReadRatio, w.ValueSize)
		if w.KeyPattern == KeyPatternSequential {
			t.printf("  sequential keys: each put writes a new key above the last, reads and deletes take the %d newest\n", keyspace.RecentKeys)
		}
		if w.MissRatio > 0 {
			t.printf("  %s of reads ask for keys never written\n", w.MissRatio)
		}
		if s := w.Scan; w.Kind == WorkloadScan && s != nil {
			t.printf("  scans: %s of operations, each over %d keys in key order, limit %d (not in the history)\n", s.Ratio, s.Width, s.Limit)
		}
		if w.Sticky {
			t.printf("  sticky sessions: each client to one gateway, and per key to one coordinator\n")
		}
	}
	if w.Redis != nil {
		t.printf("  redis at %s (db %d): GET, SET through the go-redis client\n", w.Redis.Addr, w.Redis.DB)
	}
	for _, r := range w.HTTP {
		name := ""
		if r.Name != string(r.Method)+" "+r.URL {
			name = r.Name + ": "
		}
		t.printf("  %s%s %s expect %d, weight %s\n", name, r.Method, r.URL, r.Expect, strconv.FormatFloat(r.Weight, 'f', -1, 64))
	}
}

func (p *Plan) formatFault(t *textWriter, pf PlannedFault) {
	f := pf.Fault
	window := fmt.Sprintf("t = %s -> %s", p.T(pf.Start), p.T(pf.End))
	if pf.End == pf.Start {
		window = fmt.Sprintf("t = %s (instant)", p.T(pf.Start))
	}
	t.printf("  %s: %s, %s\n", pf.Name, pf.Kind, window)
	if sel := f.Selector(); sel != nil && sel.Pick != nil {
		t.printf("    picked %s from %s\n", strings.Join(pf.Targets, " "), strings.Join(sel.Pick.From, " "))
	}
	switch {
	case f.Partition != nil:
		pt := f.Partition
		how := "both ways"
		if pt.Behavior == BehaviorIsolate {
			how = "first group off the network"
		}
		if pt.OneWay {
			how = "one way (first group's outgoing links)"
		}
		mode := "groups"
		if pt.Mode != "" {
			mode = "mode " + string(pt.Mode)
		}
		if pt.Size > 1 {
			mode += fmt.Sprintf(" of %d nodes", pt.Size)
		}
		switch {
		case pf.Ring != nil:
			t.printf("    %s: ring %s, %s\n", mode, strings.Join(pf.Ring, " "), pt.Behavior)
		default:
			parts := make([]string, len(pf.Groups))
			for i, g := range pf.Groups {
				parts[i] = "[" + strings.Join(g, " ") + "]"
			}
			bridge := ""
			if pf.Bridge != "" {
				bridge = ", bridge " + pf.Bridge
			}
			t.printf("    %s: %s%s, %s, %s\n", mode, strings.Join(parts, " | "), bridge, how, pt.Behavior)
		}
		if p.Experiment.Target.Demo == nil {
			t.printf("    a NetworkPolicy denies all ingress and egress of %s's pods\n", strings.Join(pf.Targets, ", "))
			return
		}
		t.printf("    cuts %s:\n", plural(len(pf.Links), "link"))
		t.links("      ", pf.Links)
		return
	case f.Latency != nil:
		t.printf("    delay %s, jitter %s on %s\n", f.Latency.Delay, f.Latency.Jitter, strings.Join(pf.Targets, " "))
	case f.Bandwidth != nil:
		t.printf("    rate %s on %s\n", f.Bandwidth.Rate, strings.Join(pf.Targets, " "))
	case f.Reset != nil && f.Reset.Timeout > 0:
		t.printf("    reset on %s after %s\n", strings.Join(pf.Targets, " "), f.Reset.Timeout)
	case f.Crash != nil:
		restart := "not restarted"
		if f.Crash.RestartAfter > 0 {
			restart = "restarted after " + f.Crash.RestartAfter.String()
		}
		t.printf("    kill %s, %s\n", strings.Join(pf.Targets, " "), restart)
	case f.Restart != nil:
		if f.Duration == 0 {
			t.printf("    stop %s gracefully and start again at once\n", strings.Join(pf.Targets, " "))
		} else {
			t.printf("    stop %s gracefully, start again after %s\n", strings.Join(pf.Targets, " "), f.Duration)
		}
	case f.ClockSkew != nil:
		t.printf("    shift the clock of %s by %s\n", strings.Join(pf.Targets, " "), f.ClockSkew.Offset)
	case f.Corrupt != nil:
		t.printf("    flip bits in %s of the values stored on %s\n", f.Corrupt.Ratio, strings.Join(pf.Targets, " "))
	case f.HTTP != nil:
		t.printf("    %s on %s\n", f.HTTP.Describe(), strings.Join(pf.Targets, " "))
	default:
		t.printf("    %s on %s\n", pf.Kind, strings.Join(pf.Targets, " "))
	}
	if len(pf.Links) > 0 {
		t.printf("    %s:\n", plural(len(pf.Links), "link"))
		t.links("      ", pf.Links)
	}
}

func (p *Plan) formatJudgement(t *textWriter) {
	e := p.Experiment
	s := e.SteadyState
	t.printf("steady state: window %s, recovery within %s\n", s.Window, s.RecoveryWithin)
	for _, pr := range s.Probes {
		during := ""
		if pr.During {
			during = ", also during faults"
		}
		switch {
		case pr.Prometheus != nil:
			t.printf("  %s: prometheus %s at %s%s%s\n", pr.Name, pr.Prometheus.Query, pr.Prometheus.URL, BoundsText(pr.Prometheus.Max, pr.Prometheus.Min), during)
		case pr.HTTP != nil:
			latency := ""
			if pr.HTTP.MaxLatency > 0 {
				latency = " within " + pr.HTTP.MaxLatency.String()
			}
			t.printf("  %s: GET %s answers %d%s%s\n", pr.Name, pr.HTTP.URL, pr.HTTP.Status, latency, during)
		case pr.TCP != nil:
			t.printf("  %s: %s%s\n", pr.Name, TCPProbeText(pr.TCP), during)
		case pr.Exec != nil:
			t.printf("  %s: %s%s\n", pr.Name, ExecText(pr.Exec), during)
		default:
			t.printf("  %s: %s%s%s\n", pr.Name, pr.Metric, BoundsText(pr.Max, pr.Min), during)
		}
	}
	if len(e.SLOs) == 0 {
		t.printf("slos: none\n")
	} else {
		t.printf("slos:\n")
	}
	for _, s := range e.SLOs {
		op := ""
		if s.Op != "" {
			op = " of " + s.Op + " requests"
		}
		judged := ""
		if s.Judge == JudgeFaults {
			judged = ", judged on the bad events the faults cause (judge: faults)"
		}
		server := s.URL
		if server == "" {
			server = "the --prometheus-url server"
		}
		switch s.SLI {
		case SLILatency:
			t.printf("  %s: latency%s under %s, objective %s%s\n", s.Name, op, s.Threshold, s.Objective, judged)
		case SLIRatio:
			if s.Bad != "" {
				t.printf("  %s: ratio 1 - (%s) / (%s) at %s, objective %s\n", s.Name, s.Bad, s.Total, server, s.Objective)
			} else {
				t.printf("  %s: ratio (%s) / (%s) at %s, objective %s\n", s.Name, s.Good, s.Total, server, s.Objective)
			}
		case SLIThreshold:
			t.printf("  %s: threshold: each second of (%s) %s %s at %s, objective %s\n", s.Name, s.Query, s.Compare.PromQL(), formatValue(s.Value), server, s.Objective)
		case SLIMetric:
			t.printf("  %s: metric: each second of %s %s %s (scraped from the members), objective %s\n", s.Name, s.Metric, s.Compare.PromQL(), formatValue(s.Value), s.Objective)
		default:
			t.printf("  %s: availability%s, objective %s%s\n", s.Name, op, s.Objective, judged)
		}
	}
	a := e.Abort
	burn := "no burn-rate limit"
	if a.BurnRate > 0 {
		burn = fmt.Sprintf("burn rate above %s over %s", strconv.FormatFloat(a.BurnRate, 'f', -1, 64), a.Window)
	}
	t.printf("abort: %s; max duration %s\n", burn, a.MaxDuration)
	checks := "none"
	if len(e.Checks) > 0 {
		names := make([]string, len(e.Checks))
		for i, c := range e.Checks {
			names[i] = string(c)
		}
		checks = strings.Join(names, ", ")
	}
	t.printf("checks: %s\n", checks)
	if len(e.Faults) > 0 {
		t.printf("receipts: %s\n", receiptsLine(e.Receipts))
	}
	if e.Control {
		t.printf("control: %s\n", ControlLine(e.Degradation))
	}
}

// ControlLine says what a control run does for the dry run: where it runs,
// and what decides.
func ControlLine(d *Degradation) string {
	s := "first a fault-free control run (same seed, target and workload) into control/; each availability and latency SLO's per-second series compared with it"
	if d == nil {
		return s + "; no degradation limit: reported only"
	}
	var limits []string
	if d.Latency != nil {
		limits = append(limits, "latency shift "+d.Latency.String())
	}
	if d.Errors != nil {
		limits = append(limits, "error ratio rise "+d.Errors.String())
	}
	return s + "; fails an SLO significantly worse (p < 0.05) with its whole 95% interval above the limit: " + strings.Join(limits, ", ")
}

// receiptsLine says what the dry-run's faults' receipts will decide.
func receiptsLine(p ReceiptPolicy) string {
	switch p {
	case ReceiptsWarn:
		return "warn (each fault is measured after its apply and its revert; a contradiction is reported, not judged)"
	case ReceiptsOff:
		return "off (faults are not measured)"
	}
	return "require (each fault is measured after its apply and its revert; one that did not land, or was not undone, makes the run inconclusive)"
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// BoundsText writes a probe's bounds as the plan and reports show them: " >= 10, <= 150ms".
func BoundsText(maxT, minT *Threshold) string {
	var parts []string
	if minT != nil {
		parts = append(parts, " >= "+minT.String())
	}
	if maxT != nil {
		parts = append(parts, " <= "+maxT.String())
	}
	return strings.Join(parts, ",")
}

// recoveryText says what a restarted in-memory store node does.
func recoveryText(r Recovery) string {
	if r == RecoveryNone {
		return "none (answers at once with an empty store: amnesia)"
	}
	return "resync (catches up from its peers before answering reads)"
}

// formatVariables lists the values the decoder put into the file, one a
// line: NAME = value (env), secrets redacted.
func formatVariables(t *textWriter, vars []Variable) {
	if len(vars) == 0 {
		return
	}
	t.printf("variables (%d):\n", len(vars))
	width := 0
	for _, v := range vars {
		width = max(width, len(v.Name))
	}
	for _, v := range vars {
		t.printf("  %-*s = %s (%s)\n", width, v.Name, strconv.Quote(v.Value), v.From)
	}
}

// formatValue formats a threshold SLO's value ("" when unset).
func formatValue(v *float64) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'g', -1, 64)
}
