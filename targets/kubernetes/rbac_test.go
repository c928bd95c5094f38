package kubernetes_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	k8s "github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/kubernetes/kubetest"
)

// applyManifest creates every object of a multi-document YAML file.
func applyManifest(t *testing.T, cs kubernetes.Interface, path string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, _, err := scheme.Codecs.UniversalDeserializer().Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		switch o := obj.(type) {
		case *corev1.Namespace:
			_, err = cs.CoreV1().Namespaces().Create(ctx, o, metav1.CreateOptions{})
		case *corev1.ServiceAccount:
			_, err = cs.CoreV1().ServiceAccounts(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRole:
			_, err = cs.RbacV1().ClusterRoles().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.ClusterRoleBinding:
			_, err = cs.RbacV1().ClusterRoleBindings().Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.Role:
			_, err = cs.RbacV1().Roles(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *rbacv1.RoleBinding:
			_, err = cs.RbacV1().RoleBindings(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("%s: unexpected kind %T", path, obj)
		}
		if err != nil {
			t.Fatalf("%s: create %T: %v", path, obj, err)
		}
	}
}

// The RBAC manifest in examples grants what chaosctl does, and no more:
// chaosctl's calls succeed as its ServiceAccount, and that account cannot
// touch what it has no business with.
func TestRBACManifestIsEnough(t *testing.T) {
	cfg := kubetest.APIServer(t)
	admin := kubetest.Clientset(t, cfg)
	applyManifest(t, admin, filepath.Join(kubetest.RepoRoot(t), "examples", "kubernetes", "rbac.yaml"))
	as := rest.CopyConfig(cfg)
	as.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:chaosctl-system:chaosctl"}
	cs := kubetest.Clientset(t, as)
	ctx := context.Background()
	d := newDemo(t, cs, testSpec(t, demo.PersistDisk), k8s.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Run: "rbac1"}, StorageClass: "fast"})
	if err := d.CreateObjects(ctx); err != nil {
		t.Fatalf("create the run's objects as chaosctl: %v", err)
	}
	p, err := d.MemberPod("n1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Pods(d.Namespace()).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create a member pod as chaosctl: %v", err)
	}
	if err := k8s.ApplyIsolation(ctx, cs, k8s.IsolationPolicy("rbac1", d.Namespace(), "n1", map[string]string{k8s.LabelMember: "n1"})); err != nil {
		t.Fatalf("isolate as chaosctl: %v", err)
	}
	for _, isolated := range [][]string{nil, {"n1"}} {
		if err := k8s.ApplyGuard(ctx, cs, "rbac1", k8s.GuardPolicy("rbac1", d.Namespace(), []string{"10.88.0.1"}, isolated)); err != nil {
			t.Fatalf("guard the run (isolated %v) as chaosctl: %v", isolated, err)
		}
	}
	if _, err := k8s.Leftovers(ctx, cs); err != nil {
		t.Fatalf("list leftovers as chaosctl: %v", err)
	}
	if err := d.Kill(ctx, "n1"); err != nil {
		t.Fatalf("delete a pod as chaosctl: %v", err)
	}
	if err := d.Close(ctx); err != nil {
		t.Fatalf("remove the run as chaosctl: %v", err)
	}
	// No more than that: no deployments, no nodes, no RBAC of its own.
	if _, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing nodes as chaosctl: %v, want forbidden", err)
	}
	if _, err := cs.AppsV1().Deployments("default").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing deployments as chaosctl: %v, want forbidden", err)
	}
	if _, err := cs.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
		t.Errorf("listing cluster roles as chaosctl: %v, want forbidden", err)
	}
}
