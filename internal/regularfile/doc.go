// Package regularfile opens and reads the files a user names to chaosctl
// (an experiment, a history to check, a run's output folder to render)
// without blocking on them or reading them without end.
//
// Only a regular file is opened: a FIFO, a device, a socket or a folder is
// refused unread, with a *Error saying what it is, since opening a FIFO
// blocks until a writer comes and reading /dev/zero never ends. The type is
// looked at before the open (through a symbolic link) and again on the open
// file, which is opened non-blocking, so that one swapped in between is
// refused too instead of blocking the open. A limited read fails with a
// *Error as soon as the file proves larger than its limit, whatever size
// it claims (a file of /proc says 0).
//
//	b, err := regularfile.ReadFile(path, 64*regularfile.MiB)
//	var refused *regularfile.Error
//	if errors.As(err, &refused) {
//		return usageError(err) // "PATH: the file is a named pipe (FIFO); ..."
//	}
package regularfile
