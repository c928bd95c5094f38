package guardedio

import (
	"context"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// WatchInterval is how often Watch looks at the output: the longest a run
// holds its faults for a reader that went away.
const WatchInterval = 200 * time.Millisecond

// Watch marks l lost as soon as the reader of f goes away, without waiting
// for a write to fail: a run that writes nothing for minutes (`chaosctl run
// x.yaml | head -1`) must not hold its faults that long for a reader that
// left. It looks every interval until ctx ends, asking poll(2) for no event:
// the write end of a pipe whose reader closed reports POLLERR, a terminal
// that hung up or a socket shut down POLLHUP. A regular file never does, so
// Watch never marks it.
func (l *Lost) Watch(ctx context.Context, f *os.File, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if ReaderGone(f) {
			l.close()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-l.Done():
			return
		case <-t.C:
		}
	}
}

// ReaderGone says whether the reader of f went away (see Watch).
func ReaderGone(f *os.File) bool {
	// SyscallConn, unlike Fd, leaves the file's mode as it is.
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	_ = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd)}}
		n, err := unix.Poll(fds, 0)
		gone = err == nil && n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0
	})
	return gone
}
