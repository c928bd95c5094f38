package docker_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/client"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/ring"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/docker/dockertest"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

var (
	sharedBinOnce sync.Once
	sharedBin     string
	sharedBinErr  error
)

// sharedBinary builds the static chaosctl once for the demo tests; its
// image (tagged by the binary's hash) is removed by TestMain.
func sharedBinary(t testing.TB) string {
	t.Helper()
	sharedBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "chaosctl-docker-test-")
		if err != nil {
			sharedBinErr = err
			return
		}
		sharedBin = dockertest.BuildChaosctl(t, dir, "0")
	})
	if sharedBinErr != nil {
		t.Fatal(sharedBinErr)
	}
	return sharedBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedBin != "" {
		if cli, err := docker.Connect(context.Background()); err == nil {
			if ref, err := docker.ImageRefFor(sharedBin, ""); err == nil {
				_, _ = cli.ImageRemove(context.Background(), ref, imageRemoveOptions())
			}
			_ = cli.Close()
		}
		_ = os.RemoveAll(filepath.Dir(sharedBin))
	}
	os.Exit(code)
}

// startDemo starts the demo cluster on docker for a test and checks, when
// the test ends, that nothing labelled with its run is left.
func startDemo(t *testing.T, spec demo.ClusterSpec) (*docker.Demo, *client.Client, string) {
	t.Helper()
	return startDemoWith(t, spec, docker.DemoOptions{})
}

// startDemoWith is startDemo with options beside the run's own.
func startDemoWith(t *testing.T, spec demo.ClusterSpec, opts docker.DemoOptions) (*docker.Demo, *client.Client, string) {
	t.Helper()
	cli := engine(t)
	run := fmt.Sprintf("t%d", time.Now().UnixNano())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	opts.RuntimeOptions = democluster.RuntimeOptions{Run: run, Dir: t.TempDir(), Seed: 1, Log: processtest.Log(t)}
	opts.Binary = sharedBinary(t)
	d, err := docker.StartDemo(ctx, spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := d.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
		assertNothingLeft(t, cli, run)
	})
	return d, cli, run
}

func assertNothingLeft(t *testing.T, cli *client.Client, run string) {
	t.Helper()
	left, err := docker.Leftovers(context.Background(), cli)
	if err != nil {
		t.Fatal(err)
	}
	if len(left[run]) > 0 {
		t.Errorf("run %s left %v", run, left[run])
	}
}

func smallSpec(nodes int, persistence string) demo.ClusterSpec {
	s := demo.DefaultClusterSpec()
	s.Nodes, s.Gateways = nodes, 1
	n := min(3, nodes)
	s.Replication = demo.Replication{N: n, W: n/2 + 1, R: n/2 + 1}
	s.Persistence = persistence
	return s
}

// httpClient is generous: these tests check what is served, not how fast,
// and run beside other packages' clusters on a 2-core machine.
var httpClient = &http.Client{Timeout: 10 * time.Second}

func put(t *testing.T, base, key, value string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://"+base+"/kv/"+key, strings.NewReader(value))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("PUT %s: %v", key, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT %s: status %d", key, resp.StatusCode)
	}
}

// keyAvoiding returns a key named after prefix whose gateway goes first to a
// node other than avoid. A write sent to a frozen or cut-off node may have
// applied, so the gateway answers it "unknown" (504) rather than retrying it
// elsewhere; a key whose first choice is another node shows that a majority
// keeps serving.
func keyAvoiding(t *testing.T, spec demo.ClusterSpec, prefix, avoid string) string {
	t.Helper()
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := ring.New(spec.NodeIDs(), spec.VNodes)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if key := fmt.Sprintf("%s-%d", prefix, i); r.Preference(key, spec.Replication.N)[0] != avoid {
			return key
		}
	}
}

func get(base, key string) (string, int, error) {
	resp, err := httpClient.Get("http://" + base + "/kv/" + key)
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), resp.StatusCode, err
}

func TestDemoOnDockerServesThroughTheFaultPlaneAndPublishesOnlyLoopback(t *testing.T) {
	d, cli, run := startDemo(t, smallSpec(3, demo.PersistMemory))
	ctx := context.Background()
	clients := d.ClientAddrs()
	if len(clients) != 1 || !strings.HasPrefix(clients[0], "127.0.0.1:") {
		t.Fatalf("client addresses %v, want one on 127.0.0.1", clients)
	}
	put(t, clients[0], "k1", "v1")
	if v, code, err := get(clients[0], "k1"); err != nil || code != 200 || v != "v1" {
		t.Fatalf("GET k1 = %q %d %v", v, code, err)
	}
	// Every link has a proxy in the plane container.
	if got, want := len(d.Plane().Links()), 1+3*2+1*3; got != want {
		t.Fatalf("%d proxies, want %d: %v", got, want, d.Plane().Links())
	}
	cs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", docker.LabelRun+"="+run))})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 5 {
		t.Fatalf("%d containers, want 4 members and the fault plane", len(cs))
	}
	for _, c := range cs {
		member := c.Labels[docker.LabelMember]
		for _, p := range c.Ports {
			if p.PublicPort == 0 {
				continue
			}
			if member != docker.LabelPlane {
				t.Errorf("member %s publishes port %d", member, p.PrivatePort)
			}
			if p.IP != "127.0.0.1" {
				t.Errorf("%s publishes %d on %s, want 127.0.0.1 only", member, p.PrivatePort, p.IP)
			}
		}
		if c.Image != d.Image() {
			t.Errorf("%s runs image %s, want %s", member, c.Image, d.Image())
		}
	}
	ownCPUCgroups(t, cli, cs)
	// Members answer at their addresses on the run's network.
	for _, m := range d.Members() {
		resp, err := httpClient.Get("http://" + m.Addr + "/readyz")
		if err != nil {
			t.Fatalf("%s at %s: %v", m.ID, m.Addr, err)
		}
		resp.Body.Close()
	}
	// A link fault through the plane: reject g1→n* and the gateway fails.
	for _, n := range []string{"n1", "n2", "n3"} {
		px, err := d.Plane().Client().Proxy(faultplane.ProxyName(run, faultplane.Link{From: "g1", To: n}))
		if err != nil {
			t.Fatal(err)
		}
		if err := px.Disable(); err != nil {
			t.Fatal(err)
		}
	}
	if _, code, err := get(clients[0], "k1"); err == nil && code == 200 {
		t.Fatal("GET through a gateway cut from every node succeeded")
	}
}

// ownCPUCgroups checks that, where the engine manages cgroups itself
// (cgroupfs), every container is a CPU cgroup of its own at the top, not one
// of many under Docker's shared /docker group (whose weight is a single
// process's): on a busy host the cluster must get the share its processes
// would get.
func ownCPUCgroups(t *testing.T, cli *client.Client, cs []container.Summary) {
	t.Helper()
	ctx := context.Background()
	info, err := cli.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.CgroupDriver != "cgroupfs" {
		t.Logf("cgroup driver %s: containers keep the engine's cgroup parent", info.CgroupDriver)
		return
	}
	for _, c := range cs {
		in, err := cli.ContainerInspect(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if in.HostConfig.CgroupParent != "/" {
			t.Errorf("%s: cgroup parent %q, want \"/\"", c.Labels[docker.LabelMember], in.HostConfig.CgroupParent)
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", in.State.Pid))
		if err != nil {
			t.Logf("%s: %v (an engine on another host): its cgroup is not checked", c.Labels[docker.LabelMember], err)
			continue
		}
		if got := cpuCgroup(string(b)); got != "/"+c.ID {
			t.Errorf("%s: CPU cgroup %q, want %q", c.Labels[docker.LabelMember], got, "/"+c.ID)
		}
	}
}

// cpuCgroup returns the CPU controller's path in a /proc/PID/cgroup text
// (the cpu line of cgroup v1, else the unified hierarchy's).
func cpuCgroup(procCgroup string) string {
	unified := ""
	for _, line := range strings.Split(strings.TrimSpace(procCgroup), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[1] == "" {
			unified = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "cpu" {
				return parts[2]
			}
		}
	}
	return unified
}

func TestPausedContainerTimesOutCallersAndRecoversOnUnpause(t *testing.T) {
	spec := smallSpec(3, demo.PersistMemory)
	d, _, _ := startDemo(t, spec)
	ctx := context.Background()
	addr := memberAddr(t, d, "n2")
	if err := d.Pause(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Timeout: 300 * time.Millisecond}
	_, err := c.Get("http://" + addr + "/healthz")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("GET a paused member: %v, want a timeout", err)
	}
	// The cluster still serves with a majority.
	put(t, d.ClientAddrs()[0], keyAvoiding(t, spec, "during-pause", "n2"), "x")
	if err := d.Resume(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("after unpause: %v", err)
	}
	resp.Body.Close()
	// Idempotent.
	if err := d.Resume(ctx, "n2"); err != nil {
		t.Fatal(err)
	}
}

func memberAddr(t *testing.T, d *docker.Demo, id string) string {
	t.Helper()
	for _, m := range d.Members() {
		if m.ID == id {
			return m.Addr
		}
	}
	t.Fatalf("no member %s", id)
	return ""
}

// A single-node cluster keeps one copy of each key: what survives a kill is
// what the node's own disk kept.
func TestKilledContainerRestartsWithItsDataOnDisk(t *testing.T) {
	for _, persistence := range []string{demo.PersistDisk, demo.PersistMemory} {
		t.Run(persistence, func(t *testing.T) {
			d, _, _ := startDemo(t, smallSpec(1, persistence))
			ctx := context.Background()
			front := d.ClientAddrs()[0]
			for i := range 20 {
				put(t, front, fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
			}
			linksDial(t, d, "n1", memberAddr(t, d, "n1"))
			// Reads on new connections go on during the kill, so the
			// fault plane dials n1 while it vanishes.
			stop := make(chan struct{})
			reading := make(chan struct{})
			go func() {
				defer close(reading)
				c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
				for {
					select {
					case <-stop:
						return
					default:
					}
					if resp, err := c.Get("http://" + front + "/kv/k1"); err == nil {
						resp.Body.Close()
					}
				}
			}()
			killStart := time.Now()
			err := d.Kill(ctx, "n1")
			close(stop)
			<-reading
			if err != nil {
				t.Fatal(err)
			}
			// A proxy re-pointed after the container vanished waited for a
			// dial to its old address: a minute.
			if took := time.Since(killStart); took > 20*time.Second {
				t.Fatalf("kill took %s with traffic flowing", took)
			}
			linksDial(t, d, "n1", docker.DownUpstream)
			if _, code, err := get(front, "k1"); err == nil && code == 200 {
				t.Fatal("read served with the only node killed")
			}
			if err := d.Start(ctx, "n1"); err != nil {
				t.Fatal(err)
			}
			linksDial(t, d, "n1", memberAddr(t, d, "n1"))
			found := 0
			testkit.Eventually(t, 10*time.Second, "the gateway reaches the restarted node", func() bool {
				_, code, err := get(front, "k0")
				return err == nil && (code == 200 || code == 404)
			})
			for i := range 20 {
				v, code, err := get(front, fmt.Sprintf("k%d", i))
				if err != nil {
					t.Fatal(err)
				}
				if code == 200 && v == fmt.Sprintf("v%d", i) {
					found++
				}
			}
			switch persistence {
			case demo.PersistDisk:
				if found != 20 {
					t.Fatalf("disk: %d of 20 acknowledged writes survived the kill", found)
				}
			case demo.PersistMemory:
				if found != 0 {
					t.Fatalf("memory: %d of 20 writes survived a kill; the node kept no disk", found)
				}
			}
		})
	}
}

func TestIsolateDisconnectsTheContainerAndRejoinRestoresIt(t *testing.T) {
	spec := smallSpec(3, demo.PersistMemory)
	d, _, _ := startDemo(t, spec)
	ctx := context.Background()
	addr := memberAddr(t, d, "n3")
	linksDial(t, d, "n3", addr)
	if err := d.Isolate(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	linksDial(t, d, "n3", docker.DownUpstream)
	c := &http.Client{Timeout: 500 * time.Millisecond}
	if resp, err := c.Get("http://" + addr + "/healthz"); err == nil {
		resp.Body.Close()
		t.Fatal("an isolated member still answers at its address")
	}
	// The proxy from g1 to n3 finds nobody behind it.
	front := d.ClientAddrs()[0]
	put(t, front, keyAvoiding(t, spec, "while-isolated", "n3"), "x") // a majority remains
	if err := d.Isolate(ctx, "n3"); err != nil {
		t.Fatalf("second isolate: %v", err)
	}
	if err := d.Rejoin(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	linksDial(t, d, "n3", memberAddr(t, d, "n3"))
	resp, err := c.Get("http://" + memberAddr(t, d, "n3") + "/readyz")
	if err != nil {
		t.Fatalf("after rejoin: %v", err)
	}
	resp.Body.Close()
	if err := d.Rejoin(ctx, "n3"); err != nil {
		t.Fatalf("second rejoin: %v", err)
	}
}

// linksDial checks that every proxy of a link to member id dials want: the
// member's address on the run's network while it runs there (never its
// name, which toxiproxy would look up in dockerd's DNS server at every
// connection), else the refusing address.
func linksDial(t *testing.T, d *docker.Demo, id, want string) {
	t.Helper()
	proxies, err := d.Plane().Client().Proxies()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range d.Plane().Links() {
		if l.To != id {
			continue
		}
		n++
		mine := d.Plane().Proxy(l)
		if mine == nil {
			t.Fatalf("no proxy for %s", l)
		}
		px := proxies[mine.Name]
		if px == nil {
			t.Fatalf("no proxy for %s", l)
		}
		if px.Upstream != want {
			t.Errorf("proxy of %s dials %s, want %s", l, px.Upstream, want)
		}
	}
	if n == 0 {
		t.Fatalf("no link to %s", id)
	}
}

func imageRemoveOptions() image.RemoveOptions { return image.RemoveOptions{PruneChildren: true} }
