package main

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/chaosctl/chaosctl/experiments/gameday"
	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/docker"
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
			var names []string
			isolations := 0
			for _, p := range pols.Items {
				names = append(names, p.Name)
				if strings.HasPrefix(p.Name, k8s.IsolationPolicyName("")) {
					isolations++
				}
			}
			if err != nil || isolations != 1 || !slices.Contains(names, k8s.GuardPolicyName) {
				t.Fatalf("before recover, namespace %s has policies %v (%v); want the run's guard and one isolation", ns, names, err)
			}
		},
		func(run string) string { return "removed namespace " + k8s.NamespaceName(run) })
}

// The dead-man switch of the kubernetes runtime, as on docker
// (TestDockerPlaneRevertsWhenChaosctlIsKilled): the fault-plane pod, its
// lease (target.leaseTTL: 1s) no longer renewed, removes every toxic and
// enables every proxy by itself; recover then removes the run's namespace.
func TestKubernetesPlaneRevertsWhenChaosctlIsKilled(t *testing.T) {
	cs := kubeNode(t)
	planeRevertsWhenKilled(t, "testdata/kubernetes-lease.yaml", func(t *testing.T, state string) { noKubeLeftovers(t, cs, state) })
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

// shopWorkload makes the user's workload of examples/kubernetes-own-workload.yaml
// on the test node: namespace shop, a Deployment web of one chaosctl pod
// serving GET /version on the node's hostPort 18080. It is deleted at the
// end of the test.
func shopWorkload(t *testing.T, cs kubernetes.Interface, image string) {
	t.Helper()
	ctx := context.Background()
	waitNamespaceGone := func() {
		testkit.Eventually(t, 2*time.Minute, "namespace shop gone", func() bool {
			_, err := cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		})
	}
	_ = cs.CoreV1().Namespaces().Delete(ctx, "shop", metav1.DeleteOptions{}) // a failed earlier run's
	waitNamespaceGone()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.CoreV1().Namespaces().Delete(ctx, "shop", metav1.DeleteOptions{})
		waitNamespaceGone()
	})
	one, user, yes, no := int32(1), int64(65532), true, false
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: &no,
					SecurityContext:              &corev1.PodSecurityContext{RunAsUser: &user, RunAsNonRoot: &yes},
					Containers: []corev1.Container{{
						Name: "web", Image: image, ImagePullPolicy: corev1.PullNever,
						Args:  []string{"proxy", "--listen", "0.0.0.0:8474"},
						Ports: []corev1.ContainerPort{{ContainerPort: 8474, HostPort: 18080}},
						ReadinessProbe: &corev1.Probe{PeriodSeconds: 1, ProbeHandler: corev1.ProbeHandler{
							HTTPGet: &corev1.HTTPGetAction{Path: "/version", Port: intstr.FromInt32(8474)},
						}},
						SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes},
					}},
				},
			},
		},
	}
	if _, err := cs.AppsV1().Deployments("shop").Create(ctx, dep, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: time.Second}
	testkit.Eventually(t, 2*time.Minute, "web ready and answering on the node's port 18080", func() bool {
		pods, err := cs.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil || len(pods.Items) != 1 {
			return false
		}
		ready := false
		for _, c := range pods.Items[0].Status.Conditions {
			ready = ready || (c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue)
		}
		resp, err := hc.Get("http://10.244.0.1:18080/version")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return ready && resp.StatusCode == http.StatusOK
	})
}

// The user's own workload on Kubernetes: its pod deleted (the Deployment
// brings it back) and isolated by a NetworkPolicy, judged against an SLO;
// the user's objects stay, chaosctl's go.
func TestKubernetesOwnWorkload(t *testing.T) {
	cs := kubeNode(t)
	image, err := docker.ImageRefFor(binary, "")
	if err != nil {
		t.Fatal(err)
	}
	shopWorkload(t, cs, image)
	before, err := cs.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(before.Items) != 1 {
		t.Fatalf("web pods: %v %v", before, err)
	}
	res, out, code := runOn(t, "../../examples/kubernetes-own-workload.yaml", "external", func(t *testing.T, state string) { noKubeLeftovers(t, cs, state) })
	if code != 0 || res.Verdict != report.Pass {
		t.Fatalf("exit %d, verdict %s (%s)\n%s", code, res.Verdict, res.Reason, out)
	}
	for _, f := range res.Faults {
		if f.Applied == nil || f.Reverted == nil || f.Error != "" {
			t.Errorf("fault %s applied %v reverted %v error %q", f.Name, f.Applied, f.Reverted, f.Error)
		}
	}
	after, err := cs.CoreV1().Pods("shop").List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil || len(after.Items) != 1 || after.Items[0].UID == before.Items[0].UID {
		t.Fatalf("the deleted pod was not replaced by the Deployment: before %s, after %v (%v)", before.Items[0].UID, after.Items, err)
	}
	if _, err := cs.AppsV1().Deployments("shop").Get(context.Background(), "web", metav1.GetOptions{}); err != nil {
		t.Fatalf("the user's Deployment: %v", err)
	}
	pols, _ := cs.NetworkingV1().NetworkPolicies("shop").List(context.Background(), metav1.ListOptions{})
	if len(pols.Items) != 0 {
		t.Fatalf("policies left in shop: %v", pols.Items)
	}
}
