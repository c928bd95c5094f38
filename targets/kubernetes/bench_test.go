package kubernetes_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/docker"
	k8s "github.com/chaosctl/chaosctl/targets/kubernetes"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

func benchLog() *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.WarnLevel)
	return logrus.NewEntry(l)
}

// startOn starts the demo cluster (3 nodes, 1 gateway, memory) on runtime
// with the static chaosctl of this tree.
func startOn(b *testing.B, opts *k8s.DemoOptions, runtime string) targets.Target {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	spec := demo.ClusterSpec{Nodes: 3, Gateways: 1}
	if err := spec.Validate(); err != nil {
		b.Fatal(err)
	}
	run := fmt.Sprintf("b%d", time.Now().UnixNano())
	var (
		t   targets.Target
		err error
	)
	switch runtime {
	case "kubernetes":
		o := *opts
		o.Run, o.Log, o.Dir = run, benchLog(), b.TempDir()
		t, err = k8s.StartDemo(ctx, spec, o)
	case "docker":
		t, err = docker.StartDemo(ctx, spec, docker.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Run: run, Dir: b.TempDir(), Seed: 1, Log: benchLog()}, Binary: nodeBinary})
	default:
		t, err = processdemo.Start(ctx, spec, processdemo.Options{Run: run, Dir: b.TempDir(), Binary: nodeBinary, Seed: 1, Log: benchLog()})
	}
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// BenchmarkReady measures, in one run, the time from nothing to a ready
// demo cluster (3 nodes, 1 gateway) and back to nothing (the namespace gone)
// on each runtime:
//
//	go test -run '^$' -bench Ready -benchtime 3x ./targets/kubernetes/
func BenchmarkReady(b *testing.B) {
	opts, _ := nodeSetup(b)
	processtest.BenchReady(b, []string{"process", "docker", "kubernetes"}, 3*time.Minute, func(b *testing.B, runtime string) targets.Target {
		return startOn(b, opts, runtime)
	})
}

// BenchmarkMembershipFaults measures on the kubernetes runtime: a crash (pod
// deleted with zero grace, until the API says it is gone), the pod created
// again until it answers /readyz, and an isolation (NetworkPolicy applied
// until a new pod-to-pod connection fails; rejoined until it passes again).
//
//	go test -run '^$' -bench MembershipFaults -benchtime 5x ./targets/kubernetes/
func BenchmarkMembershipFaults(b *testing.B) {
	opts, _ := nodeSetup(b)
	t := startOn(b, opts, "kubernetes")
	defer processtest.CloseTarget(b, t, 3*time.Minute)
	d := t.(*k8s.Demo)
	ctx := context.Background()
	var kill, restart, isolate, rejoin time.Duration
	for range b.N {
		t0 := time.Now()
		if err := d.Kill(ctx, "n2"); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := d.Start(ctx, "n2"); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if err := d.Isolate(ctx, "n2"); err != nil { // returns once blocked
			b.Fatal(err)
		}
		t3 := time.Now()
		if err := d.Rejoin(ctx, "n2"); err != nil { // returns once reachable and ready
			b.Fatal(err)
		}
		t4 := time.Now()
		kill += t1.Sub(t0)
		restart += t2.Sub(t1)
		isolate += t3.Sub(t2)
		rejoin += t4.Sub(t3)
	}
	n := float64(b.N)
	b.ReportMetric(float64(kill.Microseconds())/n/1000, "ms-pod-delete")
	b.ReportMetric(float64(restart.Microseconds())/n/1000, "ms-pod-ready")
	b.ReportMetric(float64(isolate.Microseconds())/n/1000, "ms-policy-blocks")
	b.ReportMetric(float64(rejoin.Microseconds())/n/1000, "ms-policy-removed")
}

// BenchmarkProxyHop measures a GET /readyz of a gateway directly at its pod
// IP and through its client link in the fault-plane pod, in one run: the
// fault plane's cost on the kubernetes runtime.
//
//	go test -run '^$' -bench ProxyHop -benchtime 2000x ./targets/kubernetes/
func BenchmarkProxyHop(b *testing.B) {
	opts, _ := nodeSetup(b)
	t := startOn(b, opts, "kubernetes")
	defer processtest.CloseTarget(b, t, 3*time.Minute)
	var direct string
	for _, m := range t.Members() {
		if m.ID == "g1" {
			direct = m.Addr
		}
	}
	host, _, _ := net.SplitHostPort(direct)
	for name, addr := range map[string]string{"direct": net.JoinHostPort(host, strconv.Itoa(democluster.MemberPort)), "proxied": t.ClientAddrs()[0]} {
		b.Run(name, func(b *testing.B) {
			hc := &http.Client{Timeout: 2 * time.Second}
			defer hc.CloseIdleConnections()
			for range b.N {
				resp, err := hc.Get("http://" + addr + "/readyz")
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}
