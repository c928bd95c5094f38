// Package crash turns a panic in one of chaosctl's goroutines into an error
// that ends the run the goroutine belongs to, instead of the process: the
// run then reverts every fault it applied, as on any other way out.
//
//	go func() {
//		defer crash.Recover("probe latency", run.crashed) // crashed cancels the run
//		sample()
//	}()
//
// Recover must be deferred directly (recover only stops a panic when the
// deferred function itself calls it).
package crash

import (
	"fmt"
	"runtime/debug"
)

// Panic is a recovered panic: the goroutine it ended, the value it panicked
// with and the goroutine's stack where it panicked.
type Panic struct {
	Where string
	Value any
	Stack []byte
}

func (p *Panic) Error() string { return fmt.Sprintf("%s panicked: %v", p.Where, p.Value) }

// Unwrap is the value the goroutine panicked with when it is an error (a
// runtime error, say), so errors.Is and errors.As see it.
func (p *Panic) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// Recover, deferred directly in a goroutine, stops a panic in it and hands
// report a *Panic naming the goroutine where. Without a panic it does
// nothing.
func Recover(where string, report func(*Panic)) {
	if v := recover(); v != nil {
		report(Of(where, v))
	}
}

// Of is the *Panic of a value v that a deferred function recovered in the
// goroutine where, with the stack where it panicked: for a caller that must
// call recover itself. A *Panic passed on (Group.Wait) keeps its value and
// the stack where it first panicked, and names both goroutines.
func Of(where string, v any) *Panic {
	if p, ok := v.(*Panic); ok {
		return &Panic{Where: where + ": " + p.Where, Value: p.Value, Stack: p.Stack}
	}
	return &Panic{Where: where, Value: v, Stack: debug.Stack()}
}
