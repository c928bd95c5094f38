package gateway

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sony/gobreaker/v2"
)

// Unsettled says why the gateway is not yet settled after faults, "" when it
// is: acknowledged writes still wait in its write-behind queue (a read of the
// store would not find them yet), or a breaker to a node is open (a read
// through it would be refused, not answered). A half-open breaker lets the
// next call try the node, so it counts as settled.
func (g *Gateway) Unsettled() string {
	var why []string
	if g.behind != nil {
		if n := g.behind.depth.Load(); n > 0 {
			why = append(why, fmt.Sprintf("%d acknowledged writes not yet flushed to the store", n))
		}
	}
	var open []string
	for peer, state := range g.breakers.States() {
		if state == gobreaker.StateOpen.String() {
			open = append(open, peer)
		}
	}
	if len(open) > 0 {
		why = append(why, "breakers open to "+strings.Join(slices.Sorted(slices.Values(open)), ", "))
	}
	return strings.Join(why, "; ")
}
