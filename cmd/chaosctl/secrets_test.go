package main

import (
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/experiments/report"
	"github.com/chaosctl/chaosctl/internal/testkit"
)

// A run with a secret in a member's env, a request header, a URL and the
// description: the workload really sends the header (the service answers
// 200 only to a request carrying it, and logs it), and no file of the
// output folder or the state directory, and nothing chaosctl prints, shows
// the secret. The verdict may be pass or fail (a loaded machine times a
// few requests out): the redaction is what is tested, not the SLO.
func TestSecretsAreSentAndRedactedEverywhere(t *testing.T) {
	needPython(t)
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	secret := "s3cr3t-" + hex.EncodeToString(b)
	env := []string{"CHAOSCTL_TEST_SECRET=" + secret}
	const file = "testdata/secrets.yaml"

	// Without the variable, validate and run stop at FILE:LINE:COL.
	t.Setenv("CHAOSCTL_TEST_SECRET", "")
	os.Unsetenv("CHAOSCTL_TEST_SECRET")
	for _, cmd := range []string{"validate", "run"} {
		_, stderr, code := run(t, cmd, file)
		if code != 2 || !strings.Contains(stderr, file+":6:45: metadata.description: secret CHAOSCTL_TEST_SECRET: environment variable CHAOSCTL_TEST_SECRET is not set") ||
			!strings.Contains(stderr, file+":26:25: target.external.members[0].env.API_KEY") {
			t.Errorf("%s without the secret: exit %d, want 2 naming FILE:LINE:COL\n%s", cmd, code, stderr)
		}
	}

	// The dry run shows the plan, redacted.
	stdout, stderr, code := runEnv(t, env, "run", "--dry-run", file)
	if code != 0 || !strings.Contains(stdout, "[REDACTED]") || strings.Contains(stdout+stderr, secret) {
		t.Errorf("dry run: exit %d, want the plan with [REDACTED] and no secret\n%s\n%s", code, stdout, stderr)
	}

	out := filepath.Join(t.TempDir(), "out")
	state := filepath.Join(t.TempDir(), "state")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	stdout, stderr, code = runEnv(t, env, "--log-level", "debug", "run", file, "--out", out, "--state-dir", state, "--junit", junit)
	noMembersLeft(t, out)
	res, err := report.ReadJSON(out)
	if err != nil || (code != exitPass && code != exitFail) || (res.Verdict != report.Pass && res.Verdict != report.Fail) {
		t.Fatalf("exit %d, result %+v (%v): want a verdict, pass or fail\n%s\n%s", code, res, err, stdout, tail(stderr, 30))
	}
	if len(res.SLOs) != 1 || res.SLOs[0].Total == 0 || res.SLOs[0].Bad >= res.SLOs[0].Total {
		t.Fatalf("SLO %+v: want requests authorized (sent with the secret)", res.SLOs)
	}
	t.Logf("verdict %s: %d of %d requests bad", res.Verdict, res.SLOs[0].Bad, res.SLOs[0].Total)
	if strings.Contains(stdout+stderr, secret) {
		t.Errorf("chaosctl printed the secret:\n%s\n%s", stdout, stderr)
	}
	files := 0
	for _, root := range []string{out, state, junit} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files++
			if strings.Contains(string(data), secret) || strings.Contains(string(data), secret[7:27]) {
				t.Errorf("%s holds the secret", path)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 8 {
		t.Errorf("only %d files looked at", files)
	}
	// The copy keeps the references; the member's own log saw the header,
	// and shows it redacted (the whole value: "Bearer <secret>" is a
	// sensitive header's value, the longest match).
	copied, _ := os.ReadFile(filepath.Join(out, report.FileExperiment))
	if !strings.Contains(string(copied), "${secret:CHAOSCTL_TEST_SECRET}") {
		t.Errorf("experiment.yaml lost the references:\n%s", copied)
	}
	logs, _ := filepath.Glob(filepath.Join(out, "members", "*.log"))
	seen := false
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		seen = seen || strings.Contains(string(data), "authorization: [REDACTED]\n")
	}
	if !seen {
		data, _ := os.ReadFile(logs[0])
		t.Errorf("no member log %v shows the redacted header:\n%s", logs, tail(string(data), 10))
	}
}

// A run killed with SIGKILL cannot redact its members' logs at its end:
// the member wrote the secret (in the header it logs) in clear. `chaosctl
// recover`, run with the run's secret variables set, ends the member and
// then redacts what it wrote: no file of the output folder holds the
// secret afterwards, and recover says so.
func TestRecoverRedactsTheMemberLogsOfAKilledRun(t *testing.T) {
	needPython(t)
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	secret := "s3cr3t-" + hex.EncodeToString(b)
	env := []string{"CHAOSCTL_TEST_SECRET=" + secret}
	src, err := os.ReadFile("testdata/secrets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "secrets-long.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(string(src), "duration: 5s", "duration: 120s", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, state := filepath.Join(t.TempDir(), "out"), filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(binary, "run", file, "--out", out, "--state-dir", state)
	cmd.Env = append(os.Environ(), env...)
	output := &testkit.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = output, output
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	log := filepath.Join(out, "members", "api.log")
	if err := testkit.Poll(60*time.Second, func() bool {
		data, _ := os.ReadFile(log)
		return strings.Contains(string(data), "authorization: Bearer "+secret)
	}); err != nil {
		t.Fatalf("the member never logged the header it got: %v\n%s", err, output)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()

	stdout, stderr, code := runEnv(t, env, "recover", "--state-dir", state)
	t.Logf("recover said:\n%s", stdout)
	if code != 0 || !strings.Contains(stdout, ": recovered") || !strings.Contains(stdout, "member logs: redacted") || strings.Contains(stdout+stderr, secret) {
		t.Fatalf("recover: exit %d, want 0, the run recovered and its member logs redacted\n%s\n%s", code, stdout, stderr)
	}
	err = filepath.WalkDir(out, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err == nil && (strings.Contains(string(data), secret) || strings.Contains(string(data), secret[7:27])) {
			t.Errorf("%s holds the secret after recover", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(log); !strings.Contains(string(data), "authorization: [REDACTED]\n") {
		t.Errorf("the member's log does not show the redacted header:\n%s", tail(string(data), 10))
	}
}
