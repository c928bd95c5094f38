package process_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"

	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/api/apitest"
)

// registerHistory drives concurrent clients, each bound to one store node (so
// every node coordinates), over a few keys, kills n3 halfway through, and
// returns the history. Every node→node link carries replicaDelay of latency,
// as a slow network would.
func registerHistory(t *testing.T, consistency string, replicaDelay time.Duration, run time.Duration) (ops []slo.Op, afterKillOK int) {
	t.Helper()
	spec := demo.ClusterSpec{Nodes: 3, Consistency: consistency, Resilience: demo.Resilience{Timeout: 2 * time.Second}}
	c, plane := startCluster(t, spec, true)
	for _, l := range plane.Links() {
		if _, err := plane.Proxy(l).AddToxic("slow", "latency", "upstream", 1, toxiclient.Attributes{"latency": replicaDelay.Milliseconds()}); err != nil {
			t.Fatal(err)
		}
	}
	nodes := c.Addrs(demo.RoleNode)
	client := newKV(3 * time.Second)
	start := time.Now()
	var (
		mu     sync.Mutex
		killAt int64
		wg     sync.WaitGroup
	)
	const clients, maxOps, keys = 6, 400, 4
	for ci := 0; ci < clients; ci++ {
		addr := nodes[ci%len(nodes)]
		wg.Go(func() {
			for i := 0; i < maxOps && time.Since(start) < run; i++ {
				op := client.registerOp(addr, ci, i, uint64(ci*maxOps+i), fmt.Sprintf("k%d", (ci*7+i)%keys), start)
				mu.Lock()
				ops = append(ops, op)
				if killAt > 0 && op.Invoke > killAt && op.Outcome == slo.OutcomeOK {
					afterKillOK++
				}
				mu.Unlock()
			}
		})
	}
	// Kill n3 halfway through: a majority (n1, n2) remains.
	time.Sleep(run / 2) // the schedule of the fault, not synchronisation
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	mu.Lock()
	killAt = int64(time.Since(start))
	mu.Unlock()
	if err := c.Kill(ctx, "n3"); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return ops, afterKillOK
}

func TestLinearizableModeIsLinearizableWhileANodeIsKilled(t *testing.T) {
	ops, afterKill := registerHistory(t, "linearizable", 10*time.Millisecond, 3*time.Second)
	res := slo.CheckLinearizable(ops, 30*time.Second)
	t.Logf("%d operations, %d ok after the kill: %s (%s)", len(ops), afterKill, res.Detail, res.Took)
	if res.Verdict != slo.Pass {
		t.Fatalf("linearizable mode: verdict %s: %s", res.Verdict, res.Detail)
	}
	if afterKill < 20 {
		t.Fatalf("only %d operations succeeded after n3 was killed; a majority remains, so the cluster must stay available", afterKill)
	}
}

func TestEventualModeIsNotLinearizable(t *testing.T) {
	ops, _ := registerHistory(t, "eventual", 10*time.Millisecond, 3*time.Second)
	res := slo.CheckLinearizable(ops, 30*time.Second)
	t.Logf("%d operations: %s", len(ops), res.Detail)
	if res.Verdict != slo.Fail {
		t.Fatalf("eventual mode: verdict %s, want fail (stale reads through other coordinators): %s", res.Verdict, res.Detail)
	}
}

// registerOp sends the i-th operation of client ci on key to addr — every
// fifth a delete, otherwise puts and gets in turn — and records it for
// porcupine, its times from start.
func (c *kv) registerOp(addr string, ci, i int, id uint64, key string, start time.Time) slo.Op {
	op := slo.Op{ID: id, Client: ci, Key: key, Invoke: int64(time.Since(start))}
	var (
		code int
		body string
		err  error
	)
	switch {
	case i%5 == 4:
		op.Kind = slo.OpDelete
		code, err = c.del(addr, key)
	case i%2 == 0:
		op.Kind = slo.OpPut
		v := fmt.Sprintf("c%d-%d", ci, i)
		op.Value = &v
		code, err = c.put(addr, key, v)
	default:
		op.Kind = slo.OpGet
		code, body, err = c.get(addr, key)
		if err == nil && code == http.StatusOK {
			op.Value = &body
		}
	}
	op.Complete = int64(time.Since(start))
	op.Outcome = apitest.Outcome(code, err)
	return op
}
