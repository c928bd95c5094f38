package clusterctl

import (
	"context"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// Demo is the running demo cluster behind Up: a target whose members also
// report their process state and the address clients reach them at.
type Demo interface {
	targets.Target
	// MemberStatuses lists every member, gateways first.
	MemberStatuses() []MemberStatus
}

// demoOptions configure the start of a Demo.
type demoOptions struct {
	Run, Dir, LogLevel string
	Log                *logrus.Entry
	// OnStarted is called with the members' pids once they run.
	OnStarted func(members []targets.Member)
	// ClientPorts gives every member a client→member proxy at that port (0:
	// a free one).
	ClientPorts map[string]int
}

// startDemo starts a Demo of spec; on error nothing is left running.
type startDemo func(ctx context.Context, spec demo.ClusterSpec, opts demoOptions) (Demo, error)

// processDemo is the process runtime's demo cluster as a Demo.
type processDemo struct{ *processdemo.Demo }

func startProcessDemo(ctx context.Context, spec demo.ClusterSpec, opts demoOptions) (Demo, error) {
	d, err := processdemo.Start(ctx, spec, processdemo.Options{
		Run:         opts.Run,
		Dir:         opts.Dir,
		Log:         opts.Log,
		LogLevel:    opts.LogLevel,
		OnStarted:   opts.OnStarted,
		ClientPorts: opts.ClientPorts,
	})
	if err != nil {
		return nil, err
	}
	return processDemo{d}, nil
}

// MemberStatuses implements Demo: Addr is the member's client→member proxy
// when it has one.
func (d processDemo) MemberStatuses() []MemberStatus {
	var out []MemberStatus
	for _, m := range d.Cluster().Members() {
		ms := MemberStatus{MemberInfo: m, Listen: m.Addr}
		if a := d.ClientAddr(m.ID); a != "" {
			ms.Addr = a
		}
		out = append(out, ms)
	}
	return out
}
