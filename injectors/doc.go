// Package injectors applies faults to a running target and takes them away
// again.
//
// One small interface, one file per kind: an Injector applies a Fault to a
// targets.Target and returns its Revert, which is idempotent. A Registry maps
// kinds to injectors; DefaultRegistry holds every built-in kind:
//
//	link faults, through the target's fault plane (toxiproxy):
//	  partition  drop: `timeout` toxic (0) on both streams of each cut link;
//	             reject: the cut links' proxies disabled (connections refused)
//	  latency    `latency` toxic on the answers (downstream), Delay ± Jitter
//	  bandwidth  `bandwidth` toxic on both streams
//	  reset      `reset_peer` toxic on both streams
//	  blackhole  `timeout` toxic (0) on both streams of the selected links
//	membership faults, through the target's runtime:
//	  crash      Kill; revert Start (data kept)
//	  pause      Pause; revert Resume
//	  restart    Stop; revert Start
//	  clockSkew  control clock-skew offset; revert offset 0 (demo nodes)
//	  corrupt    control corrupt; nothing to revert (demo nodes repair)
//
// The registry is the one list of fault kinds: KindsInOrder for help and
// validation messages, ParseKind for what people type, and Capabilities for
// what a kind acts on (fault-plane links, groups, member state, store nodes),
// which experiment validation and the cluster's control API ask instead of
// listing kinds.
//
// A reject partition disables its links' proxies under an owner name of its
// own (faultplane.Plane.Disable), so a runtime holding the same link or a
// reset of a member's links cannot undo it, nor it them.
//
// Toxics are named after their fault (ToxicName), so a revert removes only
// its own and two faults can share a link. A fault on several targets is
// applied to all or, when one fails, to none.
//
// Receipts: every built-in injector is a Verifier. Just before a fault is
// applied the runner takes a Baseline (links probed once, a latency link's
// round trip, a member's count of damaged values); after the apply and after
// the revert, a Receipt: each link the fault acts on probed through the
// fault plane by the member at its start (its reach control; the client side
// by chaosctl), the links a partition must leave alone probed too, members'
// state read from the runtime (targets.StatusReporter: /proc, docker
// inspect), clock offsets and damage counts from the control status. A check
// another fault explains is excused; one that cannot be made is not
// measured; a receipt with nothing measured is skipped and decides nothing.
//
// A Tracker is what a runner uses: it applies faults through a registry,
// keeps their reverts (RevertAll on every exit path, newest first) and
// journals everything in the run's Ledger, an fsynced NDJSON file in the state
// directory (StateDir) whose intent record precedes every change. After
// chaosctl was killed, Recover reads the ledgers of unfinished runs and
// removes what they left: member processes (verified, never a process that
// reused a pid; a command member of the external target with its whole
// process group and every process bearing its cookie), what unreverted
// faults did to users' containers the ledger records (RecoverWith and a
// ContainerEngine: unpause, start), the run's proxies, a temporary run directory (only one that
// CreateTempRunDir made, with the random suffix the ledger recorded).
// Recover trusts only ledgers private to the current user (its own, mode
// 0600); lines that hold no record, such as one torn by a crash mid-write,
// are skipped with a warning, and every append starts on a fresh line.
//
//	dir, suffix, err := injectors.CreateTempRunDir()
//	ledger, err := injectors.CreateLedger(stateDir, injectors.RunInfo{Run: id, Runtime: "process", Dir: dir, TempDirSuffix: suffix})
//	target, err := processdemo.Start(ctx, spec, processdemo.Options{..., OnStarted: ledger.OnStarted})
//	err = ledger.Plane(target.Plane().URL(), true)
//	tr := injectors.NewTracker(injectors.DefaultRegistry(), target, ledger, log)
//	defer tr.RevertAll(context.WithoutCancel(ctx))
//	err = tr.Apply(ctx, injectors.Fault{Name: "slow-n2", Kind: injectors.KindLatency, Targets: []string{"n2"}, Delay: 100 * time.Millisecond})
//	...
//	err = tr.Revert(ctx, "slow-n2")
//	err = ledger.End(injectors.OutcomeCompleted)
package injectors
