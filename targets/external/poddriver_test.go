package external

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

func readyPod(name, ip string, created time.Time) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "shop", UID: types.UID("uid-" + name), Labels: map[string]string{"app": "cart"}, CreationTimestamp: metav1.NewTime(created)},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// The pod driver against an in-memory API server: the Target's methods
// reach it through the driver interface, Kill deletes the pod and waits
// until it is gone, Start waits for a replacement that chaosctl did not
// delete, Pause is unsupported, Isolate and Close apply and remove the
// run's NetworkPolicy. (pods_test.go runs the same on a real node.)
func TestPodDriverOnAFakeAPIServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now()
	kube := fake.NewClientset(readyPod("cart-1", "10.0.0.1", now))
	ms := MemberSpec{Name: "cart", PodNamespace: "shop", PodSelector: "app=cart", Ports: []int{8080}}
	pm, err := checkMemberSpec(ms, []string{"shop"})
	if err != nil {
		t.Fatal(err)
	}
	tg := &Target{opts: Options{Run: "r1", Log: processtest.Log(t), ReadyTimeout: 10 * time.Second}, kube: kube, members: map[string]*member{}}
	m := &member{spec: ms}
	m.driver = newMemberDriver(tg, m, pm)
	tg.members[ms.Name], tg.order = m, []string{ms.Name}
	if err := m.driver.open(ctx); err != nil {
		t.Fatal(err)
	}
	if got := tg.Members(); len(got) != 1 || got[0].Addr != "10.0.0.1:8080" || got[0].PID != 0 {
		t.Fatalf("members %+v", got)
	}

	if err := tg.Kill(ctx, "cart"); err != nil {
		t.Fatal(err)
	}
	if l, _ := kube.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Fatalf("pods left after Kill: %d", len(l.Items))
	}
	// The controller's replacement.
	if _, err := kube.CoreV1().Pods("shop").Create(ctx, readyPod("cart-2", "10.0.0.2", now.Add(time.Second)), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := tg.Start(ctx, "cart"); err != nil {
		t.Fatal(err)
	}
	if got := tg.Members()[0].Addr; got != "10.0.0.2:8080" {
		t.Fatalf("address after the replacement: %s", got)
	}

	if err := tg.Pause(ctx, "cart"); !errors.Is(err, targets.ErrUnsupported) {
		t.Fatalf("Pause: %v", err)
	}
	if err := tg.Isolate(ctx, "cart"); err != nil {
		t.Fatal(err)
	}
	policy := kubernetes.IsolationPolicyName("cart")
	if _, err := kube.NetworkingV1().NetworkPolicies("shop").Get(ctx, policy, metav1.GetOptions{}); err != nil {
		t.Fatalf("isolation policy: %v", err)
	}
	if err := tg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := kube.NetworkingV1().NetworkPolicies("shop").Get(ctx, policy, metav1.GetOptions{}); err == nil {
		t.Fatal("the isolation policy outlived Close")
	}
	if l, _ := kube.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{}); len(l.Items) != 1 {
		t.Fatalf("Close touched the user's pods: %d left", len(l.Items))
	}
}
