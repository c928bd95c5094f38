// Package member runs one demo cluster member — a store node or a gateway — as
// an HTTP server, from a demo.MemberConfig. It is what `chaosctl node` executes
// in each child process (and, in the docker runtime, in each container).
//
// Besides the role's own API every member serves:
//
//	GET  /metrics                    Prometheus metrics (package metrics)
//	GET  /healthz                    200 while the process is up
//	GET  /readyz                     200 once the member serves requests
//	GET  /debug/ring                 ring ownership and replication settings
//	POST /control/v1/clock-skew      {"offset":"2s"}           (store nodes)
//	POST /control/v1/corrupt         {"count":3,"seed":42} or {"ratio":0.1,"seed":42}  (store nodes)
//	GET  /control/v1/status          member id, role, pid, clock offset
//
// The control endpoints are for faults only the demo cluster can take. They
// require "Authorization: Bearer TOKEN" with the token the parent passed in the
// CHAOSCTL_CONTROL_TOKEN environment variable, and refuse every request when no
// token was set.
package member
