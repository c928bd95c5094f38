package storage

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync/atomic"
	"testing"
)

const benchKeys = 1 << 16

var benchKeyNames = func() []string {
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("bench-key-%05d", i)
	}
	return keys
}()

var benchValue = []byte("0123456789abcdef0123456789abcdef") // 32 bytes, the workload's default

// putLoop writes sealed 32-byte values; each op seals a new version, as a
// coordinator would.
func putLoop(b *testing.B, e Engine, parallel bool) {
	var worker atomic.Uint32
	body := func(next func() bool) {
		node := worker.Add(1)
		for seq := uint32(0); next(); seq++ {
			key := benchKeyNames[(seq*2654435761+node*40503)%benchKeys]
			r := Seal(key, Record{Version: Version{Time: int64(seq), Node: node, Seq: seq}, Value: benchValue})
			if _, err := e.Put(key, r); err != nil {
				b.Error(err)
				return
			}
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if parallel {
		b.RunParallel(func(pb *testing.PB) { body(pb.Next) })
	} else {
		n := 0
		body(func() bool { n++; return n <= b.N })
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func BenchmarkMemoryPutParallel(b *testing.B) {
	putLoop(b, OpenMemory(), true)
}

func BenchmarkMemoryGetParallel(b *testing.B) {
	e := OpenMemory()
	for i, key := range benchKeyNames {
		if _, err := e.Put(key, Seal(key, Record{Version: Version{Time: int64(i)}, Value: benchValue})); err != nil {
			b.Fatal(err)
		}
	}
	var seed atomic.Uint64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(seed.Add(1), 0))
		for pb.Next() {
			if _, found, err := e.Get(benchKeyNames[rng.IntN(benchKeys)]); err != nil || !found {
				b.Errorf("Get: found %v, err %v", found, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

func openBenchBolt(b *testing.B) Engine {
	e, err := OpenBolt(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = e.Close() })
	return e
}

// BenchmarkBoltPut: one writer pays one fsync per Put.
func BenchmarkBoltPut(b *testing.B) {
	putLoop(b, openBenchBolt(b), false)
}

// BenchmarkBoltPutParallel: 16 writers per CPU share fsyncs through group commit.
func BenchmarkBoltPutParallel(b *testing.B) {
	b.SetParallelism(16)
	putLoop(b, openBenchBolt(b), true)
}
