package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaosctl/chaosctl/experiments/gameday"
	"github.com/chaosctl/chaosctl/experiments/report"
	k8s "github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/kubernetes/kubetest"
)

// kubeNode returns a client of the test node (`make k8s-up`) with this
// binary's image loaded on it, and points KUBECONFIG at the node for the
// chaosctl processes the test starts; it skips (or fails where
// CHAOSCTL_REQUIRE_INTEGRATION=1) without a node.
func kubeNode(t *testing.T) kubernetes.Interface {
	t.Helper()
	cfg := kubetest.Node(t)
	kubetest.LoadImage(t, binary, "")
	t.Setenv("KUBECONFIG", kubetest.Kubeconfig())
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// noKubeLeftovers fails when any object labelled with a run recorded in
// state remains in the cluster.
func noKubeLeftovers(t *testing.T, cs kubernetes.Interface, state string) {
	t.Helper()
	runs := runsIn(t, state)
	if len(runs) == 0 {
		t.Fatalf("no run recorded in %s", state)
	}
	left, err := k8s.Leftovers(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if objs := left[k8s.RunLabel(r)]; len(objs) > 0 {
			t.Errorf("run %s left %v", r, objs)
		}
	}
}

func TestKubernetesRuntimeReachesTheProcessRuntimesVerdicts(t *testing.T) {
	cs := kubeNode(t)
	passesLikeProcesses(t, "kubernetes", func(t *testing.T, state string) { noKubeLeftovers(t, cs, state) },
		"../../examples/quickstart.yaml", "../../examples/kubernetes.yaml")
}

func TestKubernetesRunInterruptedOrKilledLeavesNothing(t *testing.T) {
	cs := kubeNode(t)
	interruptedOrKilledLeavesNothing(t, "testdata/kubernetes-long.yaml",
		func(t *testing.T, state string) { noKubeLeftovers(t, cs, state) },
		func(t *testing.T, run string) {
			ns := k8s.NamespaceName(run)
			pols, err := cs.NetworkingV1().NetworkPolicies(ns).List(context.Background(), metav1.ListOptions{})
			if err != nil || len(pols.Items) != 1 {
				t.Fatalf("before recover, namespace %s has policies %v (%v); want the isolation", ns, pols, err)
			}
		},
		func(run string) string { return "removed namespace " + k8s.NamespaceName(run) })
}

// Bad kubernetes input exits 2 before anything is created.
func TestKubernetesBadInputExits2(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	src := "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: k}\n" +
		"target:\n  kubernetes: {namespace: kube-system, storageClas: x}\n" +
		"workload: {rate: 10, duration: 2s}\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := run(t, "run", bad, "--state-dir", filepath.Join(dir, "state"))
	if code != 2 || !strings.Contains(stderr, bad+":5:27: target.kubernetes.namespace: kube-system is never touched") ||
		!strings.Contains(stderr, `unknown field "storageClas"`) {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	// Pod deletion with disk persistence and no storage class would lose
	// the data: refused before the cluster is even contacted (KUBECONFIG
	// points nowhere).
	src = "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: k}\n" +
		"target:\n  kubernetes: {crash: pod}\n  demo: {persistence: disk}\n" +
		"workload: {rate: 10, duration: 2s}\nchecks: [no-lost-writes]\n"
	if err := os.WriteFile(bad, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code = runEnv(t, []string{"KUBECONFIG=" + filepath.Join(dir, "none")},
		"run", bad, "--state-dir", filepath.Join(dir, "state"), "--out", filepath.Join(dir, "out"))
	if code != 2 || !strings.Contains(stderr, "storageClass") {
		t.Fatalf("crash pod, disk, no storage class: exit %d\n%s", code, stderr)
	}
}

// No cluster reachable: exit 5 naming the kubeconfig, nothing applied.
func TestKubernetesWithoutAClusterExits5(t *testing.T) {
	dir := t.TempDir()
	kc := filepath.Join(dir, "kubeconfig")
	conf := "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n" +
		"contexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: x}}]\n"
	if err := os.WriteFile(kc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	_, stderr, code := runEnv(t, []string{"KUBECONFIG=" + kc}, "run", "../../examples/quickstart.yaml", "--target", "kubernetes",
		"--state-dir", filepath.Join(dir, "state"), "--out", out)
	if code != 5 || !strings.Contains(stderr, "no Kubernetes API server reachable") || !strings.Contains(stderr, "127.0.0.1:1") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	expectNothingApplied(t, out)
}

// An image the node does not have: exit 5 with the kubelet's reason, no
// fault applied, nothing left.
func TestKubernetesMissingImageExits5(t *testing.T) {
	cs := kubeNode(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "missing.yaml")
	src := "apiVersion: chaosctl/v1\nkind: Experiment\nmetadata: {name: missing-image}\n" +
		"target:\n  kubernetes: {image: 'chaosctl:not-on-the-node'}\n  demo: {nodes: 1}\n" +
		"workload: {rate: 10, duration: 2s}\nfaults: [{name: c, at: 1s, crash: {nodes: [n1]}}]\nchecks: [linearizable]\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, state := filepath.Join(dir, "out"), filepath.Join(dir, "state")
	_, stderr, code := run(t, "run", file, "--out", out, "--state-dir", state)
	if code != 5 || !strings.Contains(stderr, "ErrImageNeverPull") {
		t.Fatalf("exit %d\n%s", code, tail(stderr, 20))
	}
	expectNothingApplied(t, out)
	noKubeLeftovers(t, cs, state)
}

// A GameDay's shared target on the kubernetes runtime: every step passes
// and the namespace is gone afterwards.
func TestKubernetesGameDay(t *testing.T) {
	cs := kubeNode(t)
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	stdout, stderr, code := run(t, "gameday", "testdata/gameday-short.yaml", "--yes", "--target", "kubernetes", "--out", out, "--state-dir", state)
	if code != 0 {
		t.Fatalf("exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 30))
	}
	r, err := gameday.ReadJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != report.Pass || r.Runtime != "kubernetes" {
		t.Errorf("gameday = %s (%s) on %s", r.Verdict, r.Reason, r.Runtime)
	}
	noKubeLeftovers(t, cs, state)
}
