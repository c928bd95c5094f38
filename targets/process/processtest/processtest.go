// Package processtest lets a test binary serve as the demo cluster's member
// executable, so tests start real member processes (race-instrumented like the
// test itself) without building chaosctl first:
//
//	func TestMain(m *testing.M) { processtest.Main(m) }
//
// and start clusters with process.Options{Binary: processtest.Binary(t)}.
package processtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/member"
)

// Main runs the member when the process was started as one (`... node --config
// JSON`, as the process runtime does), and the tests otherwise.
func Main(m *testing.M) {
	if cfg, level, ok := memberArgs(os.Args[1:]); ok {
		os.Exit(runMember(cfg, level))
	}
	if len(os.Args) == 3 && os.Args[1] == BaselineArg {
		os.Exit(serveBaseline(os.Args[2]))
	}
	os.Exit(m.Run())
}

// Binary is the executable to pass as process.Options.Binary.
func Binary(t testing.TB) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatalf("find test executable: %v", err)
	}
	return exe
}

func memberArgs(args []string) (cfg, level string, ok bool) {
	level = "info"
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "--log-level":
			if i+1 < len(args) {
				level = args[i+1]
				i++
			}
		case "node":
			if i+2 < len(args) && args[i+1] == "--config" {
				return args[i+2], level, true
			}
			return "", "", false
		default:
			return "", "", false
		}
	}
	return "", "", false
}

func runMember(conf, level string) int {
	log := logrus.New()
	log.SetOutput(os.Stderr)
	if lv, err := logrus.ParseLevel(level); err == nil {
		log.SetLevel(lv)
	}
	cfg, err := demo.DecodeMemberConfig(conf)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if err := member.RunChild(context.Background(), cfg, log.WithField("component", "member")); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// BaselineArg starts the test binary as the minimal key-value HTTP server that
// benchmarks compare the demo cluster with: `TESTBINARY -baseline-kv ADDR`.
const BaselineArg = "-baseline-kv"

// serveBaseline is the least a Go key-value server over HTTP can do: one map
// behind a mutex, the same API shape as the demo cluster.
func serveBaseline(addr string) int {
	var (
		mu sync.Mutex
		m  = map[string][]byte{}
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path
		switch r.Method {
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			m[key] = b
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		case http.MethodDelete:
			mu.Lock()
			delete(m, key)
			mu.Unlock()
			w.WriteHeader(http.StatusNoContent)
		default:
			mu.Lock()
			v, ok := m[key]
			mu.Unlock()
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			_, _ = w.Write(v)
		}
	})
	if err := http.ListenAndServe(addr, h); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
