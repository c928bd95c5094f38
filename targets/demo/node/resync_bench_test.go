package node

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/chaosctl/chaosctl/targets/demo/hlc"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// httpCluster is three nodes over real HTTP on 127.0.0.1, for measuring the
// catch-up the way the demo runs it.
type httpCluster struct {
	ids     []string
	addrs   map[string]string
	lns     map[string]net.Listener
	servers map[string]*http.Server
	engines map[string]storage.Engine
	stops   map[string]context.CancelFunc
}

func newHTTPCluster(tb testing.TB, ids []string) *httpCluster {
	c := &httpCluster{ids: ids, addrs: map[string]string{}, lns: map[string]net.Listener{}, servers: map[string]*http.Server{}, engines: map[string]storage.Engine{}, stops: map[string]context.CancelFunc{}}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		c.lns[id], c.addrs[id] = ln, ln.Addr().String()
	}
	tb.Cleanup(func() {
		for _, stop := range c.stops {
			stop()
		}
		for _, s := range c.servers {
			_ = s.Close()
		}
		for _, ln := range c.lns {
			_ = ln.Close()
		}
	})
	return c
}

// serve starts node id on engine with recovery and returns it once it serves.
func (c *httpCluster) serve(tb testing.TB, ctx context.Context, id, recovery string, engine storage.Engine) *Node {
	cfg := threeNodes(recovery)
	cfg.ID, cfg.Peers, cfg.PeerToken = id, c.addrs, "bench-peer-token"
	log := logrus.New()
	log.SetOutput(io.Discard)
	n, err := New(cfg, engine, hlc.New(nil), nil, logrus.NewEntry(log))
	if err != nil {
		tb.Fatal(err)
	}
	if old := c.servers[id]; old != nil {
		_ = old.Close()
		ln, err := net.Listen("tcp", c.addrs[id])
		if err != nil {
			tb.Fatal(err)
		}
		c.lns[id] = ln
	}
	srv := &http.Server{Handler: n.Handler(), ReadHeaderTimeout: 5 * time.Second}
	c.servers[id], c.engines[id] = srv, engine
	go func() { _ = srv.Serve(c.lns[id]) }()
	if stop := c.stops[id]; stop != nil {
		stop()
	}
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = n.Run(rctx); close(done) }()
	c.stops[id] = func() { stop(); <-done }
	return n
}

// BenchmarkResync measures how long a restarted in-memory node takes to
// rejoin (copy its ranges from both peers and answer reads again) with 10,000
// keys of 32-byte values in the cluster, over real HTTP on loopback.
//
//	go test -run '^$' -bench Resync -benchtime 5x ./targets/demo/node/
func BenchmarkResync(b *testing.B) {
	for _, keys := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			c := newHTTPCluster(b, []string{"n1", "n2", "n3"})
			for _, id := range c.ids {
				eng := storage.OpenMemory()
				for i := range keys {
					k := fmt.Sprintf("key-%05d", i)
					rec := storage.Seal(k, storage.Record{Version: storage.Version{Time: 1, Node: 1, Seq: uint32(i)}, Value: []byte(fmt.Sprintf("value-%026d", i))})
					if _, err := eng.Put(k, rec); err != nil {
						b.Fatal(err)
					}
				}
				c.serve(b, ctx, id, RecoveryNone, eng)
			}
			b.ResetTimer()
			var total time.Duration
			for range b.N {
				start := time.Now()
				n2 := c.serve(b, ctx, "n2", RecoveryResync, storage.OpenMemory())
				for n2.Recovering() {
					time.Sleep(100 * time.Microsecond) // the polling interval
				}
				total += time.Since(start)
				if got, _ := c.engines["n2"].Len(); got != keys {
					b.Fatalf("n2 holds %d keys after catching up, want %d", got, keys)
				}
			}
			b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/rejoin")
		})
	}
}
