package main

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/network"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/docker/dockertest"
)

// recover removes the docker objects of a dead run it has a ledger for, and
// leaves alone those of runs it knows nothing about.
func TestRecoverRemovesContainersOfDeadRunsByLabel(t *testing.T) {
	cli := dockertest.Engine(t)
	ctx := context.Background()
	state := t.TempDir()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().UnixNano()
	known, stranger := fmt.Sprintf("dead-run-%d", stamp), fmt.Sprintf("other-run-%d", stamp)
	l, err := injectors.CreateLedger(state, injectors.RunInfo{Run: known, Runtime: "docker", Dir: t.TempDir(), PID: dead.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	_ = l.Close() // no end record: the run died
	var ids []string
	for _, run := range []string{known, stranger} {
		n, err := cli.NetworkCreate(ctx, "chaosctl-"+run, network.CreateOptions{Driver: "bridge", Labels: map[string]string{docker.LabelRun: run}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n.ID)
	}
	t.Cleanup(func() {
		for _, id := range ids {
			_ = cli.NetworkRemove(context.Background(), id)
		}
	})
	stdout, stderr, code := run(t, "recover", "--state-dir", state)
	if code != 0 {
		t.Fatalf("recover: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "removed network chaosctl-"+known) || !strings.Contains(stdout, stranger+": 1 docker objects not touched") {
		t.Fatalf("recover said:\n%s", stdout)
	}
	if _, err := cli.NetworkInspect(ctx, ids[0], network.InspectOptions{}); err == nil {
		t.Fatal("the dead run's network is still there")
	}
	if _, err := cli.NetworkInspect(ctx, ids[1], network.InspectOptions{}); err != nil {
		t.Fatalf("a network of a run without a ledger here was touched: %v", err)
	}
}
