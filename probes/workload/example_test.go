package workload_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/chaosctl/chaosctl/probes/workload"
)

func Example() {
	// A stand-in for a gateway: every write succeeds, every key is missing.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	var history strings.Builder
	cfg := workload.Config{
		Rate:              20,
		Duration:          time.Second,
		ReadRatio:         0.5,
		LatencyThresholds: []time.Duration{time.Minute},
		History:           &history,
	}
	if err := cfg.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	drv, err := workload.NewKVDriver([]string{srv.URL}, workload.NewHTTPClient(cfg.MaxInFlight))
	if err != nil {
		fmt.Println(err)
		return
	}
	w, err := workload.New(cfg, drv, rand.New(rand.NewPCG(42, 0)))
	if err != nil {
		fmt.Println(err)
		return
	}
	sum, err := w.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	all := sum.Measured.All
	fmt.Printf("sent %d, eligible %d, bad %d, dropped %d, slower than 1m %d\n",
		all.Sent, all.Total, all.Bad(), all.Dropped, all.SlowerThan[time.Minute])
	fmt.Println("history lines:", strings.Count(history.String(), "\n"))
	// Output:
	// sent 20, eligible 20, bad 0, dropped 0, slower than 1m 0
	// history lines: 20
}
