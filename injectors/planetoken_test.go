package injectors_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// The plane token sits beside the ledger, private (0600), never in it; it
// goes when the run ends; halt refuses one that group or others may read.
func TestPlaneTokenIsPrivateAndOutsideTheLedger(t *testing.T) {
	state := t.TempDir()
	// The run's "chaosctl" is a sleep (halt sends it SIGTERM); this test
	// process holds its ledger.
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleeper.Process.Kill(); _, _ = sleeper.Process.Wait() })
	l, err := injectors.CreateLedger(state, injectors.RunInfo{Run: "r1", Runtime: "process", PID: sleeper.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Plane("http://127.0.0.1:1", true); err != nil {
		t.Fatal(err)
	}
	if err := l.PlaneToken("s3cret-token"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(injectors.LedgerDir(state), "r1.plane-token")
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, %v; want mode 0600", fi, err)
	}
	if b, _ := os.ReadFile(l.Path()); len(b) == 0 || strings.Contains(string(b), "s3cret-token") {
		t.Fatalf("the ledger holds the token (or nothing):\n%s", b)
	}

	// halt refuses a token file others may read (the run is live: this
	// process holds its ledger), and says so.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	rep, err := injectors.Halt(context.Background(), state, injectors.HaltOptions{Wait: 5 * time.Second}, processtest.Log(t))
	if err == nil || len(rep.Runs) != 1 || !strings.Contains(rep.String(), "chmod 600") || !rep.Runs[0].Signalled {
		t.Fatalf("halt with a readable token file: %v\n%s", err, rep)
	}
	l.RemovePlaneToken()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the token file remains: %v", err)
	}
}
