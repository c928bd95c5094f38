package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sync"
)

// ErrCorrupt is wrapped by errors about records that fail their checksum: a stored
// copy found damaged by Get, or a record handed to Put or PutHint that does not
// verify.
var ErrCorrupt = errors.New("record fails its checksum")

// Record is one stored write of a key.
type Record struct {
	Version   Version
	Value     []byte
	Tombstone bool   // a delete
	Checksum  uint32 // CRC-32C over key, version, tombstone flag and value
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Seal returns r with its Checksum computed for key.
func Seal(key string, r Record) Record {
	r.Checksum = checksum(key, r)
	return r
}

// Verify reports whether r's Checksum matches key and r's contents.
func (r Record) Verify(key string) bool {
	return checksum(key, r) == r.Checksum
}

// checksum covers uvarint(len(key)) key, the version's fields big-endian, the
// tombstone flag and the value. The key's length prefix keeps key and value
// boundaries unambiguous.
func checksum(key string, r Record) uint32 {
	// crc32.Update keeps its argument on the heap; a pooled scratch buffer saves
	// an allocation per call on the read and write paths.
	bp := checksumScratch.Get().(*[]byte)
	b := binary.AppendUvarint((*bp)[:0], uint64(len(key)))
	b = append(b, key...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Version.Time))
	b = binary.BigEndian.AppendUint32(b, r.Version.Logical)
	b = binary.BigEndian.AppendUint32(b, r.Version.Node)
	b = binary.BigEndian.AppendUint32(b, r.Version.Seq)
	b = append(b, boolByte(r.Tombstone))
	crc := crc32.Update(0, castagnoli, b)
	crc = crc32.Update(crc, castagnoli, r.Value)
	if cap(b) <= maxPooledScratch {
		*bp = b
		checksumScratch.Put(bp)
	}
	return crc
}

const maxPooledScratch = 4096

var checksumScratch = sync.Pool{New: func() any {
	b := make([]byte, 0, 128)
	return &b
}}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// clone returns r with its own copy of Value, so callers and engines never share
// a backing array.
func (r Record) clone() Record {
	if r.Value != nil {
		r.Value = append(make([]byte, 0, len(r.Value)), r.Value...)
	}
	return r
}

// The on-disk encoding of a record (bbolt engine), fixed-width big-endian:
//
//	[0]      format (recordFormatV1)
//	[1]      flags (bit 0: tombstone)
//	[2:10]   Version.Time
//	[10:14]  Version.Logical
//	[14:18]  Version.Node
//	[18:22]  Version.Seq
//	[22:26]  Checksum
//	[26:]    Value
const (
	recordFormatV1    = 1
	flagTombstone     = 1 << 0
	recordHeaderSize  = 26
	recordValueOffset = recordHeaderSize
)

// errUndecodable is wrapped, together with ErrCorrupt, when stored bytes are not a
// record at all.
var errUndecodable = errors.New("undecodable record")

func encodeRecord(r Record) []byte {
	b := make([]byte, recordHeaderSize, recordHeaderSize+len(r.Value))
	b[0] = recordFormatV1
	if r.Tombstone {
		b[1] = flagTombstone
	}
	binary.BigEndian.PutUint64(b[2:], uint64(r.Version.Time))
	binary.BigEndian.PutUint32(b[10:], r.Version.Logical)
	binary.BigEndian.PutUint32(b[14:], r.Version.Node)
	binary.BigEndian.PutUint32(b[18:], r.Version.Seq)
	binary.BigEndian.PutUint32(b[22:], r.Checksum)
	return append(b, r.Value...)
}

// decodeRecord decodes b into a Record whose Value is a copy (bbolt's slices are
// valid only inside their transaction).
func decodeRecord(b []byte) (Record, error) {
	if len(b) < recordHeaderSize {
		return Record{}, fmt.Errorf("%w: %d bytes, shorter than the %d-byte header: %w", errUndecodable, len(b), recordHeaderSize, ErrCorrupt)
	}
	if b[0] != recordFormatV1 {
		return Record{}, fmt.Errorf("%w: unknown format %d: %w", errUndecodable, b[0], ErrCorrupt)
	}
	r := Record{
		Version: Version{
			Time:    int64(binary.BigEndian.Uint64(b[2:])),
			Logical: binary.BigEndian.Uint32(b[10:]),
			Node:    binary.BigEndian.Uint32(b[14:]),
			Seq:     binary.BigEndian.Uint32(b[18:]),
		},
		Tombstone: b[1]&flagTombstone != 0,
		Checksum:  binary.BigEndian.Uint32(b[22:]),
	}
	if len(b) > recordHeaderSize {
		r.Value = append([]byte(nil), b[recordHeaderSize:]...)
	}
	return r, nil
}
