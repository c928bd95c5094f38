package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/supervisor"
)

// The membership faults of the demo cluster on Kubernetes: Kill, Start,
// Stop, Pause, Resume (Isolate and Rejoin are in isolate.go).

// Kill implements targets.Target. With CrashPod the member's pod is deleted
// with zero grace (its containers get SIGKILL) and Kill returns once it is
// gone; its log is saved first, and an emptyDir's data goes with the pod.
// With CrashProcess the supervisor SIGKILLs the member and returns once it
// is reaped; the pod stays.
func (d *Demo) Kill(ctx context.Context, id string) error {
	if d.opts.Crash == CrashProcess {
		return d.superviseIfRunning(ctx, id, "kill", func(c *supervisor.Client) (supervisor.Status, error) { return c.Kill(ctx) })
	}
	return d.deletePod(ctx, id, 0)
}

// Stop implements targets.Target: SIGTERM, then SIGKILL after StopGrace, to
// the pod (CrashPod: it is deleted) or the member's process (CrashProcess).
func (d *Demo) Stop(ctx context.Context, id string) error {
	if d.opts.Crash == CrashProcess {
		return d.superviseIfRunning(ctx, id, "stop", func(c *supervisor.Client) (supervisor.Status, error) {
			return c.Stop(ctx, d.opts.StopGrace)
		})
	}
	return d.deletePod(ctx, id, int64(d.opts.StopGrace.Seconds()))
}

// supervisorOf is the control client of member id's supervisor, or nil
// when the member has no pod.
func (d *Demo) supervisorOf(id string) *supervisor.Client {
	d.mu.Lock()
	ip := d.podIP[id]
	d.mu.Unlock()
	if ip == "" {
		return nil
	}
	return &supervisor.Client{Addr: net.JoinHostPort(ip, strconv.Itoa(SupervisorPort)), Token: d.token, HTTP: d.http}
}

// superviseIfRunning calls the supervisor of member id; a member without a
// pod has nothing to act on.
func (d *Demo) superviseIfRunning(ctx context.Context, id, what string, call func(*supervisor.Client) (supervisor.Status, error)) error {
	if !slices.Contains(d.order, id) {
		return fmt.Errorf("no member %q; members are %v", id, d.order)
	}
	c := d.supervisorOf(id)
	if c == nil {
		return nil
	}
	if _, err := call(c); err != nil {
		return fmt.Errorf("%s %s: %w", what, id, err)
	}
	return nil
}

func (d *Demo) deletePod(ctx context.Context, id string, grace int64) error {
	if !slices.Contains(d.order, id) {
		return fmt.Errorf("no member %q; members are %v", id, d.order)
	}
	d.appendLog(ctx, id)
	if err := d.holdLinksTo(id); err != nil {
		return err
	}
	err := d.cs.CoreV1().Pods(d.ns).Delete(ctx, id, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete pod %s/%s: %w", d.ns, id, err)
	}
	if err := d.waitPodGone(ctx, id); err != nil {
		return err
	}
	d.setPodIP(id, "")
	return nil
}

func (d *Demo) waitPodGone(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.StopGrace+d.opts.ReadyTimeout)
	defer cancel()
	tick := time.NewTicker(25 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := d.cs.CoreV1().Pods(d.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("pod %s/%s still there: %w", d.ns, name, ctx.Err())
		case <-tick.C:
		}
	}
}

// Start implements targets.Target: a member without a pod gets a new one;
// Start waits until it runs, points the proxies of its links at its new IP,
// and waits until it answers /readyz (unless it is isolated: Rejoin waits
// then). A member whose pod runs is only waited for, so a retried revert
// works.
func (d *Demo) Start(ctx context.Context, id string) error {
	if !slices.Contains(d.order, id) {
		return fmt.Errorf("no member %q; members are %v", id, d.order)
	}
	_, err := d.cs.CoreV1().Pods(d.ns).Get(ctx, id, metav1.GetOptions{})
	created := false
	switch {
	case apierrors.IsNotFound(err):
		if err := d.createMemberPod(ctx, id); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
		created = true // its supervisor starts the member by itself
	case err != nil:
		return fmt.Errorf("get pod %s/%s: %w", d.ns, id, err)
	}
	ip, err := d.waitPodIP(ctx, id)
	if err != nil {
		return err
	}
	d.setPodIP(id, ip)
	if err := d.retarget(id); err != nil {
		return err
	}
	// A member the supervisor holds down (CrashProcess) starts again; one
	// that runs is left alone.
	if !created {
		if err := d.startSupervised(ctx, id); err != nil {
			return err
		}
	}
	d.mu.Lock()
	isolated := d.isolated[id]
	d.mu.Unlock()
	if isolated {
		return nil
	}
	if err := d.waitReady(ctx, id); err != nil {
		return err
	}
	return d.resetLinks(id)
}

// startSupervised asks member id's supervisor to start it, retrying while
// the supervisor does not answer yet (its container is starting), up to
// ReadyTimeout.
func (d *Demo) startSupervised(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, d.opts.ReadyTimeout)
	defer cancel()
	for {
		_, err := d.supervisorOf(id).Start(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start %s: %w", id, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// memberGone is the owner name under which holdLinksTo holds the links to
// a member whose pod is gone (see faultplane.Plane.Disable).
const memberGone = "kubernetes: member's pod gone"

// retarget points the proxies of every link to id at its current pod IP and
// releases the hold holdLinksTo took on them: a proxy no partition holds is
// enabled with the new upstream. (Toxiproxy dials an upstream inside its
// accept loop: a proxy still pointing at a deleted pod's address hangs in
// that dial, and so would an update of it.)
func (d *Demo) retarget(id string) error {
	up := d.memberAddr(id)
	var errs []error
	for _, l := range d.links {
		if l.To == id {
			errs = append(errs, d.plane.Retarget(l, up, memberGone))
		}
	}
	return errors.Join(errs...)
}

// holdLinksTo disables the proxies of links to member id before its pod
// goes: while it is gone, callers are refused at once, as by a dead
// process's closed port, and no dial hangs on the vanished address.
// retarget releases them.
func (d *Demo) holdLinksTo(id string) error {
	if d.plane == nil {
		return nil
	}
	var errs []error
	for _, l := range d.links {
		if l.To != id {
			continue
		}
		if err := d.plane.Disable(l, memberGone); err != nil {
			errs = append(errs, fmt.Errorf("hold proxy %s: %w", l, err))
		}
	}
	return errors.Join(errs...)
}

// resetLinks closes every connection through the proxies of id's links
// (see faultplane.Plane.ResetLinks).
func (d *Demo) resetLinks(id string) error { return d.plane.ResetLinks(id) }

// Pause implements targets.Target: SIGSTOP to the member through its pod's
// supervisor, which returns once the process is stopped: a real freeze
// (its connections stay open and nothing answers, its kubelet probes fail).
func (d *Demo) Pause(ctx context.Context, id string) error {
	if !slices.Contains(d.order, id) {
		return fmt.Errorf("no member %q; members are %v", id, d.order)
	}
	c := d.supervisorOf(id)
	if c == nil {
		return fmt.Errorf("pause %s: it has no pod", id)
	}
	if _, err := c.Pause(ctx); err != nil {
		return fmt.Errorf("pause %s: %w", id, err)
	}
	return nil
}

// Resume implements targets.Target: SIGCONT through the supervisor. A member
// without a pod, or not running, is left as it is; Resume is idempotent.
func (d *Demo) Resume(ctx context.Context, id string) error {
	return d.superviseIfRunning(ctx, id, "resume", func(c *supervisor.Client) (supervisor.Status, error) { return c.Resume(ctx) })
}

// MemberStatus implements targets.StatusReporter: a member whose pod is
// gone is down; otherwise its supervisor reports the process (running,
// frozen, its pid), as the kernel in the pod sees it.
func (d *Demo) MemberStatus(ctx context.Context, id string) (targets.MemberStatus, error) {
	if !slices.Contains(d.order, id) {
		return targets.MemberStatus{}, fmt.Errorf("no member %q; members are %v", id, d.order)
	}
	pod, err := d.cs.CoreV1().Pods(d.ns).Get(ctx, id, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return targets.MemberStatus{Detail: "pod " + d.ns + "/" + id + " is gone"}, nil
	}
	if err != nil {
		return targets.MemberStatus{}, fmt.Errorf("get pod %s/%s: %w", d.ns, id, err)
	}
	if pod.DeletionTimestamp != nil {
		return targets.MemberStatus{Detail: "pod " + d.ns + "/" + id + " is being deleted"}, nil
	}
	c := d.supervisorOf(id)
	if c == nil {
		return targets.MemberStatus{Detail: "pod " + d.ns + "/" + id + " has no IP yet"}, nil
	}
	st, err := c.Status(ctx)
	if err != nil {
		return targets.MemberStatus{}, fmt.Errorf("status of %s from its supervisor: %w", id, err)
	}
	detail := "supervisor: running"
	switch {
	case !st.Running:
		detail = "supervisor: not running"
	case st.Paused:
		detail = "supervisor: stopped (SIGSTOP)"
	}
	return targets.MemberStatus{Running: st.Running, Paused: st.Paused, PID: st.PID, Detail: detail}, nil
}
