package democluster

import (
	"net"
	"runtime"
	"strconv"
	"time"

	"github.com/chaosctl/chaosctl/targets/demo"
	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// The layout of a demo cluster whose members each have a network namespace
// of their own (a container, a pod): every member listens on MemberPort, a
// store node keeps its data in MemberDataDir, and the fault plane's
// container or pod serves the toxiproxy API on PlanePort and the proxy of
// the i-th link of Links on LinkPort(i).
const (
	MemberPort    = 7000
	PlanePort     = 8474
	FirstLinkPort = 20000
	MemberDataDir = "/data"
)

// DefaultLogLevel is the members' log level when a runtime's options name
// none.
const DefaultLogLevel = "info"

// LinkPort is the port of the proxy of the i-th link of Links.
func LinkPort(i int) int { return FirstLinkPort + i }

// ListenAll is the address that listens on port on every interface.
func ListenAll(port int) string { return net.JoinHostPort("0.0.0.0", strconv.Itoa(port)) }

// ContainerWiring is the Wiring of members in namespaces of their own: each
// listens on MemberPort on every interface, keeps its data in
// MemberDataDir, and reaches a store node through its link's proxy at
// planeHost:LinkPort(i), i the link's index in links.
func ContainerWiring(planeHost string, links []faultplane.Link) Wiring {
	return Wiring{
		Listen: func(string) string { return ListenAll(MemberPort) },
		Peer: func(from, to string) string {
			l := faultplane.Link{From: from, To: to}
			for i, link := range links {
				if link == l {
					return net.JoinHostPort(planeHost, strconv.Itoa(LinkPort(i)))
				}
			}
			return ""
		},
		DataDir: func(string) string { return MemberDataDir },
	}
}

// PlaneArgs are the arguments of chaosctl serving the fault plane's
// toxiproxy API on PlanePort in a container or pod.
func PlaneArgs(logLevel string) []string {
	return []string{"--log-level", logLevel, "proxy", "--listen", ListenAll(PlanePort)}
}

// MemberArgs are the arguments of chaosctl running a member with the
// encoded configuration conf.
func MemberArgs(logLevel, conf string) []string {
	return []string{"--log-level", logLevel, "node", "--config", conf}
}

// OrDefault returns d when it is positive, else def: how a runtime's
// timeouts and grace periods default.
func OrDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// MemberProcs is each member's GOMAXPROCS: the members share this machine's
// cores, and one scheduler per core each would spend the CPU spinning for
// work.
func MemberProcs(spec demo.ClusterSpec) int {
	return max(1, runtime.NumCPU()/max(1, len(spec.MemberIDs())))
}
