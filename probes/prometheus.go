package probes

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// ErrNoData is wrapped by Query when the query selects nothing (an empty
// vector, or NaN): the probe is inconclusive, not passed.
var ErrNoData = errors.New("no data")

// ErrNoEvents is wrapped by Ratio when the total is zero: a ratio SLI with no
// events is inconclusive, not passed.
var ErrNoEvents = errors.New("no events")

// Query evaluates an instant PromQL query on the Prometheus server at url
// (e.g. http://127.0.0.1:9090) at time at (zero: now) and returns its one
// value: a scalar, or a vector of exactly one sample. An empty vector or a
// NaN wraps ErrNoData; several series, a range vector or a string are errors
// that say so (aggregate with sum(...) to get one series).
func Query(ctx context.Context, url, query string, at time.Time) (float64, error) {
	if at.IsZero() {
		at = time.Now()
	}
	client, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return 0, fmt.Errorf("prometheus query %q: client for %s: %w", query, url, err)
	}
	result, _, _, err := promv1.NewAPI(client).Query(ctx, query, at)
	if err != nil {
		return 0, fmt.Errorf("prometheus query %q at %s: %w", query, url, err)
	}
	v, err := single(result)
	if err != nil {
		return 0, fmt.Errorf("prometheus query %q at %s: %w", query, url, err)
	}
	return v, nil
}

// single reads the one value of an instant query's result.
func single(result model.Value) (float64, error) {
	var v float64
	switch r := result.(type) {
	case *model.Scalar:
		v = float64(r.Value)
	case model.Vector:
		switch len(r) {
		case 0:
			return 0, fmt.Errorf("empty result: %w", ErrNoData)
		case 1:
			v = float64(r[0].Value)
		default:
			names := make([]string, 0, 3)
			for _, s := range r[:min(len(r), 3)] {
				names = append(names, s.Metric.String())
			}
			more := ""
			if len(r) > 3 {
				more = ", …"
			}
			return 0, fmt.Errorf("%d series (%s%s), want one: aggregate them, e.g. sum(...)", len(r), strings.Join(names, ", "), more)
		}
	case nil:
		return 0, fmt.Errorf("empty result: %w", ErrNoData)
	default:
		return 0, fmt.Errorf("result is a %s, want a scalar or an instant vector of one series", result.Type())
	}
	if math.IsNaN(v) {
		return 0, fmt.Errorf("value is NaN: %w", ErrNoData)
	}
	return v, nil
}

// RatioResult is a ratio SLI's measurement: Ratio = Good ÷ Total.
type RatioResult struct {
	Good  float64 `json:"good"`
	Total float64 `json:"total"`
	Ratio float64 `json:"ratio"`
}

// Ratio evaluates the good and total queries of a ratio SLI at time at
// (zero: now) on the Prometheus server at url, typically increases of
// counters over the measured period:
//
//	good:  sum(increase(http_requests_total{code!~"5.."}[40s]))
//	total: sum(increase(http_requests_total[40s]))
//
// A total of zero (or one that selects nothing) wraps ErrNoEvents. A good
// query that selects nothing while there are events counts 0 good events
// (counters of good events often appear only at the first one). A good
// count above the total is an error (the queries do not describe a subset).
func Ratio(ctx context.Context, url, good, total string, at time.Time) (RatioResult, error) {
	return ratio(ctx, url, "good", good, total, at)
}

// BadRatio is Ratio with a query of the bad events instead of the good
// (OpenSLO's bad/total ratioMetric): good is total - bad. A bad query that
// selects nothing while there are events counts 0 bad events; a bad count
// above the total is an error.
func BadRatio(ctx context.Context, url, bad, total string, at time.Time) (RatioResult, error) {
	return ratio(ctx, url, "bad", bad, total, at)
}

// ratio counts the events of total and the good or bad (side) ones of
// counted, at time at.
func ratio(ctx context.Context, url, side, counted, total string, at time.Time) (RatioResult, error) {
	if at.IsZero() {
		at = time.Now()
	}
	t, err := Query(ctx, url, total, at)
	if errors.Is(err, ErrNoData) {
		return RatioResult{}, fmt.Errorf("ratio SLI: total %q: %w (%w)", total, ErrNoEvents, err)
	}
	if err != nil {
		return RatioResult{}, fmt.Errorf("ratio SLI: total: %w", err)
	}
	if t == 0 {
		return RatioResult{}, fmt.Errorf("ratio SLI: total %q is 0: %w", total, ErrNoEvents)
	}
	if t < 0 {
		return RatioResult{}, fmt.Errorf("ratio SLI: total %q is negative (%g)", total, t)
	}
	c, err := Query(ctx, url, counted, at)
	if errors.Is(err, ErrNoData) {
		// No series at all while there are events: every event was on the
		// other side.
		c, err = 0, nil
	}
	if err != nil {
		return RatioResult{}, fmt.Errorf("ratio SLI: %s: %w", side, err)
	}
	if c < 0 || c > t*(1+1e-9) {
		return RatioResult{}, fmt.Errorf("ratio SLI: %s %g is not within [0, total %g]: %s %q must count a subset of total %q", side, c, t, side, counted, total)
	}
	c = min(c, t)
	g := c
	if side == "bad" {
		g = t - c
	}
	return RatioResult{Good: g, Total: t, Ratio: g / t}, nil
}
