package kubernetes_test

import (
	"context"
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
		nodeImage = kubetest.LoadImage(t, bin, "")
	})
	if nodeImageErr != "" {
		t.Fatal(nodeImageErr)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := logrus.New()
	log.SetLevel(logrus.DebugLevel)
	return &k8s.DemoOptions{Config: cfg, Image: nodeImage, Log: logrus.NewEntry(log), Dir: t.TempDir()}, cs
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

func TestDemoOnNode(t *testing.T) {
	opts, cs := nodeSetup(t)
	ctx := context.Background()
	run := "node" + strings.ToLower(strings.ReplaceAll(time.Now().UTC().Format("150405.000"), ".", ""))
	opts.Run = run
	spec := testSpec(t, demo.PersistMemory)
	start := time.Now()
	d, err := k8s.StartDemo(ctx, spec, *opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("ready in %s", time.Since(start).Round(time.Millisecond))
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = d.Close(context.Background())
		}
	})
	hc := &http.Client{Timeout: 2 * time.Second}
	client := "http://" + d.ClientAddrs()[0]
	if code, err := get(t, hc, client+"/readyz"); err != nil || code != 200 {
		t.Fatalf("through the client proxy: %d %v", code, err)
	}

	// Crash: the pod goes, a new one comes with a new IP, and the proxies
	// follow it.
	oldAddr := d.Members()[0].Addr
	if err := d.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(d.Namespace()).Get(ctx, "n1", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("n1 after kill: %v", err)
	}
	if err := d.Start(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	px, err := d.Plane().Client().Proxy(faultplane.ProxyName(run, faultplane.Link{From: "g1", To: "n1"}))
	if err != nil {
		t.Fatal(err)
	}
	if px.Upstream != d.Members()[0].Addr {
		t.Fatalf("g1→n1 proxy upstream %s, n1 at %s (was %s)", px.Upstream, d.Members()[0].Addr, oldAddr)
	}

	// Pause: the gateway's links are held; a request through them times out.
	if err := d.Pause(ctx, "g1"); err != nil {
		t.Fatal(err)
	}
	short := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	if _, err := get(t, short, client+"/readyz"); err == nil {
		t.Fatal("a paused gateway answered through its link")
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

	// Isolate: the NetworkPolicy blocks pod-to-pod traffic (Isolate waits
	// for it), and is gone after Rejoin.
	if err := d.Isolate(ctx, "n2"); err != nil {
		t.Fatal(err)
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
	closed = true
	t.Logf("closed in %s", time.Since(closeStart).Round(time.Millisecond))
	if _, err := os.Stat(filepath.Join(opts.Dir, "n1.log")); err != nil {
		t.Errorf("member log: %v", err)
	}
	expectNoLeftovers(t, cs, run)
}
