package workload

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/internal/keyspace"
)

// Distribution is how keys are chosen.
type Distribution string

// Key distributions.
const (
	// DistributionUniform picks every key with the same probability.
	DistributionUniform Distribution = "uniform"
	// DistributionZipf picks key k with probability proportional to
	// (ZipfV + k)^(-ZipfS) (math/rand/v2's Zipf): k0 is the hottest key.
	DistributionZipf Distribution = "zipf"
)

// Key patterns (Config.KeyPattern).
const (
	// KeyPatternRandom draws every operation's key by the distribution.
	KeyPatternRandom = keyspace.Random
	// KeyPatternSequential makes every put write the next key of an
	// increasing sequence of zero-padded names (k000, k001, ...; see
	// package keyspace), as inserts keyed by time or an auto-increment id
	// do, and every get and delete use one of the RecentKeys newest.
	KeyPatternSequential = keyspace.Sequential
)

// Defaults filled in by Config.Validate. They are exported so that flags and the
// experiment file can use the same values.
const (
	DefaultKeys         = keyspace.DefaultKeys
	DefaultDistribution = DistributionUniform
	// DefaultReadRatio is the read share the experiment file uses when it says
	// nothing. Validate does not fill it: 0 is a valid ratio (writes only).
	DefaultReadRatio = 0.9
	DefaultValueSize = 32
	DefaultTimeout   = time.Second
	// DefaultZipfS and DefaultZipfV: with 1000 keys, k0 draws about 18 % of the
	// operations and the ten hottest keys about 48 %.
	DefaultZipfS = 1.1
	DefaultZipfV = 1.0
	// DefaultMaxLateness is how long a request may wait for a free in-flight slot
	// past its intended send time before it is dropped.
	DefaultMaxLateness = 10 * time.Millisecond
	// MinMaxInFlight and MaxMaxInFlight bound the default in-flight limit,
	// 4 × rate × timeout. Every request in flight may hold a connection, and
	// through the fault plane's proxy in the same process two more file
	// descriptors: 4096 stays well inside common descriptor limits.
	MinMaxInFlight = 16
	MaxMaxInFlight = 4096
)

// Limits checked by Validate.
const (
	MaxRate      = 1e6
	MaxValueSize = 1 << 20
)

// Config describes one workload run. The zero values of optional fields are
// replaced by defaults in Validate.
type Config struct {
	// Rate is the constant arrival rate in requests per second (open model):
	// request i is intended at i/Rate after the start. Required.
	Rate float64
	// Warmup is a phase before the measured one. Its requests are sent like any
	// other, recorded in the history, and reported apart (Second.Warmup,
	// Summary.Warmup) so that SLOs can leave them out. The arrival rate ramps
	// up linearly from 0 to Rate over the warmup (unless FlatWarmup), so a
	// cold system (connections, pools, caches, a just-started runtime) is not
	// met with the full rate in its first instant, which can trip its own
	// defences (timeouts, breakers) before it ever ran warm.
	Warmup time.Duration
	// FlatWarmup sends the warmup at the full rate from the start.
	FlatWarmup bool
	// Duration is the length of the measured phase. Required.
	Duration time.Duration

	// Kind is what the operations act on: KindKV (the default) puts, gets
	// and deletes values; KindCounter increments and decrements CRDT
	// counters and reads them; KindLWWCounter does the same to counters
	// kept as last-write-wins registers (which lose concurrent increments);
	// KindSet adds and removes elements of CRDT sets and reads them (the
	// demo cluster's eventual mode); KindScan is KindKV with a share of
	// range queries (ScanRatio, ScanWidth, ScanLimit).
	Kind string
	// ScanRatio is the share of a scan workload's operations that are
	// scans, in (0, 1]; the rest are gets, puts and deletes as ReadRatio
	// and DeleteRatio say. Kind scan only; default DefaultScanRatio.
	ScanRatio float64
	// ScanWidth is how many of the workload's keys a scan's range spans
	// (in bytewise key order), 1 to Keys; default DefaultScanWidth (at most
	// Keys). Kind scan only.
	ScanWidth int
	// ScanLimit is the most keys a scan asks for, 1 to MaxScanLimit;
	// default DefaultScanLimit. Kind scan only.
	ScanLimit int
	// Keys is the number of keys, named k0..k{Keys-1}.
	Keys int
	// Distribution picks keys: uniform (default) or zipf.
	Distribution Distribution
	// KeyPattern is KeyPatternRandom ("" too) or KeyPatternSequential
	// (kind kv only).
	KeyPattern string
	// ZipfS (> 1) and ZipfV (>= 1) parameterise the zipf distribution.
	ZipfS, ZipfV float64
	// ReadRatio is the share of gets, in [0, 1]. Zero means writes only.
	ReadRatio float64
	// DeleteRatio is the share of deletes, in [0, 1 - ReadRatio]; the rest are puts.
	DeleteRatio float64
	// MissRatio is the share of gets that read a key no operation writes,
	// in [0, 1]: MissingKeyName of the drawn key number (a cache
	// penetration flood). Zero reads only k0..k{Keys-1}.
	MissRatio float64
	// ValueSize is the size of written values in bytes.
	ValueSize int

	// Timeout bounds each request, counted from its actual send time.
	Timeout time.Duration
	// MaxInFlight bounds concurrent requests (the worker pool). The default is
	// 4 × Rate × Timeout, at least MinMaxInFlight and at most MaxMaxInFlight.
	MaxInFlight int
	// MaxLateness is the drop rule: a request that has found no free worker by
	// its intended time plus MaxLateness is dropped and counted, never queued.
	MaxLateness time.Duration

	// LatencyThresholds are the latencies for which each OpStats counts exactly
	// how many good requests were slower (SlowerThan), for latency SLIs.
	LatencyThresholds []time.Duration

	// History, when set, receives every operation as one JSON line (a
	// history.ndjson line) as it completes. It is written through a buffer and flushed
	// before Run returns; Run does not close it.
	History io.Writer
	// OnSecond, when set, is called with every one-second bucket as it closes
	// (its time has passed and all its requests have completed, so up to about
	// Timeout after its end), in order, from one goroutine. It must not block
	// for long: later seconds wait for it. The Second is never modified
	// afterwards and may be kept. Run returns only after the last call.
	OnSecond func(*Second)

	// Classes, when set, split the requests into named classes (an HTTP
	// workload's request classes): each operation is given one, drawn by
	// weight from the same seeded source, and every Second and Phase keeps
	// stats per class (Classes) beside the stats per kind.
	Classes []Class
}

// Workload kinds (Config.Kind).
const (
	KindKV         = "kv"
	KindCounter    = "counter"
	KindLWWCounter = "lww-counter"
	KindSet        = "set"
	KindScan       = "scan"
)

// The scan workload's defaults and bounds (Config.ScanRatio, ScanWidth,
// ScanLimit). MaxScanLimit is the demo gateways' limit.
const (
	DefaultScanRatio = 0.1
	DefaultScanWidth = 10
	DefaultScanLimit = 100
	MaxScanLimit     = 1000
)

// isCRDT reports whether kind updates CRDT values (/crdt/{kind}/{key}).
func isCRDT(kind string) bool {
	return kind == KindCounter || kind == KindLWWCounter || kind == KindSet
}

// Class is one request class and its relative share of the rate.
type Class struct {
	Name   string
	Weight float64
}

// Validate fills defaults and checks every field, naming the field and the bound
// in its error.
func (c *Config) Validate() error {
	c.Kind = cmp.Or(c.Kind, KindKV)
	c.Keys = cmp.Or(c.Keys, DefaultKeys)
	if c.Kind == KindScan {
		c.ScanRatio = cmp.Or(c.ScanRatio, DefaultScanRatio)
		c.ScanWidth = cmp.Or(c.ScanWidth, min(DefaultScanWidth, max(c.Keys, 1)))
		c.ScanLimit = cmp.Or(c.ScanLimit, DefaultScanLimit)
	}
	c.Distribution = cmp.Or(c.Distribution, DefaultDistribution)
	c.KeyPattern = cmp.Or(c.KeyPattern, KeyPatternRandom)
	c.ZipfS = cmp.Or(c.ZipfS, DefaultZipfS)
	c.ZipfV = cmp.Or(c.ZipfV, DefaultZipfV)
	c.ValueSize = cmp.Or(c.ValueSize, DefaultValueSize)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.MaxLateness = cmp.Or(c.MaxLateness, DefaultMaxLateness)
	switch {
	case !(c.Rate > 0) || c.Rate > MaxRate:
		return fmt.Errorf("workload rate must be > 0 and <= %g requests/s, got %g", float64(MaxRate), c.Rate)
	case c.Duration <= 0:
		return fmt.Errorf("workload duration must be > 0, got %s", c.Duration)
	case c.Warmup < 0:
		return fmt.Errorf("workload warmup must be >= 0, got %s", c.Warmup)
	case c.Kind != KindKV && c.Kind != KindScan && !isCRDT(c.Kind):
		return fmt.Errorf("workload kind must be %s, %s, %s, %s or %s, got %q", KindKV, KindCounter, KindLWWCounter, KindSet, KindScan, c.Kind)
	case c.Kind != KindScan && (c.ScanRatio != 0 || c.ScanWidth != 0 || c.ScanLimit != 0):
		return fmt.Errorf("workload scanRatio, scanWidth and scanLimit apply to kind %s only, got kind %s", KindScan, c.Kind)
	case isCRDT(c.Kind) && c.DeleteRatio > 0:
		return fmt.Errorf("workload deleteRatio must be 0 for kind %s (CRDT values are never deleted), got %g", c.Kind, c.DeleteRatio)
	case c.Keys < 1:
		return fmt.Errorf("workload keys must be >= 1, got %d", c.Keys)
	case !keyspace.Known(c.KeyPattern):
		return fmt.Errorf("workload keyPattern must be %s, got %q", strings.Join(keyspace.Patterns(), " or "), c.KeyPattern)
	case c.KeyPattern == KeyPatternSequential && c.Kind != KindKV:
		return fmt.Errorf("workload keyPattern %s needs kind %s, got %q", c.KeyPattern, KindKV, c.Kind)
	case c.Distribution != DistributionUniform && c.Distribution != DistributionZipf:
		return fmt.Errorf("workload distribution must be uniform or zipf, got %q", c.Distribution)
	case !(c.ZipfS > 1):
		return fmt.Errorf("workload zipf s must be > 1, got %g", c.ZipfS)
	case !(c.ZipfV >= 1):
		return fmt.Errorf("workload zipf v must be >= 1, got %g", c.ZipfV)
	case !(c.ReadRatio >= 0 && c.ReadRatio <= 1):
		return fmt.Errorf("workload readRatio must be in [0, 1], got %g", c.ReadRatio)
	case !(c.MissRatio >= 0 && c.MissRatio <= 1):
		return fmt.Errorf("workload missRatio must be in [0, 1], got %g", c.MissRatio)
	case !(c.DeleteRatio >= 0 && c.DeleteRatio <= 1-c.ReadRatio):
		return fmt.Errorf("workload deleteRatio must be in [0, 1 - readRatio = %g], got %g", 1-c.ReadRatio, c.DeleteRatio)
	case c.ValueSize < 1 || c.ValueSize > MaxValueSize:
		return fmt.Errorf("workload valueSize must be in [1, %d] bytes, got %d", MaxValueSize, c.ValueSize)
	case c.Timeout < 0:
		return fmt.Errorf("workload timeout must be > 0, got %s", c.Timeout)
	case c.MaxLateness < 0:
		return fmt.Errorf("workload maxLateness must be > 0, got %s", c.MaxLateness)
	case c.MaxInFlight < 0:
		return fmt.Errorf("workload maxInFlight must be >= 1, got %d", c.MaxInFlight)
	case c.Kind == KindScan && !(c.ScanRatio > 0 && c.ScanRatio <= 1):
		return fmt.Errorf("workload scanRatio must be in (0, 1], got %g", c.ScanRatio)
	case c.Kind == KindScan && (c.ScanWidth < 1 || c.ScanWidth > c.Keys):
		return fmt.Errorf("workload scanWidth must be in [1, keys = %d], got %d", c.Keys, c.ScanWidth)
	case c.Kind == KindScan && (c.ScanLimit < 1 || c.ScanLimit > MaxScanLimit):
		return fmt.Errorf("workload scanLimit must be in [1, %d], got %d", MaxScanLimit, c.ScanLimit)
	}
	seen := map[string]bool{}
	for i, cl := range c.Classes {
		switch {
		case cl.Name == "":
			return fmt.Errorf("workload classes[%d] has no name", i)
		case seen[cl.Name]:
			return fmt.Errorf("workload classes[%d]: %q is named twice", i, cl.Name)
		case !(cl.Weight > 0):
			return fmt.Errorf("workload classes[%d] (%s): weight must be > 0, got %g", i, cl.Name, cl.Weight)
		}
		seen[cl.Name] = true
	}
	for i, t := range c.LatencyThresholds {
		if t <= 0 {
			return fmt.Errorf("workload latencyThresholds[%d] must be > 0, got %s", i, t)
		}
	}
	c.MaxInFlight = cmp.Or(c.MaxInFlight, DefaultMaxInFlight(c.Rate, c.Timeout))
	return nil
}

// DefaultMaxInFlight is 4 × rate × timeout, clamped to [MinMaxInFlight,
// MaxMaxInFlight]: four times the requests a system that answers every request
// just before its timeout would hold, so that in-flight exhaustion means the
// generator, not the system, is the limit.
func DefaultMaxInFlight(rate float64, timeout time.Duration) int {
	n := math.Ceil(4 * rate * timeout.Seconds())
	return int(min(max(n, MinMaxInFlight), MaxMaxInFlight))
}
