package gateway

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/chaosctl/chaosctl/targets/demo/api"
)

// A session's requests for a key go to its one coordinator (with X-Session),
// every gateway picks the same one, and they do not fail over; requests
// without a session go to the key's first node and fail over.
func TestSessionSticksToOneCoordinator(t *testing.T) {
	nodes := startNodes(t, "n1", "n2", "n3")
	cfg := Config{Replicas: 3, Resilience: fastResilience()}
	g1 := newTestGateway(t, cfg, nodes)
	g2 := newTestGateway(t, Config{ID: "g2", Replicas: 3, Resilience: fastResilience()}, nodes)
	const key = "k"
	prefs := g1.Ring().Preference(key, 3)
	// A session whose coordinator is not the key's first node.
	session := ""
	for i := range 100 {
		if s := fmt.Sprintf("c%d", i); sessionCoordinator(prefs, s) != prefs[0] {
			session = s
			break
		}
	}
	if session == "" {
		t.Fatal("no session off the key's first node in 100")
	}
	coord := sessionCoordinator(prefs, session)
	if !slices.Contains(prefs, coord) {
		t.Fatalf("coordinator %s not among the key's replicas %v", coord, prefs)
	}
	hdr := map[string]string{api.HeaderSession: session}
	if a := do(t, http.MethodPut, g1.url+"/kv/"+key, "v1", hdr); a.code != http.StatusNoContent {
		t.Fatalf("session put through g1: %d %s", a.code, a.body)
	}
	if a := do(t, http.MethodGet, g2.url+"/kv/"+key, "", hdr); a.code != http.StatusOK || a.body != "v1" {
		t.Fatalf("session get through g2: %d %q, want the write, from the same coordinator", a.code, a.body)
	}
	for id, n := range nodes {
		want := 0
		if id == coord {
			want = 2
		}
		if got := n.callCount(); got != want {
			t.Fatalf("%s served %d requests, want %d (the session's coordinator is %s)", id, got, want, coord)
		}
	}
	if nodes[coord].lastSession != session {
		t.Fatalf("coordinator saw X-Session %q, want %q", nodes[coord].lastSession, session)
	}

	// The coordinator refuses: the session gets 503, nobody else is asked.
	nodes[coord].mode.Store(modeUnavailable)
	if a := do(t, http.MethodGet, g1.url+"/kv/"+key, "", hdr); a.code != http.StatusServiceUnavailable {
		t.Fatalf("session get with its coordinator down: %d, want 503", a.code)
	}
	for id, n := range nodes {
		if id != coord && n.callCount() != 0 {
			t.Fatalf("%s was asked for the session: no failover expected", id)
		}
	}
	// Without a session the gateway fails over as before.
	nodes[prefs[0]].mode.Store(modeUnavailable)
	if a := do(t, http.MethodGet, g1.url+"/kv/"+key, "", nil); a.code != http.StatusOK && a.code != http.StatusNotFound {
		t.Fatalf("plain get: %d, want an answer from a node that is up", a.code)
	}
}
