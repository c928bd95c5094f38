// Package member runs one demo cluster member — a store node or a gateway — as
// an HTTP server, from a demo.MemberConfig. It is what `chaosctl node` executes
// in each child process (and, in the docker runtime, in each container).
//
// Besides the role's own API every member serves:
//
//	GET  /metrics                    Prometheus metrics (package metrics)
//	GET  /healthz                    200 while the process is up (?pad=N adds N bytes, at most 1 MiB)
//	GET  /readyz                     200 once the member serves requests
//	GET  /debug/ring                 ring ownership and replication settings
//	POST /control/v1/clock-skew      {"offset":"2s"}           (store nodes)
//	POST /control/v1/corrupt         {"count":3,"seed":42} or {"ratio":0.1,"seed":42}  (store nodes)
//	POST /control/v1/reach           {"to":"n2","timeout":"500ms","pad":0}: probe the link to a store node
//	GET  /control/v1/status          member id, role, pid, clock offset, values corrupted (POST too)
//	GET  /debug/pprof/...            Go profiles (index, named profiles, CPU profile)
//
// The control endpoints are for faults only the demo cluster can take, and
// for the receipts that show a fault landed: reach probes a link from this
// member through the address it uses for the peer (the fault plane's proxy)
// on a new connection, and answers what it saw (ok, status, bytes, round trip
// in seconds, error). They
// require "Authorization: Bearer TOKEN" with the token the parent passed in the
// CHAOSCTL_CONTROL_TOKEN environment variable, and refuse every request when no
// token was set; so do the profiles under /debug/pprof/. A store node derives
// its peer token from the same token (demo.PeerToken) and requires it on the
// replica API (package node); without a control token it refuses all replica
// traffic too, and sends none. The client API, /metrics, /healthz, /readyz and
// /debug/ring are open.
//
// Every member's server bounds a request's header to ReadHeaderTimeout, its
// body to Options.BodyTimeout (DefaultBodyTimeout; 408 after) and the whole
// exchange to WriteTimeout. Bodies (at most 1 MiB, 413 beyond) are read into
// memory before anything else sees the request, within a shared byte budget
// (Options.BodyBudget; 503 beyond): a connection that trickles its body holds
// no slot of admission control, so slow uploads cannot make a member shed its
// traffic.
package member
