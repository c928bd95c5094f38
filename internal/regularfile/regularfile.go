package regularfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Sizes, for limits.
const (
	KiB int64 = 1 << 10
	MiB int64 = 1 << 20
	GiB int64 = 1 << 30
)

// Error is a file refused: not a regular file (Mode says what it is), or
// larger than Limit (TooLarge).
type Error struct {
	Path     string
	Mode     fs.FileMode
	TooLarge bool
	// Limit is the largest size allowed; 0 when none was given.
	Limit int64
}

func (e *Error) Error() string {
	if e.TooLarge {
		return fmt.Sprintf("%s: the file is larger than %s, the most allowed", e.Path, Size(e.Limit))
	}
	allowed := "a regular file"
	if e.Limit > 0 {
		allowed += " of at most " + Size(e.Limit)
	}
	return fmt.Sprintf("%s: the file is %s; allowed: %s (reading a FIFO, a device or a socket could block or never end)", e.Path, Kind(e.Mode), allowed)
}

// Kind says what a file of mode is, for people: "a named pipe (FIFO)".
func Kind(mode fs.FileMode) string {
	switch {
	case mode.IsRegular():
		return "a regular file"
	case mode.IsDir():
		return "a folder"
	case mode&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case mode&fs.ModeSocket != 0:
		return "a socket"
	case mode&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}

// Size formats a limit: "64 MiB", "1 GiB", "1500 bytes".
func Size(n int64) string {
	for _, u := range []struct {
		size int64
		name string
	}{{GiB, "GiB"}, {MiB, "MiB"}, {KiB, "KiB"}} {
		if n >= u.size && n%u.size == 0 {
			return fmt.Sprintf("%d %s", n/u.size, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", n)
}

// Open opens path for reading if it is a regular file; one that is not is
// a *Error (with limit, 0 for none, in its message), and is not read. A
// file that cannot be opened is the *fs.PathError of the attempt.
func Open(path string, limit int64) (*os.File, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, &Error{Path: path, Mode: info.Mode(), Limit: limit}
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	if info, err = f.Stat(); err != nil {
		f.Close()
		return nil, err
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, &Error{Path: path, Mode: info.Mode(), Limit: limit}
	}
	return f, nil
}

// OpenLimited opens path as Open does, refusing at once a file whose size
// is above limit; reads of it fail with a *Error once more than limit
// bytes were read.
func OpenLimited(path string, limit int64) (io.ReadCloser, error) {
	f, err := Open(path, limit)
	if err != nil {
		return nil, err
	}
	if info, err := f.Stat(); err == nil && info.Size() > limit {
		f.Close()
		return nil, &Error{Path: path, Mode: info.Mode(), TooLarge: true, Limit: limit}
	}
	return &limited{f: f, left: limit, path: path, limit: limit}, nil
}

// ReadFile reads the regular file at path whole (see OpenLimited).
func ReadFile(path string, limit int64) ([]byte, error) {
	r, err := OpenLimited(path, limit)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	var refused *Error
	if err != nil && !errors.As(err, &refused) {
		err = &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return b, err
}

// limited reads f until more than limit bytes came.
type limited struct {
	f     *os.File
	left  int64 // bytes still allowed
	path  string
	limit int64
}

func (l *limited) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &Error{Path: l.path, TooLarge: true, Limit: l.limit}
	}
	// One byte past the limit tells a file that is too large from a full one.
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.f.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n + int(l.left), &Error{Path: l.path, TooLarge: true, Limit: l.limit}
	}
	return n, err
}

func (l *limited) Close() error { return l.f.Close() }
