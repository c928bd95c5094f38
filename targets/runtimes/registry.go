package runtimes

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// Names of the built-in runtimes.
const (
	Process    = processdemo.Name
	Docker     = docker.Name
	Kubernetes = kubernetes.Name
	External   = "external"
)

// Start timeouts: a container runtime may build or import its image first.
const (
	LocalStartTimeout     = 60 * time.Second
	ContainerStartTimeout = 3 * time.Minute
)

// Runtime describes one runtime.
type Runtime struct {
	// Name is what target.runtime and --target call it.
	Name string
	// StartTimeout bounds starting a target on it.
	StartTimeout time.Duration
	// EmbeddedPlane says the fault plane runs inside chaosctl (and dies
	// with it); an external target that names its own toxiproxy has none.
	EmbeddedPlane bool
	// StartDemo starts the demo cluster; on error nothing of it is left.
	// It is nil on a runtime that cannot run the demo cluster (external).
	StartDemo func(ctx context.Context, spec demo.ClusterSpec, o DemoOptions) (targets.Target, error)
	// CheckDemo, when set, rejects a demo cluster this runtime cannot run
	// as configured, before anything starts.
	CheckDemo func(spec demo.ClusterSpec, o DemoOptions) error
	// Recover, when set, removes what runs killed on this runtime left
	// outside the ledger's reach (containers, namespaces), once the ledger
	// recovery (injectors.Recover) has run; it returns what it did, one
	// line each, and runs still in progress are left alone.
	Recover func(ctx context.Context, stateDir string, rep *injectors.RecoveryReport) ([]string, error)
}

// Registry maps runtime names to runtimes. Build one with New or Default;
// it is not changed after.
type Registry struct {
	list []Runtime
}

// New returns a registry of rts, in that order (the order names are listed
// in). A name given twice keeps its first runtime.
func New(rts ...Runtime) *Registry {
	r := &Registry{}
	for _, rt := range rts {
		if _, err := r.Lookup(rt.Name); err != nil {
			r.list = append(r.list, rt)
		}
	}
	return r
}

// Default is the registry of the built-in runtimes: process, docker,
// kubernetes and external.
func Default() *Registry {
	return New(processRuntime(), dockerRuntime(), kubernetesRuntime(), externalRuntime())
}

// Names lists every runtime's name.
func (r *Registry) Names() []string {
	out := make([]string, 0, len(r.list))
	for _, rt := range r.list {
		out = append(out, rt.Name)
	}
	return out
}

// DemoNames lists the runtimes that can run the demo cluster.
func (r *Registry) DemoNames() []string {
	var out []string
	for _, rt := range r.list {
		if rt.StartDemo != nil {
			out = append(out, rt.Name)
		}
	}
	return out
}

// All returns every runtime, in order.
func (r *Registry) All() []Runtime { return slices.Clone(r.list) }

// Lookup returns the runtime called name; an unknown name's error lists the
// valid ones.
func (r *Registry) Lookup(name string) (Runtime, error) {
	for _, rt := range r.list {
		if rt.Name == name {
			return rt, nil
		}
	}
	return Runtime{}, fmt.Errorf("runtime %q: allowed are %s", name, strings.Join(r.Names(), ", "))
}

// Demo returns the runtime called name when it can run the demo cluster;
// otherwise the error lists the runtimes that can.
func (r *Registry) Demo(name string) (Runtime, error) {
	rt, err := r.Lookup(name)
	if err != nil || rt.StartDemo == nil {
		return Runtime{}, fmt.Errorf("runtime %q cannot run the demo cluster; allowed: %s", name, strings.Join(r.DemoNames(), ", "))
	}
	return rt, nil
}

// List joins names for a sentence: "a, b and c" with conj "and".
func List(names []string, conj string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " " + conj + " " + names[len(names)-1]
}
