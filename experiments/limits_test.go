package experiments

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Durations the file gives, and the sums validation and the plan make of
// them (at + duration, at + restartAfter, warmup + duration), are bounded
// so none can overflow int64 and slip past a check.
func TestDurationSumsAreBounded(t *testing.T) {
	const huge = "9223372036854775807ns" // math.MaxInt64
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{
			name: "at + duration overflows and would slip past the overlap check",
			src: minimalWith(`faults:
  - {name: a, at: 1s, duration: ` + huge + `, clockSkew: {nodes: [n1], offset: 1s}}
  - {name: b, at: 2s, duration: 1s, clockSkew: {nodes: [n1], offset: 2s}}
`),
			want: []string{`7:33: faults[0].duration: 2562047h47m16.854775807s is too long; the most allowed is 24h0m0s`},
		},
		{
			name: "at + restartAfter overflows",
			src:  minimalWith("faults: [{name: a, at: 1s, crash: {nodes: [n1], restartAfter: " + huge + "}}]\n"),
			want: []string{`6:63: faults[0].crash.restartAfter: 2562047h47m16.854775807s is too long; the most allowed is 24h0m0s`},
		},
		{
			name: "a late at is rejected even when the workload's duration is unknown",
			src: `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
workload: {rate: 10, duration: 0s}
checks: [linearizable]
faults:
  - {name: a, at: ` + huge + `, duration: 1s, clockSkew: {nodes: [n1], offset: 1s}}
  - {name: b, at: 2s, duration: 1s, clockSkew: {nodes: [n2], offset: 1s}}
`,
			want: []string{
				`4:32: workload.duration: 0s is out of range; allowed: above 0 up to 24h0m0s`,
				`7:19: faults[0].at: 2562047h47m16.854775807s is too late; the most allowed is 24h0m0s`,
			},
		},
		{
			name: "warmup + duration is longer than a run may be",
			src: `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
workload: {rate: 10, warmup: 24h, duration: 24h}
checks: [linearizable]
`,
			want: []string{`4:45: workload.duration: the run lasts warmup 24h0m0s + duration 24h0m0s = 48h0m0s; the most allowed is 24h0m0s`},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("limits.yaml", []byte(tc.src))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Decode = %v, want a *ValidationError", err)
			}
			checkProblems(t, verr, "limits.yaml", tc.want)
		})
	}
}

// The longest run allowed validates and plans, with the default
// maxDuration within MaxRunDuration.
func TestLongestRunIsAllowed(t *testing.T) {
	e, err := Decode("long.yaml", []byte(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
workload: {rate: 10, warmup: 1h, duration: 23h}
faults:
  - {name: a, at: 1s, duration: 22h, clockSkew: {nodes: [n1], offset: 1s}}
checks: [linearizable]
`))
	if err != nil {
		t.Fatal(err)
	}
	if e.Abort.MaxDuration != MaxRunDuration {
		t.Errorf("abort.maxDuration defaults to %s, want %s", e.Abort.MaxDuration, MaxRunDuration)
	}
	if _, err := e.Plan(1); err != nil {
		t.Fatal(err)
	}
}

// Load refuses a FIFO or a device at once, before reading it.
func TestLoadRefusesFIFOsAndDevices(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "experiment.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for file, what := range map[string]string{"/dev/zero": "a device", fifo: "a named pipe (FIFO)"} {
		done := make(chan error, 1)
		go func() {
			_, err := Load(file)
			done <- err
		}()
		select {
		case err := <-done:
			var verr *ValidationError
			if want := file + ":1:1: the file is " + what + "; allowed: a regular file of at most 1 MiB"; !errors.As(err, &verr) || !strings.HasPrefix(err.Error(), want) {
				t.Errorf("Load(%s) = %v, want a *ValidationError %q", file, err, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("Load(%s) blocks", file)
		}
	}
}
