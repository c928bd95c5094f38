package process

import (
	"net"
	"strconv"
	"testing"
)

// Free member ports come from below the kernel's ephemeral range, where an
// outgoing connection cannot take one while its member is not listening.
func TestFreeMemberPortsAreBelowTheEphemeralRange(t *testing.T) {
	low, high, ok := memberPortRange()
	if !ok {
		t.Skipf("the kernel's ephemeral range leaves no room below it (members get kernel-chosen ports)")
	}
	ids := []string{"g1", "n1", "n2", "n3", "n4", "n5"}
	addrs, release, err := ReserveAddrs(ids, "", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	seen := map[string]bool{}
	for _, id := range ids {
		_, p, err := net.SplitHostPort(addrs[id])
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if port < low || port >= high {
			t.Errorf("%s got %s, want a port in [%d, %d)", id, addrs[id], low, high)
		}
		if seen[p] {
			t.Errorf("port %s given twice", p)
		}
		seen[p] = true
	}
	// Held: nobody else can bind them until release.
	if ln, err := net.Listen("tcp", addrs["n1"]); err == nil {
		ln.Close()
		t.Errorf("n1's reserved %s could be bound again", addrs["n1"])
	}
}
