package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Engine stores one node's replicas and hints. Implementations are safe for
// concurrent use.
type Engine interface {
	// Get returns the stored record. found is false when the key is absent. When
	// the stored copy fails its checksum, Get returns the record AND an error
	// wrapping ErrCorrupt. The returned Value is the caller's to keep.
	Get(key string) (rec Record, found bool, err error)
	// Put stores rec (which must verify) if rec.Version is newer than the stored
	// one, or nothing is stored, or the stored copy is corrupt and rec.Version is
	// at least the version the corrupt copy claims (a repair never rolls a
	// replica back); applied says
	// whether it did. It returns an error wrapping ErrCorrupt if rec itself fails
	// its checksum. Put copies rec.Value.
	Put(key string, rec Record) (applied bool, err error)
	// Corrupt flips one random bit in the stored value of up to n stored records,
	// chosen with rng among those that are not tombstones, have a non-empty value
	// and still verify, without updating the checksum (the corrupt fault). It
	// returns the keys it damaged. With the same contents and the same rng state,
	// every engine damages the same keys the same way.
	Corrupt(n int, rng *rand.Rand) ([]string, error)
	// Keys calls fn for every stored key, tombstones included, in unspecified
	// order, until fn returns false. fn may call the engine.
	Keys(fn func(key string) bool) error
	// Len is the number of stored keys, tombstones included.
	Len() (int, error)
	// Range returns the stored records whose keys are in [from, to) (to ""
	// means no upper bound), ordered by key (bytewise), at most limit of them
	// (all when limit <= 0); more says whether records in the range were
	// left out by the limit. Tombstones are included; a copy that fails its
	// checksum is included as stored (Verify tells it), so the caller decides
	// what a damaged copy means. The returned Values are the caller's.
	Range(from, to string, limit int) (recs []KeyRecord, more bool, err error)

	// PutHint holds rec for target, an unreachable home replica (sloppy quorum,
	// hinted handoff). It keeps only the newest record per (target, key).
	PutHint(target, key string, rec Record) error
	// Hints returns up to max of target's hints (all of them when max <= 0),
	// ordered by key.
	Hints(target string, max int) ([]Hint, error)
	// DeleteHint deletes target's hint for key only if it still has version v,
	// so a newer hint stored after a delivery started is kept.
	DeleteHint(target, key string, v Version) error
	// HintTargets lists, sorted, the targets that have hints.
	HintTargets() ([]string, error)

	// Close releases the engine; later calls fail with ErrClosed.
	Close() error
}

// KeyRecord is one stored record with its key.
type KeyRecord struct {
	Key    string
	Record Record
}

// inRange reports whether key is in [from, to); to "" is no upper bound.
func inRange(key, from, to string) bool {
	return key >= from && (to == "" || key < to)
}

// Hint is a write held for Target, a home replica that could not be reached.
type Hint struct {
	Target string
	Key    string
	Record Record
}

// MaxKeySize bounds keys and hint targets, in bytes (bbolt's limit, kept by every
// engine so they accept the same keys).
const MaxKeySize = 32768

var (
	// ErrClosed is returned by an Engine after Close.
	ErrClosed = errors.New("storage engine closed")
	// ErrInvalidKey is wrapped by errors about empty or oversized keys and targets.
	ErrInvalidKey = errors.New("invalid key")
)

func validateKey(what, key string) error {
	if key == "" {
		return fmt.Errorf("empty %s: %w", what, ErrInvalidKey)
	}
	if len(key) > MaxKeySize {
		return fmt.Errorf("%s of %d bytes exceeds %d: %w", what, len(key), MaxKeySize, ErrInvalidKey)
	}
	return nil
}

// checkWrite validates a record about to be stored under key.
func checkWrite(op, key string, rec Record) error {
	if err := validateKey("key", key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if !rec.Verify(key) {
		return fmt.Errorf("%s %q version %v: %w", op, key, rec.Version, ErrCorrupt)
	}
	return nil
}

// supersedes reports whether rec may replace cur, the stored copy of key. A
// newer version always does. A copy that fails its checksum is replaced by the
// same version (its repair) but never by an older one: the damaged copy may be
// the newest write a quorum acknowledged, and putting a delayed write or a
// write-back of an older version in its place would roll the replica back and
// make reads go backwards. Its version field is trusted as far as the claim
// goes: a bit flip in the version itself would at worst make the replica
// refuse a repair that a newer write or a later read-repair supplies.
func supersedes(key string, cur, rec Record) bool {
	if cur.Verify(key) {
		return rec.Version.Newer(cur.Version)
	}
	return rec.Version.Compare(cur.Version) >= 0
}

// corruptible reports whether Corrupt may damage rec.
func corruptible(key string, rec Record) bool {
	return !rec.Tombstone && len(rec.Value) > 0 && rec.Verify(key)
}

// pickKeys chooses up to n of the sorted candidate keys with rng (a partial
// Fisher-Yates shuffle), in the order chosen.
func pickKeys(candidates []string, n int, rng *rand.Rand) []string {
	slices.Sort(candidates)
	n = min(n, len(candidates))
	for i := range n {
		j := i + rng.IntN(len(candidates)-i)
		candidates[i], candidates[j] = candidates[j], candidates[i]
	}
	return candidates[:n]
}

// flipBit returns a copy of value with one bit, chosen with rng, inverted.
func flipBit(value []byte, rng *rand.Rand) []byte {
	out := slices.Clone(value)
	bit := rng.IntN(len(out) * 8)
	out[bit/8] ^= 1 << (bit % 8)
	return out
}
