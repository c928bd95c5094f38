package crash

import (
	"strings"
	"sync/atomic"
	"testing"
)

// A panic in one goroutine of a Group reaches the goroutine that waits,
// after every other goroutine ended, as a *Panic naming both goroutines,
// with its value and the stack where it panicked.
func TestGroupPassesAPanicOnToTheWaiter(t *testing.T) {
	var ended atomic.Int32
	var got *Panic
	func() {
		defer Recover("the waiter", func(p *Panic) { got = p })
		var g Group
		g.SetLimit(2)
		for i := range 5 {
			g.Go("worker", func() {
				defer ended.Add(1)
				if i == 3 {
					panic("injected by the test")
				}
			})
		}
		g.Wait()
		t.Error("Wait returned after a goroutine panicked")
	}()
	if got == nil || got.Where != "the waiter: worker" || got.Value != "injected by the test" {
		t.Fatalf("the waiter got %+v", got)
	}
	if !strings.Contains(string(got.Stack), "group_test.go") {
		t.Errorf("the stack is not where it panicked:\n%s", got.Stack)
	}
	if n := ended.Load(); n != 5 {
		t.Errorf("%d of 5 goroutines ended before Wait panicked", n)
	}
}

func TestGroupWithoutAPanicWaits(t *testing.T) {
	var n atomic.Int32
	var g Group
	for range 10 {
		g.Go("worker", func() { n.Add(1) })
	}
	g.Wait()
	if n.Load() != 10 {
		t.Fatalf("%d of 10 goroutines ran", n.Load())
	}
}
