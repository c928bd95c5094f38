package node

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/chaosctl/chaosctl/targets/demo/api"
	"github.com/chaosctl/chaosctl/targets/demo/raftkv"
	"github.com/chaosctl/chaosctl/targets/demo/storage"
)

// headerForwarded marks a client request one node forwarded to the leader of
// the key's Raft group; the leader answers it itself or refuses it (503),
// never forwards it again.
const headerForwarded = "X-Raft-Forwarded"

// raftDebugPath lists the node's Raft groups (raftkv.Status) as JSON.
const raftDebugPath = "/debug/raft"

// serveRaft is serveClient in Raft mode: the key's group leader answers;
// any other node forwards the request to it through its link to the leader,
// so the gateway and the workload need not know who leads.
func (n *Node) serveRaft(ctx context.Context, w http.ResponseWriter, r *http.Request, key, rid string) {
	g := n.raft.GroupOf(key)
	if g == nil {
		// The gateway sends a key to its replicas; a node outside the
		// group forwards to the group's first member.
		n.forward(ctx, w, r, n.ring.Preference(key, n.cfg.N)[0], rid)
		return
	}
	var (
		value []byte
		tomb  bool
	)
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodPut:
		var err error
		value, err = readBody(r)
		if err == nil {
			err = api.ValidateValue(value)
		}
		if err != nil {
			api.Error(w, http.StatusBadRequest, err.Error())
			return
		}
	case http.MethodDelete:
		tomb = true
	default:
		w.Header().Set("Allow", "GET, HEAD, PUT, DELETE")
		api.Error(w, http.StatusMethodNotAllowed, "method not allowed; use GET, PUT or DELETE")
		return
	}
	read := r.Method == http.MethodGet || r.Method == http.MethodHead
	// Under a read lease (raftkv.ReadLease) the node answers reads itself,
	// leader or not, until its clock says the lease is over.
	if !g.IsLeader() && !(read && g.LeaseHolds()) {
		leader := g.Leader()
		if leader == "" || leader == n.cfg.ID || r.Header.Get(headerForwarded) != "" {
			w.Header().Set(api.HeaderCause, api.CauseReplicas)
			api.Error(w, http.StatusServiceUnavailable, (&raftkv.NotLeaderError{Group: g.ID, Leader: leader}).Error())
			return
		}
		if r.Method == http.MethodPut {
			r.Body = io.NopCloser(bytes.NewReader(value))
			r.ContentLength = int64(len(value))
		}
		n.forward(ctx, w, r, leader, rid)
		return
	}
	if read {
		rec, found, err := g.Read(ctx, key, n.engine)
		if err != nil {
			// The group, not this node, failed the read (no quorum to
			// confirm the lead): a gateway's breaker must not count it.
			w.Header().Set(api.HeaderCause, api.CauseReplicas)
		}
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			api.Error(w, http.StatusGatewayTimeout, err.Error())
			return
		case err != nil:
			api.Error(w, http.StatusServiceUnavailable, err.Error())
			return
		}
		w.Header().Set(api.HeaderVersion, rec.Version.String())
		if !found || rec.Tombstone {
			api.Error(w, http.StatusNotFound, "not found")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(rec.Value)
		}
		return
	}
	v, err := g.Write(ctx, key, value, tomb)
	var (
		nl  *raftkv.NotLeaderError
		ind *raftkv.IndeterminateError
	)
	switch {
	case err == nil:
		w.Header().Set(api.HeaderVersion, v.String())
		w.WriteHeader(http.StatusNoContent)
	case errors.As(err, &nl):
		w.Header().Set(api.HeaderCause, api.CauseReplicas)
		api.Error(w, http.StatusServiceUnavailable, err.Error())
	case errors.As(err, &ind), v != (storage.Version{}):
		// Appended, or applied with an error: it may take effect.
		api.Error(w, http.StatusInternalServerError, "indeterminate: "+err.Error())
	default:
		api.Error(w, http.StatusServiceUnavailable, err.Error())
	}
}

// forward sends the client request to node to and relays its answer. A
// request that could not be sent had no effect (503); one whose answer was
// lost may have (500 for a write).
func (n *Node) forward(ctx context.Context, w http.ResponseWriter, r *http.Request, to, rid string) {
	addr := n.cfg.Peers[to]
	if addr == "" {
		api.Error(w, http.StatusServiceUnavailable, "no address for raft leader "+to)
		return
	}
	var body io.Reader
	if r.Method == http.MethodPut {
		body = r.Body
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, "http://"+addr+r.URL.RequestURI(), body)
	if err != nil {
		api.Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	req.ContentLength = r.ContentLength
	api.SetOutgoing(ctx, req, rid)
	req.Header.Set(headerForwarded, n.cfg.ID)
	resp, err := n.forwarder.Do(req)
	if err != nil {
		n.countReplica(to, errorClass(err))
		var oe *net.OpError
		read := r.Method == http.MethodGet || r.Method == http.MethodHead
		// The leader, not this node, failed: a gateway's breaker must not
		// count it against this node.
		w.Header().Set(api.HeaderCause, api.CauseReplicas)
		if (errors.As(err, &oe) && oe.Op == "dial") || read {
			api.Error(w, http.StatusServiceUnavailable, "forward to raft leader "+to+": "+err.Error())
		} else {
			api.Error(w, http.StatusInternalServerError, "indeterminate: forward to raft leader "+to+": "+err.Error())
		}
		return
	}
	defer resp.Body.Close()
	n.countReplica(to, strconv.Itoa(resp.StatusCode))
	for k, vs := range resp.Header {
		if strings.HasPrefix(k, "X-") || k == "Content-Type" || k == "Allow" {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, io.LimitReader(resp.Body, api.MaxValueLen+4096))
}

func (n *Node) serveRaftDebug(w http.ResponseWriter, _ *http.Request) {
	out := []raftkv.Status{}
	if n.raft != nil {
		for _, g := range n.raft.Groups() {
			out = append(out, g.Status())
		}
	}
	writeJSON(w, out)
}
