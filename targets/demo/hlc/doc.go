// Package hlc implements hybrid logical clocks (Kulkarni, Demirbas, Madappa, Avva
// and Leone, "Logical Physical Clocks", OPODIS 2014).
//
// A Timestamp pairs a wall time in Unix nanoseconds with a logical counter. The
// wall part never falls behind the physical clock and is always some physical
// reading from the event's causal past, so it stays close to real time; the logical
// part orders events that share a wall time. Timestamps therefore respect
// causality (if e happened before f then e's timestamp is smaller) like Lamport
// clocks, while reading like physical time.
//
// The demo cluster's quorum and eventual modes stamp writes with a Clock and resolve
// conflicts last-write-wins, so the clock-skew fault (SetOffset) shows what skewed
// clocks do to such systems: the writes of a node whose clock runs ahead win over
// later writes from correct clocks.
//
// # Max offset
//
// Left alone, Update adopts any remote timestamp, however far ahead, so one fast
// node (or one forged request) drags every clock it reaches forward, and since a
// clock never goes backwards they all stay ahead even after the skew is reverted.
// Like CockroachDB's --max-offset, a Clock therefore has a MaxOffset (default
// DefaultMaxOffset, 500ms; SetMaxOffset changes it, 0 removes it): a remote
// timestamp more than MaxOffset ahead of this clock's physical time (the physical
// clock plus its own skew offset, i.e. what this node believes is now) is not
// adopted. The clock advances at most to physical time + MaxOffset, and Update
// reports clamped so the caller can count it (chaosdemo_hlc_clamped_total).
//
// Update clamps rather than rejects: the message is still processed and a
// replicated record keeps its far-future version, so last-write-wins still loses
// updates under skew (examples/lww-clock-skew.yaml) — the bound protects the
// receiver's clock, not the data. Once the skew fault is reverted, every clock that
// only heard from the fast node is within MaxOffset of physical time; the fast
// node itself keeps its high-water mark until physical time catches up, because
// Now never goes backwards.
//
//	clock := hlc.New(nil) // time.Now, MaxOffset DefaultMaxOffset
//	ts := clock.Now()     // local or send event; attach ts.String() to the message
//	...
//	remote, err := hlc.Parse(header)
//	if err == nil {
//		if _, clamped := clock.Update(remote); clamped { // receive event
//			metrics.HLCClamped.Inc()
//		}
//	}
package hlc
