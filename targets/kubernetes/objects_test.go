package kubernetes_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	k8s "github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/kubernetes/kubetest"
)

// These tests run against a real kube-apiserver and etcd (envtest): no
// kubelet runs pods and no controller finalizes namespaces, so they check
// the objects chaosctl creates and deletes, not their effect.

func apiClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	return kubetest.Clientset(t, kubetest.APIServer(t))
}

func testSpec(t *testing.T, persistence string) demo.ClusterSpec {
	t.Helper()
	spec := demo.ClusterSpec{Nodes: 3, Gateways: 1, Persistence: persistence}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	return spec
}

func newDemo(t *testing.T, cs kubernetes.Interface, spec demo.ClusterSpec, opts k8s.DemoOptions) *k8s.Demo {
	t.Helper()
	if opts.Log == nil {
		opts.Log = logrus.NewEntry(logrus.New())
	}
	opts.Image = "chaosctl:test"
	opts.DeleteTimeout = -1 // no namespace controller here
	d, err := k8s.NewDemo(cs, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// tokenFromSecret says whether c gets the control token from the run's
// Secret, and not in clear.
func tokenFromSecret(c corev1.Container) bool {
	for _, e := range c.Env {
		if e.Name == demo.EnvControlToken {
			return e.Value == "" && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil && e.ValueFrom.SecretKeyRef.Name == k8s.SecretName
		}
	}
	return false
}

func TestObjectsCreatedAndRemoved(t *testing.T) {
	cs := apiClient(t)
	ctx := context.Background()
	d := newDemo(t, cs, testSpec(t, demo.PersistDisk), k8s.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Run: "objs1"}, StorageClass: "fast"})
	if err := d.CreateObjects(ctx); err != nil {
		t.Fatal(err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "chaosctl-objs1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels[k8s.LabelRun] != "objs1" {
		t.Fatalf("namespace labels %v", ns.Labels)
	}
	plane, err := cs.CoreV1().Pods(d.Namespace()).Get(ctx, k8s.PlanePod, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := plane.Spec.Containers[0]
	if c.ImagePullPolicy != corev1.PullNever || c.Image != "chaosctl:test" || c.Args[2] != "proxy" {
		t.Fatalf("fault-plane container: %+v", c)
	}
	if sc := c.SecurityContext; sc == nil || *sc.ReadOnlyRootFilesystem != true || *sc.AllowPrivilegeEscalation {
		t.Fatalf("fault-plane security context: %+v", sc)
	}
	// The plane's API requires the run's token: it comes from the Secret
	// (never the spec, never the args).
	if !tokenFromSecret(c) || strings.Contains(strings.Join(c.Args, " "), d.Token()) {
		t.Fatalf("fault-plane token: env %+v, args %v", c.Env, c.Args)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		if _, err := cs.CoreV1().PersistentVolumeClaims(d.Namespace()).Get(ctx, "data-"+id, metav1.GetOptions{}); err != nil {
			t.Fatalf("claim of %s: %v", id, err)
		}
	}
	svc, err := cs.CoreV1().Services(d.Namespace()).Get(ctx, k8s.ServiceName, metav1.GetOptions{})
	if err != nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Fatalf("headless service: %v %+v", err, svc)
	}

	// Member pods: the token from the Secret (never in the pod spec), the
	// data on the node's claim, peers through the fault plane.
	for _, id := range []string{"n1", "g1"} {
		p, err := d.MemberPod(id)
		if err != nil {
			t.Fatal(err)
		}
		created, err := cs.CoreV1().Pods(d.Namespace()).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create %s: %v", id, err)
		}
		if created.Labels[k8s.LabelMember] != id || created.Spec.Hostname != id || created.Spec.Subdomain != k8s.ServiceName {
			t.Fatalf("pod %s meta: %v %s %s", id, created.Labels, created.Spec.Hostname, created.Spec.Subdomain)
		}
		for _, e := range created.Spec.Containers[0].Env {
			if e.Name == demo.EnvControlToken && (e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef.Name != k8s.SecretName) {
				t.Fatalf("token env of %s: %+v", id, e)
			}
		}
		if strings.Contains(strings.Join(created.Spec.Containers[0].Args, " "), d.Token()) {
			t.Fatalf("token of %s in its args", id)
		}
	}
	n1, _ := cs.CoreV1().Pods(d.Namespace()).Get(ctx, "n1", metav1.GetOptions{})
	if v := n1.Spec.Volumes; len(v) != 1 || v[0].PersistentVolumeClaim == nil || v[0].PersistentVolumeClaim.ClaimName != "data-n1" {
		t.Fatalf("n1 volumes: %+v", v)
	}

	// Kill deletes the pod with zero grace and returns once it is gone.
	if err := d.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(d.Namespace()).Get(ctx, "n1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("n1 after Kill: %v", err)
	}
	if err := d.Kill(ctx, "nope"); err == nil {
		t.Fatal("Kill of an unknown member succeeded")
	}

	left, err := k8s.Leftovers(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	if got := left["objs1"]; len(got) != 1 || got[0] != "namespace chaosctl-objs1" {
		t.Fatalf("leftovers before close: %v", left)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatalf("second close: %v", err)
	}
	pods, err := cs.CoreV1().Pods(d.Namespace()).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 0 {
		t.Fatalf("pods after close: %d", len(pods.Items))
	}
	ns, err = cs.CoreV1().Namespaces().Get(ctx, "chaosctl-objs1", metav1.GetOptions{})
	if err == nil && ns.DeletionTimestamp == nil {
		t.Fatal("namespace not being deleted after close")
	}
}

func TestProtectedAndForeignNamespaces(t *testing.T) {
	cs := apiClient(t)
	ctx := context.Background()
	spec := testSpec(t, demo.PersistMemory)
	for _, ns := range k8s.ProtectedNamespaces {
		_, err := k8s.NewDemo(cs, spec, k8s.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Run: "p1", Log: logrus.NewEntry(logrus.New())}, Namespace: ns, Allow: []string{ns}, Image: "x"})
		if !errors.Is(err, k8s.ErrForbidden) {
			t.Fatalf("namespace %s: err %v, want ErrForbidden", ns, err)
		}
	}
	// A namespace of the user's is used only when allowed, and then only the
	// run's objects leave it.
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d := newDemo(t, cs, spec, k8s.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Run: "f1"}, Namespace: "team-a"})
	if err := d.CreateObjects(ctx); !errors.Is(err, k8s.ErrForbidden) {
		t.Fatalf("unallowed namespace: err %v", err)
	}
	if l, _ := cs.CoreV1().Pods("team-a").List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Fatalf("refused run created %d pods", len(l.Items))
	}
	foreign := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "app", Namespace: "team-a", Labels: map[string]string{"app": "x"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "app:1"}}}}
	if _, err := cs.CoreV1().Pods("team-a").Create(ctx, foreign, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	d = newDemo(t, cs, spec, k8s.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Run: "f2"}, Namespace: "team-a", Allow: []string{"team-a"}})
	if err := d.CreateObjects(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods("team-a").Get(ctx, "app", metav1.GetOptions{}); err != nil {
		t.Fatalf("the user's pod: %v", err)
	}
	ns, err := cs.CoreV1().Namespaces().Get(ctx, "team-a", metav1.GetOptions{})
	if err != nil || ns.DeletionTimestamp != nil {
		t.Fatalf("the user's namespace: %v %v", err, ns.DeletionTimestamp)
	}
	for _, kind := range []string{"pods", "services", "secrets"} {
		n := 0
		switch kind {
		case "pods":
			l, _ := cs.CoreV1().Pods("team-a").List(ctx, metav1.ListOptions{LabelSelector: k8s.LabelRun})
			n = len(l.Items)
		case "services":
			l, _ := cs.CoreV1().Services("team-a").List(ctx, metav1.ListOptions{LabelSelector: k8s.LabelRun})
			n = len(l.Items)
		case "secrets":
			l, _ := cs.CoreV1().Secrets("team-a").List(ctx, metav1.ListOptions{LabelSelector: k8s.LabelRun})
			n = len(l.Items)
		}
		if n != 0 {
			t.Errorf("%d labelled %s left in team-a", n, kind)
		}
	}
}

func TestIsolationPolicyAndRecover(t *testing.T) {
	cs := apiClient(t)
	ctx := context.Background()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	sel := map[string]string{"app": "cart"}
	pol := k8s.IsolationPolicy("r9", "shop", "cart", sel)
	if err := k8s.ApplyIsolation(ctx, cs, pol); err != nil {
		t.Fatal(err)
	}
	if err := k8s.ApplyIsolation(ctx, cs, pol); err != nil {
		t.Fatalf("second apply: %v", err)
	}
	got, err := cs.NetworkingV1().NetworkPolicies("shop").Get(ctx, k8s.IsolationPolicyName("cart"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Spec.PolicyTypes) != 2 || len(got.Spec.Ingress) != 0 || len(got.Spec.Egress) != 0 || got.Spec.PodSelector.MatchLabels["app"] != "cart" {
		t.Fatalf("policy does not deny all ingress and egress of app=cart: %+v", got.Spec)
	}
	// Another run's policy is not removed.
	if err := k8s.RemoveIsolation(ctx, cs, "other", "shop", "cart"); !errors.Is(err, k8s.ErrForbidden) {
		t.Fatalf("removing another run's policy: %v", err)
	}
	left, err := k8s.Leftovers(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	if got := left["r9"]; len(got) != 1 || got[0] != "networkpolicy shop/chaosctl-isolate-cart" {
		t.Fatalf("leftovers: %v", left)
	}
	// recover's path: everything labelled with the run goes, by label.
	removed, err := k8s.RemoveRun(ctx, cs, "r9", k8s.RemoveOptions{Wait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 {
		t.Fatalf("removed %v", removed)
	}
	if left, _ := k8s.Leftovers(ctx, cs); len(left["r9"]) != 0 {
		t.Fatalf("leftovers after RemoveRun: %v", left)
	}
	if err := k8s.RemoveIsolation(ctx, cs, "r9", "shop", "cart"); err != nil {
		t.Fatalf("removing a removed policy: %v", err)
	}
	if removed, err := k8s.RemoveRun(ctx, cs, "r9", k8s.RemoveOptions{}); err != nil || len(removed) != 0 {
		t.Fatalf("second RemoveRun: %v %v", removed, err)
	}
}
