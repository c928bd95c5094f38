package docker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/docker/go-connections/nat"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// Names inside the run's network. Every member has its own network
// namespace, laid out as democluster says (MemberPort, PlanePort,
// LinkPort, MemberDataDir); a store node's data directory is a named volume
// when persistence is disk.
const (
	// PlaneAlias is the fault-plane container's name on the run's network.
	PlaneAlias = "faultplane"
	// LabelNetwork is the io.chaosctl.member label of the run's network and
	// LabelPlane that of its fault-plane container.
	LabelNetwork = "network"
	LabelPlane   = "faultplane"
)

// Name is the docker runtime's name (target.runtime, --target).
const Name = "docker"

// Defaults.
const (
	DefaultReadyTimeout = democluster.DefaultReadyTimeout
	DefaultStopGrace    = 5 * time.Second
)

// DemoOptions configure StartDemo. Every object of the run is named
// chaosctl-<Run>[-<member>].
type DemoOptions struct {
	democluster.RuntimeOptions
	// Binary is the static chaosctl put in the image when the engine lacks
	// it; default this executable.
	Binary string
	// Version tags the image (see EnsureImage).
	Version string
	// OnPlane, when set, is called with the fault plane's API URL as soon as
	// it answers, before members start (the ledger records it, so `chaosctl
	// recover` can delete the proxies of a killed run).
	OnPlane func(url string)
	// MemberCPU, when above 0, caps each member container's CPU at that
	// share of one core (a CFS quota over a 10 ms period): a member whose
	// capacity does not depend on what else runs on the host, for the
	// overload tests. 0 is no cap.
	MemberCPU float64
}

// Demo is the demo cluster on the docker runtime: one container per member
// of chaosctl's FROM-scratch image on a bridge network of the run's own, and
// a fault-plane container (`chaosctl proxy`) through whose toxiproxy every
// link passes (client→g*, g*→n*, n*→n*), driven through toxiproxy's client.
// Only the client links' proxies and the toxiproxy API are published, on
// 127.0.0.1; chaosctl reaches members (readiness, metrics, control) at their
// addresses on the run's network. Membership faults use the Docker API:
// kill and start (a disk node's data volume is kept), pause and unpause (the
// cgroup freezer), stop, and network disconnect and reconnect (Isolate).
type Demo struct {
	cli   *client.Client
	spec  demo.ClusterSpec
	opts  DemoOptions
	token string
	image string
	// cgroupParent is every container's cgroup parent ("" is the engine's
	// default); see cgroupParentFor.
	cgroupParent string
	netID        string
	netName      string
	plane        *faultplane.Plane
	// planeIP is the fault-plane container's address on the run's network:
	// members dial their peers' proxies there (see startMembers).
	planeIP    string
	clients    []string
	clientByID map[string]string // member id -> its client proxy's host address
	http       *http.Client
	order      []string

	mu      sync.Mutex
	members map[string]*memberContainer
	closing democluster.CloseOnce
}

type memberContainer struct {
	id        string // member id
	container string // container id
	ip        string // address on the run's network ("" while disconnected)
	// upstream is the address the proxies of the links to this member dial
	// (see pointLinksAt).
	upstream string
	running  bool
	paused   bool
	isolated bool
}

// ObjectName is the name of a run's object: chaosctl-<run>[-<member>].
func ObjectName(run, member string) string {
	if member == "" {
		return "chaosctl-" + run
	}
	return "chaosctl-" + run + "-" + member
}

// StartDemo connects to the engine, makes sure the image exists, and starts
// the run's network, fault plane and members, returning once every member
// answers /readyz. On error everything it created is removed again.
func StartDemo(ctx context.Context, spec demo.ClusterSpec, opts DemoOptions) (_ *Demo, err error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("demo cluster: %w", err)
	}
	if err := opts.Complete(Name, DefaultReadyTimeout, DefaultStopGrace); err != nil {
		return nil, err
	}
	if opts.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable: %w", err)
		}
		opts.Binary = exe
	}
	cli, err := Connect(ctx)
	if err != nil {
		return nil, err
	}
	image, built, err := EnsureImage(ctx, cli, opts.Binary, opts.Version)
	if err != nil {
		_ = cli.Close()
		return nil, err
	}
	opts.Log.WithFields(logrus.Fields{"image": image, "built": built}).Debug("image ready")
	d := &Demo{
		cli: cli, spec: spec, opts: opts, token: democluster.NewToken(), image: image,
		cgroupParent: cgroupParentFor(ctx, cli, opts.Log),
		netName:      ObjectName(opts.Run, ""), order: spec.MemberIDs(),
		http: &http.Client{Timeout: 5 * time.Second}, members: map[string]*memberContainer{},
	}
	defer democluster.CloseIfFailed(ctx, &err, time.Minute, d.Close)
	if err := d.createNetwork(ctx); err != nil {
		return nil, err
	}
	links := democluster.Links(d.spec)
	if err := d.startPlane(ctx, links); err != nil {
		return nil, err
	}
	if err := d.startMembers(ctx, links); err != nil {
		return nil, err
	}
	return d, nil
}

// cgroupParentFor returns the cgroup parent for the run's containers: "/"
// where the engine manages cgroups itself (the cgroupfs driver), else the
// engine's default ("").
//
// Under the cgroupfs driver Docker puts every container of the host in one
// parent cgroup (/docker) whose CPU weight is that of a single process. On a
// busy host the whole cluster (five containers for three nodes and a
// gateway) would then get one process's share of the CPU while each busy
// process beside it gets its own, and latency SLOs would judge the host's
// load rather than the faults: measured on a 2-core machine with one busy
// loop beside the quickstart, 0 of 3 seeds passed under /docker and 3 of 3
// with the group's weight raised to five processes'. With "/" as parent
// each container is a cgroup of its own at the top with a process's
// weight, as each member is on the process runtime; Docker still creates
// and removes it with the container. The systemd driver already gives each
// container a scope of its own among the host's services.
func cgroupParentFor(ctx context.Context, cli *client.Client, log *logrus.Entry) string {
	info, err := cli.Info(ctx)
	if err != nil {
		log.WithError(err).Debug("engine info unavailable; containers keep the engine's cgroup parent")
		return ""
	}
	if info.CgroupDriver != "cgroupfs" {
		return ""
	}
	return "/"
}

func (d *Demo) labels(member string) map[string]string {
	return map[string]string{LabelRun: d.opts.Run, LabelMember: member}
}

func (d *Demo) createNetwork(ctx context.Context) error {
	resp, err := d.cli.NetworkCreate(ctx, d.netName, network.CreateOptions{
		Driver: "bridge",
		Labels: d.labels(LabelNetwork),
		// Members talk to each other and to the host, never to the outside.
		Options: map[string]string{"com.docker.network.bridge.enable_ip_masquerade": "false"},
	})
	if err != nil {
		return fmt.Errorf("create network %s: %w", d.netName, err)
	}
	d.netID = resp.ID
	return nil
}

// startPlane starts the fault-plane container, publishes its API and the
// client links on 127.0.0.1, and creates every link's proxy.
func (d *Demo) startPlane(ctx context.Context, links []faultplane.Link) error {
	exposed := nat.PortSet{}
	bindings := nat.PortMap{}
	publish := func(port int) nat.Port {
		p := nat.Port(strconv.Itoa(port) + "/tcp")
		exposed[p] = struct{}{}
		bindings[p] = []nat.PortBinding{{HostIP: "127.0.0.1", HostPort: "0"}}
		return p
	}
	apiPort := publish(democluster.PlanePort)
	clientPorts := map[int]nat.Port{}
	for i, l := range links {
		if l.From == faultplane.ClientSide {
			clientPorts[i] = publish(democluster.LinkPort(i))
		}
	}
	// The run's token reaches the plane in its environment, never its
	// command line.
	env := []string{demo.EnvControlToken + "=" + d.token}
	id, err := d.createContainer(ctx, LabelPlane, PlaneAlias, democluster.PlaneArgs(d.opts.LogLevel), env, exposed, bindings, nil, container.Resources{})
	if err != nil {
		return err
	}
	if err := d.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return fmt.Errorf("start the fault-plane container: %w", err)
	}
	insp, err := d.cli.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("inspect the fault-plane container: %w", err)
	}
	hostAddr := func(p nat.Port) (string, error) {
		bs := insp.NetworkSettings.Ports[p]
		if len(bs) == 0 || bs[0].HostPort == "" {
			return "", fmt.Errorf("fault-plane container: port %s is not published", p)
		}
		return net.JoinHostPort("127.0.0.1", bs[0].HostPort), nil
	}
	api, err := hostAddr(apiPort)
	if err != nil {
		return err
	}
	if ep := insp.NetworkSettings.Networks[d.netName]; ep != nil {
		d.planeIP = ep.IPAddress
	}
	if d.planeIP == "" {
		return fmt.Errorf("fault-plane container: no address on network %s", d.netName)
	}
	d.plane, err = faultplane.ConnectServed(ctx, d.opts.Run, "http://"+api,
		faultplane.Access{Token: d.token, LeaseTTL: d.opts.LeaseTTL}, d.opts.Log.WithField("component", "faultplane"))
	if err != nil {
		return fmt.Errorf("%w (fault-plane container logs: %s)", err, d.logsTail(id, 5))
	}
	if d.opts.OnPlane != nil {
		d.opts.OnPlane(d.plane.URL())
	}
	for i, l := range links {
		listen := democluster.ListenAll(democluster.LinkPort(i))
		// Members have no address yet: startContainer points each link at
		// its member once it runs (see pointLinksAt).
		if _, err := d.plane.AddProxy(l, listen, downUpstream); err != nil {
			return err
		}
		if p, ok := clientPorts[i]; ok {
			a, err := hostAddr(p)
			if err != nil {
				return err
			}
			d.clients = append(d.clients, a)
			if d.clientByID == nil {
				d.clientByID = map[string]string{}
			}
			d.clientByID[l.To] = a
		}
	}
	return nil
}

// cpuPeriod is the CFS period of MemberCPU's quota: short, so a capped
// member is held back in slices of a few milliseconds, not of a tenth of a
// second.
const cpuPeriod = 10 * time.Millisecond

// memberCPU is a member container's CPU cap (see DemoOptions.MemberCPU).
func (d *Demo) memberCPU() container.Resources {
	if d.opts.MemberCPU <= 0 {
		return container.Resources{}
	}
	period := cpuPeriod.Microseconds()
	return container.Resources{CPUPeriod: period, CPUQuota: max(1000, int64(d.opts.MemberCPU*float64(period)))}
}

// createContainer creates one container of the run on its network.
func (d *Demo) createContainer(ctx context.Context, member, alias string, cmd, env []string,
	exposed nat.PortSet, bindings nat.PortMap, mounts []mount.Mount, res container.Resources) (string, error) {
	name := ObjectName(d.opts.Run, member)
	res.CgroupParent = d.cgroupParent
	var sysctls map[string]string
	if member == LabelPlane {
		// toxiproxy dials one connection at a time in a proxy's accept
		// loop: a dial to a member that vanished on its own (its address
		// gone from the bridge) must give up in seconds, not after TCP's
		// default six SYN retries (two minutes), or the link's later
		// connections, and the proxy's restart, wait behind it.
		sysctls = map[string]string{"net.ipv4.tcp_syn_retries": "1"}
	}
	resp, err := d.cli.ContainerCreate(ctx,
		&container.Config{
			Image: d.image, Cmd: cmd, Env: env, Labels: d.labels(member),
			Hostname: alias, ExposedPorts: exposed,
		},
		&container.HostConfig{
			PortBindings: bindings, Mounts: mounts, NetworkMode: container.NetworkMode(d.netName),
			Resources: res, Sysctls: sysctls,
		},
		&network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{
			d.netName: {Aliases: []string{alias}},
		}},
		nil, name)
	if err != nil {
		return "", fmt.Errorf("create container %s: %w", name, err)
	}
	return resp.ID, nil
}

// startMembers creates and starts every member's container (store nodes
// first) and waits until all answer /readyz.
func (d *Demo) startMembers(ctx context.Context, links []faultplane.Link) error {
	// The plane by address, not by name, for the reason in pointLinksAt.
	wiring := democluster.ContainerWiring(d.planeIP, links)
	for _, cfg := range democluster.MemberConfigs(d.spec, d.opts.Seed, wiring) {
		id := cfg.ID
		var mounts []mount.Mount
		if cfg.Role == demo.RoleNode {
			if d.spec.Persistence == demo.PersistDisk {
				vol := ObjectName(d.opts.Run, id)
				if _, err := d.cli.VolumeCreate(ctx, volume.CreateOptions{Name: vol, Labels: d.labels(id)}); err != nil {
					return fmt.Errorf("create volume %s: %w", vol, err)
				}
				mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: vol, Target: democluster.MemberDataDir})
			}
		}
		conf, err := cfg.Encode()
		if err != nil {
			return fmt.Errorf("member %s: encode config: %w", id, err)
		}
		env := []string{demo.EnvControlToken + "=" + d.token, "GOMAXPROCS=" + strconv.Itoa(democluster.MemberProcs(d.spec))}
		cid, err := d.createContainer(ctx, id, id, democluster.MemberArgs(d.opts.LogLevel, conf), env, nil, nil, mounts, d.memberCPU())
		if err != nil {
			return err
		}
		d.mu.Lock()
		d.members[id] = &memberContainer{id: id, container: cid, upstream: downUpstream}
		d.mu.Unlock()
	}
	for _, id := range democluster.StartOrder(d.spec) {
		if err := d.startContainer(ctx, id); err != nil {
			return err
		}
	}
	return d.notReady(democluster.WaitStarted(ctx, d.spec, d.readiness()))
}

// startContainer starts member id's container and records its address.
func (d *Demo) startContainer(ctx context.Context, id string) error {
	m, err := d.member(id)
	if err != nil {
		return err
	}
	if err := d.cli.ContainerStart(ctx, m.container, container.StartOptions{}); err != nil {
		return fmt.Errorf("start container of %s: %w", id, err)
	}
	if err := d.refresh(ctx, id); err != nil {
		return err
	}
	return d.pointLinksAt(id)
}

// downUpstream is where the proxies of the links to a member that is not
// running or not on the run's network point: the fault-plane container's
// own loopback at a port nothing listens on, so toxiproxy's dial is refused
// at once and the caller sees its connection closed, as a host whose
// process is gone answers. (A stopped container's address would leave the
// dial waiting until TCP gives up, up to a minute in toxiproxy's accept
// loop, which dials one connection at a time.)
const downUpstream = "127.0.0.1:1"

// pointLinksAt points the proxies of the links to member id at its address
// on the run's network while it runs there, else at downUpstream. Addresses,
// not names: a name is looked up in the engine's embedded DNS server
// (dockerd) at every connection toxiproxy accepts, one at a time, and at
// warmup, when connection pools grow while the engine competes for a busy
// CPU, slow lookups failed dials and opened breakers. A container started
// again or reconnected may have a new address, so every start and rejoin
// calls this.
func (d *Demo) pointLinksAt(id string) error {
	m, err := d.member(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	upstream := downUpstream
	if m.running && !m.isolated && m.ip != "" {
		upstream = net.JoinHostPort(m.ip, strconv.Itoa(democluster.MemberPort))
	}
	d.mu.Unlock()
	return d.pointLinks(m, upstream)
}

// pointLinks points the proxies of the links to member m at upstream,
// unless they dial it already. A member about to be killed, stopped or
// disconnected is pointed at downUpstream first: toxiproxy restarts a proxy
// whose upstream changes and waits for its accept loop, which a dial to an
// address that just vanished would hold for the minute TCP takes to give up.
func (d *Demo) pointLinks(m *memberContainer, upstream string) error {
	d.mu.Lock()
	was := m.upstream
	d.mu.Unlock()
	if upstream == was {
		return nil
	}
	var errs []error
	for _, l := range d.plane.Links() {
		if l.To == m.id {
			errs = append(errs, d.plane.Retarget(l, upstream, ""))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("point the links to %s at %s: %w", m.id, upstream, err)
	}
	d.mu.Lock()
	m.upstream = upstream
	d.mu.Unlock()
	return nil
}

// refresh reads member id's state and address from the engine.
func (d *Demo) refresh(ctx context.Context, id string) error {
	m, err := d.member(id)
	if err != nil {
		return err
	}
	insp, err := d.cli.ContainerInspect(ctx, m.container)
	if err != nil {
		return fmt.Errorf("inspect container of %s: %w", id, err)
	}
	ip := ""
	if insp.NetworkSettings != nil {
		if ep := insp.NetworkSettings.Networks[d.netName]; ep != nil {
			ip = ep.IPAddress
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	m.running = insp.State != nil && insp.State.Running
	m.paused = insp.State != nil && insp.State.Paused
	if ip != "" {
		m.ip = ip
	}
	m.isolated = insp.NetworkSettings == nil || insp.NetworkSettings.Networks[d.netName] == nil
	return nil
}

// current refreshes member id from the engine and returns it with a copy of
// its state.
func (d *Demo) current(ctx context.Context, id string) (*memberContainer, memberContainer, error) {
	if err := d.refresh(ctx, id); err != nil {
		return nil, memberContainer{}, err
	}
	m, err := d.member(id)
	if err != nil {
		return nil, memberContainer{}, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return m, *m, nil
}

func (d *Demo) member(id string) (*memberContainer, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m, ok := d.members[id]
	if !ok {
		return nil, fmt.Errorf("no member %q; members are %v", id, d.order)
	}
	return m, nil
}

func (d *Demo) addr(id string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if m := d.members[id]; m != nil && m.ip != "" {
		return net.JoinHostPort(m.ip, strconv.Itoa(democluster.MemberPort))
	}
	return ""
}

// waitReady polls /readyz of the given members until all answer 200; a
// container that exits meanwhile is an error carrying its last log lines.
func (d *Demo) waitReady(ctx context.Context, ids ...string) error {
	return d.notReady(democluster.WaitReady(ctx, "/readyz", d.readiness(), ids...))
}

// WaitSettled waits, at most within, until every member answers
// demo.ReadyzSettled (targets.Settler).
func (d *Demo) WaitSettled(ctx context.Context, within time.Duration) error {
	r := d.readiness()
	r.Timeout = within
	return democluster.WaitSettled(ctx, d.spec, r)
}

// readiness is how members are waited for: at their addresses on the run's
// network, asking the engine about every half second whether one exited.
func (d *Demo) readiness() democluster.Readiness {
	return democluster.Readiness{
		Timeout: d.opts.ReadyTimeout, Interval: 20 * time.Millisecond, Addr: d.addr, CheckEvery: 25,
		Check: func(ctx context.Context, id string) error {
			if err := d.refresh(ctx, id); err == nil {
				if m, _ := d.member(id); m != nil && !m.running {
					return fmt.Errorf("start %s: the container exited before it was ready: %s", id, d.logsTail(m.container, 5))
				}
			}
			return nil
		},
	}
}

// notReady says where to look when members did not answer in time.
func (d *Demo) notReady(err error) error {
	var nr *democluster.NotReadyError
	if errors.As(err, &nr) {
		return fmt.Errorf("members %v not ready within %s (%s; last answer of %s: %v; is %s reachable from this host, and its containers from each other?): %w",
			nr.Pending, nr.Timeout, nr.Path, nr.Pending[0], nr.Last, d.netName, nr.Err)
	}
	return err
}

// logsTail returns the last n lines of a container's output.
func (d *Demo) logsTail(containerID string, n int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rc, err := d.cli.ContainerLogs(ctx, containerID, container.LogsOptions{ShowStdout: true, ShowStderr: true, Tail: strconv.Itoa(n)})
	if err != nil {
		return "(no logs: " + err.Error() + ")"
	}
	defer rc.Close()
	var buf limitedBuffer
	_, _ = stdcopy.StdCopy(&buf, &buf, rc)
	return string(buf.b)
}

type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// ClientAddr implements targets.ClientAddresser: where the workload reaches
// member id through its client proxy, "" when it has none.
func (d *Demo) ClientAddr(id string) string { return d.clientByID[id] }

// MemberStatus implements targets.StatusReporter: the member's container as
// the engine reports it.
func (d *Demo) MemberStatus(ctx context.Context, id string) (targets.MemberStatus, error) {
	m, err := d.member(id)
	if err != nil {
		return targets.MemberStatus{}, err
	}
	return ContainerStatus(ctx, d.cli, m.container)
}

// Runtime implements targets.Target.
func (d *Demo) Runtime() string { return Name }

// Network is the run's network name.
func (d *Demo) Network() string { return d.netName }

// Image is the image the run's containers use.
func (d *Demo) Image() string { return d.image }

// Token is the members' control token.
func (d *Demo) Token() string { return d.token }

// Container returns the container id of member id.
func (d *Demo) Container(id string) (string, error) {
	m, err := d.member(id)
	if err != nil {
		return "", err
	}
	return m.container, nil
}

// Members implements targets.Target: each member's address on the run's
// network (reachable from this host); PID is 0, members are containers.
func (d *Demo) Members() []targets.Member { return democluster.Members(d.order, d.addr) }

// ClientAddrs implements targets.Target: the published client→gateway proxies.
func (d *Demo) ClientAddrs() []string { return slices.Clone(d.clients) }

// Plane implements targets.Target.
func (d *Demo) Plane() *faultplane.Plane { return d.plane }

// Kill implements targets.Target: SIGKILL to the container (paused or not),
// then wait until the engine reports it stopped. Its volume is kept.
func (d *Demo) Kill(ctx context.Context, id string) error {
	m, err := d.member(id)
	if err != nil {
		return err
	}
	if err := d.pointLinks(m, downUpstream); err != nil {
		return err
	}
	if err := d.cli.ContainerKill(ctx, m.container, "KILL"); err != nil && !isNotRunning(err) {
		return fmt.Errorf("kill %s: %w", id, err)
	}
	if err := d.waitStopped(ctx, id, m.container); err != nil {
		return err
	}
	return d.refresh(ctx, id)
}

func (d *Demo) waitStopped(ctx context.Context, id, cid string) error {
	ch, errc := d.cli.ContainerWait(ctx, cid, container.WaitConditionNotRunning)
	select {
	case <-ch:
		return nil
	case err := <-errc:
		return fmt.Errorf("wait for %s to stop: %w", id, err)
	case <-ctx.Done():
		return fmt.Errorf("wait for %s to stop: %w", id, ctx.Err())
	}
}

// isNotRunning says the engine refused because the container is not running.
func isNotRunning(err error) bool {
	return err != nil && (cerrdefs.IsConflict(err) || containsAny(err.Error(), "is not running"))
}

func containsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Start implements targets.Target: start a stopped container and wait until
// it is ready. A running one is only waited for, so a retried revert works.
func (d *Demo) Start(ctx context.Context, id string) error {
	_, st, err := d.current(ctx, id)
	if err != nil {
		return err
	}
	if !st.running {
		if err := d.startContainer(ctx, id); err != nil {
			return err
		}
	}
	if st.isolated {
		return nil // not reachable until rejoined; Rejoin waits for it
	}
	if err := d.waitReady(ctx, id); err != nil {
		return err
	}
	return d.resetLinks(id)
}

// resetLinks closes every connection through the proxies of id's links
// (see faultplane.Plane.ResetLinks).
func (d *Demo) resetLinks(id string) error { return d.plane.ResetLinks(id) }

// Stop implements targets.Target: SIGTERM, then SIGKILL after StopGrace.
func (d *Demo) Stop(ctx context.Context, id string) error {
	m, err := d.member(id)
	if err != nil {
		return err
	}
	if err := d.pointLinks(m, downUpstream); err != nil {
		return err
	}
	grace := int(d.opts.StopGrace.Seconds())
	if err := d.cli.ContainerStop(ctx, m.container, container.StopOptions{Timeout: &grace}); err != nil {
		return fmt.Errorf("stop %s: %w", id, err)
	}
	return d.refresh(ctx, id)
}

// Pause implements targets.Target: the cgroup freezer (docker pause).
func (d *Demo) Pause(ctx context.Context, id string) error {
	m, err := d.member(id)
	if err != nil {
		return err
	}
	if err := d.cli.ContainerPause(ctx, m.container); err != nil {
		return fmt.Errorf("pause %s: %w", id, err)
	}
	d.mu.Lock()
	m.paused = true
	d.mu.Unlock()
	return nil
}

// Resume implements targets.Target (docker unpause). A container that is not
// paused (killed meanwhile, or resumed already) is left as it is.
func (d *Demo) Resume(ctx context.Context, id string) error {
	m, st, err := d.current(ctx, id)
	if err != nil {
		return err
	}
	if !st.paused {
		return nil
	}
	if err := d.cli.ContainerUnpause(ctx, m.container); err != nil {
		return fmt.Errorf("unpause %s: %w", id, err)
	}
	return d.refresh(ctx, id)
}

// Isolate implements targets.Isolator: the member's container is
// disconnected from the run's network, so nothing reaches it and it reaches
// nothing (not even the other isolated members).
func (d *Demo) Isolate(ctx context.Context, id string) error {
	m, err := d.member(id)
	if err != nil {
		return err
	}
	if err := d.pointLinks(m, downUpstream); err != nil {
		return err
	}
	if err := d.cli.NetworkDisconnect(ctx, d.netID, m.container, true); err != nil && !containsAny(err.Error(), "is not connected") {
		return fmt.Errorf("disconnect %s from %s: %w", id, d.netName, err)
	}
	d.mu.Lock()
	m.isolated = true
	d.mu.Unlock()
	return nil
}

// Rejoin implements targets.Isolator: the container is connected to the
// run's network again under its member name and, when running, waited for.
func (d *Demo) Rejoin(ctx context.Context, id string) error {
	m, st, err := d.current(ctx, id)
	if err != nil {
		return err
	}
	if st.isolated {
		err := d.cli.NetworkConnect(ctx, d.netID, m.container, &network.EndpointSettings{Aliases: []string{id}})
		if err != nil && !containsAny(err.Error(), "already exists", "already attached") {
			return fmt.Errorf("reconnect %s to %s: %w", id, d.netName, err)
		}
		if _, st, err = d.current(ctx, id); err != nil {
			return err
		}
		if err := d.pointLinksAt(id); err != nil {
			return err
		}
	}
	if !st.running || st.paused {
		return d.resetLinks(id)
	}
	if err := d.waitReady(ctx, id); err != nil {
		return err
	}
	return d.resetLinks(id)
}

// Control implements targets.Target.
func (d *Demo) Control(ctx context.Context, id, action string, body, out any) error {
	a := d.addr(id)
	if a == "" {
		return fmt.Errorf("control %s: member %q has no address (not a member, or disconnected)", action, id)
	}
	return democluster.CallControl(ctx, d.http, a, d.token, action, body, out)
}

// Close implements targets.Target: the members' logs are copied to Dir, the
// proxies deleted, and every container, volume and the network of the run
// removed (by label, so a half-started run is cleaned up too). It is
// idempotent.
func (d *Demo) Close(ctx context.Context) error {
	return d.closing.Do(func() error { return d.close(ctx) })
}

// close saves the members' logs to Dir and removes the run's objects.
func (d *Demo) close(ctx context.Context) error {
	d.mu.Lock()
	members := make([]*memberContainer, 0, len(d.members))
	for _, id := range d.order {
		if m := d.members[id]; m != nil {
			members = append(members, m)
		}
	}
	d.mu.Unlock()
	var errs []error
	if d.opts.Dir != "" {
		if err := os.MkdirAll(d.opts.Dir, 0o755); err == nil {
			for _, m := range members {
				if err := d.saveLogs(ctx, m); err != nil {
					d.opts.Log.WithError(err).WithField("member", m.id).Warn("save member log")
				}
			}
		}
	}
	// The proxies go with the fault-plane container: deleting them one by
	// one through the API would wait on links to frozen members.
	if d.plane != nil {
		d.plane.ReleaseLease()
	}
	if _, err := RemoveRun(ctx, d.cli, d.opts.Run); err != nil {
		errs = append(errs, err)
	}
	d.http.CloseIdleConnections()
	errs = append(errs, d.cli.Close())
	return errors.Join(errs...)
}

func (d *Demo) saveLogs(ctx context.Context, m *memberContainer) error {
	f, err := os.Create(filepath.Join(d.opts.Dir, m.id+".log"))
	if err != nil {
		return err
	}
	defer f.Close()
	rc, err := d.cli.ContainerLogs(ctx, m.container, container.LogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		return err
	}
	defer rc.Close()
	_, err = stdcopy.StdCopy(f, f, rc)
	return err
}

var (
	_ targets.Target   = (*Demo)(nil)
	_ targets.Isolator = (*Demo)(nil)
)
