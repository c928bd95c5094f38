package httptoxic

import (
	"io"
	"net/http"
	"testing"
	"time"
)

// BenchmarkHTTPToxicOverhead sends the same keep-alive GETs through one
// proxy with no toxic and through another with an HTTP toxic in place (each
// request and response is parsed, matched against the rule and passed on),
// in one run, and reports both costs and their ratio:
//
//	go test -run '^$' -bench HTTPToxicOverhead ./targets/faultplane/httptoxic
func BenchmarkHTTPToxicOverhead(b *testing.B) {
	plain := newRig(b)
	toxic := newRig(b)
	toxic.add("bench", Rule{Action: ActionAbort, Status: 503, FirstN: 1, PathPrefix: "/never"})
	get := func(r *rig) {
		resp, err := r.client.Get(r.url("/"))
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	get(plain) // open the keep-alive connections
	get(toxic)
	var tPlain, tToxic time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate, so the machine's load weighs on both alike.
		t0 := time.Now()
		get(plain)
		t1 := time.Now()
		get(toxic)
		tPlain += t1.Sub(t0)
		tToxic += time.Since(t1)
	}
	b.StopTimer()
	b.ReportMetric(float64(tPlain.Nanoseconds())/float64(b.N), "plain-ns/req")
	b.ReportMetric(float64(tToxic.Nanoseconds())/float64(b.N), "http-toxic-ns/req")
	b.ReportMetric(float64(tToxic)/float64(tPlain), "ratio")
}
