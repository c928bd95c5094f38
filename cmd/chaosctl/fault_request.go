package main

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// DefaultFaultTTL is how long an imperative fault lasts unless told: after
// it, the fault reverts by itself.
const DefaultFaultTTL = 5 * time.Minute

// faultRequest is the body of POST /v1/faults: a fault as the injectors take
// it, plus its time to live and, for a partition, groups to cut apart (the
// cluster turns them into links).
type faultRequest struct {
	injectors.Fault
	// TTL is a Go duration ("90s"); empty means DefaultFaultTTL.
	TTL string `json:"ttl,omitempty"`
	// Groups are a partition's groups: every link of the fault plane from a
	// member of one group to a member of another is cut.
	Groups [][]string `json:"groups,omitempty"`
	// OneWay cuts only the first group's outgoing links.
	OneWay bool `json:"oneWay,omitempty"`
}

// clusterTopology is what a fault request is checked against: the members
// and the fault plane's links.
type clusterTopology struct {
	members []string
	nodes   []string
	links   []faultplane.Link
}

// faultKinds lists the kinds `inject` takes, in the order help shows them.
var faultKinds = []string{
	injectors.KindPartition, injectors.KindLatency, injectors.KindBandwidth, injectors.KindReset,
	injectors.KindBlackhole, injectors.KindCrash, injectors.KindPause, injectors.KindRestart,
	injectors.KindClockSkew, injectors.KindCorrupt,
}

func isLinkKind(kind string) bool {
	switch kind {
	case injectors.KindPartition, injectors.KindLatency, injectors.KindBandwidth, injectors.KindReset, injectors.KindBlackhole:
		return true
	}
	return false
}

// canonicalKind maps what people type (any case, clock-skew) to a kind.
func canonicalKind(s string) (string, bool) {
	k := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "")
	for _, kind := range faultKinds {
		if strings.ToLower(kind) == k {
			return kind, true
		}
	}
	return "", false
}

var faultNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)

// resolve checks r against the cluster and returns the fault to apply (a
// partition's groups or targets turned into links) and its TTL. Every error
// names the field and what is allowed; nothing is applied on error.
func (r faultRequest) resolve(top clusterTopology) (injectors.Fault, time.Duration, error) {
	f := r.Fault
	kind, ok := canonicalKind(f.Kind)
	if !ok {
		return f, 0, fmt.Errorf("kind %q: allowed are %s", f.Kind, strings.Join(faultKinds, ", "))
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
	allowed := top.members
	if isLinkKind(kind) {
		allowed = append(slices.Clone(top.members), faultplane.ClientSide)
	}
	if kind == injectors.KindClockSkew || kind == injectors.KindCorrupt {
		allowed = top.nodes
	}
	for _, id := range f.Targets {
		if !slices.Contains(allowed, id) {
			return f, 0, fmt.Errorf("%s target %q: no such member; allowed are %s", kind, id, strings.Join(allowed, ", "))
		}
	}
	for _, l := range f.Links {
		if !slices.Contains(top.links, l) {
			return f, 0, fmt.Errorf("link %s>%s: the fault plane has no such link; it has client>MEMBER, g*>n* and n*>n* (members: %s)", l.From, l.To, strings.Join(top.members, ", "))
		}
	}
	switch kind {
	case injectors.KindPartition:
		if err := resolvePartition(&f, r, top); err != nil {
			return f, 0, err
		}
	case injectors.KindLatency, injectors.KindBandwidth, injectors.KindReset, injectors.KindBlackhole:
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
	switch kind {
	case injectors.KindLatency:
		if f.Delay.Round(time.Millisecond) < injectors.MinDelay {
			return f, 0, fmt.Errorf("latency: delay %s: must be at least %s (toxiproxy counts whole milliseconds)", f.Delay, injectors.MinDelay)
		}
		if f.Jitter < 0 || f.Jitter > f.Delay {
			return f, 0, fmt.Errorf("latency: jitter %s: must be between 0 and the delay %s", f.Jitter, f.Delay)
		}
	case injectors.KindBandwidth:
		if f.BytesPerSecond < injectors.MinBytesPerSecond {
			return f, 0, fmt.Errorf("bandwidth: rate %d B/s: must be at least %d B/s (toxiproxy counts whole KB/s)", f.BytesPerSecond, injectors.MinBytesPerSecond)
		}
	case injectors.KindClockSkew:
		if f.Offset == 0 {
			return f, 0, fmt.Errorf("clockSkew: give a non-zero offset (--offset 2s or -2s)")
		}
	case injectors.KindCorrupt:
		switch {
		case f.Count < 0:
			return f, 0, fmt.Errorf("corrupt: count %d: must be above 0", f.Count)
		case f.Count > 0 && f.Ratio != 0:
			return f, 0, fmt.Errorf("corrupt: give a count or a ratio, not both")
		case f.Count == 0 && (f.Ratio <= 0 || f.Ratio > 1):
			return f, 0, fmt.Errorf("corrupt: give a count above 0 (--count) or a ratio in (0, 1] (--ratio); have ratio %g", f.Ratio)
		}
	}
	return f, ttl, nil
}

// checkUnused rejects parameters the kind does not use, so a typo does not
// silently turn into another fault.
func checkUnused(r faultRequest, kind string) error {
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
		uses("links", len(f.Links) > 0, injectors.KindPartition, injectors.KindLatency, injectors.KindBandwidth, injectors.KindReset, injectors.KindBlackhole),
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
func resolvePartition(f *injectors.Fault, r faultRequest, top clusterTopology) error {
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
		if len(r.Groups) < 2 {
			return fmt.Errorf("partition: groups %v: give at least two groups, separated by '|'", r.Groups)
		}
		group := map[string]int{}
		for i, g := range r.Groups {
			if len(g) == 0 {
				return fmt.Errorf("partition: group %d is empty", i+1)
			}
			for _, id := range g {
				if id != faultplane.ClientSide && !slices.Contains(top.members, id) {
					return fmt.Errorf("partition: group member %q: no such member; allowed are %s, %s", id, strings.Join(top.members, ", "), faultplane.ClientSide)
				}
				if _, dup := group[id]; dup {
					return fmt.Errorf("partition: %s is in two groups", id)
				}
				group[id] = i
				f.Targets = append(f.Targets, id)
			}
		}
		for _, l := range top.links {
			from, okFrom := group[l.From]
			to, okTo := group[l.To]
			if okFrom && okTo && from != to && (!r.OneWay || from == 0) {
				f.Links = append(f.Links, l)
			}
		}
		if len(f.Links) == 0 {
			return fmt.Errorf("partition: groups %v cut no link of the fault plane", r.Groups)
		}
	case len(f.Targets) > 0:
		for _, l := range top.links {
			if slices.Contains(f.Targets, l.From) || slices.Contains(f.Targets, l.To) {
				f.Links = append(f.Links, l)
			}
		}
	}
	return nil
}

// parseLinks parses "n1>n2,g1>n1" (also "->" or "→").
func parseLinks(s string) ([]faultplane.Link, error) {
	var out []faultplane.Link
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		norm := strings.NewReplacer("->", ">", "→", ">").Replace(part)
		from, to, ok := strings.Cut(norm, ">")
		from, to = strings.TrimSpace(from), strings.TrimSpace(to)
		if !ok || from == "" || to == "" || strings.Contains(to, ">") {
			return nil, fmt.Errorf("--links %q: write FROM>TO pairs separated by commas, e.g. n1>n2,g1>n1", part)
		}
		out = append(out, faultplane.Link{From: from, To: to})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("--links %q: no link given", s)
	}
	return out, nil
}

// parseGroups parses "n1|n2,n3" into [[n1] [n2 n3]].
func parseGroups(s string) ([][]string, error) {
	var out [][]string
	for i, g := range strings.Split(s, "|") {
		ids := splitList(g)
		if len(ids) == 0 {
			return nil, fmt.Errorf("--groups %q: group %d is empty; write groups separated by '|', members by ',', e.g. \"n1|n2,n3\"", s, i+1)
		}
		out = append(out, ids)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("--groups %q: give at least two groups separated by '|', e.g. \"n1|n2,n3\"", s)
	}
	return out, nil
}

// splitList splits "a, b,c" into [a b c], dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
