// Package processdemo runs the demo cluster on the process runtime: every
// member a child process of chaosctl (package process), every fault-plane
// link through a toxiproxy server embedded in chaosctl (package faultplane).
// Demo implements targets.Target; the runtime registry (package runtimes)
// starts it by the name Name.
//
//	d, err := processdemo.Start(ctx, spec, processdemo.Options{
//		Run: runID, Dir: dir, Log: log, OnStarted: ledger.OnStarted,
//	})
//	if err != nil { ... }
//	defer d.Close(ctx)
package processdemo

// Name is the process runtime's name (target.runtime, --target).
const Name = "process"
