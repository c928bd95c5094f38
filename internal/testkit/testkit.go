// Package testkit holds the few helpers every test package of chaosctl
// shares, so that each rule is written once:
//
//   - Eventually is how a test waits: on a condition, with a deadline,
//     never a fixed sleep;
//   - Integration skips a test whose dependency (Docker, Prometheus,
//     Chromium, a Kubernetes node) is absent, and fails it instead where
//     CHAOSCTL_REQUIRE_INTEGRATION=1 (as CI sets it), so a dependency cannot
//     silently vanish from CI;
//   - Update is the one golden-file flag: `go test ./... -args -update`
//     rewrites every golden file the tests compare against;
//   - SyncBuffer is the buffer a process or goroutine writes to while the
//     test reads it, ServeTCP a loopback TCP server, FreeAddr a free
//     loopback port, HTTPStatus a request a test forges.
//
// It is imported by tests only.
package testkit

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RequireIntegrationEnv names the variable that turns an integration
// test's skip into a failure.
const RequireIntegrationEnv = "CHAOSCTL_REQUIRE_INTEGRATION"

// Update rewrites golden files instead of comparing against them.
var Update = flag.Bool("update", false, "rewrite the golden files in testdata/ instead of comparing against them")

// PollInterval is how often Eventually asks its condition.
const PollInterval = 5 * time.Millisecond

// Eventually polls cond every PollInterval until it holds, failing the test
// when within passes first. Call it on the test's goroutine only (it ends
// the test with t.Fatalf).
func Eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if err := Poll(within, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// Poll polls cond every PollInterval until it holds, or returns an error
// when within passes first. Unlike Eventually it is safe on any goroutine.
func Poll(within time.Duration, cond func() bool) error {
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not true within %s", within)
		}
		time.Sleep(PollInterval) // the polling interval, not a synchronisation
	}
	return nil
}

// Integration skips t, saying what is missing and how to get it, or fails
// it where CHAOSCTL_REQUIRE_INTEGRATION=1.
func Integration(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv(RequireIntegrationEnv) == "1" {
		t.Fatalf("%s=1 but %s", RequireIntegrationEnv, msg)
	}
	t.Skip(msg)
}

// SyncBuffer is a bytes.Buffer safe for a writer and a reader in different
// goroutines (a running process writes to it while the test reads it).
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String is what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Bytes is a copy of what was written so far.
func (b *SyncBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]byte(nil), b.buf.Bytes()...)
}

// ServeTCP runs handle on every connection to a loopback listener until the
// test ends, closing each connection after handle returns, and returns the
// listener's address.
func ServeTCP(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// Deps lists the packages the package in the test's working directory
// depends on (`go list -deps .`), so a test can keep a layering rule.
func Deps(t testing.TB) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

// ProcessesWithEnv lists the live (not zombie) processes whose environment
// holds entry (KEY=VALUE), each as "PID STATE" with the state letter of
// /proc/PID/stat (T: stopped): a marker a test puts in a command's
// environment finds every process that command started, wherever it went.
func ProcessesWithEnv(entry string) []string {
	var out []string
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !slices.Contains(strings.Split(string(env), "\x00"), entry) {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// The state is the first field after the command's parenthesis.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) == 0 || f[0] == "Z" || f[0] == "X" {
			continue
		}
		out = append(out, d.Name()+" "+f[0])
	}
	return out
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// HTTPStatus sends method to url with body, and with auth as its
// Authorization header unless empty, and returns the answer's status: how
// a test forges a request without the right token.
func HTTPStatus(t testing.TB, method, url, auth, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
