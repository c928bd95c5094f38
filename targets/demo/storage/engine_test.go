package storage

import (
	"bytes"
	"errors"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// engineKinds opens each Engine implementation; every test in engineTests runs
// against all of them.
var engineKinds = []struct {
	name string
	open func(t testing.TB) Engine
}{
	{name: "memory", open: func(t testing.TB) Engine { return OpenMemory() }},
	{name: "bolt", open: func(t testing.TB) Engine {
		e, err := OpenBolt(filepath.Join(t.TempDir(), "store.db"))
		if err != nil {
			t.Fatalf("OpenBolt: %v", err)
		}
		return e
	}},
}

func openEngine(t *testing.T, open func(testing.TB) Engine) Engine {
	t.Helper()
	e := open(t)
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return e
}

func ver(t int64) Version { return Version{Time: t, Node: 1, Seq: uint32(t)} }

func rec(key string, v Version, value string) Record {
	return Seal(key, Record{Version: v, Value: []byte(value)})
}

func tombstone(key string, v Version) Record {
	return Seal(key, Record{Version: v, Tombstone: true})
}

func mustPut(t *testing.T, e Engine, key string, r Record, wantApplied bool) {
	t.Helper()
	applied, err := e.Put(key, r)
	if err != nil {
		t.Fatalf("Put(%q, %v): %v", key, r.Version, err)
	}
	if applied != wantApplied {
		t.Fatalf("Put(%q, %v) applied = %v, want %v", key, r.Version, applied, wantApplied)
	}
}

func mustGet(t *testing.T, e Engine, key string) Record {
	t.Helper()
	r, found, err := e.Get(key)
	if err != nil || !found {
		t.Fatalf("Get(%q) = found %v, err %v; want a stored record", key, found, err)
	}
	return r
}

func wantRecord(t *testing.T, e Engine, key string, want Record) {
	t.Helper()
	got := mustGet(t, e, key)
	if got.Version != want.Version || !bytes.Equal(got.Value, want.Value) || got.Tombstone != want.Tombstone || got.Checksum != want.Checksum {
		t.Fatalf("Get(%q) = %+v, want %+v", key, got, want)
	}
}

var engineTests = []struct {
	name string
	run  func(t *testing.T, e Engine)
}{
	{name: "absent key", run: func(t *testing.T, e Engine) {
		r, found, err := e.Get("nope")
		if err != nil || found || !r.Version.IsZero() {
			t.Fatalf("Get(absent) = %+v, %v, %v", r, found, err)
		}
	}},
	{name: "newer wins, older and equal ignored", run: func(t *testing.T, e Engine) {
		mustPut(t, e, "k", rec("k", ver(5), "five"), true)
		mustPut(t, e, "k", rec("k", ver(7), "seven"), true)
		mustPut(t, e, "k", rec("k", ver(6), "six"), false)
		mustPut(t, e, "k", rec("k", ver(7), "other seven"), false)
		wantRecord(t, e, "k", rec("k", ver(7), "seven"))
		// Every field of Version takes part in the order.
		for _, v := range []Version{
			{Time: 7, Node: 1, Seq: 8},
			{Time: 7, Logical: 1},
			{Time: 8},
		} {
			mustPut(t, e, "k", rec("k", v, "v"+v.String()), true)
			wantRecord(t, e, "k", rec("k", v, "v"+v.String()))
		}
	}},
	{name: "range lists keys in order within [from, to), tombstones included", run: func(t *testing.T, e Engine) {
		for i, k := range []string{"b", "a", "d", "c", "e", "ab"} {
			mustPut(t, e, k, rec(k, ver(int64(i+1)), "v"+k), true)
		}
		mustPut(t, e, "c", rec("c", ver(20), "newer c"), true)
		mustPut(t, e, "d", tombstone("d", ver(21)), true)
		keysOf := func(recs []KeyRecord) string {
			var b strings.Builder
			for _, r := range recs {
				b.WriteString(r.Key + " ")
			}
			return strings.TrimSpace(b.String())
		}
		for _, tt := range []struct {
			from, to string
			limit    int
			want     string
			more     bool
		}{
			{"", "", 0, "a ab b c d e", false},
			{"ab", "d", 0, "ab b c", false},
			{"ab", "d", 2, "ab b", true},
			{"ab", "d", 3, "ab b c", false},
			{"b", "", 2, "b c", true},
			{"zz", "", 0, "", false},
			{"a", "a", 0, "", false},
			{"", "", 6, "a ab b c d e", false},
		} {
			recs, more, err := e.Range(tt.from, tt.to, tt.limit)
			if err != nil {
				t.Fatalf("Range(%q, %q, %d): %v", tt.from, tt.to, tt.limit, err)
			}
			if got := keysOf(recs); got != tt.want || more != tt.more {
				t.Errorf("Range(%q, %q, %d) = [%s] more %v, want [%s] more %v", tt.from, tt.to, tt.limit, got, more, tt.want, tt.more)
			}
			for _, r := range recs {
				if !r.Record.Verify(r.Key) {
					t.Errorf("Range(%q, %q): %q fails its checksum", tt.from, tt.to, r.Key)
				}
			}
		}
		recs, _, err := e.Range("c", "e", 0)
		if err != nil || len(recs) != 2 {
			t.Fatalf("Range(c, e) = %v, %v", recs, err)
		}
		if string(recs[0].Record.Value) != "newer c" || recs[0].Record.Version != ver(20) {
			t.Errorf("Range gave c = %+v, want the newest version", recs[0].Record)
		}
		if !recs[1].Record.Tombstone {
			t.Errorf("Range gave d = %+v, want its tombstone", recs[1].Record)
		}
		recs[0].Record.Value[0] = 'X' // the caller's copy
		if got := mustGet(t, e, "c"); string(got.Value) != "newer c" {
			t.Errorf("changing a Range result changed the store: %q", got.Value)
		}
	}},
	{name: "zero version stores into an empty slot only", run: func(t *testing.T, e Engine) {
		mustPut(t, e, "z", rec("z", Version{}, "zero"), true)
		mustPut(t, e, "z", rec("z", Version{}, "zero again"), false)
		wantRecord(t, e, "z", rec("z", Version{}, "zero"))
	}},
	{name: "tombstones", run: func(t *testing.T, e Engine) {
		mustPut(t, e, "k", rec("k", ver(1), "alive"), true)
		mustPut(t, e, "k", tombstone("k", ver(2)), true)
		got := mustGet(t, e, "k")
		if !got.Tombstone || len(got.Value) != 0 {
			t.Fatalf("after delete Get = %+v, want a tombstone", got)
		}
		mustPut(t, e, "k", rec("k", ver(1), "late old write"), false)
		if !mustGet(t, e, "k").Tombstone {
			t.Fatal("an older write resurrected a deleted key")
		}
		mustPut(t, e, "k", rec("k", ver(3), "reborn"), true)
		wantRecord(t, e, "k", rec("k", ver(3), "reborn"))
		// A tombstone for a key never written is stored too.
		mustPut(t, e, "never", tombstone("never", ver(9)), true)
		if !mustGet(t, e, "never").Tombstone {
			t.Fatal("tombstone of an unwritten key not stored")
		}
	}},
	{name: "empty and nil values", run: func(t *testing.T, e Engine) {
		mustPut(t, e, "empty", Seal("empty", Record{Version: ver(1), Value: []byte{}}), true)
		if got := mustGet(t, e, "empty"); len(got.Value) != 0 || got.Tombstone {
			t.Fatalf("Get(empty) = %+v", got)
		}
		mustPut(t, e, "nil", Seal("nil", Record{Version: ver(1)}), true)
		if got := mustGet(t, e, "nil"); len(got.Value) != 0 {
			t.Fatalf("Get(nil) = %+v", got)
		}
	}},
	{name: "put refuses records that fail their checksum", run: func(t *testing.T, e Engine) {
		bad := rec("k", ver(1), "value")
		bad.Value = []byte("valuE")
		if applied, err := e.Put("k", bad); !errors.Is(err, ErrCorrupt) || applied {
			t.Fatalf("Put(bad checksum) = %v, %v; want ErrCorrupt", applied, err)
		}
		// Sealed for another key.
		if _, err := e.Put("k", rec("other", ver(1), "value")); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Put(record sealed for another key) = %v, want ErrCorrupt", err)
		}
		if _, found, _ := e.Get("k"); found {
			t.Fatal("a refused record was stored")
		}
		if err := e.PutHint("n2", "k", bad); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("PutHint(bad checksum) = %v, want ErrCorrupt", err)
		}
	}},
	{name: "invalid keys", run: func(t *testing.T, e Engine) {
		long := string(make([]byte, MaxKeySize+1))
		for _, key := range []string{"", long} {
			if _, err := e.Put(key, rec(key, ver(1), "v")); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("Put(key of %d bytes) = %v, want ErrInvalidKey", len(key), err)
			}
			if err := e.PutHint("n2", key, rec(key, ver(1), "v")); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("PutHint(key of %d bytes) = %v, want ErrInvalidKey", len(key), err)
			}
			if err := e.PutHint(key, "k", rec("k", ver(1), "v")); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("PutHint(target of %d bytes) = %v, want ErrInvalidKey", len(key), err)
			}
		}
		maxKey := string(bytes.Repeat([]byte("x"), MaxKeySize))
		mustPut(t, e, maxKey, rec(maxKey, ver(1), "v"), true)
	}},
	{name: "callers cannot alias stored values", run: func(t *testing.T, e Engine) {
		r := rec("k", ver(1), "original")
		mustPut(t, e, "k", r, true)
		copy(r.Value, "XXXXXXXX")
		got := mustGet(t, e, "k")
		copy(got.Value, "YYYYYYYY")
		if again := mustGet(t, e, "k"); string(again.Value) != "original" {
			t.Fatalf("stored value changed through a caller's slice: %q", again.Value)
		}
		h := rec("h", ver(1), "hinted")
		if err := e.PutHint("n2", "h", h); err != nil {
			t.Fatal(err)
		}
		copy(h.Value, "XXXXXX")
		hints, err := e.Hints("n2", 0)
		if err != nil || len(hints) != 1 {
			t.Fatalf("Hints = %v, %v", hints, err)
		}
		copy(hints[0].Record.Value, "YYYYYY")
		if hints, _ := e.Hints("n2", 0); string(hints[0].Record.Value) != "hinted" {
			t.Fatalf("stored hint changed through a caller's slice: %q", hints[0].Record.Value)
		}
	}},
	{name: "corrupt is detected and repaired", run: func(t *testing.T, e Engine) {
		good := map[string]Record{}
		for i := range 10 {
			key := "k" + strconv.Itoa(i)
			good[key] = rec(key, ver(int64(i+1)), fmt.Sprintf("value-%d", i))
			mustPut(t, e, key, good[key], true)
		}
		mustPut(t, e, "dead", tombstone("dead", ver(1)), true)
		mustPut(t, e, "blank", Seal("blank", Record{Version: ver(1)}), true)

		damaged, err := e.Corrupt(3, rand.New(rand.NewPCG(7, 7)))
		if err != nil {
			t.Fatalf("Corrupt: %v", err)
		}
		if len(damaged) != 3 || len(slices.Compact(slices.Sorted(slices.Values(damaged)))) != 3 {
			t.Fatalf("Corrupt(3) damaged %v, want 3 distinct keys", damaged)
		}
		for key, want := range good {
			got, found, err := e.Get(key)
			if !slices.Contains(damaged, key) {
				if err != nil || !found || !bytes.Equal(got.Value, want.Value) {
					t.Fatalf("undamaged %q: Get = %+v, %v, %v", key, got, found, err)
				}
				continue
			}
			if !errors.Is(err, ErrCorrupt) || !found {
				t.Fatalf("damaged %q: Get error = %v, found = %v; want ErrCorrupt", key, err, found)
			}
			if got.Version != want.Version || got.Checksum != want.Checksum || len(got.Value) != len(want.Value) {
				t.Fatalf("damaged %q: Get returned %+v, want the stored record %+v with one bit flipped", key, got, want)
			}
			if diff := bitDiff(got.Value, want.Value); diff != 1 {
				t.Fatalf("damaged %q: %d bits differ, want 1", key, diff)
			}
		}
		for _, key := range []string{"dead", "blank"} {
			if _, _, err := e.Get(key); err != nil {
				t.Fatalf("Corrupt damaged %q, which has no value: %v", key, err)
			}
		}

		// Repair: the equal version is applied over a corrupt copy, and so is a
		// newer one; an older one is refused, or a delayed write would roll the
		// replica back behind the version it claims (and reads would go
		// backwards once the older copy is served).
		mustPut(t, e, damaged[0], good[damaged[0]], true)
		wantRecord(t, e, damaged[0], good[damaged[0]])
		older := rec(damaged[1], Version{}, "older")
		mustPut(t, e, damaged[1], older, false)
		if _, _, err := e.Get(damaged[1]); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("an older write replaced the corrupt copy of %q: Get error = %v", damaged[1], err)
		}
		newer := rec(damaged[1], ver(good[damaged[1]].Version.Time+1), "newer")
		mustPut(t, e, damaged[1], newer, true)
		wantRecord(t, e, damaged[1], newer)
		// Once repaired, the usual rule is back.
		mustPut(t, e, damaged[0], good[damaged[0]], false)

		// Corrupt picks only records that still verify: the 7 never damaged and
		// the 2 repaired; the third damaged one stays as it is.
		rest, err := e.Corrupt(100, rand.New(rand.NewPCG(8, 8)))
		if err != nil {
			t.Fatalf("Corrupt(100): %v", err)
		}
		if len(rest) != 9 {
			t.Fatalf("Corrupt(100) damaged %d keys %v, want the 9 that still verified", len(rest), rest)
		}
		if more, err := e.Corrupt(5, rand.New(rand.NewPCG(9, 9))); err != nil || len(more) != 0 {
			t.Fatalf("Corrupt with nothing left = %v, %v; want none", more, err)
		}
		if none, err := e.Corrupt(0, rand.New(rand.NewPCG(9, 9))); err != nil || len(none) != 0 {
			t.Fatalf("Corrupt(0) = %v, %v", none, err)
		}
	}},
	{name: "hints keep the newest and delete only the delivered version", run: func(t *testing.T, e Engine) {
		if err := e.PutHint("n3", "a", rec("a", ver(2), "a2")); err != nil {
			t.Fatal(err)
		}
		if err := e.PutHint("n3", "a", rec("a", ver(1), "a1")); err != nil { // older: ignored
			t.Fatal(err)
		}
		if err := e.PutHint("n3", "b", rec("b", ver(1), "b1")); err != nil {
			t.Fatal(err)
		}
		if err := e.PutHint("n3", "c", tombstone("c", ver(4))); err != nil {
			t.Fatal(err)
		}
		if err := e.PutHint("n5", "a", rec("a", ver(9), "a9")); err != nil {
			t.Fatal(err)
		}
		targets, err := e.HintTargets()
		if err != nil || !slices.Equal(targets, []string{"n3", "n5"}) {
			t.Fatalf("HintTargets = %v, %v; want [n3 n5]", targets, err)
		}
		hints, err := e.Hints("n3", 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := hintKeys(hints); !slices.Equal(got, []string{"a", "b", "c"}) {
			t.Fatalf("Hints(n3) keys = %v", got)
		}
		for _, h := range hints {
			if h.Target != "n3" || !h.Record.Verify(h.Key) {
				t.Fatalf("hint %+v has the wrong target or fails its checksum", h)
			}
		}
		if hints[0].Record.Version != ver(2) || string(hints[0].Record.Value) != "a2" {
			t.Fatalf("hint for a = %+v, want the newest (a2)", hints[0].Record)
		}
		if !hints[2].Record.Tombstone {
			t.Fatalf("hint for c = %+v, want a tombstone", hints[2].Record)
		}
		if limited, _ := e.Hints("n3", 2); len(limited) != 2 {
			t.Fatalf("Hints(n3, 2) returned %d", len(limited))
		}
		if none, err := e.Hints("n9", 10); err != nil || len(none) != 0 {
			t.Fatalf("Hints(unknown target) = %v, %v", none, err)
		}

		// A newer hint arrived while version 2 was being delivered: keep it.
		if err := e.PutHint("n3", "a", rec("a", ver(3), "a3")); err != nil {
			t.Fatal(err)
		}
		if err := e.DeleteHint("n3", "a", ver(2)); err != nil {
			t.Fatal(err)
		}
		if hints, _ := e.Hints("n3", 0); hints[0].Record.Version != ver(3) {
			t.Fatalf("DeleteHint of a stale version removed the newer hint: %+v", hints)
		}
		for _, d := range []struct {
			key string
			v   Version
		}{{"a", ver(3)}, {"b", ver(1)}, {"c", ver(4)}, {"missing", ver(1)}} {
			if err := e.DeleteHint("n3", d.key, d.v); err != nil {
				t.Fatalf("DeleteHint(n3, %s): %v", d.key, err)
			}
		}
		if err := e.DeleteHint("nobody", "a", ver(1)); err != nil {
			t.Fatalf("DeleteHint(unknown target): %v", err)
		}
		if hints, _ := e.Hints("n3", 0); len(hints) != 0 {
			t.Fatalf("hints left for n3: %+v", hints)
		}
		if targets, _ := e.HintTargets(); !slices.Equal(targets, []string{"n5"}) {
			t.Fatalf("HintTargets after delivering n3's = %v, want [n5]", targets)
		}
		// Hints do not touch data.
		if n, _ := e.Len(); n != 0 {
			t.Fatalf("Len = %d after hints only", n)
		}
	}},
	{name: "keys and len", run: func(t *testing.T, e Engine) {
		if n, err := e.Len(); err != nil || n != 0 {
			t.Fatalf("empty Len = %d, %v", n, err)
		}
		const total, writers = keysPageSize + 100, 4 // more than one page of the bolt engine's Keys
		var want []string
		for i := range total {
			want = append(want, fmt.Sprintf("key-%04d", i))
		}
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := w; i < total; i += writers {
					r := rec(want[i], ver(1), "v")
					if i%10 == 0 {
						r = tombstone(want[i], ver(1))
					}
					if applied, err := e.Put(want[i], r); err != nil || !applied {
						t.Errorf("Put(%q) = %v, %v", want[i], applied, err)
						return
					}
				}
			})
		}
		wg.Wait()
		mustPut(t, e, "key-0001", rec("key-0001", ver(2), "v2"), true) // overwrite: no new key
		if n, err := e.Len(); err != nil || n != len(want) {
			t.Fatalf("Len = %d, %v; want %d", n, err, len(want))
		}
		var got []string
		if err := e.Keys(func(k string) bool { got = append(got, k); return true }); err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			t.Fatalf("Keys returned %d keys, want %d (first %v)", len(got), len(want), got[:min(3, len(got))])
		}
		calls := 0
		if err := e.Keys(func(string) bool { calls++; return calls < 5 }); err != nil || calls != 5 {
			t.Fatalf("Keys stopped after %d calls (err %v), want 5", calls, err)
		}
		// fn may write to the engine.
		written := 0
		err := e.Keys(func(k string) bool {
			if _, err := e.Put(k, rec(k, ver(10), "rewritten")); err != nil {
				t.Errorf("Put inside Keys: %v", err)
				return false
			}
			written++
			return written < 50
		})
		if err != nil || written != 50 {
			t.Fatalf("Keys with writes: %d written, err %v", written, err)
		}
	}},
	{name: "concurrent writers converge on the newest", run: func(t *testing.T, e Engine) {
		const writers, perWriter = 8, 40
		var wg sync.WaitGroup
		var mu sync.Mutex
		appliedNewest := 0
		for w := range writers {
			wg.Go(func() {
				for i := range perWriter {
					key := "shared-" + strconv.Itoa(i%4)
					v := Version{Time: int64(i), Node: uint32(w + 1), Seq: uint32(i)}
					r := rec(key, v, fmt.Sprintf("w%d-i%d", w, i))
					applied, err := e.Put(key, r)
					if err != nil {
						t.Errorf("Put: %v", err)
						return
					}
					if applied && i >= perWriter-4 && w == writers-1 {
						mu.Lock()
						appliedNewest++
						mu.Unlock()
					}
					if err := e.PutHint("n9", key, r); err != nil {
						t.Errorf("PutHint: %v", err)
						return
					}
				}
			})
		}
		wg.Wait()
		if appliedNewest != 4 {
			t.Errorf("the newest write of each key was applied %d times, want 4", appliedNewest)
		}
		hints, err := e.Hints("n9", 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 4 {
			key := "shared-" + strconv.Itoa(i)
			wantV := Version{Time: int64(perWriter - 4 + i), Node: writers, Seq: uint32(perWriter - 4 + i)}
			want := rec(key, wantV, fmt.Sprintf("w%d-i%d", writers-1, perWriter-4+i))
			wantRecord(t, e, key, want)
			if hints[i].Key != key || hints[i].Record.Version != wantV {
				t.Errorf("hint %d = %+v, want %s at %v", i, hints[i], key, wantV)
			}
		}
	}},
	{name: "closed engine refuses work", run: func(t *testing.T, e Engine) {
		mustPut(t, e, "k", rec("k", ver(1), "v"), true)
		if err := e.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if _, err := e.Put("k", rec("k", ver(2), "v")); !errors.Is(err, ErrClosed) {
			t.Errorf("Put after Close = %v, want ErrClosed", err)
		}
		if _, _, err := e.Get("k"); !errors.Is(err, ErrClosed) {
			t.Errorf("Get after Close = %v, want ErrClosed", err)
		}
		if err := e.PutHint("n2", "k", rec("k", ver(2), "v")); !errors.Is(err, ErrClosed) {
			t.Errorf("PutHint after Close = %v, want ErrClosed", err)
		}
		if _, _, err := e.Range("", "", 0); !errors.Is(err, ErrClosed) {
			t.Errorf("Range after Close = %v, want ErrClosed", err)
		}
		if _, err := e.Len(); !errors.Is(err, ErrClosed) {
			t.Errorf("Len after Close = %v, want ErrClosed", err)
		}
		if err := e.Close(); err != nil {
			t.Errorf("second Close = %v, want nil", err)
		}
	}},
}

func TestEngines(t *testing.T) {
	for _, kind := range engineKinds {
		t.Run(kind.name, func(t *testing.T) {
			for _, tt := range engineTests {
				t.Run(tt.name, func(t *testing.T) {
					tt.run(t, openEngine(t, kind.open))
				})
			}
		})
	}
}

// TestCorruptIsDeterministicAcrossEngines: the same contents and seed damage the
// same keys and bits in every engine, so a run's corrupt fault replays exactly.
func TestCorruptIsDeterministicAcrossEngines(t *testing.T) {
	var results [][]Record
	var damagedKeys [][]string
	for _, kind := range engineKinds {
		e := openEngine(t, kind.open)
		for i := range 50 {
			key := "k" + strconv.Itoa(i)
			mustPut(t, e, key, rec(key, ver(int64(i+1)), strconv.Itoa(i*i*i)), true)
		}
		damaged, err := e.Corrupt(7, rand.New(rand.NewPCG(42, 1)))
		if err != nil {
			t.Fatalf("%s: Corrupt: %v", kind.name, err)
		}
		var recs []Record
		for _, key := range damaged {
			r, _, err := e.Get(key)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("%s: %q not corrupt after Corrupt: %v", kind.name, key, err)
			}
			recs = append(recs, r)
		}
		damagedKeys = append(damagedKeys, damaged)
		results = append(results, recs)
	}
	for i := 1; i < len(results); i++ {
		if !slices.Equal(damagedKeys[i], damagedKeys[0]) {
			t.Fatalf("%s damaged %v, %s damaged %v", engineKinds[i].name, damagedKeys[i], engineKinds[0].name, damagedKeys[0])
		}
		for j := range results[i] {
			if !bytes.Equal(results[i][j].Value, results[0][j].Value) {
				t.Fatalf("%s and %s flipped different bits of %q", engineKinds[i].name, engineKinds[0].name, damagedKeys[0][j])
			}
		}
	}
}

func hintKeys(hints []Hint) []string {
	keys := make([]string, len(hints))
	for i, h := range hints {
		keys[i] = h.Key
	}
	return keys
}

func bitDiff(a, b []byte) int {
	n := 0
	for i := range a {
		n += bits.OnesCount8(a[i] ^ b[i])
	}
	return n
}

func TestGetOfUnstorableKeysIsNotFound(t *testing.T) {
	for _, kind := range engineKinds {
		e := openEngine(t, kind.open)
		for _, key := range []string{"", string(make([]byte, MaxKeySize+1))} {
			if _, found, err := e.Get(key); found || err != nil {
				t.Errorf("%s: Get(key of %d bytes) = found %v, err %v; want not found", kind.name, len(key), found, err)
			}
		}
	}
}
