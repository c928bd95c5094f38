// Package childproc is the lifecycle of a child process that chaosctl owns:
// the process runtime's members, the external target's command members and
// the supervisor's member all start, stop, kill, pause and resume through it.
//
// Start runs the command in its own process group (so a terminal's Ctrl-C
// reaches only chaosctl, which then stops its children in order) with the
// Linux parent-death signal set to SIGKILL (so a chaosctl that is killed
// leaves no child behind; other systems have no such signal, and `chaosctl
// recover` ends the child there), its output appended to a log file or written to
// the given writers. Every signal goes to the whole group, so a member's own
// children share its fate — except the parent-death signal, which the
// kernel sends to the direct child only: what the leader started is left
// to `chaosctl recover`, which ends the group (the external target records
// its members with a cookie their processes inherit, for this).
//
//   - Stop: SIGTERM, then SIGCONT (a paused group must run to act on it);
//     after the grace period, or when ctx ends first, SIGKILL.
//   - Kill: SIGKILL, returning once the leader is reaped.
//   - Pause: SIGSTOP, returning once the leader is in state T, read from
//     /proc through prometheus/procfs with a deadline (a stop is delivered
//     asynchronously; the fault must be in force when the caller goes on).
//   - Resume: SIGCONT.
//   - Done, Exited, Wait and State say whether and how it ended.
//
// Operations on a process that has already exited return ErrExited.
//
//	p, err := childproc.Start(childproc.Spec{Argv: []string{"sleep", "60"}, LogPath: "sleep.log"})
//	if err != nil { ... }
//	if err := p.Pause(ctx, 2*time.Second); err != nil { ... }
//	_ = p.Resume()
//	killed, err := p.Stop(ctx, 5*time.Second)
package childproc
