package external

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/childproc"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/docker"
)

// memberDriver acts on one member of one kind: a command chaosctl starts
// (commandMember), a user's container (containerMember) or a user's pods
// (podMember). The Target looks members up, waits for readiness and wraps
// nothing else around it.
type memberDriver interface {
	// open starts or finds the member when the target starts.
	open(ctx context.Context) error
	// start brings a member that is down back (a running one is left
	// alone); the Target then waits for its readiness.
	start(ctx context.Context) error
	kill(ctx context.Context) error
	stop(ctx context.Context) error
	pause(ctx context.Context) error
	resume(ctx context.Context) error
	// describe fills in what the driver knows of the member for
	// targets.Member: the process of a running command (pid, group,
	// cookie), or the container.
	describe(m *targets.Member)
	// exited is closed when a member chaosctl started has exited before
	// it was ready (nil: such members never exit on their own account).
	exited() <-chan struct{}
	// close gives back what the run holds of the member when the target
	// closes: stops a command, removes an isolation policy.
	close(ctx context.Context) error
}

// isolator is the optional capability of drivers whose members can be cut
// off the network (pods: a NetworkPolicy).
type isolator interface {
	isolate(ctx context.Context) error
	rejoin(ctx context.Context) error
}

// newMemberDriver is the driver of m's kind; pod is its checked pod spec
// (pod members only). It is the one place that tells the kinds apart.
func newMemberDriver(t *Target, m *member, pod *podMember) memberDriver {
	switch {
	case len(m.spec.Command) > 0:
		return &commandMember{t: t, m: m}
	case pod != nil:
		pod.t, pod.m = t, m
		return pod
	default:
		return &containerMember{t: t, m: m}
	}
}

// commandKillWait bounds how long Kill waits for a command member to exit.
const commandKillWait = 10 * time.Second

// commandMember is a member chaosctl starts from a command, through
// childproc: its own process group, signals to the group.
//
// When chaosctl dies, the parent-death signal (SIGKILL) reaches the group's
// leader only: Linux sets it on a direct child, and the leader's own
// children (the `sleep 600` of `sh -c 'sleep 600 & wait'`) are the user's
// program's, out of chaosctl's reach. A guard process cannot close the gap
// soundly: inside the group it is frozen by the very pause it would have to
// undo, and outside it must itself be started, watched and recovered. So
// the group is covered by the recovery path instead: the member is
// recorded in the ledger as soon as it starts (OnStarted: pid, group, start
// time) with a random cookie in its environment (targets.EnvMemberCookie)
// that every process it starts inherits, and `chaosctl recover` thaws and
// ends every process of the group — verified by the leader's start time,
// or by the cookie when the leader is gone — and every process bearing the
// cookie that left the group. Until then, an orphan of a paused group is
// thawed by the kernel when its group is orphaned (and sent SIGHUP), unless
// a subreaper in chaosctl's session adopts it.
type commandMember struct {
	t      *Target
	m      *member
	cookie string                            // targets.EnvMemberCookie, the same for every start
	proc   atomic.Pointer[childproc.Process] // the last started
}

// running is the member's process while it runs, else nil.
func (c *commandMember) running() *childproc.Process {
	if p := c.proc.Load(); p != nil && !p.Exited() {
		return p
	}
	return nil
}

func (c *commandMember) notRunning() error { return fmt.Errorf("%s is not running", c.m.spec.Name) }

// open starts the command, its output in Dir/<name>.log.
func (c *commandMember) open(context.Context) error {
	ms := c.m.spec
	env := os.Environ()
	keys := make([]string, 0, len(ms.Env))
	for k := range ms.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+ms.Env[k])
	}
	if c.cookie == "" {
		c.cookie = democluster.NewToken()
	}
	env = append(env, targets.EnvMemberCookie+"="+c.cookie)
	spec := childproc.Spec{Argv: ms.Command, Dir: ms.Dir, Env: env}
	if c.t.opts.Dir != "" {
		spec.LogPath = filepath.Join(c.t.opts.Dir, ms.Name+".log")
	}
	p, err := childproc.Start(spec)
	if err != nil {
		return fmt.Errorf("start %s (%s): %w", ms.Name, ms.Command[0], err)
	}
	c.proc.Store(p)
	c.t.opts.Log.WithFields(logrus.Fields{"member": ms.Name, "pid": p.PID()}).Debug("member started")
	c.t.started(c.m)
	return nil
}

func (c *commandMember) start(ctx context.Context) error {
	if c.running() != nil {
		return nil
	}
	return c.open(ctx)
}

// do runs op on the running process: a command that is not running is an
// error that says so.
func (c *commandMember) do(op string, f func(*childproc.Process) error) error {
	p := c.running()
	if p == nil {
		return c.notRunning()
	}
	if err := f(p); errors.Is(err, childproc.ErrExited) {
		return c.notRunning()
	} else if err != nil {
		return fmt.Errorf("%s %s: %w", op, c.m.spec.Name, err)
	}
	return nil
}

// kill sends SIGKILL to the group (a paused one goes too) and waits until
// the command has exited.
func (c *commandMember) kill(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, commandKillWait)
	defer cancel()
	return c.do("kill", func(p *childproc.Process) error { return p.Kill(ctx) })
}

// stop sends SIGTERM to the group, SIGKILL after StopGrace.
func (c *commandMember) stop(ctx context.Context) error {
	return c.do("stop", func(p *childproc.Process) error {
		_, err := p.Stop(ctx, c.t.opts.StopGrace)
		return err
	})
}

// pause sends SIGSTOP to the group and returns once the command is stopped,
// so the fault is in force when the caller goes on.
func (c *commandMember) pause(ctx context.Context) error {
	return c.do("pause", func(p *childproc.Process) error { return p.Pause(ctx, 2*time.Second) })
}

// resume sends SIGCONT to the group; a command that is gone is left alone.
func (c *commandMember) resume(context.Context) error {
	p := c.running()
	if p == nil {
		return nil
	}
	if err := p.Resume(); err != nil && !errors.Is(err, childproc.ErrExited) {
		return fmt.Errorf("resume %s: %w", c.m.spec.Name, err)
	}
	return nil
}

// describe gives the running process: its pid, which is also its group's,
// and the cookie of its processes.
func (c *commandMember) describe(m *targets.Member) {
	if p := c.running(); p != nil {
		m.PID, m.PGID, m.Cookie = p.PID(), p.PID(), c.cookie
	}
}

func (c *commandMember) exited() <-chan struct{} {
	if p := c.proc.Load(); p != nil {
		return p.Done()
	}
	return nil
}

// close stops the command if it runs.
func (c *commandMember) close(ctx context.Context) error {
	if c.running() == nil {
		return nil
	}
	return c.stop(ctx)
}

// containerMember is a user's running container, found by name or label;
// faults act on it through the Docker API.
type containerMember struct {
	t   *Target
	m   *member
	ref targets.ContainerRef // set by open
}

// open finds the container by name or by label (exactly one must match).
func (c *containerMember) open(ctx context.Context) error {
	t, ms := c.t, c.m.spec
	if t.cli == nil {
		cli, err := docker.Connect(ctx)
		if err != nil {
			return fmt.Errorf("member %s is a container: %w", ms.Name, err)
		}
		t.cli = cli
	}
	if ms.ContainerName != "" {
		insp, err := t.cli.ContainerInspect(ctx, ms.ContainerName)
		if err != nil {
			return fmt.Errorf("member %s: container %q: %w", ms.Name, ms.ContainerName, err)
		}
		c.found(insp.ID, insp.Name)
		return nil
	}
	cs, err := t.cli.ContainerList(ctx, container.ListOptions{Filters: filters.NewArgs(filters.Arg("label", ms.ContainerLabel))})
	if err != nil {
		return fmt.Errorf("member %s: list containers labelled %s: %w", ms.Name, ms.ContainerLabel, err)
	}
	if len(cs) != 1 {
		names := make([]string, 0, len(cs))
		for _, c := range cs {
			names = append(names, c.Names...)
		}
		return fmt.Errorf("member %s: %d running containers are labelled %s (%v); exactly one must be", ms.Name, len(cs), ms.ContainerLabel, names)
	}
	name := ""
	if len(cs[0].Names) > 0 {
		name = cs[0].Names[0]
	}
	c.found(cs[0].ID, name)
	return nil
}

// found keeps the container open found and records it (before any fault
// can touch it): recovery then knows which container, on which engine.
func (c *containerMember) found(id, name string) {
	c.ref = targets.ContainerRef{ID: id, Name: strings.TrimPrefix(name, "/"), Host: c.t.cli.DaemonHost()}
	c.t.started(c.m)
}

func (c *containerMember) start(ctx context.Context) error {
	if err := c.t.cli.ContainerStart(ctx, c.ref.ID, container.StartOptions{}); err != nil {
		return fmt.Errorf("start %s: %w", c.m.spec.Name, err)
	}
	return nil
}

// kill kills the container and waits until it no longer runs.
func (c *containerMember) kill(ctx context.Context) error {
	name := c.m.spec.Name
	if err := c.t.cli.ContainerKill(ctx, c.ref.ID, "KILL"); err != nil {
		return fmt.Errorf("kill %s: %w", name, err)
	}
	ch, errc := c.t.cli.ContainerWait(ctx, c.ref.ID, container.WaitConditionNotRunning)
	select {
	case <-ch:
		return nil
	case err := <-errc:
		return fmt.Errorf("wait for %s to stop: %w", name, err)
	}
}

func (c *containerMember) stop(ctx context.Context) error {
	grace := int(c.t.opts.StopGrace.Seconds())
	if err := c.t.cli.ContainerStop(ctx, c.ref.ID, container.StopOptions{Timeout: &grace}); err != nil {
		return fmt.Errorf("stop %s: %w", c.m.spec.Name, err)
	}
	return nil
}

func (c *containerMember) pause(ctx context.Context) error {
	return c.t.cli.ContainerPause(ctx, c.ref.ID)
}

// resume unpauses the container if it is paused.
func (c *containerMember) resume(ctx context.Context) error {
	insp, err := c.t.cli.ContainerInspect(ctx, c.ref.ID)
	if err != nil {
		return fmt.Errorf("resume %s: %w", c.m.spec.Name, err)
	}
	if insp.State == nil || !insp.State.Paused {
		return nil
	}
	return c.t.cli.ContainerUnpause(ctx, c.ref.ID)
}

// describe gives the container.
func (c *containerMember) describe(m *targets.Member) {
	if c.ref.ID != "" {
		ref := c.ref
		m.Container = &ref
	}
}

func (c *containerMember) exited() <-chan struct{} { return nil }

// close leaves the container to its owner.
func (c *containerMember) close(context.Context) error { return nil }

// MemberStatus implements targets.StatusReporter for command members (the
// process as /proc sees it) and container members (as the engine reports
// it); pods have no such report.
func (t *Target) MemberStatus(ctx context.Context, name string) (targets.MemberStatus, error) {
	m, err := t.member(name)
	if err != nil {
		return targets.MemberStatus{}, err
	}
	switch d := m.driver.(type) {
	case *commandMember:
		st := targets.MemberStatus{}
		if p := d.proc.Load(); p != nil {
			st.PID = p.PID()
		}
		st.Running, st.Paused, st.Detail = childproc.Status(st.PID)
		return st, nil
	case *containerMember:
		return docker.ContainerStatus(ctx, t.cli, d.ref.ID)
	}
	return targets.MemberStatus{}, fmt.Errorf("member %s: %w", name, targets.ErrUnsupported)
}
