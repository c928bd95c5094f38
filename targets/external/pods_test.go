package external_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/docker/dockertest"
	"github.com/chaosctl/chaosctl/targets/external"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/kubernetes/kubetest"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// noCluster is a rest config no API server answers at: a Start that got as
// far as connecting fails with kubernetes.ErrNoCluster.
var noCluster = &rest.Config{Host: "http://127.0.0.1:1", Timeout: time.Second}

// A namespace chaosctl may not act in, a bad selector and a member of two
// kinds are refused before anything is touched: the cluster is never
// contacted (its config points nowhere, and the error is not ErrNoCluster).
func TestPodMemberRefusedBeforeAnythingIsTouched(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cases := []struct {
		name      string
		ms        external.MemberSpec
		allow     []string
		forbidden bool
		want      string
	}{
		{"protected namespace", external.MemberSpec{Name: "dns", PodNamespace: "kube-system", PodSelector: "k8s-app=kube-dns"}, []string{"kube-system"}, true, "kube-system"},
		{"namespace not allowed", external.MemberSpec{Name: "web", PodNamespace: "shop", PodSelector: "app=web"}, []string{"other"}, true, "target.kubernetes.allow"},
		{"bad selector", external.MemberSpec{Name: "web", PodNamespace: "shop", PodSelector: "app in (web"}, []string{"shop"}, false, "label selector"},
		{"selector without a NetworkPolicy form", external.MemberSpec{Name: "web", PodNamespace: "shop", PodSelector: "app=web,rank>3"}, []string{"shop"}, false, "no NetworkPolicy form"},
		{"empty selector", external.MemberSpec{Name: "web", PodNamespace: "shop", PodSelector: " "}, []string{"shop"}, false, "namespace and a label selector"},
		{"no namespace", external.MemberSpec{Name: "web", PodSelector: "app=web"}, []string{"shop"}, false, "namespace and a label selector"},
		{"two kinds", external.MemberSpec{Name: "web", Command: []string{"true"}, PodNamespace: "shop", PodSelector: "app=web"}, []string{"shop"}, false, "exactly one of"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := external.Start(ctx, external.Spec{
				Members:    []external.MemberSpec{c.ms},
				Kubernetes: &external.KubeSpec{Config: noCluster, Allow: c.allow},
			}, external.Options{Run: "ext-refuse", Log: processtest.Log(t)})
			if err == nil {
				t.Fatal("started")
			}
			if errors.Is(err, kubernetes.ErrNoCluster) {
				t.Fatalf("contacted the cluster before refusing: %v", err)
			}
			if errors.Is(err, kubernetes.ErrForbidden) != c.forbidden {
				t.Fatalf("errors.Is(err, ErrForbidden) = %v, want %v: %v", !c.forbidden, c.forbidden, err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
			t.Log(err)
		})
	}
	// The same member, allowed, does reach for the cluster.
	_, err := external.Start(ctx, external.Spec{
		Members:    []external.MemberSpec{{Name: "web", PodNamespace: "shop", PodSelector: "app=web"}},
		Kubernetes: &external.KubeSpec{Config: noCluster, Allow: []string{"shop"}},
	}, external.Options{Run: "ext-refuse", Log: processtest.Log(t)})
	if !errors.Is(err, kubernetes.ErrNoCluster) {
		t.Fatalf("an allowed member without a cluster: %v, want ErrNoCluster", err)
	}
}

// Only pod members can be isolated; the others say ErrUnsupported.
func TestIsolateCommandMemberIsUnsupported(t *testing.T) {
	ctx := context.Background()
	tg, err := external.Start(ctx, external.Spec{
		Members: []external.MemberSpec{{Name: "s", Command: []string{"sleep", "30"}}},
	}, external.Options{Run: "ext-iso-cmd", Log: processtest.Log(t), StopGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(ctx)
	if err := tg.Isolate(ctx, "s"); !errors.Is(err, targets.ErrUnsupported) {
		t.Fatalf("isolate a command member: %v", err)
	}
	if err := tg.Rejoin(ctx, "s"); !errors.Is(err, targets.ErrUnsupported) {
		t.Fatalf("rejoin a command member: %v", err)
	}
}

// A selector no pod matches is an error naming the namespace and the
// selector; nothing is created.
func TestPodMemberSelectorMatchingNothing(t *testing.T) {
	cfg := kubetest.Node(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sel := fmt.Sprintf("io.chaosctl.test=none-%08x", rand.Uint32())
	_, err := external.Start(ctx, external.Spec{
		Members:    []external.MemberSpec{{Name: "ghost", PodNamespace: "default", PodSelector: sel}},
		Kubernetes: &external.KubeSpec{Config: cfg, Allow: []string{"default"}},
	}, external.Options{Run: "ext-none", Log: processtest.Log(t)})
	if err == nil {
		t.Fatal("started a member with no pod")
	}
	for _, want := range []string{"namespace default", sel, "no pod matches"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
	t.Log(err)
}

var (
	podImageOnce sync.Once
	podImage     string
)

// podImageRef builds chaosctl (static) and loads its image onto the test
// node, once per test binary.
func podImageRef(t *testing.T) string {
	t.Helper()
	podImageOnce.Do(func() {
		podImage = kubetest.LoadImage(t, dockertest.BuildChaosctl(t, t.TempDir(), "0"), "")
	})
	if podImage == "" {
		t.Fatal("chaosctl's image could not be loaded onto the test node (see the first test that tried)")
	}
	return podImage
}

// podTestNode is the test node's config and clientset, with chaosctl's image
// loaded onto it and a user namespace (userNamespace) created for the test.
func podTestNode(t *testing.T) (cfg *rest.Config, cs *k8s.Clientset, image, ns string) {
	t.Helper()
	cfg = kubetest.Node(t)
	cs = kubetest.Clientset(t, cfg)
	return cfg, cs, podImageRef(t), userNamespace(t, cs)
}

// userNamespace creates a namespace standing for the user's (not labelled
// as chaosctl's) and deletes it when t ends, waiting until it is gone.
func userNamespace(t *testing.T, cs k8s.Interface) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := fmt.Sprintf("chaosctl-ext-test-%08x", rand.Uint32())
	_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"io.chaosctl.test": "external"}}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		if err := cs.CoreV1().Namespaces().Delete(ctx, ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", ns, err)
			return
		}
		start := time.Now()
		for {
			if _, err := cs.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				t.Logf("namespace %s gone in %s", ns, time.Since(start).Round(time.Millisecond))
				return
			}
			select {
			case <-ctx.Done():
				t.Errorf("namespace %s still there after 90s", ns)
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	})
	return ns
}

// proxyToken is the token of the test's `chaosctl proxy` pods: their API
// answers nothing else without it.
const proxyToken = "pods-test-token"

// proxyPodSpec runs chaosctl's toxiproxy API on :8474 (ready once GET
// /version answers), behind proxyToken, locked down.
func proxyPodSpec(image string) corev1.PodSpec {
	grace, uid := int64(2), int64(65532)
	yes, no := true, false
	return corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		AutomountServiceAccountToken:  &no,
		EnableServiceLinks:            &no,
		Containers: []corev1.Container{{
			Name:            "proxy",
			Image:           image,
			ImagePullPolicy: corev1.PullNever,
			Args:            []string{"proxy", "--listen", "0.0.0.0:8474"},
			Env:             []corev1.EnvVar{{Name: demo.EnvControlToken, Value: proxyToken}},
			Ports:           []corev1.ContainerPort{{ContainerPort: 8474}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/version", Port: intstr.FromInt32(8474)}},
				PeriodSeconds: 1,
			},
			SecurityContext: &corev1.SecurityContext{
				RunAsUser:                &uid,
				RunAsNonRoot:             &yes,
				ReadOnlyRootFilesystem:   &yes,
				AllowPrivilegeEscalation: &no,
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
		}},
	}
}

// proxyDeployment creates a Deployment of one proxyPodSpec pod labelled
// app=app.
func proxyDeployment(t *testing.T, cs k8s.Interface, ns, app, image string) {
	t.Helper()
	one := int32(1)
	labels := map[string]string{"app": app}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: app, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: proxyPodSpec(image)},
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// readyPod waits until exactly one pod labelled app=app is Running and
// Ready and returns it.
func readyPod(t *testing.T, cs k8s.Interface, ns, app string, within time.Duration) corev1.Pod {
	t.Helper()
	var out corev1.Pod
	testkit.Eventually(t, within, "a ready "+app+" pod", func() bool {
		l, err := cs.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=" + app})
		if err != nil {
			return false
		}
		var ready []corev1.Pod
		for _, p := range l.Items {
			if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
				continue
			}
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					ready = append(ready, p)
				}
			}
		}
		if len(ready) == 1 {
			out = ready[0]
			return true
		}
		return false
	})
	return out
}

// through GETs /version of a new connection to addr, waiting at most 1s.
func through(addr string) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := hc.Get("http://" + addr + "/version")
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

// waitThrough polls through(addr) until it succeeds (want) or fails
// (!want) and returns how long that took and the last error.
func waitThrough(t *testing.T, addr string, want bool, within time.Duration) (time.Duration, error) {
	t.Helper()
	start := time.Now()
	for {
		err := through(addr)
		if (err == nil) == want {
			return time.Since(start), err
		}
		if time.Since(start) > within {
			t.Fatalf("GET http://%s/version: want ok=%v for %s, last error %v", addr, want, within, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The user's web pods (a Deployment) as a pod member: Kill deletes the pod
// and Start waits for the Deployment's replacement; Stop deletes it
// gracefully; Pause is unsupported; Isolate applies a NetworkPolicy that cuts
// pod-to-pod traffic from a client pod to web, Rejoin removes it; Close
// leaves nothing of the run and the user's pods in place.
func TestPodMemberKillStartIsolate(t *testing.T) {
	cfg, cs, image, ns := podTestNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	proxyDeployment(t, cs, ns, "web", image)
	proxyDeployment(t, cs, ns, "client", image)
	t0 := time.Now()
	web := readyPod(t, cs, ns, "web", time.Minute)
	client := readyPod(t, cs, ns, "client", time.Minute)
	t.Logf("deployments ready in %s", time.Since(t0).Round(time.Millisecond))

	run := fmt.Sprintf("ext-pods-%08x", rand.Uint32())
	tg, err := external.Start(ctx, external.Spec{
		Members:    []external.MemberSpec{{Name: "web", PodNamespace: ns, PodSelector: "app=web,tier!=canary", Ports: []int{8474}}},
		Kubernetes: &external.KubeSpec{Config: cfg, Allow: []string{ns}},
	}, external.Options{Run: run, Log: processtest.Log(t), ReadyTimeout: 45 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(context.Background())
	addr := func() string { return tg.Members()[0].Addr }
	if want := net.JoinHostPort(web.Status.PodIP, "8474"); addr() != want {
		t.Fatalf("member address %q, want %q", addr(), want)
	}

	// Pause and Control are unsupported on pods.
	if err := tg.Pause(ctx, "web"); !errors.Is(err, targets.ErrUnsupported) || !strings.Contains(err.Error(), "blackhole") {
		t.Fatalf("pause a pod member: %v", err)
	}
	if err := tg.Resume(ctx, "web"); !errors.Is(err, targets.ErrUnsupported) {
		t.Fatalf("resume a pod member: %v", err)
	}
	if err := tg.Control(ctx, "web", "clock-skew", nil, nil); !errors.Is(err, targets.ErrUnsupported) {
		t.Fatalf("control a pod member: %v", err)
	}

	// Kill: the pod is gone at once; Start returns when the Deployment's
	// replacement is ready.
	t0 = time.Now()
	if err := tg.Kill(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	killed := time.Since(t0)
	oldAddr := addr()
	if _, err := cs.CoreV1().Pods(ns).Get(ctx, web.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("killed pod %s still exists: %v", web.Name, err)
	}
	// The API object goes at once; the kubelet stops the container soon
	// after.
	silent, _ := waitThrough(t, oldAddr, false, 30*time.Second)
	t1 := time.Now()
	if err := tg.Start(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	t.Logf("kill: pod gone from the API in %s, its IP silent %s after that; start: replacement ready %s later (%s after the kill)",
		killed.Round(time.Millisecond), silent.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond), time.Since(t0).Round(time.Millisecond))
	web2 := readyPod(t, cs, ns, "web", 10*time.Second)
	if web2.UID == web.UID {
		t.Fatal("the replacement has the killed pod's UID")
	}
	if want := net.JoinHostPort(web2.Status.PodIP, "8474"); addr() != want {
		t.Fatalf("member address after start %q, want %q", addr(), want)
	}
	if err := through(addr()); err != nil {
		t.Fatalf("the replacement does not answer: %v", err)
	}

	// Stop: a graceful delete (the pods' own grace); Start again.
	t0 = time.Now()
	if err := tg.Stop(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	stopped := time.Since(t0)
	t1 = time.Now()
	if err := tg.Start(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	t.Logf("stop: pod gone in %s; start: replacement ready %s later", stopped.Round(time.Millisecond), time.Since(t1).Round(time.Millisecond))
	web3 := readyPod(t, cs, ns, "web", 10*time.Second)
	if web3.UID == web2.UID {
		t.Fatal("the replacement has the stopped pod's UID")
	}

	// A proxy inside the client pod, to web: pod-to-pod traffic the host
	// can drive.
	body := fmt.Sprintf(`{"name":"p","listen":"0.0.0.0:9000","upstream":%q}`, net.JoinHostPort(web3.Status.PodIP, "8474"))
	req, err := http.NewRequest(http.MethodPost, "http://"+net.JoinHostPort(client.Status.PodIP, "8474")+"/proxies", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+proxyToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create the client pod's proxy: status %d", resp.StatusCode)
	}
	viaClient := net.JoinHostPort(client.Status.PodIP, "9000")
	waitThrough(t, viaClient, true, 10*time.Second)

	// Isolate: the policy carries the run's label; client→web is cut.
	t0 = time.Now()
	if err := tg.Isolate(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	applied := time.Since(t0)
	blocked, why := waitThrough(t, viaClient, false, 15*time.Second)
	t.Logf("isolate: policy applied in %s, client→web blocked %s later (the failing GET included: %v)",
		applied.Round(time.Millisecond), blocked.Round(time.Millisecond), why)
	for range 3 {
		if err := through(viaClient); err == nil {
			t.Fatal("client→web answered again while isolated")
		}
	}
	if err := tg.Isolate(ctx, "web"); err != nil {
		t.Fatalf("isolate again: %v", err)
	}
	pol, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, kubernetes.IsolationPolicyName("web"), metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pol.Labels[kubernetes.LabelRun] != kubernetes.RunLabel(run) {
		t.Fatalf("policy labels %v lack the run %s", pol.Labels, run)
	}
	if pol.Spec.PodSelector.MatchLabels["app"] != "web" || len(pol.Spec.PodSelector.MatchExpressions) != 1 || len(pol.Spec.Ingress)+len(pol.Spec.Egress) != 0 || len(pol.Spec.PolicyTypes) != 2 {
		t.Fatalf("policy spec %+v", pol.Spec)
	}
	if err := through(addr()); err != nil {
		t.Fatalf("the host no longer reaches web (kube-router lets the host through): %v", err)
	}
	if left, err := kubernetes.Leftovers(ctx, cs); err != nil || len(left[kubernetes.RunLabel(run)]) != 1 {
		t.Fatalf("leftovers while isolated: %v %v", left[kubernetes.RunLabel(run)], err)
	}

	// Rejoin: the policy is gone, client→web works again.
	t0 = time.Now()
	if err := tg.Rejoin(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	removed := time.Since(t0)
	healed, _ := waitThrough(t, viaClient, true, 15*time.Second)
	t.Logf("rejoin: policy removed in %s, client→web works %s later", removed.Round(time.Millisecond), healed.Round(time.Millisecond))
	if _, err := cs.NetworkingV1().NetworkPolicies(ns).Get(ctx, pol.Name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("policy after rejoin: %v", err)
	}
	if err := tg.Rejoin(ctx, "web"); err != nil {
		t.Fatalf("rejoin again: %v", err)
	}

	// Close removes a policy still in force, and only the run's things.
	if err := tg.Isolate(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := tg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := tg.Close(ctx); err != nil {
		t.Fatalf("close again: %v", err)
	}
	left, err := kubernetes.Leftovers(ctx, cs)
	if err != nil {
		t.Fatal(err)
	}
	if l := left[kubernetes.RunLabel(run)]; len(l) > 0 {
		t.Fatalf("left behind by the run: %v", l)
	}
	if p := readyPod(t, cs, ns, "web", 10*time.Second); p.UID != web3.UID {
		t.Fatalf("close touched the user's pod: %s became %s", web3.UID, p.UID)
	}
	waitThrough(t, viaClient, true, 15*time.Second)
}

// Start fails clearly when the killed pods have no controller to replace
// them: a bare pod, deleted by Kill, never comes back (and chaosctl does not
// recreate it).
func TestPodMemberWithoutControllerIsNotReplaced(t *testing.T) {
	cfg, cs, image, ns := podTestNode(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	bare := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "lonely", Namespace: ns, Labels: map[string]string{"app": "lonely"}}, Spec: proxyPodSpec(image)}
	if _, err := cs.CoreV1().Pods(ns).Create(ctx, bare, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	readyPod(t, cs, ns, "lonely", time.Minute)
	tg, err := external.Start(ctx, external.Spec{
		Members:    []external.MemberSpec{{Name: "lonely", PodNamespace: ns, PodSelector: "app=lonely"}},
		Kubernetes: &external.KubeSpec{Config: cfg, Allow: []string{ns}},
	}, external.Options{Run: fmt.Sprintf("ext-bare-%08x", rand.Uint32()), Log: processtest.Log(t), ReadyTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tg.Close(context.Background())
	if err := tg.Kill(ctx, "lonely"); err != nil {
		t.Fatal(err)
	}
	err = tg.Start(ctx, "lonely")
	if err == nil || !strings.Contains(err.Error(), "is it managed by a controller") {
		t.Fatalf("start without a controller: %v", err)
	}
	t.Log(err)
}
