package node

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// Compare-and-set on the linearizable (ABD) store.
//
// ABD alone is a register: two writers that read the same version both
// write. CompareAndSet adds a condition that the replicas check: a
// conditional replica write carries the version its coordinator read
// (headerIfAtMost) and a replica refuses it (412, ErrConditionFailed) when
// its own copy is already newer. Two CAS attempts that read the same version
// need a write quorum each, write quorums intersect, and the replica in the
// intersection takes only the first: at most one of them succeeds.
//
// An attempt that reached some replicas but not a quorum is indeterminate, as
// any ABD write is: its record carries the same version time as the winner's
// and a later read may pick it (versions tie-break on the node index). For a
// lock that means the record may name a holder that was told "unknown"; the
// token stays unique per version time and grows, so fencing still holds. A
// coordinator runs its own CAS attempts on one key one at a time, so such
// races need two coordinators (a gateway's failover).

// ErrConditionFailed is a replica's refusal of a conditional write: its copy
// is newer than the version the coordinator read.
var ErrConditionFailed = errors.New("condition failed: the replica holds a newer version")

// ErrConflict is a CompareAndSet every replica refused: the record changed
// after it was read, and nothing was written.
var ErrConflict = errors.New("compare-and-set conflict: the record changed since it was read")

// ErrNotLinearizable: compare-and-set (and so locks and fenced writes) needs
// the linearizable mode's quorums.
var ErrNotLinearizable = errors.New("compare-and-set needs consistency linearizable")

// headerIfAtMost carries a conditional replica write's condition.
const headerIfAtMost = "X-If-At-Most"

type conditionKey struct{}

// withCondition marks the replica writes made with ctx as conditional: a
// replica applies them only while its copy is not newer than atMost.
func withCondition(ctx context.Context, atMost storage.Version) context.Context {
	return context.WithValue(ctx, conditionKey{}, atMost)
}

func conditionFrom(ctx context.Context) (storage.Version, bool) {
	v, ok := ctx.Value(conditionKey{}).(storage.Version)
	return v, ok
}

// keyLocks serialises work on one key (striped mutexes).
type keyLocks [64]sync.Mutex

func (k *keyLocks) lock(key string) func() {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	m := &k[h.Sum32()%uint32(len(k))]
	m.Lock()
	return m.Unlock
}

// checkCondition is the replica side of a conditional write, called with
// the key's replica lock held.
func (n *Node) checkCondition(key string, atMost storage.Version) error {
	cur, found, err := n.engine.Get(key)
	if errors.Is(err, storage.ErrCorrupt) {
		return nil // a corrupt copy is replaced like any other write would
	}
	if err != nil {
		return err
	}
	if found && cur.Version.Compare(atMost) > 0 {
		return ErrConditionFailed
	}
	return nil
}

// CASUpdate computes the new value of a CompareAndSet from the current
// record (found false: no record). An error aborts the CAS with nothing
// written and is returned as is.
type CASUpdate func(cur storage.Record, found bool) ([]byte, error)

// CompareAndSet reads key linearizably, computes its new value with update
// and writes it only if no replica of a write quorum has seen a newer version
// meanwhile. It returns the new version. ErrConflict: nothing was written
// (retry); a *QuorumError with Indeterminate: the write may have applied.
func (n *Node) CompareAndSet(ctx context.Context, key string, update CASUpdate, rid string) (storage.Version, error) {
	var v storage.Version
	if n.cfg.Consistency != Linearizable {
		return v, ErrNotLinearizable
	}
	unlock := n.casLocks.lock(key)
	defer unlock()
	cur, found, err := n.Read(ctx, key, rid)
	if err != nil {
		return v, err
	}
	if found && cur.Tombstone {
		found = false
	}
	value, err := update(cur, found)
	if err != nil {
		return v, err
	}
	expect := cur.Version
	v = storage.Version{Time: expect.Time + 1, Node: n.index, Seq: n.seq.Add(1)}
	rec := storage.Seal(key, storage.Record{Version: v, Value: value})
	peers := n.ring.Preference(key, n.cfg.N)
	bg, cancel := n.detached(ctx)
	cctx := withCondition(bg, expect)
	acks := make(chan error, len(peers))
	for _, p := range peers {
		n.background.Go(func() {
			err := n.writeReplica(cctx, p, key, rec, "", rid)
			n.noteAnswer(p, err)
			acks <- err
		})
	}
	got, refused, answered := 0, 0, 0
	var last error
	for answered < len(peers) && got < n.cfg.W {
		select {
		case err := <-acks:
			answered++
			switch {
			case err == nil:
				got++
			case errors.Is(err, ErrConditionFailed):
				refused++
				last = err
			default:
				last = err
			}
		case <-ctx.Done():
			cancel()
			return v, &QuorumError{Op: "compare-and-set " + key, Need: n.cfg.W, Got: got, Replicas: peers, DeadlinePassed: true, Indeterminate: true, Last: ctx.Err()}
		}
	}
	if got >= n.cfg.W {
		n.background.Go(func() { defer cancel(); drainErrs(bg, acks) })
		return v, nil
	}
	cancel()
	if refused == len(peers) {
		return v, fmt.Errorf("compare-and-set %s at %s: %w", key, expect, ErrConflict)
	}
	return v, &QuorumError{Op: "compare-and-set " + key, Need: n.cfg.W, Got: got, Replicas: peers, Indeterminate: got > 0 || refused < answered, Last: last}
}
