package runtimes_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/runtimes"
)

func TestMain(m *testing.M) { processtest.Main(m) }

func TestDefaultRegistry(t *testing.T) {
	reg := runtimes.Default()
	if got := reg.Names(); !slices.Equal(got, []string{"process", "docker", "kubernetes", "external"}) {
		t.Fatalf("Names = %v", got)
	}
	if got := reg.DemoNames(); !slices.Equal(got, []string{"process", "docker", "kubernetes"}) {
		t.Fatalf("DemoNames = %v", got)
	}
	for _, tc := range []struct {
		name     string
		timeout  time.Duration
		embedded bool
		demo     bool
		recover  bool
	}{
		{"process", time.Minute, true, true, false},
		{"docker", 3 * time.Minute, false, true, true},
		{"kubernetes", 3 * time.Minute, false, true, true},
		{"external", time.Minute, true, false, false},
	} {
		rt, err := reg.Lookup(tc.name)
		if err != nil {
			t.Fatal(err)
		}
		if rt.Name != tc.name || rt.StartTimeout != tc.timeout || rt.EmbeddedPlane != tc.embedded ||
			(rt.StartDemo != nil) != tc.demo || (rt.Recover != nil) != tc.recover {
			t.Errorf("%s: %+v", tc.name, rt)
		}
	}
}

func TestUnknownNamesListTheValidOnes(t *testing.T) {
	reg := runtimes.Default()
	if _, err := reg.Lookup("podman"); err == nil || err.Error() != `runtime "podman": allowed are process, docker, kubernetes, external` {
		t.Fatalf("Lookup: err = %v", err)
	}
	for _, name := range []string{"podman", "external", ""} {
		_, err := reg.Demo(name)
		want := `runtime "` + name + `" cannot run the demo cluster; allowed: process, docker, kubernetes`
		if err == nil || err.Error() != want {
			t.Fatalf("Demo(%q): err = %v, want %q", name, err, want)
		}
	}
	if rt, err := reg.Demo("docker"); err != nil || rt.Name != "docker" {
		t.Fatalf("Demo(docker) = %v, %v", rt.Name, err)
	}
}

func TestNewKeepsOrderAndTheFirstOfANameGivenTwice(t *testing.T) {
	reg := runtimes.New(runtimes.Runtime{Name: "b", StartTimeout: 1}, runtimes.Runtime{Name: "a"}, runtimes.Runtime{Name: "b", StartTimeout: 2})
	if got := reg.Names(); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("Names = %v", got)
	}
	if rt, _ := reg.Lookup("b"); rt.StartTimeout != 1 {
		t.Fatalf("b has timeout %v, want the first one's", rt.StartTimeout)
	}
	if got := reg.DemoNames(); len(got) != 0 {
		t.Fatalf("DemoNames = %v: no runtime here has a starter", got)
	}
}

func TestList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, ""}, {[]string{"a"}, "a"}, {[]string{"a", "b"}, "a or b"}, {[]string{"process", "docker", "kubernetes"}, "process, docker or kubernetes"},
	} {
		if got := runtimes.List(tc.in, "or"); got != tc.want {
			t.Errorf("List(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestKubernetesRejectsPodCrashesOfDiskDataWithoutAStorageClass(t *testing.T) {
	rt, _ := runtimes.Default().Demo("kubernetes")
	disk := demo.ClusterSpec{Persistence: demo.PersistDisk}
	bad := runtimes.DemoOptions{Kubernetes: runtimes.KubernetesOptions{Crash: kubernetes.CrashPod}}
	if err := rt.CheckDemo(disk, bad); err == nil {
		t.Fatal("crash: pod with disk data and no storage class accepted")
	}
	for _, ok := range []struct {
		spec demo.ClusterSpec
		k    runtimes.KubernetesOptions
	}{
		{disk, runtimes.KubernetesOptions{Crash: kubernetes.CrashPod, StorageClass: "standard"}},
		{disk, runtimes.KubernetesOptions{Crash: kubernetes.CrashProcess}},
		{disk, runtimes.KubernetesOptions{}},
		{demo.ClusterSpec{Persistence: demo.PersistMemory}, runtimes.KubernetesOptions{Crash: kubernetes.CrashPod}},
	} {
		if err := rt.CheckDemo(ok.spec, runtimes.DemoOptions{Kubernetes: ok.k}); err != nil {
			t.Errorf("%+v %+v: %v", ok.spec, ok.k, err)
		}
	}
}

// The process runtime's starter, through the registry, runs real member
// processes and reports them to OnMembers as they start.
func TestProcessStartsTheDemoThroughTheRegistry(t *testing.T) {
	rt, err := runtimes.Default().Demo("process")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), rt.StartTimeout)
	defer cancel()
	var mu sync.Mutex
	var started []string
	target, err := rt.StartDemo(ctx, demo.ClusterSpec{Nodes: 2, Gateways: 1}, runtimes.DemoOptions{
		Run: "registry", Dir: t.TempDir(), Binary: processtest.Binary(t), Seed: 1, Log: processtest.Log(t),
		OnMembers: func(ms []targets.Member) {
			mu.Lock()
			defer mu.Unlock()
			for _, m := range ms {
				started = append(started, m.ID)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := target.Close(context.Background()); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	if target.Runtime() != "process" || len(target.Members()) != 3 || len(target.ClientAddrs()) != 1 {
		t.Fatalf("target %s: members %v, client addrs %v", target.Runtime(), target.Members(), target.ClientAddrs())
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(started)
	if !slices.Equal(started, []string{"g1", "n1", "n2"}) {
		t.Fatalf("OnMembers saw %v", started)
	}
}

func TestAFailedStartIsANilTarget(t *testing.T) {
	rt, _ := runtimes.Default().Demo("process")
	target, err := rt.StartDemo(context.Background(), demo.ClusterSpec{Nodes: -1}, runtimes.DemoOptions{Run: "bad", Log: processtest.Log(t)})
	if err == nil || target != nil {
		t.Fatalf("target %v, err %v: want a nil Target and an error", target, err)
	}
}
