package process_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/childproc"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/democluster"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

func TestMain(m *testing.M) { processtest.Main(m) }

// startCluster starts spec as real processes. With proxied, every node→node
// link goes through an embedded toxiproxy proxy, returned in the plane. The
// cleanup stops everything and asserts no member process is left.
func startCluster(t *testing.T, spec demo.ClusterSpec, proxied bool) (*process.Cluster, *faultplane.Plane) {
	t.Helper()
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts := process.Options{Binary: processtest.Binary(t), Dir: t.TempDir(), Log: processtest.Log(t), Seed: 1}
	var plane *faultplane.Plane
	if proxied {
		lns, err := process.ReserveListeners(spec.MemberIDs(), "", 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		addrs := map[string]string{}
		for id, ln := range lns {
			addrs[id] = ln.Addr().String()
		}
		plane, err = faultplane.StartEmbedded(ctx, "t", processtest.Log(t))
		if err != nil {
			process.CloseListeners(lns)
			t.Fatal(err)
		}
		peer := map[faultplane.Link]string{}
		for _, l := range democluster.PeerLinks(spec) {
			a, err := plane.AddProxy(l, "127.0.0.1:0", addrs[l.To])
			if err != nil {
				process.CloseListeners(lns)
				plane.Close()
				t.Fatal(err)
			}
			peer[l] = a
		}
		opts.Listeners = lns
		opts.PeerAddr = func(from, to string) string { return peer[faultplane.Link{From: from, To: to}] }
	}
	c, err := process.Start(ctx, spec, opts)
	if err != nil {
		if plane != nil {
			plane.Close()
		}
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() {
		members := c.Members()
		_ = c.Stop(context.Background())
		if plane != nil {
			if err := plane.Close(); err != nil {
				t.Errorf("close fault plane: %v", err)
			}
		}
		for _, m := range members {
			if m.PID > 0 && syscall.Kill(m.PID, 0) == nil && !isZombie(m.PID) {
				t.Errorf("member %s (pid %d) still running after Stop", m.ID, m.PID)
			}
		}
	})
	return c, plane
}

func isZombie(pid int) bool {
	st := childproc.StateOf(pid)
	return st == "" || st == "Z"
}

// kv is a tiny client of the demo cluster's API for tests.
type kv struct {
	c *http.Client
}

func newKV(timeout time.Duration) *kv {
	return &kv{c: &http.Client{Timeout: timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
}

func (k *kv) put(addr, key, value string) (int, error) {
	return k.send(http.MethodPut, addr, key, strings.NewReader(value))
}

// send sends a request of method to key's URL at addr and returns its status.
func (k *kv) send(method, addr, key string, body io.Reader) (int, error) {
	req, _ := http.NewRequest(method, "http://"+addr+"/kv/"+key, body)
	resp, err := k.c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// putAgain puts like a client that retries a write whose outcome it was told
// is unknown (500 "indeterminate", 504: it may have applied, so the gateway
// does not retry it itself) with a new request, up to 5 times; it returns the
// last answer. Tests of availability use it: on a busy machine a write may
// time out once without anything being wrong.
func (k *kv) putAgain(addr, key, value string) (int, error) {
	var (
		code int
		err  error
	)
	for range 5 {
		code, err = k.put(addr, key, value)
		if err == nil && code != http.StatusInternalServerError && code != http.StatusGatewayTimeout {
			return code, nil
		}
	}
	return code, err
}

func (k *kv) get(addr, key string) (int, string, error) {
	resp, err := k.c.Get("http://" + addr + "/kv/" + key)
	if err != nil {
		return 0, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(b), err
}

func (k *kv) del(addr, key string) (int, error) {
	return k.send(http.MethodDelete, addr, key, nil)
}

// The members serve on the sockets reserved for them: from the reservation
// on, no other process can bind a member's port (two runs picking free ports
// at the same moment cannot collide), and once a member is down its port is
// free, none held here. A restart whose port was taken meanwhile fails with
// a *PortInUseError instead of a stranger answering in the member's place.
func TestMembersServeOnTheListenersReservedForThem(t *testing.T) {
	spec := demo.ClusterSpec{Nodes: 3}
	lns, err := process.ReserveListeners(spec.MemberIDs(), "", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	reserved := map[string]string{}
	for id, ln := range lns {
		reserved[id] = ln.Addr().String()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := process.Start(ctx, spec, process.Options{Binary: processtest.Binary(t), Dir: t.TempDir(), Log: processtest.Log(t), Seed: 1, Listeners: lns})
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	t.Cleanup(func() { _ = c.Stop(context.Background()) })
	for _, m := range c.Members() {
		if m.Addr != reserved[m.ID] {
			t.Fatalf("%s serves on %s, want the reserved %s", m.ID, m.Addr, reserved[m.ID])
		}
		if ln, err := net.Listen("tcp", m.Addr); err == nil {
			ln.Close()
			t.Fatalf("%s's port %s could be bound while it runs", m.ID, m.Addr)
		}
	}
	n1, _ := c.Member("n1")
	if err := c.Kill(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	thief, err := net.Listen("tcp", n1.Addr)
	if err != nil {
		t.Fatalf("n1 is down but its port %s is still held: %v", n1.Addr, err)
	}
	var inUse *process.PortInUseError
	if err := c.StartMember(ctx, "n1"); !errors.As(err, &inUse) || inUse.Member != "n1" {
		thief.Close()
		t.Fatalf("restart of n1 with its port taken: %v, want a *PortInUseError for n1", err)
	}
	thief.Close()
	if err := c.StartMember(ctx, "n1"); err != nil {
		t.Fatalf("restart of n1 once its port is free: %v", err)
	}
}
