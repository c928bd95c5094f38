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
// Open ends are what makes porcupine slow: each unknown write stays a
// candidate for every later place in the order, and a key with a few dozen
// of them (a partition in a CP run) can exhaust any budget once a key has a
// violation (porcupine issues #3 and #6). So before the search the checker
// reduces each key's history, with reductions proved (in reduce.go) to keep
// the verdict and tested against porcupine on the unreduced history:
//
//   - failed writes and reads that failed or ended unknown are left out
//     (they had no effect, or observed nothing);
//   - an unknown write whose effect (its value, or absence for a delete) no
//     operation that may come after it observes — no get returning it, no
//     cas expecting it, no rejected cas — is left out: "never
//     applied" is one of its allowed fates and nothing tells the other ones
//     apart;
//   - an unknown put or cas whose value was read gets, instead of an open
//     end, the end of the first operation that observed the value: it must
//     have taken effect before that. This relies on written values being
//     unique per key (the workload makes them so); on a key where one
//     repeats, it is not applied.
//
// LinearizabilityResult.Reduced counts what each reduction removed; the verdict and the
// budget mean what they meant without them.
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
// acknowledged writes, Jepsen set-checker style. Puts, deletes and cas are
// writes. An unknown write may land at any time after its invocation, even
// after later acknowledged writes, so its end is open there too: the value
// it wrote is never "stale". A value that no write of the history wrote
// (a phantom) fails the check whatever the outcomes of the key's writes.
//
// CheckReadYourWrites and CheckMonotonicReads judge the session guarantees
// per client (a session: one operation at a time): no read older than the
// session's last acknowledged write of the key, or than a value it read
// before. "Older" is real-time precedence of acknowledged writes, told apart
// by the values' identity; what cannot be placed is undecided, never a
// violation (see sessions.go).
package slo
