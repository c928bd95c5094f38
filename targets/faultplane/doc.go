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
//	plane, err := faultplane.StartEmbedded(ctx, "run42", log)
//	addr, err := plane.AddProxy(faultplane.Link{From: "n1", To: "n2"}, "127.0.0.1:0", n2Addr)
//	_, err = plane.Proxy(link).AddToxic("slow", "latency", "downstream", 1, toxiproxy.Attributes{"latency": 100})
//	defer plane.Close()
package faultplane
