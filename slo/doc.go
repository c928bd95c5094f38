// Package slo judges runs: SLO error budgets and burn rates, verdicts, and the
// consistency checkers that turn a recorded operation history into a verdict.
//
// The linearizability checker models each key as a register with put, get,
// delete and cas, partitions the history by key and checks every partition
// with github.com/anishathalye/porcupine. Operations whose outcome is unknown
// (a write that timed out, or failed after reaching some replicas) may or may
// not have taken effect: they are given an open end, as Jepsen does with
// :info. Failed operations had no effect and are dropped; a rejected cas is
// kept as an observation that the key did not hold the expected value.
//
// In a run, the runner converts history.ndjson with OpFromHistory and calls
// CheckLinearizable; offline, CheckFile detects the format (chaosctl's
// history.ndjson, streamed, or a Jepsen register log such as the published
// etcd histories, one register per file) and does the same:
//
//	res, err := slo.CheckFile("history.ndjson", 30*time.Second)
//	if err != nil { ... }
//	fmt.Println(res.Verdict, res.Detail) // pass | fail | inconclusive
//	if res.Verdict == slo.Fail {
//		for _, v := range res.Violations { fmt.Println(v) } // key, state, window
//		err = slo.WriteVisualization(res, "linearizability.html")
//	}
//
// A check that runs out of its budget is inconclusive, never pass. On a
// violation, each bad key gets a Violation: the longest legal order porcupine
// found, the first operation that cannot come next, and the operations around
// it (the writes that produced the state and the value read, and the
// unordered operations concurrent with it).
//
// CheckNoLostWrites judges the values read back after a run against the
// acknowledged writes, Jepsen set-checker style.
package slo
