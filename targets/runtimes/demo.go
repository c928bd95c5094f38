package runtimes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// DemoOptions is what a runtime's StartDemo needs besides the cluster.
type DemoOptions struct {
	Run, Dir        string // run id; where member logs go
	Binary, Version string // the chaosctl the members run ("" = this one)
	Seed            int64
	Log             *logrus.Entry // required
	MemberLogLevel  string
	// LeaseTTL is how long faults applied outside chaosctl (the docker and
	// kubernetes fault planes, the pods' supervisors) outlive its last
	// renewal of their lease (target.leaseTTL; 0: deadman.DefaultTTL).
	LeaseTTL time.Duration
	// Kubernetes is target.kubernetes (the zero value: the default cluster).
	Kubernetes KubernetesOptions

	// Hooks record what `chaosctl recover` needs, as soon as it exists;
	// each may be nil, and each runtime calls those that apply to it.
	//
	// OnMembers receives member processes as they start (process).
	OnMembers func(members []targets.Member)
	// OnPlane receives the URL of a fault plane that runs outside chaosctl
	// (docker).
	OnPlane func(url string)
	// OnNamespace receives the cluster and namespace of the run's objects
	// (kubernetes).
	OnNamespace func(ref kubernetes.ClusterRef, namespace string)
}

// containerOptions are the options the container runtimes (docker,
// kubernetes) share.
func (o DemoOptions) containerOptions() democluster.RuntimeOptions {
	return democluster.RuntimeOptions{Run: o.Run, Dir: o.Dir, Seed: o.Seed, Log: o.Log, LogLevel: o.MemberLogLevel, LeaseTTL: o.LeaseTTL}
}

// KubernetesOptions say where the kubernetes runtime deploys the demo
// cluster (target.kubernetes).
type KubernetesOptions struct {
	Kubeconfig, Context string
	Namespace           string
	Allow               []string
	// Image is chaosctl's image as the nodes know it; "" derives it from
	// the binary and version.
	Image        string
	StorageClass string
	Crash        string // kubernetes.CrashPod or kubernetes.CrashProcess
}

func processRuntime() Runtime {
	return Runtime{
		Name: Process, StartTimeout: LocalStartTimeout, EmbeddedPlane: true,
		StartDemo: func(ctx context.Context, spec demo.ClusterSpec, o DemoOptions) (targets.Target, error) {
			return asTarget(processdemo.Start(ctx, spec, processdemo.Options{
				Run: o.Run, Dir: o.Dir, Binary: o.Binary, Seed: o.Seed,
				Log: o.Log, LogLevel: o.MemberLogLevel, OnStarted: o.OnMembers,
			}))
		},
	}
}

func dockerRuntime() Runtime {
	return Runtime{
		Name: Docker, StartTimeout: ContainerStartTimeout,
		StartDemo: func(ctx context.Context, spec demo.ClusterSpec, o DemoOptions) (targets.Target, error) {
			return asTarget(docker.StartDemo(ctx, spec, docker.DemoOptions{
				RuntimeOptions: o.containerOptions(),
				Binary:         o.Binary, Version: o.Version, OnPlane: o.OnPlane,
			}))
		},
		Recover: recoverContainers,
	}
}

func kubernetesRuntime() Runtime {
	return Runtime{
		Name: Kubernetes, StartTimeout: ContainerStartTimeout,
		StartDemo: startKubernetes,
		CheckDemo: func(spec demo.ClusterSpec, o DemoOptions) error {
			k := o.Kubernetes
			if k.Crash == kubernetes.CrashPod && spec.Persistence == demo.PersistDisk && k.StorageClass == "" {
				return errors.New("target.kubernetes.crash: pod with persistence: disk needs target.kubernetes.storageClass (a deleted pod takes its emptyDir along, and the data with it)")
			}
			return nil
		},
		Recover: recoverKubernetes,
	}
}

func externalRuntime() Runtime {
	// The user's own services: the fault plane is embedded unless the
	// target names a toxiproxy of its own; package external starts them.
	return Runtime{Name: External, StartTimeout: LocalStartTimeout, EmbeddedPlane: true}
}

// startKubernetes deploys the demo cluster to o.Kubernetes's cluster (the
// default kubeconfig when it names none).
func startKubernetes(ctx context.Context, spec demo.ClusterSpec, o DemoOptions) (targets.Target, error) {
	k := o.Kubernetes
	image := k.Image
	if image == "" {
		bin := o.Binary
		if bin == "" {
			exe, err := os.Executable()
			if err != nil {
				return nil, fmt.Errorf("find own executable: %w", err)
			}
			bin = exe
		}
		var err error
		if image, err = docker.ImageRefFor(bin, o.Version); err != nil {
			return nil, err
		}
	}
	ref := kubernetes.ClusterRef{Kubeconfig: k.Kubeconfig, Context: k.Context}
	opts := kubernetes.DemoOptions{
		RuntimeOptions: o.containerOptions(),
		Cluster:        ref, Namespace: k.Namespace, Allow: k.Allow,
		Image: image, StorageClass: k.StorageClass, Crash: k.Crash,
	}
	if o.OnNamespace != nil {
		opts.OnNamespace = func(ns string) { o.OnNamespace(ref, ns) }
	}
	return asTarget(kubernetes.StartDemo(ctx, spec, opts))
}

// asTarget returns t as a Target, or a nil Target (not a nil *T in one)
// with err.
func asTarget[T targets.Target](t T, err error) (targets.Target, error) {
	if err != nil {
		return nil, err
	}
	return t, nil
}
