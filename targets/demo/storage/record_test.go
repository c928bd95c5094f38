package storage

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealCoversEveryField(t *testing.T) {
	base := Record{Version: Version{Time: 10, Logical: 2, Node: 3, Seq: 4}, Value: []byte("hello")}
	sealed := Seal("key", base)
	if !sealed.Verify("key") {
		t.Fatal("a sealed record does not verify")
	}
	if sealed.Checksum == 0 {
		t.Fatal("Seal left the checksum zero")
	}
	tests := []struct {
		name   string
		key    string
		change func(r *Record)
	}{
		{name: "key", key: "kez", change: func(*Record) {}},
		{name: "key moved into value", key: "ke", change: func(r *Record) { r.Value = []byte("yhello") }},
		{name: "time", key: "key", change: func(r *Record) { r.Version.Time++ }},
		{name: "logical", key: "key", change: func(r *Record) { r.Version.Logical++ }},
		{name: "node", key: "key", change: func(r *Record) { r.Version.Node++ }},
		{name: "seq", key: "key", change: func(r *Record) { r.Version.Seq++ }},
		{name: "tombstone", key: "key", change: func(r *Record) { r.Tombstone = true }},
		{name: "value", key: "key", change: func(r *Record) { r.Value = []byte("hellp") }},
		{name: "value truncated", key: "key", change: func(r *Record) { r.Value = r.Value[:4] }},
		{name: "checksum", key: "key", change: func(r *Record) { r.Checksum ^= 1 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sealed
			r.Value = bytes.Clone(sealed.Value)
			tt.change(&r)
			if r.Verify(tt.key) {
				t.Errorf("changing the %s does not break the checksum", tt.name)
			}
		})
	}
	// Nil and empty values are the same value.
	if Seal("k", Record{}).Checksum != Seal("k", Record{Value: []byte{}}).Checksum {
		t.Error("nil and empty values seal differently")
	}
}

func TestRecordEncoding(t *testing.T) {
	tests := []Record{
		Seal("k", Record{Version: Version{Time: -5, Logical: 1, Node: 2, Seq: 3}, Value: []byte("value")}),
		Seal("k", Record{Version: Version{Time: 1 << 62}, Tombstone: true}),
		Seal("k", Record{}),
		Seal("k", Record{Version: Version{Logical: 0xFFFFFFFF, Node: 0xFFFFFFFF, Seq: 0xFFFFFFFF}, Value: bytes.Repeat([]byte{0xAB}, 5000)}),
	}
	for _, want := range tests {
		enc := encodeRecord(want)
		if len(enc) != recordHeaderSize+len(want.Value) {
			t.Fatalf("encoding is %d bytes, want %d", len(enc), recordHeaderSize+len(want.Value))
		}
		got, err := decodeRecord(enc)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if got.Version != want.Version || got.Tombstone != want.Tombstone || got.Checksum != want.Checksum || !bytes.Equal(got.Value, want.Value) {
			t.Fatalf("decode(encode(%+v)) = %+v", want, got)
		}
		if !got.Verify("k") {
			t.Fatal("decoded record does not verify")
		}
	}
	for _, bad := range [][]byte{nil, {1, 0, 0}, append([]byte{2}, make([]byte, recordHeaderSize)...)} {
		if _, err := decodeRecord(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("decodeRecord(%v) = %v, want ErrCorrupt", bad, err)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(encodeRecord(Seal("k", Record{Version: Version{Time: 1}, Value: []byte("v")})))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		if again := encodeRecord(r); !bytes.Equal(again[2:], b[2:]) || again[0] != b[0] {
			t.Fatalf("re-encoding %x gives %x", b, again)
		}
	})
}
