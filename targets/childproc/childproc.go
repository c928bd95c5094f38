package childproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/chaosctl/chaosctl/internal/crash"
)

// KillWait bounds how long Stop waits for the leader to be reaped after its
// SIGKILL: a killed process goes at once unless the kernel holds it.
const KillWait = 10 * time.Second

// ErrExited says the process had exited before the operation.
var ErrExited = errors.New("the process has exited")

// Spec says what to start and where its output goes.
type Spec struct {
	Argv []string // program first; required
	Dir  string   // working directory; "": this process's
	Env  []string // environment; nil: this process's
	// LogPath, when set, is the file stdout and stderr are appended to
	// (created 0644). Otherwise they go to Stdout and Stderr (nil: discarded).
	LogPath        string
	Stdout, Stderr io.Writer
	// ExtraFiles are open files the child inherits, as descriptors 3, 4, ...
	// (exec.Cmd.ExtraFiles); the caller closes its own copies after Start.
	ExtraFiles []*os.File
	// OnExit, when set, is called once the process has exited and been
	// reaped, with what exec.Cmd.Wait returned, before Done is closed.
	OnExit func(state *os.ProcessState, err error)
	// OnPanic, when set, is handed a panic of OnExit, recovered (Done is
	// closed all the same), so that its owner ends cleanly; without it the
	// panic ends the program.
	OnPanic func(*crash.Panic)
}

// Process is a started child process, the leader of its own process group.
type Process struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{} // closed once cmd has been waited for

	mu      sync.Mutex
	paused  bool
	waitErr error // what cmd.Wait returned, set before done is closed
}

// Start starts spec.Argv in a new process group that gets SIGKILL when the
// calling thread's process dies. A goroutine waits for it; Done, Wait and
// State tell its end.
func Start(spec Spec) (*Process, error) {
	if len(spec.Argv) == 0 {
		return nil, errors.New("no command to start")
	}
	cmd := exec.Command(spec.Argv[0], spec.Argv[1:]...)
	cmd.Dir, cmd.Env = spec.Dir, spec.Env
	cmd.ExtraFiles = spec.ExtraFiles
	cmd.Stdout, cmd.Stderr = spec.Stdout, spec.Stderr
	if spec.LogPath != "" {
		f, err := os.OpenFile(spec.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open log: %w", err)
		}
		defer f.Close() // the child holds its own copy
		cmd.Stdout, cmd.Stderr = f, f
	}
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr, p.paused = err, false
		p.mu.Unlock()
		if spec.OnExit != nil {
			if spec.OnPanic != nil {
				defer crash.Recover(fmt.Sprintf("the exit handler of pid %d", p.pid), spec.OnPanic)
			}
			spec.OnExit(cmd.ProcessState, err)
		}
	}()
	return p, nil
}

// PID is the process's id, which is also its process group's.
func (p *Process) PID() int { return p.pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited says whether the process has exited and been reaped.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait returns nil once the process has exited, or ctx's error first.
func (p *Process) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for pid %d to exit: %w", p.pid, ctx.Err())
	}
}

// State is how the process ended and what exec.Cmd.Wait returned; nil
// while it runs.
func (p *Process) State() (*os.ProcessState, error) {
	if !p.Exited() {
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd.ProcessState, p.waitErr
}

// Paused says whether the process is paused: Pause sent SIGSTOP, and
// neither Resume, Stop, Kill nor its exit came since.
func (p *Process) Paused() bool {
	p.mu.Lock()
	paused := p.paused
	p.mu.Unlock()
	return paused && !p.Exited()
}

func (p *Process) setPaused(v bool) {
	p.mu.Lock()
	p.paused = v
	p.mu.Unlock()
}

// Signal sends sig to the process group: ErrExited when the leader had
// exited; a group that is already gone is not an error.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return ErrExited
	}
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal %v to process group %d: %w", sig, p.pid, err)
	}
	return nil
}

// Kill sends SIGKILL to the group and returns once the leader is reaped, or
// with ctx's error first.
func (p *Process) Kill(ctx context.Context) error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	p.setPaused(false)
	return p.Wait(ctx)
}

// Stop sends SIGTERM to the group, and SIGCONT so a paused group can act on
// it; when the leader has not exited within grace (or ctx ends first) the
// group gets SIGKILL. It returns once the leader is reaped (after a SIGKILL,
// within KillWait); killed says whether SIGKILL was needed.
func (p *Process) Stop(ctx context.Context, grace time.Duration) (killed bool, err error) {
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return false, err
	}
	_ = p.Signal(syscall.SIGCONT)
	p.setPaused(false)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return false, nil
	case <-t.C:
	case <-ctx.Done():
	}
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return true, err
	}
	t.Reset(KillWait)
	select {
	case <-p.done:
		return true, nil
	case <-t.C:
		return true, fmt.Errorf("pid %d not reaped %s after SIGKILL", p.pid, KillWait)
	}
}

// Pause sends SIGSTOP to the group and returns once the leader is stopped
// (state T or t), polling /proc for at most within, or ctx's error first.
func (p *Process) Pause(ctx context.Context, within time.Duration) error {
	if err := p.Signal(syscall.SIGSTOP); err != nil {
		return err
	}
	p.setPaused(true)
	return WaitStopped(ctx, p.pid, within)
}

// Resume sends SIGCONT to the group.
func (p *Process) Resume() error {
	if err := p.Signal(syscall.SIGCONT); err != nil {
		return err
	}
	p.setPaused(false)
	return nil
}
