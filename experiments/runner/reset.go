package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/targets"
)

// Bounds of a key reset: concurrent requests, and how long deleted keys may
// take to read as not found (and a shared target's members to settle).
const (
	resetWorkers = 16
	resetWithin  = 5 * time.Second
	resetPoll    = 250 * time.Millisecond
)

// keyReset deletes the demo workload's keys k0..k{keys-1} through a
// target's client addresses and reads every one back as not found. The
// consistency checkers judge a run's history from an empty store, as on a
// fresh cluster; on a shared target the keys still hold what earlier runs
// wrote, and a read of such a value would look like a read of a value
// nobody wrote. A deleted key reads as not found, which is the empty
// store's answer. A key still found is deleted again, and the read-back
// repeated, until within passes.
//
// quiet is asked after each read-back for what else keeps the target from
// being fresh: a store node still holding a value (a replica a delete did
// not reach, which a later read quorum could return), an open breaker. The
// deletes and read-backs are the traffic that lets such state settle: a
// round whose read-back found nothing but quiet did deletes every key
// again.
type keyReset struct {
	addrs  []string
	keys   int
	within time.Duration
	quiet  func(context.Context) []string
}

// resetKeys is a keyReset of keys on t that also waits until no store node
// holds a value: what a GameDay does before a step with consistency checks.
func resetKeys(ctx context.Context, t targets.Target, keys int) error {
	return keyReset{addrs: t.ClientAddrs(), keys: keys, within: resetWithin,
		quiet: func(ctx context.Context) []string { return storedValues(ctx, t) }}.run(ctx)
}

func (k keyReset) run(ctx context.Context) error {
	urls := make([]string, len(k.addrs))
	for i, a := range k.addrs {
		urls[i] = "http://" + a
	}
	driver, err := workload.NewKVDriver(urls, workload.NewHTTPClient(resetWorkers))
	if err != nil {
		return err
	}
	all := make([]int, k.keys)
	for i := range all {
		all[i] = i
	}
	deadline := time.Now().Add(k.within)
	todo := all
	for {
		if failed, err := forKeys(ctx, todo, func(ctx context.Context, i int) error { return deleteKey(ctx, driver, i) }); failed > 0 {
			return fmt.Errorf("%d of %d keys could not be deleted; the last error: %w", failed, len(todo), err)
		}
		found, unread, err := readBack(ctx, driver, all)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var unquiet []string
		if k.quiet != nil {
			unquiet = k.quiet(ctx)
		}
		if len(found) == 0 && unread == 0 && len(unquiet) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var why []string
			if len(found) > 0 {
				why = append(why, fmt.Sprintf("%d keys still read as found after their delete (%s)", len(found), workload.KeyName(found[0])))
			}
			if unread > 0 {
				why = append(why, fmt.Sprintf("%d keys could not be read back: %v", unread, err))
			}
			why = append(why, unquiet...)
			return fmt.Errorf("not reset within %s: %s", k.within, strings.Join(why, "; "))
		}
		todo = found
		if len(found) == 0 && len(unquiet) > 0 {
			todo = all
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

// readBack reads keys and returns the ones found (sorted) and how many
// could not be read, with the last error.
func readBack(ctx context.Context, d *workload.KVDriver, keys []int) (found []int, unread int, last error) {
	var mu sync.Mutex
	unread, last = forKeys(ctx, keys, func(ctx context.Context, i int) error {
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		res := d.Do(rctx, workload.Op{ID: uint64(i), Kind: workload.OpGet, Key: workload.KeyName(i)})
		cancel()
		if res.Outcome != workload.OutcomeOK {
			return res.Err
		}
		if res.Found {
			mu.Lock()
			found = append(found, i)
			mu.Unlock()
		}
		return nil
	})
	slices.Sort(found)
	return found, unread, last
}

// forKeys calls do for every key on resetWorkers goroutines and counts the
// calls that failed, with the last error.
func forKeys(ctx context.Context, keys []int, do func(context.Context, int) error) (failed int, last error) {
	jobs := make(chan int)
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	for range resetWorkers {
		wg.Go(func() {
			for i := range jobs {
				if err := do(ctx, i); err != nil {
					mu.Lock()
					failed, last = failed+1, err
					mu.Unlock()
				}
			}
		})
	}
feed:
	for _, i := range keys {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil && failed == 0 {
		return len(keys), err
	}
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
