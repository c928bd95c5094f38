// Package storage keeps a demo store node's replicas: versioned, checksummed
// records per key, in memory (OpenMemory) or in a bbolt file (OpenBolt), behind one
// Engine interface.
//
// Every write carries a Version, which totally orders the writes of one key, and an
// Engine keeps only the newest: Put applies a record when it is newer than the
// stored one, so replicas converge whatever order writes, read repairs and hinted
// handoffs arrive in. Deletes are records too (tombstones), so a delete is not
// undone by an older write arriving late. Tombstones are kept forever; the demo
// cluster is small and short-lived.
//
// Every record is sealed with a CRC-32C over its key, version, tombstone flag and
// value (Seal). Engines refuse records that do not verify, and Get reports a stored
// copy that no longer verifies with an error wrapping ErrCorrupt, together with the
// damaged record, so the coordinator can count it as a failed replica and repair it
// by writing the good record back (Put replaces a corrupt copy whatever its
// version). Corrupt is the fault that causes this: it flips a bit in stored values
// without resealing them.
//
// Hints are writes a coordinator holds for a home replica it could not reach
// (sloppy quorum); the handoff loop reads them with Hints, delivers them and removes
// each with DeleteHint, which deletes only the version it delivered.
//
//	e, err := storage.OpenBolt(filepath.Join(dir, "n1.db")) // or storage.OpenMemory()
//	if err != nil {
//		return fmt.Errorf("open store: %w", err)
//	}
//	defer e.Close()
//	rec := storage.Seal("k1", storage.Record{Version: v, Value: []byte("hello")})
//	applied, err := e.Put("k1", rec)
//	got, found, err := e.Get("k1") // errors.Is(err, storage.ErrCorrupt) on a damaged copy
//
// The bbolt engine syncs every commit to disk before Put returns, grouping
// concurrent writes into one transaction (group commit), so a Put that returned nil
// survives a crash of the process or the machine.
package storage
