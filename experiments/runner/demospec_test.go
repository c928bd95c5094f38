package runner

import (
	"errors"
	"strings"
	"testing"

	"github.com/chaosctl/chaosctl/experiments"
)

// The file's resilience settings reach the demo cluster as written: "no
// retries" stays zero retries, and the switches come through.
func TestDemoSpecFromTheFile(t *testing.T) {
	src := []byte(`apiVersion: chaosctl/v1
kind: Experiment
metadata: {name: spec}
target:
  demo:
    nodes: 3
    cache: {policy: lru, singleflight: false}
    resilience: {retries: {max: 0}, breaker: {enabled: false}}
workload: {rate: 10, duration: 5s}
slos:
  - {name: availability, sli: availability, objective: 99%}
`)
	e, err := experiments.Decode("spec.yaml", src)
	if err != nil {
		t.Fatal(err)
	}
	s, err := (&runState{e: e}).demoSpec(string(experiments.RuntimeProcess))
	if err != nil {
		t.Fatalf("demoSpec: %v", err)
	}
	if s.Resilience.Retries.Max != 0 || !s.Resilience.Breaker.Disabled || !s.Cache.NoSingleflight || s.Cache.Policy != "lru" {
		t.Fatalf("demo spec %+v does not say what the file says", s)
	}
	if _, err := (&runState{e: e}).demoSpec("docker"); err != nil {
		t.Fatalf("docker: %v", err)
	}
	if _, err := (&runState{e: e}).demoSpec("kubernetes"); err != nil {
		t.Fatalf("kubernetes: %v", err)
	}
	if _, err := (&runState{e: e}).demoSpec("nomad"); !errors.Is(err, ErrUsage) {
		t.Fatalf("an unsupported runtime: %v, want a usage error", err)
	}
	// A crash that deletes the pod takes its emptyDir along: disk then
	// needs a storage class (the default crash kills the process instead).
	e.Target.Demo.Persistence = experiments.PersistenceDisk
	if _, err := (&runState{e: e}).demoSpec("kubernetes"); err != nil {
		t.Fatalf("disk, default crash: %v", err)
	}
	e.Target.Kubernetes = &experiments.KubernetesTarget{Crash: "pod"}
	if _, err := (&runState{e: e}).demoSpec("kubernetes"); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "storageClass") {
		t.Fatalf("disk, crash pod, no storage class: %v, want a usage error", err)
	}
	e.Target.Kubernetes = &experiments.KubernetesTarget{StorageClass: "local", Crash: "pod"}
	if _, err := (&runState{e: e}).demoSpec("kubernetes"); err != nil {
		t.Fatalf("disk with a storage class: %v", err)
	}
}
