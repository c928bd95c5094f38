package experiments

import (
	"errors"
	"testing"
	"time"
)

const lockHead = `apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: t}
`

// The lock workload decodes with its defaults, and its mistakes are named
// at their position with the allowed values.
func TestLockWorkload(t *testing.T) {
	e, err := Decode("exp.yaml", []byte(lockHead+"workload: {kind: lock, duration: 5s, lock: {fencing: true, pauseEvery: 2s}}\nchecks: [mutual-exclusion]\n"))
	if err != nil {
		t.Fatal(err)
	}
	l := e.Workload.Lock
	if e.Workload.Kind != WorkloadLock || l == nil || l.Name != DefaultLockName || l.Resource != DefaultLockResource ||
		l.Clients != DefaultLockClients || l.Lease != DefaultLockLease || l.Hold != DefaultLockHold || l.Pause != 2*DefaultLockLease || !l.Fencing || l.PauseEvery != 2*time.Second {
		t.Fatalf("lock workload %+v", l)
	}
	if e, err := Decode("exp.yaml", []byte(lockHead+"workload: {rate: 5, duration: 5s}\nchecks: [linearizable]\n")); err != nil || e.Workload.Kind != WorkloadKV || e.Workload.Lock != nil {
		t.Fatalf("default kind: %v %+v", err, e.Workload)
	}

	for _, tt := range []struct {
		name string
		src  string
		want []string
	}{
		{"unknown kind", "workload: {kind: locks, rate: 5, duration: 5s}\nchecks: [linearizable]\n",
			[]string{`4:18: workload.kind: bad value "locks"; allowed: kv, lock, counter, lww-counter, set, scan; did you mean "lock"?`}},
		{"lock needs linearizable", "target: {demo: {consistency: eventual}}\nworkload: {kind: lock, duration: 5s}\nchecks: [mutual-exclusion]\n",
			[]string{`5:18: workload.kind: lock needs target.demo.consistency: linearizable`}},
		{"rate is the key-value workload's", "workload: {kind: lock, rate: 5, duration: 5s}\nchecks: [mutual-exclusion]\n",
			[]string{`4:24: workload.rate: is the key-value workload's`}},
		{"lock section without kind lock", "workload: {rate: 5, duration: 5s, lock: {clients: 2}}\nchecks: [linearizable]\n",
			[]string{`4:35: workload.lock: needs workload.kind: lock`}},
		{"bounds", "workload: {kind: lock, duration: 5s, lock: {clients: 0, lease: 1ms, name: a/b}}\nchecks: [mutual-exclusion]\n",
			[]string{
				`4:54: workload.lock.clients: 0 is out of range; allowed: 1 to 64`,
				`4:64: workload.lock.lease: 1ms is out of range; allowed: 10ms to 1m0s`,
				`4:75: workload.lock.name: "a/b" is not allowed`,
			}},
		{"mutual-exclusion needs the lock workload", "workload: {rate: 5, duration: 5s}\nchecks: [mutual-exclusion]\n",
			[]string{`5:10: checks[0]: mutual-exclusion reads the lock workload's history; it needs workload.kind: lock`}},
		{"the lock workload has no key-value history", "workload: {kind: lock, duration: 5s}\nchecks: [linearizable]\n",
			[]string{`5:10: checks[0]: linearizable does not judge the lock workload's history; with workload.kind: lock use mutual-exclusion`}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("exp.yaml", []byte(lockHead+tt.src))
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("Decode error = %v, want a *ValidationError", err)
			}
			checkProblems(t, verr, "exp.yaml", tt.want)
		})
	}
}
