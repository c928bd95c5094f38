// Package external is the target of users' own services (target.external):
// members chaosctl starts from a command (each in its own process group,
// its leader dying with chaosctl, waited for through an HTTP or TCP
// readiness check; Options.OnStarted records it in the ledger with a cookie
// its processes inherit, so `chaosctl recover` ends the whole group) or
// finds as running containers by name or label, and toxiproxy proxies in
// front of them — in an embedded toxiproxy or an existing server. Membership
// faults signal a member's process group (SIGKILL, SIGSTOP/SIGCONT,
// SIGTERM, through targets/childproc) or use the Docker API on its
// container; link faults act on the proxies, whose links run from the client
// side to the proxy's name. Each kind of member (command, container, pods)
// is one driver behind the same small interface; the Target only looks
// members up and waits for their readiness.
//
// Pod members are the user's pods on Kubernetes, found by namespace and
// label selector (MemberSpec.PodNamespace, PodSelector) in a cluster
// Spec.Kubernetes names; the namespace must be in KubeSpec.Allow and never
// is a protected one. Their controller (Deployment, StatefulSet) keeps them:
// Kill deletes the pods with zero grace and Stop with their own, returning
// once the pods are gone from the API; Start waits until as many Running and
// Ready pods as at Start, none of them deleted, match again. chaosctl never
// creates nor (outside Kill and Stop) deletes the user's pods. Pause and
// Resume are unsupported (Kubernetes cannot freeze a container of someone
// else's pod). Isolate (targets.Isolator) applies a NetworkPolicy labelled
// with the run that denies all ingress and egress of the selected pods;
// Rejoin and Close delete it. Other members cannot be isolated
// (targets.ErrUnsupported).
//
//	t, err := external.Start(ctx, external.Spec{
//		Members: []external.MemberSpec{{Name: "web", Command: []string{"python3", "-m", "http.server", "18080"}, ReadyTCP: "127.0.0.1:18080"}},
//		Proxies: []external.ProxySpec{{Name: "web", Listen: "127.0.0.1:28080", Upstream: "127.0.0.1:18080"}},
//	}, external.Options{Run: "r1", Dir: dir, Log: log})
//	defer t.Close(ctx)
//
// A pod member:
//
//	external.Spec{
//		Members:    []external.MemberSpec{{Name: "cart", PodNamespace: "shop", PodSelector: "app=cart,tier!=canary", Ports: []int{8080}}},
//		Kubernetes: &external.KubeSpec{Allow: []string{"shop"}},
//	}
package external
