package external

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
)

// KubeSpec says which Kubernetes cluster the pod members run in and where
// chaosctl may act there.
type KubeSpec struct {
	// Kubeconfig and Context pick the cluster (empty: $KUBECONFIG,
	// ~/.kube/config, in-cluster; the current context).
	Kubeconfig, Context string
	// Config, when set, is used instead of Kubeconfig and Context (tests).
	Config *rest.Config
	// Allow names the namespaces chaosctl may act in; a pod member's
	// namespace must be one of them (protected namespaces never are).
	Allow []string
}

// podPollInterval is how often pod states are listed while waiting.
const podPollInterval = 100 * time.Millisecond

// podMember is the driver of a pod member: the user's pods, found by
// namespace and label selector, kept by their own controller.
type podMember struct {
	t *Target
	m *member

	ns       string
	sel      labels.Selector      // for listing
	labelSel metav1.LabelSelector // for the isolation policy
	replicas int                  // Running+Ready pods at Start
	deleted  map[types.UID]bool   // pods chaosctl deleted; guarded by Target.mu
	isolated bool                 // guarded by Target.mu
}

// isPod says whether ms is a pod member.
func isPod(ms MemberSpec) bool { return ms.PodNamespace != "" || ms.PodSelector != "" }

// checkMemberSpec checks that ms has exactly one kind, and for a pod member
// that chaosctl may act in its namespace and that its selector parses. It
// touches nothing.
func checkMemberSpec(ms MemberSpec, allow []string) (*podMember, error) {
	kinds := 0
	if len(ms.Command) > 0 {
		kinds++
	}
	if ms.ContainerName != "" || ms.ContainerLabel != "" {
		kinds++
	}
	if isPod(ms) {
		kinds++
	}
	if kinds != 1 {
		return nil, fmt.Errorf("member %q: needs exactly one of a command, a container (name or label) or pods (namespace and selector)", ms.Name)
	}
	if !isPod(ms) {
		return nil, nil
	}
	if ms.PodNamespace == "" || strings.TrimSpace(ms.PodSelector) == "" {
		return nil, fmt.Errorf("member %q: pods need both a namespace and a label selector (got namespace %q, selector %q)", ms.Name, ms.PodNamespace, ms.PodSelector)
	}
	if err := kubernetes.CheckNamespace(ms.PodNamespace, false, allow); err != nil {
		return nil, fmt.Errorf("member %s: %w", ms.Name, err)
	}
	sel, err := labels.Parse(ms.PodSelector)
	if err != nil {
		return nil, fmt.Errorf("member %s: label selector %q: %w", ms.Name, ms.PodSelector, err)
	}
	if sel.Empty() {
		return nil, fmt.Errorf("member %s: label selector %q selects every pod of namespace %s; name the member's pods", ms.Name, ms.PodSelector, ms.PodNamespace)
	}
	ls, err := labelSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("member %s: label selector %q: %w", ms.Name, ms.PodSelector, err)
	}
	return &podMember{ns: ms.PodNamespace, sel: sel, labelSel: ls, deleted: map[types.UID]bool{}}, nil
}

// labelSelector is sel as a LabelSelector (what a NetworkPolicy takes):
// key=value and key==value become match labels, key!=value NotIn, the rest
// the expression of the same name. Selecting pods by sel and by the result
// is the same; gt and lt have no LabelSelector form and are refused.
func labelSelector(sel labels.Selector) (metav1.LabelSelector, error) {
	var ls metav1.LabelSelector
	reqs, _ := sel.Requirements()
	for _, r := range reqs {
		vals := r.Values().UnsortedList()
		sort.Strings(vals)
		var op metav1.LabelSelectorOperator
		switch r.Operator() {
		case selection.Equals, selection.DoubleEquals:
			if ls.MatchLabels == nil {
				ls.MatchLabels = map[string]string{}
			}
			if v, ok := ls.MatchLabels[r.Key()]; ok && v != vals[0] {
				// key=a,key=b matches nothing; keep it so.
				op = metav1.LabelSelectorOpIn
				break
			}
			ls.MatchLabels[r.Key()] = vals[0]
			continue
		case selection.In:
			op = metav1.LabelSelectorOpIn
		case selection.NotEquals, selection.NotIn:
			op = metav1.LabelSelectorOpNotIn
		case selection.Exists:
			op = metav1.LabelSelectorOpExists
		case selection.DoesNotExist:
			op = metav1.LabelSelectorOpDoesNotExist
		default:
			return ls, fmt.Errorf("operator %q has no NetworkPolicy form (use =, ==, !=, in, notin, key or !key)", r.Operator())
		}
		ls.MatchExpressions = append(ls.MatchExpressions, metav1.LabelSelectorRequirement{Key: r.Key(), Operator: op, Values: vals})
	}
	return ls, nil
}

// connectKube connects to the pod members' cluster once.
func (t *Target) connectKube(ctx context.Context) error {
	if t.kube != nil {
		return nil
	}
	ks := t.kubeSpec()
	var err error
	if ks.Config != nil {
		t.kube, _, err = kubernetes.ConnectConfig(ctx, ks.Config, "the given rest config")
	} else {
		t.kube, _, err = kubernetes.Connect(ctx, kubernetes.ClusterRef{Kubeconfig: ks.Kubeconfig, Context: ks.Context})
	}
	if err != nil {
		return fmt.Errorf("pod members: %w", err)
	}
	return nil
}

func (t *Target) kubeSpec() KubeSpec {
	if t.spec.Kubernetes == nil {
		return KubeSpec{}
	}
	return *t.spec.Kubernetes
}

// listPods lists the member's pods, sorted by creation time then name.
func (pm *podMember) listPods(ctx context.Context) ([]corev1.Pod, error) {
	l, err := pm.t.kube.CoreV1().Pods(pm.ns).List(ctx, metav1.ListOptions{LabelSelector: pm.sel.String()})
	if err != nil {
		return nil, fmt.Errorf("member %s: list pods %s in namespace %s: %w", pm.m.spec.Name, pm.sel, pm.ns, err)
	}
	pods := l.Items
	sort.SliceStable(pods, func(i, j int) bool {
		a, b := pods[i].CreationTimestamp, pods[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return pods[i].Name < pods[j].Name
	})
	return pods, nil
}

// podReady says whether p is Running, Ready and not being deleted.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// readyPods are the Running+Ready pods among pods that chaosctl did not
// delete.
func readyPods(pods []corev1.Pod, deleted map[types.UID]bool) []corev1.Pod {
	var out []corev1.Pod
	for i := range pods {
		if podReady(&pods[i]) && !deleted[pods[i].UID] {
			out = append(out, pods[i])
		}
	}
	return out
}

// describePods says what pods were found, for errors.
func describePods(pods []corev1.Pod) string {
	if len(pods) == 0 {
		return "no pod matches"
	}
	parts := make([]string, 0, len(pods))
	for i := range pods {
		p := &pods[i]
		state := string(p.Status.Phase)
		if p.DeletionTimestamp != nil {
			state += ", terminating"
		} else if p.Status.Phase == corev1.PodRunning && !podReady(p) {
			state += ", not ready"
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", p.Name, state))
	}
	return fmt.Sprintf("%d pods match: %s", len(pods), strings.Join(parts, ", "))
}

// podAddr is a member's address on pod p: its IP and first port.
func podAddr(ms MemberSpec, p *corev1.Pod) string {
	if len(ms.Ports) > 0 {
		return net.JoinHostPort(p.Status.PodIP, strconv.Itoa(ms.Ports[0]))
	}
	return p.Status.PodIP
}

// open connects to the cluster and finds the member's Running+Ready pods:
// there must be at least one; their number is the member's replicas.
func (pm *podMember) open(ctx context.Context) error {
	if err := pm.t.connectKube(ctx); err != nil {
		return err
	}
	t, m, name := pm.t, pm.m, pm.m.spec.Name
	pods, err := pm.listPods(ctx)
	if err != nil {
		return err
	}
	ready := readyPods(pods, nil)
	if len(ready) == 0 {
		return fmt.Errorf("member %s: no Running and Ready pod in namespace %s matches selector %q (%s)", name, pm.ns, m.spec.PodSelector, describePods(pods))
	}
	t.mu.Lock()
	pm.replicas = len(ready)
	m.addr = podAddr(m.spec, &ready[0])
	t.mu.Unlock()
	t.opts.Log.WithFields(logrus.Fields{"member": name, "namespace": pm.ns, "selector": m.spec.PodSelector, "replicas": len(ready)}).Debug("pods found")
	return nil
}

// kill deletes the member's pods with zero grace.
func (pm *podMember) kill(ctx context.Context) error {
	zero := int64(0)
	return pm.deletePods(ctx, &zero)
}

// stop deletes the member's pods with their own grace.
func (pm *podMember) stop(ctx context.Context) error { return pm.deletePods(ctx, nil) }

// deletePods deletes every pod of the member (grace nil: the pods' own)
// and returns once they are gone, by UID.
func (pm *podMember) deletePods(ctx context.Context, grace *int64) error {
	t, m, name := pm.t, pm.m, pm.m.spec.Name
	pods, err := pm.listPods(ctx)
	if err != nil {
		return err
	}
	if len(pods) == 0 {
		return fmt.Errorf("member %s is not running: no pod in namespace %s matches selector %q", name, pm.ns, m.spec.PodSelector)
	}
	wait := t.opts.ReadyTimeout
	var uids []types.UID
	var names []string
	for i := range pods {
		p := &pods[i]
		uid := p.UID
		err := t.kube.CoreV1().Pods(pm.ns).Delete(ctx, p.Name, metav1.DeleteOptions{
			GracePeriodSeconds: grace,
			Preconditions:      &metav1.Preconditions{UID: &uid},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("member %s: delete pod %s/%s: %w", name, pm.ns, p.Name, err)
		}
		t.mu.Lock()
		pm.deleted[uid] = true
		t.mu.Unlock()
		uids = append(uids, uid)
		names = append(names, p.Name)
		if grace == nil && p.Spec.TerminationGracePeriodSeconds != nil {
			wait = max(wait, time.Duration(*p.Spec.TerminationGracePeriodSeconds)*time.Second+t.opts.ReadyTimeout)
		}
	}
	t.opts.Log.WithFields(logrus.Fields{"member": name, "pods": names, "grace": grace}).Debug("pods deleted")
	return pm.waitPodsGone(ctx, uids, wait)
}

// waitPodsGone polls until no pod of the member has one of uids.
func (pm *podMember) waitPodsGone(ctx context.Context, uids []types.UID, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	tick := time.NewTicker(podPollInterval)
	defer tick.Stop()
	for {
		pods, err := pm.listPods(ctx)
		if err == nil {
			var left []string
			for i := range pods {
				if slices.Contains(uids, pods[i].UID) {
					left = append(left, pods[i].Name)
				}
			}
			if len(left) == 0 {
				return nil
			}
			err = fmt.Errorf("pods %v still exist", left)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("member %s: deleted pods not gone within %s: %w (%w)", pm.m.spec.Name, within, err, ctx.Err())
		case <-tick.C:
		}
	}
}

// start polls until the member's selector matches at least its replicas
// Running+Ready pods, none of them one chaosctl deleted (the Target then
// waits for the member's readiness check, if any). chaosctl never creates
// the user's pods: their controller does.
func (pm *podMember) start(ctx context.Context) error {
	t, m, name := pm.t, pm.m, pm.m.spec.Name
	t.mu.Lock()
	want := pm.replicas
	deleted := make(map[types.UID]bool, len(pm.deleted))
	for uid := range pm.deleted {
		deleted[uid] = true
	}
	t.mu.Unlock()
	wctx, cancel := context.WithTimeout(ctx, t.opts.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(podPollInterval)
	defer tick.Stop()
	var state error // what the last look found
	for {
		pods, err := pm.listPods(wctx)
		switch {
		case err == nil:
			ready := readyPods(pods, deleted)
			if len(ready) >= want {
				t.mu.Lock()
				m.addr = podAddr(m.spec, &ready[0])
				t.mu.Unlock()
				return nil
			}
			state = fmt.Errorf("%d of %d pods ready; %s", len(ready), want, describePods(pods))
		case wctx.Err() == nil || state == nil:
			state = err
		}
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("start %s: %w (%w)", name, ctx.Err(), state)
			}
			return fmt.Errorf("start %s: no replacement pod became ready within %s in namespace %s (selector %q: %w); is it managed by a controller (Deployment, StatefulSet)?",
				name, t.opts.ReadyTimeout, pm.ns, m.spec.PodSelector, state)
		case <-tick.C:
		}
	}
}

// errPodFreeze explains why a pod member cannot be paused.
func errPodFreeze(op, name string) error {
	return fmt.Errorf("%s %s: %w: Kubernetes cannot freeze a container of someone else's pod (chaosctl's own demo pods can, through their supervisor); to make %s unresponsive, put a proxy in front of it and blackhole that link",
		op, name, targets.ErrUnsupported, name)
}

// pause is unsupported on pods.
func (pm *podMember) pause(context.Context) error { return errPodFreeze("pause", pm.m.spec.Name) }

// resume is unsupported on pods.
func (pm *podMember) resume(context.Context) error { return errPodFreeze("resume", pm.m.spec.Name) }

// describe adds nothing: pods are found by selector, never by process.
func (pm *podMember) describe(*targets.Member) {}

func (pm *podMember) exited() <-chan struct{} { return nil }

// Isolate implements targets.Isolator for pod members: a NetworkPolicy in
// the member's namespace denies all ingress and egress of the pods its
// selector matches (pod-to-pod traffic; whether the node's own traffic is
// cut depends on the network plugin, kube-router lets the host through). It
// carries the run's labels and is idempotent. Isolate returns once the
// policy exists: the network plugin enforces it shortly after, and
// connections established before may live on where the plugin lets
// established flows through. Other members: targets.ErrUnsupported.
func (t *Target) Isolate(ctx context.Context, name string) error {
	iso, err := t.isolator(name, "isolate", "only pod members can be isolated (a NetworkPolicy); put a proxy in front of it and blackhole or reset that link")
	if err != nil {
		return err
	}
	return iso.isolate(ctx)
}

// Rejoin implements targets.Isolator: the member's isolation policy is
// deleted (only one carrying the run's label), then its readiness check,
// if it has one, must hold again. It is idempotent.
func (t *Target) Rejoin(ctx context.Context, name string) error {
	iso, err := t.isolator(name, "rejoin", "only pod members can be isolated")
	if err != nil {
		return err
	}
	return iso.rejoin(ctx)
}

// isolator is member name's driver if it can isolate; otherwise the error
// says op is unsupported, and why.
func (t *Target) isolator(name, op, why string) (isolator, error) {
	m, err := t.member(name)
	if err != nil {
		return nil, err
	}
	iso, ok := m.driver.(isolator)
	if !ok {
		return nil, fmt.Errorf("%s %s: %w: %s", op, name, targets.ErrUnsupported, why)
	}
	return iso, nil
}

func (pm *podMember) isolate(ctx context.Context) error {
	t, name := pm.t, pm.m.spec.Name
	pol := kubernetes.IsolationPolicyFor(t.opts.Run, pm.ns, name, pm.labelSel)
	t.mu.Lock()
	pm.isolated = true
	t.mu.Unlock()
	if err := kubernetes.ApplyIsolation(ctx, t.kube, pol); err != nil {
		return fmt.Errorf("isolate %s: %w", name, err)
	}
	t.opts.Log.WithFields(logrus.Fields{"member": name, "policy": pm.ns + "/" + pol.Name}).Debug("isolation policy applied")
	return nil
}

func (pm *podMember) rejoin(ctx context.Context) error {
	t, ms := pm.t, pm.m.spec
	if err := kubernetes.RemoveIsolation(ctx, t.kube, t.opts.Run, pm.ns, ms.Name); err != nil {
		return fmt.Errorf("rejoin %s: %w", ms.Name, err)
	}
	t.mu.Lock()
	pm.isolated = false
	t.mu.Unlock()
	t.opts.Log.WithField("member", ms.Name).Debug("isolation policy removed")
	if ms.ReadyHTTP != "" || ms.ReadyTCP != "" {
		return t.waitReady(ctx, ms.Name)
	}
	return nil
}

// close removes the member's isolation policy if the run applied one (only
// one carrying the run's label); the user's pods are left as they are.
func (pm *podMember) close(ctx context.Context) error {
	t := pm.t
	t.mu.Lock()
	isolated := pm.isolated && t.kube != nil
	t.mu.Unlock()
	if !isolated {
		return nil
	}
	if err := kubernetes.RemoveIsolation(ctx, t.kube, t.opts.Run, pm.ns, pm.m.spec.Name); err != nil {
		return fmt.Errorf("close: member %s: %w", pm.m.spec.Name, err)
	}
	return nil
}

var (
	_ targets.Isolator = (*Target)(nil)
	_ isolator         = (*podMember)(nil)
)
