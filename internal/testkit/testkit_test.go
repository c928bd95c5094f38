package testkit

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoll(t *testing.T) {
	var n atomic.Int32
	if err := Poll(5*time.Second, func() bool { return n.Add(1) == 3 }); err != nil || n.Load() != 3 {
		t.Fatalf("Poll: %v after %d calls, want nil after 3", err, n.Load())
	}
	if err := Poll(20*time.Millisecond, func() bool { return false }); err == nil {
		t.Fatal("Poll of a condition that never holds returned nil")
	}
}

func TestIntegrationSkipsOrFails(t *testing.T) {
	t.Setenv(RequireIntegrationEnv, "")
	ft := &fakeT{}
	run(func() { Integration(ft, "no %s", "engine") })
	if !ft.skipped || ft.failed || ft.msg != "no engine" {
		t.Errorf("without %s: %+v, want a skip saying what is missing", RequireIntegrationEnv, ft)
	}
	t.Setenv(RequireIntegrationEnv, "1")
	ft = &fakeT{}
	run(func() { Integration(ft, "no %s", "engine") })
	if ft.skipped || !ft.failed || ft.msg != RequireIntegrationEnv+"=1 but no engine" {
		t.Errorf("with %s=1: %+v, want a failure", RequireIntegrationEnv, ft)
	}
}

// fakeT records how a helper ended the test; Skip and Fatalf stop the
// helper as the real ones do (runtime.Goexit), here by a panic run recovers.
type fakeT struct {
	testing.TB
	skipped, failed bool
	msg             string
}

type stop struct{}

func (f *fakeT) Helper() {}
func (f *fakeT) Skip(args ...any) {
	f.skipped, f.msg = true, args[0].(string)
	panic(stop{})
}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = true
	f.msg = fmt.Sprintf(format, args...)
	panic(stop{})
}

func run(fn func()) {
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(stop); !ok {
				panic(r)
			}
		}
	}()
	fn()
}
