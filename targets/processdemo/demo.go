package processdemo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/childproc"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// Demo is the demo cluster on the process runtime: its members are child
// processes (package process), every fault-plane link (client→g*, g*→n*,
// n*→n*) through an embedded toxiproxy.
type Demo struct {
	cluster *process.Cluster
	plane   *faultplane.Plane
	clients []string
	http    *http.Client
}

// Options configure Start.
type Options struct {
	Run      string // run id, part of every proxy name
	Dir      string // run directory (member logs and data)
	Binary   string // member executable; default this executable
	Seed     int64
	Log      *logrus.Entry
	LogLevel string // members' log level
	// OnStarted, when set, is called with the members' pids once they run,
	// before the function waits for readiness (the ledger records them, so
	// `chaosctl recover` can find them after a crash).
	OnStarted func(members []targets.Member)
	// ClientPorts, when set, gives every member listed in it a client→member
	// proxy listening on 127.0.0.1 at that port (0 = a free port; the
	// workload's side always has one), so that
	// what people reach by hand passes through the fault plane too (`chaosctl
	// cluster up` advertises these addresses). A taken port is a
	// *process.PortInUseError and nothing is started. When nil, only the
	// gateways get client proxies (the store nodes when there are no
	// gateways): what a workload needs.
	ClientPorts map[string]int
}

// Start starts the fault plane and the demo cluster behind it. On error
// nothing is left running.
func Start(ctx context.Context, spec demo.ClusterSpec, opts Options) (_ *Demo, err error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("demo cluster: %w", err)
	}
	clientSide := clientSideMembers(spec, opts.ClientPorts)
	// Fixed client ports are checked (and held) before anything else, so a
	// taken one is a clean usage error and no free port picked below can be
	// one of them.
	var fixed []string
	for _, id := range clientSide {
		if opts.ClientPorts[id] != 0 {
			fixed = append(fixed, id)
		}
	}
	clientAddrs, releaseClients, err := process.ReserveAddrs(fixed, "", 0, opts.ClientPorts)
	if err != nil {
		return nil, err
	}
	defer releaseClients()
	// The members' ports stay bound from here until each member's process
	// serves on its own (process.Options.Listeners).
	lns, err := process.ReserveListeners(spec.MemberIDs(), "", 0, nil)
	if err != nil {
		return nil, err
	}
	handed := false
	defer func() {
		if !handed {
			process.CloseListeners(lns)
		}
	}()
	addrs := map[string]string{}
	for id, ln := range lns {
		addrs[id] = ln.Addr().String()
	}
	plane, err := faultplane.StartEmbedded(ctx, opts.Run, opts.Log.WithField("component", "faultplane"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = plane.Close()
		}
	}()
	d := &Demo{plane: plane, http: &http.Client{Timeout: 5 * time.Second}}
	peer := map[faultplane.Link]string{}
	add := func(from, to, listen string) error {
		l := faultplane.Link{From: from, To: to}
		a, err := plane.AddProxy(l, listen, addrs[to])
		peer[l] = a
		return err
	}
	// Proxies on free ports first, while the fixed ones are still held.
	for _, l := range democluster.PeerLinks(spec) {
		if err := add(l.From, l.To, "127.0.0.1:0"); err != nil {
			return nil, err
		}
	}
	releaseClients()
	for _, id := range clientSide {
		listen := "127.0.0.1:0"
		if a, ok := clientAddrs[id]; ok {
			listen = a
		}
		if err := add(faultplane.ClientSide, id, listen); err != nil {
			return nil, err
		}
	}
	for _, id := range democluster.WorkloadSide(spec) {
		d.clients = append(d.clients, peer[faultplane.Link{From: faultplane.ClientSide, To: id}])
	}
	handed = true
	d.cluster, err = process.Start(ctx, spec, process.Options{
		Binary:    opts.Binary,
		Dir:       opts.Dir,
		Seed:      opts.Seed,
		Log:       opts.Log,
		LogLevel:  opts.LogLevel,
		Listeners: lns,
		PeerAddr:  func(from, to string) string { return peer[faultplane.Link{From: from, To: to}] },
		OnSpawn: func(id string, pid int) {
			if opts.OnStarted != nil {
				opts.OnStarted([]targets.Member{{ID: id, Role: demo.RoleOf(id), Addr: addrs[id], PID: pid}})
			}
		},
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// clientSideMembers returns the members that get a client→member proxy, in
// member order: the workload's side (the gateways, or the store nodes when
// there are none) and every member listed in ports.
func clientSideMembers(spec demo.ClusterSpec, ports map[string]int) []string {
	workload := democluster.WorkloadSide(spec)
	var out []string
	for _, id := range spec.MemberIDs() {
		if _, listed := ports[id]; listed || slices.Contains(workload, id) {
			out = append(out, id)
		}
	}
	return out
}

// ClientAddr returns where the client→member proxy of member id listens, or
// "" when it has none.
func (d *Demo) ClientAddr(id string) string {
	return d.plane.Addr(faultplane.Link{From: faultplane.ClientSide, To: id})
}

// MemberStatus implements targets.StatusReporter: the member's process as
// /proc sees it.
func (d *Demo) MemberStatus(_ context.Context, id string) (targets.MemberStatus, error) {
	info, ok := d.cluster.Member(id)
	if !ok {
		return targets.MemberStatus{}, fmt.Errorf("no member %q", id)
	}
	st := targets.MemberStatus{PID: info.PID}
	st.Running, st.Paused, st.Detail = childproc.Status(info.PID)
	return st, nil
}

// Runtime implements targets.Target.
func (d *Demo) Runtime() string { return Name }

// WaitSettled waits, at most within, until every member has settled
// (targets.Settler).
func (d *Demo) WaitSettled(ctx context.Context, within time.Duration) error {
	return d.cluster.WaitSettled(ctx, within)
}

// Cluster is the process cluster behind the target.
func (d *Demo) Cluster() *process.Cluster { return d.cluster }

// Members implements targets.Target.
func (d *Demo) Members() []targets.Member {
	var out []targets.Member
	for _, m := range d.cluster.Members() {
		out = append(out, targets.Member{ID: m.ID, Role: m.Role, Addr: m.Addr, PID: m.PID})
	}
	return out
}

// ClientAddrs implements targets.Target.
func (d *Demo) ClientAddrs() []string { return append([]string(nil), d.clients...) }

// Plane implements targets.Target.
func (d *Demo) Plane() *faultplane.Plane { return d.plane }

// Kill implements targets.Target.
func (d *Demo) Kill(ctx context.Context, id string) error { return d.cluster.Kill(ctx, id) }

// Start implements targets.Target.
func (d *Demo) Start(ctx context.Context, id string) error {
	return d.cluster.StartMember(ctx, id)
}

// Stop implements targets.Target.
func (d *Demo) Stop(ctx context.Context, id string) error {
	return d.cluster.StopMember(ctx, id)
}

// Pause implements targets.Target.
func (d *Demo) Pause(_ context.Context, id string) error { return d.cluster.Pause(id) }

// Resume implements targets.Target.
func (d *Demo) Resume(_ context.Context, id string) error { return d.cluster.Resume(id) }

// Control implements targets.Target.
func (d *Demo) Control(ctx context.Context, id, action string, body, out any) error {
	m, ok := d.cluster.Member(id)
	if !ok {
		return fmt.Errorf("control %s: no member %q", action, id)
	}
	return democluster.CallControl(ctx, d.http, m.Addr, d.cluster.Token(), action, body, out)
}

// Close implements targets.Target: members first, then the proxies.
func (d *Demo) Close(ctx context.Context) error {
	var errs []error
	if d.cluster != nil {
		errs = append(errs, d.cluster.Stop(ctx))
	}
	if d.plane != nil {
		errs = append(errs, d.plane.Close())
	}
	d.http.CloseIdleConnections()
	return errors.Join(errs...)
}

var _ targets.Target = (*Demo)(nil)
