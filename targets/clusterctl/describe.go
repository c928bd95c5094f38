package clusterctl

import (
	"fmt"
	"strings"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// Describe says in a line what a fault does: "latency 200ms ±50ms on g1",
// "partition (reject) on 3 links: g1>n1, g1>n2, g1>n3".
func Describe(f injectors.Fault) string {
	var b strings.Builder
	b.WriteString(f.Kind)
	switch f.Kind {
	case injectors.KindLatency:
		fmt.Fprintf(&b, " %s", f.Delay)
		if f.Jitter > 0 {
			fmt.Fprintf(&b, " ±%s", f.Jitter)
		}
	case injectors.KindBandwidth:
		fmt.Fprintf(&b, " %s", experiments.ByteRate(f.BytesPerSecond))
	case injectors.KindPartition:
		behavior := f.Behavior
		if behavior == "" {
			behavior = injectors.BehaviorDrop
		}
		fmt.Fprintf(&b, " (%s)", behavior)
	case injectors.KindClockSkew:
		fmt.Fprintf(&b, " %s", f.Offset)
	case injectors.KindCorrupt:
		if f.Count > 0 {
			fmt.Fprintf(&b, " %d values", f.Count)
		} else {
			fmt.Fprintf(&b, " %g%% of values", f.Ratio*100)
		}
	}
	if len(f.Links) > 0 {
		fmt.Fprintf(&b, " on %d links: %s", len(f.Links), linkList(f.Links, 6))
	} else if len(f.Targets) > 0 {
		fmt.Fprintf(&b, " on %s", strings.Join(f.Targets, ", "))
	}
	return b.String()
}

// linkList lists links as FROM>TO, at most limit of them.
func linkList(links []faultplane.Link, limit int) string {
	var parts []string
	for i, l := range links {
		if i == limit {
			parts = append(parts, fmt.Sprintf("and %d more", len(links)-limit))
			break
		}
		parts = append(parts, l.From+">"+l.To)
	}
	return strings.Join(parts, ", ")
}
