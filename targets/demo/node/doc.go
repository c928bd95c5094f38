// Package node is a demo cluster store node: one replica of a sharded,
// replicated key-value store, and a coordinator for any key.
//
// Keys are placed on a consistent-hash ring (package ring); a key's replicas are
// the first N distinct nodes clockwise. The node that receives a client request
// coordinates it, talking to the replicas (itself included) over the internal
// replica API:
//
//	GET /internal/v1/replica/{key}[?meta=1]  → 200 + X-Version, X-Tombstone, X-Checksum (+ value); 404
//	PUT /internal/v1/replica/{key}           ← X-Version, X-Tombstone, X-Checksum [, X-Hint-For]; → 204, X-Applied
//	GET /internal/v1/snapshot?for={node}     → JSON lines of the records node replicates (a restarted node's catch-up)
//	GET /internal/v1/range?from=&to=&limit=  → api.RangeListing: this node's records in [from, to), in order (a gateway's scan; scan.go)
//
// The replica API is for peers only: every call carries "Authorization: Bearer
// TOKEN" with the peer token (Config.PeerToken), and a request without it is
// refused with 401 (a forged record is never applied). A node given no token
// refuses every replica request.
//
// Three consistency modes:
//
//   - linearizable: ABD-style majority quorums. A write first learns the highest
//     version from a read quorum and writes version+1 to a write quorum; a read
//     takes the newest version of a read quorum and, unless the whole quorum
//     already had it, writes it back to a write quorum before answering. Single-key
//     reads and writes are linearizable while a quorum is reachable, and fail
//     with 503 otherwise (the CP choice).
//   - quorum: Dynamo-style W/R quorums; versions are hybrid logical clock
//     timestamps and the last write wins; reads repair stale replicas
//     asynchronously.
//   - eventual: W=R=1 with a sloppy quorum: when a home replica is unreachable the
//     write goes to the next node on the ring as a hint, delivered when the home
//     replica is back (hinted handoff). Available under partition; stale reads and
//     lost updates are expected. A request of a client session (X-Session) to
//     a replica of its key is served from that node's own replica, which gives
//     the session read-your-writes and monotonic reads while it keeps its
//     coordinator (coordinator.go: Sessions).
//
// Every stored value carries a checksum; a replica whose copy fails it reports so
// on read, the coordinator counts it (chaosdemo_corruptions_total{event="detected"})
// and rewrites the copy from the good ones.
package node
