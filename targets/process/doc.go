// Package process is the process runtime: it runs the demo cluster as local
// child processes of the chaosctl binary (`chaosctl node --config JSON`), one per
// member, bound to 127.0.0.1.
//
// Start allocates ports (consecutive from a base port, or free ones), starts
// every member, and waits for /readyz on all of them; if any member fails, every
// member already started is stopped before Start returns. Children are started
// through targets/childproc, in their own process group (so a terminal's Ctrl-C
// reaches only chaosctl, which stops them in order) with the Linux parent-death
// signal set to SIGKILL, and they watch their parent too, so a chaosctl that is
// killed leaves no member behind.
//
// The Cluster then offers what membership faults need: Kill (SIGKILL), Pause
// and Resume (SIGSTOP/SIGCONT), StopMember (SIGTERM, graceful) and StartMember
// (restart keeping the member's data directory), and Stop for the whole cluster.
//
//	c, err := process.Start(ctx, spec, process.Options{Dir: dir, Log: log})
//	if err != nil { ... }
//	defer c.Stop(context.Background())
//	for _, m := range c.Members() { fmt.Println(m.ID, m.Addr, m.PID) }
package process
