package faultplane

import (
	"errors"
	"fmt"
	"sync"
)

// LinkResetter closes every connection through the proxies of a member's
// links (a disable and enable of each enabled proxy; one a partition holds
// disabled has none). A member whose container or pod was killed or cut off
// vanished without closing its connections: peers would keep sending into
// them until a timeout, long after the member is back. A proxy whose enable
// failed is remembered, and the next Reset (a retried revert) enables it.
// The zero value is ready to use.
type LinkResetter struct {
	mu      sync.Mutex
	pending map[Link]bool
}

// Reset resets the proxies of every link of plane from or to member.
func (r *LinkResetter) Reset(plane *Plane, member string) error {
	var errs []error
	for _, l := range plane.Links() {
		if l.From != member && l.To != member {
			continue
		}
		px, err := plane.Client().Proxy(ProxyName(plane.run, l))
		if err != nil {
			errs = append(errs, fmt.Errorf("read proxy %s: %w", l, err))
			continue
		}
		switch {
		case px.Enabled:
			if err := px.Disable(); err != nil {
				errs = append(errs, fmt.Errorf("reset proxy %s: %w", l, err))
				continue
			}
			r.set(l, true)
		case !r.isPending(l):
			continue // disabled by a partition: its connections are closed already
		}
		if err := px.Enable(); err != nil {
			errs = append(errs, fmt.Errorf("re-enable proxy %s: %w", l, err))
			continue
		}
		r.set(l, false)
	}
	return errors.Join(errs...)
}

func (r *LinkResetter) isPending(l Link) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending[l]
}

func (r *LinkResetter) set(l Link, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[Link]bool{}
	}
	if on {
		r.pending[l] = true
	} else {
		delete(r.pending, l)
	}
}
