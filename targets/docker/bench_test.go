package docker_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/docker"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
	"github.com/chaosctl/chaosctl/targets/processdemo"
)

// startOn starts the demo cluster (3 nodes, 1 gateway) on runtime with the
// static chaosctl as every member.
func startOn(b *testing.B, runtime string) targets.Target {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	spec := smallSpec(3, demo.PersistDisk)
	run := fmt.Sprintf("b%d", time.Now().UnixNano())
	var (
		t   targets.Target
		err error
	)
	switch runtime {
	case "docker":
		t, err = docker.StartDemo(ctx, spec, docker.DemoOptions{RuntimeOptions: democluster.RuntimeOptions{Run: run, Dir: b.TempDir(), Seed: 1, Log: processtest.Log(b)}, Binary: sharedBinary(b)})
	default:
		t, err = processdemo.Start(ctx, spec, processdemo.Options{Run: run, Dir: b.TempDir(), Binary: sharedBinary(b), Seed: 1, Log: processtest.Log(b)})
	}
	if err != nil {
		b.Fatal(err)
	}
	return t
}

// BenchmarkReady measures the time from nothing to a ready demo cluster
// (3 nodes, 1 gateway, disk) and back to nothing, on each runtime; compare
// the two in one run: go test -run '^$' -bench Ready -benchtime 3x ./targets/docker/
func BenchmarkReady(b *testing.B) {
	if _, err := docker.Connect(context.Background()); err != nil {
		b.Skipf("no Docker engine: %v", err)
	}
	sharedBinary(b)
	processtest.BenchReady(b, []string{"process", "docker"}, time.Minute, func(b *testing.B, runtime string) targets.Target {
		return startOn(b, runtime)
	})
}

// BenchmarkMembershipFaults measures applying and reverting a pause and a
// kill of one store node on each runtime. Apply ends when the runtime says
// it is done (the container is frozen or stopped); revert ends when the
// member answers /readyz again.
//
//	go test -run '^$' -bench MembershipFaults -benchtime 5x ./targets/docker/
func BenchmarkMembershipFaults(b *testing.B) {
	if _, err := docker.Connect(context.Background()); err != nil {
		b.Skipf("no Docker engine: %v", err)
	}
	sharedBinary(b)
	for _, runtime := range []string{"process", "docker"} {
		b.Run(runtime, func(b *testing.B) {
			t := startOn(b, runtime)
			defer processtest.CloseTarget(b, t, time.Minute)
			ctx := context.Background()
			var addr string
			for _, m := range t.Members() {
				if m.ID == "n2" {
					addr = m.Addr
				}
			}
			hc := &http.Client{Timeout: 200 * time.Millisecond}
			var pauseApply, pauseRevert, killApply, killRevert time.Duration
			for range b.N {
				t0 := time.Now()
				if err := t.Pause(ctx, "n2"); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if err := t.Resume(ctx, "n2"); err != nil {
					b.Fatal(err)
				}
				waitAnswers(b, hc, addr)
				t2 := time.Now()
				if err := t.Kill(ctx, "n2"); err != nil {
					b.Fatal(err)
				}
				t3 := time.Now()
				if err := t.Start(ctx, "n2"); err != nil {
					b.Fatal(err)
				}
				t4 := time.Now()
				pauseApply += t1.Sub(t0)
				pauseRevert += t2.Sub(t1)
				killApply += t3.Sub(t2)
				killRevert += t4.Sub(t3)
				for _, m := range t.Members() {
					if m.ID == "n2" {
						addr = m.Addr // a restarted container may get a new address
					}
				}
			}
			n := float64(b.N)
			b.ReportMetric(float64(pauseApply.Microseconds())/n/1000, "ms-pause")
			b.ReportMetric(float64(pauseRevert.Microseconds())/n/1000, "ms-unpause")
			b.ReportMetric(float64(killApply.Microseconds())/n/1000, "ms-kill")
			b.ReportMetric(float64(killRevert.Microseconds())/n/1000, "ms-restart")
		})
	}
}

// waitAnswers polls addr's /readyz until it answers 200 (bounded).
func waitAnswers(b *testing.B, hc *http.Client, addr string) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := hc.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
	}
	b.Fatalf("%s does not answer within 30s", addr)
}
