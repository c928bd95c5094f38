// Package workload is chaosctl's active probe: an open-model load generator
// that drives a system at a constant arrival rate, measures latency without
// coordinated omission, and records every operation for the consistency
// checkers.
//
// # Schedule
//
// Request i is intended at start + i/Rate, whatever happened to earlier
// requests. One scheduler goroutine releases requests at their intended times to
// a pool of Config.MaxInFlight workers (default 4 × Rate × Timeout, clamped to
// [16, 4096]). When no worker is free, the scheduler waits for one until the
// request's intended time plus Config.MaxLateness (default 10 ms); a request
// still without a worker then is dropped and counted, never queued further. A
// request whose worker is free is sent even when the scheduler itself is late.
// Latency is timed from the intended send time, so a stall — of the system or
// of the generator — shows in full. The run lasts Warmup + Duration, or until
// its context ends.
//
// # Operations
//
// The operation sequence (kind by ReadRatio and DeleteRatio, key k0..k{Keys-1}
// uniform or zipf) is drawn from the one seeded *rand.Rand passed to New, by
// the scheduler alone: identical seeds give identical sequences (IDs, kinds,
// keys). Each put writes MakeValue(client, id, ValueSize) = "v-<client>-<id>-"
// padded with 'x', unique within the run. A Driver executes operations; the
// KVDriver speaks the demo cluster's HTTP API. Other protocols plug in behind
// the same interface.
//
// # Transport
//
// NewHTTPClient's client is net/http's, with a keep-alive pool sized for the
// workload; a worker builds its request without http.Client's per-request
// header copy. BenchmarkGeneratorVsVegeta (docs/development.md) measures its CPU
// per request and its p99 against vegeta's in the same run.
//
// # Results
//
// Requests are bucketed into seconds by intended time, aligned to the end of the
// warmup (Second.Index 0 is the first measured second). A bucket closes when its
// time has passed and every request in it has completed; Config.OnSecond gets
// each one as it closes, in order. Run returns a Summary with per-phase totals
// per operation kind: eligible events (Total), bad events by class, HDR latency
// histograms (microseconds, 3 significant digits, mergeable) and exact counts
// of requests slower than each Config.LatencyThresholds. Progress gives a live
// view for a progress line.
//
// # History
//
// With Config.History set, every operation is written as one JSON line when it
// completes (HistoryOp), through a buffer: memory stays bounded however long the
// run. ReadHistory streams such a file back.
//
// # Use
//
//	cfg := workload.Config{Rate: 200, Warmup: 2 * time.Second, Duration: 40 * time.Second,
//		ReadRatio: 0.9, LatencyThresholds: []time.Duration{100 * time.Millisecond},
//		History: historyFile, OnSecond: func(s *workload.Second) { ... }}
//	if err := cfg.Validate(); err != nil { ... }
//	drv, err := workload.NewKVDriver(gatewayURLs, workload.NewHTTPClient(cfg.MaxInFlight))
//	w, err := workload.New(cfg, drv, rand.New(rand.NewPCG(seed, 0)))
//	sum, err := w.Run(ctx) // sum is set also when err reports an interruption
//	bad, total := sum.Measured.All.Bad(), sum.Measured.All.Total
package workload
