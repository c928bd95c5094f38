package kubernetes

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/internal/httpcall"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// IsolationPolicyName is the NetworkPolicy Isolate applies to member.
func IsolationPolicyName(member string) string { return "chaosctl-isolate-" + member }

// IsolationPolicy denies all ingress and all egress of the pods selector
// matches, in namespace ns; it carries the run's labels.
func IsolationPolicy(run, ns, member string, selector map[string]string) *networkingv1.NetworkPolicy {
	return IsolationPolicyFor(run, ns, member, metav1.LabelSelector{MatchLabels: selector})
}

// IsolationPolicyFor is IsolationPolicy with a full label selector (match
// expressions too): it denies all ingress and all egress of the pods sel
// matches in namespace ns, is named IsolationPolicyName(member) and carries
// the run's labels, so RemoveIsolation, RemoveRun and Leftovers find it.
func IsolationPolicyFor(run, ns, member string, sel metav1.LabelSelector) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: IsolationPolicyName(member), Namespace: ns, Labels: runLabels(run, member)},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: sel,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
		},
	}
}

// ApplyIsolation creates the isolation policy of member; one that exists
// already (a retried apply) is kept.
func ApplyIsolation(ctx context.Context, cs Client, pol *networkingv1.NetworkPolicy) error {
	_, err := cs.NetworkingV1().NetworkPolicies(pol.Namespace).Create(ctx, pol, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create network policy %s/%s: %w", pol.Namespace, pol.Name, err)
	}
	return nil
}

// RemoveIsolation deletes member's isolation policy in ns; a missing one is
// fine. Only a policy carrying the run's label is deleted.
func RemoveIsolation(ctx context.Context, cs Client, run, ns, member string) error {
	name := IsolationPolicyName(member)
	pol, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("get network policy %s/%s: %w", ns, name, err)
	}
	if pol.Labels[LabelRun] != RunLabel(run) {
		return fmt.Errorf("%w: network policy %s/%s is not run %s's", ErrForbidden, ns, name, run)
	}
	err = cs.NetworkingV1().NetworkPolicies(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete network policy %s/%s: %w", ns, name, err)
	}
	return nil
}

// Isolate implements targets.Isolator: a NetworkPolicy denies all ingress
// and egress of the member's pod. Connections the policy would let live on
// (conntrack keeps established flows) are closed through the fault plane,
// and Isolate returns once a new connection from the fault-plane pod to the
// member fails, or with an error saying the cluster does not enforce
// NetworkPolicy.
func (d *Demo) Isolate(ctx context.Context, id string) error {
	if !slices.Contains(d.order, id) {
		return fmt.Errorf("no member %q; members are %v", id, d.order)
	}
	pol := IsolationPolicy(d.opts.Run, d.ns, id, map[string]string{LabelRun: RunLabel(d.opts.Run), LabelMember: id})
	d.mu.Lock()
	d.isolated[id] = true
	d.mu.Unlock()
	// Out of the guard first: its ingress from the run's pods would add up
	// with the deny-all below and let the fault plane in.
	if err := d.guard(ctx); err != nil {
		return err
	}
	if err := ApplyIsolation(ctx, d.cs, pol); err != nil {
		return err
	}
	if err := d.resetLinks(id); err != nil {
		return err
	}
	if d.memberAddr(id) == "" {
		return nil // no pod: nothing to wait for
	}
	took, err := d.waitIsolated(ctx, id, IsolateTimeout)
	if err != nil {
		return fmt.Errorf("isolate %s: %w (does the cluster enforce NetworkPolicy? kube-router, Calico and Cilium do)", id, err)
	}
	d.opts.Log.WithField("member", id).WithField("took", took.Round(time.Millisecond)).Debug("network policy in effect")
	return nil
}

// Rejoin implements targets.Isolator: the policy is deleted, and Rejoin
// waits until the member is reachable through the fault plane and ready
// (when it has a pod). It is idempotent.
func (d *Demo) Rejoin(ctx context.Context, id string) error {
	if !slices.Contains(d.order, id) {
		return fmt.Errorf("no member %q; members are %v", id, d.order)
	}
	if err := RemoveIsolation(ctx, d.cs, d.opts.Run, d.ns, id); err != nil {
		return err
	}
	d.mu.Lock()
	delete(d.isolated, id)
	d.mu.Unlock()
	if err := d.guard(ctx); err != nil {
		return err
	}
	if d.memberAddr(id) == "" {
		return nil // crashed meanwhile: Start brings it back
	}
	if _, err := d.waitReachable(ctx, id, true, d.opts.ReadyTimeout); err != nil {
		return fmt.Errorf("rejoin %s: %w", id, err)
	}
	if err := d.waitReady(ctx, id); err != nil {
		return err
	}
	return d.resetLinks(id)
}

// probeLink is a link into id whose proxy the reachability probe uses: the
// client's when id is a gateway, else the first link to it.
func (d *Demo) probeLink(id string) (faultplane.Link, bool) {
	for _, l := range d.links {
		if l.To == id {
			return l, true
		}
	}
	return faultplane.Link{}, false
}

// waitReachable polls a fresh connection from the fault-plane pod to member
// id (an HTTP GET /readyz through a probe-only proxy) until it succeeds
// (want) or fails (!want), and returns how long that took.
func (d *Demo) waitReachable(ctx context.Context, id string, want bool, within time.Duration) (time.Duration, error) {
	px, err := d.probeProxy(id)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	for {
		ok := d.probeOnce(ctx, px)
		if ok == want {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			state := "still reachable"
			if want {
				state = "still unreachable"
			}
			return 0, fmt.Errorf("%s from the fault-plane pod after %s: %w", state, within, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// isolatedRounds is how many probe rounds in a row must find a member cut
// off both ways before Isolate believes its policy is in effect: a probe
// fails on a busy machine too, and the policy controller may program one
// direction before the other.
const isolatedRounds = 3

// isolationProbeTimeout bounds one probe of a member that should be cut off,
// as long as a receipt's probe of a cut link waits.
const isolationProbeTimeout = 500 * time.Millisecond

// egressPeers is how many of a member's links waitIsolated probes outwards.
const egressPeers = 3

// waitIsolated polls until isolatedRounds rounds in a row find member id
// unreachable from the fault-plane pod (ingress) and unable to reach a peer
// through the fault plane (egress, asked of its reach control), and returns
// how long that took. A reach control that does not answer (the cluster
// keeps chaosctl out of isolated pods) leaves egress unproven and ingress
// decides.
func (d *Demo) waitIsolated(ctx context.Context, id string, within time.Duration) (time.Duration, error) {
	px, err := d.probeProxy(id)
	if err != nil {
		return 0, err
	}
	// Egress is asked of up to egressPeers links: a peer that is down fails
	// a probe with or without the policy, one that answers proves the way out.
	var peers []string
	for _, l := range d.links {
		if l.From == id && len(peers) < egressPeers {
			peers = append(peers, l.To)
		}
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	cut, last := 0, ""
	for {
		var in atomic.Bool
		reached := make([]bool, len(peers))
		// A panic in a probe is passed on to the fault's goroutine (the
		// run's crash path).
		var g crash.Group
		g.Go("the ingress probe of "+id, func() { in.Store(d.probeWithin(ctx, px, isolationProbeTimeout)) })
		for i, peer := range peers {
			g.Go("the egress probe of "+id+" to "+peer, func() {
				var ans api.ReachAnswer
				cctx, ccancel := context.WithTimeout(ctx, isolationProbeTimeout+2*time.Second)
				defer ccancel()
				err := d.Control(cctx, id, "reach", api.ReachRequest{To: peer, Timeout: isolationProbeTimeout.String()}, &ans)
				reached[i] = err == nil && ans.OK
			})
		}
		g.Wait()
		cut++
		if in.Load() {
			cut, last = 0, "the fault-plane pod still reaches "+id
		}
		for i, ok := range reached {
			if ok {
				cut, last = 0, id+" still reaches "+peers[i]+" through the fault plane"
			}
		}
		if cut >= isolatedRounds {
			return time.Since(start), nil
		}
		select {
		case <-ctx.Done():
			if last == "" {
				last = "probes kept failing, but not " + fmt.Sprint(isolatedRounds) + " rounds in a row"
			}
			return 0, fmt.Errorf("not cut off after %s (%s): %w", within, last, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// probeProxy returns the address of a proxy in the fault plane that
// forwards to member id and carries no faults: the pod-to-pod path the
// reachability probe takes. It is made once per member.
func (d *Demo) probeProxy(id string) (string, error) {
	name := faultplane.NamePrefix + d.opts.Run + "-probe-" + id
	up := d.memberAddr(id)
	if up == "" {
		return "", fmt.Errorf("member %s has no pod IP", id)
	}
	l, ok := d.probeLink(id)
	if !ok {
		return "", fmt.Errorf("member %s has no link", id)
	}
	port := d.linkPort[l] + probePortOffset
	listen := net.JoinHostPort("0.0.0.0", fmt.Sprint(port))
	px, err := d.plane.Client().Proxy(name)
	if err != nil {
		if px, err = d.plane.Client().CreateProxy(name, listen, up); err != nil {
			return "", fmt.Errorf("create probe proxy for %s: %w", id, err)
		}
	} else if px.Upstream != up {
		px.Upstream = up
		if err := px.Save(); err != nil {
			return "", fmt.Errorf("point probe proxy at %s: %w", up, err)
		}
	}
	return net.JoinHostPort(d.planeIP, fmt.Sprint(port)), nil
}

// probePortOffset puts a probe proxy's port beside its link's.
const probePortOffset = 10000

// probeOnce sends one GET /readyz over a new connection to addr.
func (d *Demo) probeOnce(ctx context.Context, addr string) bool {
	return d.probeWithin(ctx, addr, 300*time.Millisecond)
}

// probeWithin is probeOnce with its own timeout.
func (d *Demo) probeWithin(ctx context.Context, addr string, timeout time.Duration) bool {
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	code, err := httpcall.Status(ctx, hc, "http://"+addr+"/readyz")
	return err == nil && code == http.StatusOK
}
