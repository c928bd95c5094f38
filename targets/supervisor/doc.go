// Package supervisor runs one demo member as a child process and lets
// chaosctl kill, start, stop, pause and resume it over HTTP: `chaosctl
// supervise`, the entry point of every member pod on the kubernetes
// runtime. The pod and its emptyDir outlive a killed member, so a crash
// there has the process runtime's meaning (SIGKILL; the data directory
// stays; the member comes back when chaosctl says, at restartAfter), and a
// pause is a real freeze (SIGSTOP), which Kubernetes has no API for.
//
// A member that exits on its own ends the supervisor with the member's exit
// code, so the kubelet restarts the container as it would any crashing
// program; one that chaosctl killed or stopped stays down until it is
// started again. SIGTERM (the pod being deleted) is passed on to the member.
//
// The member runs through targets/childproc: in its own process group, with
// SIGKILL as its parent-death signal, every signal sent to the whole group.
//
// Every request needs the members' control token (Authorization: Bearer).
//
//	POST /v1/kill    SIGKILL, returns once the member is reaped
//	POST /v1/stop    SIGTERM, SIGKILL after the grace (?grace=5s)
//	POST /v1/start   start it again (a running member is left alone)
//	POST /v1/pause   SIGSTOP, returns once it is stopped
//	POST /v1/resume  SIGCONT
//	GET  /v1/status  {"running":true,"paused":false,"pid":7,"starts":1}
package supervisor
