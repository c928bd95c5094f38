package slo

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"testing"
	"time"
)

// simConfig shapes a simulated run of a correct (linearizable) register
// store: clients send operations one at a time (think, then wait for the
// answer); each operation takes effect at one instant, and the store applies
// them in the order of those instants.
type simConfig struct {
	ops, keys, clients         int
	readPct, putPct, deletePct int  // the rest are cas
	zipf                       bool // keys by a zipf law (k0 hottest) rather than uniform
	think, latency             int64
	failPct                    int // writes that fail definitely: no effect
	// unknown is the percentage of operations (reads too) that end with an
	// unknown outcome, at fraction f of the run; timeout, if not zero, is
	// how long such an operation takes (the client gives up).
	unknown func(f float64) int
	timeout int64
	// landPct of the unknown writes take effect, the others never do; one
	// that lands does so any time from its invocation to late after its
	// completion: a request still in flight when the client gave up,
	// applied after operations that began later.
	landPct int
	late    int64
}

// simRun is a simulated run: its history, what the store held after every
// write landed, and for each operation when it took effect (-1: never) and
// the state of its key just before.
type simRun struct {
	ops    []Op
	final  map[string]*string
	point  []int64
	before []*string
}

// basicSim is the shape of the reference-model tests: 2 % of the writes
// fail, 2 % of the operations end unknown, half the unknown writes land,
// possibly long after the client gave up.
func basicSim(n, keys, clients int) simConfig {
	return simConfig{ops: n, keys: keys, clients: clients, readPct: 55, putPct: 30, deletePct: 5,
		think: 1000, latency: 5000, failPct: 2, unknown: func(float64) int { return 2 }, landPct: 50, late: 20_000}
}

// cpSim is the shape of a realistic CP run (cap-cp: 5 nodes, 30 keys, 150
// req/s for 20 s): about 2,900 gets and puts from 16 clients, a few ms each.
// From 20 % to 50 % of the run a partition makes half the requests fail
// fast with 503 (unknown, never applied); from 70 % to 90 % a crash makes a
// quarter of them time out after 1 s (unknown, a third applied, up to 2 s
// late). About 20 % of the operations end unknown.
func cpSim(n int) simConfig {
	return simConfig{ops: n, keys: 30, clients: 16, readPct: 70, putPct: 30,
		think: int64(200 * time.Millisecond), latency: int64(10 * time.Millisecond), failPct: 1,
		unknown: func(f float64) int {
			switch {
			case f >= 0.2 && f < 0.5:
				return 50
			case f >= 0.7 && f < 0.9:
				return 25
			}
			return 1
		},
		timeout: int64(time.Second), landPct: 33, late: int64(2 * time.Second)}
}

// simulate runs cfg with rng. Written values are unique.
func simulate(rng *rand.Rand, cfg simConfig) simRun {
	n := cfg.ops
	run := simRun{ops: make([]Op, n), point: make([]int64, n), before: make([]*string, n), final: map[string]*string{}}
	next := make([]int64, cfg.clients)
	var zipf *rand.Zipf
	if cfg.zipf {
		zipf = rand.NewZipf(rng, 1.1, 1, uint64(cfg.keys-1))
	}
	for i := range n {
		c := i % cfg.clients
		invoke := next[c] + rng.Int64N(cfg.think)
		complete := invoke + 1 + rng.Int64N(cfg.latency)
		k := 0
		if zipf != nil {
			k = int(zipf.Uint64())
		} else {
			k = rng.IntN(cfg.keys)
		}
		op := Op{ID: uint64(i + 1), Client: c, Key: "k" + strconv.Itoa(k), Outcome: OutcomeOK}
		switch r := rng.IntN(100); {
		case r < cfg.readPct:
			op.Kind = OpGet
		case r < cfg.readPct+cfg.putPct:
			op.Kind, op.Value = OpPut, s(fmt.Sprintf("v%d", i+1))
		case r < cfg.readPct+cfg.putPct+cfg.deletePct:
			op.Kind = OpDelete
		default:
			op.Kind, op.Value = OpCAS, s(fmt.Sprintf("v%d", i+1))
		}
		point := invoke + rng.Int64N(complete-invoke+1)
		switch {
		case rng.IntN(100) < cfg.unknown(float64(i)/float64(n)):
			op.Outcome = OutcomeUnknown
			if cfg.timeout > 0 {
				complete = invoke + cfg.timeout
			}
			point = -1
			if op.Kind != OpGet && rng.IntN(100) < cfg.landPct {
				point = invoke + rng.Int64N(complete-invoke+cfg.late+1)
			}
		case op.Kind != OpGet && rng.IntN(100) < cfg.failPct:
			op.Outcome, point = OutcomeFail, -1
		}
		op.Invoke, op.Complete = invoke, complete
		next[c] = complete
		run.ops[i], run.point[i] = op, point
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return run.point[order[a]] < run.point[order[b]] })
	for _, i := range order {
		op := &run.ops[i]
		if run.point[i] < 0 {
			if op.Kind == OpCAS {
				op.Expect = s("never-held")
			}
			continue
		}
		cur := run.final[op.Key]
		run.before[i] = cur
		switch op.Kind {
		case OpGet:
			if op.Outcome == OutcomeOK {
				op.Value = cur
			}
		case OpPut:
			run.final[op.Key] = op.Value
		case OpDelete:
			run.final[op.Key] = nil
		case OpCAS:
			// Half the cas operations expect the current value and swap,
			// the others expect something else and are rejected.
			if rng.IntN(2) == 0 {
				op.Expect = cur
				run.final[op.Key] = op.Value
			} else {
				op.Expect = s("not-" + fmt.Sprint(cur))
				if op.Outcome == OutcomeOK {
					op.Outcome = OutcomeRejected
				}
			}
		}
	}
	// Every written key is read back after the run.
	for _, op := range run.ops {
		if op.Kind != OpGet {
			if _, ok := run.final[op.Key]; !ok {
				run.final[op.Key] = nil
			}
		}
	}
	return run
}

// simulatedHistory generates n operations over keys keys from clients
// concurrent clients of a correct register (basicSim).
func simulatedHistory(rng *rand.Rand, n, keys, clients int) []Op {
	return simulate(rng, basicSim(n, keys, clients)).ops
}

// TestSimulationLandsUnknownWritesLate makes sure the simulation does what
// the checkers are tested against: some unknown writes take effect after
// their recorded completion, even after operations invoked later, and those
// values are read.
func TestSimulationLandsUnknownWritesLate(t *testing.T) {
	run := simulate(rand.New(rand.NewPCG(1, 1)), cpSim(2900))
	late, readLate := 0, 0
	seen := map[string]bool{}
	for _, op := range run.ops {
		if op.Kind == OpGet && op.Value != nil {
			seen[*op.Value] = true
		}
	}
	for i, op := range run.ops {
		if op.Outcome != OutcomeUnknown || op.Kind == OpGet || run.point[i] <= op.Complete {
			continue
		}
		for _, o := range run.ops {
			if o.Key == op.Key && o.Invoke > op.Complete && o.Invoke < run.point[i] {
				late++
				if op.Value != nil && seen[*op.Value] {
					readLate++
				}
				break
			}
		}
	}
	if late < 5 || readLate < 1 {
		t.Fatalf("%d unknown writes landed after a later operation began, %d of them read; want some", late, readLate)
	}
}

// TestCheckersPassOnSimulatedRegister: both checkers pass the histories of
// a correct register, over many seeds and both shapes, unknown writes
// landing late or never.
func TestCheckersPassOnSimulatedRegister(t *testing.T) {
	seeds := uint64(40)
	if testing.Short() {
		seeds = 8
	}
	for _, shape := range []struct {
		name string
		cfg  simConfig
	}{{"basic", basicSim(400, 5, 6)}, {"cp", cpSim(600)}} {
		for seed := range seeds {
			run := simulate(rand.New(rand.NewPCG(seed, 2)), shape.cfg)
			if res := CheckLinearizable(run.ops, 10*time.Second); res.Verdict != Pass {
				t.Fatalf("%s seed %d: linearizable %s (%s)", shape.name, seed, res.Verdict, res.Detail)
			}
			if res := CheckNoLostWrites(run.ops, run.final); res.Verdict != Pass {
				t.Fatalf("%s seed %d: no-lost-writes %s (%s) %+v", shape.name, seed, res.Verdict, res.Detail, res.Anomalies)
			}
		}
	}
}

// TestCheckersDetectInjectedBugs: the same runs with one acknowledged put
// dropped by the store (it never takes effect: the reads that saw it see
// the value before it, and so does the read-back if it was the last write),
// or with one read answered from the past, fail.
func TestCheckersDetectInjectedBugs(t *testing.T) {
	for seed := range uint64(20) {
		run := simulate(rand.New(rand.NewPCG(seed, 3)), cpSim(600))
		// A dropped acknowledged put x whose key held, just before it, the
		// value of an acknowledged put p over before x began: every read
		// of x's value now returns p's.
		linDone, lostDone := false, false
		for i, x := range run.ops {
			if x.Kind != OpPut || x.Outcome != OutcomeOK || run.before[i] == nil {
				continue
			}
			p := writerOf(run.ops, x.Key, *run.before[i])
			if p < 0 || run.ops[p].Outcome != OutcomeOK || run.ops[p].Complete >= x.Invoke {
				continue
			}
			dropped := append([]Op(nil), run.ops...)
			readAfter := false
			for j, o := range dropped {
				if o.Kind == OpGet && o.Key == x.Key && o.Value != nil && *o.Value == *x.Value {
					dropped[j].Value = run.before[i]
					readAfter = readAfter || o.Invoke > x.Complete
				}
			}
			final := map[string]*string{}
			for k, v := range run.final {
				final[k] = v
			}
			isFinal := final[x.Key] != nil && *final[x.Key] == *x.Value
			if isFinal {
				final[x.Key] = run.before[i]
			}
			if readAfter && !linDone {
				res := CheckLinearizable(dropped, 10*time.Second)
				if res.Verdict != Fail || len(res.BadKeys) != 1 || res.BadKeys[0] != x.Key {
					t.Fatalf("seed %d: dropped put %d of %s: linearizable %s, bad keys %v (%s)", seed, x.ID, x.Key, res.Verdict, res.BadKeys, res.Detail)
				}
				linDone = true
			}
			if isFinal && !lostDone {
				res := CheckNoLostWrites(dropped, final)
				if res.Verdict != Fail || res.ByKind[AnomalyStale] != 1 || res.Anomalies[0].Op != x.ID {
					t.Fatalf("seed %d: dropped put %d of %s: no-lost-writes %s %+v (%s)", seed, x.ID, x.Key, res.Verdict, res.Anomalies, res.Detail)
				}
				lostDone = true
			}
		}
		if !linDone || !lostDone {
			t.Fatalf("seed %d: no put to drop (for linearizable: %t, no-lost-writes: %t)", seed, linDone, lostDone)
		}
		// A stale read: a late read answered with a value overwritten by
		// an acknowledged write before it began.
		stale := append([]Op(nil), run.ops...)
		bad := corruptRead(stale)
		if bad < 0 {
			t.Fatalf("seed %d: no read to corrupt", seed)
		}
		res := CheckLinearizable(stale, 10*time.Second)
		if res.Verdict != Fail || len(res.BadKeys) != 1 || res.BadKeys[0] != stale[bad].Key {
			t.Fatalf("seed %d: stale read of %s: %s, bad keys %v (%s)", seed, stale[bad].Key, res.Verdict, res.BadKeys, res.Detail)
		}
	}
}

// writerOf is the index of the write of value v on key, -1 if none.
func writerOf(ops []Op, key, v string) int {
	for j, o := range ops {
		if o.Key == key && o.Kind != OpGet && o.Kind != OpDelete && o.Value != nil && *o.Value == v {
			return j
		}
	}
	return -1
}

// corruptRead makes a late successful read return the value of a put that
// was overwritten by an acknowledged write before the read began, and
// returns its index (-1: none found).
func corruptRead(ops []Op) int {
	for i := len(ops) - 1; i >= 0; i-- {
		if ops[i].Kind != OpGet || ops[i].Outcome != OutcomeOK {
			continue
		}
		for j := range ops[:i] {
			if ops[j].Key == ops[i].Key && ops[j].Kind == OpPut && ops[j].Outcome == OutcomeOK && ops[j].Complete < ops[i].Invoke &&
				(ops[i].Value == nil || *ops[i].Value != *ops[j].Value) && overwrittenBefore(ops, j, ops[i].Invoke) {
				ops[i].Value = ops[j].Value
				return i
			}
		}
	}
	return -1
}

// TestCheckLinearizableAgainstSimulatedRegister is a reference-model check:
// histories of a correct register pass, and the same history with one read
// answered from the past fails on that key, with that read in the window.
func TestCheckLinearizableAgainstSimulatedRegister(t *testing.T) {
	for seed := range uint64(5) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			ops := simulatedHistory(rng, 3000, 50, 8)
			if res := CheckLinearizable(ops, 10*time.Second); res.Verdict != Pass {
				t.Fatalf("correct register: %s (%s)", res.Verdict, res.Detail)
			}
			bad := corruptRead(ops)
			if bad < 0 {
				t.Fatal("no read to corrupt")
			}
			res := CheckLinearizable(ops, 10*time.Second)
			if res.Verdict != Fail || len(res.BadKeys) != 1 || res.BadKeys[0] != ops[bad].Key {
				t.Fatalf("stale read of %s: %s, bad keys %v (%s)", ops[bad].Key, res.Verdict, res.BadKeys, res.Detail)
			}
			inWindow := false
			for _, w := range res.Violations[0].Window {
				inWindow = inWindow || w.ID == ops[bad].ID
			}
			if !inWindow {
				t.Fatalf("stale read op %d not in the window: %s", ops[bad].ID, res.Violations[0])
			}
		})
	}
}

// overwrittenBefore reports whether the put ops[j] was followed, before t,
// by an acknowledged put or delete of the same key that began after it ended.
func overwrittenBefore(ops []Op, j int, t int64) bool {
	for _, o := range ops {
		if o.Key == ops[j].Key && (o.Kind == OpPut || o.Kind == OpDelete) && o.Outcome == OutcomeOK &&
			o.Invoke > ops[j].Complete && o.Complete < t {
			return true
		}
	}
	return false
}
