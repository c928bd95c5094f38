package workload

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// noopServerArg makes the test binary serve the no-op HTTP server (see
// serveNoop) instead of running tests: the generator benchmarks run their
// server in a child process so that the CPU the test process spends is the
// generator's alone.
const noopServerArg = "workload-noop-server"

func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == noopServerArg {
		os.Exit(serveNoop(os.Stdin, os.Stdout))
	}
	os.Exit(m.Run())
}

// noopHandler answers like a key-value gateway that stores nothing: a get
// finds no key (404, a good answer), every write succeeds (204).
func noopHandler(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if r.Method == http.MethodGet {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serveNoop listens on 127.0.0.1:0, writes "listening ADDR" to out and
// serves noopHandler until in reaches EOF (the parent went away or closed it).
// GET /connections answers the number of connections accepted so far.
func serveNoop(in io.Reader, out io.Writer) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "no-op server: listen:", err)
		return 1
	}
	var conns atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/", noopHandler)
	mux.HandleFunc("GET /connections", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, strconv.FormatInt(conns.Load(), 10))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}}
	go func() {
		_, _ = io.Copy(io.Discard, in)
		_ = srv.Close()
	}()
	if _, err := fmt.Fprintln(out, "listening", l.Addr()); err != nil {
		return 1
	}
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "no-op server:", err)
		return 1
	}
	return 0
}

// noopServerProcess is the no-op server in a child process.
type noopServerProcess struct {
	URL string
	cmd *exec.Cmd
}

// startNoopServerProcess starts the test binary as a no-op server on
// 127.0.0.1 and stops it when the test ends.
func startNoopServerProcess(t testing.TB) *noopServerProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find the test executable: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, exe, noopServerArg)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the no-op server: %v", err)
	}
	t.Cleanup(func() {
		_ = stdin.Close() // EOF: the server stops
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cancel() // kills it
			<-done
		}
		cancel()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("no-op server: want \"listening ADDR\", got %q (%v)", line, err)
	}
	return &noopServerProcess{URL: "http://" + addr, cmd: cmd}
}

// connections returns the number of connections the server has accepted,
// not counting the one this call opens.
func (s *noopServerProcess) connections(t testing.TB) int64 {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	resp, err := c.Get(s.URL + "/connections")
	if err != nil {
		t.Fatalf("no-op server connections: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	n, perr := strconv.ParseInt(string(b), 10, 64)
	if err != nil || perr != nil {
		t.Fatalf("no-op server connections: %q: %v %v", b, err, perr)
	}
	return n - 1
}

func TestNoopServerProcessAnswersLikeAnEmptyStore(t *testing.T) {
	srv := startNoopServerProcess(t)
	for _, tc := range []struct {
		method string
		want   int
	}{
		{http.MethodGet, http.StatusNotFound},
		{http.MethodPut, http.StatusNoContent},
		{http.MethodDelete, http.StatusNoContent},
	} {
		req, err := http.NewRequest(tc.method, srv.URL+"/kv/k1", strings.NewReader("v"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.method, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.method, resp.StatusCode, tc.want)
		}
	}
	if n := srv.connections(t); n < 1 {
		t.Errorf("%d connections accepted, want at least the ones just made", n)
	}
	if pid := srv.cmd.Process.Pid; pid == os.Getpid() {
		t.Errorf("server pid %d is the test's own", pid)
	}
}
