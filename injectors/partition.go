package injectors

import (
	"context"
	"fmt"
	"sync"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// Partition cuts the fault's links (the runner passes the directed links
// between groups; a one-way partition passes one direction only; unlike the
// other link faults, Links are required). With
// BehaviorDrop each cut link gets a toxiproxy `timeout` toxic (timeout 0) on
// both streams: data stops, connections hang, callers time out. With
// BehaviorReject each cut link's proxy is disabled: new connections are
// refused and open ones closed; the revert enables it again.
//
// Several reject partitions may cut one link: the proxy is disabled by the
// first and enabled when the last is reverted, and never enabled by chaosctl
// if it was not chaosctl that disabled it. Use one Partition value for every
// fault of a run (the registry holds one).
type Partition struct {
	mu        sync.Mutex
	rejecting map[string]*rejectHold // by toxiproxy URL and proxy name
}

type rejectHold struct {
	faults       int  // reject partitions cutting the link now
	disabledByUs bool // the first of them disabled the proxy
}

// Kind implements Injector.
func (*Partition) Kind() string { return KindPartition }

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

func (p *Partition) reject(ctx context.Context, t targets.Target, f Fault) (Revert, error) {
	plane, links, err := resolveLinks(t, f, KindPartition)
	if err != nil {
		return nil, err
	}
	u := &undo{}
	for _, l := range links {
		if err := ctx.Err(); err != nil {
			return nil, u.abort(ctx, fmt.Errorf("partition %s: cut %s: %w", f.Name, l, err))
		}
		if err := p.hold(plane, l); err != nil {
			return nil, u.abort(ctx, fmt.Errorf("partition %s: cut %s: %w", f.Name, l, err))
		}
		u.push("reconnect "+l.String(), func(context.Context) error { return p.release(plane, l) })
	}
	return u.run, nil
}

// hold records one more reject partition on link l and disables its proxy
// if this is the first.
func (p *Partition) hold(plane *faultplane.Plane, l faultplane.Link) error {
	name := plane.Proxy(l).Name
	key := plane.URL() + " " + name
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rejecting == nil {
		p.rejecting = map[string]*rejectHold{}
	}
	h := p.rejecting[key]
	if h == nil {
		h = &rejectHold{}
	}
	if h.faults == 0 {
		// A fresh copy from the server: the plane's shared proxy value must
		// not be mutated by Disable, and it shows the proxy's present state.
		px, err := plane.Client().Proxy(name)
		if err != nil {
			return fmt.Errorf("read proxy %s: %w", name, err)
		}
		h.disabledByUs = false
		if px.Enabled {
			if err := px.Disable(); err != nil {
				return fmt.Errorf("disable proxy %s: %w", name, err)
			}
			h.disabledByUs = true
		}
	}
	h.faults++
	p.rejecting[key] = h
	return nil
}

// release drops one reject partition from link l and enables its proxy
// when it was the last and chaosctl disabled it.
func (p *Partition) release(plane *faultplane.Plane, l faultplane.Link) error {
	px := plane.Proxy(l)
	if px == nil {
		return nil // the plane was closed: the proxy is gone with it
	}
	key := plane.URL() + " " + px.Name
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.rejecting[key]
	if h == nil || h.faults == 0 {
		return nil
	}
	if h.faults == 1 && h.disabledByUs {
		fresh, err := plane.Client().Proxy(px.Name)
		switch {
		case isNotFound(err):
			// Deleted meanwhile: nothing left to enable.
		case err != nil:
			return fmt.Errorf("read proxy %s: %w", px.Name, err)
		case !fresh.Enabled:
			if err := fresh.Enable(); err != nil {
				return fmt.Errorf("enable proxy %s: %w", px.Name, err)
			}
		}
	}
	h.faults--
	if h.faults == 0 {
		delete(p.rejecting, key)
	}
	return nil
}
