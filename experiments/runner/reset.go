package runner

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/targets"
)

// Bounds of a key reset: concurrent requests, and how long the deletes may
// take to leave no value on any store node (and a shared target's members
// to settle).
const (
	resetWorkers = 32
	resetWithin  = 5 * time.Second
	resetPoll    = 250 * time.Millisecond
)

// keyReset deletes the demo workload's keys k0..k{keys-1} through a
// target's client addresses until no store node holds a value. The
// consistency checkers judge a run's history from an empty store, as on a
// fresh cluster; on a shared target the keys still hold what earlier runs
// wrote, and a read of such a value would look like a read of a value
// nobody wrote. A deleted key reads as not found, the empty store's
// answer.
//
// A delete is acknowledged by a write quorum: a replica it did not reach
// keeps its value, which a later read quorum could return. So after each
// round of deletes quiet is asked what keeps the target from being fresh,
// a store node's count of the values it holds first (storedValues), and
// every key is deleted again until it answers nothing or within passes.
// The deletes are also the traffic that closes a breaker a run left open.
// With a gateway cache every key is deleted through every gateway, each
// dropping its own cached copy.
type keyReset struct {
	addrs    []string
	keys     int
	everyOne bool // delete each key through every address (gateway caches)
	within   time.Duration
	quiet    func(context.Context) []string
}

// resetKeys is a keyReset of keys on t (through every gateway when they
// cache): what a GameDay does before a step with consistency checks.
func resetKeys(ctx context.Context, t targets.Target, everyGateway bool, keys int) error {
	return keyReset{addrs: t.ClientAddrs(), keys: keys, everyOne: everyGateway, within: resetWithin,
		quiet: func(ctx context.Context) []string { return storedValues(ctx, t) }}.run(ctx)
}

func (k keyReset) run(ctx context.Context) error {
	drivers := make([]*workload.KVDriver, len(k.addrs))
	for i, a := range k.addrs {
		d, err := workload.NewKVDriver([]string{"http://" + a}, workload.NewHTTPClient(resetWorkers))
		if err != nil {
			return err
		}
		drivers[i] = d
	}
	if len(drivers) == 0 {
		return fmt.Errorf("no client address to reset the keys through")
	}
	jobs := make([][2]int, 0, k.keys)
	for i := range k.keys {
		if !k.everyOne {
			jobs = append(jobs, [2]int{i, i % len(drivers)})
			continue
		}
		for d := range drivers {
			jobs = append(jobs, [2]int{i, d})
		}
	}
	deadline := time.Now().Add(k.within)
	for {
		failed, err := forJobs(ctx, jobs, func(ctx context.Context, j [2]int) error { return deleteKey(ctx, drivers[j[1]], j[0]) })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var unquiet []string
		if failed > 0 {
			unquiet = append(unquiet, fmt.Sprintf("%d of %d deletes failed; the last error: %v", failed, len(jobs), err))
		}
		if k.quiet != nil {
			unquiet = append(unquiet, k.quiet(ctx)...)
		}
		if len(unquiet) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not reset within %s: %s", k.within, strings.Join(unquiet, "; "))
		}
		t := time.NewTimer(resetPoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// forJobs calls do for every job on resetWorkers goroutines and counts the
// calls that failed, with the last error.
func forJobs[J any](ctx context.Context, jobs []J, do func(context.Context, J) error) (failed int, last error) {
	ch := make(chan J)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for range resetWorkers {
		wg.Go(func() {
			for j := range ch {
				if err := do(ctx, j); err != nil {
					mu.Lock()
					failed, last = failed+1, err
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case ch <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(ch)
	wg.Wait()
	return failed, last
}

// deleteKey deletes key i, retrying a few times.
func deleteKey(ctx context.Context, d *workload.KVDriver, i int) error {
	var err error
	for attempt := range 5 {
		if attempt > 0 {
			t := time.NewTimer(time.Duration(attempt) * 100 * time.Millisecond)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		res := d.Do(rctx, workload.Op{ID: uint64(i), Kind: workload.OpDelete, Key: workload.KeyName(i)})
		cancel()
		if res.Outcome == workload.OutcomeOK {
			return nil
		}
		err = res.Err
	}
	return err
}
