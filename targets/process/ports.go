package process

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// Members' free ports are drawn from [memberPortLow, memberPortHigh), cut
// short by the kernel's ephemeral range. A member's port is free between its
// reservation and the member's own bind, and again while the member is
// crashed; a port in the ephemeral range can be taken meanwhile as the local
// port of any outgoing connection (a load test opens thousands) or by any
// listener on port 0, and the member then fails with "address already in
// use". Below the ephemeral range only an explicit bind can take it. The
// range also stays below Kubernetes' NodePort range (30000–32767).
const (
	memberPortLow  = 20000
	memberPortHigh = 30000
	// memberPortTries is how many ports of the range are tried before
	// falling back to a kernel-chosen port.
	memberPortTries = 256
)

// ephemeralPortsFile holds the kernel's ephemeral port range on Linux.
const ephemeralPortsFile = "/proc/sys/net/ipv4/ip_local_port_range"

// memberPortRange returns the range members' free ports are drawn from, or
// ok false where it would be too small (a kernel whose ephemeral range starts
// low): then the kernel chooses.
func memberPortRange() (low, high int, ok bool) {
	low, high = memberPortLow, memberPortHigh
	if b, err := os.ReadFile(ephemeralPortsFile); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if first, err := strconv.Atoi(f[0]); err == nil && first < high {
				high = first
			}
		}
	}
	return low, high, high-low >= 1000
}

// listenFree listens on a free port of host: one of the members' range
// picked at random (the pick is not part of a run's seeded randomness: it
// must differ between concurrent runs), else one the kernel chooses.
func listenFree(host string) (net.Listener, error) {
	if low, high, ok := memberPortRange(); ok {
		n := high - low
		start := rand.IntN(n)
		for i := range min(memberPortTries, n) {
			port := low + (start+i)%n
			ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
			if err == nil {
				return ln, nil
			}
		}
	}
	return net.Listen("tcp", net.JoinHostPort(host, "0"))
}
