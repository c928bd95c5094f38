// Package kubetest starts the Kubernetes parts chaosctl's tests need, or
// skips the test saying what is missing (fails instead where
// CHAOSCTL_REQUIRE_INTEGRATION=1, as CI sets it):
//
//   - APIServer: a real kube-apiserver and etcd through controller-runtime's
//     envtest (no kubelet, no controllers), for the objects chaosctl creates
//     and removes. kube-apiserver comes from the cache scripts/k8s/build.sh
//     fills, etcd from Debian's etcd-server.
//   - Node: the one-node cluster `make k8s-up` starts, found through its
//     admin kubeconfig.
package kubetest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/docker/docker/api/types/image"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/docker"
)

// K8sVersion is the Kubernetes release scripts/k8s/build.sh builds.
const K8sVersion = "v1.37.2"

// BinDir is where scripts/k8s/build.sh leaves the Kubernetes binaries:
// $CHAOSCTL_K8S_BIN, else ${CHAOSCTL_K8S_CACHE:-$HOME/.cache/chaosctl-k8s}/<version>/bin.
func BinDir() string {
	if d := os.Getenv("CHAOSCTL_K8S_BIN"); d != "" {
		return d
	}
	cache := os.Getenv("CHAOSCTL_K8S_CACHE")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache", "chaosctl-k8s")
	}
	return filepath.Join(cache, K8sVersion, "bin")
}

// NodeDir is the test node's state directory (scripts/k8s/up.sh).
func NodeDir() string {
	if d := os.Getenv("CHAOSCTL_K8S_DIR"); d != "" {
		return d
	}
	return "/var/lib/chaosctl-k8s"
}

// Skip skips t with why, or fails it where integration tests are required.
func Skip(t testing.TB, why string) {
	t.Helper()
	testkit.Integration(t, "%s", why)
}

// APIServer starts kube-apiserver and etcd for t and returns a rest config
// of an admin; they stop when t ends.
func APIServer(t testing.TB) *rest.Config {
	t.Helper()
	apiserver := filepath.Join(BinDir(), "kube-apiserver")
	if _, err := os.Stat(apiserver); err != nil {
		Skip(t, fmt.Sprintf("no kube-apiserver at %s: build it with scripts/k8s/build.sh (or set CHAOSCTL_K8S_BIN)", apiserver))
	}
	etcd := os.Getenv("TEST_ASSET_ETCD")
	if etcd == "" {
		var err error
		if etcd, err = exec.LookPath("etcd"); err != nil {
			Skip(t, "no etcd on PATH: install Debian's etcd-server (or set TEST_ASSET_ETCD)")
		}
	}
	env := &envtest.Environment{
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
	}
	env.ControlPlane.GetAPIServer().Path = apiserver
	env.ControlPlane.Etcd = &envtest.Etcd{Path: etcd}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start kube-apiserver and etcd (envtest): %v", err)
	}
	t.Cleanup(func() {
		if err := env.Stop(); err != nil {
			t.Errorf("stop envtest: %v", err)
		}
	})
	return cfg
}

// Clientset is a client of cfg's cluster; an error fails t.
func Clientset(t testing.TB, cfg *rest.Config) *kubernetes.Clientset {
	t.Helper()
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// Node returns the admin rest config of the test node `make k8s-up` runs,
// after checking that its API server answers and its node is Ready, or skips
// t saying how to start it.
func Node(t testing.TB) *rest.Config {
	t.Helper()
	kc := filepath.Join(NodeDir(), "admin.kubeconfig")
	if _, err := os.Stat(kc); err != nil {
		Skip(t, fmt.Sprintf("no test node: %s is missing (start one with `make k8s-up`)", kc))
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		t.Fatalf("read %s: %v", kc, err)
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("client for %s: %v", kc, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metaListAll)
	if err != nil {
		Skip(t, fmt.Sprintf("test node's API server (%s) does not answer: %v (start it with `make k8s-up`)", cfg.Host, err))
	}
	for _, n := range nodes.Items {
		for _, c := range n.Status.Conditions {
			if c.Type == "Ready" && c.Status == "True" {
				return cfg
			}
		}
	}
	Skip(t, fmt.Sprintf("test node at %s has no Ready node (restart it with `make k8s-down k8s-up`)", cfg.Host))
	return nil
}

// Kubeconfig is the test node's admin kubeconfig path.
func Kubeconfig() string { return filepath.Join(NodeDir(), "admin.kubeconfig") }

var metaListAll = metav1.ListOptions{}

// RepoRoot is the repository's top directory (where go.mod is), found from
// the working directory.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// LoadImage builds chaosctl's FROM-scratch image of binary through the
// Docker engine (when it lacks it), exports it and imports it into the test
// node's containerd with scripts/k8s/load-image.sh, and returns its
// reference. Without an engine the test is skipped (or fails where
// integration is required).
func LoadImage(t testing.TB, binary, version string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cli, err := docker.Connect(ctx)
	if err != nil {
		Skip(t, fmt.Sprintf("chaosctl's image is built through Docker: %v", err))
	}
	defer cli.Close()
	ref, built, err := docker.EnsureImage(ctx, cli, binary, version)
	if err != nil {
		t.Fatalf("build the image: %v", err)
	}
	if built { // the node keeps its copy; the engine's goes
		defer func() { _, _ = cli.ImageRemove(context.Background(), ref, image.RemoveOptions{PruneChildren: true}) }()
	}
	archive := filepath.Join(t.TempDir(), "chaosctl.tar")
	if err := docker.ExportImageToFile(ctx, cli, ref, archive); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(RepoRoot(t), "scripts", "k8s", "load-image.sh"), archive)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import %s into the test node: %v\n%s", ref, err, out)
	}
	return ref
}
