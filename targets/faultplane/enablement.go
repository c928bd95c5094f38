package faultplane

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/sirupsen/logrus"
)

// The plane owns whether a link's proxy is enabled. Several parts of
// chaosctl take links off the network for reasons of their own: a reject
// partition, a runtime holding the links to a member whose pod is gone, a
// reset closing a member's connections. Each disables a link under its own
// owner name and enables only what it disabled; the proxy is enabled again
// when no owner holds it, so one cannot undo another.

// resetOwner is the owner name ResetLinks holds a link under while it
// resets it.
const resetOwner = "faultplane: reset"

// linkHold is who holds one link's proxy disabled. Its mutex is held across
// the calls to toxiproxy, so the server's state and the owners change
// together; links do not wait on each other.
type linkHold struct {
	mu     sync.Mutex
	owners map[string]bool
	// restore: the proxy was enabled when the first owner took hold, so it
	// is enabled when the last lets go. A proxy someone else disabled is
	// left as it was found.
	restore bool
}

func (p *Plane) hold(l Link) *linkHold {
	p.mu.Lock()
	defer p.mu.Unlock()
	h := p.holds[l]
	if h == nil {
		h = &linkHold{owners: map[string]bool{}}
		p.holds[l] = h
	}
	return h
}

// Disable takes link l's proxy off the network on behalf of owner: new
// connections are refused and open ones closed until every owner holding it
// has called Enable. An owner holds a link once however often it disables
// it, so owners that may overlap (two partitions) use distinct names.
func (p *Plane) Disable(l Link, owner string) error {
	if p.Proxy(l) == nil {
		return fmt.Errorf("fault plane: no proxy for link %s", l)
	}
	h := p.hold(l)
	h.mu.Lock()
	defer h.mu.Unlock()
	return p.disableLocked(h, l, owner)
}

func (p *Plane) disableLocked(h *linkHold, l Link, owner string) error {
	if h.owners[owner] {
		return nil
	}
	if len(h.owners) == 0 {
		// A fresh copy from the server: the plane's shared proxy value must
		// not be changed by Disable, and it shows the proxy's present state.
		px, err := p.client.Proxy(ProxyName(p.run, l))
		if err != nil {
			return fmt.Errorf("read proxy %s: %w", l, err)
		}
		h.restore = false
		if px.Enabled {
			if err := px.Disable(); err != nil {
				return fmt.Errorf("disable proxy %s: %w", l, err)
			}
			h.restore = true
			p.logFlip(l, owner, "disabled")
		}
	}
	h.owners[owner] = true
	return nil
}

// Enable releases owner's hold on link l and enables its proxy when no
// other owner holds it. Without a hold of owner it does nothing, so a
// retried revert is safe; after a failure the hold stays, and a retry
// enables the proxy. A link whose proxy is gone (the plane was closed) has
// nothing to enable.
func (p *Plane) Enable(l Link, owner string) error {
	h := p.hold(l)
	h.mu.Lock()
	defer h.mu.Unlock()
	return p.enableLocked(h, l, owner)
}

func (p *Plane) enableLocked(h *linkHold, l Link, owner string) error {
	if !h.owners[owner] {
		return nil
	}
	if len(h.owners) == 1 && h.restore && p.Proxy(l) != nil {
		px, err := p.client.Proxy(ProxyName(p.run, l))
		switch {
		case isNotFound(err):
			// Deleted meanwhile: nothing left to enable.
		case err != nil:
			return fmt.Errorf("read proxy %s: %w", l, err)
		case !px.Enabled:
			if err := px.Enable(); err != nil {
				return fmt.Errorf("enable proxy %s: %w", l, err)
			}
			p.logFlip(l, owner, "enabled")
		}
	}
	delete(h.owners, owner)
	return nil
}

// Retarget points link l's proxy at upstream and, when owner holds l,
// releases its hold in the same update: a proxy no other owner holds is
// enabled with its new upstream (toxiproxy dials the upstream in its accept
// loop, so a proxy enabled while it still points at a vanished address
// would hang in that dial). Toxiproxy restarts a proxy whose upstream
// changes, closing its connections; a proxy other owners hold stays
// disabled.
func (p *Plane) Retarget(l Link, upstream, owner string) error {
	if p.Proxy(l) == nil {
		return fmt.Errorf("fault plane: no proxy for link %s", l)
	}
	h := p.hold(l)
	h.mu.Lock()
	defer h.mu.Unlock()
	px, err := p.client.Proxy(ProxyName(p.run, l))
	if err != nil {
		return fmt.Errorf("read proxy %s: %w", l, err)
	}
	held := h.owners[owner]
	enable := px.Enabled
	if held && len(h.owners) == 1 && h.restore {
		enable = true
	}
	if px.Upstream != upstream || px.Enabled != enable {
		px.Upstream = upstream
		px.Enabled = enable
		if err := px.Save(); err != nil {
			return fmt.Errorf("point proxy %s at %s: %w", l, upstream, err)
		}
	}
	delete(h.owners, owner)
	return nil
}

// HeldBy returns the owners holding link l's proxy disabled, sorted.
func (p *Plane) HeldBy(l Link) []string {
	h := p.hold(l)
	h.mu.Lock()
	defer h.mu.Unlock()
	owners := make([]string, 0, len(h.owners))
	for o := range h.owners {
		owners = append(owners, o)
	}
	slices.Sort(owners)
	return owners
}

// ResetLinks closes every connection through the proxies of the links from
// or to member (a disable and enable of each). A member whose container or
// pod was killed or cut off vanished without closing its connections: peers
// would keep sending into them until a timeout, long after the member is
// back. A link another owner holds disabled has no connections and is left
// alone. A link whose enable failed stays held, and the next ResetLinks (a
// retried revert) enables it.
func (p *Plane) ResetLinks(member string) error {
	var errs []error
	for _, l := range p.Links() {
		if l.From != member && l.To != member {
			continue
		}
		if err := p.resetLink(l); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (p *Plane) resetLink(l Link) error {
	h := p.hold(l)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.owners) > 0 && !(len(h.owners) == 1 && h.owners[resetOwner]) {
		// Others hold it disabled: its connections are closed already, and
		// a reset of ours still pending gives way to them.
		delete(h.owners, resetOwner)
		return nil
	}
	if err := p.disableLocked(h, l, resetOwner); err != nil {
		return fmt.Errorf("reset proxy %s: %w", l, err)
	}
	if err := p.enableLocked(h, l, resetOwner); err != nil {
		return fmt.Errorf("re-enable proxy %s: %w", l, err)
	}
	return nil
}

func (p *Plane) logFlip(l Link, owner, state string) {
	if p.log != nil {
		p.log.WithFields(logrus.Fields{"link": l.String(), "owner": owner}).Debug("proxy " + state)
	}
}

func isNotFound(err error) bool {
	var apiErr *toxiclient.ApiError
	return errors.As(err, &apiErr) && apiErr.Status == http.StatusNotFound
}
