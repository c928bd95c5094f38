package demo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Member roles.
const (
	RoleGateway = "gateway"
	RoleNode    = "node"
)

// EnvControlToken carries the control endpoint's bearer token from the parent to
// a member process (kept out of the command line, which other users can read).
const EnvControlToken = "CHAOSCTL_CONTROL_TOKEN"

// ReadyzSettled is the readiness path of a member with nothing left to catch
// up: a store node caught up from its peers with no hints to hand off, a
// gateway with its write-behind queue flushed and no breaker open. A demo
// cluster's first start waits for it on every store node, and a run's
// read-back on every member (a node restarted during a run is waited for on
// plain /readyz only).
const ReadyzSettled = "/readyz?settled=1"

// EnvListenFD names the file descriptor of a listening socket the parent
// bound for a member and handed to it (the process runtime does): the member
// serves on it instead of binding its Listen address itself, so no other
// process can take the port between the parent's pick and the member's start.
const EnvListenFD = "CHAOSCTL_LISTEN_FD"

// EnvParentPID names the process that started a member; the member exits when
// that process is gone (a second guard beside the parent-death signal).
const EnvParentPID = "CHAOSCTL_PARENT_PID"

// MemberConfig is everything one member process needs to start.
type MemberConfig struct {
	ID      string            `json:"id"`
	Role    string            `json:"role"`
	Listen  string            `json:"listen"` // host:port to bind
	Peers   map[string]string `json:"peers"`  // member id -> host:port as this member reaches it
	Cluster ClusterSpec       `json:"cluster"`
	DataDir string            `json:"dataDir,omitempty"` // this member's own directory (disk persistence)
	Seed    int64             `json:"seed"`
}

// RoleOf returns the role a member id names: g* gateways, n* store nodes.
func RoleOf(id string) string {
	if strings.HasPrefix(id, "g") {
		return RoleGateway
	}
	return RoleNode
}

// Validate checks a member's configuration.
func (m *MemberConfig) Validate() error {
	if err := m.Cluster.Validate(); err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	switch m.Role {
	case RoleGateway, RoleNode:
	default:
		return fmt.Errorf("role %q: allowed are gateway, node", m.Role)
	}
	if m.ID == "" || m.Listen == "" {
		return errors.New("member id and listen address are required")
	}
	for _, n := range m.Cluster.NodeIDs() {
		if n != m.ID && m.Peers[n] == "" {
			return fmt.Errorf("member %s has no address for store node %s", m.ID, n)
		}
	}
	if m.Cluster.Persistence == PersistDisk && m.Role == RoleNode && m.DataDir == "" {
		return fmt.Errorf("member %s: disk persistence needs a data directory", m.ID)
	}
	return nil
}

// Encode returns the JSON form passed to `chaosctl node --config`.
func (m MemberConfig) Encode() (string, error) {
	b, err := json.Marshal(m)
	return string(b), err
}

// DecodeMemberConfig parses the JSON form, rejecting unknown fields.
func DecodeMemberConfig(s string) (MemberConfig, error) {
	var m MemberConfig
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("decode member config: %w", err)
	}
	return m, m.Validate()
}

// peerTokenLabel separates the peer token from the control token it is
// derived from.
const peerTokenLabel = "chaosctl demo peer token v1"

// PeerToken derives the bearer token of replica traffic between store nodes
// from the members' control token: HMAC-SHA256(control, label), hex. Every
// runtime already hands the control token to every member, so each member
// derives the same peer token with nothing new to distribute; and the peer
// token, which crosses the fault plane's proxies on every replica call,
// cannot be turned back into the control token (a captured peer token
// injects no clock skew or corruption). An empty control token gives an
// empty peer token: no replica traffic is accepted.
func PeerToken(control string) string {
	if control == "" {
		return ""
	}
	mac := hmac.New(sha256.New, []byte(control))
	_, _ = mac.Write([]byte(peerTokenLabel))
	return hex.EncodeToString(mac.Sum(nil))
}
