package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/internal/testkit"
)

// calls counts the requests a test's server got, by "METHOD PATH".
type calls struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *calls) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[key]
}

// actionServer answers every request 204 and counts it.
func actionServer(t *testing.T) (*httptest.Server, *calls) {
	c := &calls{n: map[string]int{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n[r.Method+" "+r.URL.Path]++
		c.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, c
}

// The example runs end to end: its exec probe holds, its actions run at
// their times, and the first action's rollback clears the flag it set; the
// reports show them.
func TestExecActionsExampleRunsItsRollback(t *testing.T) {
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := runEnv(t, []string{"EXEC_ACTIONS_DIR=" + dir},
		"run", "../../examples/exec-actions.yaml", "--out", out, "--state-dir", filepath.Join(t.TempDir(), "state"))
	noMembersLeft(t, out)
	if code != 0 {
		t.Fatalf("exit %d, want 0 (pass)\n%s\n%s", code, stdout, stderr)
	}
	res, err := report.ReadJSON(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) != 2 {
		t.Fatalf("result.json has %d actions, want 2: %+v", len(res.Actions), res.Actions)
	}
	set, check := res.Actions[0], res.Actions[1]
	if set.Outcome == nil || !set.Outcome.OK || set.Outcome.Stdout != "flag set\n" || *set.Outcome.ExitCode != 0 {
		t.Errorf("set-maintenance-flag: %+v, want ok with stdout \"flag set\"", set.Outcome)
	}
	if check.Outcome == nil || !check.Outcome.OK || check.Outcome.Offset == nil || *check.Outcome.Offset < 3 {
		t.Errorf("check-flag: %+v, want ok at t >= 3s (it saw the flag)", check.Outcome)
	}
	if rb := set.Rollback; rb == nil || rb.Outcome == nil || !rb.Outcome.OK || rb.Outcome.Stdout != "cleared\n" {
		t.Errorf("the rollback: %+v, want it run and ok", set.Rollback)
	}
	if _, err := os.Stat(filepath.Join(dir, "chaosctl-exec-actions.flag")); !os.IsNotExist(err) {
		t.Errorf("the flag file is still there (%v): the rollback did not run", err)
	}
	probeOK := false
	for _, p := range res.Probes {
		if p.Name == "shell-answers" {
			probeOK = p.Verdict == report.Pass && p.Samples > 0
		}
	}
	if !probeOK {
		t.Errorf("the exec probe did not pass: %+v", res.Probes)
	}
	summary, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	journal, _ := os.ReadFile(filepath.Join(out, "journal.ndjson"))
	for what, text := range map[string]string{
		"summary.md": string(summary), "the terminal": stdout,
		"journal.ndjson (action)": string(journal), "journal.ndjson (rollback)": string(journal),
	} {
		want := map[string]string{
			"summary.md": "| set-maintenance-flag (rollback) |", "the terminal": "set-maintenance-flag (rollback)",
			"journal.ndjson (action)": `"type":"action"`, "journal.ndjson (rollback)": `"type":"rollback"`,
		}[what]
		if !strings.Contains(text, want) {
			t.Errorf("%s lacks %q", what, want)
		}
	}
}

// After a SIGKILL of chaosctl mid-run, `chaosctl recover` runs each
// started action's rollback exactly once (the HTTP one with its secret URL
// read again from the environment), and a second recover runs none.
func TestSIGKILLedRunsActionRollbacksRunOnceByRecover(t *testing.T) {
	dir, out, state := t.TempDir(), filepath.Join(t.TempDir(), "out"), t.TempDir()
	srv, got := actionServer(t)
	t.Setenv("ACTIONS_DIR", dir)
	t.Setenv("ACTIONS_URL", srv.URL)
	cmd, output := startChaosctl(t, "both actions ran", 60*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(dir, "started"))
		return err == nil && got.count("PUT /on") == 1
	}, "run", "testdata/actions-sigkill.yaml", "--out", out, "--state-dir", state)
	// The HTTP action's ledger record is written before it runs: wait for
	// its end record too, so the kill does not land between the two.
	testkit.Eventually(t, 10*time.Second, "the actions' end recorded", func() bool {
		b, _ := os.ReadFile(ledgerOf(t, state))
		return strings.Count(string(b), `"type":"action-done"`) == 2
	})
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()
	if b, _ := os.ReadFile(filepath.Join(dir, "rollbacks")); len(b) > 0 || got.count("DELETE /on") > 0 {
		t.Fatalf("a rollback ran before recover (%q, %d DELETEs):\n%s", b, got.count("DELETE /on"), output)
	}
	if b, _ := os.ReadFile(ledgerOf(t, state)); strings.Contains(string(b), srv.URL) {
		t.Errorf("the ledger holds the secret URL:\n%s", b)
	}

	said := recoverState(t, state, "rollback of action start-maintenance: ran", "rollback of action notify: ran")
	if strings.Contains(said, srv.URL) {
		t.Errorf("recover shows the secret URL:\n%s", said)
	}
	noMembersLeft(t, out)
	recoverState(t, state, "nothing to recover")
	if b, _ := os.ReadFile(filepath.Join(dir, "rollbacks")); string(b) != "rolled-back\n" {
		t.Errorf("the exec rollback ran as %q, want exactly once", b)
	}
	if n := got.count("DELETE /on"); n != 1 {
		t.Errorf("the HTTP rollback ran %d times, want exactly once", n)
	}
}

// ledgerOf is the one ledger in state.
func ledgerOf(t *testing.T, state string) string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(state, "ledger", "*.ndjson"))
	if len(paths) != 1 {
		return ""
	}
	return paths[0]
}
