package injectors_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/chaosctl/chaosctl/targets"
	"github.com/chaosctl/chaosctl/targets/faultplane"
	"github.com/chaosctl/chaosctl/targets/process/processtest"
)

func TestMain(m *testing.M) { processtest.Main(m) }

func link(from, to string) faultplane.Link { return faultplane.Link{From: from, To: to} }

func member(t *testing.T, d targets.Target, id string) targets.Member {
	t.Helper()
	for _, m := range d.Members() {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("no member %s", id)
	return targets.Member{}
}

// outcome classifies one request.
type outcome string

const (
	outcomeOK      outcome = "ok"
	outcomeTimeout outcome = "timeout"
	outcomeRefused outcome = "refused"
	outcomeBroken  outcome = "broken" // reset, EOF, bad status
)

// probe sends GET /healthz to addr on a new connection.
func probe(addr string, timeout time.Duration) outcome {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			return outcomeOK
		}
		return outcomeBroken
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return outcomeTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return outcomeRefused
	default:
		return outcomeBroken
	}
}

// percentile returns the p-quantile (0..1) of ds (sorted in place).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(p * float64(len(ds)-1))
	return ds[i]
}
