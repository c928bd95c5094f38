package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// ProcessDemo is the demo cluster on the process runtime, every link of
// every fault-plane link (client→g*, g*→n*, n*→n*) through an embedded toxiproxy.
type ProcessDemo struct {
	cluster *process.Cluster
	plane   *faultplane.Plane
	clients []string
	http    *http.Client
}

// ProcessOptions configure StartProcessDemo.
type ProcessOptions struct {
	Run      string // run id, part of every proxy name
	Dir      string // run directory (member logs and data)
	Binary   string // member executable; default this executable
	Seed     int64
	Log      *logrus.Entry
	LogLevel string // members' log level
	// OnStarted, when set, is called with the members' pids once they run,
	// before the function waits for readiness (the ledger records them, so
	// `chaosctl recover` can find them after a crash).
	OnStarted func(members []Member)
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

// StartProcessDemo starts the fault plane and the demo cluster behind it. On
// error nothing is left running.
func StartProcessDemo(ctx context.Context, spec demo.ClusterSpec, opts ProcessOptions) (_ *ProcessDemo, err error) {
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
	addrs, release, err := process.ReserveAddrs(spec.MemberIDs(), "", 0, nil)
	if err != nil {
		return nil, err
	}
	defer release()
	plane, err := faultplane.StartEmbedded(ctx, opts.Run, opts.Log.WithField("component", "faultplane"))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = plane.Close()
		}
	}()
	d := &ProcessDemo{plane: plane, http: &http.Client{Timeout: 5 * time.Second}}
	peer := map[faultplane.Link]string{}
	add := func(from, to, listen string) error {
		l := faultplane.Link{From: from, To: to}
		a, err := plane.AddProxy(l, listen, addrs[to])
		peer[l] = a
		return err
	}
	// Proxies on free ports first, while the fixed ones are still held.
	for _, from := range spec.MemberIDs() {
		for _, to := range spec.NodeIDs() {
			if from != to {
				if err := add(from, to, "127.0.0.1:0"); err != nil {
					return nil, err
				}
			}
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
	// The workload talks to the gateways, or to the store nodes when there
	// are no gateways.
	workloadSide := spec.GatewayIDs()
	if len(workloadSide) == 0 {
		workloadSide = spec.NodeIDs()
	}
	for _, id := range workloadSide {
		d.clients = append(d.clients, peer[faultplane.Link{From: faultplane.ClientSide, To: id}])
	}
	release()
	d.cluster, err = process.Start(ctx, spec, process.Options{
		Binary:   opts.Binary,
		Dir:      opts.Dir,
		Seed:     opts.Seed,
		Log:      opts.Log,
		LogLevel: opts.LogLevel,
		Ports:    process.PortsOf(addrs),
		PeerAddr: func(from, to string) string { return peer[faultplane.Link{From: from, To: to}] },
		OnSpawn: func(id string, pid int) {
			if opts.OnStarted != nil {
				opts.OnStarted([]Member{{ID: id, Role: demo.RoleOf(id), Addr: addrs[id], PID: pid}})
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
	workload := spec.GatewayIDs()
	if len(workload) == 0 {
		workload = spec.NodeIDs()
	}
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
func (d *ProcessDemo) ClientAddr(id string) string {
	return d.plane.Addr(faultplane.Link{From: faultplane.ClientSide, To: id})
}

// Runtime implements Target.
func (d *ProcessDemo) Runtime() string { return "process" }

// Cluster is the process cluster behind the target.
func (d *ProcessDemo) Cluster() *process.Cluster { return d.cluster }

// Members implements Target.
func (d *ProcessDemo) Members() []Member {
	var out []Member
	for _, m := range d.cluster.Members() {
		out = append(out, Member{ID: m.ID, Role: m.Role, Addr: m.Addr, PID: m.PID})
	}
	return out
}

// ClientAddrs implements Target.
func (d *ProcessDemo) ClientAddrs() []string { return append([]string(nil), d.clients...) }

// Plane implements Target.
func (d *ProcessDemo) Plane() *faultplane.Plane { return d.plane }

// Kill implements Target.
func (d *ProcessDemo) Kill(ctx context.Context, id string) error { return d.cluster.Kill(ctx, id) }

// Start implements Target.
func (d *ProcessDemo) Start(ctx context.Context, id string) error {
	return d.cluster.StartMember(ctx, id)
}

// Stop implements Target.
func (d *ProcessDemo) Stop(ctx context.Context, id string) error {
	return d.cluster.StopMember(ctx, id)
}

// Pause implements Target.
func (d *ProcessDemo) Pause(_ context.Context, id string) error { return d.cluster.Pause(id) }

// Resume implements Target.
func (d *ProcessDemo) Resume(_ context.Context, id string) error { return d.cluster.Resume(id) }

// Control implements Target.
func (d *ProcessDemo) Control(ctx context.Context, id, action string, body, out any) error {
	m, ok := d.cluster.Member(id)
	if !ok {
		return fmt.Errorf("control %s: no member %q", action, id)
	}
	return CallControl(ctx, d.http, m.Addr, d.cluster.Token(), action, body, out)
}

// CallControl posts body to a demo member's control endpoint.
func CallControl(ctx context.Context, c *http.Client, addr, token, action string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+"/control/v1/"+action, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("control %s on %s: %w", action, addr, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("control %s on %s: status %d: %s", action, addr, resp.StatusCode, bytes.TrimSpace(msg))
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return fmt.Errorf("control %s on %s: decode answer: %w", action, addr, err)
		}
	}
	return nil
}

// Close implements Target: members first, then the proxies.
func (d *ProcessDemo) Close(ctx context.Context) error {
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

var _ Target = (*ProcessDemo)(nil)
