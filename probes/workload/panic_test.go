package workload

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/crash"
)

// A panic in a worker (a driver's Do) or in OnSecond ends the run, not the
// process: Run returns what ran, interrupted, with an error wrapping the
// *crash.Panic, so that its caller can revert its faults.
func TestAPanicInAWorkerOrOnSecondEndsTheRunWithThePanic(t *testing.T) {
	for _, tc := range []struct {
		name, goroutine string
		driver          func(n *atomic.Int64) Driver
		onSecond        func(*Second)
	}{
		{name: "driver", goroutine: "a workload worker", driver: func(n *atomic.Int64) Driver {
			return DriverFunc(func(context.Context, Op) Result {
				if n.Add(1) == 5 {
					panic("injected by the test")
				}
				return Result{Outcome: OutcomeOK}
			})
		}},
		{name: "OnSecond", goroutine: "the workload's OnSecond", onSecond: func(*Second) { panic("injected by the test") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			driver := DriverFunc(func(context.Context, Op) Result { return Result{Outcome: OutcomeOK} })
			if tc.driver != nil {
				driver = tc.driver(&n).(DriverFunc)
			}
			cfg := Config{Rate: 20, Duration: 5 * time.Second, ReadRatio: 0.5, Timeout: time.Second, OnSecond: tc.onSecond}
			began := time.Now()
			sum, err := runWorkload(t, cfg, driver, 1)
			p, ok := errors.AsType[*crash.Panic](err)
			if !ok || p.Where != tc.goroutine {
				t.Fatalf("Run returned %v, want the panic of %q", err, tc.goroutine)
			}
			if sum == nil || !sum.Interrupted {
				t.Fatalf("summary %+v, want the interrupted run's", sum)
			}
			if took := time.Since(began); took > 4*time.Second {
				t.Errorf("Run took %s: the panic did not end it", took)
			}
		})
	}
}
