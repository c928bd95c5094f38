package faultplane_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/faultplane"
)

const run = "t"

// startPlane starts an embedded toxiproxy server for the test.
func startPlane(t *testing.T) *faultplane.Plane {
	t.Helper()
	log := logrus.New()
	log.SetOutput(io.Discard)
	plane, err := faultplane.StartEmbedded(context.Background(), run, logrus.NewEntry(log))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = plane.Close() })
	return plane
}

// startGreeter serves TCP on 127.0.0.1: each connection is greeted with
// name and then echoed, so a test sees which upstream a proxy reaches.
func startGreeter(t *testing.T, name string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				if _, err := io.WriteString(c, name+"\n"); err != nil {
					return
				}
				_, _ = io.Copy(c, c)
			})
		}
	})
	return ln.Addr().String()
}

// addLink puts a proxy in front of upstream for link from→to.
func addLink(t *testing.T, plane *faultplane.Plane, from, to, upstream string) faultplane.Link {
	t.Helper()
	l := faultplane.Link{From: from, To: to}
	if _, err := plane.AddProxy(l, "127.0.0.1:0", upstream); err != nil {
		t.Fatal(err)
	}
	return l
}

// enabled reads link l's proxy's state from the toxiproxy server.
func enabled(t *testing.T, plane *faultplane.Plane, l faultplane.Link) bool {
	t.Helper()
	px, err := plane.Client().Proxy(faultplane.ProxyName(run, l))
	if err != nil {
		t.Errorf("read proxy %s: %v", l, err)
		return false
	}
	return px.Enabled
}

// greeting connects through link l's proxy and returns the upstream's
// greeting, "refused" when the proxy refuses the connection, or "broken".
func greeting(plane *faultplane.Plane, l faultplane.Link) string {
	c, err := net.DialTimeout("tcp", plane.Addr(l), 5*time.Second)
	if errors.Is(err, syscall.ECONNREFUSED) {
		return "refused"
	}
	if err != nil {
		return "broken: " + err.Error()
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return "broken: " + err.Error()
	}
	return string(buf[:n])
}

func expectGreeting(t *testing.T, plane *faultplane.Plane, l faultplane.Link, when, want string) {
	t.Helper()
	if got := greeting(plane, l); got != want {
		t.Errorf("%s: connection through %s: %q, want %q", when, l, got, want)
	}
}

func expectHolders(t *testing.T, plane *faultplane.Plane, l faultplane.Link, when string, want ...string) {
	t.Helper()
	if got := plane.HeldBy(l); !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s: %s is held by %q, want %q", when, l, got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestPartitionAndHoldReleaseOnlyTheirOwn(t *testing.T) {
	plane := startPlane(t)
	l := addLink(t, plane, "n1", "n2", startGreeter(t, "n2"))
	expectGreeting(t, plane, l, "before any hold", "n2\n")

	must(t, plane.Disable(l, "partition a"))
	must(t, plane.Disable(l, "partition a")) // one hold however often
	must(t, plane.Disable(l, "member gone"))
	expectHolders(t, plane, l, "two owners", "member gone", "partition a")
	expectGreeting(t, plane, l, "held by two", "refused")

	must(t, plane.Enable(l, "partition a"))
	expectHolders(t, plane, l, "partition released", "member gone")
	expectGreeting(t, plane, l, "partition released, member still gone", "refused")
	must(t, plane.Enable(l, "partition a")) // a retried revert does nothing
	expectGreeting(t, plane, l, "partition released twice", "refused")

	must(t, plane.Enable(l, "member gone"))
	expectHolders(t, plane, l, "both released")
	if !enabled(t, plane, l) {
		t.Fatal("both released: the proxy is disabled")
	}
	expectGreeting(t, plane, l, "both released", "n2\n")
}

func TestResetLeavesHeldLinksDisabled(t *testing.T) {
	plane := startPlane(t)
	up := startGreeter(t, "n2")
	held := addLink(t, plane, "n1", "n2", up)
	free := addLink(t, plane, "n3", "n2", up)
	other := addLink(t, plane, "n3", "n1", up) // not a link of n2

	// An open connection through each link.
	conns := map[faultplane.Link]net.Conn{}
	for _, l := range []faultplane.Link{held, free, other} {
		c, err := net.Dial("tcp", plane.Addr(l))
		must(t, err)
		t.Cleanup(func() { c.Close() })
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 3)); err != nil {
			t.Fatalf("greeting through %s: %v", l, err)
		}
		conns[l] = c
	}

	must(t, plane.Disable(held, "partition a"))
	must(t, plane.ResetLinks("n2"))
	expectGreeting(t, plane, held, "reset while a partition holds it", "refused")
	expectHolders(t, plane, held, "after the reset", "partition a")
	expectGreeting(t, plane, free, "after the reset", "n2\n")
	expectHolders(t, plane, free, "after the reset")

	// The reset closed the free link's connection and left the other
	// member's link alone.
	if _, err := conns[free].Read(make([]byte, 1)); err == nil {
		t.Errorf("the connection through %s survived the reset", free)
	}
	if _, err := conns[other].Write([]byte("x")); err != nil {
		t.Fatalf("write through %s: %v", other, err)
	}
	if _, err := io.ReadFull(conns[other], make([]byte, 1)); err != nil {
		t.Errorf("the connection through %s, not a link of n2, was closed: %v", other, err)
	}

	must(t, plane.Enable(held, "partition a"))
	expectGreeting(t, plane, held, "partition reverted after the reset", "n2\n")
}

func TestRetargetReleasesOnlyItsHold(t *testing.T) {
	plane := startPlane(t)
	l := addLink(t, plane, "n1", "n2", startGreeter(t, "old"))
	moved := startGreeter(t, "new")

	must(t, plane.Disable(l, "member gone"))
	must(t, plane.Disable(l, "partition a"))
	must(t, plane.Retarget(l, moved, "member gone"))
	expectHolders(t, plane, l, "retargeted", "partition a")
	expectGreeting(t, plane, l, "retargeted while a partition holds it", "refused")

	must(t, plane.Enable(l, "partition a"))
	expectGreeting(t, plane, l, "partition reverted", "new\n")

	// The only holder: Retarget enables the proxy at its new upstream.
	must(t, plane.Disable(l, "member gone"))
	must(t, plane.Retarget(l, moved, "member gone"))
	expectGreeting(t, plane, l, "retargeted by the only holder", "new\n")
	// Not a holder: only the upstream changes.
	must(t, plane.Retarget(l, moved, "member gone"))
	expectGreeting(t, plane, l, "retargeted again", "new\n")
}

func TestProxyDisabledByOthersStaysDisabled(t *testing.T) {
	plane := startPlane(t)
	l := addLink(t, plane, "n1", "n2", startGreeter(t, "n2"))
	px, err := plane.Client().Proxy(faultplane.ProxyName(run, l))
	must(t, err)
	must(t, px.Disable()) // not chaosctl's doing

	must(t, plane.Disable(l, "partition a"))
	must(t, plane.Enable(l, "partition a"))
	must(t, plane.ResetLinks("n2"))
	if enabled(t, plane, l) {
		t.Fatal("chaosctl enabled a proxy it did not disable")
	}
}

func TestFailedEnableIsRetried(t *testing.T) {
	plane := startPlane(t)
	l := addLink(t, plane, "n1", "n2", startGreeter(t, "n2"))
	must(t, plane.Disable(l, "partition a"))

	// Take the disabled proxy's port, so toxiproxy cannot listen on it again.
	var squatter net.Listener
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if squatter, err = net.Listen("tcp", plane.Addr(l)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the disabled proxy's port stays taken: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := plane.Enable(l, "partition a")
	if err == nil {
		squatter.Close()
		t.Fatal("Enable succeeded on a taken port")
	}
	expectHolders(t, plane, l, "after the failed enable", "partition a")

	squatter.Close()
	must(t, plane.Enable(l, "partition a"))
	expectHolders(t, plane, l, "after the retry")
	expectGreeting(t, plane, l, "after the retry", "n2\n")
}

func TestHoldErrors(t *testing.T) {
	plane := startPlane(t)
	l := addLink(t, plane, "n1", "n2", startGreeter(t, "n2"))
	unknown := faultplane.Link{From: "n1", To: "n9"}
	for name, err := range map[string]error{
		"Disable":  plane.Disable(unknown, "a"),
		"Retarget": plane.Retarget(unknown, "127.0.0.1:1", "a"),
	} {
		if err == nil || err.Error() != "fault plane: no proxy for link n1→n9" {
			t.Errorf("%s of a link without a proxy: error %v", name, err)
		}
	}
	must(t, plane.Enable(unknown, "a")) // nothing held, nothing to do

	// After Close the proxies are gone: releasing a hold has nothing to do.
	must(t, plane.Disable(l, "partition a"))
	must(t, plane.Close())
	must(t, plane.Enable(l, "partition a"))
}

func TestConcurrentHolders(t *testing.T) {
	plane := startPlane(t)
	up := startGreeter(t, "n2")
	links := []faultplane.Link{addLink(t, plane, "n1", "n2", up), addLink(t, plane, "n3", "n2", up)}
	const holders, rounds = 6, 8
	var wg sync.WaitGroup
	for i := range holders {
		owner := fmt.Sprintf("owner %d", i)
		wg.Go(func() {
			for r := range rounds {
				l := links[(i+r)%len(links)]
				if err := plane.Disable(l, owner); err != nil {
					t.Errorf("%s: disable %s: %v", owner, l, err)
					return
				}
				// While this owner holds the link, nobody may enable it.
				if px, err := plane.Client().Proxy(faultplane.ProxyName(run, l)); err != nil || px.Enabled {
					t.Errorf("%s holds %s, yet the proxy is enabled (read error %v)", owner, l, err)
				}
				if err := plane.Enable(l, owner); err != nil {
					t.Errorf("%s: enable %s: %v", owner, l, err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range rounds {
			if err := plane.ResetLinks("n2"); err != nil {
				t.Errorf("reset: %v", err)
				return
			}
		}
	})
	wg.Wait()
	for _, l := range links {
		expectHolders(t, plane, l, "every holder done")
		if !enabled(t, plane, l) {
			t.Errorf("every holder done: %s is disabled", l)
		}
		expectGreeting(t, plane, l, "every holder done", "n2\n")
	}
}
