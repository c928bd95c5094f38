package node

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/internal/testkit"
	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// A node's range listing is its own records in order, tombstones included,
// with copies that fail their checksum left out; a node still recovering its
// state refuses to list, as it refuses replica reads.
func TestReplicaRangeListsIntactCopiesAndRefusesWhileRecovering(t *testing.T) {
	f := newFakeNet(t, threeNodes(RecoveryResync))
	testkit.Eventually(t, 5*time.Second, "the first start's catch-up", allRecovered(f))
	engine := storage.OpenMemory()
	t.Cleanup(func() { _ = engine.Close() })
	for i, k := range []string{"a", "b", "c", "d"} {
		rec := storage.Record{Version: storage.Version{Time: int64(i + 1)}, Value: []byte("v" + k)}
		if k == "c" {
			rec = storage.Record{Version: storage.Version{Time: 9}, Tombstone: true}
		}
		if _, err := engine.Put(k, storage.Seal(k, rec)); err != nil {
			t.Fatal(err)
		}
	}
	n := f.start("n1", RecoveryNone, engine) // nothing to catch up: lists at once
	damaged, err := engine.Corrupt(1, rand.New(rand.NewPCG(1, 2)))
	if err != nil || len(damaged) != 1 {
		t.Fatalf("Corrupt = %v, %v", damaged, err)
	}
	recs, more, err := n.ReplicaRange(context.Background(), api.ScanQuery{From: "a", To: "z", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, kr := range recs {
		keys = append(keys, kr.Key)
		if kr.Key == damaged[0] {
			t.Errorf("the damaged copy of %s was listed", kr.Key)
		}
	}
	want := strings.Join(removeKey([]string{"a", "b", "c", "d"}, damaged[0]), " ")
	if strings.Join(keys, " ") != want || more {
		t.Fatalf("ReplicaRange = [%s] more %v, want [%s] (the damaged %s left out)", strings.Join(keys, " "), more, want, damaged[0])
	}

	// n2 restarts without its data while cut off from its peers: it cannot
	// catch up, so it must not list (it may have forgotten acknowledged writes).
	f.setPolicy(isolate("n2"))
	n2 := f.crash("n2", RecoveryResync)
	if _, _, err := n2.ReplicaRange(context.Background(), api.ScanQuery{Limit: 10}); !errors.Is(err, ErrRecovering) {
		t.Fatalf("ReplicaRange on a recovering node = %v, want ErrRecovering", err)
	}
}

func removeKey(keys []string, k string) []string {
	var out []string
	for _, x := range keys {
		if x != k {
			out = append(out, x)
		}
	}
	return out
}
