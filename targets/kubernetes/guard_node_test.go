package kubernetes_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	k8s "github.com/chaosctl/chaosctl/targets/kubernetes"
)

// The guard policy: a pod of another namespace (a stranger: the fault-plane
// pod of a second run, whose toxiproxy forwards for us) reaches none of the
// run's pods, not the fault plane's API, a member's supervisor or a member,
// while chaosctl on the node reaches them all and the run's own pods reach
// each other (the cluster serves through the fault plane).
func TestGuardLetsInOnlyTheRunAndTheClient(t *testing.T) {
	d, cs, opts := startNodeDemo(t, testSpec(t, demo.PersistMemory), "")
	ctx := context.Background()
	hc := &http.Client{Timeout: 2 * time.Second}
	pol, err := cs.NetworkingV1().NetworkPolicies(d.Namespace()).Get(ctx, k8s.GuardPolicyName, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("guard policy: %v", err)
	}
	t.Logf("guard admits %d peers: %v", len(pol.Spec.Ingress[0].From), pol.Spec.Ingress[0].From[1:])

	// The stranger: a second run's objects only (namespace and fault-plane
	// pod), with no guard of its own.
	sopts := *opts
	sopts.Run = opts.Run + "x"
	sopts.Dir = t.TempDir()
	stranger, err := k8s.NewDemo(cs, testSpec(t, demo.PersistMemory), sopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stranger.Close(context.Background())
		expectNoLeftovers(t, cs, sopts.Run)
	})
	if err := stranger.CreateObjects(ctx); err != nil {
		t.Fatal(err)
	}
	var strangerIP string
	testkit.Eventually(t, 2*time.Minute, "the stranger's fault-plane pod runs", func() bool {
		p, err := cs.CoreV1().Pods(stranger.Namespace()).Get(ctx, k8s.PlanePod, metav1.GetOptions{})
		if err != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
			return false
		}
		strangerIP = p.Status.PodIP
		for _, c := range p.Status.ContainerStatuses {
			if !c.Ready {
				return false
			}
		}
		return true
	})
	tox := faultplane.NewClient("http://"+net.JoinHostPort(strangerIP, strconv.Itoa(democluster.PlanePort)), stranger.Token())

	n1 := addrOf(d, "n1")
	n1IP, _, _ := net.SplitHostPort(n1)
	planeAPI := strings.TrimPrefix(d.Plane().URL(), "http://")
	targets := []struct{ what, addr, path string }{
		{"the stranger's own API (the path works)", net.JoinHostPort("127.0.0.1", strconv.Itoa(democluster.PlanePort)), "/version"},
		{"the run's fault-plane API", planeAPI, "/version"},
		{"n1's supervisor", net.JoinHostPort(n1IP, strconv.Itoa(k8s.SupervisorPort)), "/"},
		{"n1", n1, "/healthz"},
	}
	short := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i, tg := range targets {
		port := 30000 + i
		if _, err := tox.CreateProxy(fmt.Sprintf("guard-%d", i), net.JoinHostPort("0.0.0.0", strconv.Itoa(port)), tg.addr); err != nil {
			t.Fatal(err)
		}
		via := "http://" + net.JoinHostPort(strangerIP, strconv.Itoa(port)) + tg.path
		if i == 0 {
			testkit.Eventually(t, 10*time.Second, tg.what, func() bool { _, err := get(t, short, via); return err == nil })
			continue
		}
		if code, err := get(t, short, via); err == nil {
			t.Errorf("from another namespace, %s answered %d", tg.what, code)
		}
		// chaosctl itself, on the node, still reaches it.
		if _, err := get(t, hc, "http://"+tg.addr+tg.path); err != nil {
			t.Errorf("from the node, %s: %v", tg.what, err)
		}
	}
	// The run's pods reach each other: a write through the fault plane needs
	// the gateway, the plane and a quorum of nodes.
	put(t, hc, "http://"+d.ClientAddrs()[0], "guarded", "v")
}
