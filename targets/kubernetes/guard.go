package kubernetes

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"

	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaosctl/chaosctl/targets/democluster"
)

// GuardPolicyName is the NetworkPolicy that lets into a run's pods only the
// run's own pods and the client (chaosctl).
const GuardPolicyName = "chaosctl-guard"

// GuardPolicy admits ingress to the pods of run in namespace ns from the
// run's pods and from the client addresses only: the fault plane's API and
// proxies, the members' supervisors and the members are closed to every
// other pod of the cluster. isolated members are left out of it: policies
// add up, and one that lets the run's pods in would undo the deny-all of
// their isolation policy. Egress is not restricted.
func GuardPolicy(run, ns string, clients, isolated []string) *networkingv1.NetworkPolicy {
	sel := metav1.LabelSelector{MatchLabels: map[string]string{LabelRun: RunLabel(run)}}
	if len(isolated) > 0 {
		sel.MatchExpressions = []metav1.LabelSelectorRequirement{{
			Key: LabelMember, Operator: metav1.LabelSelectorOpNotIn, Values: slices.Sorted(slices.Values(isolated)),
		}}
	}
	from := []networkingv1.NetworkPolicyPeer{{
		PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{LabelRun: RunLabel(run)}},
	}}
	for _, c := range clients {
		from = append(from, networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: hostCIDR(c)}})
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: GuardPolicyName, Namespace: ns, Labels: runLabels(run, "")},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: sel,
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{{From: from}},
		},
	}
}

// hostCIDR is the one-address CIDR of ip.
func hostCIDR(ip string) string {
	if p := net.ParseIP(ip); p != nil && p.To4() == nil {
		return ip + "/128"
	}
	return ip + "/32"
}

// ClientAddresses are the addresses this host sends from to reach ip: the
// source of chaosctl's calls to the run's pods (readiness, control,
// supervisors, the workload through the fault plane) as the pods see it.
// No packet is sent: a UDP socket only picks its route.
func ClientAddresses(ip string) ([]string, error) {
	conn, err := net.Dial("udp", net.JoinHostPort(ip, strconv.Itoa(democluster.PlanePort)))
	if err != nil {
		return nil, fmt.Errorf("find this host's address towards %s: %w", ip, err)
	}
	defer conn.Close()
	host, _, err := net.SplitHostPort(conn.LocalAddr().String())
	if err != nil {
		return nil, fmt.Errorf("find this host's address towards %s: %w", ip, err)
	}
	return []string{host}, nil
}

// guard creates the run's guard policy, or updates it for the members
// isolated now.
func (d *Demo) guard(ctx context.Context) error {
	d.guardMu.Lock()
	defer d.guardMu.Unlock()
	d.mu.Lock()
	var isolated []string
	for id, on := range d.isolated {
		if on {
			isolated = append(isolated, id)
		}
	}
	d.mu.Unlock()
	return ApplyGuard(ctx, d.cs, d.opts.Run, GuardPolicy(d.opts.Run, d.ns, d.guardClients, isolated))
}

// ApplyGuard creates run's guard policy pol, or brings the one there to
// pol's spec; a policy of that name that is not run's is refused.
func ApplyGuard(ctx context.Context, cs Client, run string, pol *networkingv1.NetworkPolicy) error {
	pols := cs.NetworkingV1().NetworkPolicies(pol.Namespace)
	cur, err := pols.Get(ctx, pol.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := pols.Create(ctx, pol, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("create network policy %s/%s: %w", pol.Namespace, pol.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("get network policy %s/%s: %w", pol.Namespace, pol.Name, err)
	}
	if cur.Labels[LabelRun] != RunLabel(run) {
		return fmt.Errorf("%w: network policy %s/%s is not run %s's", ErrForbidden, pol.Namespace, pol.Name, run)
	}
	cur.Spec = pol.Spec
	if _, err := pols.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("update network policy %s/%s: %w", pol.Namespace, pol.Name, err)
	}
	return nil
}
