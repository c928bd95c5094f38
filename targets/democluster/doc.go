// Package democluster is what every runtime of the demo cluster shares: the
// fault-plane links in their fixed order (Links), each member's
// configuration (MemberConfig), the order members start in (StartOrder), the
// readiness wait (WaitReady, WaitStarted, and WaitProbe for a check of the
// caller's), the members' control token (NewToken), the call of a member's
// control endpoint (CallControl), the member list (Members) and an
// idempotent Close (CloseOnce). The container runtimes (docker, kubernetes)
// share their common options (RuntimeOptions) and one layout: MemberPort,
// PlanePort, LinkPort, MemberDataDir and ContainerWiring. A runtime
// (process, docker, kubernetes) supplies only what differs: where a member
// listens and how its peers reach it (Wiring), how to start, reach, kill and
// pause it.
//
//	links := democluster.Links(spec) // proxy i listens on FirstLinkPort+i
//	cfg, err := democluster.MemberConfig(spec, "n1", seed, democluster.Wiring{
//		Listen: func(string) string { return "0.0.0.0:7000" },
//		Peer:   func(from, to string) string { return planeAddr(from, to) },
//	})
//	...
//	err = democluster.WaitStarted(ctx, spec, democluster.Readiness{
//		Timeout: time.Minute,
//		Addr:    func(id string) string { return addrOf(id) },
//	})
package democluster
