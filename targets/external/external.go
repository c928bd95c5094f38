package external

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/docker/docker/client"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/internal/httpcall"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
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
	// OnStarted, when set, receives a member as soon as chaosctl started
	// it (a command, also on every restart) or found it (a container),
	// before any fault can touch it: the run's ledger records it there so
	// that `chaosctl recover` can finish it (injectors.Ledger.OnStarted).
	OnStarted func(members []targets.Member)
}

// Target is the user's services as a targets.Target. Membership faults act on
// member processes (signals to their process group), containers (the
// Docker API) or pods (the Kubernetes API), each through its memberDriver;
// link faults on the proxies, whose links run from the client side to the
// proxy's name: Link{From: "client", To: NAME}.
type Target struct {
	spec  Spec
	opts  Options
	plane *faultplane.Plane
	cli   *client.Client    // nil without container members
	kube  kubernetes.Client // nil without pod members

	mu      sync.Mutex
	members map[string]*member
	order   []string
	closing democluster.CloseOnce
}

type member struct {
	spec   MemberSpec
	addr   string // guarded by Target.mu: a pod member's moves with its pods
	driver memberDriver
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
		m := &member{spec: ms, addr: memberAddr(ms)}
		m.driver = newMemberDriver(t, m, pods[ms.Name])
		t.mu.Lock()
		t.members[ms.Name] = m
		t.order = append(t.order, ms.Name)
		t.mu.Unlock()
		if err := m.driver.open(ctx); err != nil {
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
// passes (democluster's readiness wait); a command member that exits
// meanwhile is an error.
func (t *Target) waitReady(ctx context.Context, name string) error {
	m, err := t.member(name)
	if err != nil {
		return err
	}
	exited := m.driver.exited()
	err = democluster.WaitProbe(ctx, "readiness", democluster.Readiness{
		Timeout: t.opts.ReadyTimeout,
		Check: func(context.Context, string) error {
			select {
			case <-exited:
				return fmt.Errorf("member %s exited before it was ready (see its log in %s)", name, t.opts.Dir)
			default:
				return nil
			}
		},
	}, func(ctx context.Context, hc *http.Client, _ string) error {
		return probeReady(ctx, hc, m.spec)
	}, name)
	var nr *democluster.NotReadyError
	if errors.As(err, &nr) {
		return fmt.Errorf("member %s not ready within %s: %w", name, t.opts.ReadyTimeout, nr.Err)
	}
	return err
}

// probeReady checks a member's readiness once: ReadyHTTP answers 2xx,
// ReadyTCP accepts a connection; a member with neither is ready.
func probeReady(ctx context.Context, hc *http.Client, ms MemberSpec) error {
	switch {
	case ms.ReadyHTTP != "":
		code, err := httpcall.Status(ctx, hc, ms.ReadyHTTP)
		if err != nil {
			return err
		}
		if code < 200 || code >= 300 {
			return fmt.Errorf("status %d", code)
		}
	case ms.ReadyTCP != "":
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, democluster.PollTimeout)
		defer cancel()
		c, err := d.DialContext(dctx, "tcp", ms.ReadyTCP)
		if err != nil {
			return err
		}
		c.Close()
	}
	return nil
}

// Runtime implements targets.Target.
func (t *Target) Runtime() string { return "external" }

// Members implements targets.Target.
func (t *Target) Members() []targets.Member {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]targets.Member, 0, len(t.order))
	for _, name := range t.order {
		out = append(out, describe(t.members[name]))
	}
	return out
}

// describe is m as a targets.Member; Target.mu is held.
func describe(m *member) targets.Member {
	tm := targets.Member{ID: m.spec.Name, Role: "member", Addr: m.addr}
	m.driver.describe(&tm)
	return tm
}

// started passes member m, just started or found, to Options.OnStarted.
func (t *Target) started(m *member) {
	if t.opts.OnStarted == nil {
		return
	}
	t.mu.Lock()
	tm := describe(m)
	t.mu.Unlock()
	t.opts.OnStarted([]targets.Member{tm})
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

// act runs f on the driver of member name.
func (t *Target) act(name string, f func(memberDriver) error) error {
	m, err := t.member(name)
	if err != nil {
		return err
	}
	return f(m.driver)
}

// Kill implements targets.Target: SIGKILL to the process group, a container
// kill, or the pods deleted with zero grace.
func (t *Target) Kill(ctx context.Context, name string) error {
	return t.act(name, func(d memberDriver) error { return d.kill(ctx) })
}

// Start implements targets.Target: start a stopped member again (for pods:
// wait for their replacements) and wait until it is ready; a running one
// is only waited for.
func (t *Target) Start(ctx context.Context, name string) error {
	if err := t.act(name, func(d memberDriver) error { return d.start(ctx) }); err != nil {
		return err
	}
	return t.waitReady(ctx, name)
}

// Stop implements targets.Target: SIGTERM to the group, SIGKILL after
// StopGrace; a container stop; or the pods deleted with their own grace.
func (t *Target) Stop(ctx context.Context, name string) error {
	return t.act(name, func(d memberDriver) error { return d.stop(ctx) })
}

// Pause implements targets.Target: SIGSTOP to the group, or docker pause.
func (t *Target) Pause(ctx context.Context, name string) error {
	return t.act(name, func(d memberDriver) error { return d.pause(ctx) })
}

// Resume implements targets.Target; a member that is gone is left alone.
func (t *Target) Resume(ctx context.Context, name string) error {
	return t.act(name, func(d memberDriver) error { return d.resume(ctx) })
}

// Control implements targets.Target: the user's services have no demo
// control endpoint.
func (t *Target) Control(_ context.Context, id, action string, _, _ any) error {
	return fmt.Errorf("%s on %s: %w (only the demo cluster has it)", action, id, targets.ErrUnsupported)
}

// Close stops the command members (SIGTERM, then SIGKILL), leaves
// containers and pods as they are (they are the user's; faults on them were
// reverted) but removes the run's isolation policies, deletes the proxies
// and stops an embedded toxiproxy. It is idempotent.
func (t *Target) Close(ctx context.Context) error {
	return t.closing.Do(func() error { return t.close(ctx) })
}

// close stops the command members and the fault plane.
func (t *Target) close(ctx context.Context) error {
	t.mu.Lock()
	names := slices.Clone(t.order)
	t.mu.Unlock()
	var errs []error
	for _, name := range names {
		errs = append(errs, t.act(name, func(d memberDriver) error { return d.close(ctx) }))
	}
	if t.plane != nil {
		errs = append(errs, t.plane.Close())
	}
	if t.cli != nil {
		errs = append(errs, t.cli.Close())
	}
	return errors.Join(errs...)
}

var _ targets.Target = (*Target)(nil)
