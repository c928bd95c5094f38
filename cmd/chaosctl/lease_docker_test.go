package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// planeOf reads the one run of state, its fault plane's URL (the ledger)
// and token (beside the ledger).
func planeOf(t *testing.T, state string) (run, url, token string) {
	t.Helper()
	runs := runsIn(t, state)
	if len(runs) != 1 {
		t.Fatalf("runs in %s: %v", state, runs)
	}
	run = runs[0]
	ledger := filepath.Join(injectors.LedgerDir(state), run+".ndjson")
	recs, _, err := injectors.ReadLedger(ledger)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.PlaneURL != "" {
			url = r.PlaneURL
		}
	}
	b, err := os.ReadFile(strings.TrimSuffix(ledger, ".ndjson") + ".plane-token")
	if err != nil || url == "" {
		t.Fatalf("plane %q, token: %v", url, err)
	}
	return run, url, string(b)
}

// The dead-man switch of the docker runtime: chaosctl is SIGKILLed with a
// latency and a reject partition in place; the fault-plane container, whose
// lease (target.leaseTTL: 1s) is no longer renewed, removes every toxic and
// enables every proxy by itself, without recover. recover then removes the
// run's containers.
func TestDockerPlaneRevertsWhenChaosctlIsKilled(t *testing.T) {
	dockerEngine(t)
	planeRevertsWhenKilled(t, "testdata/docker-lease.yaml", func(*testing.T, string) {})
}

// planeRevertsWhenKilled runs file (faults with a 1 s lease on a plane in
// a container or pod), SIGKILLs chaosctl once two faults are applied, and
// requires the plane to remove every toxic and enable every proxy of the
// run by itself. Then recover (and after it, left) clean up.
func planeRevertsWhenKilled(t *testing.T, file string, left func(t *testing.T, state string)) {
	t.Helper()
	cmd, _, state, output := startRun(t, file, 2)
	t.Cleanup(func() {
		recoverState(t, state)
		left(t, state)
	})
	run, url, token := planeOf(t, state)
	client := faultplane.NewClient(url, token)
	faults := func() (toxics, disabled int) {
		all, err := client.Proxies()
		if err != nil {
			t.Fatalf("the plane at %s: %v", url, err)
		}
		for name, px := range all {
			if strings.HasPrefix(name, faultplane.NamePrefix+run+"-") {
				toxics += len(px.ActiveToxics)
				if !px.Enabled {
					disabled++
				}
			}
		}
		return toxics, disabled
	}
	if toxics, disabled := faults(); toxics == 0 || disabled == 0 {
		t.Fatalf("faults applied, yet the plane holds %d toxics and %d disabled proxies\n%s", toxics, disabled, output)
	}
	// The plane refuses a request without the token.
	if _, err := faultplane.NewClient(url, "").Proxies(); err == nil {
		t.Fatalf("the plane at %s answered GET /proxies without the token", url)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_, _ = cmd.Process.Wait()
	killed := time.Now()
	testkit.Eventually(t, 1*time.Second+15*time.Second, "the plane reverts once its lease lapses", func() bool {
		toxics, disabled := faults()
		return toxics == 0 && disabled == 0
	})
	t.Logf("the plane reverted %s after chaosctl was killed (lease 1s)", time.Since(killed).Round(time.Millisecond))
}
