package external_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/external"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

const serveEnv = "CHAOSCTL_EXTERNAL_TEST_SERVE"

// TestMain doubles as the users' service: with serveEnv set, this binary
// serves "hello" on that address until SIGTERM.
func TestMain(m *testing.M) {
	if addr := os.Getenv(serveEnv); addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") })}
		go func() { _ = srv.Serve(ln) }()
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		<-sig
		_ = srv.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(c *http.Client, addr string) error {
	resp, err := c.Get("http://" + addr + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(b) != "hello" {
		return fmt.Errorf("status %d %q", resp.StatusCode, b)
	}
	return nil
}

func TestCommandMemberBehindAProxyTakesEveryFault(t *testing.T) {
	addr := freeAddr(t)
	ctx := context.Background()
	tg, err := external.Start(ctx, external.Spec{
		Members: []external.MemberSpec{{Name: "web", Command: []string{os.Args[0]}, Env: map[string]string{serveEnv: addr}, ReadyHTTP: "http://" + addr + "/"}},
		Proxies: []external.ProxySpec{{Name: "web", Listen: "127.0.0.1:0", Upstream: addr}},
	}, external.Options{Run: "ext-test", Dir: t.TempDir(), Log: processtest.Log(t)})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = tg.Close(context.Background())
		}
	})
	proxy := tg.ClientAddrs()[0]
	c := &http.Client{Timeout: 2 * time.Second}
	if err := get(c, proxy); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	ms := tg.Members()
	if len(ms) != 1 || ms[0].Addr != addr || ms[0].PID == 0 {
		t.Fatalf("members %+v", ms)
	}

	// Pause: the process group is stopped, callers time out.
	if err := tg.Pause(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	short := &http.Client{Timeout: 300 * time.Millisecond}
	var ne net.Error
	if err := get(short, addr); !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("a paused member answered: %v", err)
	}
	if err := tg.Resume(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := get(c, addr); err != nil {
		t.Fatalf("after resume: %v", err)
	}

	// Crash and restart.
	if err := tg.Kill(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := get(c, addr); err == nil {
		t.Fatal("a killed member answered")
	}
	if err := tg.Start(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if err := get(c, proxy); err != nil {
		t.Fatalf("after restart: %v", err)
	}

	// A link fault selects the proxy by name.
	inj, _ := injectors.DefaultRegistry().Lookup(injectors.KindLatency)
	revert, err := inj.Inject(ctx, tg, injectors.Fault{Name: "slow", Kind: injectors.KindLatency, Targets: []string{"web"}, Delay: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := get(&http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}, proxy); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 200*time.Millisecond {
		t.Fatalf("a GET through the slowed proxy took %s, want at least 200ms", took)
	}
	if err := revert(ctx); err != nil {
		t.Fatal(err)
	}

	// Close stops the member and deletes the proxy.
	pid := tg.Members()[0].PID
	if err := tg.Close(ctx); err != nil {
		t.Fatal(err)
	}
	closed = true
	testkit.Eventually(t, 5*time.Second, "the member process is gone", func() bool {
		return syscall.Kill(pid, 0) != nil
	})
	if err := get(short, proxy); err == nil {
		t.Fatal("the proxy still serves after Close")
	}
}

func TestMemberThatExitsBeforeReadyFailsStartAndLeavesNothing(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	_, err = external.Start(context.Background(), external.Spec{
		Members: []external.MemberSpec{{Name: "bad", Command: []string{"false"}, ReadyTCP: freeAddr(t)}},
		Proxies: []external.ProxySpec{{Name: "bad", Listen: listen, Upstream: "127.0.0.1:1"}},
	}, external.Options{Run: "ext-bad", Dir: t.TempDir(), Log: processtest.Log(t)})
	if err == nil || !strings.Contains(err.Error(), "exited before it was ready") {
		t.Fatalf("Start: %v", err)
	}
	// The proxy's port is free again: the plane was closed.
	ln2, err := net.Listen("tcp", listen)
	if err != nil {
		t.Fatalf("the proxy's port is still taken: %v", err)
	}
	ln2.Close()
}
