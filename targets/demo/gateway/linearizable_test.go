package gateway

import (
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/slo"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/api/apitest"
)

// Concurrent clients write and read a few keys through two gateways in front of
// linearizable store nodes while the network between gateways and nodes loses
// the answers of some writes after they landed (500), holds others past the
// gateway's budget, and sheds others before the node sees them (503). The
// clients classify answers as the workload does (2xx and a 404 read ok, 503 and
// 429 no effect, anything else unknown), and the history must be linearizable:
// a gateway that retried a write whose attempt may have applied, or answered
// 503 for it, would produce a history porcupine rejects.
func TestLinearizableThroughGatewaysWhileWriteAnswersAreLost(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			ops := lossyHistory(t, seed)
			res := slo.CheckLinearizable(ops, 30*time.Second)
			unknown := 0
			for _, op := range ops {
				if op.Outcome == slo.OutcomeUnknown {
					unknown++
				}
			}
			t.Logf("seed %d: %d operations, %d of unknown outcome: %s (%s)", seed, len(ops), unknown, res.Detail, res.Took)
			if res.Verdict != slo.Pass {
				t.Fatalf("verdict %s: %s", res.Verdict, res.Detail)
			}
			if unknown == 0 {
				t.Fatal("no operation had an unknown outcome: the faults did not happen")
			}
		})
	}
}

// fate picks, from the seed and the request id (the same for every attempt of
// one client operation), what the fronts do with a write.
func fate(seed uint64, rid string, attempt int) frontAction {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", seed, rid)
	switch u := h.Sum64() % 100; {
	case u < 15:
		return loseAnswer
	case u < 18:
		return hangAfter
	case u < 28 && attempt == 0:
		return refuse503 // the first attempt only: the retry goes through
	}
	return pass
}

func lossyHistory(t *testing.T, seed uint64) []slo.Op {
	t.Helper()
	c := startStoreCluster(t, 3)
	res := fastResilience()
	res.Timeout = 500 * time.Millisecond
	var gateways []*testGateway
	for _, id := range []string{"g1", "g2"} {
		gateways = append(gateways, serveGateway(t, c.gatewayConfig(Config{ID: id, Replicas: 3, Resilience: res})))
	}
	var mu sync.Mutex
	attempts := map[string]int{}
	c.setRule(func(r *http.Request) frontAction {
		mu.Lock()
		defer mu.Unlock()
		rid := r.Header.Get(api.HeaderRequestID)
		n := attempts[rid]
		attempts[rid]++
		return fate(seed, rid, n)
	})

	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	const clients, perClient, keys = 6, 50, 4
	start := time.Now()
	var (
		wg  sync.WaitGroup
		ops []slo.Op
	)
	for ci := range clients {
		g := gateways[ci%len(gateways)]
		wg.Go(func() {
			for i := range perClient {
				h := fnv.New64a()
				fmt.Fprintf(h, "%d/%d/%d", seed, ci, i)
				u := h.Sum64()
				op := slo.Op{ID: uint64(ci*perClient + i), Client: ci, Key: fmt.Sprintf("k%d", u%keys)}
				rid := fmt.Sprintf("op-%d-%d-%d", seed, ci, i)
				var method, body string
				switch (u / keys) % 10 {
				case 0, 1, 2, 3:
					op.Kind, method = slo.OpGet, http.MethodGet
				case 4:
					op.Kind, method = slo.OpDelete, http.MethodDelete
				default:
					v := fmt.Sprintf("c%d-%d", ci, i)
					op.Kind, method, body, op.Value = slo.OpPut, http.MethodPut, v, &v
				}
				op.Invoke = int64(time.Since(start))
				code, got, err := send(client, method, g.url+"/kv/"+op.Key, body, rid)
				op.Complete = int64(time.Since(start))
				op.Outcome = apitest.Outcome(code, err)
				if op.Kind == slo.OpGet && code == http.StatusOK {
					op.Value = &got
				}
				mu.Lock()
				ops = append(ops, op)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ops
}

func send(c *http.Client, method, url, body, rid string) (int, string, error) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set(api.HeaderRequestID, rid)
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}
