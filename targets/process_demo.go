package targets

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
)

// ProcessDemo is the demo cluster on the process runtime, every link of
// DESIGN.md section 6 (client→g*, g*→n*, n*→n*) through an embedded toxiproxy.
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
}

// StartProcessDemo starts the fault plane and the demo cluster behind it. On
// error nothing is left running.
func StartProcessDemo(ctx context.Context, spec demo.ClusterSpec, opts ProcessOptions) (_ *ProcessDemo, err error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("demo cluster: %w", err)
	}
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
	add := func(from, to string) error {
		l := faultplane.Link{From: from, To: to}
		a, err := plane.AddProxy(l, "127.0.0.1:0", addrs[to])
		peer[l] = a
		return err
	}
	for _, g := range spec.GatewayIDs() {
		if err := add(faultplane.ClientSide, g); err != nil {
			return nil, err
		}
		d.clients = append(d.clients, peer[faultplane.Link{From: faultplane.ClientSide, To: g}])
	}
	for _, from := range spec.MemberIDs() {
		for _, to := range spec.NodeIDs() {
			if from != to {
				if err := add(from, to); err != nil {
					return nil, err
				}
			}
		}
	}
	if len(spec.GatewayIDs()) == 0 {
		// No gateways: the workload talks to the store nodes directly.
		for _, n := range spec.NodeIDs() {
			if err := add(faultplane.ClientSide, n); err != nil {
				return nil, err
			}
			d.clients = append(d.clients, peer[faultplane.Link{From: faultplane.ClientSide, To: n}])
		}
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
