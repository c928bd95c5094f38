package probes

// SetExecPanicHook sets the hook RunExec's timeout goroutine runs, for a
// test of a panic there; the returned function unsets it.
func SetExecPanicHook(f func()) (reset func()) {
	execPanicHook = f
	return func() { execPanicHook = nil }
}
