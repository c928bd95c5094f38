package kubernetes

import (
	"context"
	"net"
	"strconv"

	"github.com/chaosctl/chaosctl/internal/deadman"
)

// supervisorBases are the control APIs of the members' supervisors that
// have a pod now, in member order.
func (d *Demo) supervisorBases() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, id := range d.order {
		if ip := d.podIP[id]; ip != "" {
			out = append(out, "http://"+net.JoinHostPort(ip, strconv.Itoa(SupervisorPort)))
		}
	}
	return out
}

// keepSupervisorLeases renews the dead-man lease of every member's
// supervisor until Close: when chaosctl stops (killed, wedged, cut off from
// the cluster), each supervisor resumes its paused member and starts the
// one chaosctl held down, within the lease's TTL.
func (d *Demo) keepSupervisorLeases(ctx context.Context) error {
	ttl := d.opts.LeaseTTL
	if ttl == 0 {
		ttl = deadman.DefaultTTL
	}
	k, err := deadman.KeepEach(ctx, d.supervisorBases, d.token, ttl, d.opts.Log.WithField("component", "supervisor-lease"))
	if err != nil {
		return err
	}
	d.mu.Lock()
	d.leases = k
	d.mu.Unlock()
	return nil
}

// releaseSupervisorLeases stops renewing the supervisors' leases and
// releases them.
func (d *Demo) releaseSupervisorLeases() {
	d.mu.Lock()
	k := d.leases
	d.leases = nil
	d.mu.Unlock()
	if k != nil {
		k.Stop()
	}
}
