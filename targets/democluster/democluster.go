package democluster

import (
	"fmt"
	"slices"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// WorkloadSide lists the members the workload sends to: the gateways, or
// the store nodes when the cluster has no gateway.
func WorkloadSide(spec demo.ClusterSpec) []string {
	if ids := spec.GatewayIDs(); len(ids) > 0 {
		return ids
	}
	return spec.NodeIDs()
}

// Links lists the demo cluster's fault-plane links in a fixed order:
// client→workload side (WorkloadSide), then every member to every other
// store node, members in spec.MemberIDs order. The container runtimes give
// the i-th link's proxy a port by this order.
func Links(spec demo.ClusterSpec) []faultplane.Link {
	var out []faultplane.Link
	for _, to := range WorkloadSide(spec) {
		out = append(out, faultplane.Link{From: faultplane.ClientSide, To: to})
	}
	return append(out, PeerLinks(spec)...)
}

// PeerLinks lists the member→store-node links of Links (every member to
// every other store node), without the client side.
func PeerLinks(spec demo.ClusterSpec) []faultplane.Link {
	var out []faultplane.Link
	for _, from := range spec.MemberIDs() {
		for _, to := range spec.NodeIDs() {
			if from != to {
				out = append(out, faultplane.Link{From: from, To: to})
			}
		}
	}
	return out
}

// StartOrder is the order members are started in: the store nodes first, so
// the gateways find them, then the gateways.
func StartOrder(spec demo.ClusterSpec) []string {
	return append(spec.NodeIDs(), spec.GatewayIDs()...)
}

// Wiring is what a runtime says about one member's network and disk: where
// it listens, how it reaches a store node (through the fault plane), and
// where a store node keeps its data.
type Wiring struct {
	// Listen is the address member id binds.
	Listen func(id string) string
	// Peer is the address member from uses to reach store node to.
	Peer func(from, to string) string
	// DataDir is store node id's data directory.
	DataDir func(id string) string
}

// MemberConfig builds member id's configuration: its role, listen address
// and peers by w, the cluster, and its seed (seed plus its index in
// spec.MemberIDs, so each member's randomness differs and is repeatable).
func MemberConfig(spec demo.ClusterSpec, id string, seed int64, w Wiring) (demo.MemberConfig, error) {
	members := spec.MemberIDs()
	idx := slices.Index(members, id)
	if idx < 0 {
		return demo.MemberConfig{}, fmt.Errorf("no member %q; members are %v", id, members)
	}
	cfg := demo.MemberConfig{
		ID: id, Role: demo.RoleOf(id),
		Listen:  w.Listen(id),
		Peers:   map[string]string{},
		Cluster: spec,
		Seed:    seed + int64(idx),
	}
	for _, n := range spec.NodeIDs() {
		if n != id {
			cfg.Peers[n] = w.Peer(id, n)
		}
	}
	if cfg.Role == demo.RoleNode {
		cfg.DataDir = w.DataDir(id)
	}
	return cfg, nil
}

// MemberConfigs builds every member's configuration, in spec.MemberIDs
// order (see MemberConfig).
func MemberConfigs(spec demo.ClusterSpec, seed int64, w Wiring) []demo.MemberConfig {
	out := make([]demo.MemberConfig, 0, len(spec.MemberIDs()))
	for _, id := range spec.MemberIDs() {
		cfg, _ := MemberConfig(spec, id, seed, w) // id is a member: no error
		out = append(out, cfg)
	}
	return out
}

// Members describes the members ids at addr(id), for targets.Target's
// Members of a runtime whose members are not this host's processes (PID 0).
func Members(ids []string, addr func(id string) string) []targets.Member {
	out := make([]targets.Member, 0, len(ids))
	for _, id := range ids {
		out = append(out, targets.Member{ID: id, Role: demo.RoleOf(id), Addr: addr(id)})
	}
	return out
}
