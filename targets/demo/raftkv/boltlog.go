package raftkv

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hashicorp/raft"
	bolt "go.etcd.io/bbolt"
)

// errKeyNotFound is the error hashicorp/raft expects from a StableStore
// asked for a key it never stored: raft compares the message, "not found".
var errKeyNotFound = errors.New("not found")

var (
	bucketLogs   = []byte("logs")
	bucketStable = []byte("stable")
)

// BoltLogStore is a raft.LogStore and raft.StableStore in one bbolt file,
// for groups under disk persistence: a node that restarts keeps its term,
// its vote and its log, which Raft's safety needs. Every call is one
// transaction, synced to disk before it returns.
type BoltLogStore struct {
	db *bolt.DB
}

// OpenBoltLogStore opens (or creates) the store at path.
func OpenBoltLogStore(path string) (*BoltLogStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 0})
	if err != nil {
		return nil, fmt.Errorf("open raft log %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketLogs); err != nil {
			return err
		}
		_, err := tx.CreateBucketIfNotExists(bucketStable)
		return err
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open raft log %s: %w", path, err)
	}
	return &BoltLogStore{db: db}, nil
}

// Close closes the file.
func (b *BoltLogStore) Close() error { return b.db.Close() }

func indexKey(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

// FirstIndex implements raft.LogStore.
func (b *BoltLogStore) FirstIndex() (uint64, error) {
	var i uint64
	err := b.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketLogs).Cursor().First(); k != nil {
			i = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return i, err
}

// LastIndex implements raft.LogStore.
func (b *BoltLogStore) LastIndex() (uint64, error) {
	var i uint64
	err := b.db.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketLogs).Cursor().Last(); k != nil {
			i = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	return i, err
}

// GetLog implements raft.LogStore.
func (b *BoltLogStore) GetLog(index uint64, out *raft.Log) error {
	return b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketLogs).Get(indexKey(index))
		if v == nil {
			return raft.ErrLogNotFound
		}
		return json.Unmarshal(v, out)
	})
}

// StoreLog implements raft.LogStore.
func (b *BoltLogStore) StoreLog(l *raft.Log) error { return b.StoreLogs([]*raft.Log{l}) }

// StoreLogs implements raft.LogStore.
func (b *BoltLogStore) StoreLogs(logs []*raft.Log) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket(bucketLogs)
		for _, l := range logs {
			v, err := json.Marshal(l)
			if err != nil {
				return err
			}
			if err := bk.Put(indexKey(l.Index), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// DeleteRange implements raft.LogStore.
func (b *BoltLogStore) DeleteRange(min, max uint64) error {
	return b.db.Update(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketLogs).Cursor()
		for k, _ := c.Seek(indexKey(min)); k != nil && binary.BigEndian.Uint64(k) <= max; k, _ = c.Next() {
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// Set implements raft.StableStore.
func (b *BoltLogStore) Set(key, val []byte) error {
	return b.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketStable).Put(key, val) })
}

// Get implements raft.StableStore.
func (b *BoltLogStore) Get(key []byte) ([]byte, error) {
	var out []byte
	err := b.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStable).Get(key)
		if v == nil {
			return errKeyNotFound
		}
		out = append([]byte(nil), v...)
		return nil
	})
	return out, err
}

// SetUint64 implements raft.StableStore.
func (b *BoltLogStore) SetUint64(key []byte, val uint64) error {
	return b.Set(key, binary.BigEndian.AppendUint64(nil, val))
}

// GetUint64 implements raft.StableStore.
func (b *BoltLogStore) GetUint64(key []byte) (uint64, error) {
	v, err := b.Get(key)
	if err != nil {
		return 0, err
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("stable key %q holds %d bytes, not 8", key, len(v))
	}
	return binary.BigEndian.Uint64(v), nil
}
