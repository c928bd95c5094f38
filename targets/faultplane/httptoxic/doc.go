// Package httptoxic is an HTTP/1.1-aware toxiproxy toxic: it matches
// requests by method, path prefix and headers and aborts them with a status
// (without reaching the upstream), delays them, or drops the connection in
// the middle of their response. It is registered in chaosctl's own
// toxiproxy server (Register; targets/faultplane does it), so every runtime's
// fault plane has it, and a fault adds and removes it like any toxic: the
// toxiproxy API, the ledger, `halt`, the dead-man lease and recovery carry it
// unchanged. A user's own toxiproxy server does not know the type.
//
// A fault adds two toxics to a link's proxy that share a Rule and a Pair id:
// one with Role "request" on the upstream stream (it parses the requests and
// decides) and one with Role "response" on the downstream stream (it parses
// the responses and carries out aborts and drops in order). toxiproxy gives
// a toxic no connection identity, so the two halves of one connection are
// paired by the order in which toxiproxy creates their states: a proxy
// accepts connections in one goroutine and creates a new connection's
// upstream link, then its downstream link, each under the proxy's toxic lock
// that adding a toxic also holds (toxiproxy v2.12; the tests through a real
// server hold it). Connections that were open when the fault was added
// cannot be paired: on each of their requests the request half adds
// `Connection: close`, so the server closes them after that response and the
// client reconnects through the fault. Requests on the new connections,
// reused keep-alive connections included, are matched one by one.
//
// Which matching requests are acted on is a pure function of the rule's
// Seed and the request's ordinal among the link's matching requests
// (Chance), or the first FirstN of them, so a run is reproducible for a
// given order of requests. The request toxic's attributes, as the toxiproxy
// API shows them, carry its counts (Counts): receipts read them.
//
// Bodies, Content-Length or chunked, pass through byte for byte; a request
// or response that is not HTTP/1.x, an upgrade and a CONNECT tunnel turn
// the connection's halves into plain pass-through.
package httptoxic
