// Package targets is what faults land on: a Target is a running system under
// test — its members, how to reach them, the fault plane in front of its links,
// and the membership operations (kill, pause, restart) of its runtime.
//
// Runtimes implement Target in packages of their own, and this package
// imports none of them: the process runtime (package processdemo: the demo
// cluster as local child processes with every link through an embedded
// toxiproxy server), docker, kubernetes and external. Package runtimes maps
// a runtime's name to its starter. Injectors (package injectors) take a
// Target and never care which runtime is behind it; an operation a runtime
// cannot do returns an error wrapping ErrUnsupported.
package targets
