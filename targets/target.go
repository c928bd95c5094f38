package targets

import (
	"context"
	"errors"
	"time"

	"github.com/chaosctl/chaosctl/targets/faultplane"
)

// ErrUnsupported is wrapped by a Target operation its runtime cannot do.
var ErrUnsupported = errors.New("not supported by this runtime")

// Member describes one member of a running target.
type Member struct {
	ID   string `json:"id"`
	Role string `json:"role"` // gateway, node, or member (external)
	Addr string `json:"addr"` // where it listens (direct, not through a proxy)
	PID  int    `json:"pid,omitempty"`
	// PGID is set for a member chaosctl started as a command in a process
	// group of its own (the external target's command members): PID leads
	// it, every signal goes to the whole group, and recovery ends the
	// whole group.
	PGID int `json:"pgid,omitempty"`
	// Cookie, with PGID, is the value of EnvMemberCookie in the
	// environment of the member's processes, which every process it starts
	// inherits: recovery finds them by it after chaosctl is gone, even when
	// the group's leader is dead. It is never reported.
	Cookie string `json:"-"`
	// Container is the user's container the member is (the external
	// target's container members).
	Container *ContainerRef `json:"container,omitempty"`
}

// EnvMemberCookie is the environment variable that marks the processes of a
// member chaosctl started as a command (Member.Cookie), as a build tool
// marks the processes of a build so that none outlives it.
const EnvMemberCookie = "CHAOSCTL_MEMBER_COOKIE"

// ContainerRef names a user's container and the engine it is on.
type ContainerRef struct {
	ID   string `json:"id"`             // the full container id
	Name string `json:"name,omitempty"` // its name, for people
	// Host is the Docker engine's address as chaosctl reached it
	// (unix:///var/run/docker.sock, tcp://host:2376).
	Host string `json:"host"`
}

// Target is a running system under test.
type Target interface {
	// Runtime names the runtime: process, docker, kubernetes, external.
	Runtime() string
	// Members lists the members.
	Members() []Member
	// ClientAddrs are the addresses the workload sends to (the client→gateway
	// proxies for the demo cluster).
	ClientAddrs() []string
	// Plane is the fault plane in front of the target's links.
	Plane() *faultplane.Plane

	// Kill stops a member at once (SIGKILL, container kill); its data stays.
	Kill(ctx context.Context, id string) error
	// Start starts a member that is not running and waits until it is ready.
	Start(ctx context.Context, id string) error
	// Stop stops a member gracefully.
	Stop(ctx context.Context, id string) error
	// Pause freezes a member (SIGSTOP, cgroup freezer); Resume thaws it.
	Pause(ctx context.Context, id string) error
	Resume(ctx context.Context, id string) error
	// Control calls a demo member's control endpoint: action is "clock-skew"
	// or "corrupt", body its JSON request; the answer is decoded into out
	// when it is not nil.
	Control(ctx context.Context, id, action string, body, out any) error

	// Close stops every member and removes the fault plane. It is idempotent.
	Close(ctx context.Context) error
}

// Isolator is a Target that can take a member off the network entirely (the
// docker runtime disconnects its container from the run's network). A
// partition with behaviour isolate uses it where the target has it, and
// rejects every link of the member otherwise.
type Isolator interface {
	// Isolate cuts member id off: nothing reaches it, it reaches nothing.
	Isolate(ctx context.Context, id string) error
	// Rejoin undoes Isolate and waits until the member is ready again when
	// it runs. It is idempotent.
	Rejoin(ctx context.Context, id string) error
}

// Settler is a Target that can tell when it has settled after faults: no
// member still catching up or holding work that a read of its data would
// not see yet. WaitSettled returns nil once it has, and an error when it has
// not within the given time or ctx ends.
type Settler interface {
	WaitSettled(ctx context.Context, within time.Duration) error
}

// MemberStatus is what a runtime observes of one member's process or
// container, for the receipts that show a membership fault landed.
type MemberStatus struct {
	// Running: the process or container exists and has not exited.
	Running bool
	// Paused: it is frozen (SIGSTOP, cgroup freezer, docker pause).
	Paused bool
	// PID is the process id where the runtime knows it (0 otherwise).
	PID int
	// Detail says how it was observed ("/proc/123/stat state T", "docker
	// inspect: paused").
	Detail string
}

// StatusReporter is a Target that can say what state a member is in, as the
// operating system or the container engine sees it (not as chaosctl last
// left it).
type StatusReporter interface {
	MemberStatus(ctx context.Context, id string) (MemberStatus, error)
}

// ClientAddresser is a Target that says where the workload reaches member
// id (the client→member proxy), "" when it does not.
type ClientAddresser interface {
	ClientAddr(id string) string
}
