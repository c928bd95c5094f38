package process_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// scan asks the gateway at addr for the range [from, to).
func (k *kv) scan(addr, from, to string) (code int, partial string, ans api.ScanAnswer, err error) {
	q := api.ScanQuery{From: from, To: to, Limit: api.MaxScanLimit}
	resp, err := k.c.Get("http://" + addr + api.ScanPath + "?" + q.Encode())
	if err != nil {
		return 0, "", ans, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(b, &ans)
	}
	return resp.StatusCode, resp.Header.Get(api.HeaderPartial), ans, err
}

// A scan through a real gateway over real store nodes, with n2 partitioned
// from everyone (its links through the fault plane disabled): policy fail
// answers 503 naming n2, policy allow answers the keys the others list (with
// three replicas of each key, all of them) and names n2 in X-Chaos-Partial.
func TestScanWithANodePartitionedFailsOrServesPartialAsItsPolicySays(t *testing.T) {
	for _, policy := range []string{demo.ScanPartialFail, demo.ScanPartialAllow} {
		t.Run(policy, func(t *testing.T) {
			spec := demo.ClusterSpec{Nodes: 4, Gateways: 1, Scan: demo.ScanSpec{ShardTimeout: 300 * time.Millisecond, Partial: policy}}
			c, plane := startCluster(t, spec, true)
			gw := c.Addrs(demo.RoleGateway)[0]
			client := newKV(3 * time.Second)
			var want []string
			for i := range 20 {
				key := fmt.Sprintf("s%02d", i)
				if code, err := client.putAgain(gw, key, "v"+key); err != nil || code != http.StatusNoContent {
					t.Fatalf("put %s: %d %v", key, code, err)
				}
				if i >= 5 && i < 15 {
					want = append(want, key)
				}
			}
			if code, err := client.del(gw, "s07"); err != nil || code != http.StatusNoContent {
				t.Fatalf("delete s07: %d %v", code, err)
			}
			want = append(want[:2], want[3:]...) // s07 is gone
			keys := func(ans api.ScanAnswer) string {
				var ks []string
				for _, it := range ans.Items {
					if string(it.Value) != "v"+it.Key {
						t.Errorf("scan gave %s = %q, want %q", it.Key, it.Value, "v"+it.Key)
					}
					ks = append(ks, it.Key)
				}
				return strings.Join(ks, " ")
			}
			code, partial, ans, err := client.scan(gw, "s05", "s15")
			if err != nil || code != http.StatusOK || partial != "" || keys(ans) != strings.Join(want, " ") {
				t.Fatalf("scan [s05, s15) = %d partial %q [%s] %v; want 200 [%s]", code, partial, keys(ans), err, strings.Join(want, " "))
			}

			for _, l := range plane.Links() {
				if l.From == "n2" || l.To == "n2" {
					if err := plane.Disable(l, "test"); err != nil {
						t.Fatal(err)
					}
					defer func(l faultplane.Link) { _ = plane.Enable(l, "test") }(l)
				}
			}
			code, partial, ans, err = client.scan(gw, "s05", "s15")
			if err != nil || partial != "n2" {
				t.Fatalf("scan with n2 partitioned: %d partial %q %v; want X-Chaos-Partial n2", code, partial, err)
			}
			switch policy {
			case demo.ScanPartialFail:
				if code != http.StatusServiceUnavailable {
					t.Fatalf("policy fail, n2 partitioned: %d, want 503", code)
				}
			case demo.ScanPartialAllow:
				if code != http.StatusOK || keys(ans) != strings.Join(want, " ") || strings.Join(ans.Partial, ",") != "n2" {
					t.Fatalf("policy allow, n2 partitioned: %d [%s] partial %v; want 200 [%s] partial n2", code, keys(ans), ans.Partial, strings.Join(want, " "))
				}
			}
		})
	}
}
