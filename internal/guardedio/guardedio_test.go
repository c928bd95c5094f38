package guardedio

import (
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
)

func closedPipe(t *testing.T) *os.File {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Cleanup(func() { w.Close() })
	return w
}

// The test binary handles SIGPIPE as chaosctl's main does (Go's testing
// runtime does not kill a test on a write to fd ≥ 3), so writes fail with
// EPIPE.
func TestAFailedWriteLosesTheResultsAndQuietsTheLogs(t *testing.T) {
	out, errOut, lost := Guard(closedPipe(t), closedPipe(t))
	if _, err := io.WriteString(errOut, "a log line\n"); err != nil {
		t.Fatalf("log write: %v, want it taken quietly", err)
	}
	if lost.IsLost() {
		t.Fatal("a broken stderr of its own lost stdout")
	}
	for range 2 {
		if _, err := io.WriteString(out, "a result\n"); !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("result write: %v, want EPIPE every time", err)
		}
	}
	select {
	case <-lost.Done():
	default:
		t.Fatal("a broken stdout is not reported lost")
	}

	both := closedPipe(t)
	_, errOut, lost = Guard(both, both)
	if _, err := io.WriteString(errOut, "a log line\n"); err != nil || !lost.IsLost() {
		t.Fatalf("stderr on the same pipe as stdout: write %v, lost %v; want quiet and lost", err, lost.IsLost())
	}
}
