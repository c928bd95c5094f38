// Package metrics defines the Prometheus metrics every demo cluster member
// exports on /metrics. Each member owns its own registry,
// so several members can live in one test process without colliding, and the Go
// and process collectors supply the USE side (CPU, memory, goroutines).
//
//	m := metrics.New("g1")
//	m.ObserveRequest("get", 200, 3*time.Millisecond)
//	http.Handle("/metrics", m.Handler())
package metrics
