package external

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
	"github.com/sirupsen/logrus"
	"k8s.io/client-go/kubernetes"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// Spec is the user's services: members chaosctl starts or finds, and the
// proxies in front of them.
type Spec struct {
	Members []MemberSpec
	Proxies []ProxySpec
	// ToxiproxyURL, when set, is an existing toxiproxy server the proxies
	// are created in (and deleted from at the end); otherwise chaosctl
	// embeds one.
	ToxiproxyURL string
	// Kubernetes is the cluster of the pod members and the namespaces
	// chaosctl may act in there (nil: default kubeconfig, no namespace).
	Kubernetes *KubeSpec
}

// MemberSpec is one service. Exactly one of Command, ContainerName or
// ContainerLabel, and PodNamespace with PodSelector is set.
type MemberSpec struct {
	Name    string
	Command []string          // argv; chaosctl starts it in its own process group
	Env     map[string]string // added to chaosctl's environment
	Dir     string            // working directory
	// ReadyHTTP (must answer 2xx) or ReadyTCP (must accept a connection) says
	// when the member serves; with neither it is ready once started.
	ReadyHTTP, ReadyTCP string
	// Ports are the TCP ports it listens on (its address is the first one on
	// 127.0.0.1 unless readiness names one).
	Ports []int
	// ContainerName or ContainerLabel ("key" or "key=value") finds a running
	// container of the user's, which membership faults then act on.
	ContainerName, ContainerLabel string
	// PodNamespace and PodSelector (a label selector such as
	// "app=cart,tier!=canary") find the user's Kubernetes pods, kept by
	// their own controller (Deployment, StatefulSet): Kill and Stop delete
	// them, Start waits for their replacements. The namespace must be in
	// Spec.Kubernetes.Allow.
	PodNamespace, PodSelector string
}

// ProxySpec is a proxy: clients connect to Listen, it forwards to Upstream.
type ProxySpec struct {
	Name, Listen, Upstream string
}

// Options configure Start.
type Options struct {
	Run          string        // run id, part of every proxy name
	Dir          string        // member logs (<name>.log)
	Log          *logrus.Entry // required
	ReadyTimeout time.Duration // default 30s
	StopGrace    time.Duration // SIGTERM to SIGKILL; default 5s
}

// Target is the user's services as a targets.Target. Membership faults act on
// member processes (signals to their process group) or containers (the
// Docker API); link faults on the proxies, whose links run from the client
// side to the proxy's name: Link{From: "client", To: NAME}.
type Target struct {
	spec  Spec
	opts  Options
	plane *faultplane.Plane
	cli   *client.Client       // nil without container members
	kube  kubernetes.Interface // nil without pod members

	mu      sync.Mutex
	members map[string]*member
	order   []string
	closed  bool
}

type member struct {
	spec      MemberSpec
	addr      string
	cmd       *exec.Cmd
	exited    chan struct{}
	container string     // container id
	pod       *podMember // pod members only
}

// ProxyLink is the fault-plane link of the proxy named name.
func ProxyLink(name string) faultplane.Link {
	return faultplane.Link{From: faultplane.ClientSide, To: name}
}

// Start starts the fault plane and its proxies, then the command members
// (waiting until each is ready), and finds the container members. On error
// nothing it started is left.
func Start(ctx context.Context, spec Spec, opts Options) (_ *Target, err error) {
	if opts.Log == nil {
		return nil, errors.New("external target: Options.Log is required")
	}
	if opts.ReadyTimeout <= 0 {
		opts.ReadyTimeout = 30 * time.Second
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	// Checks that touch nothing come first: a namespace chaosctl may not
	// act in is refused before anything starts.
	pods := map[string]*podMember{}
	names := map[string]bool{}
	for _, ms := range spec.Members {
		if ms.Name == "" || names[ms.Name] {
			return nil, fmt.Errorf("external target: member names must be set and distinct (%q)", ms.Name)
		}
		names[ms.Name] = true
		var allow []string
		if spec.Kubernetes != nil {
			allow = spec.Kubernetes.Allow
		}
		pm, err := checkMemberSpec(ms, allow)
		if err != nil {
			return nil, err
		}
		if pm != nil {
			pods[ms.Name] = pm
		}
	}
	t := &Target{spec: spec, opts: opts, members: map[string]*member{}}
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			_ = t.Close(cctx)
		}
	}()
	log := opts.Log.WithField("component", "faultplane")
	if spec.ToxiproxyURL != "" {
		t.plane, err = faultplane.Connect(ctx, opts.Run, spec.ToxiproxyURL, log)
	} else {
		t.plane, err = faultplane.StartEmbedded(ctx, opts.Run, log)
	}
	if err != nil {
		return nil, err
	}
	for _, px := range spec.Proxies {
		if _, err := t.plane.AddProxy(ProxyLink(px.Name), px.Listen, px.Upstream); err != nil {
			return nil, err
		}
	}
	if opts.Dir != "" {
		if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
			return nil, fmt.Errorf("member log folder: %w", err)
		}
	}
	for _, ms := range spec.Members {
		m := &member{spec: ms, addr: memberAddr(ms), pod: pods[ms.Name]}
		t.mu.Lock()
		t.members[ms.Name] = m
		t.order = append(t.order, ms.Name)
		t.mu.Unlock()
		if len(ms.Command) > 0 {
			if err := t.spawn(m); err != nil {
				return nil, err
			}
			continue
		}
		if m.pod != nil {
			if err := t.connectKube(ctx); err != nil {
				return nil, err
			}
			if err := t.findPods(ctx, m); err != nil {
				return nil, err
			}
			continue
		}
		if err := t.findContainer(ctx, m); err != nil {
			return nil, err
		}
	}
	for _, name := range t.order {
		if err := t.waitReady(ctx, name); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// memberAddr is where a member serves: its readiness address, else its
// first port on 127.0.0.1.
func memberAddr(ms MemberSpec) string {
	switch {
	case ms.ReadyTCP != "":
		return ms.ReadyTCP
	case ms.ReadyHTTP != "":
		if u, err := url.Parse(ms.ReadyHTTP); err == nil {
			host := u.Host
			if u.Port() == "" {
				port := "80"
				if u.Scheme == "https" {
					port = "443"
				}
				host = net.JoinHostPort(u.Hostname(), port)
			}
			return host
		}
	case len(ms.Ports) > 0:
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(ms.Ports[0]))
	}
	return ""
}

// spawn starts a command member in its own process group, its output in
// Dir/<name>.log. It dies with chaosctl (parent-death signal).
func (t *Target) spawn(m *member) error {
	argv := m.spec.Command
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = m.spec.Dir
	cmd.Env = os.Environ()
	keys := make([]string, 0, len(m.spec.Env))
	for k := range m.spec.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+m.spec.Env[k])
	}
	if t.opts.Dir != "" {
		f, err := os.OpenFile(filepath.Join(t.opts.Dir, m.spec.Name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("start %s: open log: %w", m.spec.Name, err)
		}
		defer f.Close() // the child holds its own copy
		cmd.Stdout, cmd.Stderr = f, f
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s (%s): %w", m.spec.Name, argv[0], err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.mu.Lock()
	m.cmd, m.exited = cmd, exited
	t.mu.Unlock()
	t.opts.Log.WithFields(logrus.Fields{"member": m.spec.Name, "pid": cmd.Process.Pid}).Debug("member started")
	return nil
}

// findContainer finds a container member's running container, by name or
// by label (exactly one must match).
func (t *Target) findContainer(ctx context.Context, m *member) error {
	if t.cli == nil {
		cli, err := docker.Connect(ctx)
		if err != nil {
			return fmt.Errorf("member %s is a container: %w", m.spec.Name, err)
		}
		t.cli = cli
	}
	if m.spec.ContainerName != "" {
		insp, err := t.cli.ContainerInspect(ctx, m.spec.ContainerName)
		if err != nil {
			return fmt.Errorf("member %s: container %q: %w", m.spec.Name, m.spec.ContainerName, err)
		}
		m.container = insp.ID
		return nil
	}
	cs, err := t.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", m.spec.ContainerLabel))})
	if err != nil {
		return fmt.Errorf("member %s: list containers labelled %s: %w", m.spec.Name, m.spec.ContainerLabel, err)
	}
	if len(cs) != 1 {
		names := make([]string, 0, len(cs))
		for _, c := range cs {
			names = append(names, c.Names...)
		}
		return fmt.Errorf("member %s: %d running containers are labelled %s (%v); exactly one must be", m.spec.Name, len(cs), m.spec.ContainerLabel, names)
	}
	m.container = cs[0].ID
	return nil
}

func (t *Target) member(name string) (*member, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	m, ok := t.members[name]
	if !ok {
		return nil, fmt.Errorf("no member %q; members are %v", name, t.order)
	}
	return m, nil
}

// waitReady polls a member's readiness until it holds or ReadyTimeout
// passes; a command member that exits meanwhile is an error.
func (t *Target) waitReady(ctx context.Context, name string) error {
	m, err := t.member(name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, t.opts.ReadyTimeout)
	defer cancel()
	hc := &http.Client{Timeout: 500 * time.Millisecond}
	defer hc.CloseIdleConnections()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		t.mu.Lock()
		exited := m.exited
		t.mu.Unlock()
		if exited != nil {
			select {
			case <-exited:
				return fmt.Errorf("member %s exited before it was ready (see its log in %s)", name, t.opts.Dir)
			default:
			}
		}
		if ready(ctx, hc, m.spec) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("member %s not ready within %s: %w", name, t.opts.ReadyTimeout, ctx.Err())
		case <-tick.C:
		}
	}
}

func ready(ctx context.Context, hc *http.Client, ms MemberSpec) bool {
	switch {
	case ms.ReadyHTTP != "":
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ms.ReadyHTTP, nil)
		if err != nil {
			return false
		}
		resp, err := hc.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode >= 200 && resp.StatusCode < 300
	case ms.ReadyTCP != "":
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		defer cancel()
		c, err := d.DialContext(dctx, "tcp", ms.ReadyTCP)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	return true
}

// Runtime implements targets.Target.
func (t *Target) Runtime() string { return "external" }

// Members implements targets.Target.
func (t *Target) Members() []targets.Member {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]targets.Member, 0, len(t.order))
	for _, name := range t.order {
		m := t.members[name]
		mm := targets.Member{ID: name, Role: "member", Addr: m.addr}
		if m.cmd != nil && m.cmd.Process != nil && !isClosed(m.exited) {
			mm.PID = m.cmd.Process.Pid
		}
		out = append(out, mm)
	}
	return out
}

func isClosed(ch chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// ClientAddrs implements targets.Target: where the proxies listen.
func (t *Target) ClientAddrs() []string {
	var out []string
	for _, px := range t.spec.Proxies {
		out = append(out, t.plane.Addr(ProxyLink(px.Name)))
	}
	return out
}

// Plane implements targets.Target.
func (t *Target) Plane() *faultplane.Plane { return t.plane }

// signal sends sig to a command member's process group.
func (t *Target) signal(name string, sig syscall.Signal) (*member, error) {
	m, err := t.member(name)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	cmd, exited := m.cmd, m.exited
	t.mu.Unlock()
	if cmd == nil || isClosed(exited) {
		return m, fmt.Errorf("%s is not running", name)
	}
	if err := syscall.Kill(-cmd.Process.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return m, fmt.Errorf("signal %s to %s: %w", sig, name, err)
	}
	return m, nil
}

func (t *Target) waitExit(ctx context.Context, m *member, within time.Duration) error {
	t.mu.Lock()
	exited := m.exited
	t.mu.Unlock()
	timer := time.NewTimer(within)
	defer timer.Stop()
	select {
	case <-exited:
		return nil
	case <-timer.C:
		return fmt.Errorf("%s did not exit within %s", m.spec.Name, within)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Kill implements targets.Target: SIGKILL to the process group (after
// SIGCONT, so a paused one goes too), or a container kill.
func (t *Target) Kill(ctx context.Context, name string) error {
	m, err := t.member(name)
	if err != nil {
		return err
	}
	if m.pod != nil {
		zero := int64(0)
		return t.deletePods(ctx, m, &zero)
	}
	if m.container != "" {
		if err := t.cli.ContainerKill(ctx, m.container, "KILL"); err != nil {
			return fmt.Errorf("kill %s: %w", name, err)
		}
		ch, errc := t.cli.ContainerWait(ctx, m.container, container.WaitConditionNotRunning)
		select {
		case <-ch:
			return nil
		case err := <-errc:
			return fmt.Errorf("wait for %s to stop: %w", name, err)
		}
	}
	_, _ = t.signal(name, syscall.SIGCONT)
	if _, err := t.signal(name, syscall.SIGKILL); err != nil {
		return err
	}
	return t.waitExit(ctx, m, 10*time.Second)
}

// Start implements targets.Target: start a stopped member again and wait
// until it is ready; a running one is only waited for.
func (t *Target) Start(ctx context.Context, name string) error {
	m, err := t.member(name)
	if err != nil {
		return err
	}
	if m.pod != nil {
		return t.waitReplacement(ctx, m)
	}
	if m.container != "" {
		if err := t.cli.ContainerStart(ctx, m.container, container.StartOptions{}); err != nil {
			return fmt.Errorf("start %s: %w", name, err)
		}
		return t.waitReady(ctx, name)
	}
	t.mu.Lock()
	running := m.cmd != nil && !isClosed(m.exited)
	t.mu.Unlock()
	if !running {
		if err := t.spawn(m); err != nil {
			return err
		}
	}
	return t.waitReady(ctx, name)
}

// Stop implements targets.Target: SIGTERM to the group, SIGKILL after
// StopGrace; or a container stop.
func (t *Target) Stop(ctx context.Context, name string) error {
	m, err := t.member(name)
	if err != nil {
		return err
	}
	if m.pod != nil {
		return t.deletePods(ctx, m, nil)
	}
	if m.container != "" {
		grace := int(t.opts.StopGrace.Seconds())
		if err := t.cli.ContainerStop(ctx, m.container, container.StopOptions{Timeout: &grace}); err != nil {
			return fmt.Errorf("stop %s: %w", name, err)
		}
		return nil
	}
	_, _ = t.signal(name, syscall.SIGCONT)
	if _, err := t.signal(name, syscall.SIGTERM); err != nil {
		return err
	}
	if err := t.waitExit(ctx, m, t.opts.StopGrace); err == nil {
		return nil
	}
	_, _ = t.signal(name, syscall.SIGKILL)
	return t.waitExit(ctx, m, 10*time.Second)
}

// Pause implements targets.Target: SIGSTOP to the group, or docker pause.
func (t *Target) Pause(ctx context.Context, name string) error {
	m, err := t.member(name)
	if err != nil {
		return err
	}
	if m.pod != nil {
		return errPodFreeze("pause", name)
	}
	if m.container != "" {
		return t.cli.ContainerPause(ctx, m.container)
	}
	if _, err := t.signal(name, syscall.SIGSTOP); err != nil {
		return err
	}
	// A stop is delivered asynchronously: Pause returns once the process
	// is stopped, so the fault is in force when the caller goes on.
	t.mu.Lock()
	pid := m.cmd.Process.Pid
	t.mu.Unlock()
	if err := process.WaitStopped(ctx, pid, 2*time.Second); err != nil {
		return fmt.Errorf("pause %s: %w", name, err)
	}
	return nil
}

// Resume implements targets.Target; a member that is gone is left alone.
func (t *Target) Resume(ctx context.Context, name string) error {
	m, err := t.member(name)
	if err != nil {
		return err
	}
	if m.pod != nil {
		return errPodFreeze("resume", name)
	}
	if m.container != "" {
		insp, err := t.cli.ContainerInspect(ctx, m.container)
		if err != nil {
			return fmt.Errorf("resume %s: %w", name, err)
		}
		if insp.State == nil || !insp.State.Paused {
			return nil
		}
		return t.cli.ContainerUnpause(ctx, m.container)
	}
	if _, err := t.signal(name, syscall.SIGCONT); err != nil && !isClosed(m.exited) {
		return err
	}
	return nil
}

// Control implements targets.Target: the user's services have no demo
// control endpoint.
func (t *Target) Control(_ context.Context, id, action string, _, _ any) error {
	return fmt.Errorf("%s on %s: %w (only the demo cluster has it)", action, id, targets.ErrUnsupported)
}

// Close stops the command members (SIGTERM, then SIGKILL), leaves
// containers as they are (they are the user's; faults on them were
// reverted), deletes the proxies and stops an embedded toxiproxy. It is
// idempotent.
func (t *Target) Close(ctx context.Context) error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	names := slices.Clone(t.order)
	t.mu.Unlock()
	var errs []error
	for _, name := range names {
		m, _ := t.member(name)
		t.mu.Lock()
		running := m.cmd != nil && !isClosed(m.exited)
		t.mu.Unlock()
		if running {
			if err := t.Stop(ctx, name); err != nil {
				errs = append(errs, err)
			}
		}
	}
	errs = append(errs, t.closePods(ctx))
	if t.plane != nil {
		errs = append(errs, t.plane.Close())
	}
	if t.cli != nil {
		errs = append(errs, t.cli.Close())
	}
	return errors.Join(errs...)
}

var _ targets.Target = (*Target)(nil)
