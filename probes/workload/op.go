package workload

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/chaosctl/chaosctl/internal/keyspace"
)

// OpKind is what an operation does to a key.
type OpKind uint8

// Operation kinds. The generator issues get, put and delete; cas exists so that
// histories recorded by other clients (and future drivers) can be read back.
const (
	OpGet OpKind = iota + 1
	OpPut
	OpDelete
	OpCAS
	// OpIncr adds Op.Delta (negative: takes away) to a CRDT counter.
	OpIncr
	// OpAdd adds Op.Element to a CRDT set.
	OpAdd
	// OpRemove removes Op.Element from a CRDT set (the adds its
	// coordinator observed).
	OpRemove
	// OpScan lists the live keys in [Op.Key, Op.To), at most Op.Limit (a
	// range query of the demo cluster's gateways; the scan workload). It
	// reads many keys at once and is neither a write nor a get, so the
	// workload does not write it to the history: the checkers judge
	// single-key operations only. Its stats are kept apart (op scan).
	OpScan
)

// Lock operations, written by the lock workload (see LockWorkload): the
// lock service's acquire, renew and release. Its writes to the protected
// resource are puts with a token.
const (
	OpAcquire OpKind = iota + 16
	OpRenew
	OpRelease
)

// String returns the kind's name as written in the history: get, put, delete, cas.
func (k OpKind) String() string {
	switch k {
	case OpGet:
		return "get"
	case OpPut:
		return "put"
	case OpDelete:
		return "delete"
	case OpCAS:
		return "cas"
	case OpAcquire:
		return "acquire"
	case OpRenew:
		return "renew"
	case OpRelease:
		return "release"
	case OpIncr:
		return "incr"
	case OpAdd:
		return "add"
	case OpRemove:
		return "remove"
	case OpScan:
		return "scan"
	}
	return "OpKind(" + strconv.Itoa(int(k)) + ")"
}

// IsWrite reports whether the operation may change the store.
func (k OpKind) IsWrite() bool { return k != OpGet && k >= OpGet && k <= OpRemove }

// MarshalText implements encoding.TextMarshaler.
func (k OpKind) MarshalText() ([]byte, error) {
	if (k < OpGet || k > OpScan) && (k < OpAcquire || k > OpRelease) {
		return nil, fmt.Errorf("marshal op kind: unknown kind %d", k)
	}
	return []byte(k.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (k *OpKind) UnmarshalText(b []byte) error {
	switch string(b) {
	case "get":
		*k = OpGet
	case "put":
		*k = OpPut
	case "delete":
		*k = OpDelete
	case "cas":
		*k = OpCAS
	case "acquire":
		*k = OpAcquire
	case "renew":
		*k = OpRenew
	case "release":
		*k = OpRelease
	case "incr":
		*k = OpIncr
	case "add":
		*k = OpAdd
	case "remove":
		*k = OpRemove
	case "scan":
		*k = OpScan
	default:
		return fmt.Errorf("unknown op %q (valid: get, put, delete, cas, incr, add, remove, scan, acquire, renew, release)", b)
	}
	return nil
}

// Op is one operation handed to a Driver.
type Op struct {
	// ID is the operation's position in the schedule (0, 1, 2, ...). Dropped
	// requests keep their ID, so IDs in a history may have gaps.
	ID uint64
	// Client is the logical client (Jepsen's "process") that issues the
	// operation. A client runs one operation at a time; after an operation whose
	// outcome is unknown the client is retired and its worker takes a new number,
	// because the old operation may still take effect at any later time.
	Client int
	Kind   OpKind
	Key    string
	// Value is the value a put writes (unique per operation, see MakeValue).
	Value []byte
	// Expect is a cas's expected old value. The generator never sets it.
	Expect []byte
	// Class is the request class (Config.Classes), "" when there are none.
	Class string
	// CRDT is the type of the CRDT value the operation reads or updates
	// (counter, set; Config.Kind), "" for the key-value API.
	CRDT string
	// Delta is what an incr adds to its counter.
	Delta int64
	// Element is what an add or remove adds to or removes from its set.
	Element string
	// To is a scan's end: it lists the keys in [Key, To); "" has no end.
	To string
	// Limit is the most keys a scan asks for.
	Limit int
}

// Outcome says whether an operation took effect.
//
// The zero value is OutcomeUnknown so that a driver that says nothing claims
// nothing.
type Outcome uint8

// Outcomes, as in Jepsen's :ok, :fail and :info.
const (
	// OutcomeUnknown: the operation may or may not have taken effect, now or at
	// any later time (a write that timed out, lost its connection after being
	// sent, or was answered 5xx by a system that may have applied it partly).
	OutcomeUnknown Outcome = iota
	// OutcomeOK: the operation took effect (a read returned a value or a
	// definite not-found).
	OutcomeOK
	// OutcomeFail: the operation certainly did not take effect.
	OutcomeFail
)

// String returns the outcome as written in the history: ok, fail, unknown.
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeFail:
		return "fail"
	case OutcomeUnknown:
		return "unknown"
	}
	return "Outcome(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText implements encoding.TextMarshaler.
func (o Outcome) MarshalText() ([]byte, error) {
	if o > OutcomeFail {
		return nil, fmt.Errorf("marshal outcome: unknown outcome %d", o)
	}
	return []byte(o.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (o *Outcome) UnmarshalText(b []byte) error {
	switch string(b) {
	case "ok":
		*o = OutcomeOK
	case "fail":
		*o = OutcomeFail
	case "unknown":
		*o = OutcomeUnknown
	default:
		return fmt.Errorf("unknown outcome %q (valid: ok, fail, unknown)", b)
	}
	return nil
}

// ErrorClass says why a request counts as bad for availability.
type ErrorClass uint8

// Error classes. ClassNone is a good request.
const (
	ClassNone ErrorClass = iota
	// ClassServerError: the server answered 5xx (503 shed or no quorum, 504
	// deadline passed, 500).
	ClassServerError
	// ClassRateLimited: the server answered 429.
	ClassRateLimited
	// ClassTimeout: no answer within the per-request timeout.
	ClassTimeout
	// ClassTransport: the connection failed (refused, reset, closed early).
	ClassTransport
	// ClassUnexpected: any other answer the driver did not expect (e.g. 400).
	ClassUnexpected
)

// String names the class as used in reports: none, 5xx, 429, timeout,
// transport, unexpected.
func (c ErrorClass) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassServerError:
		return "5xx"
	case ClassRateLimited:
		return "429"
	case ClassTimeout:
		return "timeout"
	case ClassTransport:
		return "transport"
	case ClassUnexpected:
		return "unexpected"
	}
	return "ErrorClass(" + strconv.Itoa(int(c)) + ")"
}

// Result is what a Driver reports for one operation.
type Result struct {
	// Outcome decides how the history records the operation. A request is good
	// for availability exactly when Outcome is OutcomeOK.
	Outcome Outcome
	// Class says why a request that is not OK is bad. A driver that leaves it
	// ClassNone on a bad request gets ClassUnexpected.
	Class ErrorClass
	// Code is the protocol's status code (HTTP status), 0 when there was none.
	Code int
	// Found is false for a read of a missing key (an OK outcome).
	Found bool
	// Value is the value read, for a get that found its key.
	Value []byte
	// Err explains a bad request; nil for a good one.
	Err error
}

// Driver executes operations against a system. Do must return when ctx is done
// (the workload gives every operation a deadline of Config.Timeout) and must be
// safe for concurrent use.
type Driver interface {
	Do(ctx context.Context, op Op) Result
}

// DriverFunc adapts a function to the Driver interface.
type DriverFunc func(ctx context.Context, op Op) Result

// Do calls f(ctx, op).
func (f DriverFunc) Do(ctx context.Context, op Op) Result { return f(ctx, op) }

// OpGenerator draws the sequence of operations: for each ID in order, a kind by
// the read and delete ratios and a key by the distribution. It is a pure function
// of the seed and the configuration: identical seeds give identical sequences.
// Values are not drawn; the worker that runs a put fills it with MakeValue.
// An OpGenerator is not safe for concurrent use.
type OpGenerator struct {
	rng         *rand.Rand
	zipf        *rand.Zipf
	keys        []string
	readRatio   float64
	deleteRatio float64
	missRatio   float64
	next        uint64
	classes     []Class
	classTotal  float64
	kind        string
	// sequential: puts write new, increasing keys (KeyPattern sequential);
	// written counts them.
	sequential bool
	written    int
	// The scan workload's: the keys in bytewise order (a scan's range is
	// sorted[i] to sorted[i+scanWidth]), the share of scans and their limit.
	sorted    []string
	scanRatio float64
	scanWidth int
	scanLimit int
}

// NewOpGenerator returns a generator over cfg's keys, kinds and distribution.
// cfg must have passed Validate.
func NewOpGenerator(cfg Config, rng *rand.Rand) *OpGenerator {
	g := &OpGenerator{
		rng:         rng,
		keys:        make([]string, cfg.Keys),
		readRatio:   cfg.ReadRatio,
		deleteRatio: cfg.DeleteRatio,
		missRatio:   cfg.MissRatio,
		kind:        cfg.Kind,
		sequential:  cfg.KeyPattern == KeyPatternSequential,
	}
	for i := range g.keys {
		g.keys[i] = KeyName(i)
		if g.sequential {
			g.keys[i] = keyspace.SequentialName(i, cfg.Keys)
		}
	}
	g.classes = cfg.Classes
	for _, c := range cfg.Classes {
		g.classTotal += c.Weight
	}
	if cfg.Distribution == DistributionZipf {
		g.zipf = rand.NewZipf(rng, cfg.ZipfS, cfg.ZipfV, uint64(cfg.Keys-1))
	}
	if cfg.Kind == KindScan {
		g.sorted = slices.Sorted(slices.Values(g.keys))
		g.scanRatio, g.scanWidth, g.scanLimit = cfg.ScanRatio, cfg.ScanWidth, cfg.ScanLimit
	}
	return g
}

// scanOp turns a drawn operation of the scan workload into a scan with one
// more draw (only for that workload, so other sequences stay as they were):
// with probability scanRatio it lists scanWidth keys of the workload from the
// drawn key number's place in bytewise order (fewer at the end).
func (g *OpGenerator) scanOp(op *Op, k int) {
	if g.rng.Float64() >= g.scanRatio {
		return
	}
	op.Kind, op.Key, op.Limit = OpScan, g.sorted[k], g.scanLimit
	if end := k + g.scanWidth; end < len(g.sorted) {
		op.To = g.sorted[end]
	}
}

// Next returns the next operation with ID, Kind and Key set.
func (g *OpGenerator) Next() Op {
	op := Op{ID: g.next}
	g.next++
	// Always draw both numbers so the key sequence does not depend on the kind
	// sequence (changing readRatio keeps the keys of a given seed).
	u := g.rng.Float64()
	var k int
	if g.zipf != nil {
		k = int(g.zipf.Uint64())
	} else {
		k = g.rng.IntN(len(g.keys))
	}
	switch {
	case u < g.readRatio:
		op.Kind = OpGet
	case u < g.readRatio+g.deleteRatio:
		op.Kind = OpDelete
	default:
		op.Kind = OpPut
	}
	op.Key = g.keys[k]
	if g.sequential {
		op.Key = g.keys[g.sequentialKey(op.Kind, k)]
	}
	if op.Kind == OpGet && u < g.readRatio*g.missRatio {
		// No draw of its own: given a get, u/readRatio is uniform in [0, 1),
		// so the kinds and keys of a seed stay those without missRatio.
		op.Key = MissingKeyName(k)
	}
	switch {
	case isCRDT(g.kind):
		g.crdtOp(&op)
	case g.kind == KindScan:
		g.scanOp(&op, k)
	}
	if len(g.classes) > 0 {
		// A third draw, only with classes: sequences without them are the
		// same as before classes existed.
		x := g.rng.Float64() * g.classTotal
		op.Class = g.classes[len(g.classes)-1].Name
		for _, c := range g.classes {
			if x < c.Weight {
				op.Class = c.Name
				break
			}
			x -= c.Weight
		}
	}
	return op
}

// RecentKeys is how many of the newest keys the reads and deletes of the
// sequential key pattern draw from.
const RecentKeys = keyspace.RecentKeys

// sequentialKey is the key number of an operation of the sequential
// pattern, from the drawn number k: a put takes the next key (after
// keys-1 the sequence starts again at 0, so the store stays bounded); a get
// or delete takes one of the RecentKeys newest, k counting back from the
// newest (the distribution's skew, if zipf, favours the newest). Before the
// first put they read key 0.
func (g *OpGenerator) sequentialKey(kind OpKind, k int) int {
	keys := len(g.keys)
	if kind == OpPut {
		n := g.written % keys
		g.written++
		return n
	}
	if g.written == 0 {
		return 0
	}
	window := min(g.written, RecentKeys, keys)
	return ((g.written-1-k%window)%keys + keys) % keys
}

// setElements is how many elements a set workload draws from (e0..e7).
const setElements = 8

// crdtOp turns a drawn get or put into an operation of a CRDT workload, with
// one more draw (only for such workloads, so key-value sequences stay as they
// were): a counter's put becomes an incr of 1 to 5, one in four of them a
// decrement; a set's put becomes an add of one of e0..e7, one in three of them
// a remove.
func (g *OpGenerator) crdtOp(op *Op) {
	op.CRDT = g.kind
	x := g.rng.IntN(4 * 3 * 5 * setElements)
	if op.Kind == OpGet {
		return
	}
	switch g.kind {
	case KindCounter, KindLWWCounter:
		op.Kind, op.Delta = OpIncr, int64(1+x%5)
		if x/5%4 == 0 {
			op.Delta = -op.Delta
		}
	case KindSet:
		op.Kind, op.Element = OpAdd, "e"+strconv.Itoa(x%setElements)
		if x/setElements%3 == 0 {
			op.Kind = OpRemove
		}
	}
}

// KeyName is the name of key number i: k0, k1, ...
func KeyName(i int) string { return keyspace.Name(i) }

// MissingKeyName is the name of missing key number i, one no operation
// writes: missing-k0, missing-k1, ...
func MissingKeyName(i int) string { return "missing-" + KeyName(i) }

// MakeValue returns the value that client writes in operation id:
// "v-<client>-<id>-" padded with 'x' to size bytes. The prefix makes every
// written value unique within a run, so a checker can tell which write a read
// saw; when size is smaller than the prefix the value is the prefix alone.
func MakeValue(client int, id uint64, size int) []byte {
	b := make([]byte, 0, max(size, 24))
	b = append(b, "v-"...)
	b = strconv.AppendInt(b, int64(client), 10)
	b = append(b, '-')
	b = strconv.AppendUint(b, id, 10)
	b = append(b, '-')
	for len(b) < size {
		b = append(b, 'x')
	}
	return b
}
