package probes

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"time"

	"github.com/chaosctl/chaosctl/internal/crash"
)

// execPanicHook, set only by tests, runs in the goroutine that kills a
// command at its timeout, so that a test can make it panic.
var execPanicHook func()

// MaxExecOutput is how much of each of a command's stdout and stderr is
// kept; the rest is read and dropped (Truncated says so).
const MaxExecOutput = 64 << 10

// DefaultExecTimeout bounds a command whose spec has no timeout.
const DefaultExecTimeout = 30 * time.Second

// outputDrain bounds the wait for a command's output once its process group
// is gone: a process that left the group (setsid) may hold the pipes.
const outputDrain = 500 * time.Millisecond

// ExecSpec is a command to run: an argv (no shell: write sh -c for one),
// environment variables added to chaosctl's, a working directory, a time
// limit, and what its outcome must be. It is also what the ledger records
// of an exec rollback (json tags).
type ExecSpec struct {
	Command []string          `json:"command"`
	Env     map[string]string `json:"env,omitempty"`
	Dir     string            `json:"dir,omitempty"`
	Timeout time.Duration     `json:"timeout,omitempty"` // 0: DefaultExecTimeout
	// ExitCode is the exit status that counts as success, and Stdout, when
	// set, a regular expression (RE2, multi-line: ^ and $ match at each
	// line's start and end) the standard output must match.
	ExitCode int    `json:"exitCode,omitempty"`
	Stdout   string `json:"stdout,omitempty"`
}

// ExecResult is one command's outcome.
type ExecResult struct {
	// ExitCode is the exit status; -1 when the command did not exit by
	// itself (it did not start, was killed at its timeout or by a signal).
	ExitCode int           `json:"exitCode"`
	Stdout   string        `json:"stdout,omitempty"`
	Stderr   string        `json:"stderr,omitempty"`
	Duration time.Duration `json:"duration"`
	// Truncated: stdout or stderr was longer than MaxExecOutput.
	Truncated bool   `json:"truncated,omitempty"`
	TimedOut  bool   `json:"timedOut,omitempty"`
	OK        bool   `json:"ok"`
	Reason    string `json:"reason"`
}

// RunExec runs spec.Command as the leader of a process group of its own
// and judges its outcome: it must exit with spec.ExitCode and, when
// spec.Stdout is set, its stdout must match that expression. At the
// timeout, when ctx ends, and as soon as the leader has exited, the whole
// group is killed (SIGKILL): a command leaves no process of its group
// behind. Up to MaxExecOutput bytes of each stream are kept.
func RunExec(ctx context.Context, spec ExecSpec) ExecResult {
	res := ExecResult{ExitCode: -1}
	var re *regexp.Regexp
	if spec.Stdout != "" {
		var err error
		// Multi-line: ^ and $ match at each line's start and end, as in
		// grep, so ^ready$ matches "ready\n".
		if re, err = regexp.Compile("(?m)" + spec.Stdout); err != nil {
			res.Reason = fmt.Sprintf("bad stdout expression %q: %v", spec.Stdout, err)
			return res
		}
	}
	if len(spec.Command) == 0 || spec.Command[0] == "" {
		res.Reason = "no command to run"
		return res
	}
	limit := spec.Timeout
	if limit <= 0 {
		limit = DefaultExecTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	name := commandText(spec.Command)

	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Dir = spec.Dir
	if len(spec.Env) > 0 {
		cmd.Env = os.Environ()
		for k, v := range spec.Env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	var stdout, stderr capped
	outR, outW, err := os.Pipe()
	if err != nil {
		res.Reason = fmt.Sprintf("%s: %v", name, err)
		return res
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		res.Reason = fmt.Sprintf("%s: %v", name, err)
		return res
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	start := time.Now()
	err = cmd.Start()
	outW.Close() // the child holds its own copies
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		res.Duration = time.Since(start)
		res.Reason = fmt.Sprintf("%s: %v", name, err)
		return res
	}
	// A panic in one of these goroutines is passed on to RunExec's caller
	// (g.Wait), whose own recover ends the run: not the process.
	var g crash.Group
	g.Go("the stdout reader of "+name, func() { stdout.drain(outR) })
	g.Go("the stderr reader of "+name, func() { stderr.drain(errR) })

	pgid := cmd.Process.Pid
	exited := make(chan struct{})
	g.Go("the timeout of "+name, func() {
		// Panicking, it kills the command first: nothing else would, at
		// its timeout or when ctx ends, and RunExec would wait for it.
		done := false
		defer func() {
			if !done {
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			}
		}()
		if execPanicHook != nil {
			execPanicHook()
		}
		select {
		case <-cctx.Done():
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		case <-exited:
		}
		done = true
	})
	waitErr := cmd.Wait()
	close(exited)
	res.Duration = time.Since(start)
	// The leader is gone: so goes whatever it left in its group, which
	// may hold the pipes open.
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	deadline := time.Now().Add(outputDrain)
	_ = outR.SetReadDeadline(deadline)
	_ = errR.SetReadDeadline(deadline)
	defer outR.Close()
	defer errR.Close()
	g.Wait()
	res.Stdout, res.Stderr = stdout.String(), stderr.String()
	res.Truncated = stdout.dropped || stderr.dropped
	if st := cmd.ProcessState; st != nil && st.Exited() {
		res.ExitCode = st.ExitCode()
	}
	took := roundLatency(res.Duration)
	switch {
	case errors.Is(cctx.Err(), context.DeadlineExceeded) && res.ExitCode < 0:
		res.TimedOut = true
		res.Reason = fmt.Sprintf("%s: killed at its timeout %s", name, limit)
	case ctx.Err() != nil && res.ExitCode < 0:
		res.Reason = fmt.Sprintf("%s: interrupted: %v", name, context.Cause(ctx))
	case res.ExitCode < 0:
		res.Reason = fmt.Sprintf("%s: %v (in %s)", name, waitErr, took)
	case res.ExitCode != spec.ExitCode:
		res.Reason = fmt.Sprintf("%s: exit code %d, want %d (in %s)%s", name, res.ExitCode, spec.ExitCode, took, lastLine(res.Stderr))
	case re != nil && !re.MatchString(res.Stdout):
		res.Reason = fmt.Sprintf("%s: stdout %q does not match %q (in %s)", name, clipOutput(res.Stdout, 80), spec.Stdout, took)
	default:
		res.OK = true
		res.Reason = fmt.Sprintf("%s: exit code %d in %s", name, res.ExitCode, took)
	}
	return res
}

// capped keeps the first MaxExecOutput bytes written to it.
type capped struct {
	buf     bytes.Buffer
	dropped bool
}

func (c *capped) drain(r io.Reader) {
	chunk := make([]byte, 8192)
	for {
		n, err := r.Read(chunk)
		if room := MaxExecOutput - c.buf.Len(); n > room {
			c.buf.Write(chunk[:room])
			c.dropped = true
		} else {
			c.buf.Write(chunk[:n])
		}
		if err != nil {
			return
		}
	}
}

func (c *capped) String() string { return c.buf.String() }

// commandText names a command in reasons: its argv, clipped.
func commandText(argv []string) string {
	var b bytes.Buffer
	for i, a := range argv {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(a)
	}
	return "exec " + clipOutput(b.String(), 60)
}

func clipOutput(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// lastLine is ": " and the last non-empty line of stderr, clipped; "" for
// none.
func lastLine(stderr string) string {
	lines := bytes.Split(bytes.TrimSpace([]byte(stderr)), []byte{'\n'})
	if last := lines[len(lines)-1]; len(last) > 0 {
		return ": " + clipOutput(string(last), 120)
	}
	return ""
}
