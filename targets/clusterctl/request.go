package clusterctl

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// DefaultFaultTTL is how long an imperative fault lasts unless told: after
// it, the fault reverts by itself.
const DefaultFaultTTL = 5 * time.Minute

// Request is the body of POST /v1/faults: a fault as the injectors take it,
// plus its time to live and, for a partition, groups to cut apart (the
// cluster turns them into links).
type Request struct {
	injectors.Fault
	// TTL is a Go duration ("90s"); empty means DefaultFaultTTL.
	TTL string `json:"ttl,omitempty"`
	// Groups are a partition's groups: every link of the fault plane from a
	// member of one group to a member of another is cut.
	Groups [][]string `json:"groups,omitempty"`
	// OneWay cuts only the first group's outgoing links.
	OneWay bool `json:"oneWay,omitempty"`
	// Lease, a Go duration ("5s"), makes the fault held: it reverts when
	// its client has not renewed it (POST /v1/faults/{name}/lease) for
	// this long, or at its TTL, whichever comes first. Empty: not held.
	Lease string `json:"lease,omitempty"`
}

// Topology is what a Request is checked against: the members, the store
// nodes among them and the fault plane's links.
type Topology struct {
	Members []string
	Nodes   []string
	Links   []faultplane.Link
}

var faultNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// Resolve checks r against the cluster and returns the fault to apply (a
// partition's groups or targets turned into links) and its TTL. Every error
// names the field and what is allowed; nothing is applied on error.
func (r Request) Resolve(top Topology) (injectors.Fault, time.Duration, error) {
	f := r.Fault
	kind, ok := CanonicalKind(f.Kind)
	if !ok {
		return f, 0, fmt.Errorf("kind %q: allowed are %s", f.Kind, strings.Join(Kinds(), ", "))
	}
	f.Kind = kind
	if f.Name != "" && !faultNamePattern.MatchString(f.Name) {
		return f, 0, fmt.Errorf("name %q: use 1 to 100 letters, digits, '.', '_' or '-', starting with a letter or digit", f.Name)
	}
	ttl := DefaultFaultTTL
	if r.TTL != "" {
		d, err := experiments.ParseDuration(r.TTL)
		if err != nil {
			return f, 0, fmt.Errorf("ttl: %w", err)
		}
		if d <= 0 {
			return f, 0, fmt.Errorf("ttl %s: must be above 0 (every imperative fault reverts by itself)", r.TTL)
		}
		ttl = d
	}
	if err := checkUnused(r, kind); err != nil {
		return f, 0, err
	}
	if _, err := r.leaseOf(kind); err != nil {
		return f, 0, err
	}
	if err := checkTargets(f, top); err != nil {
		return f, 0, err
	}
	switch caps := capabilities(kind); {
	case caps.Groups:
		if err := resolvePartition(&f, r, top); err != nil {
			return f, 0, err
		}
	case caps.Links:
		if len(f.Targets) == 0 && len(f.Links) == 0 {
			return f, 0, fmt.Errorf("%s: give the members whose links it acts on (--nodes) or the links (--links)", kind)
		}
		if len(f.Targets) > 0 && len(f.Links) > 0 {
			return f, 0, fmt.Errorf("%s: give members (--nodes) or links (--links), not both", kind)
		}
	default:
		if len(f.Targets) == 0 {
			return f, 0, fmt.Errorf("%s: give the members it acts on (--nodes)", kind)
		}
	}
	if err := checkParams(f); err != nil {
		return f, 0, err
	}
	return f, ttl, nil
}

// leaseOf is r's lease (0: the fault is not held) for a fault of kind.
func (r Request) leaseOf(kind string) (time.Duration, error) {
	if r.Lease == "" {
		return 0, nil
	}
	d, err := experiments.ParseDuration(r.Lease)
	if err != nil {
		return 0, fmt.Errorf("lease: %w", err)
	}
	if deadman.CheckTTL(d) != nil {
		return 0, fmt.Errorf("lease %s: want between %s and %s (the fault reverts this long after its holder's last renewal)", r.Lease, deadman.MinTTL, deadman.MaxTTL)
	}
	if capabilities(kind).Instant {
		return 0, fmt.Errorf("lease: %s has nothing to revert, so nothing to hold", kind)
	}
	return d, nil
}

// checkTargets checks that f's targets are members its kind can act on and
// its links are links of the fault plane.
func checkTargets(f injectors.Fault, top Topology) error {
	allowed := top.Members
	switch caps := capabilities(f.Kind); {
	case caps.StoreNodes:
		allowed = top.Nodes
	case caps.Links:
		allowed = append(slices.Clone(top.Members), faultplane.ClientSide)
	}
	for _, id := range f.Targets {
		if !slices.Contains(allowed, id) {
			return fmt.Errorf("%s target %q: no such member; allowed are %s", f.Kind, id, strings.Join(allowed, ", "))
		}
	}
	for _, l := range f.Links {
		if !slices.Contains(top.Links, l) {
			return fmt.Errorf("link %s>%s: the fault plane has no such link; it has client>MEMBER, g*>n* and n*>n* (members: %s)", l.From, l.To, strings.Join(top.Members, ", "))
		}
	}
	return nil
}

// checkParams checks the parameters of f's kind against their bounds.
func checkParams(f injectors.Fault) error {
	switch f.Kind {
	case injectors.KindLatency:
		if f.Delay.Round(time.Millisecond) < injectors.MinDelay {
			return fmt.Errorf("latency: delay %s: must be at least %s (toxiproxy counts whole milliseconds)", f.Delay, injectors.MinDelay)
		}
		if f.Jitter < 0 || f.Jitter > f.Delay {
			return fmt.Errorf("latency: jitter %s: must be between 0 and the delay %s", f.Jitter, f.Delay)
		}
	case injectors.KindBandwidth:
		if f.BytesPerSecond < injectors.MinBytesPerSecond {
			return fmt.Errorf("bandwidth: rate %d B/s: must be at least %d B/s (toxiproxy counts whole KB/s)", f.BytesPerSecond, injectors.MinBytesPerSecond)
		}
	case injectors.KindClockSkew:
		if f.Offset == 0 {
			return fmt.Errorf("clockSkew: give a non-zero offset (--offset 2s or -2s)")
		}
	case injectors.KindCorrupt:
		switch {
		case f.Count < 0:
			return fmt.Errorf("corrupt: count %d: must be above 0", f.Count)
		case f.Count > 0 && f.Ratio != 0:
			return fmt.Errorf("corrupt: give a count or a ratio, not both")
		case f.Count == 0 && (f.Ratio <= 0 || f.Ratio > 1):
			return fmt.Errorf("corrupt: give a count above 0 (--count) or a ratio in (0, 1] (--ratio); have ratio %g", f.Ratio)
		}
	}
	return nil
}

// checkUnused rejects parameters the kind does not use, so a typo does not
// silently turn into another fault.
func checkUnused(r Request, kind string) error {
	f := r.Fault
	uses := func(param string, set bool, kinds ...string) error {
		if set && !slices.Contains(kinds, kind) {
			return fmt.Errorf("%s applies to %s only, not to %s", param, strings.Join(kinds, ", "), kind)
		}
		return nil
	}
	for _, err := range []error{
		uses("behavior", f.Behavior != "", injectors.KindPartition),
		uses("groups", len(r.Groups) > 0, injectors.KindPartition),
		uses("oneWay", r.OneWay, injectors.KindPartition),
		uses("links", len(f.Links) > 0, linkKinds()...),
		uses("delay", f.Delay != 0, injectors.KindLatency),
		uses("jitter", f.Jitter != 0, injectors.KindLatency),
		uses("rate", f.BytesPerSecond != 0, injectors.KindBandwidth),
		uses("offset", f.Offset != 0, injectors.KindClockSkew),
		uses("ratio", f.Ratio != 0, injectors.KindCorrupt),
		uses("count", f.Count != 0, injectors.KindCorrupt),
		uses("seed", f.Seed != 0, injectors.KindCorrupt),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// resolvePartition turns a partition's groups, or its members (cut off from
// everything), into the links to cut.
func resolvePartition(f *injectors.Fault, r Request, top Topology) error {
	given := 0
	for _, set := range []bool{len(r.Groups) > 0, len(f.Links) > 0, len(f.Targets) > 0} {
		if set {
			given++
		}
	}
	if given != 1 {
		return fmt.Errorf("partition: give exactly one of groups (--groups \"n1|n2,n3\"), links (--links n1>n2) or members to cut off (--nodes n1)")
	}
	switch f.Behavior {
	case "", injectors.BehaviorDrop, injectors.BehaviorReject, injectors.BehaviorIsolate:
	default:
		return fmt.Errorf("partition: behavior %q: allowed are %s, %s, %s", f.Behavior, injectors.BehaviorDrop, injectors.BehaviorReject, injectors.BehaviorIsolate)
	}
	if r.OneWay && len(r.Groups) == 0 {
		return fmt.Errorf("partition: one-way applies to groups only (the first group's outgoing links are cut)")
	}
	switch {
	case len(r.Groups) > 0:
		return cutGroups(f, r, top)
	case len(f.Targets) > 0:
		for _, l := range top.Links {
			if slices.Contains(f.Targets, l.From) || slices.Contains(f.Targets, l.To) {
				f.Links = append(f.Links, l)
			}
		}
	}
	return nil
}

// cutGroups sets f's targets to the members of r's groups and its links to
// every link between two groups (only the first group's outgoing ones when
// r is one-way).
func cutGroups(f *injectors.Fault, r Request, top Topology) error {
	if len(r.Groups) < 2 {
		return fmt.Errorf("partition: groups %v: give at least two groups, separated by '|'", r.Groups)
	}
	group := map[string]int{}
	for i, g := range r.Groups {
		if len(g) == 0 {
			return fmt.Errorf("partition: group %d is empty", i+1)
		}
		for _, id := range g {
			if id != faultplane.ClientSide && !slices.Contains(top.Members, id) {
				return fmt.Errorf("partition: group member %q: no such member; allowed are %s, %s", id, strings.Join(top.Members, ", "), faultplane.ClientSide)
			}
			if _, dup := group[id]; dup {
				return fmt.Errorf("partition: %s is in two groups", id)
			}
			group[id] = i
			f.Targets = append(f.Targets, id)
		}
	}
	for _, l := range top.Links {
		from, okFrom := group[l.From]
		to, okTo := group[l.To]
		if okFrom && okTo && from != to && (!r.OneWay || from == 0) {
			f.Links = append(f.Links, l)
		}
	}
	if len(f.Links) == 0 {
		return fmt.Errorf("partition: groups %v cut no link of the fault plane", r.Groups)
	}
	return nil
}
