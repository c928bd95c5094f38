package node

import (
	"net/http"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
)

// LiveValues counts values, not tombstones: a delete every replica got
// leaves none on any node, and a replica the delete missed keeps its value
// in the count while a read quorum answers not found (what chaosctl's
// shared-target reset checks for).
func TestLiveValuesCountsWhatADeleteMissed(t *testing.T) {
	f, h := settledNet(t)
	n1 := f.node("n1")
	live := func(id string) int {
		n, err := f.node(id).LiveValues()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if code, _ := h.do(background(t), n1, http.MethodPut, key, "a"); code != http.StatusNoContent {
		t.Fatalf("put: %d", code)
	}
	n1.background.Wait()
	for _, id := range f.cfg.Nodes {
		if got := live(id); got != 1 {
			t.Fatalf("%s holds %d values after a put every replica got", id, got)
		}
	}
	f.setPolicy(isolate("n3"))
	if code, _ := h.do(background(t), n1, http.MethodDelete, key, ""); code/100 != 2 {
		t.Fatalf("delete with n3 cut off: %d", code)
	}
	n1.background.Wait()
	f.setPolicy(cut("n1", "n3")) // a read quorum of n1 and n2
	if code, got := h.do(background(t), n1, http.MethodGet, key, ""); code != http.StatusNotFound {
		t.Fatalf("read after the delete: %d %q", code, got)
	}
	if a, b, c := live("n1"), live("n2"), live("n3"); a != 0 || b != 0 || c != 1 {
		t.Fatalf("values after a delete n3 missed: n1 %d, n2 %d, n3 %d; want 0, 0, 1", a, b, c)
	}
	f.setPolicy(nil)
	if code, _ := h.do(background(t), n1, http.MethodDelete, key, ""); code/100 != 2 {
		t.Fatalf("second delete: %d", code)
	}
	testkit.Eventually(t, 5*time.Second, "n3 to get the second delete", func() bool { return live("n3") == 0 })
}
