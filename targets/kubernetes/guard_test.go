package kubernetes_test

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	k8s "github.com/chaosctl/chaosctl/targets/kubernetes"
)

func TestGuardPolicySelectsTheRunsPodsButTheIsolatedOnes(t *testing.T) {
	pol := k8s.GuardPolicy("r1", "ns", []string{"10.88.0.1", "fd00::1"}, []string{"n2"})
	sel, err := metav1.LabelSelectorAsSelector(&pol.Spec.PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	pod := func(run, member string) labels.Set {
		return labels.Set{k8s.LabelRun: k8s.RunLabel(run), k8s.LabelMember: member}
	}
	for _, c := range []struct {
		pod  labels.Set
		want bool
	}{
		{pod("r1", "n1"), true},
		{pod("r1", k8s.PlanePod), true},
		{pod("r1", "n2"), false}, // isolated: its deny-all must stand alone
		{pod("r2", "n1"), false},
	} {
		if got := sel.Matches(c.pod); got != c.want {
			t.Errorf("guard selects %v = %v, want %v", c.pod, got, c.want)
		}
	}
	if len(pol.Spec.PolicyTypes) != 1 || pol.Spec.PolicyTypes[0] != "Ingress" {
		t.Errorf("policy types %v: the guard restricts ingress only", pol.Spec.PolicyTypes)
	}
	if len(pol.Spec.Ingress) != 1 {
		t.Fatalf("%d ingress rules, want 1", len(pol.Spec.Ingress))
	}
	from := pol.Spec.Ingress[0].From
	if len(from) != 3 || from[0].PodSelector == nil || from[0].NamespaceSelector != nil ||
		from[1].IPBlock == nil || from[1].IPBlock.CIDR != "10.88.0.1/32" || from[2].IPBlock.CIDR != "fd00::1/128" {
		t.Fatalf("ingress from %+v: want the run's pods of its namespace and the two client addresses", from)
	}
	peers, err := metav1.LabelSelectorAsSelector(from[0].PodSelector)
	if err != nil {
		t.Fatal(err)
	}
	if !peers.Matches(pod("r1", "n2")) || peers.Matches(pod("r2", "n1")) {
		t.Errorf("ingress peers %v: want every pod of run r1 and no other", peers)
	}
	if pol.Labels[k8s.LabelRun] != k8s.RunLabel("r1") {
		t.Errorf("labels %v: RemoveRun finds objects by the run label", pol.Labels)
	}
	if none := k8s.GuardPolicy("r1", "ns", nil, nil); len(none.Spec.PodSelector.MatchExpressions) != 0 {
		t.Errorf("no member isolated: selector %v", none.Spec.PodSelector)
	}
}
