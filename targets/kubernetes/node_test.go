package kubernetes_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	k8s "github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/kubernetes/kubetest"
)

// These tests run on the test node `make k8s-up` starts: real pods of
// chaosctl's image, real NetworkPolicy enforcement by kube-router.

var (
	nodeImageOnce sync.Once
	nodeImage     string
	nodeImageErr  string
	nodeBinary    string
)

// nodeSetup returns the test node's config and chaosctl's image on it (a
// static binary of this tree, built once per test binary).
func nodeSetup(t testing.TB) (*k8s.DemoOptions, kubernetes.Interface) {
	t.Helper()
	cfg := kubetest.Node(t)
	nodeImageOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chaosctl-k8s-bin-")
		if err != nil {
			nodeImageErr = err.Error()
			return
		}
		bin := filepath.Join(dir, "chaosctl")
		cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/chaosctl")
		cmd.Dir = kubetest.RepoRoot(t)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			nodeImageErr = "build chaosctl: " + err.Error() + "\n" + string(out)
			return
		}
		nodeBinary = bin
		nodeImage = kubetest.LoadImage(t, bin, "")
	})
	if nodeImageErr != "" {
		t.Fatal(nodeImageErr)
	}
	cs := kubetest.Clientset(t, cfg)
	log := logrus.New()
	log.SetLevel(logrus.DebugLevel)
	return &k8s.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Log: logrus.NewEntry(log), Dir: t.TempDir()}, Config: cfg, Image: nodeImage}, cs
}

// expectNoLeftovers fails t when anything labelled with run is left.
func expectNoLeftovers(t testing.TB, cs kubernetes.Interface, run string) {
	t.Helper()
	left, err := k8s.Leftovers(context.Background(), cs)
	if err != nil {
		t.Fatal(err)
	}
	if len(left[run]) > 0 {
		t.Fatalf("left behind: %v", left[run])
	}
}

func get(t testing.TB, hc *http.Client, url string) (int, error) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func put(t testing.TB, hc *http.Client, base, key, value string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, base+"/kv/"+key, strings.NewReader(value))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("put %s: status %d", key, resp.StatusCode)
	}
}

// readBody GETs url and returns the status and body.
func readBody(t testing.TB, hc *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func startNodeDemo(t *testing.T, spec demo.ClusterSpec, crash string) (*k8s.Demo, kubernetes.Interface, *k8s.DemoOptions) {
	t.Helper()
	opts, cs := nodeSetup(t)
	opts.Run = "node" + strings.ReplaceAll(time.Now().UTC().Format("150405.000000"), ".", "")
	opts.Crash = crash
	start := time.Now()
	d, err := k8s.StartDemo(context.Background(), spec, *opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ready in %s", time.Since(start).Round(time.Millisecond))
	t.Cleanup(func() {
		_ = d.Close(context.Background())
		expectNoLeftovers(t, cs, opts.Run)
	})
	return d, cs, opts
}

func addrOf(d *k8s.Demo, id string) string {
	for _, m := range d.Members() {
		if m.ID == id {
			return m.Addr
		}
	}
	return ""
}

// The default crash with persistence: disk kills the member inside its pod:
// the pod, its IP and its emptyDir stay, and the node serves what it held.
// Pause freezes the process; isolate's NetworkPolicy blocks pod-to-pod
// traffic and is gone after rejoin.
func TestDemoOnNode(t *testing.T) {
	d, cs, opts := startNodeDemo(t, testSpec(t, demo.PersistDisk), "")
	ctx := context.Background()
	hc := &http.Client{Timeout: 2 * time.Second}
	client := "http://" + d.ClientAddrs()[0]
	if code, err := get(t, hc, client+"/readyz"); err != nil || code != 200 {
		t.Fatalf("through the client proxy: %d %v", code, err)
	}
	for i := range 20 {
		put(t, hc, client, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
	}
	n1 := "http://" + addrOf(d, "n1")
	held := 0
	for i := range 20 {
		if code, _ := readBody(t, hc, fmt.Sprintf("%s/kv/k%d", n1, i)); code == 200 {
			held++
		}
	}
	pod, err := cs.CoreV1().Pods(d.Namespace()).Get(ctx, "n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, hc, n1+"/readyz"); err == nil {
		t.Fatal("a killed member answered")
	}
	if err := d.Start(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	after, err := cs.CoreV1().Pods(d.Namespace()).Get(ctx, "n1", metav1.GetOptions{})
	if err != nil || after.UID != pod.UID || "http://"+addrOf(d, "n1") != n1 {
		t.Fatalf("crash process replaced the pod: %v uid %s→%s", err, pod.UID, after.UID)
	}
	heldAfter := 0
	for i := range 20 {
		if code, _ := readBody(t, hc, fmt.Sprintf("%s/kv/k%d", n1, i)); code == 200 {
			heldAfter++
		}
	}
	if held == 0 || heldAfter != held {
		t.Fatalf("n1 held %d keys before the crash and %d after", held, heldAfter)
	}

	// Pause: a real freeze; nothing answers, connections stay open.
	if err := d.Pause(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	short := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	if _, err := get(t, short, "http://"+addrOf(d, "g1")+"/readyz"); err == nil {
		t.Fatal("a paused gateway answered")
	}
	if err := d.Resume(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Resume(ctx, "g1"); err != nil {
		t.Fatalf("second resume: %v", err)
	}
	if code, err := get(t, hc, client+"/readyz"); err != nil || code != 200 {
		t.Fatalf("after resume: %d %v", code, err)
	}

	// Isolate: Isolate returns once new pod-to-pod connections fail both
	// ways, so at once no link out of n2 works (what a receipt checks).
	if err := d.Isolate(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	for _, peer := range []string{"n1", "n3"} {
		var ans api.ReachAnswer
		if err := d.Control(ctx, "n2", "reach", api.ReachRequest{To: peer, Timeout: "500ms"}, &ans); err != nil {
			t.Fatalf("reach control of isolated n2: %v", err)
		}
		if ans.OK {
			t.Fatalf("isolated n2 reaches %s right after Isolate returned: %+v", peer, ans)
		}
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(d.Namespace()).Get(ctx, k8s.IsolationPolicyName("n2"), metav1.GetOptions{}); err != nil {
		t.Fatalf("isolation policy: %v", err)
	}
	if err := d.Rejoin(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	if err := d.Rejoin(ctx, "n2"); err != nil {
		t.Fatalf("second rejoin: %v", err)
	}
	if _, err := cs.NetworkingV1().NetworkPolicies(d.Namespace()).Get(ctx, k8s.IsolationPolicyName("n2"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("isolation policy after rejoin: %v", err)
	}
	closeStart := time.Now()
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("closed in %s", time.Since(closeStart).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(opts.Dir, "n1.log")); err != nil {
		t.Errorf("member log: %v", err)
	}
}

// crash: pod deletes the pod; a new one comes with a new IP, and the
// proxies follow it.
func TestDemoOnNodePodCrash(t *testing.T) {
	d, cs, opts := startNodeDemo(t, testSpec(t, demo.PersistMemory), k8s.CrashPod)
	ctx := context.Background()
	oldAddr := addrOf(d, "n1")
	if err := d.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(d.Namespace()).Get(ctx, "n1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("n1 after kill: %v", err)
	}
	if err := d.Start(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	px, err := d.Plane().Client().Proxy(faultplane.ProxyName(opts.Run, faultplane.Link{From: "g1", To: "n1"}))
	if err != nil {
		t.Fatal(err)
	}
	if px.Upstream != addrOf(d, "n1") {
		t.Fatalf("g1→n1 proxy upstream %s, n1 at %s (was %s)", px.Upstream, addrOf(d, "n1"), oldAddr)
	}
	hc := &http.Client{Timeout: 2 * time.Second}
	for i := range 5 {
		put(t, hc, "http://"+d.ClientAddrs()[0], fmt.Sprintf("k%d", i), "v")
	}
	// The first pod's log was saved before it went, the second's at close.
	if err := d.Close(ctx); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(opts.Dir, "n1.log"))
	if err != nil || strings.Count(string(b), "member started") < 2 {
		t.Errorf("n1.log holds %d starts (%v)", strings.Count(string(b), "member started"), err)
	}
}
