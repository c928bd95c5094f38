// Package api holds the wire contract shared by the demo cluster's gateways and
// store nodes: paths, header names, the limits on keys and
// values, and the propagation of deadlines and request ids from hop to hop.
//
// Client API, served by gateways and by store nodes alike:
//
//	PUT    /kv/{key}   body = value      → 204, X-Version
//	GET    /kv/{key}                     → 200 body + X-Version, or 404
//	DELETE /kv/{key}                     → 204
//	GET    /kv?from=&to=&limit=          → 200 ScanAnswer (gateways only; scan.go)
//
// Errors: 400 bad key or value; 503 no quorum / breaker open / load shed and 429
// rate limited, both DEFINITE: the request had no effect; 500 (X-Error
// "indeterminate: ...") a write that reached some replicas but not a quorum, and
// 504 deadline passed: both INDETERMINATE for writes, which may still take effect. A caller states its remaining budget in
// X-Request-Timeout (a Go duration); every hop derives its context deadline from
// it, and a request whose budget is already spent is refused without work.
package api
