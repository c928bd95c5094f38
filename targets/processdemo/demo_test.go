package processdemo_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

func TestMain(m *testing.M) { processtest.Main(m) }

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func ready(addr string) bool {
	c := &http.Client{Timeout: time.Second}
	defer c.CloseIdleConnections()
	resp, err := c.Get("http://" + addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func TestProcessDemoWithoutClientPortsProxiesOnlyTheWorkloadSide(t *testing.T) {
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 2, Gateways: 1}, processdemo.Options{Run: "plain"})
	if got := d.ClientAddrs(); len(got) != 1 || got[0] != d.ClientAddr("g1") || got[0] == "" {
		t.Fatalf("ClientAddrs %v, ClientAddr(g1) %q", got, d.ClientAddr("g1"))
	}
	if a := d.ClientAddr("n1"); a != "" {
		t.Fatalf("n1 has a client proxy %s without ClientPorts", a)
	}
	if slices.Contains(d.Plane().Links(), faultplane.Link{From: faultplane.ClientSide, To: "n1"}) {
		t.Fatal("the plane has a client>n1 link without ClientPorts")
	}
}

func TestProcessDemoClientPortsPutEveryMemberBehindTheFaultPlane(t *testing.T) {
	port := freePort(t)
	d := processtest.StartDemo(t, demo.ClusterSpec{Nodes: 2, Gateways: 1}, processdemo.Options{
		Run:         "clientports",
		ClientPorts: map[string]int{"g1": 0, "n1": port, "n2": 0},
	})
	n1 := d.ClientAddr("n1")
	if _, p, _ := net.SplitHostPort(n1); p != strconv.Itoa(port) {
		t.Fatalf("client proxy of n1 listens on %s, want port %d", n1, port)
	}
	for _, id := range []string{"g1", "n1", "n2"} {
		m := slices.IndexFunc(d.Members(), func(m targets.Member) bool { return m.ID == id })
		if a := d.ClientAddr(id); a == "" || a == d.Members()[m].Addr || !ready(a) {
			t.Fatalf("client address of %s: %q (member listens on %s)", id, a, d.Members()[m].Addr)
		}
	}
	if got := d.ClientAddrs(); len(got) != 1 || got[0] != d.ClientAddr("g1") {
		t.Fatalf("ClientAddrs %v: the workload still talks to the gateways only", got)
	}
	// The client proxy is a link like any other: cutting it cuts the member off.
	px := d.Plane().Proxy(faultplane.Link{From: faultplane.ClientSide, To: "n1"})
	if err := px.Disable(); err != nil {
		t.Fatal(err)
	}
	if ready(n1) {
		t.Fatal("n1 answers through its disabled client proxy")
	}
	if err := px.Enable(); err != nil {
		t.Fatal(err)
	}
	testkit.Eventually(t, 5*time.Second, "n1 answers through its client proxy again", func() bool { return ready(n1) })
}

func TestProcessDemoClientPortTakenIsPortInUseAndStartsNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := processdemo.Start(ctx, demo.ClusterSpec{Nodes: 2, Gateways: 1}, processdemo.Options{
		Run: "taken", Dir: t.TempDir(), Binary: processtest.Binary(t), Log: processtest.Log(t),
		ClientPorts: map[string]int{"g1": 0, "n1": port, "n2": 0},
	})
	var pe *process.PortInUseError
	if !errors.As(err, &pe) || pe.Member != "n1" {
		if d != nil {
			_ = d.Close(ctx)
		}
		t.Fatalf("err = %v, want a PortInUseError for n1", err)
	}
}
