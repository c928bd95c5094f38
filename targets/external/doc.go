// Package external is the target of users' own services (target.external):
// members chaosctl starts from a command (each in its own process group,
// dying with chaosctl, waited for through an HTTP or TCP readiness check) or
// finds as running containers by name or label, and toxiproxy proxies in
// front of them — in an embedded toxiproxy or an existing server. Membership
// faults signal a member's process group (SIGKILL, SIGSTOP/SIGCONT,
// SIGTERM) or use the Docker API on its container; link faults act on the
// proxies, whose links run from the client side to the proxy's name.
//
//	t, err := external.Start(ctx, external.Spec{
//		Members: []external.MemberSpec{{Name: "web", Command: []string{"python3", "-m", "http.server", "18080"}, ReadyTCP: "127.0.0.1:18080"}},
//		Proxies: []external.ProxySpec{{Name: "web", Listen: "127.0.0.1:28080", Upstream: "127.0.0.1:18080"}},
//	}, external.Options{Run: "r1", Dir: dir, Log: log})
//	defer t.Close(ctx)
package external
