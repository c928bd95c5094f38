package probes_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/probes"
	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

// The test binary doubles as the demo cluster's member executable.
func TestMain(m *testing.M) { processtest.Main(m) }

// driveTraffic sends about rate requests per second (a tenth of them writes)
// to the addresses until the test ends, with a seeded key sequence.
func driveTraffic(t *testing.T, addrs []string, rate int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		client.CloseIdleConnections()
	})
	rng := rand.New(rand.NewPCG(1, 2))
	slots := make(chan struct{}, 64)
	wg.Go(func() {
		tick := time.NewTicker(time.Second / time.Duration(rate))
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			url := "http://" + addrs[i%len(addrs)] + "/kv/k" + strconv.Itoa(rng.IntN(200))
			write := rng.IntN(10) == 0
			select {
			case slots <- struct{}{}:
			default:
				continue // every slot busy: the system is stalled, do not pile up
			}
			wg.Go(func() {
				defer func() { <-slots }()
				method, body := http.MethodGet, io.Reader(nil)
				if write {
					method, body = http.MethodPut, strings.NewReader("v")
				}
				req, err := http.NewRequestWithContext(ctx, method, url, body)
				if err != nil {
					return
				}
				resp, err := client.Do(req)
				if err != nil {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
	})
}

// round is one emitted scrape round.
type round struct {
	second  time.Time
	emitted time.Time
	samples []probes.MemberSample
}

func (r round) member(id string) (probes.MemberSample, bool) {
	for _, s := range r.samples {
		if s.Member == id {
			return s, true
		}
	}
	return probes.MemberSample{}, false
}

// runScraper runs a scraper until the test ends and returns its rounds.
func runScraper(t *testing.T, members func() []targets.Member, interval time.Duration) <-chan round {
	t.Helper()
	rounds := make(chan round, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	s := probes.NewScraper(members, interval, nil, processtest.Log(t))
	go func() {
		done <- s.Run(ctx, func(second time.Time, samples []probes.MemberSample) {
			select {
			case rounds <- round{second: second, emitted: time.Now(), samples: samples}:
			default:
				t.Errorf("round of %s dropped: the test does not read rounds", second)
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("scraper Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("scraper Run did not return within 5s of its context ending")
		}
	})
	return rounds
}

// waitRound reads rounds until one satisfies cond, failing after within.
func waitRound(t *testing.T, rounds <-chan round, within time.Duration, what string, cond func(round) bool) round {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	var last round
	for {
		select {
		case r := <-rounds:
			if cond(r) {
				return r
			}
			last = r
		case <-deadline.C:
			t.Fatalf("%s: no round within %s; last round: %+v", what, within, last.samples)
		}
	}
}

// freeAddr returns a 127.0.0.1 address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
