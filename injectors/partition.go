package injectors

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/chaosctl/chaosctl/targets"
)

// Partition cuts the fault's links (the runner passes the directed links
// between groups; a one-way partition passes one direction only; unlike the
// other link faults, Links are required). With
// BehaviorDrop each cut link gets a toxiproxy `timeout` toxic (timeout 0) on
// both streams: data stops, connections hang, callers time out. With
// BehaviorReject each cut link's proxy is disabled: new connections are
// refused and open ones closed; the revert enables it again.
//
// Several reject partitions, a runtime's hold of a member's links and a
// reset may disable one link: the fault plane keeps who holds it
// (faultplane.Plane.Disable), so the proxy is enabled when the last of them
// lets go, and never by chaosctl if it was not chaosctl that disabled it.
type Partition struct{ linkVerifier }

// rejectsApplied counts reject partitions applied by this process, to give
// each its own owner name on the fault plane.
var rejectsApplied atomic.Uint64

// Kind implements Injector.
func (*Partition) Kind() string { return KindPartition }

// Capabilities implements CapableInjector.
func (*Partition) Capabilities() Capabilities { return Capabilities{Links: true, Groups: true} }

// Inject implements Injector.
func (p *Partition) Inject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	if err := check(f, KindPartition); err != nil {
		return nil, err
	}
	// A partition's targets are its groups' members, not what it cuts: only
	// explicit links say that (isolate on an Isolator needs only targets).
	if _, iso := t.(targets.Isolator); len(f.Links) == 0 && !(iso && f.Behavior == BehaviorIsolate) {
		return nil, fmt.Errorf("partition %s: no links to cut", f.Name)
	}
	switch f.Behavior {
	case "", BehaviorDrop:
		return injectToxic(ctx, t, f, KindPartition, dropToxic)
	case BehaviorReject:
		return p.reject(ctx, t, f)
	case BehaviorIsolate:
		if _, ok := t.(targets.Isolator); ok {
			return onEachMember(ctx, t, f, KindPartition, "rejoin", isolate, rejoin)
		}
		return p.reject(ctx, t, f)
	default:
		return nil, fmt.Errorf("partition %s: behavior %q: allowed are %s, %s, %s", f.Name, f.Behavior, BehaviorDrop, BehaviorReject, BehaviorIsolate)
	}
}

func (*Partition) reject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	plane, links, err := resolveLinks(t, f, KindPartition)
	if err != nil {
		return nil, err
	}
	// Each application holds its links under a name of its own, so two
	// partitions of one name (from two trackers) do not share a hold.
	owner := fmt.Sprintf("partition %s #%d", f.Name, rejectsApplied.Add(1))
	u := &undo{}
	for _, l := range links {
		if err := ctx.Err(); err != nil {
			return nil, u.abort(ctx, fmt.Errorf("partition %s: cut %s: %w", f.Name, l, err))
		}
		if err := plane.Disable(l, owner); err != nil {
			return nil, u.abort(ctx, fmt.Errorf("partition %s: cut %s: %w", f.Name, l, err))
		}
		u.push("reconnect "+l.String(), func(context.Context) error { return plane.Enable(l, owner) })
	}
	return u.run, nil
}
