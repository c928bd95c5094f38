package gameday

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/probes/workload"
)

// resetWorkers bounds the concurrent deletes of resetKeys.
const resetWorkers = 16

// resetKeys deletes the demo workload's keys k0..k{keys-1} through the
// target's client addresses. The consistency checkers judge an experiment's
// history from an empty store, as on a fresh cluster; on a shared target the
// keys still hold what earlier steps wrote, and a read of such a value would
// look like a read of a value nobody wrote. A deleted key reads as not found,
// which is the empty store's answer. Each delete is retried a few times.
func resetKeys(ctx context.Context, addrs []string, keys int) error {
	urls := make([]string, len(addrs))
	for i, a := range addrs {
		urls[i] = "http://" + a
	}
	driver, err := workload.NewKVDriver(urls, workload.NewHTTPClient(resetWorkers))
	if err != nil {
		return err
	}
	jobs := make(chan int)
	var (
		mu     sync.Mutex
		failed int
		last   error
		wg     sync.WaitGroup
	)
	for range resetWorkers {
		wg.Go(func() {
			for i := range jobs {
				if err := deleteKey(ctx, driver, i); err != nil {
					mu.Lock()
					failed, last = failed+1, err
					mu.Unlock()
				}
			}
		})
	}
feed:
	for i := range keys {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d keys could not be deleted; the last error: %w", failed, keys, last)
	}
	return nil
}

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
