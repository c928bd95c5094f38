package runner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/chaosctl/chaosctl/injectors"
	"github.com/chaosctl/chaosctl/internal/crash"
	"github.com/chaosctl/chaosctl/probes/workload"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/demo/api"
)

// readBack reverts every fault, lets the cluster settle, then reads every
// key the workload wrote, for the no-lost-writes check.
func (r *runState) readBack(ctx context.Context, target targets.Target, tracker *injectors.Tracker) error {
	// revertRemaining, not the tracker's RevertAll: a fault still applied
	// when the workload ended (its window reached the end) is reverted
	// here, and its result must say when, with its revert receipt.
	if err := r.revertRemaining(ctx, tracker); err != nil {
		return fmt.Errorf("revert before the read-back: %w: %w", ErrEnvironment, err)
	}
	if !r.settle(ctx, target) {
		return nil
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	keys, err := r.writtenKeys()
	if err != nil {
		return fmt.Errorf("read back: %w", err)
	}
	read := func(ctx context.Context, i, attempt int, key string) (*string, bool) {
		addrs := target.ClientAddrs()
		return readKey(ctx, client, addrs[(i+attempt)%len(addrs)], key)
	}
	if rw := r.e.Workload.Redis; rw != nil {
		rd := workload.NewRedisDriver(rw.Addr, rw.DB, 16)
		defer rd.Close()
		read = func(ctx context.Context, _, _ int, key string) (*string, bool) {
			rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			v, err := rd.Get(rctx, key)
			return v, err == nil
		}
	}
	final := make(map[string]*string, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i, key := range keys {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer crash.Recover("the read-back", r.crashed)
			// A few attempts: a read that fails says nothing about the data.
			for attempt := 0; attempt < 3 && ctx.Err() == nil; attempt++ {
				v, ok := read(ctx, i, attempt, key)
				if ok {
					mu.Lock()
					final[key] = v
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	r.final = final
	r.journal.Add("read-back", map[string]any{"keys": len(keys), "read": len(final)})
	return nil
}

// settle lets the target settle before the read-back, for at most
// recoveryWithin: a target that can tell (targets.Settler: the demo cluster,
// whose members say when none is catching up, holding hints, queueing
// writes behind or keeping a breaker open) is read as soon as it has
// settled; any other is given the whole of recoveryWithin. A target that
// has not settled by then is read anyway, and the log says why; the
// read-back's verdict then shows what it missed. settle is false when ctx
// ended.
func (r *runState) settle(ctx context.Context, target targets.Target) bool {
	within := r.e.SteadyState.RecoveryWithin
	log := r.log.WithField("within", within)
	t0 := time.Now()
	if s, ok := target.(targets.Settler); ok && within > 0 {
		log.Info("faults reverted; waiting for the target to settle before reading back every written key")
		err := s.WaitSettled(ctx, within)
		switch {
		case ctx.Err() != nil:
			return false
		case err != nil:
			log.WithError(err).Warn("the target did not settle within recoveryWithin; reading back anyway")
		default:
			log.WithField("took", time.Since(t0).Round(time.Millisecond)).Info("target settled")
		}
		r.journal.Add("settled", map[string]any{"took": time.Since(t0).Seconds(), "settled": err == nil})
		return true
	}
	log.Info("faults reverted; letting the target settle for recoveryWithin before reading back every written key")
	select {
	case <-ctx.Done():
		return false
	case <-time.After(within):
		return true
	}
}

// readKey GETs one key; ok is false when the answer says nothing (error, 5xx).
// It asks for the store's copy (Cache-Control: no-cache): a gateway then skips
// its cache and its write-behind queue and has the key's node coordinate a
// quorum read, so a cached value cannot hide a lost write. A store node ignores
// the header; its reads are the store's anyway.
func readKey(ctx context.Context, c *http.Client, addr, key string) (*string, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+api.KVPrefix+key, nil)
	if err != nil {
		return nil, false
	}
	req.Header.Set("Cache-Control", "no-cache")
	resp, err := c.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		b, err := io.ReadAll(io.LimitReader(resp.Body, api.MaxValueLen+1))
		if err != nil {
			return nil, false
		}
		v := string(b)
		return &v, true
	case http.StatusNotFound:
		return nil, true
	}
	return nil, false
}

// writtenKeys lists the keys the history wrote to, in first-write order.
func (r *runState) writtenKeys() ([]string, error) {
	f, err := os.Open(filepath.Join(r.dir, "history.ndjson"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var keys []string
	err = workload.ReadHistory(f, func(h workload.HistoryOp) error {
		if h.Op != workload.OpGet && !seen[h.Key] {
			seen[h.Key] = true
			keys = append(keys, h.Key)
		}
		return nil
	})
	return keys, err
}
