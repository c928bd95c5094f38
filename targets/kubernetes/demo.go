package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"

	"github.com/chaosctl/chaosctl/internal/deadman"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// Names and ports of the run's pods. Each pod has its own network
// namespace, laid out as democluster says (MemberPort, PlanePort, LinkPort,
// MemberDataDir).
const (
	// PlanePod is the fault-plane pod's name and io.chaosctl.member label.
	PlanePod = "faultplane"
	// ServiceName is the headless Service that gives the members stable DNS
	// names (<id>.chaosctl-demo.<namespace>.svc) where the cluster has DNS.
	ServiceName = "chaosctl-demo"
	// SecretName holds the members' control token.
	SecretName = "chaosctl-control"
	// RunAsUser is the unprivileged user every container runs as.
	RunAsUser = 65532
	// SupervisorPort is where each member pod's `chaosctl supervise`
	// serves its control API (kill, start, stop, pause, resume).
	SupervisorPort = 7001
)

// Name is the kubernetes runtime's name (target.runtime, --target).
const Name = "kubernetes"

// Crash modes: what Kill does to a member.
const (
	// CrashPod deletes the member's pod with zero grace; Start creates it
	// again (a new pod, a new IP, an empty emptyDir).
	CrashPod = "pod"
	// CrashProcess SIGKILLs the member's process inside its pod (through
	// the pod's supervisor); the pod and its emptyDir stay, and Start
	// starts the process again.
	CrashProcess = "process"
)

// Defaults.
const (
	DefaultReadyTimeout  = 2 * time.Minute
	DefaultStopGrace     = 5 * time.Second
	DefaultDeleteTimeout = 2 * time.Minute
	// IsolateTimeout bounds the wait for a NetworkPolicy to take effect.
	IsolateTimeout = 15 * time.Second
)

// DemoOptions configure StartDemo. Dir also receives a member's log before
// its pod is deleted; ReadyTimeout bounds each wait for pods to run and
// answer /readyz; StopGrace is the pods' terminationGracePeriodSeconds.
type DemoOptions struct {
	democluster.RuntimeOptions
	// Cluster says which cluster; Config, when set, is used instead.
	Cluster ClusterRef
	Config  *rest.Config
	// Namespace is created for the run (default chaosctl-<run>). An existing
	// namespace is used only when Allow names it; chaosctl then removes only
	// its own objects from it.
	Namespace string
	Allow     []string
	// Image is chaosctl's FROM-scratch image as the nodes know it; pods use
	// imagePullPolicy Never, so it must have been imported on every node.
	Image string
	// StorageClass, when set, gives each store node a PersistentVolumeClaim
	// of that class for its data; otherwise the data lives on an emptyDir,
	// which a pod deletion (crash) loses.
	StorageClass string
	// Crash is CrashPod or CrashProcess; the default is CrashProcess when
	// the store keeps its data on disk without a StorageClass (so the data
	// survives a crash, on the pod's emptyDir), CrashPod otherwise.
	Crash string
	// DeleteTimeout bounds Close's wait for the namespace to be gone; a
	// negative value does not wait.
	DeleteTimeout time.Duration
	// OnNamespace, when set, is called with the namespace and the cluster as
	// soon as the namespace exists (the ledger records them, so `chaosctl
	// recover` can remove a killed run's objects).
	OnNamespace func(namespace string)
}

// Demo is the demo cluster on the kubernetes runtime: a namespace of the
// run's own holding one pod per member (named after the member, with a
// headless Service), a Secret with the control token, and a fault-plane pod
// (`chaosctl proxy`) through whose toxiproxy every link passes (client→g*,
// g*→n*, n*→n*). chaosctl reaches pods at their pod IPs, so it must run
// where those route (on a node, or in a pod of the cluster).
//
// Each member pod runs `chaosctl supervise`, which runs the member as its
// child and lets chaosctl kill, start and freeze it. Membership faults: Kill
// deletes the pod with zero grace and Start creates it again (a new pod IP:
// the proxies' upstreams follow it), or, with Crash set to CrashProcess,
// SIGKILLs the member inside its pod and Start starts it again (the
// emptyDir and the pod IP stay); Stop is the same with the grace period
// (SIGTERM first); Pause and Resume are SIGSTOP and SIGCONT through the
// supervisor, a real freeze (Kubernetes has no API for one); Isolate applies
// a NetworkPolicy that denies all ingress and egress of the member's pod,
// and Rejoin deletes it. A guard NetworkPolicy (guard.go) lets into the
// run's pods only the run's own pods and chaosctl's host.
type Demo struct {
	cs      Client
	spec    demo.ClusterSpec
	opts    DemoOptions
	ns      string
	ownedNS bool
	token   string
	plane   *faultplane.Plane
	planeIP string
	// guardClients are the client's addresses the guard policy lets in.
	guardClients []string
	guardMu      sync.Mutex // serializes the guard policy's updates
	clients      []string
	http         *http.Client
	leases       *deadman.Keeper // the supervisors' (lease.go)
	order        []string
	links        []faultplane.Link
	linkPort     map[faultplane.Link]int

	mu       sync.Mutex
	podIP    map[string]string // member → pod IP ("" while it has no pod)
	isolated map[string]bool
	closing  democluster.CloseOnce
}

// StartDemo connects to the cluster, creates the run's namespace, fault
// plane and members, and returns once every member answers /readyz. On
// error everything it created is removed again.
func StartDemo(ctx context.Context, spec demo.ClusterSpec, opts DemoOptions) (_ *Demo, err error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("demo cluster: %w", err)
	}
	if opts.Image == "" {
		return nil, errors.New("kubernetes runtime: DemoOptions.Image is required")
	}
	var cs Client
	if opts.Config != nil {
		cs, _, err = ConnectConfig(ctx, opts.Config, "the given rest config")
	} else {
		cs, _, err = Connect(ctx, opts.Cluster)
	}
	if err != nil {
		return nil, err
	}
	d, err := NewDemo(cs, spec, opts)
	if err != nil {
		return nil, err
	}
	defer democluster.CloseIfFailed(ctx, &err, time.Minute, d.Close)
	if err := d.CreateObjects(ctx); err != nil {
		return nil, err
	}
	if err := d.startPlane(ctx); err != nil {
		return nil, err
	}
	if err := d.startMembers(ctx); err != nil {
		return nil, err
	}
	if err := d.keepSupervisorLeases(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// NewDemo checks the options and returns a Demo that has created nothing
// yet (StartDemo is NewDemo, CreateObjects and the waits for the pods).
func NewDemo(cs Client, spec demo.ClusterSpec, opts DemoOptions) (*Demo, error) {
	if err := opts.Complete(Name, DefaultReadyTimeout, DefaultStopGrace); err != nil {
		return nil, err
	}
	if opts.DeleteTimeout == 0 {
		opts.DeleteTimeout = DefaultDeleteTimeout
	}
	switch opts.Crash {
	case "":
		opts.Crash = CrashPod
		if spec.Persistence == demo.PersistDisk && opts.StorageClass == "" {
			opts.Crash = CrashProcess
		}
	case CrashPod, CrashProcess:
	default:
		return nil, fmt.Errorf("kubernetes runtime: crash %q: allowed are %s and %s", opts.Crash, CrashPod, CrashProcess)
	}
	ns := opts.Namespace
	if ns == "" {
		ns = NamespaceName(opts.Run)
	}
	// The namespace is checked against the blast radius once more when it
	// exists (CreateObjects): here, protected names are refused at once.
	if slices.Contains(ProtectedNamespaces, ns) {
		return nil, CheckNamespace(ns, false, nil)
	}
	d := &Demo{
		cs: cs, spec: spec, opts: opts, ns: ns, token: democluster.NewToken(), order: spec.MemberIDs(),
		http:  &http.Client{Timeout: 5 * time.Second},
		podIP: map[string]string{}, isolated: map[string]bool{},
		linkPort: map[faultplane.Link]int{},
	}
	d.links = democluster.Links(spec)
	for i, l := range d.links {
		d.linkPort[l] = democluster.LinkPort(i)
	}
	return d, nil
}

// Namespace is the run's namespace.
func (d *Demo) Namespace() string { return d.ns }

// CreateObjects creates the namespace (or checks an allowed existing one),
// the control Secret, the headless Service and the fault-plane pod. It does
// not wait for any pod.
func (d *Demo) CreateObjects(ctx context.Context) error {
	if err := d.createNamespace(ctx); err != nil {
		return err
	}
	if d.opts.OnNamespace != nil {
		d.opts.OnNamespace(d.ns)
	}
	sec := &corev1.Secret{
		ObjectMeta: d.meta(SecretName, ""),
		StringData: map[string]string{demo.EnvControlToken: d.token},
	}
	if _, err := d.cs.CoreV1().Secrets(d.ns).Create(ctx, sec, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create secret %s/%s: %w", d.ns, SecretName, err)
	}
	svc := &corev1.Service{
		ObjectMeta: d.meta(ServiceName, ""),
		Spec: corev1.ServiceSpec{
			ClusterIP:                corev1.ClusterIPNone,
			Selector:                 map[string]string{LabelRun: RunLabel(d.opts.Run), "app.kubernetes.io/name": ServiceName},
			PublishNotReadyAddresses: true,
			Ports:                    []corev1.ServicePort{{Name: "member", Port: democluster.MemberPort, TargetPort: intstr.FromInt32(democluster.MemberPort)}},
		},
	}
	if _, err := d.cs.CoreV1().Services(d.ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create service %s/%s: %w", d.ns, ServiceName, err)
	}
	if d.opts.StorageClass != "" && d.spec.Persistence == demo.PersistDisk {
		for _, id := range d.spec.NodeIDs() {
			if err := d.createClaim(ctx, id); err != nil {
				return err
			}
		}
	}
	_, err := d.cs.CoreV1().Pods(d.ns).Create(ctx, d.planePod(), metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create pod %s/%s: %w", d.ns, PlanePod, err)
	}
	return nil
}

func (d *Demo) createNamespace(ctx context.Context) error {
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.ns, Labels: runLabels(d.opts.Run, "")}}
	_, err := d.cs.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{})
	switch {
	case err == nil:
		d.ownedNS = true
		return nil
	case apierrors.IsAlreadyExists(err):
		if err := CheckNamespace(d.ns, false, d.opts.Allow); err != nil {
			return fmt.Errorf("namespace %s exists: %w", d.ns, err)
		}
		return nil
	default:
		return fmt.Errorf("create namespace %s: %w", d.ns, err)
	}
}

func (d *Demo) createClaim(ctx context.Context, id string) error {
	class := d.opts.StorageClass
	pvc := &corev1.PersistentVolumeClaim{
		ObjectMeta: d.meta(claimName(id), id),
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{
				corev1.ResourceStorage: resource.MustParse("256Mi"),
			}},
		},
	}
	if _, err := d.cs.CoreV1().PersistentVolumeClaims(d.ns).Create(ctx, pvc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create claim %s/%s: %w", d.ns, pvc.Name, err)
	}
	return nil
}

func claimName(id string) string { return "data-" + id }

func (d *Demo) meta(name, member string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: d.ns, Labels: runLabels(d.opts.Run, member)}
}

// securityContexts are those of every pod and container: an unprivileged
// user, no capabilities, a read-only root (the image is one static binary),
// so the pods pass the "restricted" Pod Security Standard.
func securityContexts() (*corev1.PodSecurityContext, *corev1.SecurityContext) {
	user := int64(RunAsUser)
	no, yes := false, true
	pod := &corev1.PodSecurityContext{
		RunAsUser: &user, RunAsGroup: &user, FSGroup: &user, RunAsNonRoot: &yes,
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	ctr := &corev1.SecurityContext{
		AllowPrivilegeEscalation: &no, ReadOnlyRootFilesystem: &yes,
		Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	return pod, ctr
}

func (d *Demo) podBase(name, member string, args []string, ports []corev1.ContainerPort) *corev1.Pod {
	podSec, ctrSec := securityContexts()
	grace := int64(d.opts.StopGrace.Seconds())
	no := false
	meta := d.meta(name, member)
	return &corev1.Pod{
		ObjectMeta: meta,
		Spec: corev1.PodSpec{
			RestartPolicy:                 corev1.RestartPolicyAlways,
			AutomountServiceAccountToken:  &no,
			EnableServiceLinks:            &no,
			TerminationGracePeriodSeconds: &grace,
			SecurityContext:               podSec,
			Containers: []corev1.Container{{
				Name: "chaosctl", Image: d.opts.Image, ImagePullPolicy: corev1.PullNever,
				Args: args, Ports: ports, SecurityContext: ctrSec,
				Env: []corev1.EnvVar{{Name: "GOMAXPROCS", Value: strconv.Itoa(democluster.MemberProcs(d.spec))}},
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi"),
				}},
			}},
		},
	}
}

func (d *Demo) planePod() *corev1.Pod {
	ports := []corev1.ContainerPort{{Name: "api", ContainerPort: democluster.PlanePort}}
	p := d.podBase(PlanePod, PlanePod, democluster.PlaneArgs(d.opts.LogLevel), ports)
	c := &p.Spec.Containers[0]
	// GET /version is the one request the API answers without the token.
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/version", Port: intstr.FromInt32(democluster.PlanePort)}},
		PeriodSeconds: 1,
	}
	c.Env = append(c.Env, d.tokenEnv())
	return p
}

// tokenEnv hands a pod the run's control token from the run's Secret (never
// its command line, nor the pod's spec in clear).
func (d *Demo) tokenEnv() corev1.EnvVar {
	return corev1.EnvVar{Name: demo.EnvControlToken, ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: SecretName}, Key: demo.EnvControlToken},
	}}
}

// MemberPod is the pod of member id; the fault plane's pod IP must be known.
func (d *Demo) MemberPod(id string) (*corev1.Pod, error) {
	cfg, err := democluster.MemberConfig(d.spec, id, d.opts.Seed, democluster.ContainerWiring(d.planeIP, d.links))
	if err != nil {
		return nil, err
	}
	conf, err := cfg.Encode()
	if err != nil {
		return nil, fmt.Errorf("member %s: encode config: %w", id, err)
	}
	args := append([]string{"--log-level", d.opts.LogLevel, "supervise", "--listen", democluster.ListenAll(SupervisorPort), "--"},
		democluster.MemberArgs(d.opts.LogLevel, conf)...)
	p := d.podBase(id, id, args, []corev1.ContainerPort{
		{Name: "member", ContainerPort: democluster.MemberPort}, {Name: "supervisor", ContainerPort: SupervisorPort},
	})
	p.Labels["app.kubernetes.io/name"] = ServiceName
	p.Spec.Hostname, p.Spec.Subdomain = id, ServiceName
	c := &p.Spec.Containers[0]
	c.Env = append(c.Env, d.tokenEnv())
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromInt32(democluster.MemberPort)}},
		PeriodSeconds: 1,
	}
	if cfg.Role == demo.RoleNode {
		vol := corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}
		if d.opts.StorageClass != "" && d.spec.Persistence == demo.PersistDisk {
			vol.VolumeSource = corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claimName(id)}}
		}
		p.Spec.Volumes = append(p.Spec.Volumes, vol)
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: democluster.MemberDataDir})
	}
	return p, nil
}

// startPlane waits for the fault-plane pod and creates every link's proxy
// (with the members' upstreams filled in once their pods have IPs).
func (d *Demo) startPlane(ctx context.Context) error {
	ip, err := d.waitPodIP(ctx, PlanePod)
	if err != nil {
		return err
	}
	d.planeIP = ip
	if d.guardClients, err = ClientAddresses(ip); err != nil {
		return err
	}
	if err := d.guard(ctx); err != nil {
		return err
	}
	apiAddr := net.JoinHostPort(ip, strconv.Itoa(democluster.PlanePort))
	api := "http://" + apiAddr
	if err := d.waitAt(ctx, PlanePod, apiAddr, "/version"); err != nil {
		return err
	}
	d.plane, err = faultplane.ConnectServed(ctx, d.opts.Run, api,
		faultplane.Access{Token: d.token, LeaseTTL: d.opts.LeaseTTL}, d.opts.Log.WithField("component", "faultplane"))
	if err != nil {
		return err
	}
	for _, l := range d.links {
		if l.From == faultplane.ClientSide {
			d.clients = append(d.clients, d.linkAddr(l))
		}
	}
	return nil
}

// ClientAddr implements targets.ClientAddresser: where the workload reaches
// member id through its client proxy, "" when it has none.
func (d *Demo) ClientAddr(id string) string {
	l := faultplane.Link{From: faultplane.ClientSide, To: id}
	if _, ok := d.linkPort[l]; !ok {
		return ""
	}
	return d.linkAddr(l)
}

// linkAddr is where link l's proxy listens, as this host reaches it.
func (d *Demo) linkAddr(l faultplane.Link) string {
	return net.JoinHostPort(d.planeIP, strconv.Itoa(d.linkPort[l]))
}

// startMembers creates every member's pod (store nodes first), waits for
// their IPs, points the proxies at them and waits until all answer /readyz
// (the store nodes: until they have caught up from each other).
func (d *Demo) startMembers(ctx context.Context) error {
	starting := democluster.StartOrder(d.spec)
	for _, id := range starting {
		if err := d.createMemberPod(ctx, id); err != nil {
			return err
		}
	}
	for _, id := range starting {
		ip, err := d.waitPodIP(ctx, id)
		if err != nil {
			return err
		}
		d.setPodIP(id, ip)
	}
	for i, l := range d.links {
		listen := democluster.ListenAll(democluster.LinkPort(i))
		if _, err := d.plane.AddProxy(l, listen, d.memberAddr(l.To)); err != nil {
			return err
		}
	}
	return d.notReady(ctx, democluster.WaitStarted(ctx, d.spec, d.readiness(d.memberAddr)), d.memberAddr)
}

func (d *Demo) createMemberPod(ctx context.Context, id string) error {
	p, err := d.MemberPod(id)
	if err != nil {
		return err
	}
	if _, err := d.cs.CoreV1().Pods(d.ns).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create pod %s/%s: %w", d.ns, id, err)
	}
	return nil
}

func (d *Demo) setPodIP(id, ip string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.podIP[id] = ip
}

// memberAddr is member id's pod IP and port ("" while it has no pod).
func (d *Demo) memberAddr(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ip := d.podIP[id]; ip != "" {
		return net.JoinHostPort(ip, strconv.Itoa(democluster.MemberPort))
	}
	return ""
}

// waitPodIP waits until pod name runs and has an IP. A pod that cannot
// start (its image is not on the node, it crashes) is an error saying why.
func (d *Demo) waitPodIP(ctx context.Context, name string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var last string
	var troubleSince time.Time
	for {
		p, err := d.cs.CoreV1().Pods(d.ns).Get(ctx, name, metav1.GetOptions{})
		switch {
		case err == nil:
			if p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
				return p.Status.PodIP, nil
			}
			if why := podTrouble(p); why != "" {
				fatal, after := fatalTrouble(p)
				switch {
				case !fatal:
					troubleSince = time.Time{}
				case troubleSince.IsZero():
					troubleSince = time.Now()
				}
				if fatal && time.Since(troubleSince) >= after {
					return "", fmt.Errorf("pod %s/%s cannot start: %s", d.ns, name, why)
				}
				last = why
			} else {
				troubleSince = time.Time{}
				last = "phase " + string(p.Status.Phase)
			}
		case ctx.Err() == nil:
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("pod %s/%s not running within %s (%s): %w", d.ns, name, d.opts.ReadyTimeout, last, ctx.Err())
		case <-tick.C:
		}
	}
}

// podTrouble describes why a pod's container is not running, if it says.
func podTrouble(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			return "not scheduled: " + c.Message
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil && w.Reason != "" && w.Reason != "ContainerCreating" {
			return w.Reason + ": " + w.Message
		}
		if t := cs.State.Terminated; t != nil {
			return fmt.Sprintf("container exited with %d (%s): %s", t.ExitCode, t.Reason, t.Message)
		}
	}
	return ""
}

// fatalTrouble says a pod will not start without the user's help, once
// its trouble has lasted for the duration it returns: a missing image or a
// crash loop at once; a container config error only after a while, as the
// kubelet reports one too while its cache of a just-created Secret syncs.
func fatalTrouble(p *corev1.Pod) (bool, time.Duration) {
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImageNeverPull", "InvalidImageName", "CrashLoopBackOff":
				return true, 0
			case "CreateContainerConfigError":
				return true, 20 * time.Second
			}
		}
	}
	return false, 0
}

// waitReady polls member id's /readyz at its pod IP until it answers 200.
func (d *Demo) waitReady(ctx context.Context, id string) error {
	a := d.memberAddr(id)
	if a == "" {
		return fmt.Errorf("member %s has no pod IP", id)
	}
	return d.waitAt(ctx, id, a, "/readyz")
}

// waitAt polls path at addr, pod's, until it answers 200.
func (d *Demo) waitAt(ctx context.Context, pod, addr, path string) error {
	at := func(string) string { return addr }
	return d.notReady(ctx, democluster.WaitReady(ctx, path, d.readiness(at), pod), at)
}

// WaitSettled waits, at most within, until every member answers
// demo.ReadyzSettled at its pod IP (targets.Settler).
func (d *Demo) WaitSettled(ctx context.Context, within time.Duration) error {
	r := d.readiness(d.memberAddr)
	r.Timeout = within
	return democluster.WaitSettled(ctx, d.spec, r)
}

func (d *Demo) readiness(addr func(id string) string) democluster.Readiness {
	return democluster.Readiness{Timeout: d.opts.ReadyTimeout, Interval: 20 * time.Millisecond, Addr: addr}
}

// notReady says which pod did not answer and, if it says, why; the pod's
// address is addr's.
func (d *Demo) notReady(ctx context.Context, err error, addr func(id string) string) error {
	var nr *democluster.NotReadyError
	if !errors.As(err, &nr) {
		return err
	}
	pod := nr.Pending[0]
	why := ""
	if p, gerr := d.cs.CoreV1().Pods(d.ns).Get(context.WithoutCancel(ctx), pod, metav1.GetOptions{}); gerr == nil {
		if t := podTrouble(p); t != "" {
			why = "; pod: " + t
		}
	}
	return fmt.Errorf("%s did not answer %s within %s (last: %v%s; chaosctl must reach pod IPs: run it on a node or in a pod of the cluster): %w",
		pod, "http://"+addr(pod)+nr.Path, nr.Timeout, nr.Last, why, nr.Err)
}

// Runtime implements targets.Target.
func (d *Demo) Runtime() string { return Name }

// Token is the members' control token.
func (d *Demo) Token() string { return d.token }

// Members implements targets.Target: each member at its pod IP.
func (d *Demo) Members() []targets.Member { return democluster.Members(d.order, d.memberAddr) }

// ClientAddrs implements targets.Target: the client→gateway proxies in the
// fault-plane pod.
func (d *Demo) ClientAddrs() []string { return slices.Clone(d.clients) }

// Plane implements targets.Target.
func (d *Demo) Plane() *faultplane.Plane { return d.plane }

// Control implements targets.Target.
func (d *Demo) Control(ctx context.Context, id, action string, body, out any) error {
	a := d.memberAddr(id)
	if a == "" {
		return fmt.Errorf("control %s: member %q has no pod IP (not a member, or its pod is gone)", action, id)
	}
	return democluster.CallControl(ctx, d.http, a, d.token, action, body, out)
}

// appendLog appends member id's container log to Dir/<id>.log (before its
// pod goes, and at Close). Best effort: a failure is logged.
func (d *Demo) appendLog(ctx context.Context, id string) {
	if d.opts.Dir == "" {
		return
	}
	if err := d.saveLog(ctx, id); err != nil {
		d.opts.Log.WithError(err).WithField("member", id).Debug("save member log")
	}
}

func (d *Demo) saveLog(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	rc, err := d.cs.CoreV1().Pods(d.ns).GetLogs(id, &corev1.PodLogOptions{}).Stream(ctx)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := os.MkdirAll(d.opts.Dir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(d.opts.Dir, id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, rc)
	return err
}

// Close implements targets.Target: the members' logs are saved to Dir, every
// pod deleted at once, and the run's namespace deleted (in an allowed
// namespace of the user's, only the run's labelled objects); Close waits
// until the namespace is gone, up to DeleteTimeout. It is idempotent.
func (d *Demo) Close(ctx context.Context) error {
	return d.closing.Do(func() error {
		d.releaseSupervisorLeases()
		if d.plane != nil {
			d.plane.ReleaseLease()
		}
		for _, id := range d.order {
			d.appendLog(ctx, id)
		}
		_, err := RemoveRun(ctx, d.cs, d.opts.Run, RemoveOptions{Namespaces: []string{d.ns}, Wait: d.opts.DeleteTimeout})
		d.http.CloseIdleConnections()
		return err
	})
}

var (
	_ targets.Target   = (*Demo)(nil)
	_ targets.Isolator = (*Demo)(nil)
)
