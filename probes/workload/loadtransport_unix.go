//go:build unix

package workload

import "syscall"

// open reports whether an idle connection can carry a request: the server
// has neither closed it nor sent anything unasked. One non-blocking peek,
// which http.Transport's reader goroutine makes unnecessary there.
func (c *loadConn) open() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	var buf [1]byte
	var n int
	var err error
	if cerr := c.raw.Read(func(fd uintptr) bool {
		n, _, err = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		return true
	}); cerr != nil {
		return false
	}
	return n < 0 && err == syscall.EAGAIN // nothing to read: still open
}
