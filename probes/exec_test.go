package probes_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/probes"
)

func TestRunExecJudgesExitCodeAndStdout(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name   string
		spec   probes.ExecSpec
		ok     bool
		code   int
		reason string
	}{
		{"true", probes.ExecSpec{Command: []string{"true"}}, true, 0, "exit code 0"},
		{"false", probes.ExecSpec{Command: []string{"false"}}, false, 1, "exit code 1, want 0"},
		{"expected non-zero", probes.ExecSpec{Command: []string{"sh", "-c", "exit 3"}, ExitCode: 3}, true, 3, "exit code 3"},
		{"stdout matches", probes.ExecSpec{Command: []string{"sh", "-c", "echo ready=yes"}, Stdout: `ready=(yes|true)`}, true, 0, "exit code 0"},
		{"anchors match lines", probes.ExecSpec{Command: []string{"printf", "a\\nready\\nb\\n"}, Stdout: `^ready$`}, true, 0, "exit code 0"},
		{"stdout differs", probes.ExecSpec{Command: []string{"echo", "ready=no"}, Stdout: `^ready=yes`}, false, 0, `stdout "ready=no\n" does not match`},
		{"stderr in reason", probes.ExecSpec{Command: []string{"sh", "-c", "echo boom >&2; exit 2"}}, false, 2, "want 0 (in"},
		{"env and dir", probes.ExecSpec{Command: []string{"sh", "-c", `test "$PROBE_X" = 42 && test "$(pwd)" = "` + dir + `"`}, Env: map[string]string{"PROBE_X": "42"}, Dir: dir}, true, 0, "exit code 0"},
		{"no such command", probes.ExecSpec{Command: []string{"/nonexistent/chaosctl-cmd"}}, false, -1, "no such file"},
		{"bad expression", probes.ExecSpec{Command: []string{"true"}, Stdout: "("}, false, -1, "bad stdout expression"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := probes.RunExec(context.Background(), tc.spec)
			if res.OK != tc.ok || res.ExitCode != tc.code || !strings.Contains(res.Reason, tc.reason) {
				t.Errorf("got ok=%v code=%d reason %q; want ok=%v code=%d reason with %q", res.OK, res.ExitCode, res.Reason, tc.ok, tc.code, tc.reason)
			}
		})
	}
	res := probes.RunExec(context.Background(), probes.ExecSpec{Command: []string{"sh", "-c", "echo boom >&2; exit 2"}})
	if !strings.Contains(res.Reason, ": boom") || res.Stderr != "boom\n" {
		t.Errorf("stderr %q, reason %q: want boom in both", res.Stderr, res.Reason)
	}
}

// A command that outlives its timeout goes with its whole process group:
// children it started in the background too.
func TestRunExecKillsTheGroupAtTimeout(t *testing.T) {
	marker := fmt.Sprintf("CHAOSCTL_EXEC_TEST=%d", time.Now().UnixNano())
	k, v, _ := strings.Cut(marker, "=")
	start := time.Now()
	res := probes.RunExec(context.Background(), probes.ExecSpec{
		Command: []string{"sh", "-c", "sleep 30 & sleep 30 & echo started; wait"},
		Env:     map[string]string{k: v},
		Timeout: 300 * time.Millisecond,
	})
	if res.OK || !res.TimedOut || res.ExitCode != -1 || !strings.Contains(res.Reason, "killed at its timeout 300ms") {
		t.Errorf("got %+v; want a timeout", res)
	}
	if res.Stdout != "started\n" {
		t.Errorf("stdout %q; want what was written before the kill", res.Stdout)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s: the kill did not end the command", took)
	}
	testkit.Eventually(t, 5*time.Second, "every process of the command gone", func() bool {
		return len(testkit.ProcessesWithEnv(marker)) == 0
	})
}

// A command that exits and leaves a child in its group does not leave it
// running: the group goes when the leader has exited.
func TestRunExecLeavesNoProcessBehind(t *testing.T) {
	marker := fmt.Sprintf("CHAOSCTL_EXEC_TEST=%d", time.Now().UnixNano())
	k, v, _ := strings.Cut(marker, "=")
	res := probes.RunExec(context.Background(), probes.ExecSpec{
		Command: []string{"sh", "-c", "sleep 30 & echo bye"},
		Env:     map[string]string{k: v},
		Timeout: 10 * time.Second,
	})
	if !res.OK || res.Stdout != "bye\n" {
		t.Errorf("got %+v; want ok with stdout bye", res)
	}
	testkit.Eventually(t, 5*time.Second, "the background child gone", func() bool {
		return len(testkit.ProcessesWithEnv(marker)) == 0
	})
}

func TestRunExecCancelKillsTheGroup(t *testing.T) {
	marker := fmt.Sprintf("CHAOSCTL_EXEC_TEST=%d", time.Now().UnixNano())
	k, v, _ := strings.Cut(marker, "=")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan probes.ExecResult, 1)
	go func() {
		done <- probes.RunExec(ctx, probes.ExecSpec{Command: []string{"sleep", "30"}, Env: map[string]string{k: v}, Timeout: time.Minute})
	}()
	testkit.Eventually(t, 5*time.Second, "the command started", func() bool { return len(testkit.ProcessesWithEnv(marker)) > 0 })
	cancel()
	select {
	case res := <-done:
		if res.OK || !strings.Contains(res.Reason, "interrupted") {
			t.Errorf("got %+v; want interrupted", res)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RunExec did not return within 10s of its context ending")
	}
	testkit.Eventually(t, 5*time.Second, "the command gone", func() bool { return len(testkit.ProcessesWithEnv(marker)) == 0 })
}

func TestRunExecCapsOutput(t *testing.T) {
	res := probes.RunExec(context.Background(), probes.ExecSpec{Command: []string{"sh", "-c", "head -c 200000 /dev/zero | tr '\\0' x"}})
	if !res.OK || !res.Truncated || len(res.Stdout) != probes.MaxExecOutput {
		t.Errorf("ok=%v truncated=%v len=%d; want ok, truncated, %d bytes", res.OK, res.Truncated, len(res.Stdout), probes.MaxExecOutput)
	}
}

func TestCallHTTP(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("X-Test") != "yes" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		if r.URL.Path == "/slow" {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, "%s %s", r.Method, body)
	}))
	defer srv.Close()
	h := map[string]string{"X-Test": "yes"}
	res := probes.CallHTTP(context.Background(), probes.HTTPCallSpec{Method: "POST", URL: srv.URL + "/x", Headers: h, Body: "scale=3"})
	if !res.OK || res.Status != 202 || res.Answer != "POST scale=3" {
		t.Errorf("got %+v; want 202 POST scale=3", res)
	}
	res = probes.CallHTTP(context.Background(), probes.HTTPCallSpec{Method: "POST", URL: srv.URL + "/x", Headers: h, Status: 200})
	if res.OK || !strings.Contains(res.Reason, "status 202, want 200") {
		t.Errorf("got %+v; want a status mismatch", res)
	}
	res = probes.CallHTTP(context.Background(), probes.HTTPCallSpec{URL: srv.URL + "/x"})
	if res.OK || !strings.Contains(res.Reason, "status 400, want 2xx") {
		t.Errorf("got %+v; want 400", res)
	}
	res = probes.CallHTTP(context.Background(), probes.HTTPCallSpec{URL: srv.URL + "/slow", Headers: h, Timeout: 100 * time.Millisecond})
	if res.OK || !strings.Contains(res.Reason, "within its timeout 100ms") {
		t.Errorf("got %+v; want a timeout", res)
	}
}

// A panic in the goroutine that kills a command at its timeout kills the
// command and reaches RunExec's caller as a *crash.Panic (whose recover
// ends the run), instead of ending the process with faults applied.
func TestRunExecPassesAPanicOnToItsCaller(t *testing.T) {
	marker := fmt.Sprintf("CHAOSCTL_EXEC_TEST=%d", time.Now().UnixNano())
	k, v, _ := strings.Cut(marker, "=")
	defer probes.SetExecPanicHook(func() { panic("boom") })()
	var got *crash.Panic
	start := time.Now()
	func() {
		defer crash.Recover("the test", func(p *crash.Panic) { got = p })
		probes.RunExec(context.Background(), probes.ExecSpec{Command: []string{"sleep", "30"}, Env: map[string]string{k: v}, Timeout: time.Minute})
	}()
	if got == nil || got.Value != "boom" || !strings.Contains(got.Where, "the timeout of exec sleep 30") {
		t.Fatalf("recovered %v, want the timeout goroutine's panic", got)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s: the panicking goroutine did not kill the command", took)
	}
	testkit.Eventually(t, 5*time.Second, "the command gone", func() bool { return len(testkit.ProcessesWithEnv(marker)) == 0 })
}
