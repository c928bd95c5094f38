package slo

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// porcupineJepsenDir finds test_data/jepsen of the porcupine module this
// module builds with, in the module cache (never copied into the repository).
func porcupineJepsenDir(t testing.TB) string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-m", "-f", "{{.Dir}}", "github.com/anishathalye/porcupine").Output()
	if err != nil {
		t.Fatalf("find the porcupine module: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "test_data", "jepsen")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("porcupine's Jepsen histories: %v", err)
	}
	return dir
}

// TestCheckFileOnJepsenEtcdHistories checks the 103 Jepsen etcd histories
// that ship with porcupine and expects the verdicts porcupine's own tests
// assert (porcupine_test.go, TestEtcdJepsen000..102). etcd_095.log is empty
// ("etcd cluster failed to start up in test 95", no test there): no data is
// inconclusive.
func TestCheckFileOnJepsenEtcdHistories(t *testing.T) {
	dir := porcupineJepsenDir(t)
	linearizable := map[int]bool{}
	for _, n := range []int{2, 5, 7, 18, 25, 31, 38, 45, 48, 49, 51, 53, 56, 67, 75, 76, 80, 87, 92, 98, 100, 101, 102} {
		linearizable[n] = true
	}
	const perFile = 10 * time.Second
	start := time.Now()
	var checked, ops int
	for n := 0; n <= 102; n++ {
		want := Fail
		switch {
		case n == 95:
			want = Inconclusive
		case linearizable[n]:
			want = Pass
		}
		path := filepath.Join(dir, fmt.Sprintf("etcd_%03d.log", n))
		t.Run(filepath.Base(path), func(t *testing.T) {
			res, err := CheckFile(path, perFile)
			if err != nil {
				t.Fatal(err)
			}
			checked++
			ops += res.Operations
			if res.Verdict != want {
				t.Fatalf("verdict %s (%s), want %s", res.Verdict, res.Detail, want)
			}
			switch want {
			case Fail:
				if len(res.Violations) != 1 || res.Violations[0].Stuck.ID == 0 || len(res.Violations[0].Window) == 0 {
					t.Fatalf("violation not explained: %+v", res.Violations)
				}
				if res.Format != FormatJepsenLog || res.Keys != 1 {
					t.Fatalf("format %s, keys %d; want %s, 1", res.Format, res.Keys, FormatJepsenLog)
				}
			case Pass:
				if res.Operations == 0 {
					t.Fatal("passed with no operations")
				}
			}
		})
	}
	if checked != 103 {
		t.Fatalf("checked %d histories, want 103", checked)
	}
	t.Logf("103 Jepsen etcd histories (%d operations) checked in %s", ops, time.Since(start).Round(time.Millisecond))
}
