// Package runtimes is the registry of chaosctl's runtimes: from a runtime's
// name (target.runtime, --target) to what starts it — the demo cluster's
// starter, the time a start may take, whether its fault plane is embedded
// in chaosctl, and what `chaosctl recover` removes after a killed run. It
// is the one place that imports every runtime, so the runner, GameDays and
// the CLI ask it instead of comparing names.
//
// The registry is a value: Default builds the built-in one (process,
// docker, kubernetes, external); there is no global to write.
//
//	reg := runtimes.Default()
//	rt, err := reg.Demo(name) // an unknown name's error lists the valid ones
//	if err != nil { ... }
//	ctx, cancel := context.WithTimeout(ctx, rt.StartTimeout)
//	defer cancel()
//	target, err := rt.StartDemo(ctx, spec, runtimes.DemoOptions{Run: id, Dir: dir, Log: log})
package runtimes
