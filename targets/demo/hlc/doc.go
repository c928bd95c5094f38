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
// clocks do to such systems: a node whose clock runs ahead pulls every clock it
// talks to forward, and its writes win over later writes from correct clocks.
//
//	clock := hlc.New(nil) // time.Now
//	ts := clock.Now()     // local or send event; attach ts.String() to the message
//	...
//	remote, err := hlc.Parse(header)
//	if err == nil {
//		clock.Update(remote) // receive event
//	}
package hlc
