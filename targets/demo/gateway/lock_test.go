package gateway

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo/api"
)

func lockCall(t *testing.T, base, name, query string) (int, api.LockState, string) {
	t.Helper()
	a := do(t, http.MethodPost, base+api.LockPrefix+name+"?"+query, "", nil)
	var st api.LockState
	if a.code == http.StatusOK {
		if err := json.Unmarshal([]byte(a.body), &st); err != nil {
			t.Fatalf("lock answer %q: %v", a.body, err)
		}
	}
	return a.code, st, a.header.Get(api.HeaderError)
}

// The lock service through a gateway on real linearizable nodes: a held lock
// refuses others until its lease lapses, every acquisition has a larger token,
// renew and release need the holder's token, and the fenced resource refuses a
// token older than the newest it has seen (409) and takes equal and newer ones.
func TestLockLeasesTokensAndFencedResource(t *testing.T) {
	c := startStoreCluster(t, 3)
	g := serveGateway(t, c.gatewayConfig(Config{ID: "g1", Replicas: 3, Resilience: fastResilience()}))

	code, a, _ := lockCall(t, g.url, "L", "op=acquire&owner=a&lease=300ms")
	if code != http.StatusOK || a.Owner != "a" || a.Token < 1 {
		t.Fatalf("acquire by a: %d %+v", code, a)
	}
	if code, _, reason := lockCall(t, g.url, "L", "op=acquire&owner=b&lease=300ms"); code != http.StatusConflict {
		t.Fatalf("acquire by b while a holds: %d %s, want 409", code, reason)
	}
	if code, _, _ := lockCall(t, g.url, "L", "op=renew&owner=a&token="+strconv.FormatInt(a.Token, 10)+"&lease=200ms"); code != http.StatusOK {
		t.Fatalf("renew by a: %d", code)
	}
	if code, _, _ := lockCall(t, g.url, "L", "op=renew&owner=a&token="+strconv.FormatInt(a.Token+100, 10)+"&lease=200ms"); code != http.StatusConflict {
		t.Fatalf("renew with a wrong token: %d, want 409", code)
	}
	put := func(token int64, v string) int {
		return do(t, http.MethodPut, g.url+"/kv/res", v, map[string]string{api.HeaderFencingToken: strconv.FormatInt(token, 10)}).code
	}
	if code := put(a.Token, "from-a"); code != http.StatusNoContent {
		t.Fatalf("fenced put by a: %d", code)
	}
	// b waits for the lease to lapse and takes over with a larger token.
	var b api.LockState
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, st, _ := lockCall(t, g.url, "L", "op=acquire&owner=b&lease=5s")
		if code == http.StatusOK {
			b = st
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b never acquired after a's lease: last %d", code)
		}
		time.Sleep(20 * time.Millisecond) // polling a lease, not synchronising
	}
	if b.Token <= a.Token {
		t.Fatalf("b's token %d is not above a's %d", b.Token, a.Token)
	}
	if code, _, _ := lockCall(t, g.url, "L", "op=release&owner=a&token="+strconv.FormatInt(a.Token, 10)); code != http.StatusConflict {
		t.Fatalf("release by the lapsed holder: %d, want 409", code)
	}
	if code := put(b.Token, "from-b"); code != http.StatusNoContent {
		t.Fatalf("fenced put by b: %d", code)
	}
	if code := put(a.Token, "late-a"); code != http.StatusConflict {
		t.Fatalf("fenced put with the stale token: %d, want 409", code)
	}
	got := do(t, http.MethodGet, g.url+"/kv/res", "", map[string]string{"Cache-Control": "no-cache"})
	if got.code != http.StatusOK || got.body != "from-b" {
		t.Fatalf("resource reads %d %q, want from-b", got.code, got.body)
	}
	if code, _, _ := lockCall(t, g.url, "L", "op=release&owner=b&token="+strconv.FormatInt(b.Token, 10)); code != http.StatusOK {
		t.Fatalf("release by b: %d", code)
	}
	code, c2, _ := lockCall(t, g.url, "L", "op=acquire&owner=c&lease=1s")
	if code != http.StatusOK || c2.Token <= b.Token {
		t.Fatalf("acquire after release: %d token %d (b had %d)", code, c2.Token, b.Token)
	}
}

// Concurrent acquirers of one free lock through two gateways: exactly one
// wins each round (compare-and-set), and each round's winner, who releases
// the lock for the next, has a larger token than the last.
func TestLockConcurrentAcquireHasOneWinner(t *testing.T) {
	c := startStoreCluster(t, 3)
	g1 := serveGateway(t, c.gatewayConfig(Config{ID: "g1", Replicas: 3, Resilience: fastResilience()}))
	g2 := serveGateway(t, c.gatewayConfig(Config{ID: "g2", Replicas: 3, Resilience: fastResilience()}))
	var last int64
	for round := range 10 {
		name := "R"
		var (
			mu      sync.Mutex
			winners []api.LockState
			wg      sync.WaitGroup
		)
		for i := range 6 {
			base := []string{g1.url, g2.url}[i%2]
			wg.Go(func() {
				code, st, _ := lockCall(t, base, name, fmt.Sprintf("op=acquire&owner=c%d&lease=10s", i))
				if code == http.StatusOK {
					mu.Lock()
					winners = append(winners, st)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(winners) != 1 {
			t.Fatalf("round %d: %d winners %+v, want 1", round, len(winners), winners)
		}
		w := winners[0]
		if w.Token <= last {
			t.Fatalf("round %d: token %d not above the last round's %d", round, w.Token, last)
		}
		last = w.Token
		if code, _, reason := lockCall(t, g1.url, name, fmt.Sprintf("op=release&owner=%s&token=%d", w.Owner, w.Token)); code != http.StatusOK {
			t.Fatalf("round %d: release: %d %s", round, code, reason)
		}
	}
}
