package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	dataBucket  = []byte("data")
	hintsBucket = []byte("hints") // one nested bucket per target
)

const (
	// boltLockTimeout bounds the wait for the file lock that another process (a
	// previous incarnation of the node that has not exited yet) may hold.
	boltLockTimeout = 10 * time.Second
	// maxGroupCommit bounds how many writes share one transaction and fsync.
	maxGroupCommit = 256
	// keysPageSize is how many keys Keys reads per read transaction.
	keysPageSize = 1024
)

// boltEngine stores records in a bbolt file. Writes go through one committer
// goroutine that runs every write waiting at the time in a single transaction:
// a lone writer commits at once (no batching delay, unlike bbolt's DB.Batch), and
// under load one fsync covers many writes.
type boltEngine struct {
	db *bolt.DB

	writes   chan *writeOp // unbuffered: an accepted write is always committed
	stop     chan struct{}
	loopDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// writeOp is one write waiting for the committer. apply must validate before it
// modifies anything: when it returns an error, the rest of its batch still
// commits.
type writeOp struct {
	apply func(tx *bolt.Tx) error
	done  chan error
}

// OpenBolt opens (creating if needed) the bbolt file at path. Every commit is
// synced to disk before the write that caused it returns.
func OpenBolt(path string) (Engine, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: boltLockTimeout,
		// The freelist is rebuilt on open instead of written on every commit:
		// fewer pages per fsync, the same durability.
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
	})
	if err != nil {
		return nil, fmt.Errorf("open bolt store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{dataBucket, hintsBucket} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, errors.Join(fmt.Errorf("open bolt store %s: %w", path, err), db.Close())
	}
	e := &boltEngine{
		db:       db,
		writes:   make(chan *writeOp),
		stop:     make(chan struct{}),
		loopDone: make(chan struct{}),
	}
	go e.commitLoop()
	return e, nil
}

func (e *boltEngine) commitLoop() {
	defer close(e.loopDone)
	batch := make([]*writeOp, 0, maxGroupCommit)
	for {
		select {
		case <-e.stop:
			return
		case op := <-e.writes:
			batch = append(batch[:0], op)
		}
	drain:
		for len(batch) < maxGroupCommit {
			select {
			case op := <-e.writes:
				batch = append(batch, op)
			default:
				break drain
			}
		}
		e.commit(batch)
	}
}

func (e *boltEngine) commit(batch []*writeOp) {
	errs := make([]error, len(batch))
	err := e.db.Update(func(tx *bolt.Tx) error {
		for i, op := range batch {
			errs[i] = op.apply(tx)
		}
		return nil
	})
	for i, op := range batch {
		if err != nil {
			op.done <- fmt.Errorf("commit: %w", err)
		} else {
			op.done <- errs[i]
		}
	}
}

// write runs apply in a committed, synced transaction.
func (e *boltEngine) write(apply func(tx *bolt.Tx) error) error {
	op := &writeOp{apply: apply, done: make(chan error, 1)}
	select {
	case e.writes <- op:
		return <-op.done
	case <-e.stop:
		return ErrClosed
	}
}

func (e *boltEngine) view(fn func(tx *bolt.Tx) error) error {
	select {
	case <-e.stop:
		return ErrClosed
	default:
	}
	err := e.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed // Close ran between the check above and View
	}
	return err
}

func (e *boltEngine) Get(key string) (Record, bool, error) {
	var (
		rec     Record
		found   bool
		decodeE error
	)
	err := e.view(func(tx *bolt.Tx) error {
		raw := tx.Bucket(dataBucket).Get([]byte(key))
		if raw == nil {
			return nil
		}
		found = true
		rec, decodeE = decodeRecord(raw)
		return nil
	})
	if err != nil {
		return Record{}, false, fmt.Errorf("get %q: %w", key, err)
	}
	if !found {
		return Record{}, false, nil
	}
	if decodeE != nil {
		return rec, true, fmt.Errorf("get %q: %w", key, decodeE)
	}
	if !rec.Verify(key) {
		return rec, true, fmt.Errorf("get %q version %v: %w", key, rec.Version, ErrCorrupt)
	}
	return rec, true, nil
}

func (e *boltEngine) Put(key string, rec Record) (bool, error) {
	if err := checkWrite("put", key, rec); err != nil {
		return false, err
	}
	k, enc := []byte(key), encodeRecord(rec)
	var applied bool
	err := e.write(func(tx *bolt.Tx) error {
		applied = false
		b := tx.Bucket(dataBucket)
		if raw := b.Get(k); raw != nil {
			if cur, err := decodeRecord(raw); err == nil && !supersedes(key, cur, rec) {
				return nil
			}
		}
		if err := b.Put(k, enc); err != nil {
			return err
		}
		applied = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("put %q version %v: %w", key, rec.Version, err)
	}
	return applied, nil
}

func (e *boltEngine) Corrupt(n int, rng *rand.Rand) ([]string, error) {
	if rng == nil {
		return nil, errors.New("corrupt: nil rng")
	}
	if n <= 0 {
		return nil, nil
	}
	var damaged []string
	err := e.write(func(tx *bolt.Tx) error {
		damaged = nil
		b := tx.Bucket(dataBucket)
		var candidates []string
		err := b.ForEach(func(k, raw []byte) error {
			if rec, err := decodeRecord(raw); err == nil && corruptible(string(k), rec) {
				candidates = append(candidates, string(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		// Decode and flip every chosen record before writing any, so an error
		// leaves the batch's other writes intact and this one undone.
		type change struct {
			key []byte
			enc []byte
		}
		chosen := pickKeys(candidates, n, rng)
		changes := make([]change, 0, len(chosen))
		for _, key := range chosen {
			rec, err := decodeRecord(b.Get([]byte(key)))
			if err != nil {
				return err
			}
			rec.Value = flipBit(rec.Value, rng) // Checksum kept: that is the fault
			changes = append(changes, change{key: []byte(key), enc: encodeRecord(rec)})
		}
		for _, c := range changes {
			if err := b.Put(c.key, c.enc); err != nil {
				return err
			}
		}
		damaged = chosen
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("corrupt %d records: %w", n, err)
	}
	return damaged, nil
}

func (e *boltEngine) Keys(fn func(key string) bool) error {
	// Read a page of keys per transaction and call fn outside it: fn may write to
	// the engine, which must not wait on a read transaction of its own goroutine.
	var after []byte
	for {
		page := make([]string, 0, keysPageSize)
		err := e.view(func(tx *bolt.Tx) error {
			c := tx.Bucket(dataBucket).Cursor()
			k, _ := c.First()
			if after != nil {
				k, _ = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, _ = c.Next()
				}
			}
			for ; k != nil && len(page) < keysPageSize; k, _ = c.Next() {
				page = append(page, string(k))
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("list keys: %w", err)
		}
		for _, k := range page {
			if !fn(k) {
				return nil
			}
		}
		if len(page) < keysPageSize {
			return nil
		}
		after = []byte(page[len(page)-1])
	}
}

func (e *boltEngine) Len() (int, error) {
	var n int
	err := e.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(dataBucket).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count keys: %w", err)
	}
	return n, nil
}

// Range walks a cursor from from: O(limit) records read, in one read
// transaction. A record that cannot be decoded is returned as a zero record,
// which fails its checksum, so the caller sees a damaged copy.
func (e *boltEngine) Range(from, to string, limit int) ([]KeyRecord, bool, error) {
	var (
		out  []KeyRecord
		more bool
	)
	err := e.view(func(tx *bolt.Tx) error {
		out, more = out[:0], false
		c := tx.Bucket(dataBucket).Cursor()
		for k, raw := c.Seek([]byte(from)); k != nil; k, raw = c.Next() {
			key := string(k)
			if !inRange(key, from, to) {
				break
			}
			if limit > 0 && len(out) == limit {
				more = true
				break
			}
			rec, err := decodeRecord(raw)
			if err != nil {
				rec = Record{Checksum: ^checksum(key, Record{})} // never verifies
			}
			out = append(out, KeyRecord{Key: key, Record: rec})
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("range [%q, %q): %w", from, to, err)
	}
	return out, more, nil
}

func (e *boltEngine) PutHint(target, key string, rec Record) error {
	if err := validateKey("hint target", target); err != nil {
		return fmt.Errorf("put hint: %w", err)
	}
	if err := checkWrite("put hint for "+target, key, rec); err != nil {
		return err
	}
	t, k, enc := []byte(target), []byte(key), encodeRecord(rec)
	err := e.write(func(tx *bolt.Tx) error {
		b, err := tx.Bucket(hintsBucket).CreateBucketIfNotExists(t)
		if err != nil {
			return err
		}
		if raw := b.Get(k); raw != nil {
			if cur, err := decodeRecord(raw); err == nil && !rec.Version.Newer(cur.Version) {
				return nil
			}
		}
		return b.Put(k, enc)
	})
	if err != nil {
		return fmt.Errorf("put hint for %s %q: %w", target, key, err)
	}
	return nil
}

// Hints skips stored hints that cannot be decoded; they cannot be delivered.
func (e *boltEngine) Hints(target string, max int) ([]Hint, error) {
	var hints []Hint
	err := e.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(hintsBucket).Bucket([]byte(target))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, raw := c.First(); k != nil && (max <= 0 || len(hints) < max); k, raw = c.Next() {
			rec, err := decodeRecord(raw)
			if err != nil {
				continue
			}
			hints = append(hints, Hint{Target: target, Key: string(k), Record: rec})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list hints for %s: %w", target, err)
	}
	return hints, nil
}

func (e *boltEngine) DeleteHint(target, key string, v Version) error {
	if target == "" || key == "" {
		return nil // nothing can be stored under an empty name
	}
	t, k := []byte(target), []byte(key)
	err := e.write(func(tx *bolt.Tx) error {
		hints := tx.Bucket(hintsBucket)
		b := hints.Bucket(t)
		if b == nil {
			return nil
		}
		raw := b.Get(k)
		if raw == nil {
			return nil
		}
		if cur, err := decodeRecord(raw); err == nil && cur.Version != v {
			return nil
		}
		if err := b.Delete(k); err != nil {
			return err
		}
		if first, _ := b.Cursor().First(); first == nil {
			return hints.DeleteBucket(t)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete hint for %s %q: %w", target, key, err)
	}
	return nil
}

func (e *boltEngine) HintTargets() ([]string, error) {
	var targets []string
	err := e.view(func(tx *bolt.Tx) error {
		hints := tx.Bucket(hintsBucket)
		return hints.ForEachBucket(func(name []byte) error {
			if first, _ := hints.Bucket(name).Cursor().First(); first != nil {
				targets = append(targets, string(name))
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list hint targets: %w", err)
	}
	return targets, nil
}

// Close stops the committer after the writes it accepted and closes the file.
func (e *boltEngine) Close() error {
	e.closeOnce.Do(func() {
		close(e.stop)
		<-e.loopDone
		if err := e.db.Close(); err != nil {
			e.closeErr = fmt.Errorf("close bolt store: %w", err)
		}
	})
	return e.closeErr
}
