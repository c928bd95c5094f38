package democluster_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

func link(from, to string) faultplane.Link { return faultplane.Link{From: from, To: to} }

func TestLinks(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec demo.ClusterSpec
		want []faultplane.Link
	}{
		{
			name: "gateways: client to the gateways, then every member to every other node",
			spec: demo.ClusterSpec{Nodes: 2, Gateways: 1},
			want: []faultplane.Link{
				link("client", "g1"),
				link("g1", "n1"), link("g1", "n2"),
				link("n1", "n2"), link("n2", "n1"),
			},
		},
		{
			name: "no gateway: the client reaches the store nodes",
			spec: demo.ClusterSpec{Nodes: 3, Gateways: 0},
			want: []faultplane.Link{
				link("client", "n1"), link("client", "n2"), link("client", "n3"),
				link("n1", "n2"), link("n1", "n3"), link("n2", "n1"), link("n2", "n3"), link("n3", "n1"), link("n3", "n2"),
			},
		},
		{
			name: "two gateways",
			spec: demo.ClusterSpec{Nodes: 1, Gateways: 2},
			want: []faultplane.Link{link("client", "g1"), link("client", "g2"), link("g1", "n1"), link("g2", "n1")},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := democluster.Links(tc.spec)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("Links = %v, want %v", got, tc.want)
			}
			var peers []faultplane.Link
			for _, l := range tc.want {
				if l.From != faultplane.ClientSide {
					peers = append(peers, l)
				}
			}
			if got := democluster.PeerLinks(tc.spec); !slices.Equal(got, peers) {
				t.Fatalf("PeerLinks = %v, want %v", got, peers)
			}
		})
	}
}

func TestWorkloadSideAndStartOrder(t *testing.T) {
	s := demo.ClusterSpec{Nodes: 2, Gateways: 2}
	if got := democluster.WorkloadSide(s); !slices.Equal(got, []string{"g1", "g2"}) {
		t.Fatalf("WorkloadSide = %v", got)
	}
	if got := democluster.StartOrder(s); !slices.Equal(got, []string{"n1", "n2", "g1", "g2"}) {
		t.Fatalf("StartOrder = %v: store nodes first", got)
	}
	s.Gateways = 0
	if got := democluster.WorkloadSide(s); !slices.Equal(got, []string{"n1", "n2"}) {
		t.Fatalf("WorkloadSide without gateways = %v", got)
	}
}

func wiring() democluster.Wiring {
	return democluster.Wiring{
		Listen:  func(id string) string { return "listen-" + id },
		Peer:    func(from, to string) string { return fmt.Sprintf("%s>%s", from, to) },
		DataDir: func(id string) string { return "/data/" + id },
	}
}

func TestMemberConfig(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3, Gateways: 1, Persistence: demo.PersistDisk}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	cfgs := democluster.MemberConfigs(spec, 100, wiring())
	if len(cfgs) != 4 {
		t.Fatalf("%d configs, want 4", len(cfgs))
	}
	for i, id := range spec.MemberIDs() {
		c := cfgs[i]
		if c.ID != id || c.Listen != "listen-"+id || c.Seed != 100+int64(i) || c.Role != demo.RoleOf(id) {
			t.Fatalf("config %d = %+v", i, c)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("config of %s invalid: %v", id, err)
		}
		one, err := democluster.MemberConfig(spec, id, 100, wiring())
		if err != nil || one.Seed != c.Seed || one.Listen != c.Listen {
			t.Fatalf("MemberConfig(%s) = %+v, %v; MemberConfigs gave %+v", id, one, err, c)
		}
	}
	g1, n2 := cfgs[0], cfgs[2]
	if g1.DataDir != "" || n2.DataDir != "/data/n2" {
		t.Fatalf("data dirs: g1 %q, n2 %q: only store nodes have one", g1.DataDir, n2.DataDir)
	}
	wantPeers := map[string]string{"n1": "n2>n1", "n3": "n2>n3"}
	if len(n2.Peers) != 2 || n2.Peers["n1"] != wantPeers["n1"] || n2.Peers["n3"] != wantPeers["n3"] {
		t.Fatalf("n2's peers = %v, want %v (every other store node, through the wiring)", n2.Peers, wantPeers)
	}
	if len(g1.Peers) != 3 || g1.Peers["n1"] != "g1>n1" {
		t.Fatalf("g1's peers = %v", g1.Peers)
	}
	if _, err := democluster.MemberConfig(spec, "n9", 0, wiring()); err == nil || err.Error() != `no member "n9"; members are [g1 n1 n2 n3]` {
		t.Fatalf("unknown member: err = %v", err)
	}
}

func TestContainerWiringReachesPeersThroughTheirLinksPorts(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 2, Gateways: 1}
	links := democluster.Links(spec) // client>g1, g1>n1, g1>n2, n1>n2, n2>n1
	w := democluster.ContainerWiring("plane", links)
	if got := w.Peer("n2", "n1"); got != "plane:20004" {
		t.Fatalf("n2's peer n1 = %q, want the fifth link's port", got)
	}
	if w.Listen("g1") != "0.0.0.0:7000" || w.DataDir("n1") != democluster.MemberDataDir {
		t.Fatalf("listen %q, data dir %q", w.Listen("g1"), w.DataDir("n1"))
	}
	if democluster.OrDefault(0, time.Second) != time.Second || democluster.OrDefault(-1, time.Second) != time.Second || democluster.OrDefault(time.Minute, time.Second) != time.Minute {
		t.Fatal("OrDefault keeps positive durations only")
	}
}

func TestRuntimeOptionsCompleteChecksAndDefaults(t *testing.T) {
	var o democluster.RuntimeOptions
	if err := o.Complete("docker", time.Minute, time.Second); err == nil || err.Error() != "docker runtime: DemoOptions.Log is required" {
		t.Fatalf("no log: err = %v", err)
	}
	o.Log = logrus.NewEntry(logrus.New())
	if err := o.Complete("kubernetes", time.Minute, time.Second); err == nil || err.Error() != "kubernetes runtime: DemoOptions.Run is required" {
		t.Fatalf("no run: err = %v", err)
	}
	o.Run, o.StopGrace = "r1", 3*time.Second
	if err := o.Complete("docker", time.Minute, time.Second); err != nil {
		t.Fatal(err)
	}
	if o.LogLevel != democluster.DefaultLogLevel || o.ReadyTimeout != time.Minute || o.StopGrace != 3*time.Second {
		t.Fatalf("completed options %+v: defaults fill only what is unset", o)
	}
}

func TestCloseOnceRunsTheCloseOnce(t *testing.T) {
	var c democluster.CloseOnce
	calls := 0
	closeFn := func() error { calls++; return errors.New("close failed") }
	if err := c.Do(closeFn); err == nil || calls != 1 {
		t.Fatalf("first Do: err %v, %d calls; want the close's error", err, calls)
	}
	if err := c.Do(closeFn); err != nil || calls != 1 {
		t.Fatalf("second Do: err %v, %d calls; want nil without a call", err, calls)
	}
}
