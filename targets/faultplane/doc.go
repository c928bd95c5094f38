// Package faultplane puts a toxiproxy proxy on every link a fault may cut or
// slow (client→g*, g*→n*, n*→n*) and drives it through toxiproxy's own Go client, so
// the same code works against the embedded server (process runtime), a proxy
// container (docker runtime) or a user's existing toxiproxy server.
//
// A link is directed: Link{From: "n1", To: "n2"} is the proxy n1 uses to reach
// n2, so one-way partitions cut exactly one direction. Proxy names carry the
// run id (`chaosctl-<run>-<from>-<to>`), so Cleanup and recovery after a crash
// touch only what this run created.
//
// The plane owns whether a proxy is enabled. A reject partition, a runtime
// holding the links to a member whose pod is gone and a reset of a member's
// links each disable a link under their own owner name (Disable; ResetLinks
// holds it for a moment) and release only their own hold (Enable, or
// Retarget with a new upstream); the proxy is enabled when no owner holds
// it, so none can undo another. Only this plane value
// keeps the holds: drive a run's proxies through one plane. After chaosctl
// was killed, recovery deletes the run's proxies (Cleanup), holds and all.
//
// The API chaosctl serves (StartEmbedded, and Serve: `chaosctl proxy` in
// the docker fault-plane container and the kubernetes fault-plane pod)
// answers only requests with the run's token, but GET /version (readiness);
// the plane's own client sends it (NewClient: basic auth in the endpoint's
// user info, as toxiproxy's client takes no header). A served plane also
// holds a dead-man lease (package internal/deadman) that ConnectServed
// takes and renews until Close or ReleaseLease: when chaosctl stops
// renewing it, the server removes every toxic and enables every proxy. A
// user's own toxiproxy (Connect) is driven as it is, with neither.
//
//	plane, err := faultplane.StartEmbedded(ctx, "run42", log)
//	addr, err := plane.AddProxy(faultplane.Link{From: "n1", To: "n2"}, "127.0.0.1:0", n2Addr)
//	_, err = plane.Proxy(link).AddToxic("slow", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 100})
//	err = plane.Disable(link, "partition split #1") // refused until every owner has enabled it
//	err = plane.Enable(link, "partition split #1")
//	defer plane.Close()
package faultplane
