package gateway

import (
	"context"
	"hash/fnv"
)

// Sessions. A client request that carries X-Session (api.HeaderSession)
// belongs to that client session, and the gateway routes it to the session's
// coordinator for the key: one node of the key's preference list, chosen by
// a hash of the session name (sessionCoordinator), the same on every gateway.
// The request goes there or nowhere — no failover, no hedge — and the
// session's reads bypass the cache: a session's guarantees come from talking
// to one coordinator, and moving to another one mid-session (or reading an
// answer cached for every client) is exactly how they are lost. So a session
// whose coordinator cannot be reached gets 503 (nothing happened) or an
// unknown outcome, never a stale answer from elsewhere: availability is the
// price of stickiness. The coordinator is told the session too, and in
// eventual mode serves it from its own replica (package node).
//
// Requests without X-Session go to the first admitted node of the key's
// preference list, failing over and hedging as before.

type sessionKey struct{}

func withSession(ctx context.Context, session string) context.Context {
	return context.WithValue(ctx, sessionKey{}, session)
}

// sessionFrom returns the request's session, "" for none.
func sessionFrom(ctx context.Context) string {
	s, _ := ctx.Value(sessionKey{}).(string)
	return s
}

// sessionCoordinator is the node of prefs (a key's preference list) that
// coordinates every request of session for that key: sessions spread over
// the key's replicas, and each keeps its own.
func sessionCoordinator(prefs []string, session string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(session))
	return prefs[h.Sum32()%uint32(len(prefs))]
}
