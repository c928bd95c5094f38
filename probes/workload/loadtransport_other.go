//go:build !unix

package workload

// open reports whether an idle connection can carry a request; without a
// non-blocking peek, a closed one is found by the request (see RoundTrip's
// retry).
func (c *loadConn) open() bool { return c.br.Buffered() == 0 }
