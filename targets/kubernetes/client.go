package kubernetes

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	networkingv1client "k8s.io/client-go/kubernetes/typed/networking/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Labels every object chaosctl creates carries (the same as the docker
// runtime's).
const (
	LabelRun     = "io.chaosctl.run"
	LabelMember  = "io.chaosctl.member"
	LabelManaged = "app.kubernetes.io/managed-by"
	ManagedBy    = "chaosctl"
)

// ErrNoCluster is wrapped when no Kubernetes API server is reachable with the
// kubeconfig given.
var ErrNoCluster = errors.New("no Kubernetes API server reachable")

// ErrForbidden is wrapped when chaosctl refuses to act on a namespace or
// object outside its blast radius.
var ErrForbidden = errors.New("outside chaosctl's blast radius")

// ProtectedNamespaces are never touched, whatever allow says.
var ProtectedNamespaces = []string{"kube-system", "kube-public", "kube-node-lease"}

// ClusterRef says which cluster to talk to.
type ClusterRef struct {
	// Kubeconfig is the kubeconfig file; empty uses $KUBECONFIG, then
	// ~/.kube/config, then the in-cluster service account.
	Kubeconfig string `json:"kubeconfig,omitempty"`
	// Context is the kubeconfig context; empty uses the current one.
	Context string `json:"context,omitempty"`
}

// Client is the part of the Kubernetes API chaosctl calls: the core group
// (namespaces, pods, services, secrets, claims) and networking (network
// policies). client-go's kubernetes.Interface has it; Connect returns one
// built from those two typed clients alone, which keeps client-go's other
// API groups' clients out of the binary.
type Client interface {
	CoreV1() corev1client.CoreV1Interface
	NetworkingV1() networkingv1client.NetworkingV1Interface
}

// client is the Client of Connect.
type client struct {
	core       *corev1client.CoreV1Client
	networking *networkingv1client.NetworkingV1Client
}

func (c *client) CoreV1() corev1client.CoreV1Interface { return c.core }

func (c *client) NetworkingV1() networkingv1client.NetworkingV1Interface { return c.networking }

// newClient builds the typed clients of cfg. They share one HTTP client,
// as a clientset's do.
func newClient(cfg *rest.Config) (*client, error) {
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	core, err := corev1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	networking, err := networkingv1client.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	return &client{core: core, networking: networking}, nil
}

// Connect builds a client for ref and checks that the API server answers.
func Connect(ctx context.Context, ref ClusterRef) (Client, *rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if ref.Kubeconfig != "" {
		rules.ExplicitPath = ref.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: ref.Context}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: kubeconfig %s: %w", ErrNoCluster, describeKubeconfig(ref), err)
	}
	return ConnectConfig(ctx, cfg, describeKubeconfig(ref))
}

// ConnectConfig builds a client for a rest config and checks that the API
// server answers; where names the config in errors.
func ConnectConfig(ctx context.Context, cfg *rest.Config, where string) (Client, *rest.Config, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = 30 * time.Second
	}
	cfg.QPS, cfg.Burst = 50, 100
	cs, err := newClient(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %w", ErrNoCluster, where, err)
	}
	vctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cs.core.RESTClient().Get().AbsPath("/version").Do(vctx).Raw(); err != nil {
		return nil, nil, fmt.Errorf("%w at %s (%s): %w", ErrNoCluster, cfg.Host, where, err)
	}
	return cs, cfg, nil
}

func describeKubeconfig(ref ClusterRef) string {
	s := "default loading rules ($KUBECONFIG, ~/.kube/config, in-cluster)"
	if ref.Kubeconfig != "" {
		s = ref.Kubeconfig
	}
	if ref.Context != "" {
		s += ", context " + ref.Context
	}
	return s
}

// CheckNamespace says whether chaosctl may act in namespace ns: never in a
// protected one, and in a namespace it did not create only when allow names
// it.
func CheckNamespace(ns string, owned bool, allow []string) error {
	if ns == "" {
		return fmt.Errorf("%w: empty namespace", ErrForbidden)
	}
	if slices.Contains(ProtectedNamespaces, ns) {
		return fmt.Errorf("%w: namespace %s is never touched (protected: %v)", ErrForbidden, ns, ProtectedNamespaces)
	}
	if !owned && !slices.Contains(allow, ns) {
		return fmt.Errorf("%w: namespace %s was not created by chaosctl; name it in target.kubernetes.allow to let chaosctl act there", ErrForbidden, ns)
	}
	return nil
}

// runLabels are the labels of a run's object for member (empty for objects
// of the whole run).
func runLabels(run, member string) map[string]string {
	l := map[string]string{LabelRun: RunLabel(run), LabelManaged: ManagedBy}
	if member != "" {
		l[LabelMember] = member
	}
	return l
}

// NamespaceName is the namespace chaosctl creates for run when none is
// given: chaosctl-<run>, shortened to 63 characters with a hash when longer.
func NamespaceName(run string) string { return shorten("chaosctl-"+run, 63) }

// RunLabel is the io.chaosctl.run label value of run: the run id, shortened
// to a label value's 63 characters with a hash when longer (run ids carry
// the experiment's name and may be longer).
func RunLabel(run string) string { return shorten(run, 63) }

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return strings.TrimRight(s[:n-9], "-_.") + "-" + hex.EncodeToString(sum[:4])
}
