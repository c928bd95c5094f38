package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/experiments"
	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/external"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/runtimes"
)

// startTimeout bounds starting the target on runtime (a container runtime
// may build its image first).
func startTimeout(runtime string) time.Duration {
	rt, err := runtimes.Default().Lookup(runtime)
	if err != nil {
		return runtimes.LocalStartTimeout
	}
	return rt.StartTimeout
}

// planeEmbedded says whether the run's fault plane runs inside chaosctl: on
// a runtime whose plane is embedded, unless target.external names a
// toxiproxy of its own.
func (r *runState) planeEmbedded(runtime string) bool {
	rt, err := runtimes.Default().Lookup(runtime)
	if err != nil {
		return false
	}
	if x := r.e.Target.External; x != nil && x.Toxiproxy != nil {
		return false
	}
	return rt.EmbeddedPlane
}

// startTarget starts the target on runtime; on error nothing of it is left.
func (r *runState) startTarget(ctx context.Context, runtime string, spec demo.ClusterSpec, ledger *injectors.Ledger) (targets.Target, error) {
	members := filepath.Join(r.dir, "members")
	if x := r.e.Target.External; x != nil {
		if k := r.e.Target.Kubernetes; k != nil && hasPodMembers(x) {
			// recover looks for the run's NetworkPolicies there.
			if err := ledger.Kubernetes(injectors.KubeRef{Kubeconfig: k.Kubeconfig, Context: k.Context}); err != nil {
				return nil, fmt.Errorf("fault ledger: %w", err)
			}
		}
		// Every member is recorded as it starts (or is found), before any
		// fault: recover finishes a command's process group and undoes
		// what chaosctl did to a container.
		return external.Start(ctx, externalSpec(x, r.e.Target.Kubernetes), external.Options{
			Run: r.runID, Dir: members, Log: r.log.WithField("component", "target"), OnStarted: ledger.OnStarted,
		})
	}
	return StartDemo(ctx, runtime, spec, DemoStart{
		Run: r.runID, Dir: members, Binary: r.opts.Binary, Version: r.opts.Version, Seed: r.res.Seed,
		Log: r.log, MemberLogLevel: r.opts.MemberLogLevel, Kubernetes: r.e.Target.Kubernetes, LeaseTTL: r.e.Target.LeaseTTL, Ledger: ledger,
	})
}

func hasPodMembers(x *experiments.ExternalTarget) bool {
	for _, m := range x.Members {
		if m.Pod != nil {
			return true
		}
	}
	return false
}

// DemoStart is what StartDemo needs besides the runtime and the cluster.
type DemoStart struct {
	Run, Dir        string // run id; where member logs go
	Binary, Version string // the chaosctl the members run ("" = this one)
	Seed            int64
	Log             *logrus.Entry
	MemberLogLevel  string
	// Kubernetes is target.kubernetes (nil: the default cluster).
	Kubernetes *experiments.KubernetesTarget
	// LeaseTTL is target.leaseTTL (0: the default).
	LeaseTTL time.Duration
	// Ledger records the fault plane, member processes and namespace.
	Ledger *injectors.Ledger
}

// StartDemo starts the demo cluster on runtime (a name of
// runtimes.Default that can run it; "" is process), recording in the
// ledger what recover needs; on error nothing of it is left. Experiments
// and GameDays start their targets through it.
func StartDemo(ctx context.Context, runtime string, spec demo.ClusterSpec, o DemoStart) (targets.Target, error) {
	if runtime == "" {
		runtime = string(experiments.RuntimeProcess)
	}
	rt, err := runtimes.Default().Demo(runtime)
	if err != nil {
		return nil, err
	}
	log := o.Log.WithField("component", "target")
	opts := runtimes.DemoOptions{
		Run: o.Run, Dir: o.Dir, Binary: o.Binary, Version: o.Version, Seed: o.Seed,
		Log: log, MemberLogLevel: o.MemberLogLevel, Kubernetes: kubernetesOptions(o.Kubernetes),
		LeaseTTL: o.LeaseTTL,
	}
	if l := o.Ledger; l != nil {
		opts.OnMembers = l.OnStarted
		opts.OnPlane = func(url string) {
			if err := l.Plane(url, rt.EmbeddedPlane); err != nil {
				log.WithError(err).Warn("fault ledger: record the fault plane")
			}
		}
		opts.OnNamespace = func(c kubernetes.ClusterRef, ns string) {
			if err := l.Kubernetes(injectors.KubeRef{Kubeconfig: c.Kubeconfig, Context: c.Context, Namespace: ns}); err != nil {
				log.WithError(err).Warn("fault ledger: record the namespace")
			}
		}
	}
	return rt.StartDemo(ctx, spec, opts)
}

// kubernetesOptions translates target.kubernetes (nil: the default cluster).
func kubernetesOptions(k *experiments.KubernetesTarget) runtimes.KubernetesOptions {
	if k == nil {
		return runtimes.KubernetesOptions{}
	}
	return runtimes.KubernetesOptions{
		Kubeconfig: k.Kubeconfig, Context: k.Context, Namespace: k.Namespace, Allow: k.Allow,
		Image: k.Image, StorageClass: k.StorageClass, Crash: k.Crash,
	}
}

// demoSpec translates target.demo for the demo cluster's runtime, which
// must be able to run it as configured.
func (r *runState) demoSpec(runtime string) (demo.ClusterSpec, error) {
	d := r.e.Target.Demo
	if d == nil {
		return demo.ClusterSpec{}, fmt.Errorf("target.external is not supported by this version of the runner yet: %w", ErrEnvironment)
	}
	rt, err := runtimes.Default().Demo(runtime)
	if err != nil {
		return demo.ClusterSpec{}, fmt.Errorf("%w: %w", err, ErrUsage)
	}
	spec, err := d.ClusterSpec()
	if err != nil {
		return spec, err
	}
	if rt.CheckDemo != nil {
		if err := rt.CheckDemo(spec, runtimes.DemoOptions{Kubernetes: kubernetesOptions(r.e.Target.Kubernetes)}); err != nil {
			return demo.ClusterSpec{}, fmt.Errorf("%w: %w", err, ErrUsage)
		}
	}
	return spec, nil
}
