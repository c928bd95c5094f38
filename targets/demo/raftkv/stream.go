package raftkv

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// PathPrefix is where a node's HTTP server takes Raft connections: a peer
// sends "GET PathPrefix+GROUP" with "Upgrade: chaosctl-raft" and, after the
// 101 answer, the connection carries hashicorp/raft's RPCs. Riding on the
// member's one HTTP port means Raft traffic crosses the same fault-plane
// link as every other node→node request: a partition, latency or pause of
// that link hits Raft too, and no link layout changes.
const PathPrefix = "/internal/v1/raft/"

// upgradeProto is the protocol name of the upgrade.
const upgradeProto = "chaosctl-raft"

// handshakeTimeout bounds the upgrade exchange of a dial.
const handshakeTimeout = 2 * time.Second

// streamLayer is one group's raft.StreamLayer. Dial reaches a peer (a
// ServerAddress is the peer's node id) at the address this node uses for it
// (its fault-plane link) and upgrades an HTTP request; Accept returns the
// connections the node's handler upgraded for this group.
type streamLayer struct {
	group string
	self  string
	peers map[string]string // node id -> host:port as this node reaches it
	auth  string            // "Bearer " + peer token, or ""

	incoming chan net.Conn
	done     chan struct{}
	once     sync.Once

	mu    sync.Mutex
	conns map[net.Conn]struct{} // accepted and dialled, closed by Close
}

func newStreamLayer(group, self string, peers map[string]string, token string) *streamLayer {
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	return &streamLayer{
		group: group, self: self, peers: peers, auth: auth,
		incoming: make(chan net.Conn),
		done:     make(chan struct{}),
		conns:    map[net.Conn]struct{}{},
	}
}

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	addr, ok := s.peers[string(address)]
	if !ok {
		return nil, fmt.Errorf("raft group %s: no address for peer %s", s.group, address)
	}
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, fmt.Errorf("raft group %s: dial %s: %w", s.group, address, err)
	}
	_ = conn.SetDeadline(time.Now().Add(min(timeout, handshakeTimeout)))
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s%s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: %s\r\nX-Raft-From: %s\r\n", PathPrefix, s.group, addr, upgradeProto, s.self)
	if s.auth != "" {
		fmt.Fprintf(&b, "Authorization: %s\r\n", s.auth)
	}
	b.WriteString("\r\n")
	if _, err := conn.Write([]byte(b.String())); err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft group %s: upgrade to %s: %w", s.group, address, err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("raft group %s: upgrade to %s: %w", s.group, address, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		conn.Close()
		return nil, fmt.Errorf("raft group %s: upgrade to %s: status %d", s.group, address, resp.StatusCode)
	}
	_ = conn.SetDeadline(time.Time{})
	return s.track(&bufferedConn{Conn: conn, r: br}), nil
}

// serve upgrades an incoming request and hands the connection to Accept.
func (s *streamLayer) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), upgradeProto) {
		http.Error(w, "expected Upgrade: "+upgradeProto, http.StatusBadRequest)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "connection cannot be upgraded", http.StatusInternalServerError)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	// The server's read and write deadlines stay on a hijacked connection.
	_ = conn.SetDeadline(time.Time{})
	if _, err := conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: " + upgradeProto + "\r\n\r\n")); err != nil {
		conn.Close()
		return
	}
	c := s.track(&bufferedConn{Conn: conn, r: brw.Reader})
	select {
	case s.incoming <- c:
	case <-s.done:
		c.Close()
	}
}

func (s *streamLayer) track(c net.Conn) net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		c.Close()
		return c
	default:
	}
	tc := &trackedConn{Conn: c, s: s}
	s.conns[tc] = struct{}{}
	return tc
}

// Accept implements net.Listener.
func (s *streamLayer) Accept() (net.Conn, error) {
	select {
	case c := <-s.incoming:
		return c, nil
	case <-s.done:
		return nil, net.ErrClosed
	}
}

// Close implements net.Listener: it also closes every connection the layer
// made or accepted, so that a stopped group leaves nothing open.
func (s *streamLayer) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		close(s.done)
		conns := s.conns
		s.conns = map[net.Conn]struct{}{}
		s.mu.Unlock()
		for c := range conns {
			c.(*trackedConn).Conn.Close()
		}
	})
	return nil
}

// Addr implements net.Listener.
func (s *streamLayer) Addr() net.Addr { return nodeAddr(s.self) }

type nodeAddr string

func (a nodeAddr) Network() string { return "raft" }
func (a nodeAddr) String() string  { return string(a) }

// bufferedConn reads first what the upgrade's reader already buffered.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// trackedConn leaves the layer's set when closed.
type trackedConn struct {
	net.Conn
	s *streamLayer
}

func (c *trackedConn) Close() error {
	c.s.mu.Lock()
	delete(c.s.conns, c)
	c.s.mu.Unlock()
	err := c.Conn.Close()
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}
